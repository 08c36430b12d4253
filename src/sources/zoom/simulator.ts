/**
 * Zoom simulator: Server-to-Server OAuth and the two report endpoints the `zoom` source reads, following
 * Zoom's documented behaviour:
 *
 * - developers.zoom.us/docs/internal-apps/s2s-oauth/: `POST /oauth/token?grant_type=account_credentials
 *   &account_id=…` with `Authorization: Basic base64(clientId:clientSecret)`; tokens live one hour and
 *   several may be used at once; API calls carry `Authorization: Bearer <token>`.
 * - Zoom Meeting API, Reports (`GET /v2/report/activities`, "Get sign In / sign out activity report",
 *   and `GET /v2/report/operationlogs`, "Get operation logs report"; OpenAPI descriptions as published
 *   in zoom/rivet-javascript and the generated SDKs): `from`/`to` dates in `yyyy-mm-dd`, "one month worth
 *   of data" per request, activity reports "within the last six months"; `page_size` (default 30,
 *   at most 300) and `next_page_token`, whose "expiration period … is 15 minutes"; operation logs filter
 *   by `category_type` (all, user, user_settings, account, billing, im, recording, phone_contacts,
 *   webinar, sub_account, role, zoom_rooms); records `{email, time, type, ip_address, client_type,
 *   version}` and `{time, operator, category_type, action, operation_detail}`, times in UTC whole seconds,
 *   no id field; the documented examples list newest first. Scopes `report:read:admin`, or the granular
 *   `report:read:user_activities:admin` / `report:read:operation_logs:admin`; Pro plan or higher, else
 *   400 with code 200 "No permission.".
 * - developers.zoom.us/docs/api/rate-limits/: report APIs are "Heavy" — per second and per day by plan
 *   (Pro 10/s and 30,000 a day, Business+ 40/s and 60,000 a day); past a limit HTTP 429 with
 *   `X-RateLimit-Category`, `X-RateLimit-Type` (`QPS` or `Daily-limit`), `X-RateLimit-Limit`,
 *   `X-RateLimit-Remaining` and, for the daily limit, `Retry-After` at the next 00:00 UTC.
 * - developers.zoom.us/docs/api/errors/: error bodies `{"code": …, "message": …}`; 400 for invalid data
 *   ("Validation Failed." with `errors[]`), 401 for invalid credentials, 429 for rate limits.
 *
 * Assumed (Zoom documents no detail), decided here: `from`/`to` are UTC dates and `to` is inclusive (as
 * Zoom's own response examples echo them); a missing scope is 400 code 4711 "Invalid access token, does
 * not contain scopes:[…]"; an invalid or expired token is 401 code 124; an expired or foreign
 * `next_page_token` is 400 code 300; a range over a month or older than six months is 400 code 300;
 * OAuth refusals are `{"reason", "error"}` with `invalid_client` (401), `invalid_request` (400),
 * `unsupported_grant_type` (400); ties within a second are listed by arrival, newest first.
 */
import { randomBytes } from 'node:crypto';
import { hashId } from '../../core/envelope.ts';
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
import { CATEGORIES } from './index.ts';

export type ZoomReport = 'activities' | 'operationlogs';
export type ZoomPlan = 'basic' | 'pro' | 'business';

export interface ZoomSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Sign in / sign out records generated up front (default 100), `spacingMs` apart, the last 5 minutes ago. */
  activities?: number;
  /** Operation log records generated up front (default 100), likewise. */
  operations?: number;
  spacingMs?: number;
  /** Operation log records of about this many bytes of JSON (a long `operation_detail`). */
  eventBytes?: number;
  accountId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Scopes of the app's tokens (default both granular report scopes). */
  scopes?: string[];
  /** The Zoom account's plan (default pro): basic has no report APIs; limits follow the plan. */
  plan?: ZoomPlan;
  /** Heavy requests per second and per day (default by plan). */
  heavyPerSecond?: number;
  heavyPerDay?: number;
  /** Access token lifetime in seconds (default 3600). */
  tokenTtlS?: number;
  host?: string;
  port?: number;
}

export type ZoomAddOptions = SpacedEvents;

interface Position {
  /** Time (ms, whole seconds) and arrival of the last record of the page. */
  t: number;
  seq: number;
}

interface PageToken {
  report: ZoomReport;
  from: string;
  to: string;
  category: string;
  after: Position;
  /** Simulator time it was issued; it expires 15 minutes later. */
  at: number;
}

const DEFAULT_PAGE_SIZE = 30;
const MAX_PAGE_SIZE = 300;
const PAGE_TOKEN_TTL_MS = 15 * 60_000;
const DAY = 86_400_000;
/** "One month worth of data" per request: at most 31 days from `from` to `to`. */
const MAX_RANGE_DAYS = 31;
/** "Within the last six months". */
const RETENTION_DAYS = 183;

const LIMITS: Record<ZoomPlan, { perSecond: number; perDay: number }> = {
  basic: { perSecond: 1, perDay: 1000 },
  pro: { perSecond: 10, perDay: 30_000 },
  business: { perSecond: 40, perDay: 60_000 },
};

const SCOPE_FOR: Record<ZoomReport, string> = {
  activities: 'report:read:user_activities:admin',
  operationlogs: 'report:read:operation_logs:admin',
};

export class ZoomSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly accountId: string;
  readonly clientId: string;
  private clientSecret_: string;
  private readonly opts: {
    spacingMs: number;
    eventBytes?: number;
    scopes: string[];
    plan: ZoomPlan;
    perSecond: number;
    perDay: number;
    tokenTtlMs: number;
  };
  private readonly logs: Record<ZoomReport, TimedLog> = {
    activities: new TimedLog(1000),
    operationlogs: new TimedLog(1000),
  };
  private readonly tokens = new Map<string, number>();
  private rate = { second: -1, count: 0, day: -1, daily: 0 };
  private loopPages = 0;

  constructor(o: ZoomSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'credentials'));
    this.accountId = o.accountId ?? rng.base64url(22);
    this.clientId = o.clientId ?? rng.base62(22);
    this.clientSecret_ = o.clientSecret ?? rng.base62(32);
    const plan = o.plan ?? 'pro';
    this.opts = {
      spacingMs: o.spacingMs ?? 1000,
      eventBytes: o.eventBytes,
      scopes: o.scopes ?? [SCOPE_FOR.activities, SCOPE_FOR.operationlogs],
      plan,
      perSecond: o.heavyPerSecond ?? LIMITS[plan].perSecond,
      perDay: o.heavyPerDay ?? LIMITS[plan].perDay,
      tokenTtlMs: (o.tokenTtlS ?? 3600) * 1000,
    };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      host: o.host,
      port: o.port,
      hooks: {
        errorReply: (_req, status) => this.statusError(status),
        rateLimitReply: () => this.qpsLimited(),
      },
    });
    this.server.route('POST', '/oauth/token', (req) => this.token(req));
    this.server.route('GET', '/v2/report/activities', (req) => this.report(req, 'activities'));
    this.server.route('GET', '/v2/report/operationlogs', (req) => this.report(req, 'operationlogs'));
    const now = this.clock();
    for (const [report, n] of [
      ['activities', o.activities ?? 100],
      ['operationlogs', o.operations ?? 100],
    ] as const) {
      const start = now - 5 * 60_000 - Math.max(0, n - 1) * this.opts.spacingMs;
      for (let i = 0; i < n; i++) {
        const t = start + i * this.opts.spacingMs;
        this.logs[report].add(t, t);
      }
    }
  }

  /** The API root the client uses (`…/v2`). */
  get apiUrl(): string {
    return `${this.server.url}/v2`;
  }

  get tokenUrl(): string {
    return `${this.server.url}/oauth/token`;
  }

  get clientSecret(): string {
    return this.clientSecret_;
  }

  /** The account's fields for a `zoom` account pointing at this simulator. */
  account(): { accountId: string; clientId: string; clientSecret: string; tokenUrl: string; apiUrl: string } {
    return {
      accountId: this.accountId,
      clientId: this.clientId,
      clientSecret: this.clientSecret_,
      tokenUrl: this.tokenUrl,
      apiUrl: this.apiUrl,
    };
  }

  override async start(): Promise<string> {
    await this.server.start();
    return this.apiUrl;
  }

  /** Regenerates the client secret: tokens already issued stay valid until they expire (Zoom documents it). */
  rotateSecret(secret = randomBytes(16).toString('hex')): string {
    this.clientSecret_ = secret;
    return secret;
  }

  /** Invalidates every issued access token (the app was deactivated and activated again). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** The next `pages` answers repeat the request's own page token (a looping vendor). */
  loopNextTokens(pages = 1): void {
    this.loopPages = pages;
  }

  /** Calls that could change Zoom data; minting a token does not. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/oauth/token');
  }

  addEvents(report: ZoomReport, n: number, o: ZoomAddOptions = {}): string[] {
    return spacedEvents(n, this.clock(), this.opts.spacingMs, o).map(([t, visible]) =>
      this.idOf(report, this.logs[report].add(t, visible)),
    );
  }

  /** The id Tributary gives a record: Zoom's records have none, so the hash of the record (docs/architecture.md, "The envelope"). */
  idOf(report: ZoomReport, seq: number): string {
    return hashId(JSON.parse(this.recordJson(report, seq)));
  }

  /** Every record id of a report (visible or not), oldest first. */
  eventIds(report: ZoomReport): string[] {
    return this.logs[report].ascending().map((s) => this.idOf(report, s));
  }

  records(report: ZoomReport): Array<Record<string, unknown>> {
    return this.logs[report].ascending().map((s) => JSON.parse(this.recordJson(report, s)));
  }

  /** The exact JSON Zoom would send for record `seq`. */
  recordJson(report: ZoomReport, seq: number): string {
    const rng = new Rng(seedOf(this.seed, report, seq));
    const time = `${new Date(this.logs[report].t[seq]).toISOString().slice(0, 19)}Z`;
    const who = person(rng, 'acme.example');
    if (report === 'activities') {
      return JSON.stringify({
        email: who.email,
        time,
        type: rng.bool(0.6) ? 'Sign in' : 'Sign out',
        ip_address: ipv4(rng),
        client_type: rng.pick(CLIENTS),
        version: `6.${rng.int(0, 4)}.${rng.int(0, 12)}.${rng.int(10000, 60000)}`,
      });
    }
    const op = rng.pick(OPERATIONS);
    let detail = op.detail(rng);
    if (this.opts.eventBytes) {
      const parts: string[] = [];
      let left = this.opts.eventBytes - detail.length - 150;
      while (left > 0) {
        const s = `${rng.pick(SETTINGS)}: ${rng.bool() ? 'on' : 'off'}`;
        parts.push(s);
        left -= s.length + 2;
      }
      if (parts.length) detail = `${detail} (${parts.join(', ')})`;
    }
    return JSON.stringify({
      time,
      operator: rng.bool(0.8) ? ADMINS[rng.int(0, ADMINS.length - 1)] : who.email,
      category_type: op.category,
      action: op.action,
      operation_detail: detail,
    });
  }

  // -------------------------------------------------------------------------------------------
  // OAuth

  private token(req: SimRequest): SimReply {
    const form = new URLSearchParams(req.body.toString('utf8'));
    const grant = req.query.get('grant_type') ?? form.get('grant_type');
    const accountId = req.query.get('account_id') ?? form.get('account_id');
    const basic = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    const [id, secret] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(/:(.*)/s) : [];
    if (!basic || id !== this.clientId || secret !== this.clientSecret_)
      return json(401, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' });
    if (grant !== 'account_credentials')
      return json(400, { reason: 'unsupported grant type', error: 'unsupported_grant_type' });
    if (accountId !== this.accountId) return json(400, { reason: 'Bad Request', error: 'invalid_request' });
    const token = `eyJ${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, this.clock() + this.opts.tokenTtlMs);
    return json(200, {
      access_token: token,
      token_type: 'bearer',
      expires_in: Math.round(this.opts.tokenTtlMs / 1000),
      scope: this.opts.scopes.join(' '),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Reports

  private statusError(status: number): SimReply {
    if (status === 401) return json(401, { code: 124, message: 'Invalid access token.' });
    if (status === 404) return json(404, { code: 404, message: 'Not Found' });
    if (status === 429) return this.qpsLimited();
    if (status >= 500) return json(status, { code: status, message: 'Internal Server Error' });
    return json(status, { code: 300, message: 'Validation Failed.' });
  }

  private qpsLimited(): SimReply {
    return json(
      429,
      {
        code: 429,
        message: 'You have reached the maximum per-second rate limit for this API. Try again later.',
      },
      {
        'x-ratelimit-category': 'Heavy',
        'x-ratelimit-type': 'QPS',
        'x-ratelimit-limit': String(this.opts.perSecond),
      },
    );
  }

  /** Heavy limits: per second, then per UTC day; undefined when the request may go on. */
  private limited(now: number): SimReply | undefined {
    const second = Math.floor(now / 1000);
    const day = Math.floor(now / DAY);
    if (second !== this.rate.second) this.rate = { ...this.rate, second, count: 0 };
    if (day !== this.rate.day) this.rate = { ...this.rate, day, daily: 0 };
    if (this.rate.daily >= this.opts.perDay) {
      return json(
        429,
        {
          code: 429,
          message: `You have exceeded the daily rate limit (${this.opts.perDay}) of Heavy API requests permitted for this particular account. You may resume these requests at GMT 00:00:00.`,
        },
        {
          'x-ratelimit-category': 'Heavy',
          'x-ratelimit-type': 'Daily-limit',
          'x-ratelimit-limit': String(this.opts.perDay),
          'x-ratelimit-remaining': '0',
          'retry-after': `${new Date((day + 1) * DAY).toISOString().slice(0, 19)}Z`,
        },
      );
    }
    if (++this.rate.count > this.opts.perSecond) return this.qpsLimited();
    this.rate.daily++;
    return undefined;
  }

  private report(req: SimRequest, report: ZoomReport): SimReply {
    const now = this.clock();
    const auth = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    const expires = auth ? this.tokens.get(auth[1]) : undefined;
    if (expires === undefined) return json(401, { code: 124, message: 'Invalid access token.' });
    if (expires <= now) return json(401, { code: 124, message: 'Access token is expired.' });
    const limited = this.limited(now);
    if (limited) return limited;
    const headers = {
      'x-ratelimit-category': 'Heavy',
      'x-ratelimit-limit': String(this.opts.perDay),
      'x-ratelimit-remaining': String(this.opts.perDay - this.rate.daily),
    };
    if (!this.opts.scopes.includes(SCOPE_FOR[report]) && !this.opts.scopes.includes('report:read:admin')) {
      return json(400, {
        code: 4711,
        message: `Invalid access token, does not contain scopes:[${SCOPE_FOR[report]}, report:read:admin].`,
      });
    }
    if (this.opts.plan === 'basic') return json(400, { code: 200, message: 'No permission.' }, headers);

    const q = req.query;
    const invalid = (field: string) =>
      json(400, { code: 300, message: 'Validation Failed.', errors: [{ field, message: 'Invalid field.' }] });
    const today = new Date(now).toISOString().slice(0, 10);
    const from = q.get('from') ?? (report === 'activities' ? today : null);
    const to = q.get('to') ?? (report === 'activities' ? today : null);
    if (from === null || !isDate(from)) return invalid('from');
    if (to === null || !isDate(to)) return invalid('to');
    const fromMs = Date.parse(`${from}T00:00:00Z`);
    const toEnd = Date.parse(`${to}T00:00:00Z`) + DAY;
    if (toEnd <= fromMs) return json(400, { code: 300, message: 'The "to" date must not be before "from".' });
    if (toEnd - fromMs > MAX_RANGE_DAYS * DAY)
      return json(400, { code: 300, message: 'The date range must not exceed one month.' });
    if (fromMs < Math.floor(now / DAY) * DAY - RETENTION_DAYS * DAY)
      return json(400, { code: 300, message: 'The date range must be within the last six months.' });
    const sizeRaw = q.get('page_size');
    if (sizeRaw !== null && !/^\d+$/.test(sizeRaw)) return invalid('page_size');
    const size = sizeRaw === null ? DEFAULT_PAGE_SIZE : Number(sizeRaw);
    if (size < 1 || size > MAX_PAGE_SIZE) return invalid('page_size');
    const category = report === 'operationlogs' ? (q.get('category_type') ?? 'all') : '';
    if (report === 'operationlogs' && category !== 'all' && !(category in CATEGORIES))
      return invalid('category_type');

    let after: Position | undefined;
    const tokenRaw = q.get('next_page_token');
    if (tokenRaw) {
      const t = decodeToken(tokenRaw);
      if (
        !t ||
        t.report !== report ||
        t.from !== from ||
        t.to !== to ||
        t.category !== category ||
        now - t.at > PAGE_TOKEN_TTL_MS
      )
        return json(400, { code: 300, message: 'The next page token is invalid or expired.' });
      after = t.after;
    }

    // Newest first: (time, arrival) descending, inside [from 00:00Z, to + 1 day 00:00Z).
    const log = this.logs[report];
    const asc = log.ascending();
    const matches: number[] = [];
    for (let i = asc.length - 1; i >= 0 && matches.length <= size; i--) {
      const seq = asc[i];
      const t = log.t[seq];
      if (log.vis[seq] > now || t >= toEnd) continue;
      if (t < fromMs) break;
      if (after && (t > after.t || (t === after.t && seq >= after.seq))) continue;
      if (
        category !== 'all' &&
        category &&
        JSON.parse(this.recordJson(report, seq)).category_type !== CATEGORIES[category]
      )
        continue;
      matches.push(seq);
    }

    let page: number[] = [];
    let next = '';
    const mint = (p: Position) => encodeToken({ report, from, to, category, after: p, at: now });
    if (req.empty) {
      // Injected `empty`: a valid empty page whose token points at the same position again.
      next = tokenRaw || mint({ t: Number.MAX_SAFE_INTEGER, seq: 0 });
    } else {
      page = matches.slice(0, size);
      if (this.loopPages > 0) {
        this.loopPages--;
        next = tokenRaw || mint({ t: Number.MAX_SAFE_INTEGER, seq: 0 });
      } else if (matches.length > size) {
        const last = page[page.length - 1];
        next = mint({ t: log.t[last], seq: last });
      }
    }
    const key = report === 'activities' ? 'activity_logs' : 'operation_logs';
    let body = `{"from":${JSON.stringify(from)},"to":${JSON.stringify(to)},"page_size":${size},"next_page_token":${JSON.stringify(next)},"${key}":[`;
    for (let i = 0; i < page.length; i++) body += (i ? ',' : '') + this.recordJson(report, page[i]);
    body += ']}';
    return { status: 200, headers: { 'content-type': 'application/json;charset=UTF-8', ...headers }, body };
  }
}

const isDate = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && Number.isFinite(Date.parse(`${s}T00:00:00Z`));

function encodeToken(t: PageToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeToken(s: string): PageToken | undefined {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    return typeof t?.after?.t === 'number' && typeof t.at === 'number' ? (t as PageToken) : undefined;
  } catch {
    return undefined;
  }
}

const CLIENTS = ['Browser', 'Windows', 'Mac', 'iPhone', 'Android', 'Linux', 'iPad'] as const;
const ADMINS = ['it-admin@acme.example', 'owner@acme.example', 'helpdesk@acme.example'] as const;
const SETTINGS = [
  'Waiting room',
  'Require passcode for participants joining by phone',
  'Cloud recording',
  'Allow participants to rename themselves',
  'Screen sharing',
  'File transfer',
  'Join before host',
  'Only authenticated users can join meetings',
] as const;

const OPERATIONS: ReadonlyArray<{ category: string; action: string; detail: (rng: Rng) => string }> = [
  { category: 'User', action: 'Add', detail: (r) => `Add User ${person(r, 'acme.example').email}` },
  { category: 'User', action: 'Update', detail: (r) => `Activate User ${person(r, 'acme.example').email}` },
  { category: 'User', action: 'Update', detail: (r) => `Deactivate User ${person(r, 'acme.example').email}` },
  { category: 'User', action: 'Delete', detail: (r) => `Delete User ${person(r, 'acme.example').email}` },
  {
    category: 'User Settings',
    action: 'Update',
    detail: (r) => `Update user ${person(r, 'acme.example').email} settings: ${r.pick(SETTINGS)}`,
  },
  { category: 'Account', action: 'Update', detail: (r) => `Update Account Settings: ${r.pick(SETTINGS)}` },
  {
    category: 'Recording',
    action: 'Delete',
    detail: (r) => `Delete recording of meeting ${r.int(1e9, 9e9)}`,
  },
  {
    category: 'Role',
    action: 'Update',
    detail: (r) => `Assign role Admin to ${person(r, 'acme.example').email}`,
  },
  { category: 'Zoom Rooms', action: 'Update', detail: (r) => `Update Zoom Room Boardroom ${r.int(1, 40)}` },
  { category: 'Webinar', action: 'Update', detail: (r) => `Update webinar ${r.int(1e9, 9e9)} registration` },
];
