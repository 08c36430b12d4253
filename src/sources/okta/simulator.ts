/**
 * Okta System Log API simulator (`GET /api/v1/logs`), following Okta's documented behaviour:
 *
 * - https://developer.okta.com/docs/reference/api/system-log/ ("List events" → "Request parameters",
 *   "Polling requests", "Bounded requests", "Next link response header", "LogEvent object") — LogEvent shape; parameters `since`,
 *   `until`, `after` (opaque, only from `next` links), `filter`, `q`, `sortOrder` (ASCENDING default),
 *   `limit` (0–1000, default 100); `since` defaults to 7 days before `until`, `until` to now.
 *   Polling requests (no `until`, ASCENDING) filter on persistence time, may return events out of
 *   `published` order and ALWAYS carry a `next` link (possibly to an empty page); bounded requests
 *   (`since` + `until`) filter on `published`, are in order, and the last page has no `next` link.
 *   `self` link always present; `link: <url>; rel="self"` / `link: <url>; rel="next"`, next carrying
 *   `after=` beside the original parameters. Error bodies (E0000001 validation, E0000053 invalid
 *   filter/parameter incl. "since over 180 days", E0000047 rate limit); 90-day retention.
 *   (Markdown source: github.com/okta/okta-developer-docs, packages/@okta/vuepress-site/docs/reference/api/system-log/index.md)
 * - https://developer.okta.com/docs/reference/rl-best-practices/ — `X-Rate-Limit-Limit`,
 *   `X-Rate-Limit-Remaining`, `X-Rate-Limit-Reset` (UTC epoch seconds) on every response.
 * - https://developer.okta.com/reference/error_codes/ — error body fields `errorCode`, `errorSummary`,
 *   `errorLink`, `errorId`, `errorCauses`; E0000011 "Invalid token provided" (401), E0000006 "You do
 *   not have permission to perform the requested action" (403), E0000047 (429).
 * - API token auth: `Authorization: SSWS <token>` (curl examples on the System Log page). OAuth 2.0
 *   service apps (`Authorization: Bearer` or `DPoP` access tokens with scope `okta.logs.read`) and the
 *   token endpoint: ./service-app-simulator.ts, which cites its documentation.
 *
 * Assumed (not documented), decided here: `since` is inclusive and `until` exclusive; a bounded request gets a
 * `next` link only while more matching events exist; `limit` above the maximum is a 400 (E0000001);
 * a missing token answers like a wrong one (401 E0000011); Okta's natural 429 carries no Retry-After
 * (clients use X-Rate-Limit-Reset) — an injected `rate-limit` fault adds one.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  appName,
  browser,
  type Clock,
  geo,
  ipv4,
  json,
  mix32,
  network,
  type Person,
  person,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  seedOf,
  stableUuid,
} from '../../sim/kit.ts';
import { OktaServiceApp, type OktaServiceAppOptions } from './service-app-simulator.ts';

export interface OktaSimulatorOptions {
  /** SSWS API token; random by default. */
  token?: string;
  /** Events generated up front (default 100). */
  events?: number;
  /** `published` of the first event (default: so that the last one is 5 minutes before now). */
  start?: string | number;
  /** Gap between consecutive `published` times (default 1000 ms; 0 = all in the same millisecond). */
  spacingMs?: number;
  /**
   * Records of about this many bytes of JSON: optional detail is dropped (down to ≈700 bytes) or
   * realistic debug fields are added. Default: natural size, 1.5–2.5 KB.
   */
  eventBytes?: number;
  /**
   * Render the JSON of the events created up front once, at start, into one buffer outside the
   * JavaScript heap (memory: events × their size), so that a page of consecutive events is served
   * as a slice of it. For benchmarks, where the simulator shares the CPU with the engine under test;
   * the bytes served are exactly the same.
   */
  prerender?: boolean;
  seed?: number | string;
  clock?: Clock;
  /** Requests per minute on /api/v1/logs (default 1200). */
  rateLimitPerMinute?: number;
  /** false: the token lacks the permission to read the System Log (403 E0000006). */
  permission?: boolean;
  /** Largest accepted `limit` (default 1000). */
  maxLimit?: number;
  /** Events older than this are not returned (default 90 days). */
  retentionDays?: number;
  /** Org's email domain for users (default `example.com`). */
  domain?: string;
  /**
   * An OAuth 2.0 service app registered in the org (`sim.serviceApp`): its client ID and key pair, the
   * token endpoint `POST /oauth2/v1/token`, and Bearer/DPoP access tokens on the API.
   */
  serviceApp?: OktaServiceAppOptions | true;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  host?: string;
  port?: number;
}

export interface OktaAddEventsOptions {
  /** `published` of the first new event (default: so that the last one is `spacingMs` before now). */
  from?: number | string;
  spacingMs?: number;
  /** Late indexing: each event becomes visible only at `published + visibleDelayMs`. */
  visibleDelayMs?: number;
}

/** An Okta LogEvent (the fields every record has; the rest as Okta sends it). */
export interface OktaLogEvent {
  uuid: string;
  published: string;
  eventType: string;
  version: string;
  severity: string;
  displayMessage: string | null;
  actor: { id: string; type: string; alternateId?: string; displayName?: string };
  [k: string]: unknown;
}

interface PoolEntry {
  /** `"transaction":{"type":"WEB","id":"` */
  txHead: string;
  /** `","detail":{…}},` followed by every other field and the closing brace. */
  tail: string;
}

interface Cursor {
  mode: 'a' | 'd' | 'p';
  t: number;
  s: number;
}

const DAY = 86_400_000;
const SPLICE_OVERHEAD = 160; // uuid, published and transaction id spliced into each pool entry

export class OktaSimulator extends SimHost {
  readonly server: SimServer;
  /** The OAuth service app, when the simulator was given one. */
  readonly serviceApp?: OktaServiceApp;
  private token_: string;
  readonly clock: Clock;
  readonly seed: number;
  private readonly opts: Required<
    Pick<OktaSimulatorOptions, 'rateLimitPerMinute' | 'maxLimit' | 'retentionDays'>
  > & {
    permission: boolean;
    spacingMs: number;
    eventBytes?: number;
  };
  private readonly org: Org;
  /** Per event (index = sequence number): published and persistence (visibility) times. */
  private readonly pub: number[] = [];
  private readonly pers: number[] = [];
  /** Sequence numbers sorted by (published, seq) and by (persistence, seq). */
  private byPub: number[] = [];
  private byPers: number[] = [];
  private pubSorted = true;
  private persSorted = true;
  private readonly pool: (PoolEntry | undefined)[];
  /** `prerender`: events 0…n-1 as UTF-8 JSON separated by commas; event i at [at[i], at[i+1] - 1). */
  private rendered: { bytes: Buffer; at: Float64Array } | undefined;
  private readonly poolSalt: number;
  private rl = { window: -1, count: 0 };
  private live: { rate: number; start: number; emitted: number } | undefined;
  private loopPages = 0;

  constructor(opts: OktaSimulatorOptions = {}) {
    super();
    this.clock = opts.clock ?? Date.now;
    this.seed = typeof opts.seed === 'string' ? seedOf(opts.seed) : (opts.seed ?? 1);
    this.token_ = opts.token ?? `00${randomBase62(40)}`;
    this.opts = {
      rateLimitPerMinute: opts.rateLimitPerMinute ?? 1200,
      maxLimit: opts.maxLimit ?? 1000,
      retentionDays: opts.retentionDays ?? 90,
      permission: opts.permission ?? true,
      spacingMs: opts.spacingMs ?? 1000,
      eventBytes: opts.eventBytes,
    };
    this.org = buildOrg(this.seed, opts.domain ?? 'example.com');
    const poolSize = opts.eventBytes
      ? Math.max(16, Math.min(1024, Math.floor((64 << 20) / opts.eventBytes)))
      : 1024;
    this.pool = new Array(poolSize);
    this.poolSalt = mix32(this.seed ^ 0x5bd1e995);

    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      host: opts.host,
      port: opts.port,
      tls: opts.tls,
      hooks: {
        errorReply: (_req, status) => this.statusError(status),
        rateLimitReply: (_req, retryAfter) => {
          const reply = this.error(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
          reply.headers = {
            ...reply.headers,
            'x-rate-limit-limit': String(this.opts.rateLimitPerMinute),
            'x-rate-limit-remaining': '0',
            'x-rate-limit-reset': String(Math.ceil(this.clock() / 1000) + retryAfter),
          };
          return reply;
        },
        decorate: (_req, reply) => this.decorate(reply),
      },
    });
    this.server.route('GET', '/api/v1/logs', (req) => this.listLogs(req));
    if (opts.serviceApp)
      this.serviceApp = new OktaServiceApp(opts.serviceApp === true ? {} : opts.serviceApp);
    this.server.route('POST', '/oauth2/v1/token', (req) =>
      this.serviceApp
        ? this.serviceApp.token(req, this.clock())
        : json(
            401,
            { error: 'invalid_client', error_description: "Invalid value for 'client_id' parameter." },
            { 'cache-control': 'no-store' },
          ),
    );

    const n = opts.events ?? 100;
    const spacing = this.opts.spacingMs;
    const start =
      opts.start === undefined
        ? this.clock() - 5 * 60_000 - Math.max(0, n - 1) * spacing
        : typeof opts.start === 'string'
          ? Date.parse(opts.start)
          : opts.start;
    for (let i = 0; i < n; i++) this.append(start + i * spacing, start + i * spacing);
    if (opts.prerender) this.rendered = this.render(n);
  }

  /** The SSWS API token the simulator accepts. */
  get token(): string {
    return this.token_;
  }

  /** Revokes the current token (it now gets 401 E0000011) and accepts a new one. */
  rotateToken(token = `00${randomBase62(40)}`): string {
    this.token_ = token;
    return token;
  }

  /**
   * A misbehaving vendor, for the pagination loop guard: the next `pages` answers carry a `next`
   * link identical to the request itself.
   */
  loopNextLinks(pages = 1): void {
    this.loopPages = pages; // 0 ends a loop in progress
  }

  override stop(): Promise<void> {
    this.live = undefined;
    return this.server.stop();
  }

  clearFaults(): void {
    this.server.clearFaults();
  }

  faultsPending(): number {
    return this.server.faultsPending();
  }

  /** Requests that could change org data; token requests only mint a token and are not counted. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => !(r.method === 'POST' && r.path === '/oauth2/v1/token'));
  }

  /** How many events exist (visible or not). */
  get eventCount(): number {
    this.catchUp();
    return this.pub.length;
  }

  /**
   * Adds `n` events. Events whose `published` lies in the past become visible (persisted) now, or
   * at `published + visibleDelayMs` if that is later — Okta's late indexing. Returns their uuids.
   */
  addEvents(n: number, o: OktaAddEventsOptions = {}): string[] {
    this.catchUp();
    const now = this.clock();
    const spacing = o.spacingMs ?? this.opts.spacingMs;
    const from =
      o.from === undefined ? now - n * spacing : typeof o.from === 'string' ? Date.parse(o.from) : o.from;
    const delay = o.visibleDelayMs ?? 0;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const p = from + i * spacing;
      ids.push(this.uuidOf(this.append(p, Math.max(p + delay, now))));
    }
    return ids;
  }

  /** Every generated event, visible or not, in `published` order (for exact-set assertions). */
  events(): OktaLogEvent[] {
    this.catchUp();
    this.sortPub();
    return this.byPub.map((s) => JSON.parse(this.eventJson(s)));
  }

  /** The events a request could see now (persisted by the simulator clock). */
  visibleEvents(): OktaLogEvent[] {
    this.catchUp();
    this.sortPub();
    const now = this.clock();
    return this.byPub.filter((s) => this.pers[s] <= now).map((s) => JSON.parse(this.eventJson(s)));
  }

  /** uuids of every generated event in `published` order (cheap; no parsing). */
  eventIds(): string[] {
    this.catchUp();
    this.sortPub();
    return this.byPub.map((s) => this.uuidOf(s));
  }

  /**
   * Keeps generating events as the clock advances, `ratePerSecond` on average, each visible as soon
   * as it is published (demo mode, soak tests). Generation is lazy: it catches up on every request.
   */
  startLive(ratePerSecond: number): void {
    this.catchUp();
    if (!(ratePerSecond > 0)) throw new Error('ratePerSecond must be > 0');
    this.live = { rate: ratePerSecond, start: this.clock(), emitted: 0 };
  }

  stopLive(): void {
    this.catchUp();
    this.live = undefined;
  }

  /** The exact JSON Okta would send for event `seq`. */
  eventJson(seq: number): string {
    const k = mix32((seq ^ this.poolSalt) >>> 0) % this.pool.length;
    const entry = (this.pool[k] ??= this.buildPoolEntry(k));
    const txId = this.txIdOf(seq);
    return `{"uuid":"${this.uuidOf(seq)}","published":"${new Date(this.pub[seq]).toISOString()}",${entry.txHead}${txId}${entry.tail}`;
  }

  // -------------------------------------------------------------------------------------------
  // Storage

  private append(published: number, persisted: number): number {
    const seq = this.pub.length;
    this.pub.push(published);
    this.pers.push(persisted);
    const lp = this.byPub.length ? this.byPub[this.byPub.length - 1] : -1;
    if (lp >= 0 && this.pub[lp] > published) this.pubSorted = false;
    this.byPub.push(seq);
    const lq = this.byPers.length ? this.byPers[this.byPers.length - 1] : -1;
    if (lq >= 0 && this.pers[lq] > persisted) this.persSorted = false;
    this.byPers.push(seq);
    return seq;
  }

  private sortPub(): void {
    if (this.pubSorted) return;
    const p = this.pub;
    this.byPub.sort((a, b) => p[a] - p[b] || a - b);
    this.pubSorted = true;
  }

  private sortPers(): void {
    if (this.persSorted) return;
    const p = this.pers;
    this.byPers.sort((a, b) => p[a] - p[b] || a - b);
    this.persSorted = true;
  }

  private catchUp(): void {
    const live = this.live;
    if (!live) return;
    const period = 1000 / live.rate;
    const now = this.clock();
    const due = Math.floor((now - live.start) / period);
    const rng = new Rng(seedOf(this.seed, 'live', live.start, live.emitted));
    for (let k = live.emitted; k < due; k++) {
      // Spread within each slot (jitter < 1 slot keeps them ordered and never in the future).
      const p = Math.floor(live.start + (k + 0.1 + rng.next() * 0.8) * period);
      this.append(p, p);
    }
    if (due > live.emitted) live.emitted = due;
  }

  private uuidOf(seq: number): string {
    // (seq mod 2^16, seq) is injective, so uuids are unique; using the low bits as `hi` varies group 2.
    return stableUuid(seq & 0xffff, seq >>> 0, this.seed);
  }

  private txIdOf(seq: number): string {
    // Okta transaction ids look like "V04Oy4ubUOc5UuG6s9DyNQAABtc" (27 url-safe characters).
    return new Rng(seedOf(this.seed, 'tx', seq)).base64url(21) + 'AAA' + TX_SUFFIX[seq % TX_SUFFIX.length];
  }

  private render(n: number): { bytes: Buffer; at: Float64Array } {
    const at = new Float64Array(n + 1);
    const chunks: Buffer[] = [];
    let size = 0;
    for (let from = 0; from < n; from += 1000) {
      const parts: string[] = [];
      for (let seq = from; seq < Math.min(n, from + 1000); seq++) {
        const json = `${this.eventJson(seq)},`;
        at[seq] = size;
        size += Buffer.byteLength(json);
        parts.push(json);
      }
      chunks.push(Buffer.from(parts.join('')));
    }
    at[n] = size;
    return { bytes: Buffer.concat(chunks, size), at };
  }

  /** The JSON array of events `page`, from the prerendered bytes when they are consecutive ones. */
  private pageBody(page: number[]): string | Buffer {
    const r = this.rendered;
    const first = page[0];
    const last = page[page.length - 1];
    if (r && page.length > 0 && last < r.at.length - 1 && last - first === page.length - 1) {
      let consecutive = true;
      for (let i = 1; i < page.length && consecutive; i++) consecutive = page[i] === first + i;
      if (consecutive) {
        return Buffer.concat([OPEN, r.bytes.subarray(r.at[first], r.at[last + 1] - 1), CLOSE]);
      }
    }
    const records = new Array<string>(page.length);
    for (let i = 0; i < page.length; i++) records[i] = this.eventJson(page[i]);
    return `[${records.join(',')}]`;
  }

  private buildPoolEntry(k: number): PoolEntry {
    const rng = new Rng(seedOf(this.seed, 'pool', k));
    const { event, txType, txDetail } = generateEvent(rng, this.org);
    if (this.opts.eventBytes) fitTo(event, rng, this.opts.eventBytes - SPLICE_OVERHEAD);
    const rest = JSON.stringify(event);
    return {
      txHead: `"transaction":{"type":"${txType}","id":"`,
      tail: `","detail":${JSON.stringify(txDetail)}},${rest.slice(1)}`,
    };
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  private rateWindow(): { limit: number; remaining: number; reset: number } {
    const now = this.clock();
    const w = Math.floor(now / 60_000);
    if (w !== this.rl.window) this.rl = { window: w, count: 0 };
    const limit = this.opts.rateLimitPerMinute;
    return { limit, remaining: Math.max(0, limit - this.rl.count), reset: (w + 1) * 60 };
  }

  private decorate(reply: SimReply): void {
    const h = (reply.headers ??= {});
    if (h['x-rate-limit-limit'] === undefined) {
      const r = this.rateWindow();
      h['x-rate-limit-limit'] = String(r.limit);
      h['x-rate-limit-remaining'] = String(r.remaining);
      h['x-rate-limit-reset'] = String(r.reset);
    }
    h['x-okta-request-id'] ??= randomBase62(27);
  }

  private error(status: number, code: string, summary: string, causes: string[] = []): SimReply {
    return json(status, {
      errorCode: code,
      errorSummary: summary,
      errorLink: code,
      errorId: `oae${randomBase62(22)}`,
      errorCauses: causes.map((c) => ({ errorSummary: c })),
    });
  }

  private statusError(status: number): SimReply {
    switch (status) {
      case 400:
        return this.error(400, 'E0000001', 'Api validation failed');
      case 401:
        return this.error(401, 'E0000011', 'Invalid token provided');
      case 403:
        return this.error(403, 'E0000006', 'You do not have permission to perform the requested action');
      case 404:
        return this.error(404, 'E0000007', 'Not found: Resource not found: (Path)');
      case 405:
        return this.error(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
      case 429:
        return this.error(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
      default:
        return status >= 500
          ? this.error(
              status,
              'E0000009',
              'Internal Server Error',
              // Okta's documented 5xx summary for the System Log:
              [
                "Sorry, there's been an error. We aren't sure what caused it, but we've logged this and will work to address it. Please try your request again.",
              ],
            )
          : this.error(status, 'E0000001', `Api validation failed (HTTP ${status})`);
    }
  }

  private listLogs(req: SimRequest): SimReply {
    this.catchUp();
    const now = this.clock();
    const r = this.rateWindow();
    this.rl.count++;
    if (this.rl.count > r.limit) {
      return this.error(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
    }
    const auth = String(req.headers.authorization ?? '');
    if (/^(Bearer|DPoP) /i.test(auth)) {
      const denied = this.serviceApp
        ? this.serviceApp.authorize(req, now, 'okta.logs.read')
        : {
            status: 401 as const,
            wwwAuthenticate: `Bearer realm="${req.origin}", error="invalid_token", error_description="The access token is invalid."`,
          };
      if (denied) {
        const reply =
          denied.status === 401
            ? this.error(401, 'E0000011', 'Invalid token provided')
            : this.error(403, 'E0000006', 'You do not have permission to perform the requested action');
        reply.headers = { ...reply.headers, 'www-authenticate': denied.wwwAuthenticate };
        return reply;
      }
    } else if (auth !== `SSWS ${this.token_}`) {
      return this.error(401, 'E0000011', 'Invalid token provided');
    }
    if (!this.opts.permission) {
      return this.error(403, 'E0000006', 'You do not have permission to perform the requested action');
    }

    // Parameters
    const q = req.query;
    const causes: string[] = [];
    const time = (name: string): number | undefined => {
      const v = q.get(name);
      if (v === null || v === '') return undefined;
      const ms = parseRfc3339(v);
      if (ms === undefined) {
        causes.push(
          `${name}: The date format in your query is not recognized. Please enter dates using ISO8601 string format.`,
          `${name}: must be a valid date-time or empty.`,
        );
      }
      return ms;
    };
    const since = time('since');
    const until = time('until');
    let limit = 100;
    const limitRaw = q.get('limit');
    if (limitRaw !== null && limitRaw !== '') {
      if (!/^\d+$/.test(limitRaw)) causes.push('limit: must be an integer.');
      else if (Number(limitRaw) > this.opts.maxLimit)
        causes.push(`limit: must be less than or equal to ${this.opts.maxLimit}.`);
      else limit = Number(limitRaw);
    }
    const sortOrder = q.get('sortOrder') || 'ASCENDING';
    if (sortOrder !== 'ASCENDING' && sortOrder !== 'DESCENDING')
      causes.push("sortOrder: must be one of 'ASCENDING', 'DESCENDING'.");
    const keywords = (q.get('q') ?? '').split(/\s+/).filter(Boolean);
    if (keywords.some((k) => k.length > 40))
      causes.push(
        'q: Freeform search cannot contain items longer than 40 characters. Please shorten the items in your search or use an advanced filter to query by specific fields.',
      );
    if (keywords.length > 10) causes.push('q: Freeform search cannot contain more than 10 items.');
    if (causes.length) {
      return this.error(
        400,
        'E0000001',
        `Api validation failed: ${causes.map((c) => `'${c.split(':')[0]}'${c.slice(c.indexOf(':'))}`).join('. ')}`,
        causes,
      );
    }
    if (since !== undefined && since < now - 180 * DAY) {
      return this.error(
        400,
        'E0000053',
        'Invalid parameter: The since parameter is over 180 days prior to the current day.',
      );
    }
    let filter: Predicate | undefined;
    const filterRaw = q.get('filter');
    if (filterRaw) {
      try {
        filter = parseFilter(filterRaw);
      } catch (err) {
        return this.error(400, 'E0000053', `Invalid filter '${filterRaw}': ${(err as Error).message}`);
      }
    }
    const polling = until === undefined && sortOrder === 'ASCENDING';
    const mode: Cursor['mode'] = polling ? 'p' : sortOrder === 'ASCENDING' ? 'a' : 'd';
    let cursor: Cursor | undefined;
    const afterRaw = q.get('after');
    if (afterRaw) {
      cursor = decodeCursor(afterRaw);
      if (!cursor || cursor.mode !== mode) {
        return this.error(
          400,
          'E0000001',
          "Api validation failed: 'after': is not a valid cursor for this query.",
          ['after: is not a valid cursor for this query.'],
        );
      }
    }

    const untilMs = until ?? now;
    const sinceMs = since ?? untilMs - 7 * DAY;
    const retentionStart = now - this.opts.retentionDays * DAY;
    const needObject = filter !== undefined || keywords.length > 0;
    const lowered = keywords.map((k) => k.toLowerCase());
    const matches = (seq: number): boolean => {
      if (this.pers[seq] > now || this.pub[seq] < retentionStart) return false;
      if (!needObject) return true;
      const s = this.eventJson(seq);
      if (lowered.length) {
        const low = s.toLowerCase();
        if (!lowered.every((k) => low.includes(k))) return false;
      }
      return !filter || filter(JSON.parse(s));
    };

    const page: number[] = [];
    let more = false;
    let last: Cursor | undefined;
    if (req.empty) {
      // Injected `empty`: a valid empty page that still points at the same position.
      more = true;
      last = cursor ?? (mode === 'd' ? { mode, t: untilMs, s: -1 } : { mode, t: sinceMs, s: -1 });
    } else if (mode === 'p') {
      this.sortPers();
      const start = cursor ?? { mode, t: sinceMs, s: -1 };
      const idx = this.byPers;
      for (let i = firstAfter(idx, this.pers, start.t, start.s); i < idx.length && page.length < limit; i++) {
        const seq = idx[i];
        if (this.pers[seq] > now) break;
        if (matches(seq)) page.push(seq);
      }
      const l = page[page.length - 1];
      last = l === undefined ? start : { mode, t: this.pers[l], s: l };
      more = true; // polling requests always have a next link
    } else if (mode === 'a') {
      this.sortPub();
      const start = cursor ?? { mode, t: sinceMs, s: -1 };
      const idx = this.byPub;
      for (let i = firstAfter(idx, this.pub, start.t, start.s); i < idx.length; i++) {
        const seq = idx[i];
        if (this.pub[seq] >= untilMs) break;
        if (!matches(seq)) continue;
        if (page.length >= limit) {
          more = true;
          break;
        }
        page.push(seq);
      }
      const l = page[page.length - 1];
      last = l === undefined ? start : { mode, t: this.pub[l], s: l };
    } else {
      this.sortPub();
      const start = cursor ?? { mode, t: untilMs, s: -1 };
      const idx = this.byPub;
      for (let i = firstAfter(idx, this.pub, start.t, start.s - 1) - 1; i >= 0; i--) {
        const seq = idx[i];
        if (this.pub[seq] < sinceMs) break;
        if (!matches(seq)) continue;
        if (page.length >= limit) {
          more = true;
          break;
        }
        page.push(seq);
      }
      const l = page[page.length - 1];
      last = l === undefined ? start : { mode, t: this.pub[l], s: l };
    }

    const self = `${req.origin}${req.path}${req.url.search}`;
    const links = [`<${self}>; rel="self"`];
    if (this.loopPages > 0) {
      this.loopPages--;
      links.push(`<${self}>; rel="next"`);
    } else if (more && last) {
      const next = new URLSearchParams(q);
      next.set('after', encodeCursor(last));
      links.push(`<${req.origin}${req.path}?${next.toString()}>; rel="next"`);
    }
    const headers = { 'content-type': 'application/json', link: links };
    // Huge pages are streamed so the simulator's memory stays bounded too.
    const approx = page.length * (this.opts.eventBytes ?? 1400);
    if (approx > 16 << 20) {
      const pageCopy = page;
      return {
        status: 200,
        headers,
        body: () => streamJsonArray(pageCopy, (s) => this.eventJson(s)),
      };
    }
    return { status: 200, headers, body: this.pageBody(page) };
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function randomBase62(n: number): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[bytes[i] % 62];
  return s;
}

const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

const TX_SUFFIX = ['Btc', 'CGM', 'ADc', 'AEA', 'D9I', 'EC4', 'AKQ', 'AAY', 'AII', 'ADA'];

/** RFC 3339 date-time with a zone (`2017-05-03T16:22:18Z`, fractions and offsets allowed). */
function parseRfc3339(s: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(s)) return undefined;
  const normalised = s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(normalised);
  return Number.isFinite(ms) ? ms : undefined;
}

/** First index in `idx` (sorted by (times[seq], seq)) whose key is strictly greater than (t, s). */
function firstAfter(idx: number[], times: number[], t: number, s: number): number {
  let lo = 0;
  let hi = idx.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const q = idx[mid];
    const tq = times[q];
    if (tq < t || (tq === t && q <= s)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.mode}:${c.t}:${c.s}`).toString('base64url');
}

function decodeCursor(s: string): Cursor | undefined {
  const m = /^([adp]):(-?\d+):(-?\d+)$/.exec(Buffer.from(s, 'base64url').toString());
  if (!m) return undefined;
  return { mode: m[1] as Cursor['mode'], t: Number(m[2]), s: Number(m[3]) };
}

function* jsonArrayChunks(page: number[], render: (seq: number) => string): Generator<string> {
  let buf = '[';
  for (let i = 0; i < page.length; i++) {
    buf += (i ? ',' : '') + render(page[i]);
    if (buf.length >= 64 * 1024) {
      yield buf;
      buf = '';
    }
  }
  yield `${buf}]`;
}

/** Readable.from over the chunk generator pulls only as fast as the client reads. */
function streamJsonArray(page: number[], render: (seq: number) => string): Readable {
  return Readable.from(jsonArrayChunks(page, render), { objectMode: false });
}

// ---------------------------------------------------------------------------------------------
// SCIM-style filter (the subset collectors use: eq ne co sw ew gt ge lt le pr, and/or)

type Predicate = (e: any) => boolean;

function parseFilter(src: string): Predicate {
  const tokens = src.match(/"(?:[^"\\]|\\.)*"|\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i]?.toLowerCase();
  const values = (e: any, path: string): unknown[] => {
    let cur: unknown[] = [e];
    for (const key of path.split('.')) {
      const nextVals: unknown[] = [];
      for (const c of cur) {
        const v = c && typeof c === 'object' ? (c as any)[key] : undefined;
        if (Array.isArray(v)) nextVals.push(...v);
        else if (v !== undefined && v !== null) nextVals.push(v);
      }
      cur = nextVals;
    }
    return cur;
  };
  const term = (): Predicate => {
    if (tokens[i] === '(') {
      i++;
      const p = orExpr();
      if (tokens[i++] !== ')') throw new Error('missing closing parenthesis');
      return p;
    }
    const attr = tokens[i++];
    if (!attr || !/^[A-Za-z][\w.]*$/.test(attr)) throw new Error(`Unrecognized attribute at position ${i}`);
    if (attr === 'published') throw new Error("the 'published' attribute can't be used in a filter");
    const op = tokens[i++]?.toLowerCase();
    if (op === 'pr') return (e) => values(e, attr).length > 0;
    const ops = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
    if (!op || !ops.includes(op))
      throw new Error(
        `Unrecognized attribute operator '${op}' at position ${i}. Expected: eq,co,sw,pr,gt,ge,lt,le`,
      );
    const raw = tokens[i++];
    if (raw === undefined) throw new Error('missing value');
    const want: unknown = raw.startsWith('"')
      ? JSON.parse(raw)
      : raw === 'true'
        ? true
        : raw === 'false'
          ? false
          : Number(raw);
    const cmp = (a: unknown): boolean => {
      switch (op) {
        case 'eq':
          return a === want;
        case 'ne':
          return a !== want;
        case 'co':
          return typeof a === 'string' && a.includes(String(want));
        case 'sw':
          return typeof a === 'string' && a.startsWith(String(want));
        case 'ew':
          return typeof a === 'string' && a.endsWith(String(want));
        case 'gt':
          return (a as any) > (want as any);
        case 'ge':
          return (a as any) >= (want as any);
        case 'lt':
          return (a as any) < (want as any);
        default:
          return (a as any) <= (want as any);
      }
    };
    if (op === 'ne') return (e) => values(e, attr).every(cmp);
    return (e) => values(e, attr).some(cmp);
  };
  const andExpr = (): Predicate => {
    let p = term();
    while (peek() === 'and') {
      i++;
      const a = p;
      const b = term();
      p = (e) => a(e) && b(e);
    }
    return p;
  };
  const orExpr = (): Predicate => {
    let p = andExpr();
    while (peek() === 'or') {
      i++;
      const a = p;
      const b = andExpr();
      p = (e) => a(e) || b(e);
    }
    return p;
  };
  const p = orExpr();
  if (i !== tokens.length) throw new Error(`unexpected '${tokens[i]}' at position ${i}`);
  return p;
}

// ---------------------------------------------------------------------------------------------
// The simulated org and its events

interface OrgUser extends Person {
  id: string;
  appUserIds: Record<string, string>;
}

interface OrgApp {
  id: string;
  name: string;
  label: string;
  signOnMode: 'SAML_2_0' | 'OPENID_CONNECT';
}

interface Org {
  domain: string;
  users: OrgUser[];
  admins: OrgUser[];
  apps: OrgApp[];
  groups: { id: string; name: string }[];
  policies: { id: string; name: string; rules: { id: string; name: string }[] }[];
}

function buildOrg(seed: number, domain: string): Org {
  const rng = new Rng(seedOf(seed, 'org'));
  const oktaId = (prefix: string) => prefix + rng.base62(20 - prefix.length);
  const apps: OrgApp[] = Array.from({ length: 10 }, () => {
    const label = appName(rng);
    return {
      id: oktaId('0oa'),
      name: label.toLowerCase().replace(/[^a-z0-9]+/g, '_'),
      label,
      signOnMode: rng.bool(0.7) ? 'SAML_2_0' : 'OPENID_CONNECT',
    };
  });
  const users: OrgUser[] = Array.from({ length: 60 }, () => {
    const p = person(rng, domain);
    return { ...p, id: oktaId('00u'), appUserIds: {} };
  });
  for (const u of users) for (const a of apps) u.appUserIds[a.id] = oktaId('0ua');
  const groups = [
    'Everyone',
    'Engineering',
    'Finance',
    'Sales',
    'IT Admins',
    'Contractors',
    'Security',
    'Support',
  ].map((name) => ({ id: oktaId('00g'), name }));
  const policies = [
    { id: oktaId('00p'), name: 'Default Policy', rules: [{ id: oktaId('0pr'), name: 'Default Rule' }] },
    {
      id: oktaId('rst'),
      name: 'Okta Admin Console',
      rules: [
        { id: oktaId('rul'), name: 'Require MFA for admins' },
        { id: oktaId('rul'), name: 'Catch-all Rule' },
      ],
    },
  ];
  return { domain, users, admins: users.slice(0, 4), apps, groups, policies };
}

const EVENT_MIX: readonly (readonly [string, number])[] = [
  ['user.authentication.sso', 25],
  ['user.session.start', 22],
  ['policy.evaluate_sign_on', 18],
  ['user.authentication.auth_via_mfa', 14],
  ['app.oauth2.as.token.grant.access_token', 8],
  ['user.session.end', 4],
  ['application.user_membership.add', 2],
  ['group.user_membership.add', 2],
  ['user.account.update_password', 1],
  ['user.mfa.factor.activate', 1],
  ['user.lifecycle.create', 1],
  ['user.account.lock', 1],
  ['system.api_token.create', 0.5],
  ['security.threat.detected', 0.5],
];

function generateEvent(
  rng: Rng,
  org: Org,
): { event: Record<string, unknown>; txType: string; txDetail: object } {
  const eventType = rng.weighted(EVENT_MIX);
  const user = rng.pick(org.users);
  const admin = rng.pick(org.admins);
  const app = rng.pick(org.apps);
  const g = geo(rng);
  const net = network(rng);
  const ip = ipv4(rng, net);
  const ua = browser(rng);
  const sessionId = `102${rng.base64url(22)}`;
  const geoCtx = {
    city: g.city,
    state: g.state,
    country: g.country,
    postalCode: g.postalCode,
    geolocation: { lat: g.lat, lon: g.lon },
  };
  const client = {
    userAgent: { rawUserAgent: ua.raw, os: ua.os, browser: ua.browser },
    zone: 'null',
    device: ua.device,
    id: null,
    ipAddress: ip,
    geographicalContext: geoCtx,
  };
  const userActor = {
    id: user.id,
    type: 'User',
    alternateId: user.email,
    displayName: user.displayName,
    detailEntry: null,
  };
  const adminActor = {
    id: admin.id,
    type: 'User',
    alternateId: admin.email,
    displayName: admin.displayName,
    detailEntry: null,
  };
  const userTarget = {
    id: user.id,
    type: 'User',
    alternateId: user.email,
    displayName: user.displayName,
    detailEntry: null,
  };
  const appTarget = {
    id: app.id,
    type: 'AppInstance',
    alternateId: app.label,
    displayName: app.label,
    detailEntry: { signOnModeType: app.signOnMode },
  };
  const authCtx = (o: Partial<Record<string, unknown>> = {}) => ({
    authenticationProvider: null,
    credentialProvider: null,
    credentialType: null,
    issuer: null,
    interface: null,
    authenticationStep: 0,
    rootSessionId: sessionId.replace(/^102/, 'idx'),
    externalSessionId: sessionId,
    ...o,
  });
  const requestId = `${rng.base64url(27)}AAA${rng.base62(4)}`;
  const debug = (o: Record<string, unknown> = {}) => ({
    debugData: {
      requestId,
      dtHash: rng.hex(64),
      requestUri: '/idp/idx/identify',
      url: '/idp/idx/identify?',
      threatSuspected: 'false',
      ...o,
    },
  });
  const fail = rng.bool(0.08);

  let actor: Record<string, unknown> = userActor;
  let displayMessage = '';
  let legacyEventType: string | null = null;
  let severity = 'INFO';
  let outcome: Record<string, unknown> = { result: 'SUCCESS', reason: null };
  let target: unknown[] | null = null;
  let authenticationContext = authCtx();
  let debugContext = debug();
  let txType = 'WEB';
  let txDetail: object = {};

  switch (eventType) {
    case 'user.session.start':
      displayMessage = 'User login to Okta';
      legacyEventType = fail ? 'core.user_auth.login_failed' : 'core.user_auth.login_success';
      if (fail) {
        severity = 'WARN';
        outcome = { result: 'FAILURE', reason: rng.pick(['INVALID_CREDENTIALS', 'VERIFICATION_ERROR']) };
      }
      authenticationContext = authCtx({
        authenticationProvider: 'OKTA_AUTHENTICATION_PROVIDER',
        credentialType: 'PASSWORD',
      });
      debugContext = debug({
        requestUri: '/idp/idx/challenge/answer',
        url: '/idp/idx/challenge/answer?',
        behaviors: behaviors(rng),
        risk: '{level=LOW}',
      });
      break;
    case 'user.session.end':
      displayMessage = 'User logout from Okta';
      legacyEventType = 'core.user_auth.logout_success';
      debugContext = debug({ requestUri: '/login/signout', url: '/login/signout?fromURI=%2Fapp%2FUserHome' });
      break;
    case 'user.authentication.sso':
      displayMessage = 'User single sign on to app';
      legacyEventType = 'app.auth.sso';
      target = [
        appTarget,
        {
          id: user.appUserIds[app.id],
          type: 'AppUser',
          alternateId: user.email,
          displayName: user.displayName,
          detailEntry: null,
        },
      ];
      debugContext = debug({
        requestUri: `/app/${app.name}/exk${rng.base62(17)}/sso/${app.signOnMode === 'SAML_2_0' ? 'saml' : 'oidc'}`,
        url: `/app/${app.name}/exk${rng.base62(17)}/sso/saml?SAMLRequest=${rng.base64url(32)}`,
        initiationType: rng.pick(['IDP_INITIATED', 'SP_INITIATED']),
        signOnMode: app.signOnMode === 'SAML_2_0' ? 'SAML 2.0' : 'OpenID Connect',
        authnRequestId: rng.base64url(27),
      });
      break;
    case 'user.authentication.auth_via_mfa': {
      const factor = rng.weighted([
        ['OKTA_VERIFY_PUSH', 6],
        ['FIDO_WEBAUTHN', 3],
        ['SMS_FACTOR', 1],
      ] as const);
      displayMessage = 'Authentication of user via MFA';
      legacyEventType = fail ? 'core.user.factor.attempt_fail' : 'core.user.factor.attempt_success';
      if (fail) {
        severity = 'WARN';
        outcome = {
          result: 'FAILURE',
          reason: rng.pick(['INVALID_CREDENTIALS', 'User rejected Okta push verify']),
        };
      }
      authenticationContext = authCtx({
        credentialProvider: 'OKTA_CREDENTIAL_PROVIDER',
        credentialType: factor === 'SMS_FACTOR' ? 'SMS' : 'OTP',
      });
      target = [
        {
          id: `mfa${rng.base62(17)}`,
          type: 'AuthenticatorEnrollment',
          alternateId: 'unknown',
          displayName:
            factor === 'FIDO_WEBAUTHN'
              ? 'Security Key or Biometric'
              : factor === 'SMS_FACTOR'
                ? 'Phone'
                : 'Okta Verify',
          detailEntry: {
            methodTypeUsed: factor === 'OKTA_VERIFY_PUSH' ? 'Get a push notification' : factor,
            methodUsedVerifiedProperties: '[USER_PRESENCE]',
          },
        },
      ];
      debugContext = debug({
        factor,
        factorIntent: 'AUTHENTICATION',
        requestUri: '/idp/idx/authenticators/poll',
        url: '/idp/idx/authenticators/poll?',
      });
      break;
    }
    case 'policy.evaluate_sign_on': {
      const policy = rng.pick(org.policies);
      const rule = rng.pick(policy.rules);
      const res = rng.weighted([
        ['ALLOW', 75],
        ['CHALLENGE', 20],
        ['DENY', 5],
      ] as const);
      displayMessage = 'Evaluation of sign-on policy';
      outcome = { result: res, reason: `Sign-on policy evaluation resulted in ${res}` };
      if (res === 'DENY') severity = 'WARN';
      target = [
        {
          id: rule.id,
          type: 'Rule',
          alternateId: 'unknown',
          displayName: rule.name,
          detailEntry: { RuleAction: res },
        },
        {
          id: policy.id,
          type: 'Policy',
          alternateId: 'unknown',
          displayName: policy.name,
          detailEntry: { policyType: 'OKTA_SIGN_ON' },
        },
      ];
      debugContext = debug({
        behaviors: behaviors(rng),
        risk: `{level=${rng.pick(['LOW', 'LOW', 'LOW', 'MEDIUM', 'HIGH'])}}`,
      });
      break;
    }
    case 'app.oauth2.as.token.grant.access_token':
      displayMessage = 'OAuth2 access token is granted';
      actor = {
        id: app.id,
        type: 'PublicClientApp',
        alternateId: app.label,
        displayName: app.label,
        detailEntry: null,
      };
      target = [
        {
          id: `AT.${rng.base64url(43)}`,
          type: 'access_token',
          alternateId: 'unknown',
          displayName: 'Access Token',
          detailEntry: { expires: 'PT1H', subject: user.id, hash: rng.base64url(22) },
        },
      ];
      authenticationContext = authCtx({
        credentialType: 'OAUTH2',
        issuer: { id: `aus${rng.base62(17)}`, type: 'AUTHORIZATION_SERVER' },
      });
      debugContext = debug({
        grantType: 'authorization_code',
        requestedScopes: 'openid profile email offline_access',
        grantedScopes: 'openid profile email offline_access',
        requestUri: '/oauth2/v1/token',
        url: '/oauth2/v1/token?',
      });
      break;
    case 'application.user_membership.add':
      actor = adminActor;
      displayMessage = 'Add user to application membership';
      legacyEventType = 'application.user_membership.add';
      target = [
        {
          id: user.appUserIds[app.id],
          type: 'AppUser',
          alternateId: user.email,
          displayName: user.displayName,
          detailEntry: null,
        },
        appTarget,
        userTarget,
      ];
      debugContext = debug({
        requestUri: `/api/v1/apps/${app.id}/users`,
        url: `/api/v1/apps/${app.id}/users?`,
      });
      break;
    case 'group.user_membership.add': {
      const group = rng.pick(org.groups);
      actor = adminActor;
      displayMessage = 'Add user to group membership';
      legacyEventType = 'core.user_group_member.user_add';
      target = [
        userTarget,
        {
          id: group.id,
          type: 'UserGroup',
          alternateId: 'unknown',
          displayName: group.name,
          detailEntry: null,
        },
      ];
      debugContext = debug({
        requestUri: `/api/v1/groups/${group.id}/users/${user.id}`,
        url: `/api/v1/groups/${group.id}/users/${user.id}?`,
      });
      break;
    }
    case 'user.account.update_password':
      displayMessage = 'User update password for Okta';
      legacyEventType = 'core.user.config.password_update.success';
      target = [userTarget];
      authenticationContext = authCtx({ credentialType: 'PASSWORD' });
      break;
    case 'user.mfa.factor.activate': {
      const factor = rng.pick(['OKTA_VERIFY_PUSH', 'FIDO_WEBAUTHN', 'GOOGLE_OTP']);
      displayMessage = `User set up ${factor} factor`;
      legacyEventType = 'core.user.factor.activate';
      target = [userTarget];
      debugContext = debug({
        factor,
        requestUri: '/idp/idx/challenge/answer',
        url: '/idp/idx/challenge/answer?',
      });
      break;
    }
    case 'user.lifecycle.create':
      actor = adminActor;
      displayMessage = 'Create Okta user';
      legacyEventType = 'core.user.config.user_creation.success';
      target = [userTarget];
      debugContext = debug({ requestUri: '/api/v1/users', url: '/api/v1/users?activate=true' });
      break;
    case 'user.account.lock':
      displayMessage = 'Max sign in attempts exceeded';
      legacyEventType = 'core.user_auth.account_locked';
      severity = 'WARN';
      outcome = { result: 'FAILURE', reason: 'LOCKED_OUT' };
      target = [userTarget];
      break;
    case 'system.api_token.create':
      actor = adminActor;
      displayMessage = 'Create API token';
      legacyEventType = 'api.token.create';
      target = [
        {
          id: `00T${rng.base62(17)}`,
          type: 'Token',
          alternateId: 'unknown',
          displayName: rng.pick(['SIEM collector', 'Terraform', 'SCIM bridge']),
          detailEntry: null,
        },
      ];
      debugContext = debug({ requestUri: '/api/internal/tokens', url: '/api/internal/tokens?' });
      break;
    default: // security.threat.detected
      actor = {
        id: 'unknown',
        type: 'User',
        alternateId: 'unknown',
        displayName: 'unknown',
        detailEntry: null,
      };
      displayMessage = 'Request from suspicious actor';
      severity = 'WARN';
      outcome = { result: 'DENY', reason: 'Password Spray' };
      txType = 'WEB';
      debugContext = debug({ threatSuspected: 'true', threatDetections: '{"Password Spray":"HIGH"}' });
  }
  if (actor === adminActor) txDetail = { requestApiTokenId: `00T${rng.base62(17)}` };
  if (eventType === 'system.api_token.create' || eventType === 'user.lifecycle.create')
    txType = rng.bool(0.2) ? 'JOB' : 'WEB';

  const event = {
    eventType,
    version: '0',
    severity,
    displayMessage,
    actor,
    client,
    device: null,
    outcome,
    target,
    legacyEventType,
    authenticationContext,
    securityContext: {
      asNumber: net.asNumber,
      asOrg: net.asOrg,
      isp: net.isp,
      domain: net.domain,
      isProxy: false,
    },
    debugContext,
    request: { ipChain: [{ ip, geographicalContext: geoCtx, version: 'V4', source: null }] },
  };
  return { event, txType, txDetail };
}

function behaviors(rng: Rng): string {
  const b = (name: string) => `${name}=${rng.bool(0.15) ? 'POSITIVE' : 'NEGATIVE'}`;
  return `{${['New Geo-Location', 'New Device', 'New IP', 'New State', 'New Country', 'Velocity', 'New City'].map(b).join(', ')}}`;
}

/**
 * Brings an event to about `target` bytes of JSON: drops optional detail Okta often omits when it is
 * too large, or adds realistic debug fields and finally a long `state` in the URL when too small.
 */
function fitTo(event: Record<string, any>, rng: Rng, target: number): void {
  const dd = event.debugContext.debugData as Record<string, unknown>;
  const size = () => Buffer.byteLength(JSON.stringify(event));
  const drops: (() => void)[] = [
    () => delete dd.dtHash,
    () => delete event.authenticationContext.rootSessionId,
    () => (event.request.ipChain[0].geographicalContext = null),
    () => delete dd.behaviors,
    () => delete dd.authnRequestId,
    () =>
      (event.client.userAgent.rawUserAgent = event.client.userAgent.rawUserAgent.replace(/ \(KHTML.*$/, '')),
    () => {
      for (const t of event.target ?? []) t.detailEntry = null;
    },
    () => (event.securityContext = { asNumber: null, asOrg: null, isp: null, domain: null, isProxy: null }),
    () => (event.client.geographicalContext.geolocation = null),
    () => (event.target = event.target?.slice(0, 1) ?? null),
    () => {
      for (const k of Object.keys(event.authenticationContext))
        if (event.authenticationContext[k] === null) delete event.authenticationContext[k];
    },
    () => (event.request.ipChain = []),
    () => (event.securityContext = {}),
    () => {
      for (const k of Object.keys(dd)) if (k !== 'requestId' && k !== 'requestUri') delete dd[k];
    },
    () => (event.client.geographicalContext = null),
  ];
  for (const drop of drops) {
    if (size() <= target) break;
    drop();
  }
  const extras: [string, () => unknown][] = [
    ['deviceFingerprint', () => rng.hex(32)],
    ['traceId', () => rng.hex(32)],
    ['clientAddress', () => event.client.ipAddress],
    ['authMethodFirstEnrollment', () => 'false'],
    ['authMethodFirstType', () => 'signed_nonce'],
    [
      'logOnlySecurityData',
      () =>
        JSON.stringify({
          risk: { level: 'LOW' },
          behaviors: { 'New Geo-Location': 'NEGATIVE', 'New Device': 'NEGATIVE' },
        }),
    ],
    ['oktaUserAgentExtended', () => 'okta-auth-js/7.8.1 okta-signin-widget-7.27.2'],
  ];
  for (const [k, v] of extras) {
    if (size() >= target) return;
    dd[k] = v();
  }
  const missing = target - size();
  if (missing > 8) dd.url = `${dd.url}&state=${rng.base64url(missing - 7)}`;
}
