import { z } from 'zod';
import { type MerakiAccount, merakiHost } from '../../accounts/cisco-meraki.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource, type ReadContext } from '../../core/source.ts';
import { keyedStream, listAll } from '../../engine/keyed-stream.ts';
import { type Paginator, paginate, parseLinkHeader } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Cisco Meraki organization logs. Vendor facts (developer.cisco.com/meraki/api-v1, as Meraki's own Python
 * library, generated from the API's OpenAPI document, documents each operation):
 *
 * - getOrganizationConfigurationChanges, `GET /organizations/{organizationId}/configurationChanges`: the Change
 *   Log; `t0` ("The maximum lookback period is 365 days"), `t1`, `perPage` 3–5000 (default 5000), pages by the
 *   HTTP Link header ("The link for the first, last, prev, or next page in the HTTP Link header should define"
 *   `startingAfter`/`endingBefore`); entries `{ts, adminName, adminEmail, adminId, networkName, networkId,
 *   networkUrl, ssidName, ssidNumber, page, label, oldValue, newValue, client}`.
 * - getOrganizationApplianceSecurityEvents, `GET /organizations/{organizationId}/appliance/security/events`: IDS
 *   and malware events of the organization's MX appliances; `t0` (365 days back at most), `t1`, `perPage` 3–1000
 *   (default 100), `sortOrder` ascending (default) or descending, Link-header pages.
 * - getOrganizationNetworks, `GET /organizations/{organizationId}/networks`: `{id, name, productTypes, …}`,
 *   `perPage` 3–100000 (default 1000), Link-header pages.
 * - getNetworkEvents, `GET /networks/{networkId}/events`: the network's event log; `productType` "is required for
 *   networks with multiple device types. Valid types are wireless, appliance, switch, systemsManager, camera,
 *   cellularGateway, wirelessController, and secureConnect"; `perPage` 3–1000 (default 10); the answer
 *   `{message, pageStartAt, pageEndAt, events}`, events `{occurredAt, networkId, type, description, category,
 *   clientId, clientDescription, clientMac, deviceSerial, deviceName, ssidNumber, eventData}`. Meraki's library
 *   documents `startingAfter` as an ISO time a caller sets to read from ("event_log_end_time … to use in
 *   conjunction with startingAfter, to retrieve events within a time window"), reverses each page when it
 *   pages forward ("so results/events are sorted chronologically": a page is newest first) and follows the
 *   `startingAfter` links up to the present, stopping itself near now.
 * - "Rate Limit": 10 requests per second per organization; 429 with `Retry-After` (the account's budget).
 * - No list carries an id: a record's id is its hash (the same record read again keeps it).
 *
 * How it reads. Security events are asked oldest first, so the position moves after every page. The Change
 * Log's order is not stated (Meraki's library pages it backwards by default), so its windows are finished
 * before the position moves. Both re-read a second behind the position, duplicates suppressed by id; lag 1
 * minute; windows of at most a day; 365 days kept.
 *
 * Network events are read per network and product type, each with its own position (engine/keyed-stream.ts):
 * every run lists the organization's networks, then reads each event log in windows of at most a day from
 * `startingAfter` = the window's start, following the `startingAfter` links until one points at or past the
 * window's end; pages are newest first, so each window is finished before its position moves, and events
 * past the window's end are left to the next window.
 */

export interface MerakiSettings {
  organizationId: string;
  perPage: number;
  networkIds?: string[];
  productTypes?: string[];
  baseUrl?: string;
}

/** The product types whose event logs getNetworkEvents serves ("Valid types are …"). */
const EVENT_PRODUCT_TYPES = [
  'appliance',
  'camera',
  'cellularGateway',
  'secureConnect',
  'switch',
  'systemsManager',
  'wireless',
  'wirelessController',
] as const;

const settings = z
  .object({
    organizationId: z
      .string()
      .trim()
      .regex(
        /^\d+$/,
        'expected the numeric organization ID (Organization → Settings, at the bottom of the page)',
      )
      .meta({ title: 'Organization ID' })
      .describe('The Meraki organization to read (its numeric ID)'),
    perPage: z
      .number()
      .int()
      .min(3)
      .max(1000)
      .default(1000)
      .meta({ title: 'Page size' })
      .describe('Entries per page (Meraki accepts 3 to 1000 for security and network events)'),
    networkIds: z
      .array(
        z
          .string()
          .trim()
          .regex(/^[LN]_\d+$/, 'expected a Meraki network ID such as L_646829496481105433 or N_24329156'),
      )
      .max(10_000)
      .optional()
      .meta({ title: 'Networks' })
      .describe('Network event logs of these networks only (default: every network of the organization)'),
    productTypes: z
      .array(z.enum(EVENT_PRODUCT_TYPES))
      .max(EVENT_PRODUCT_TYPES.length)
      .optional()
      .meta({ title: 'Product types' })
      .describe(
        'Network event logs of these product types only (default: every product type of each network)',
      ),
  })
  .strict();

const api = (s: MerakiSettings, a: MerakiAccount) =>
  `${(s.baseUrl ?? merakiHost(a)).replace(/\/+$/, '')}/api/v1`;
const org = (s: MerakiSettings, a: MerakiAccount) =>
  `${api(s, a)}/organizations/${encodeURIComponent(s.organizationId)}`;

const changes = restPoll<MerakiSettings, MerakiAccount>({
  title: 'Configuration changes',
  url: ({ settings: s, account }) => `${org(s, account)}/configurationChanges`,
  params: ({ settings: s }, w) => ({
    t0: w.start.toISOString(),
    t1: w.end.toISOString(),
    perPage: s.perPage,
  }),
  records: (body) => body,
  paginate: paginate.linkHeader(),
  cursor: { time: 'ts', lag: '1m', overlap: '1s', order: 'any', maxWindow: '1d' },
  eventId: (r) => (r && typeof r === 'object' ? hashId(r) : undefined),
});

const security = restPoll<MerakiSettings, MerakiAccount>({
  title: 'Appliance security events',
  url: ({ settings: s, account }) => `${org(s, account)}/appliance/security/events`,
  params: ({ settings: s }, w) => ({
    t0: w.start.toISOString(),
    t1: w.end.toISOString(),
    perPage: s.perPage,
    sortOrder: 'ascending',
  }),
  records: (body) => body,
  paginate: paginate.linkHeader(),
  cursor: { time: 'ts', lag: '1m', overlap: '1s', order: 'asc', maxWindow: '1d' },
  eventId: (r) => (r && typeof r === 'object' ? hashId(r) : undefined),
});

/**
 * The next page of a network event log, while it stays inside the window: Meraki's links page forward to the
 * present, so the window's end is where this reader stops; an empty page is the end of what the log holds.
 */
const eventPages: Paginator = {
  next({ response, records, window }) {
    if (records.length === 0) return undefined;
    const next = parseLinkHeader(response.headers.get('link')).next;
    if (!next) return undefined;
    const url = new URL(next, response.url);
    const after = Date.parse(url.searchParams.get('startingAfter') ?? '');
    if (window && Number.isFinite(after) && after >= window.end.getTime()) return undefined;
    return { url: url.toString() };
  },
};

interface NetworkLog {
  networkId: string;
  productType: string;
}

const networkEvents = keyedStream<MerakiSettings, MerakiAccount, NetworkLog>({
  title: 'Network events',
  async parts({ settings: s, account, http }) {
    const networks = (await listAll(
      http,
      { url: `${org(s, account)}/networks`, query: { perPage: 1000 } },
      paginate.linkHeader(),
      (body) => body,
      'Meraki networks',
    )) as Array<{ id?: unknown; productTypes?: unknown }>;
    const only = s.networkIds && new Set(s.networkIds);
    const types: ReadonlySet<string> = new Set(s.productTypes ?? EVENT_PRODUCT_TYPES);
    return networks.flatMap((n) =>
      typeof n.id === 'string' && (!only || only.has(n.id)) && Array.isArray(n.productTypes)
        ? n.productTypes
            .filter((p): p is string => typeof p === 'string' && types.has(p))
            .map((productType) => ({ networkId: n.id as string, productType }))
        : [],
    );
  },
  key: (l) => `${l.networkId}/${l.productType}`,
  stream: (l) =>
    restPoll<MerakiSettings, MerakiAccount>({
      title: 'Network events',
      url: ({ settings: s, account }) =>
        `${api(s, account)}/networks/${encodeURIComponent(l.networkId)}/events`,
      params: ({ settings: s }, w) => ({
        productType: l.productType,
        perPage: s.perPage,
        // Read from the window's start, the start included.
        startingAfter: new Date(w.start.getTime() - 1).toISOString(),
      }),
      records: (body) => body?.events,
      paginate: eventPages,
      cursor: { time: 'occurredAt', lag: '1m', overlap: '1s', order: 'any', clip: true, maxWindow: '1d' },
      eventId: (r) => (r && typeof r === 'object' ? hashId(r) : undefined),
    }),
});

export default defineSource<MerakiSettings, MerakiAccount>({
  id: 'cisco-meraki',
  title: 'Cisco Meraki',
  account: 'cisco-meraki',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Cisco Meraki organization Change Log (who changed which setting, old and new values), MX appliance security events (IDS alerts, malware downloads) and the event log of every network (associations, 802.1X failures, VPN and port changes, DHCP).',
  setupGuide: [
    '1. In the Meraki dashboard, **Organization → Settings → Dashboard API access**: enable API access.',
    '2. Create (or pick) an administrator with **organization read-only** access for Tributary; signed in as that',
    '   administrator, **My Profile → API access → Generate API key**, and copy the key (shown once).',
    '3. Note the **organization ID** (Organization → Settings, at the bottom; or `GET /api/v1/organizations`).',
    '   Network events are read from every network of the organization, per product type; to limit them, note the',
    '   network IDs (`GET /api/v1/organizations/{organizationId}/networks`) and product types to read.',
    '4. Create a **Cisco Meraki** account with the key (and the region for dashboards outside the global one),',
    '   then the collector with the organization ID.',
    '',
    'Meraki allows 10 requests a second per organization, shared by every tool using the API on it.',
    '',
    "Early access: the Change Log's order is not documented (Tributary reads whole windows); that network event",
    "pages run newest first and `startingAfter` excludes its own time is taken from Meraki's own library, not the API reference.",
  ].join('\n'),
  settings: settings as unknown as z.ZodType<MerakiSettings>,
  retention: '365d',
  streams: {
    'configuration-changes': {
      title: changes.title,
      description: 'The organization Change Log: every dashboard or API configuration change.',
      read: (ctx: ReadContext<MerakiSettings, MerakiAccount>) => changes.read(ctx),
    },
    'security-events': {
      title: security.title,
      description: 'IDS/IPS and malware (AMP) events from the organization’s MX security appliances.',
      read: (ctx: ReadContext<MerakiSettings, MerakiAccount>) => security.read(ctx),
    },
    'network-events': {
      title: networkEvents.title,
      description:
        'The event log of each network, per product type (wireless associations and 802.1X, appliance VPN and DHCP, switch ports).',
      read: (ctx: ReadContext<MerakiSettings, MerakiAccount>) => networkEvents.read(ctx),
    },
  },
  explain({ status, message, url }) {
    if (status === 401)
      return {
        code: 'meraki_invalid_api_key',
        action:
          "Meraki rejected the API key (wrong, or revoked by its administrator). Generate a new key under My Profile → API access and update the account; check the account's region.",
      };
    if (status === 403)
      return {
        code: 'meraki_forbidden',
        action: `Meraki refused the request${message ? ` (${message})` : ''}: the key's administrator needs (read-only) access to the whole organization, and Dashboard API access must be enabled under Organization → Settings.`,
      };
    if (status === 404 && /\/networks\/[^/]+\/events$/.test(url.pathname))
      return {
        code: 'meraki_network_not_found',
        action:
          "Meraki no longer has this network, or the key's administrator cannot see it: check the collector's network IDs and the administrator's access.",
      };
    if (status === 404)
      return /\/appliance\//.test(url.pathname)
        ? {
            code: 'meraki_no_appliance',
            action:
              'Meraki has no security events for this organization (no MX appliance, or not licensed): disable the security-events stream.',
          }
        : {
            code: 'meraki_organization_not_found',
            action:
              "Check the collector's organization ID and that the key's administrator belongs to that organization.",
          };
    if (status === 400)
      return {
        code: 'meraki_bad_request',
        action: `Meraki refused the query${message ? ` (${message})` : ''}: data is kept 365 days; check this host's clock and the page size.`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    await http.getJson(org(s, account)); // the key, and access to the organization
    const t1 = new Date(Date.now() - 60_000);
    const t0 = new Date(t1.getTime() - 3_600_000);
    const q = { t0: t0.toISOString(), t1: t1.toISOString(), perPage: 3 };
    if (streams.length === 0 || streams.includes('configuration-changes'))
      await http.getJson(`${org(s, account)}/configurationChanges`, q);
    if (streams.length === 0 || streams.includes('security-events'))
      await http.getJson(`${org(s, account)}/appliance/security/events`, q);
    if (streams.length === 0 || streams.includes('network-events')) {
      const { body } = await http.getJson(`${org(s, account)}/networks`, { perPage: 3 });
      const n = Array.isArray(body)
        ? body.find((x) => typeof x?.id === 'string' && x.productTypes?.length)
        : undefined;
      if (n)
        await http.getJson(`${api(s, account)}/networks/${encodeURIComponent(n.id)}/events`, {
          productType: n.productTypes[0],
          perPage: 3,
        });
    }
  },
});
