/**
 * Cisco Secure Endpoint API v1 simulator (events, audit logs), following Cisco's API reference
 * (api-docs.amp.cisco.com, "Cisco AMP for Endpoints API" overview,
 * https://api-docs.amp.cisco.com/api_resources?api_host=api.eu.amp.cisco.com&api_version=v0, the page read; sections named
 * below)
 * and the facts cited in ./index.ts and the `cisco-secure-endpoint` account kind:
 *
 * - "Making Requests": HTTP Basic `client_id:api_key`; "Without proper HTTP Basic auth" the API answers 401
 *   `{errors: [{error_code: 401, description: "Unauthorized", details: ["Unknown API key or Client ID"]}]}`.
 * - "JSON Envelope format": every answer is `{version, metadata, data}` (errors add `errors`); "Metadata
 *   section", "Results", "Links": `metadata: {links: {self, next?}, results: {total, current_item_count, index,
 *   items_per_page}}`.
 * - `GET /v1/events?start_date&limit&offset` (reference, "Events"): events from `start_date`, newest first;
 *   `GET /v1/audit_logs?start_time&end_time&limit&offset` (reference, "Audit Logs"): entries in
 *   [start_time, end_time], newest first; 500 a page at most (./index.ts).
 * - "Request Errors": an unexpected parameter or invalid request entity is 400 naming the field — here `limit`
 *   above 500.
 * - "Rate Limits": "API Clients are allowed to make a limited number of requests every hour"; every answer
 *   carries `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining`, `X-Rate-Limit-Reset` ("Number of seconds before
 *   the limit is reset"); overrun → 429.
 * - Write calls (`PATCH /v1/computers/{guid}`, `POST /v1/computers/{guid}/isolation`)
 *   are routed and reported by `writeCalls()`.
 *
 * Decided by the simulator: the hourly budget (3000 unless `hourlyLimit`), the reset at the top of the clock
 * hour, the 429 body (the 401 envelope with code 429), `start_date` inclusive, audit-log bounds inclusive.
 */

import {
  type Clock,
  json,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  type SpacedEvents,
  seedOf,
  spacedEvents,
  stableUuid,
} from '../../sim/kit.ts';
import { padRecord } from '../../sim/versioned.ts';

export type CiscoList = 'events' | 'audit';

export interface CiscoSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Records of each list generated up front (default 40), `spacingMs` apart, ending 5 minutes before now. */
  records?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** The key's hourly budget (default 3000). */
  hourlyLimit?: number;
}

interface Rec {
  seq: number;
  t: number;
  vis: number;
}

export class CiscoSecureEndpointSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly clientId: string;
  readonly apiKey: string;
  private readonly o: CiscoSimulatorOptions & { spacingMs: number };
  private readonly lists: Record<CiscoList, Rec[]> = { events: [], audit: [] };
  private used = 0;
  private loopPages = 0;

  constructor(o: CiscoSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'key'));
    this.clientId = rng.hex(20);
    this.apiKey = stableUuid(70, 1, this.seed);
    this.o = { spacingMs: 60_000, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => ciscoError(status),
        rateLimitReply: () => ciscoError(429),
        decorate: (_req, reply) => {
          reply.headers = { ...this.rateHeaders(), ...reply.headers };
        },
      },
    });
    this.server.route('GET', '/v1/events', (r) => this.guard(r, () => this.list(r, 'events')));
    this.server.route('GET', '/v1/audit_logs', (r) => this.guard(r, () => this.list(r, 'audit')));
    this.server.route('PATCH', '/v1/computers/:guid', () => json(202, {}));
    this.server.route('POST', '/v1/computers/:guid/isolation', () => json(200, {}));
    const now = this.clock();
    const n = o.records ?? 40;
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (const list of ['events', 'audit'] as const)
      for (let i = 0; i < n; i++) this.add(list, first + i * this.o.spacingMs, first + i * this.o.spacingMs);
  }

  account(): { clientId: string; apiKey: string; url: string } {
    return { clientId: this.clientId, apiKey: this.apiKey, url: this.url };
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  loopNextLinks(pages = 1): void {
    this.loopPages = pages;
  }

  addRecords(list: CiscoList, n: number, o: SpacedEvents = {}): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) =>
      this.idOf(list, this.add(list, t, vis)),
    );
  }

  expectedIds(list: CiscoList): string[] {
    return this.lists[list].map((r) => this.idOf(list, r));
  }

  // -------------------------------------------------------------------------------------------

  private add(list: CiscoList, t: number, vis: number): Rec {
    const r = { seq: this.lists[list].length, t: Math.floor(t / 1000) * 1000, vis };
    this.lists[list].push(r);
    return r;
  }

  private idOf(list: CiscoList, r: Rec): string {
    return list === 'events'
      ? String(6_000_000_000 + r.seq * 3)
      : `${String(r.seq).padStart(6, '0')}-${this.seed % 1000}`;
  }

  private rateHeaders(): Record<string, string> {
    const limit = this.o.hourlyLimit ?? 3000;
    const now = this.clock();
    return {
      'x-rate-limit-limit': String(limit),
      'x-rate-limit-remaining': String(Math.max(0, limit - this.used)),
      'x-rate-limit-reset': String(Math.ceil((3_600_000 - (now % 3_600_000)) / 1000)),
    };
  }

  private guard(req: SimRequest, next: () => SimReply): SimReply {
    const expected = `Basic ${Buffer.from(`${this.clientId}:${this.apiKey}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return ciscoError(401, 'Unknown API key or Client ID');
    if (++this.used > (this.o.hourlyLimit ?? 3000)) return ciscoError(429, 'Too many requests in this hour');
    return next();
  }

  private list(req: SimRequest, list: CiscoList): SimReply {
    const q = req.query;
    const limit = Number(q.get('limit') ?? 500);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      return ciscoError(400, 'limit must be 1 to 500');
    const offset = Number(q.get('offset') ?? 0);
    const [fromKey, toKey] = list === 'events' ? ['start_date', 'end_date'] : ['start_time', 'end_time'];
    const from = q.get(fromKey);
    const to = list === 'audit' ? q.get(toKey) : null;
    const lo = from ? Date.parse(from) : -Infinity;
    const hi = to ? Date.parse(to) : Infinity;
    if (Number.isNaN(lo) || Number.isNaN(hi)) return ciscoError(400, `${fromKey}: expected ISO 8601`);
    const now = this.clock();
    const hits = this.lists[list]
      .filter((r) => r.vis <= now && r.t >= lo && r.t <= hi)
      .sort((a, b) => b.t - a.t || b.seq - a.seq);
    const page = req.empty ? [] : hits.slice(offset, offset + limit);
    const link = (o: number) => {
      const u = new URL(req.url.toString());
      u.searchParams.set('offset', String(o));
      u.searchParams.set('limit', String(limit));
      return u.toString();
    };
    const links: Record<string, string> = { self: req.url.toString() };
    if (req.empty) links.next = link(offset);
    else if (offset + page.length < hits.length) {
      const looping = this.loopPages > 0;
      if (looping) this.loopPages--;
      links.next = link(looping ? offset : offset + page.length);
    }
    return json(200, {
      version: 'v1.2.0',
      metadata: {
        links,
        results: {
          total: hits.length,
          current_item_count: page.length,
          index: offset,
          items_per_page: limit,
        },
      },
      data: page.map((r) => this.record(list, r)),
    });
  }

  private record(list: CiscoList, r: Rec): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, list, r.seq));
    const guid = stableUuid(71, r.seq % 13, this.seed);
    let out: Record<string, unknown>;
    if (list === 'events') {
      const type = rng.pick([
        { id: 1090519054, name: 'Threat Detected' },
        { id: 553648143, name: 'Threat Quarantined' },
        { id: 554696714, name: 'Scan Completed, No Detections' },
      ]);
      out = {
        id: Number(this.idOf(list, r)),
        timestamp: r.t / 1000,
        timestamp_nanoseconds: 0,
        date: `${new Date(r.t).toISOString().slice(0, 19)}+00:00`,
        event_type: type.name,
        event_type_id: type.id,
        detection: type.id === 1090519054 ? 'W32.Zombies.NotAVirus' : undefined,
        detection_id: type.id === 1090519054 ? String(rng.int(1e9, 9e9)) : undefined,
        connector_guid: guid,
        group_guids: [stableUuid(72, 1, this.seed)],
        severity: type.id === 1090519054 ? 'Medium' : undefined,
        computer: {
          connector_guid: guid,
          hostname: `ws-${r.seq % 13}.acme.example`,
          external_ip: `203.0.113.${rng.int(1, 254)}`,
          active: true,
          network_addresses: [{ ip: `10.1.0.${rng.int(1, 254)}`, mac: '00:50:56:aa:bb:cc' }],
          links: { computer: `https://api.amp.cisco.com/v1/computers/${guid}` },
        },
        file: {
          disposition: 'Malicious',
          file_name: 'invoice.exe',
          file_path: '\\\\?\\C:\\Users\\ada\\Downloads\\invoice.exe',
          identity: { sha256: rng.hex(64) },
        },
      };
    } else {
      out = {
        audit_log_id: this.idOf(list, r),
        audit_log_type: rng.pick(['Policy', 'Group', 'Exclusion Set', 'User']),
        event: rng.pick(['update', 'create', 'log-in']),
        audit_log_user: `admin${rng.int(1, 5)}@acme.example`,
        created_at: new Date(r.t).toISOString(),
        old_attributes: { name: 'Workstations' },
        new_attributes: { name: 'Workstations - protect' },
      };
    }
    return padRecord(out, this.o.eventBytes);
  }
}

function ciscoError(status: number, detail?: string): SimReply {
  const description =
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests' }[
      status
    ] ?? 'Internal Server Error';
  return json(status, {
    version: 'v1.2.0',
    metadata: { links: {} },
    errors: [{ error_code: status, description, details: [detail ?? description] }],
    data: {},
  });
}
