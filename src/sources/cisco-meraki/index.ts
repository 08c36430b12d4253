import { z } from 'zod';
import { type MerakiAccount, merakiHost } from '../../accounts/cisco-meraki.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource, type ReadContext } from '../../core/source.ts';
import { paginate } from '../../engine/paginate.ts';
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
 * - "Rate Limit": 10 requests per second per organization; 429 with `Retry-After` (the account's budget).
 * - Neither list carries an id: a record's id is its hash (the same record read again keeps it).
 *
 * How it reads. Security events are asked oldest first, so the position moves after every page. The Change
 * Log's order is not stated (Meraki's library pages it backwards by default), so its windows are finished
 * before the position moves. Both re-read a second behind the position, duplicates suppressed by id; lag 1
 * minute; windows of at most a day; 365 days kept.
 *
 * Not built: per-network event logs (`/networks/{networkId}/events`, per product type, `startingAfter`), which
 * need one position per network and product type (docs/sources.md).
 */

export interface MerakiSettings {
  organizationId: string;
  perPage: number;
  baseUrl?: string;
}

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
      .describe('Entries per page (Meraki accepts 3 to 1000 for security events)'),
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

export default defineSource<MerakiSettings, MerakiAccount>({
  id: 'cisco-meraki',
  title: 'Cisco Meraki',
  account: 'cisco-meraki',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Cisco Meraki organization Change Log (who changed which setting, old and new values) and MX appliance security events (IDS alerts, malware downloads).',
  setupGuide: [
    '1. In the Meraki dashboard, **Organization → Settings → Dashboard API access**: enable API access.',
    '2. Create (or pick) an administrator with **organization read-only** access for Tributary; signed in as that',
    '   administrator, **My Profile → API access → Generate API key**, and copy the key (shown once).',
    '3. Note the **organization ID** (Organization → Settings, at the bottom; or `GET /api/v1/organizations`).',
    '4. Create a **Cisco Meraki** account with the key (and the region for dashboards outside the global one),',
    '   then the collector with the organization ID.',
    '',
    'Meraki allows 10 requests a second per organization, shared by every tool using the API on it.',
    '',
    "Early access: the Change Log's order is not documented (Tributary reads whole windows); per-network event",
    'logs are not collected yet.',
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
  },
});
