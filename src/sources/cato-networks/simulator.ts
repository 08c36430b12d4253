/**
 * Cato Networks GraphQL API simulator (`POST /api/v1/graphql2`): `eventsFeed` and `auditFeed`, following
 * api.catonetworks.com/documentation as Cato's own clients (cato-cli, cato-go-sdk) call them and Cato's
 * support articles "Cato API - EventsFeed" and "Cato API - AuditFeed" describe them:
 *
 * - `x-api-key` header; a JSON body `{query, variables}`; answers `{"data": {...}}` or `{"errors": [...]}`.
 * - eventsFeed: a queue per account; `marker` "" starts at the oldest event kept; each answer returns the
 *   marker after its batch and `fetchedCount`; 0 when caught up (the marker then unchanged); records
 *   `{time, fieldsMap}` with `fieldsMap` of strings (`event_type`, `event_sub_type`, `src_ip`, `dest_ip`,
 *   `rule`, `action`, `account_id`, …); `filters` on `event_type` (`in`).
 * - auditFeed: records in a `timeFrame` (`utc.YYYY-MM-{DD/HH:MM:SS--DD/HH:MM:SS}` and its wider forms, both
 *   ends inclusive), paged by `marker` while `hasMore`.
 * - Over the rate limit: HTTP 200 with `{"errors":[{"message":"rate limit for operation: eventsFeed"}]}`.
 * - A `mutation` changes the account: it is recorded as a write call.
 *
 * Assumed: batches of up to `batchSize` events (default 3000); events kept 3 days; auditFeed pages of
 * `auditPageSize` (default 1000); 401 with a GraphQL error body for a wrong key; event `time` as ISO 8601,
 * audit `time` as epoch milliseconds (a string), as Cato's scripts convert it.
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

export interface CatoSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  events?: number;
  audits?: number;
  spacingMs?: number;
  eventBytes?: number;
  apiKey?: string;
  accountId?: string;
  batchSize?: number;
  auditPageSize?: number;
  /** false: the events feed is not enabled for the account (errorString). */
  feedEnabled?: boolean;
  /** Answer this many next requests with the GraphQL rate-limit error. */
  rateLimitedAnswers?: number;
}

interface Item {
  t: number;
  vis: number;
  seq: number;
}

const gqlError = (status: number, message: string) => json(status, { errors: [{ message }] });

export class CatoSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly apiKey: string;
  readonly accountId: string;
  private readonly o: CatoSimulatorOptions & { spacingMs: number; batchSize: number; auditPageSize: number };
  private readonly events: Item[] = [];
  private readonly audits: Item[] = [];
  private readonly mutations: RecordedRequest[] = [];
  private limited: number;
  private loopAnswers = 0;

  constructor(o: CatoSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.apiKey = o.apiKey ?? new Rng(this.seed).base62(40);
    this.accountId = o.accountId ?? String(4_100 + (this.seed % 1000));
    this.o = { spacingMs: 30_000, batchSize: 3000, auditPageSize: 1000, ...o };
    this.limited = o.rateLimitedAnswers ?? 0;
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => gqlError(status, status === 401 ? 'Unauthorized' : `HTTP ${status}`),
        rateLimitReply: () => gqlError(429, 'rate limit for operation: eventsFeed'),
      },
    });
    this.server.route('POST', '/api/v1/graphql2', (r) => this.graphql(r));
    const first = this.clock() - 5 * 60_000 - Math.max(0, (o.events ?? 100) - 1) * this.o.spacingMs;
    for (let i = 0; i < (o.events ?? 100); i++)
      this.add(this.events, first + i * this.o.spacingMs, first + i * this.o.spacingMs);
    const firstAudit = this.clock() - 5 * 60_000 - Math.max(0, (o.audits ?? 20) - 1) * this.o.spacingMs;
    for (let i = 0; i < (o.audits ?? 20); i++)
      this.add(this.audits, firstAudit + i * this.o.spacingMs, firstAudit + i * this.o.spacingMs);
  }

  /** Mutations (the only calls that change a Cato account), and any method other than POST or GET. */
  writeCalls(): RecordedRequest[] {
    return [
      ...this.mutations,
      ...this.server.requests.all().filter((r) => r.method !== 'POST' && r.method !== 'GET'),
    ];
  }

  loopNextMarkers(answers = 1): void {
    this.loopAnswers = answers;
  }

  rateLimitNext(answers = 1): void {
    this.limited = answers;
  }

  addEvents(n: number, o: SpacedEvents = {}): void {
    for (const [t, vis] of spacedEvents(n, this.clock(), this.o.spacingMs, o)) this.add(this.events, t, vis);
  }

  addAudits(n: number, o: SpacedEvents = {}): void {
    for (const [t, vis] of spacedEvents(n, this.clock(), this.o.spacingMs, o)) this.add(this.audits, t, vis);
  }

  /** Every record as Cato sends it. */
  records(kind: 'events' | 'audit'): Array<Record<string, unknown>> {
    return (kind === 'events' ? this.events : this.audits).map((i) => this.record(kind, i));
  }

  // -------------------------------------------------------------------------------------------

  private add(list: Item[], t: number, vis: number): void {
    list.push({ t: Math.floor(t / 1000) * 1000, vis, seq: list.length });
  }

  private graphql(req: SimRequest): SimReply {
    if (req.headers['x-api-key'] !== this.apiKey) return gqlError(401, 'Unauthorized');
    let parsed: { query?: string; variables?: Record<string, any> };
    try {
      parsed = JSON.parse(req.body.toString('utf8'));
    } catch {
      return gqlError(400, 'Request body is not valid JSON');
    }
    const query = String(parsed.query ?? '');
    if (/^\s*mutation\b/.test(query)) {
      this.mutations.push({
        server: 'api',
        method: 'MUTATION',
        path: req.path,
        query: req.query,
        headers: req.headers,
        at: req.at,
      });
      return json(200, { data: {} });
    }
    const v = parsed.variables ?? {};
    const op = /\bauditFeed\s*\(/.test(query)
      ? 'auditFeed'
      : /\beventsFeed\s*\(/.test(query)
        ? 'eventsFeed'
        : undefined;
    if (!op) return gqlError(400, 'Unknown operation');
    if (this.limited > 0) {
      this.limited--;
      return json(200, { errors: [{ message: `rate limit for operation: ${op}` }] });
    }
    const ids: unknown[] = Array.isArray(v.accountIDs) ? v.accountIDs : [];
    if (ids.length !== 1 || String(ids[0]) !== this.accountId)
      return json(200, {
        errors: [{ message: 'permission denied: the API key may not access this account' }],
      });
    return op === 'eventsFeed' ? this.eventsFeed(req, v, query) : this.auditFeed(req, v);
  }

  private eventsFeed(req: SimRequest, v: Record<string, any>, query: string): SimReply {
    if (this.o.feedEnabled === false)
      return json(200, {
        data: {
          eventsFeed: {
            marker: '',
            fetchedCount: 0,
            accounts: [
              {
                id: this.accountId,
                errorString: 'Events integration is disabled for this account',
                records: [],
              },
            ],
          },
        },
      });
    const now = this.clock();
    const kept = now - 3 * 86_400_000;
    const after = decode(v.marker);
    if (v.marker && after === undefined) return json(200, { errors: [{ message: 'invalid marker' }] });
    const types: string[] | undefined = v.filters?.find?.((f: any) => f?.fieldName === 'event_type')?.values;
    const queue = this.events
      .filter((e) => e.vis <= now && e.t >= kept)
      .sort((a, b) => a.vis - b.vis || a.seq - b.seq)
      .filter((e) => !after || e.vis > after.vis || (e.vis === after.vis && e.seq > after.seq));
    const matching = types
      ? queue.filter((e) => types.includes(String(this.fields('events', e).event_type)))
      : queue;
    let batch = req.empty ? [] : queue.slice(0, this.o.batchSize);
    let marker = batch.length ? encode(batch[batch.length - 1]) : (v.marker ?? '');
    if (this.loopAnswers > 0 && batch.length) {
      this.loopAnswers--;
      marker = v.marker ?? '';
    }
    batch = batch.filter((e) => matching.includes(e));
    const withRecords = /records\s*{/.test(query);
    return json(200, {
      data: {
        eventsFeed: {
          marker,
          fetchedCount: req.empty ? 0 : Math.min(queue.length, this.o.batchSize),
          accounts: [
            {
              id: this.accountId,
              errorString: null,
              ...(withRecords ? { records: batch.map((e) => this.record('events', e)) } : {}),
            },
          ],
        },
      },
    });
  }

  private auditFeed(req: SimRequest, v: Record<string, any>): SimReply {
    const range = parseTimeFrame(String(v.timeFrame ?? ''));
    if (!range) return json(200, { errors: [{ message: `invalid timeFrame: ${v.timeFrame}` }] });
    const now = this.clock();
    const all = this.audits.filter((a) => a.vis <= now && a.t >= range[0] && a.t <= range[1]);
    const from = v.marker
      ? Number(
          Buffer.from(String(v.marker), 'base64url')
            .toString()
            .replace(/^offset:/, ''),
        )
      : 0;
    if (!Number.isInteger(from) || from < 0) return json(200, { errors: [{ message: 'invalid marker' }] });
    const page = req.empty ? [] : all.slice(from, from + this.o.auditPageSize);
    const hasMore = req.empty || this.loopAnswers > 0 || from + page.length < all.length;
    let marker = Buffer.from(`offset:${from + page.length}`).toString('base64url');
    if (this.loopAnswers > 0) {
      this.loopAnswers--;
      marker = v.marker ?? Buffer.from('offset:0').toString('base64url');
    }
    return json(200, {
      data: {
        auditFeed: {
          marker,
          fetchedCount: page.length,
          hasMore,
          accounts: [
            { id: this.accountId, errorString: null, records: page.map((a) => this.record('audit', a)) },
          ],
        },
      },
    });
  }

  private fields(kind: 'events' | 'audit', i: Item): Record<string, string> {
    const rng = new Rng(seedOf(this.seed, kind, i.seq));
    if (kind === 'audit') {
      const admin = person(rng, 'acme.example');
      const c = rng.pick(AUDIT);
      return {
        admin: admin.email,
        admin_id: String(rng.int(1000, 9999)),
        change_type: c.change,
        model_name: c.model,
        model_type: c.type,
        account_id: this.accountId,
        module: c.module,
      };
    }
    const user = person(rng, 'acme.example');
    const ev = rng.pick(EVENTS);
    return {
      event_type: ev.type,
      event_sub_type: ev.sub,
      event_count: '1',
      action: ev.action,
      rule: ev.rule,
      src_ip: `10.${rng.int(0, 40)}.${rng.int(0, 255)}.${rng.int(2, 250)}`,
      dest_ip: ipv4(rng),
      dest_port: String(rng.pick([443, 80, 53, 22])),
      ip_protocol: 'TCP',
      src_site: rng.pick(['HQ', 'London', 'Remote Users']),
      user_name: user.displayName,
      user_email: user.email,
      os_type: rng.pick(['OS_WINDOWS', 'OS_MAC', 'OS_LINUX']),
      pop_name: rng.pick(['Frankfurt', 'New York', 'Singapore']),
      account_id: this.accountId,
    };
  }

  private record(kind: 'events' | 'audit', i: Item): Record<string, unknown> {
    const fieldsMap = this.fields(kind, i);
    if (this.o.eventBytes) {
      const left = this.o.eventBytes - JSON.stringify(fieldsMap).length - 40;
      if (left > 0) fieldsMap.url = `https://example.com/${'x'.repeat(left)}`;
    }
    return {
      time: kind === 'audit' ? String(i.t) : new Date(i.t).toISOString().replace('.000Z', 'Z'),
      fieldsMap,
    };
  }
}

function encode(e: Item): string {
  return Buffer.from(`vis:${e.vis}:${e.seq}`).toString('base64url');
}

function decode(marker: unknown): { vis: number; seq: number } | undefined {
  if (typeof marker !== 'string' || !marker) return undefined;
  const m = /^vis:(\d+):(\d+)$/.exec(Buffer.from(marker, 'base64url').toString());
  return m ? { vis: Number(m[1]), seq: Number(m[2]) } : undefined;
}

/** [from, to] in ms, both inclusive (to the end of its second), from Cato's `utc.` time frames. */
export function parseTimeFrame(tf: string): [number, number] | undefined {
  const forms = [
    /^utc\.(\d{4})-(\d{2})-\{(\d{2})\/(\d\d:\d\d:\d\d)--(\d{2})\/(\d\d:\d\d:\d\d)\}$/,
    /^utc\.(\d{4})-\{(\d{2})-(\d{2})\/(\d\d:\d\d:\d\d)--(\d{2})-(\d{2})\/(\d\d:\d\d:\d\d)\}$/,
    /^utc\.\{(\d{4})-(\d{2})-(\d{2})\/(\d\d:\d\d:\d\d)--(\d{4})-(\d{2})-(\d{2})\/(\d\d:\d\d:\d\d)\}$/,
  ];
  let a: string;
  let b: string;
  let m = forms[0].exec(tf);
  if (m) {
    a = `${m[1]}-${m[2]}-${m[3]}T${m[4]}Z`;
    b = `${m[1]}-${m[2]}-${m[5]}T${m[6]}Z`;
  } else if ((m = forms[1].exec(tf))) {
    a = `${m[1]}-${m[2]}-${m[3]}T${m[4]}Z`;
    b = `${m[1]}-${m[5]}-${m[6]}T${m[7]}Z`;
  } else if ((m = forms[2].exec(tf))) {
    a = `${m[1]}-${m[2]}-${m[3]}T${m[4]}Z`;
    b = `${m[5]}-${m[6]}-${m[7]}T${m[8]}Z`;
  } else return undefined;
  const from = Date.parse(a);
  const to = Date.parse(b);
  return Number.isFinite(from) && Number.isFinite(to) && from <= to ? [from, to + 999] : undefined;
}

const EVENTS = [
  { type: 'Security', sub: 'Internet Firewall', action: 'Block', rule: 'Block Tor' },
  { type: 'Security', sub: 'IPS', action: 'Block', rule: 'Suspicious DNS' },
  { type: 'Security', sub: 'Anti Malware', action: 'Block', rule: 'Malware download' },
  { type: 'Security', sub: 'CASB', action: 'Monitor', rule: 'Upload to personal Drive' },
  { type: 'Connectivity', sub: 'Connected', action: 'Allow', rule: '' },
  { type: 'Routing', sub: 'BGP', action: 'Allow', rule: '' },
] as const;

const AUDIT = [
  { change: 'MODIFIED', model: 'Internet Firewall rule', type: 'InternetFirewallRule', module: 'Policy' },
  { change: 'CREATED', model: 'VPN user', type: 'VpnUser', module: 'Access' },
  { change: 'DELETED', model: 'Site', type: 'Site', module: 'Network' },
  { change: 'MODIFIED', model: 'Admin', type: 'Admin', module: 'Administration' },
] as const;
