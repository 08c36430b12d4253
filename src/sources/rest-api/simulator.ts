/**
 * A generic JSON REST API simulator for the `rest-api` collector: one list of events behind the usual
 * shapes such APIs take, each chosen per instance, so tests and the conformance suite can drive the
 * collector through every pagination strategy, order, time format and authentication it supports.
 * No vendor documentation: there is no vendor to follow; the behaviour is that of common, well-behaved APIs,
 * by the standards they cite (RFCs, by section); what no standard fixes is marked assumed (decided by the
 * simulator).
 *
 * - assumed (the usual shape of event-list APIs): `GET /v1/events?since=&until=&limit=…` — `since`
 *   inclusive, `until` exclusive, both in the
 *   instance's time format (ISO-8601 with a zone, epoch seconds or epoch ms); results oldest first
 *   (`order: 'asc'`) or newest first (`'desc'`), ties by creation order; `limit` up to `maxLimit`
 *   (default 1000; more is a 400). `POST /v1/events/search` takes the same fields as a JSON body
 *   (a read-only query, the way search APIs take one).
 * - Pagination (`pagination`; assumed conventions except the Link header): `cursor` — `meta.next_cursor`,
 *   sent back as `cursor` (opaque, encodes the
 *   position after the page's last record, so events indexed meanwhile are not skipped); `link-header` —
 *   `Link: <…&cursor=…>; rel="next"` (RFC 8288 §3, the `next` relation of the IANA link relations
 *   registry); `next-url` — `meta.next_url`, a relative URL (resolved per RFC 3986 §5); `offset` —
 *   `offset` + `limit`; `page` — `page` (from 1) + `limit`; `none` — everything in the range at once. The
 *   last page has no next cursor / link / URL; with `offset` and `page` a short page is the last.
 * - Records (`recordsPath`): under `data` in `{"data":[…],"meta":{…}}`, or a top-level array (`.`).
 *   Each has `id` (unless `ids: false`), its time (`created_at` ISO-8601 with ms, or `timestamp` epoch
 *   seconds/ms), `type`, `actor`, `client` and `outcome`; `eventBytes` pads them to about that size.
 * - Auth (`auth`): none; `bearer` (RFC 6750 §2.1); an API key in a header (assumed: a header the instance
 *   names); Basic (RFC 7617 §2); or OAuth 2.0 client credentials at `POST /oauth/token` (RFC 6749 §4.4,
 *   the client authenticated by Basic or in the form, §2.3.1; the token answer of §5.1, errors of §5.2;
 *   tokens lasting `tokenTtlSeconds`). Wrong or missing credentials: 401 (RFC 9110 §15.5.2) with the body
 *   `{"error":{"code":"unauthorized",…}}` (assumed).
 * - Limits: `rateLimitPerMinute` requests a minute, then 429 (RFC 6585 §4) with `Retry-After` in seconds
 *   (RFC 9110 §10.2.3) and `X-RateLimit-Limit/-Remaining/-Reset` (assumed: the de facto convention that
 *   draft-ietf-httpapi-ratelimit-headers standardises as `RateLimit-*`).
 * - Faults from the kit; `empty` answers a valid empty page that points at the same position again;
 *   `loopNextLinks(n)` makes the next `n` answers point at the position they were asked for.
 * - Events are visible once indexed: `addEvents(…, { visibleDelayMs })` indexes them late.
 */
import { hashId } from '../../core/envelope.ts';
import {
  appName,
  type Clock,
  ipv4,
  json,
  person,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  seedOf,
  stableUuid,
  streamOf,
} from '../../sim/kit.ts';

export type SimPagination = 'cursor' | 'link-header' | 'next-url' | 'offset' | 'page' | 'none';
export type SimTimeFormat = 'iso' | 'epoch_s' | 'epoch_ms';
export type SimAuth =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'api-key'; header: string; key: string; prefix?: string }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'oauth2'; clientId: string; clientSecret: string; tokenTtlSeconds?: number };

export interface RestApiSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Events created up front (default 100), `spacingMs` apart, the last one 5 minutes before now. */
  events?: number;
  /** Time of the first event (epoch ms). */
  start?: number;
  spacingMs?: number;
  pagination?: SimPagination;
  order?: 'asc' | 'desc';
  timeFormat?: SimTimeFormat;
  recordsPath?: 'data' | '.';
  /** false: records carry no id (the collector hashes them). */
  ids?: boolean;
  auth?: SimAuth;
  maxLimit?: number;
  /** Records of about this many bytes of JSON. */
  eventBytes?: number;
  rateLimitPerMinute?: number;
  host?: string;
  port?: number;
}

interface Position {
  t: number;
  s: number;
}

interface Query {
  since: number;
  until: number;
  limit: number;
  cursor?: string;
  offset?: number;
  page?: number;
}

/** Filler text for `eventBytes`, sliced at a seeded offset (cheaper than generating it per record). */
const PAD = new Rng('rest-api-pad').chars('abcdefghijklmnopqrstuvwxyz ', 1 << 17);

const TYPES = [
  'user.login',
  'user.logout',
  'user.mfa',
  'file.download',
  'admin.role.grant',
  'api.key.create',
];

export class RestApiSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly pagination: SimPagination;
  readonly order: 'asc' | 'desc';
  readonly timeFormat: SimTimeFormat;
  readonly recordsPath: 'data' | '.';
  readonly ids: boolean;
  auth: SimAuth;
  private readonly maxLimit: number;
  private readonly eventBytes?: number;
  private readonly rateLimitPerMinute: number;
  private readonly spacingMs: number;
  /** Per event (index = sequence): its time and when it becomes visible. */
  private readonly times: number[] = [];
  private readonly visible: number[] = [];
  private readonly tokens = new Map<string, number>();
  private loopPages = 0;
  private rl = { window: -1, count: 0 };
  /** Every request with its JSON body, for assertions on what the collector sent. */
  readonly seen: Array<{
    method: string;
    path: string;
    query: URLSearchParams;
    body?: unknown;
    headers: SimRequest['headers'];
  }> = [];

  constructor(o: RestApiSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.pagination = o.pagination ?? 'cursor';
    this.order = o.order ?? 'asc';
    this.timeFormat = o.timeFormat ?? 'iso';
    this.recordsPath = o.recordsPath ?? (this.pagination === 'link-header' ? '.' : 'data');
    this.ids = o.ids ?? true;
    this.auth = o.auth ?? { kind: 'none' };
    this.maxLimit = o.maxLimit ?? 1000;
    this.eventBytes = o.eventBytes;
    this.rateLimitPerMinute = o.rateLimitPerMinute ?? 100_000;
    this.spacingMs = o.spacingMs ?? 1000;
    if (this.recordsPath === '.' && (this.pagination === 'cursor' || this.pagination === 'next-url'))
      throw new Error('cursor and next-url pagination need the data/meta envelope (recordsPath data)');
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      host: o.host,
      port: o.port,
      hooks: {
        errorReply: (_req, status) => this.error(status, statusCode(status), `simulated ${status}`),
        rateLimitReply: (_req, retryAfter) => {
          const reply = this.error(429, 'rate_limited', 'Too many requests.');
          reply.headers = { ...reply.headers, ...this.rateHeaders(0, retryAfter) };
          return reply;
        },
      },
    });
    this.server.route('GET', '/v1/events', (req) => this.list(req, false));
    this.server.route('POST', '/v1/events/search', (req) => this.list(req, true));
    this.server.route('POST', '/oauth/token', (req) => this.token(req));
    const n = o.events ?? 100;
    const start = o.start ?? this.clock() - 5 * 60_000 - Math.max(0, n - 1) * this.spacingMs;
    for (let i = 0; i < n; i++) this.append(start + i * this.spacingMs, start + i * this.spacingMs);
  }

  requestCount(): number {
    return this.server.requests.all().length;
  }

  /** OAuth 2.0: every access token issued so far is refused from now on, as an expired one is (RFC 6750 §3.1). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** OAuth 2.0: how many token requests were made. */
  tokenRequests(): number {
    return this.server.requests.matching('/oauth/token', 'POST').length;
  }

  /** Requests that could change data: everything but GET/HEAD and the two read-only POSTs (search, token). */
  writeCalls() {
    return this.server
      .writeCalls()
      .filter((r) => !(r.method === 'POST' && (r.path === '/v1/events/search' || r.path === '/oauth/token')));
  }

  /** The next `pages` answers point at the position they were asked for (a looping API). */
  loopNextLinks(pages: number): void {
    this.loopPages = pages;
  }

  /** Adds `n` events from `from` (default: ending now), visible at max(now, time + visibleDelayMs). */
  addEvents(n: number, o: { from?: number; spacingMs?: number; visibleDelayMs?: number } = {}): void {
    const now = this.clock();
    const spacing = o.spacingMs ?? this.spacingMs;
    const from = o.from ?? now - n * spacing;
    for (let i = 0; i < n; i++) {
      const t = from + i * spacing;
      this.append(t, Math.max(now, t + (o.visibleDelayMs ?? 0)));
    }
  }

  /** The ids a full drain must deliver: the record ids, or the hashes of records without one. */
  expectedIds(): string[] {
    return this.times.map((_, s) => (this.ids ? this.idOf(s) : hashId(JSON.parse(this.recordJson(s)))));
  }

  /** The record the API sends for event `seq`. */
  record(seq: number): Record<string, unknown> {
    return JSON.parse(this.recordJson(seq));
  }

  // -------------------------------------------------------------------------------------------

  private append(t: number, visibleAt: number): void {
    this.times.push(t);
    this.visible.push(visibleAt);
  }

  private idOf(seq: number): string {
    return stableUuid(seq & 0xffff, seq >>> 0, this.seed);
  }

  private recordJson(seq: number): string {
    const rng = new Rng(seedOf(this.seed, 'event', seq));
    const who = person(rng);
    const t = this.times[seq];
    const time =
      this.timeFormat === 'iso'
        ? { created_at: new Date(t).toISOString() }
        : { timestamp: this.timeFormat === 'epoch_ms' ? t : Math.floor(t / 1000) };
    const rec: Record<string, unknown> = {
      ...(this.ids ? { id: this.idOf(seq) } : {}),
      ...time,
      type: rng.pick(TYPES),
      actor: { login: who.login, email: who.email, name: who.displayName },
      client: { ip: ipv4(rng), app: appName(rng) },
      outcome: rng.weighted([
        ['success', 9],
        ['failure', 1],
      ] as const),
      seq,
    };
    let text = JSON.stringify(rec);
    if (this.eventBytes && text.length < this.eventBytes) {
      const n = Math.min(PAD.length, this.eventBytes - text.length - 12);
      const at = rng.int(0, PAD.length - n);
      rec.detail = PAD.slice(at, at + n);
      text = JSON.stringify(rec);
    }
    return text;
  }

  private error(status: number, code: string, message: string): SimReply {
    return json(status, { error: { code, message } });
  }

  private rateHeaders(remaining: number, retryAfter?: number): Record<string, string> {
    const w = Math.floor(this.clock() / 60_000);
    return {
      'x-ratelimit-limit': String(this.rateLimitPerMinute),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(
        retryAfter !== undefined ? Math.ceil(this.clock() / 1000) + retryAfter : (w + 1) * 60,
      ),
    };
  }

  private authorized(req: SimRequest): boolean {
    const a = this.auth;
    const h = req.headers;
    switch (a.kind) {
      case 'none':
        return true;
      case 'bearer':
        return h.authorization === `Bearer ${a.token}`;
      case 'api-key':
        return h[a.header.toLowerCase()] === `${a.prefix ?? ''}${a.key}`;
      case 'basic':
        return h.authorization === `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
      case 'oauth2': {
        const m = /^Bearer (.+)$/.exec(String(h.authorization ?? ''));
        const exp = m ? this.tokens.get(m[1]) : undefined;
        return exp !== undefined && exp > Date.now();
      }
    }
  }

  private token(req: SimRequest): SimReply {
    const a = this.auth;
    if (a.kind !== 'oauth2') return this.error(404, 'not_found', 'No token endpoint.');
    const form = new URLSearchParams(req.body.toString('utf8'));
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''));
    if (basic) {
      const [u, p] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      id = decodeURIComponent(u.replace(/\+/g, ' '));
      secret = decodeURIComponent((p ?? '').replace(/\+/g, ' '));
    }
    if (form.get('grant_type') !== 'client_credentials')
      return json(400, { error: 'unsupported_grant_type', error_description: 'Only client_credentials.' });
    if (id !== a.clientId || secret !== a.clientSecret)
      return json(401, { error: 'invalid_client', error_description: 'Client authentication failed.' });
    const token = new Rng(seedOf(this.seed, 'token', this.tokens.size, Date.now())).base62(32);
    const ttl = a.tokenTtlSeconds ?? 3600;
    this.tokens.set(token, Date.now() + ttl * 1000);
    return json(200, { access_token: token, token_type: 'Bearer', expires_in: ttl });
  }

  private parseTime(v: unknown): number | undefined {
    if (v === null || v === undefined || v === '') return undefined;
    const s = String(v);
    if (this.timeFormat === 'iso') {
      if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i.test(s)) return Number.NaN;
      return Date.parse(s);
    }
    if (!/^\d+(\.\d+)?$/.test(s)) return Number.NaN;
    return this.timeFormat === 'epoch_ms' ? Number(s) : Number(s) * 1000;
  }

  private readQuery(req: SimRequest, post: boolean): Query | SimReply {
    let src: Record<string, unknown>;
    if (post) {
      try {
        src = JSON.parse(req.body.toString('utf8') || '{}');
      } catch {
        return this.error(400, 'invalid_json', 'The request body is not JSON.');
      }
    } else src = Object.fromEntries(req.query);
    const now = this.clock();
    const since = this.parseTime(src.since);
    const until = this.parseTime(src.until);
    for (const [name, v] of [
      ['since', since],
      ['until', until],
    ] as const) {
      if (Number.isNaN(v))
        return this.error(400, 'invalid_parameter', `${name}: expected ${formatName(this.timeFormat)}.`);
    }
    const limit = src.limit === undefined || src.limit === null ? 100 : Number(src.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > this.maxLimit)
      return this.error(400, 'invalid_parameter', `limit: expected 1 to ${this.maxLimit}.`);
    const num = (k: string) =>
      src[k] === undefined || src[k] === null || src[k] === '' ? undefined : Number(src[k]);
    const q: Query = {
      since: since ?? now - 7 * 86_400_000,
      until: until ?? now,
      limit,
      cursor: typeof src.cursor === 'string' && src.cursor ? src.cursor : undefined,
      offset: num('offset'),
      page: num('page'),
    };
    if ((q.offset !== undefined && !(q.offset >= 0)) || (q.page !== undefined && !(q.page >= 1)))
      return this.error(400, 'invalid_parameter', 'offset must be ≥ 0 and page ≥ 1.');
    return q;
  }

  private list(req: SimRequest, post: boolean): SimReply {
    this.seen.push({
      method: req.method,
      path: req.path,
      query: req.query,
      body: post ? safeJson(req.body.toString('utf8')) : undefined,
      headers: req.headers,
    });
    if (!this.authorized(req)) return this.error(401, 'unauthorized', 'Missing or invalid credentials.');
    const w = Math.floor(this.clock() / 60_000);
    if (w !== this.rl.window) this.rl = { window: w, count: 0 };
    this.rl.count++;
    if (this.rl.count > this.rateLimitPerMinute) {
      const reply = this.error(429, 'rate_limited', 'Too many requests.');
      const retry = (w + 1) * 60 - Math.floor(this.clock() / 1000);
      reply.headers = { ...reply.headers, 'retry-after': String(retry), ...this.rateHeaders(0) };
      return reply;
    }
    const q = this.readQuery(req, post);
    if ('status' in q) return q;

    const now = this.clock();
    const cmp = (a: Position, b: Position) => (this.order === 'asc' ? 1 : -1) * (a.t - b.t || a.s - b.s);
    const matches: number[] = [];
    for (let s = 0; s < this.times.length; s++)
      if (this.visible[s] <= now && this.times[s] >= q.since && this.times[s] < q.until) matches.push(s);
    matches.sort((a, b) => cmp({ t: this.times[a], s: a }, { t: this.times[b], s: b }));

    let page: number[];
    let nextCursor: string | undefined;
    let more = false;
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    if (q.cursor && !after) return this.error(400, 'invalid_cursor', 'cursor: not a cursor of this API.');
    if (req.empty) {
      page = [];
      more = this.pagination !== 'offset' && this.pagination !== 'page' && this.pagination !== 'none';
      nextCursor = q.cursor ?? encodeCursor({ t: this.order === 'asc' ? -Infinity : Infinity, s: -1 });
    } else if (this.pagination === 'offset' || this.pagination === 'page') {
      const from = this.pagination === 'offset' ? (q.offset ?? 0) : ((q.page ?? 1) - 1) * q.limit;
      page = matches.slice(from, from + q.limit);
    } else if (this.pagination === 'none') {
      page = matches;
    } else {
      const from = after ? matches.findIndex((s) => cmp({ t: this.times[s], s }, after) > 0) : 0;
      const start = from === -1 ? matches.length : from;
      page = matches.slice(start, start + q.limit);
      more = start + q.limit < matches.length;
      const last = page[page.length - 1];
      if (more && last !== undefined) nextCursor = encodeCursor({ t: this.times[last], s: last });
    }
    if (
      this.loopPages > 0 &&
      (q.cursor || req.empty) &&
      this.pagination !== 'offset' &&
      this.pagination !== 'page'
    ) {
      this.loopPages--;
      more = true;
      nextCursor = q.cursor ?? nextCursor;
    }

    const params = post ? new URLSearchParams() : new URLSearchParams(req.query);
    const nextUrl = (cursor: string) => {
      params.set('cursor', cursor);
      return `${req.path}?${params.toString()}`;
    };
    const headers: Record<string, string> = this.rateHeaders(
      Math.max(0, this.rateLimitPerMinute - this.rl.count),
    );
    if (this.pagination === 'link-header' && more && nextCursor)
      headers.link = `<${req.origin}${nextUrl(nextCursor)}>; rel="next"`;
    const meta: Record<string, unknown> = { count: page.length };
    if (this.pagination === 'cursor') meta.next_cursor = more && nextCursor ? nextCursor : null;
    if (this.pagination === 'next-url') meta.next_url = more && nextCursor ? nextUrl(nextCursor) : null;
    if (this.pagination === 'offset' || this.pagination === 'page') meta.total = matches.length;
    const open = this.recordsPath === '.' ? '[' : '{"data":[';
    const close = this.recordsPath === '.' ? ']' : `],"meta":${JSON.stringify(meta)}}`;
    // Written record by record as the client reads, so huge pages keep the simulator's memory bounded too.
    const render = this.recordJson.bind(this);
    return {
      status: 200,
      headers: { 'content-type': 'application/json', ...headers },
      body: streamOf(function* () {
        yield open;
        for (let i = 0; i < page.length; i++) yield i ? `,${render(page[i])}` : render(page[i]);
        yield close;
      }),
    };
  }
}

function encodeCursor(p: Position): string {
  return Buffer.from(`${p.t}:${p.s}`).toString('base64url');
}

function decodeCursor(c: string): Position | undefined {
  const m = /^(-?(?:\d+|Infinity)):(-?\d+)$/.exec(Buffer.from(c, 'base64url').toString('utf8'));
  return m ? { t: Number(m[1]), s: Number(m[2]) } : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function formatName(f: SimTimeFormat): string {
  return f === 'iso'
    ? 'an ISO-8601 time with a zone'
    : f === 'epoch_s'
      ? 'epoch seconds'
      : 'epoch milliseconds';
}

function statusCode(status: number): string {
  return status === 401
    ? 'unauthorized'
    : status === 403
      ? 'forbidden'
      : status === 404
        ? 'not_found'
        : status === 405
          ? 'method_not_allowed'
          : status >= 500
            ? 'server_error'
            : 'error';
}
