/**
 * Documentation: https://developer.tenable.com/reference/exports-vulns-request-export (Tenable Developer Portal, "Export vulnerabilities"; "Export assets"; "Audit log").
 * Tenable Vulnerability Management simulator: vulnerability and asset exports and the audit log, following
 * the facts cited in ./index.ts and the `tenable` account kind:
 *
 * - `X-ApiKeys: accessKey=…;secretKey=…;` on every request; wrong keys → 401 `{"statusCode": 401, "error":
 *   "Unauthorized", "message": "Invalid Credentials"}` (Tenable's error body).
 * - `POST /vulns/export {num_assets (50–5000), filters: {indexed_at}}` and `POST /assets/export {chunk_size
 *   (100–10000), filters: {updated_at}}` → `{export_uuid}`; the export holds the records indexed after the
 *   filter time (exclusive, unix seconds) and visible when it was asked, the newest version of each, oldest
 *   first, in chunks of `num_assets` findings (one finding per asset here) or `chunk_size` assets.
 * - `GET /{vulns|assets}/export/{uuid}/status` → `{uuid, status, chunks_available, total_chunks, created,
 *   filters, …}`: QUEUED, then PROCESSING with one more chunk per status call, then FINISHED (`processingPolls`
 *   calls; 0: FINISHED at once); an expired (`expireExports`) or unknown export → 404. `GET
 *   /{kind}/export/status` lists the recent exports (`{exports: [...]}`).
 * - `GET /{kind}/export/{uuid}/chunks/{id}` → the chunk, a JSON array; a chunk not yet available → 404.
 * - At most `maxConcurrent` (10) unfinished exports per container: one more → 429 with `retry-after`; an export
 *   with the same filters as one still unfinished → 409 (assumed status) ("Concurrency Limiting").
 * - `GET /audit-log/v1/events?f=date.gt:YYYY-MM-DD&f=date.lt:YYYY-MM-DD&limit=` (≤ 5000) → `{events,
 *   pagination: {total, limit}}`, days exclusive (assumed), newest first, no paging.
 * - Creating an export is the declared vendor write; any other call that is not a GET (cancel an export:
 *   `POST /{kind}/export/{uuid}/cancel`) is routed and reported by `writeCalls()`.
 */

import {
  json,
  type RecordedRequest,
  Rng,
  type SimReply,
  type SimRequest,
  type SpacedEvents,
  seedOf,
  stableUuid,
} from '../../sim/kit.ts';
import {
  padRecord,
  VersionedListSim,
  type VersionedListSimOptions,
  type VersionedRecord,
} from '../../sim/versioned.ts';

export type TenableList = 'vulns' | 'assets' | 'audit';

export interface TenableSimulatorOptions extends VersionedListSimOptions<TenableList> {
  /** Status calls an export stays unfinished (QUEUED, then PROCESSING with one more chunk each call). */
  processingPolls?: number;
  maxConcurrent?: number;
}

type Item = VersionedRecord<{ state: string }>;
type Version = Item['versions'][number];

interface Export {
  kind: 'vulns' | 'assets';
  uuid: string;
  filters: string;
  /** What each chunk holds, rendered when it is downloaded. */
  chunks: Array<Array<{ item: Item; v: Version }>>;
  polls: number;
  created: number;
  expired: boolean;
}

const DAY = 86_400_000;

/** 30 records of each list up front unless `records` says otherwise; `forbidden`: lists the user's role may not read (403). */
export class TenableSimulator extends VersionedListSim<
  { state: string },
  TenableList,
  TenableSimulatorOptions
> {
  readonly accessKey: string;
  readonly secretKey: string;
  private readonly exports: Export[] = [];

  constructor(o: TenableSimulatorOptions = {}) {
    super(o, {
      name: 'api',
      lists: ['vulns', 'assets', 'audit'],
      hooks: {
        errorReply: (_req, status) => tenableError(status),
        rateLimitReply: () => tenableError(429),
      },
      records: 30,
      first: { state: 'OPEN' },
      roundTo: 1000,
    });
    const rng = new Rng(seedOf(this.seed, 'keys'));
    this.accessKey = rng.hex(64);
    this.secretKey = rng.hex(64);
    for (const kind of ['vulns', 'assets'] as const) {
      this.server.route('POST', `/${kind}/export`, (r) => this.keyed(r, kind, () => this.create(r, kind)));
      this.server.route('GET', `/${kind}/export/status`, (r) =>
        this.keyed(r, kind, () =>
          json(200, {
            exports: this.exports.filter((e) => e.kind === kind).map((e) => this.statusOf(e, false)),
          }),
        ),
      );
      this.server.route('GET', `/${kind}/export/:uuid/status`, (r) =>
        this.keyed(r, kind, () => this.status(r.params.uuid, kind)),
      );
      this.server.route('GET', `/${kind}/export/:uuid/chunks/:id`, (r) =>
        this.keyed(r, kind, () => this.chunk(r.params.uuid, kind, Number(r.params.id))),
      );
      this.server.route('POST', `/${kind}/export/:uuid/cancel`, () => json(200, { status: 'CANCELLED' }));
    }
    this.server.route('GET', '/audit-log/v1/events', (r) => this.keyed(r, 'audit', () => this.audit(r)));
  }

  account(): { accessKey: string; secretKey: string; url: string } {
    return { accessKey: this.accessKey, secretKey: this.secretKey, url: this.url };
  }

  /** Calls that change vendor state other than the declared export creation. */
  writeCalls(): RecordedRequest[] {
    return this.requests().filter((r) => r.method !== 'GET' && !/^\/(vulns|assets)\/export$/.test(r.path));
  }

  /** Export jobs asked so far. */
  exportsCreated(): number {
    return this.exports.length;
  }

  /** Every export asked so far is forgotten (Tenable expires exports after some days): 404 from now on. */
  expireExports(): void {
    for (const e of this.exports) e.expired = true;
  }

  addRecords(
    list: TenableList,
    n: number,
    o: SpacedEvents & { seq?: number; state?: string } = {},
  ): string[] {
    return this.addVersions(list, n, o, { state: o.state ?? (o.seq === undefined ? 'OPEN' : 'FIXED') });
  }

  // -------------------------------------------------------------------------------------------

  private uuidOf(list: TenableList, seq: number): string {
    return stableUuid(40 + ['vulns', 'assets', 'audit'].indexOf(list), seq, this.seed);
  }

  protected versioned(list: TenableList): boolean {
    return list !== 'audit';
  }

  protected eventId(list: TenableList, item: Item, v: number): string {
    const id = this.uuidOf(list, item.seq);
    const version = item.versions[v];
    if (list === 'audit') return id;
    return `${id}@${new Date(list === 'assets' ? version.vis : version.t).toISOString()}`;
  }

  /** Tenable's checks: the X-ApiKeys header, then the role's access to the list. */
  private keyed(req: SimRequest, list: TenableList, next: () => SimReply): SimReply {
    const keys = req.headers['x-apikeys'] === `accessKey=${this.accessKey};secretKey=${this.secretKey};`;
    return this.guard(
      list,
      keys,
      (status) =>
        status === 401
          ? tenableError(401, 'Invalid Credentials')
          : tenableError(403, 'You do not have permission to view this resource'),
      next,
    );
  }

  private create(req: SimRequest, kind: 'vulns' | 'assets'): SimReply {
    let body: any;
    try {
      body = JSON.parse(req.body.toString());
    } catch {
      return tenableError(400, 'Invalid JSON');
    }
    const size = kind === 'vulns' ? body?.num_assets : body?.chunk_size;
    const [lo, hi] = kind === 'vulns' ? [50, 5000] : [100, 10000];
    if (!Number.isInteger(size) || size < lo || size > hi)
      return tenableError(
        400,
        `${kind === 'vulns' ? 'num_assets' : 'chunk_size'} must be between ${lo} and ${hi}`,
      );
    const field = kind === 'vulns' ? 'indexed_at' : 'updated_at';
    const since = body?.filters?.[field];
    if (since !== undefined && !Number.isInteger(since))
      return tenableError(400, `filters.${field}: unix seconds`);
    const filters = JSON.stringify(body.filters ?? {});
    const running = this.exports.filter((e) => !e.expired && e.polls <= (this.o.processingPolls ?? 0));
    if (running.some((e) => e.kind === kind && e.filters === filters))
      return tenableError(
        409,
        'Duplicate export not allowed. Please modify request or wait until existing export is complete.',
      );
    if (running.length >= (this.o.maxConcurrent ?? 10))
      return {
        ...tenableError(429, 'Too many concurrent exports'),
        headers: { 'retry-after': '1', 'content-type': 'application/json' },
      };
    const now = this.clock();
    const after = since === undefined ? -Infinity : since * 1000;
    const records = this.lists[kind]
      .listed(now)
      .filter(({ v }) => v.vis > after)
      .map(({ record, v }) => ({ item: record, v }));
    const chunks: Array<Array<{ item: Item; v: Version }>> = [];
    for (let i = 0; i < records.length; i += size) chunks.push(records.slice(i, i + size));
    const uuid = stableUuid(50, this.exports.length, this.seed);
    this.exports.push({ kind, uuid, filters, chunks, polls: 0, created: now, expired: false });
    return json(200, { export_uuid: uuid });
  }

  private find(uuid: string, kind: string): Export | undefined {
    return this.exports.find((e) => e.uuid === uuid && e.kind === kind && !e.expired);
  }

  private statusOf(e: Export, poll: boolean): Record<string, unknown> {
    if (poll) e.polls++;
    const processing = this.o.processingPolls ?? 0;
    const finished = e.polls > processing;
    const ready = finished ? e.chunks.length : Math.max(0, Math.min(e.chunks.length, e.polls - 1));
    return {
      uuid: e.uuid,
      status: finished ? 'FINISHED' : e.polls <= 1 ? 'QUEUED' : 'PROCESSING',
      chunks_available: Array.from({ length: ready }, (_, i) => i + 1),
      chunks_failed: [],
      chunks_cancelled: [],
      total_chunks: e.chunks.length,
      chunks_available_count: ready,
      empty_chunks_count: 0,
      finished_chunks: ready,
      filters: JSON.parse(e.filters),
      num_assets_per_chunk: e.kind === 'vulns' ? (e.chunks[0]?.length ?? 0) : undefined,
      created: e.created,
    };
  }

  private status(uuid: string, kind: string): SimReply {
    const e = this.find(uuid, kind);
    if (!e) return tenableError(404, 'Export not found');
    return json(200, this.statusOf(e, true));
  }

  private chunk(uuid: string, kind: string, id: number): SimReply {
    const e = this.find(uuid, kind);
    const ready = e ? (this.statusOf(e, false).chunks_available as number[]) : [];
    if (!e || !ready.includes(id)) return tenableError(404, 'Chunk not found');
    return json(
      200,
      e.chunks[id - 1].map(({ item, v }) => this.record(e.kind, item, v)),
    );
  }

  private audit(req: SimRequest): SimReply {
    const limit = Number(req.query.get('limit') ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000)
      return tenableError(400, 'limit must be 1 to 5000');
    let lo = -Infinity;
    let hi = Infinity;
    for (const f of req.query.getAll('f')) {
      const m = /^date\.(gt|lt):(\d{4}-\d\d-\d\d)$/.exec(f);
      if (!m) return tenableError(400, `Invalid filter ${f}`);
      const d = Date.parse(`${m[2]}T00:00:00Z`);
      if (m[1] === 'gt') lo = d + DAY;
      else hi = d;
    }
    const now = this.clock();
    const hits = this.lists.audit.records
      .filter((item) => item.versions[0].vis <= now && item.versions[0].t >= lo && item.versions[0].t < hi)
      .sort((a, b) => b.versions[0].t - a.versions[0].t);
    const page = req.empty ? [] : hits.slice(0, limit);
    return json(200, {
      events: page.map((item) => this.record('audit', item, item.versions[0])),
      pagination: { total: hits.length, limit },
    });
  }

  private record(list: TenableList, item: Item, v: Version): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, list, item.seq));
    const id = this.uuidOf(list, item.seq);
    const iso = (t: number) => new Date(t).toISOString();
    const host = `srv-${rng.int(100, 999)}.acme.example`;
    const ip = `10.20.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    let r: Record<string, unknown>;
    if (list === 'vulns') {
      r = {
        finding_id: id,
        asset: {
          uuid: stableUuid(60, item.seq, this.seed),
          hostname: host,
          fqdn: host,
          ipv4: ip,
          operating_system: ['Ubuntu 22.04'],
          network_id: '00000000-0000-0000-0000-000000000000',
          tracked: true,
        },
        output: 'Installed package : openssl-3.0.2\nFixed package     : openssl-3.0.15',
        plugin: {
          id: rng.int(100000, 250000),
          name: 'Ubuntu 22.04 LTS : OpenSSL vulnerabilities (USN-7000-1)',
          family: 'Ubuntu Local Security Checks',
          cve: [`CVE-2026-${rng.int(1000, 9999)}`],
          cvss3_base_score: 7.5,
          risk_factor: 'High',
          has_patch: true,
        },
        port: { port: 0, protocol: 'TCP' },
        scan: {
          uuid: rng.hex(32),
          schedule_uuid: rng.hex(32),
          started_at: iso(v.t - 600_000),
          completed_at: iso(v.t),
        },
        severity: 'high',
        severity_id: 3,
        severity_default_id: 3,
        severity_modification_type: 'NONE',
        first_found: iso(item.versions[0].t),
        last_found: iso(v.t),
        ...(v.extra.state === 'FIXED' ? { last_fixed: iso(v.t) } : {}),
        state: v.extra.state,
        indexed: iso(v.vis),
      };
    } else if (list === 'assets') {
      r = {
        id,
        has_agent: true,
        has_plugin_results: true,
        created_at: iso(item.versions[0].t),
        updated_at: iso(v.vis),
        first_seen: iso(item.versions[0].t),
        last_seen: iso(v.t),
        agent_uuid: rng.hex(32),
        ipv4s: [ip],
        fqdns: [host],
        hostnames: [host],
        operating_systems: ['Ubuntu 22.04'],
        network_id: '00000000-0000-0000-0000-000000000000',
        sources: [{ name: 'NESSUS_AGENT', first_seen: iso(item.versions[0].t), last_seen: iso(v.t) }],
        tags: [{ key: 'Environment', value: 'prod' }],
      };
    } else {
      r = {
        id,
        action: rng.pick([
          'user.authenticate.password',
          'user.impersonation.start',
          'scan.update',
          'api_key.generate',
        ]),
        crud: rng.pick(['c', 'r', 'u']),
        is_anonymous: false,
        is_failure: false,
        received: iso(v.t),
        description: null,
        actor: { id: stableUuid(61, item.seq % 7, this.seed), name: `analyst${rng.int(1, 9)}@acme.example` },
        target: { id: rng.hex(32), name: 'Weekly internal scan', type: 'Scan' },
        fields: [{ key: 'X-Forwarded-For', value: `198.51.100.${rng.int(1, 254)}` }],
      };
    }
    return padRecord(r, this.o.eventBytes);
  }
}

function tenableError(status: number, message?: string): SimReply {
  const error =
    {
      400: 'Bad Request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      409: 'Conflict',
      429: 'Too Many Requests',
    }[status] ?? 'Internal Server Error';
  return json(
    status,
    { statusCode: status, error, message: message ?? error },
    status === 429 ? { 'retry-after': '1' } : {},
  );
}
