/**
 * Netskope REST API v2 data export simulator (events and alerts iterators), following docs.netskope.com:
 * "Using the REST API v2 dataexport Iterator Endpoints"
 * (https://docs.netskope.com/en/netskope-help/admin-console/rest-api/rest-api-v2-overview-312207/using-the-rest-api-v2-dataexport-iterator-endpoints/)
 * and "REST API v2 Overview" (https://docs.netskope.com/en/rest-api-v2-overview-312207/):
 *
 * - `GET /api/v2/events/dataexport/{events|alerts}/{type}?index=<name>&operation=<epoch|head|tail|next|resend>`
 *   ("Iterator Query Structure", "Supported Iterator Operations"): each endpoint keeps its own index, named by
 *   the consumer; an epoch timestamp starts consumption at that time, `head` at the first page stored, `tail` at
 *   the most current; `next` "requests the next page of data"; `resend` retries "the last page of data
 *   requested". The simulator holds each (endpoint, index) iterator itself.
 * - The token travels in the `Netskope-Api-Token` header and is created for chosen endpoints ("REST API v2
 *   Overview", "To create a new token"): an endpoint the token was not given (`scopes`) is 403 (Cloud Exchange's
 *   "Dataexport Error Codes", https://netskope-techdocs.github.io/doc-stage/en/api-tokens.html: 403 "Check the
 *   API V2 token is associated with the valid endpoint").
 * - "Multiple consumers leveraging the same endpoint and index concurrently is not supported" ("How Do Iterator
 *   Endpoints Function"): `holdIndex()` makes another consumer busy on it.
 * - Answers carry `result` and `wait_time` (seconds to wait before the next call), as Netskope's Python SDK reads
 *   them (netskopesdk, https://pypi.org/project/netskopesdk/0.0.36, "Rest sdk Usage to pull the Alert & Events").
 * - The tenant has a global rate limit ("REST API v2 Overview", "Global Rate Limit"); over it, 429.
 *
 * Decided by the simulator: the answer `{"ok": 1, "result": [...], "wait_time": <s>, "timestamp_hwm": <epoch
 * s>}`, an empty result when there is nothing more for now; error bodies `{"ok": 0, "error": "…"}` (403: "Token
 * does not have privilege for <endpoint>"; a busy index 409 "Another request for this index is in progress");
 * 429 with `Retry-After` (kit fault); `next` on an index never started answers 400; pages of `pageSize` records
 * (default 10,000); records ordered as they were indexed (a late record comes after the ones indexed before it);
 * record shapes after Netskope's event and alert field lists (`_id`, `timestamp`, `type`, `user`, `app`,
 * `alert_type`, …).
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
} from '../../sim/kit.ts';

export type NetskopeFamily = 'events' | 'alerts';

export interface NetskopeSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Records generated up front per (family, type) listed. */
  records?: number;
  /** The (family/type) endpoints that hold data, e.g. ['events/audit', 'alerts/dlp']. */
  endpoints?: string[];
  spacingMs?: number;
  eventBytes?: number;
  token?: string;
  /** Endpoint paths the token may call (default: all). */
  scopes?: string[];
  pageSize?: number;
  /** `wait_time` sent with every answer (seconds, default 0). */
  waitTime?: number;
}

interface Item {
  t: number;
  vis: number;
  seq: number;
}

interface Iterator {
  /** Records at or after this time (ms) belong to the iterator. */
  from: number;
  /** Key of the last record handed out (vis, seq), or undefined at the start. */
  after?: [number, number];
  /** The last page handed out, for resend. */
  last: Item[];
}

const fail = (status: number, error: string) => json(status, { ok: 0, error });

export class NetskopeSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly token: string;
  private readonly o: NetskopeSimulatorOptions & { spacingMs: number; pageSize: number };
  private readonly data = new Map<string, Item[]>();
  private readonly iterators = new Map<string, Iterator>();
  private readonly held = new Set<string>();
  private loopPages = 0;

  constructor(o: NetskopeSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.token = o.token ?? new Rng(this.seed).hex(32);
    this.o = { spacingMs: 30_000, pageSize: 10_000, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => fail(status, status === 401 ? 'Unauthorized' : `HTTP ${status}`),
        rateLimitReply: () => fail(429, 'Too many requests'),
      },
    });
    this.server.route('GET', '/api/v2/events/dataexport/:family/:type', (r) => this.export(r));
    const n = o.records ?? 60;
    for (const ep of o.endpoints ?? ['events/audit']) {
      const first = this.clock() - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
      for (let i = 0; i < n; i++) this.add(ep, first + i * this.o.spacingMs, first + i * this.o.spacingMs);
    }
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  /** Another consumer is reading `index` on `endpoint` (family/type) until released. */
  holdIndex(endpoint: string, index: string, held = true): void {
    if (held) this.held.add(`${endpoint}\u0000${index}`);
    else this.held.delete(`${endpoint}\u0000${index}`);
  }

  /** The next `pages` `next` answers repeat the last page without moving (a looping vendor). */
  loopNextPages(pages = 1): void {
    this.loopPages = pages;
  }

  addRecords(endpoint: string, n: number, o: SpacedEvents = {}): void {
    for (const [t, vis] of spacedEvents(n, this.clock(), this.o.spacingMs, o)) this.add(endpoint, t, vis);
  }

  /** Every record of an endpoint (family/type), as Netskope sends it. */
  records(endpoint: string): Array<Record<string, unknown>> {
    return (this.data.get(endpoint) ?? []).map((i) => this.record(endpoint, i));
  }

  // -------------------------------------------------------------------------------------------

  private add(endpoint: string, t: number, vis: number): void {
    const list = this.data.get(endpoint) ?? [];
    list.push({ t: Math.floor(t / 1000) * 1000, vis, seq: list.length });
    this.data.set(endpoint, list);
  }

  private export(req: SimRequest): SimReply {
    if (req.headers['netskope-api-token'] !== this.token) return fail(401, 'Unauthorized');
    const endpoint = `${req.params.family}/${req.params.type}`;
    if (this.o.scopes && !this.o.scopes.includes(req.path))
      return fail(403, `Token does not have privilege for ${req.path}`);
    if (req.params.family !== 'events' && req.params.family !== 'alerts') return fail(404, 'Not found');
    const index = req.query.get('index') ?? '';
    const operation = req.query.get('operation') ?? '';
    if (!index) return fail(400, 'index is required');
    const key = `${endpoint}\u0000${index}`;
    if (this.held.has(key)) return fail(409, 'Another request for this index is in progress');
    const now = this.clock();
    const queue = (this.data.get(endpoint) ?? [])
      .filter((i) => i.vis <= now)
      .sort((a, b) => a.vis - b.vis || a.seq - b.seq);
    let it = this.iterators.get(key);
    let page: Item[];
    if (/^\d+$/.test(operation) || operation === 'head' || operation === 'tail') {
      const from = operation === 'head' ? 0 : operation === 'tail' ? now : Number(operation) * 1000;
      it = { from, last: [] };
      this.iterators.set(key, it);
      page = this.take(queue, it, req.empty);
    } else if (operation === 'next') {
      if (!it)
        return fail(
          400,
          'The iterator for this index has not been started: use an epoch timestamp, head or tail',
        );
      if (this.loopPages > 0 && it.last.length) {
        this.loopPages--;
        page = it.last;
      } else page = this.take(queue, it, req.empty);
    } else if (operation === 'resend') {
      if (!it)
        return fail(
          400,
          'The iterator for this index has not been started: use an epoch timestamp, head or tail',
        );
      page = it.last;
    } else return fail(400, `Unknown operation ${operation}`);
    return json(200, {
      ok: 1,
      result: page.map((i) => this.record(endpoint, i)),
      wait_time: this.o.waitTime ?? 0,
      timestamp_hwm: Math.floor(now / 1000),
    });
  }

  /** Hands out the next page after the iterator's position (an injected `empty` hands out nothing). */
  private take(queue: Item[], it: Iterator, empty: boolean): Item[] {
    if (empty) return [];
    const after = it.after;
    const rest = queue.filter(
      (i) => i.t >= it.from && (!after || i.vis > after[0] || (i.vis === after[0] && i.seq > after[1])),
    );
    const page = rest.slice(0, this.o.pageSize);
    if (page.length) {
      const last = page[page.length - 1];
      it.after = [last.vis, last.seq];
      it.last = page;
    }
    return page;
  }

  private record(endpoint: string, i: Item): Record<string, unknown> {
    const [family, type] = endpoint.split('/');
    const rng = new Rng(seedOf(this.seed, endpoint, i.seq));
    const user = person(rng, 'acme.example');
    const base: Record<string, unknown> = {
      _id: `${rng.hex(24)}`,
      timestamp: Math.floor(i.t / 1000),
      type,
      user: user.email,
      ur_normalized: user.email,
      userip: ipv4(rng),
      srcip: `10.${rng.int(0, 40)}.${rng.int(0, 255)}.${rng.int(2, 250)}`,
      organization_unit: 'acme.example/Users',
      access_method: rng.pick(['Client', 'Reverse Proxy', 'API Connector']),
    };
    let r: Record<string, unknown>;
    if (family === 'alerts') {
      r = {
        ...base,
        alert: 'yes',
        alert_type: type,
        alert_name: rng.pick(['DLP-PCI', 'Malware detected', 'Risky app upload', 'Impossible travel']),
        policy: rng.pick(['Block uploads to personal storage', 'Alert on PCI data']),
        app: rng.pick(['Box', 'Google Drive', 'Dropbox', 'ChatGPT']),
        appcategory: 'Cloud Storage',
        severity: rng.pick(['low', 'medium', 'high', 'critical']),
        action: rng.pick(['alert', 'block', 'useralert']),
        acked: 'false',
      };
    } else if (type === 'audit') {
      r = {
        ...base,
        audit_log_event: rng.pick([
          'Login Successful',
          'Edited policy',
          'Created REST API token',
          'Apply Changes',
        ]),
        supporting_data: { data_type: 'policy', data_values: ['Block uploads'] },
        severity_level: rng.int(1, 3),
        category: 'Admin Audit Logs',
      };
    } else {
      r = {
        ...base,
        app: rng.pick(['Box', 'Google Drive', 'Slack', 'ChatGPT', 'GitHub']),
        activity: rng.pick(['Upload', 'Download', 'Login Attempt', 'Share', 'Post']),
        url: `https://${rng.base62(8).toLowerCase()}.example/${rng.base62(6)}`,
        hostname: `LAPTOP-${rng.base62(5).toUpperCase()}`,
        os: rng.pick(['Windows 11', 'macOS 14.5']),
        traffic_type: 'CloudApp',
      };
    }
    if (this.o.eventBytes) {
      const left = this.o.eventBytes - JSON.stringify(r).length;
      if (left > 0) r.other_categories = ['x'.repeat(left)];
    }
    return r;
  }
}
