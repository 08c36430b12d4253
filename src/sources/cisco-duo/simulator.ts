/**
 * Cisco Duo Admin API simulator: the four log endpoints the `cisco-duo` source reads, following Duo's
 * documented behaviour (duo.com/docs/adminapi, "Logs"; duo.com/docs/adminapi-v1 for the legacy handlers;
 * Duo's reference client duosecurity/duo_client_python, duo_client/admin.py and logs/telephony.py):
 *
 * - Every request is signed: `X-Duo-Date` and `Authorization: Basic ikey:signature`. The simulator checks
 *   the signature exactly as the `cisco-duo` account kind makes it (the v5 canonical string and
 *   HMAC-SHA512 of accounts/cisco-duo.ts, recomputed from the request as received) and the date's
 *   freshness against the wall clock (the signer's clock).
 * - `GET /admin/v2/logs/authentication`: `mintime`/`maxtime` (13-digit Unix ms, both required, "mintime
 *   or later" / "maxtime or earlier", mintime strictly less than maxtime), `limit` (default 100, max
 *   1000), `sort` (`ts:desc` default, `ts:asc`), `next_offset` ("a 13 character date string in
 *   milliseconds and the event txid", comma-separated); response `{stat, response: {authlogs[],
 *   metadata: {next_offset: [ts, txid], total_objects}}}`; records carry `txid`, `timestamp` (s) and
 *   `isotimestamp`; "from the last 180 days up to as recently as two minutes before the API request":
 *   "Querying for results more recent than two minutes will return as empty."
 * - `GET /admin/v2/logs/telephony` and `GET /admin/v2/logs/activity`: the same parameters; response
 *   `{items[], metadata: {next_offset: "ts,id", total_objects: {relation, value}}}`; telephony records
 *   `{context, credits, phone, telephony_id, ts, txid, type}` ("a two minute delay in availability of new
 *   telephony logs"), activity records `{access_device, action, activity_id, actor, akey, application,
 *   target, ts}`.
 * - `GET /admin/v1/logs/administrator`: `mintime` in Unix seconds ("records … after mintime"); "Only the
 *   1000 earliest events will be returned; you may need to call this multiple times with mintime to page
 *   through the entire log"; response `{stat, response: [{action, description, isotimestamp, object,
 *   timestamp, username}]}`; no id field.
 * - All require the "Grant read log" permission; "We recommend requesting logs no more than once per
 *   minute". Error bodies `{code, message, stat: "FAIL"}` (help.duo.com article 1338, "API error response
 *   messages": 40102 invalid integration key, 40103 invalid signature).
 *
 * Assumed (Duo documents no detail), decided here: the once-a-minute guidance is enforced per endpoint
 * (`logRequestsPerMinute`, default 1) with 429 `{code: 42901, "Too Many Requests"}` and no Retry-After;
 * a missing permission is 403 40301 "Access forbidden"; bad parameters are 400 40002 "Invalid request
 * parameters" with `message_detail` naming the parameter; a request date more than 5 minutes off is 401
 * 40105; `next_offset` marks the last record returned and the next page starts after it; ties are
 * ordered by arrival.
 */

import { type DuoAccount, duoAuthorization } from '../../accounts/cisco-duo.ts';
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
  stableUuid,
  TimedLog,
} from '../../sim/kit.ts';

export type DuoLog = 'authentication' | 'administrator' | 'telephony' | 'activity';

export const DUO_LOG_PATHS: Record<DuoLog, string> = {
  authentication: '/admin/v2/logs/authentication',
  administrator: '/admin/v1/logs/administrator',
  telephony: '/admin/v2/logs/telephony',
  activity: '/admin/v2/logs/activity',
};

export interface DuoSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Records generated up front per log (default 100 each), `spacingMs` apart, the last 5 minutes ago. */
  events?: Partial<Record<DuoLog, number>>;
  spacingMs?: number;
  /** Activity records of about this many bytes of JSON (long `target.details`). */
  eventBytes?: number;
  /** false: the Admin API application lacks "Grant read log" (403). */
  readLog?: boolean;
  /** Requests a minute per log endpoint before 429 (default 1, Duo's guidance). */
  logRequestsPerMinute?: number;
  /** Largest difference between the request date and the wall clock (default 5 minutes). */
  maxClockSkewMs?: number;
  host?: string;
  port?: number;
}

export type DuoAddOptions = SpacedEvents;

const V2_DEFAULT_LIMIT = 100;
const V2_MAX_LIMIT = 1000;
const ADMIN_PAGE = 1000;
/** "Querying for results more recent than two minutes will return as empty." */
const DELAY_MS = 120_000;
const RETENTION_MS = 180 * 86_400_000;
const DELAYED: ReadonlySet<DuoLog> = new Set(['authentication', 'telephony']);

const fail = (status: number, code: number, message: string, detail?: string) =>
  json(status, { code, message, ...(detail ? { message_detail: detail } : {}), stat: 'FAIL' });

export class DuoSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly integrationKey: string;
  readonly apiHostname: string;
  private secretKey_: string;
  private readonly opts: {
    spacingMs: number;
    eventBytes?: number;
    readLog: boolean;
    perMinute: number;
    maxSkewMs: number;
  };
  private readonly logs: Record<DuoLog, TimedLog> = {
    authentication: new TimedLog(),
    administrator: new TimedLog(),
    telephony: new TimedLog(),
    activity: new TimedLog(),
  };
  private readonly rate = new Map<string, { minute: number; count: number }>();
  private loopPages = 0;

  constructor(o: DuoSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'keys'));
    const UPPER = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    this.integrationKey = `DI${rng.chars(UPPER, 18)}`;
    this.secretKey_ = rng.base62(40);
    this.apiHostname = `api-${rng.chars('0123456789abcdef', 8)}.duosecurity.com`;
    this.opts = {
      spacingMs: o.spacingMs ?? 1000,
      eventBytes: o.eventBytes,
      readLog: o.readLog ?? true,
      perMinute: o.logRequestsPerMinute ?? 1,
      maxSkewMs: o.maxClockSkewMs ?? 300_000,
    };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      host: o.host,
      port: o.port,
      hooks: {
        errorReply: (_req, status) => this.statusError(status),
        rateLimitReply: () => fail(429, 42901, 'Too Many Requests'),
      },
    });
    for (const log of Object.keys(DUO_LOG_PATHS) as DuoLog[])
      this.server.route('GET', DUO_LOG_PATHS[log], (req) => this.handle(req, log));
    const now = this.clock();
    for (const log of Object.keys(DUO_LOG_PATHS) as DuoLog[]) {
      const n = o.events?.[log] ?? 100;
      const start = now - 5 * 60_000 - Math.max(0, n - 1) * this.opts.spacingMs;
      for (let i = 0; i < n; i++) {
        const t = start + i * this.opts.spacingMs;
        this.logs[log].add(t, t);
      }
    }
  }

  /** The base URL the source uses instead of `https://{apiHostname}`. */
  get secretKey(): string {
    return this.secretKey_;
  }

  /** The fields of a `cisco-duo` account for this simulator (its base URL goes in the collector). */
  account(): DuoAccount {
    return { integrationKey: this.integrationKey, secretKey: this.secretKey_, apiHostname: this.apiHostname };
  }

  /** A new secret key (the old one stops working), as "Reset secret key" in the Admin Panel does. */
  resetSecretKey(): string {
    this.secretKey_ = new Rng(seedOf(this.seed, 'reset', this.secretKey_)).base62(40);
    return this.secretKey_;
  }

  /** The next `pages` answers of the v2 logs repeat the request's own `next_offset` (a looping vendor). */
  loopNextOffsets(pages = 1): void {
    this.loopPages = pages;
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  addEvents(log: DuoLog, n: number, o: DuoAddOptions = {}): string[] {
    return spacedEvents(n, this.clock(), this.opts.spacingMs, o).map(([t, visible]) =>
      this.idOf(log, this.logs[log].add(t, visible)),
    );
  }

  /** The id the source gives a record: `txid`, `telephony_id`, `activity_id`, or the record's hash. */
  idOf(log: DuoLog, seq: number): string {
    if (log === 'authentication') return this.uuid(log, seq);
    if (log === 'telephony') return this.uuid(log, seq);
    if (log === 'activity') return this.uuid(log, seq);
    return hashId(JSON.parse(this.recordJson(log, seq)));
  }

  eventIds(log: DuoLog): string[] {
    return this.logs[log].ascending().map((s) => this.idOf(log, s));
  }

  records(log: DuoLog): Array<Record<string, any>> {
    return this.logs[log].ascending().map((s) => JSON.parse(this.recordJson(log, s)));
  }

  private uuid(log: DuoLog, seq: number): string {
    return stableUuid(seq & 0xffff, seq >>> 0, seedOf(this.seed, log));
  }

  /** The exact JSON Duo would send for record `seq`. */
  recordJson(log: DuoLog, seq: number): string {
    const rng = new Rng(seedOf(this.seed, log, seq));
    const t = this.logs[log].t[seq];
    const iso = isoOffset(t, rng.int(0, 999));
    const user = person(rng, 'acme.example');
    const app = rng.pick(APPS);
    const location = rng.pick(LOCATIONS);
    switch (log) {
      case 'authentication': {
        const result = rng.weighted([
          ['success', 8],
          ['denied', 2],
        ] as const);
        return JSON.stringify({
          access_device: {
            browser: rng.pick(['Chrome', 'Edge', 'Safari', 'Firefox']),
            browser_version: `${rng.int(100, 130)}.0.${rng.int(1000, 6000)}.${rng.int(10, 200)}`,
            ip: ipv4(rng),
            location,
            os: rng.pick(['Windows', 'Mac OS X', 'Linux']),
          },
          alias: '',
          application: { key: app.key, name: app.name },
          auth_device: { ip: ipv4(rng), location, name: `+1 (555) 01${rng.int(10, 99)}` },
          email: user.email,
          event_type: 'authentication',
          factor: rng.pick(['duo_push', 'phone_call', 'passcode', 'webauthn_security_key']),
          isotimestamp: iso,
          reason:
            result === 'success' ? 'user_approved' : rng.pick(['user_marked_fraud', 'deny_unenrolled_user']),
          result,
          timestamp: Math.floor(t / 1000),
          txid: this.uuid(log, seq),
          user: {
            groups: [rng.pick(['Staff', 'Engineering', 'Finance'])],
            key: `DU${rng.chars(KEY, 18)}`,
            name: user.login,
          },
        });
      }
      case 'telephony':
        return JSON.stringify({
          context: rng.pick(['authentication', 'enrollment', 'administrator login']),
          credits: rng.int(1, 3),
          phone: `+1555${rng.int(1000000, 9999999)}`,
          telephony_id: this.uuid(log, seq),
          ts: iso,
          txid: rng.uuid(),
          type: rng.bool() ? 'sms' : 'phone',
        });
      case 'activity': {
        let details = JSON.stringify({ role: rng.pick(['Owner', 'Administrator', 'Help Desk']) });
        if (this.opts.eventBytes) {
          const groups: string[] = [];
          let left = this.opts.eventBytes - 600;
          while (left > 0) {
            const g = `${rng.pick(['Staff', 'Engineering', 'Finance', 'Contractors'])}-${rng.int(1, 999)}`;
            groups.push(g);
            left -= g.length + 5;
          }
          details = JSON.stringify({ groups });
        }
        return JSON.stringify({
          access_device: {
            browser: 'Chrome',
            browser_version: '126.0',
            ip: { address: ipv4(rng) },
            location,
            os: 'Mac OS X',
            os_version: '14.5',
          },
          action: rng.pick(['admin_login', 'user_update', 'group_update', 'integration_update']),
          activity_id: this.uuid(log, seq),
          actor: {
            details: JSON.stringify({ email: 'it-admin@acme.example' }),
            key: `DE${rng.chars(KEY, 18)}`,
            name: 'IT Admin',
            type: 'admin',
          },
          akey: `DA${rng.chars(KEY, 18)}`,
          application: { key: app.key, name: app.name, type: 'Admin API' },
          target: { details, key: `DU${rng.chars(KEY, 18)}`, name: user.login, type: 'user' },
          ts: iso,
        });
      }
      default: {
        const action = rng.pick(ADMIN_ACTIONS);
        return JSON.stringify({
          action,
          description: JSON.stringify({
            realname: user.displayName,
            status: rng.pick(['active', 'bypass', 'disabled']),
          }),
          isotimestamp: `${new Date(Math.floor(t / 1000) * 1000).toISOString().slice(0, 19)}+00:00`,
          object: user.login,
          timestamp: Math.floor(t / 1000),
          username: rng.pick(['admin', 'it-admin', 'helpdesk']),
        });
      }
    }
  }

  // -------------------------------------------------------------------------------------------

  private statusError(status: number): SimReply {
    if (status === 401) return fail(401, 40103, 'Invalid signature in request credentials');
    if (status === 403) return fail(403, 40301, 'Access forbidden');
    if (status === 404) return fail(404, 40401, 'Resource not found');
    if (status === 429) return fail(429, 42901, 'Too Many Requests');
    if (status >= 500) return fail(status, status * 100 + 1, 'Unknown internal server error');
    return fail(status, 40002, 'Invalid request parameters');
  }

  /** Checks the v5 signature as Duo does: recomputed from the request as it arrived. */
  private verify(req: SimRequest): SimReply | undefined {
    const auth = String(req.headers.authorization ?? '');
    const date = String(req.headers['x-duo-date'] ?? req.headers.date ?? '');
    if (!/^Basic\s+/i.test(auth) || !date) return fail(401, 40101, 'Missing request credentials');
    const [ikey] = Buffer.from(auth.replace(/^Basic\s+/i, ''), 'base64')
      .toString('utf8')
      .split(':');
    if (ikey !== this.integrationKey)
      return fail(401, 40102, 'Invalid integration key in request credentials');
    const xDuo = Object.entries(req.headers)
      .filter(([k]) => k.startsWith('x-duo'))
      .map(([k, v]) => [k, String(v)] as [string, string]);
    const expected = duoAuthorization(this.integrationKey, this.secretKey_, {
      date,
      method: req.method,
      host: String(req.headers.host),
      path: req.path,
      params: req.query,
      xDuoHeaders: xDuo,
    });
    if (auth !== expected) return fail(401, 40103, 'Invalid signature in request credentials');
    const at = Date.parse(date);
    if (!Number.isFinite(at) || Math.abs(at - Date.now()) > this.opts.maxSkewMs)
      return fail(401, 40105, 'Request date is too far from the current time');
    return undefined;
  }

  private handle(req: SimRequest, log: DuoLog): SimReply {
    const bad = this.verify(req);
    if (bad) return bad;
    if (!this.opts.readLog) return fail(403, 40301, 'Access forbidden');
    const now = this.clock();
    const minute = Math.floor(now / 60_000);
    const r = this.rate.get(log);
    const count = r && r.minute === minute ? r.count + 1 : 1;
    this.rate.set(log, { minute, count });
    if (count > this.opts.perMinute) return fail(429, 42901, 'Too Many Requests');
    return log === 'administrator' ? this.adminLog(req, now) : this.v2Log(req, log, now);
  }

  private visible(log: DuoLog, seq: number, now: number): boolean {
    const l = this.logs[log];
    return l.vis[seq] <= now && (!DELAYED.has(log) || l.t[seq] <= now - DELAY_MS);
  }

  private adminLog(req: SimRequest, now: number): SimReply {
    const raw = req.query.get('mintime') ?? '0';
    if (!/^\d{1,10}$/.test(raw)) return fail(400, 40002, 'Invalid request parameters', 'mintime');
    const after = Number(raw) * 1000;
    const log = this.logs.administrator;
    const page: number[] = [];
    if (!req.empty)
      for (const seq of log.ascending()) {
        // "records … after mintime", at whole seconds as the log records them.
        if (Math.floor(log.t[seq] / 1000) * 1000 <= after || !this.visible('administrator', seq, now))
          continue;
        page.push(seq);
        if (page.length >= ADMIN_PAGE) break;
      }
    let body = '{"stat":"OK","response":[';
    for (let i = 0; i < page.length; i++) body += (i ? ',' : '') + this.recordJson('administrator', page[i]);
    body += ']}';
    return { status: 200, headers: { 'content-type': 'application/json' }, body };
  }

  private v2Log(req: SimRequest, log: Exclude<DuoLog, 'administrator'>, now: number): SimReply {
    const q = req.query;
    const ms = (name: string) => {
      const v = q.get(name);
      return v !== null && /^\d{13}$/.test(v) ? Number(v) : undefined;
    };
    const mintime = ms('mintime');
    const maxtime = ms('maxtime');
    if (mintime === undefined) return fail(400, 40002, 'Invalid request parameters', 'mintime');
    if (maxtime === undefined || maxtime <= mintime)
      return fail(400, 40002, 'Invalid request parameters', 'maxtime');
    if (mintime < now - RETENTION_MS) return fail(400, 40002, 'Invalid request parameters', 'mintime');
    const limitRaw = q.get('limit');
    const limit = limitRaw === null ? V2_DEFAULT_LIMIT : /^\d+$/.test(limitRaw) ? Number(limitRaw) : 0;
    if (limit < 1 || limit > V2_MAX_LIMIT) return fail(400, 40002, 'Invalid request parameters', 'limit');
    const sort = q.get('sort') ?? 'ts:desc';
    if (sort !== 'ts:asc' && sort !== 'ts:desc')
      return fail(400, 40002, 'Invalid request parameters', 'sort');
    const asc = sort === 'ts:asc';
    const l = this.logs[log];
    let after: { t: number; seq: number } | undefined;
    const offsetRaw = q.get('next_offset');
    if (offsetRaw) {
      const m = /^(\d{13}),(.+)$/.exec(offsetRaw);
      const seq = m ? l.ascending().find((x) => this.uuid(log, x) === m[2]) : undefined;
      if (!m || seq === undefined) return fail(400, 40002, 'Invalid request parameters', 'next_offset');
      after = { t: Number(m[1]), seq };
    }
    const inRange = l
      .ascending()
      .filter((s) => l.t[s] >= mintime && l.t[s] <= maxtime && this.visible(log, s, now));
    const ordered = asc ? inRange : [...inRange].reverse();
    // Position (t, seq) in the sort order: the next page starts strictly after it.
    const beyond = (s: number, p: { t: number; seq: number }) =>
      asc ? l.t[s] > p.t || (l.t[s] === p.t && s > p.seq) : l.t[s] < p.t || (l.t[s] === p.t && s < p.seq);
    const rest = after ? ordered.filter((s) => beyond(s, after)) : ordered;
    const offsetOf = (t: number, seq: number): [string, string] => [String(t), this.uuid(log, seq)];
    let page: number[] = [];
    let next: [string, string] | null = null;
    if (req.empty) {
      // Injected `empty`: a valid empty page whose next_offset points at the same position again.
      const first = ordered[0];
      next = offsetRaw
        ? (offsetRaw.split(',', 2) as [string, string])
        : first === undefined
          ? null
          : offsetOf(l.t[first] + (asc ? -1 : 1), first);
    } else {
      page = rest.slice(0, limit);
      if (this.loopPages > 0 && offsetRaw) {
        this.loopPages--;
        next = offsetRaw.split(',', 2) as [string, string];
      } else if (rest.length > page.length) {
        const last = page[page.length - 1];
        next = offsetOf(l.t[last], last);
      }
    }
    const records = page.map((s) => this.recordJson(log, s)).join(',');
    const body =
      log === 'authentication'
        ? `{"stat":"OK","response":{"authlogs":[${records}],"metadata":{"next_offset":${JSON.stringify(next)},"total_objects":${inRange.length}}}}`
        : `{"stat":"OK","response":{"items":[${records}],"metadata":{"next_offset":${JSON.stringify(next ? next.join(',') : null)},"total_objects":{"relation":"eq","value":${inRange.length}}}}}`;
    return { status: 200, headers: { 'content-type': 'application/json' }, body };
  }
}

/** `2026-11-25T10:00:00.123456+00:00`: Duo's ISO form, microseconds and an explicit offset. */
function isoOffset(ms: number, micros: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}+00:00`;
}

const KEY = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const APPS = [
  { key: 'DIY231J8BR23QK4UKBY8', name: 'Microsoft 365' },
  { key: 'DIF947T2MN58HZ1DPWRC', name: 'Cisco AnyConnect' },
  { key: 'DI3KQ8ZP2M7R5T1XW9VB', name: 'Okta' },
] as const;
const LOCATIONS = [
  { city: 'Ann Arbor', country: 'United States', state: 'Michigan' },
  { city: 'Berlin', country: 'Germany', state: 'Berlin' },
  { city: 'London', country: 'United Kingdom', state: 'England' },
] as const;
const ADMIN_ACTIONS = [
  'admin_login',
  'user_create',
  'user_update',
  'user_delete',
  'group_update',
  'integration_update',
  'phone_create',
] as const;
