/**
 * Cisco Meraki Dashboard API simulator (organization Change Log and appliance security events), following
 * developer.cisco.com/meraki/api-v1 as Meraki's Python library documents each operation:
 *
 * - `GET /api/v1/organizations/{organizationId}` (getOrganization): `{id, name, url, api: {enabled}}`.
 * - `GET …/configurationChanges` (getOrganizationConfigurationChanges): `t0` (at most 365 days back), `t1`,
 *   `perPage` 3–5000 (default 5000); entries `{ts, adminName, adminEmail, adminId, networkName, networkId,
 *   networkUrl, ssidName, ssidNumber, page, label, oldValue, newValue, client}`.
 * - `GET …/appliance/security/events` (getOrganizationApplianceSecurityEvents): `t0`, `t1`, `perPage` 3–1000
 *   (default 100), `sortOrder` ascending (default) | descending; IDS alerts and AMP file events.
 * - Pagination: "The link for the first, last, prev, or next page in the HTTP Link header" carries the
 *   server's `startingAfter` / `endingBefore` tokens, which "should not be defined by client applications".
 * - "Authorization: Bearer <API key>"; "Rate Limit": 10 requests a second per organization, then 429 with
 *   `Retry-After`.
 *
 * - `GET /api/v1/organizations/{organizationId}/networks` (getOrganizationNetworks): `{id, organizationId, name,
 *   productTypes, timeZone, tags, …}`, `perPage` 3–100000 (default 1000), Link-header pages.
 * - `GET /api/v1/networks/{networkId}/events` (getNetworkEvents): `productType` — "required for networks with
 *   multiple device types"; `perPage` 3–1000 (default 10); the answer `{message, pageStartAt, pageEndAt,
 *   events}` ("pageStartAt: An UTC ISO8601 string of the earliest occured at time of the listed events of the
 *   page", pageEndAt the latest); events `{occurredAt, networkId, type, description, category, clientId,
 *   clientDescription, clientMac, deviceSerial, deviceName, ssidNumber, eventData}`. Meraki's library pages it
 *   backwards by default and, paging forward ("next"), reverses each page "so results/events are sorted
 *   chronologically", follows `startingAfter` links to the present (it stops itself within 5 minutes of now),
 *   and documents `startingAfter` as an ISO time a caller may set ("event_log_end_time … to use in conjunction
 *   with startingAfter, to retrieve events within a time window").
 *
 * Assumed: the Change Log newest first (Meraki's library pages it backwards by default); `t0` and `t1` both
 * inclusive; error bodies `{"errors": ["…"]}`; 404 for an organization the key cannot see. Network events:
 * `startingAfter` exclusive; a page holds the oldest `perPage` events after it, newest first; the next link's
 * `startingAfter` is the page's `pageEndAt` (the same position again on an empty page); a `productType` the
 * network does not have is refused with 400.
 */
import {
  type Clock,
  ipv4,
  json,
  person,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  type SpacedEvents,
  seedOf,
  spacedEvents,
  TimedLog,
} from '../../sim/kit.ts';

export type MerakiList = 'changes' | 'security' | 'network';

/** A simulated network (its id, name and product types). */
export interface MerakiNetwork {
  id: string;
  name: string;
  productTypes: string[];
}

export interface MerakiSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Entries of each list generated up front (default 60). */
  events?: number;
  spacingMs?: number;
  eventBytes?: number;
  apiKey?: string;
  organizationId?: string;
  /** false: the organization has no MX appliance (404 on security events). */
  appliance?: boolean;
  /** Requests a second per organization (default 10). */
  rateLimitPerSecond?: number;
  /** The organization's networks (default: three, with one, two and three product types). */
  networks?: MerakiNetwork[];
}

const errors = (status: number, ...messages: string[]) => json(status, { errors: messages });

export class MerakiSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly apiKey: string;
  readonly organizationId: string;
  private readonly o: MerakiSimulatorOptions & { spacingMs: number };
  private readonly lists: Record<Exclude<MerakiList, 'network'>, TimedLog> = {
    changes: new TimedLog(),
    security: new TimedLog(),
  };
  readonly networks: MerakiNetwork[];
  /** Network event logs, one per network and product type (`N_1/wireless`). */
  private readonly eventLogs = new Map<string, TimedLog>();
  private nextPart = 0;
  private rl = { second: -1, count: 0 };
  private loopPages = 0;

  constructor(o: MerakiSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.apiKey = o.apiKey ?? new Rng(this.seed).hex(40);
    this.organizationId = o.organizationId ?? String(549_236 + (this.seed % 1000));
    this.o = { spacingMs: 30_000, ...o };
    this.networks = o.networks ?? NETWORKS.map((n) => ({ ...n, productTypes: [...n.productTypes] }));
    for (const n of this.networks)
      for (const p of n.productTypes) this.eventLogs.set(`${n.id}/${p}`, new TimedLog());
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => errors(status, STATUS[status] ?? `Error ${status}`),
        rateLimitReply: () => errors(429, 'API rate limit exceeded for organization'),
      },
    });
    const guard = (h: (r: SimRequest) => SimReply) => (r: SimRequest) => this.guard(r, h);
    this.server.route(
      'GET',
      '/api/v1/organizations/:org',
      guard(() => json(200, this.organization())),
    );
    this.server.route(
      'GET',
      '/api/v1/organizations/:org/configurationChanges',
      guard((r) => this.list(r, 'changes')),
    );
    this.server.route(
      'GET',
      '/api/v1/organizations/:org/appliance/security/events',
      guard((r) => this.list(r, 'security')),
    );
    this.server.route(
      'GET',
      '/api/v1/organizations/:org/networks',
      guard((r) => this.networkList(r)),
    );
    this.server.route(
      'GET',
      '/api/v1/networks/:network/events',
      guard((r) => this.networkEvents(r)),
    );
    const n = o.events ?? 60;
    const first = this.clock() - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (const l of Object.values(this.lists))
      for (let i = 0; i < n; i++) l.add(first + i * this.o.spacingMs, first + i * this.o.spacingMs);
    for (let i = 0; i < n; i++)
      this.partLog().add(first + i * this.o.spacingMs, first + i * this.o.spacingMs);
  }

  /** The next network event log, round robin (events are spread over every network and product type). */
  private partLog(): TimedLog {
    const logs = [...this.eventLogs.values()];
    return logs[this.nextPart++ % logs.length];
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  loopNextLinks(pages = 1): void {
    this.loopPages = pages;
  }

  addEvents(list: MerakiList, n: number, o: SpacedEvents = {}): void {
    for (const [t, vis] of spacedEvents(n, this.clock(), this.o.spacingMs, o))
      (list === 'network' ? this.partLog() : this.lists[list]).add(t, vis);
  }

  /** Every record of `list`, as Meraki sends it (oldest first; network events by network and product type). */
  records(list: MerakiList): Array<Record<string, unknown>> {
    if (list === 'network')
      return [...this.eventLogs].flatMap(([part, log]) =>
        log.ascending().map((s) => this.networkEvent(part, s)),
      );
    return this.lists[list].ascending().map((s) => this.record(list, s));
  }

  // -------------------------------------------------------------------------------------------

  private organization() {
    return {
      id: this.organizationId,
      name: 'Acme Corp',
      url: `https://n42.meraki.com/o/${this.organizationId}/manage/organization/overview`,
      api: { enabled: true },
      licensing: { model: 'co-term' },
      cloud: { region: { name: 'North America' } },
    };
  }

  private guard(req: SimRequest, next: (r: SimRequest) => SimReply): SimReply {
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return errors(401, 'Invalid API key');
    const s = Math.floor(this.clock() / 1000);
    if (s !== this.rl.second) this.rl = { second: s, count: 0 };
    if (++this.rl.count > (this.o.rateLimitPerSecond ?? 10))
      return {
        ...errors(429, 'API rate limit exceeded for organization'),
        headers: { 'content-type': 'application/json', 'retry-after': '1' },
      };
    if (req.params.org !== undefined && req.params.org !== this.organizationId)
      return errors(404, 'Not found');
    if (req.params.network !== undefined && !this.networks.some((n) => n.id === req.params.network))
      return errors(404, 'Not found');
    return next(req);
  }

  private list(req: SimRequest, which: Exclude<MerakiList, 'network'>): SimReply {
    if (which === 'security' && this.o.appliance === false) return errors(404, 'Not found');
    const q = req.query;
    const now = this.clock();
    const t0 = q.has('t0') ? Date.parse(q.get('t0') ?? '') : now - 31 * 86_400_000;
    const t1 = q.has('t1') ? Date.parse(q.get('t1') ?? '') : now;
    if (!Number.isFinite(t0) || !Number.isFinite(t1))
      return errors(400, "'t0' and 't1' must be ISO 8601 timestamps");
    if (t0 < now - 365 * 86_400_000) return errors(400, "'t0' must be within the last 365 days");
    const max = which === 'changes' ? 5000 : 1000;
    const perPage = Number(q.get('perPage') ?? (which === 'changes' ? 5000 : 100));
    if (!Number.isInteger(perPage) || perPage < 3 || perPage > max)
      return errors(400, `'perPage' must be an integer between 3 and ${max}`);
    const desc = which === 'changes' || q.get('sortOrder') === 'descending';
    const log = this.lists[which];
    const all = log.ascending().filter((s) => log.vis[s] <= now && log.t[s] >= t0 && log.t[s] <= t1);
    if (desc) all.reverse();
    const token = q.get('startingAfter');
    let from = 0;
    if (token) {
      const seq = Number(Buffer.from(token, 'base64url').toString().replace(/^seq:/, ''));
      const at = all.indexOf(seq);
      if (!Number.isInteger(seq) || at < 0) return errors(400, "Invalid 'startingAfter'");
      from = at + 1;
    }
    const page = req.empty ? [] : all.slice(from, from + perPage);
    const self = new URL(req.url.toString());
    const link = (rel: string, after?: number) => {
      const u = new URL(self);
      if (after === undefined) u.searchParams.delete('startingAfter');
      else u.searchParams.set('startingAfter', Buffer.from(`seq:${after}`).toString('base64url'));
      return `<${u.toString()}>; rel=${rel}`;
    };
    const links = [link('first')];
    if (this.loopPages > 0) {
      this.loopPages--;
      links.push(`<${self.toString()}>; rel=next`);
    } else if (req.empty) links.push(`<${self.toString()}>; rel=next`);
    else if (from + perPage < all.length) links.push(link('next', page[page.length - 1]));
    return {
      ...json(
        200,
        page.map((s) => this.record(which, s)),
      ),
      headers: { 'content-type': 'application/json', link: links.join(', ') },
    };
  }

  private networkList(req: SimRequest): SimReply {
    const perPage = Number(req.query.get('perPage') ?? 1000);
    if (!Number.isInteger(perPage) || perPage < 3 || perPage > 100_000)
      return errors(400, "'perPage' must be an integer between 3 and 100000");
    const after = req.query.get('startingAfter');
    const from = after ? this.networks.findIndex((n) => n.id === after) + 1 : 0;
    const page = this.networks.slice(from, from + perPage);
    const links: string[] = [];
    if (from + perPage < this.networks.length) {
      const u = new URL(req.url.toString());
      u.searchParams.set('startingAfter', page[page.length - 1].id);
      links.push(`<${u.toString()}>; rel=next`);
    }
    return {
      ...json(
        200,
        page.map((n) => ({
          id: n.id,
          organizationId: this.organizationId,
          name: n.name,
          productTypes: n.productTypes,
          timeZone: 'Europe/Berlin',
          tags: [],
          enrollmentString: null,
          url: `https://n42.meraki.com/${n.name.replace(/\W/g, '-')}/n/${n.id.slice(-8)}/manage/usage/list`,
          notes: '',
          isBoundToConfigTemplate: false,
        })),
      ),
      headers: { 'content-type': 'application/json', ...(links.length ? { link: links.join(', ') } : {}) },
    };
  }

  private networkEvents(req: SimRequest): SimReply {
    const q = req.query;
    const network = this.networks.find((n) => n.id === req.params.network)!;
    const type =
      q.get('productType') ?? (network.productTypes.length === 1 ? network.productTypes[0] : undefined);
    if (type === undefined)
      return errors(400, 'productType is required for networks with multiple device types');
    if (!network.productTypes.includes(type))
      return errors(400, `'productType' must be one of: ${network.productTypes.join(', ')}`);
    const perPage = Number(q.get('perPage') ?? 10);
    if (!Number.isInteger(perPage) || perPage < 3 || perPage > 1000)
      return errors(400, "'perPage' must be an integer between 3 and 1000");
    const part = `${network.id}/${type}`;
    const log = this.eventLogs.get(part)!;
    const now = this.clock();
    const visible = log.ascending().filter((s) => log.vis[s] <= now);
    const after = q.get('startingAfter');
    let page: number[];
    if (after !== null) {
      const t = Date.parse(after);
      if (!Number.isFinite(t)) return errors(400, "Invalid 'startingAfter'");
      page = visible.filter((s) => log.t[s] > t).slice(0, perPage);
    } else page = visible.slice(-perPage);
    if (req.empty) page = [];
    const events = page.map((s) => this.networkEvent(part, s));
    const startAt = events[0]?.occurredAt as string | undefined;
    const endAt = events.at(-1)?.occurredAt as string | undefined;
    const u = new URL(req.url.toString());
    if (this.loopPages > 0) this.loopPages--;
    else u.searchParams.set('startingAfter', endAt ?? after ?? new Date(now).toISOString());
    return {
      ...json(200, {
        message: events.length ? null : 'No events found',
        pageStartAt: startAt ?? null,
        pageEndAt: endAt ?? null,
        events: events.reverse(),
      }),
      headers: { 'content-type': 'application/json', link: `<${u.toString()}>; rel=next` },
    };
  }

  private networkEvent(part: string, seq: number): Record<string, unknown> {
    const [networkId, productType] = part.split('/');
    const log = this.eventLogs.get(part)!;
    const rng = new Rng(seedOf(this.seed, part, seq));
    const occurredAt = `${new Date(log.t[seq]).toISOString().slice(0, 23)}${String(rng.int(0, 999)).padStart(3, '0')}Z`;
    const device = {
      deviceSerial: `Q2XX-${rng.hex(4).toUpperCase()}-${rng.hex(4).toUpperCase()}`,
      deviceName: `${productType}-${rng.int(1, 9)}`,
    };
    const client = {
      clientId: `k${rng.hex(6)}`,
      clientMac: 'a4:83:e7:12:34:56',
      clientDescription: 'LAPTOP-7Q2',
    };
    const e = (EVENTS[productType] ?? EVENTS.appliance)[rng.int(0, 1)];
    const r: Record<string, unknown> = {
      occurredAt,
      networkId,
      type: e.type,
      description: e.description,
      category: e.category,
      ...(e.client ? client : { clientId: null, clientDescription: null, clientMac: '' }),
      ...device,
      ssidNumber: productType === 'wireless' ? 1 : null,
      eventData: e.data(rng),
    };
    if (this.o.eventBytes) {
      const left = this.o.eventBytes - JSON.stringify(r).length;
      if (left > 0) r.description = `${e.description} ${'x'.repeat(left)}`;
    }
    return r;
  }

  private record(which: Exclude<MerakiList, 'network'>, seq: number): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, which, seq));
    const log = this.lists[which];
    const ts = `${new Date(log.t[seq]).toISOString().slice(0, 23)}${String(rng.int(0, 999)).padStart(3, '0')}Z`;
    const net = rng.pick(NETWORKS);
    let r: Record<string, unknown>;
    if (which === 'changes') {
      const admin = person(rng, 'acme.example');
      const c = rng.pick(CHANGES);
      r = {
        ts,
        adminName: admin.displayName,
        adminEmail: admin.email,
        adminId: rng.hex(16),
        networkName: net.name,
        networkId: net.id,
        networkUrl: `https://n42.meraki.com/${net.name.replace(/\W/g, '-')}/n/${rng.base62(8)}/manage/${c.page}`,
        ssidName: c.ssid ? 'Corp WiFi' : null,
        ssidNumber: c.ssid ? 1 : null,
        page: c.page,
        label: c.label,
        oldValue: c.old,
        newValue: c.new,
        client: { id: rng.hex(16), type: rng.pick(['API', 'Dashboard']) },
      };
    } else if (rng.bool(0.7)) {
      r = {
        ts,
        eventType: 'IDS Alert',
        deviceMac: '00:18:0a:01:02:03',
        clientMac: 'a4:83:e7:12:34:56',
        srcIp: `${ipv4(rng)}:${rng.int(1024, 65535)}`,
        destIp: `10.0.${rng.int(0, 9)}.${rng.int(2, 250)}:443`,
        protocol: 'tcp/ip',
        priority: String(rng.int(1, 3)),
        classification: String(rng.int(1, 30)),
        blocked: rng.bool(),
        message: rng.pick([
          'SERVER-WEBAPP Apache Log4j logging remote code execution attempt',
          'MALWARE-CNC Win.Trojan.Agent outbound connection',
        ]),
        signature: `1:${rng.int(50_000, 60_000)}:${rng.int(1, 9)}`,
        sigSource: '',
        ruleId: `meraki:intrusion/snort/GID/1/SID/${rng.int(50_000, 60_000)}`,
      };
    } else {
      r = {
        ts,
        eventType: 'File Scanned',
        clientName: 'LAPTOP-7Q2',
        clientMac: 'a4:83:e7:65:43:21',
        clientIp: `10.0.${rng.int(0, 9)}.${rng.int(2, 250)}`,
        srcIp: ipv4(rng),
        destIp: `10.0.${rng.int(0, 9)}.${rng.int(2, 250)}`,
        protocol: 'http',
        uri: `http://${rng.base62(8).toLowerCase()}.example/invoice.exe`,
        canonicalName: 'W32.ABCD.Trojan',
        destinationPort: 80,
        fileHash: rng.hex(64),
        fileType: 'MS_EXE',
        fileSizeBytes: rng.int(10_000, 900_000),
        disposition: 'Malicious',
        action: 'Blocked',
      };
    }
    if (this.o.eventBytes) {
      const left = this.o.eventBytes - JSON.stringify(r).length;
      if (left > 0) r[which === 'changes' ? 'newValue' : 'message'] = 'x'.repeat(left);
    }
    return r;
  }
}

const STATUS: Record<number, string> = {
  400: 'Bad request',
  401: 'Invalid API key',
  403: 'Forbidden',
  404: 'Not found',
  500: 'Internal server error',
  502: 'Bad gateway',
  503: 'Service unavailable',
};

const NETWORKS = [
  { id: 'L_646829496481105433', name: 'HQ - Berlin', productTypes: ['appliance', 'switch', 'wireless'] },
  { id: 'N_24329156', name: 'Branch - Austin', productTypes: ['wireless'] },
  { id: 'L_646829496481100388', name: 'DC - Frankfurt', productTypes: ['appliance', 'switch'] },
] as const;

/** Event log entries per product type, shaped like the samples of getNetworkEvents. */
const EVENTS: Record<
  string,
  Array<{ type: string; description: string; category: string; client: boolean; data: (rng: Rng) => unknown }>
> = {
  appliance: [
    {
      type: 'vpn_connectivity_change',
      description: 'VPN connectivity change',
      category: 'VPN',
      client: false,
      data: (rng) => ({
        vpn_type: 'site-to-site',
        peer_contact: `${ipv4(rng)}:51856`,
        connectivity: String(rng.bool()),
      }),
    },
    {
      type: 'dhcp_no_offers',
      description: 'DHCP no offers',
      category: 'DHCP',
      client: true,
      data: (rng) => ({ vlan: String(rng.int(1, 20)) }),
    },
  ],
  switch: [
    {
      type: 'port_status',
      description: 'Port status change',
      category: 'Ports',
      client: false,
      data: (rng) => ({ port: String(rng.int(1, 48)), old: 'disabled', new: '1Gfdx' }),
    },
    {
      type: 'stp_port_role_change',
      description: 'Spanning-tree interface role change',
      category: 'STP',
      client: false,
      data: (rng) => ({ port: String(rng.int(1, 48)), prev: 'designated', new: 'root' }),
    },
  ],
  wireless: [
    {
      type: 'association',
      description: '802.11 association',
      category: '802.11',
      client: true,
      data: (rng) => ({
        radio: '1',
        vap: '1',
        channel: String(rng.pick([36, 40, 44, 48])),
        rssi: String(rng.int(10, 60)),
      }),
    },
    {
      type: '8021x_eap_failure',
      description: '802.1X EAP authentication failure',
      category: '802.1X',
      client: true,
      data: () => ({ radio: '1', vap: '1', identity: 'jdoe@acme.example' }),
    },
  ],
};

const CHANGES = [
  {
    page: 'Security & SD-WAN > Firewall',
    label: 'L3 firewall rules',
    old: '[{"policy":"deny","protocol":"any"}]',
    new: '[{"policy":"allow","protocol":"tcp","destPort":"22"}]',
    ssid: false,
  },
  { page: 'Wireless > Access control', label: 'PSK', old: '********', new: '********', ssid: true },
  {
    page: 'Organization > Administrators',
    label: 'Admin added',
    old: null,
    new: 'jane.doe@acme.example (full)',
    ssid: false,
  },
  {
    page: 'Security & SD-WAN > Threat protection',
    label: 'Intrusion detection mode',
    old: 'prevention',
    new: 'detection',
    ssid: false,
  },
] as const;
