/**
 * Dropbox simulator: the OAuth refresh-token grant and the team activity log. Vendor behaviour, with where
 * Dropbox documents it:
 *
 * - `POST /oauth2/token` (dropbox.tech/developers/using-oauth-2-0-with-offline-access): `grant_type=
 *   refresh_token`, `refresh_token`, `client_id`, `client_secret` → `{access_token: "sl.…", token_type:
 *   "bearer", expires_in: 14400}`; a revoked refresh token is 400 `invalid_grant`, a wrong app
 *   `invalid_client`.
 * - `POST /2/team_log/get_events` `{limit (1–1000, default 1000), time: {start_time, end_time},
 *   category}` and `POST /2/team_log/get_events/continue` `{cursor}` (the SDKs' route documentation,
 *   generated from Dropbox's API spec): `{events, cursor, has_more}`. "If end_time is not specified …
 *   you may use the returned cursor to poll get_events/continue for new events"; the cursor "may change
 *   for each response … regardless of the value of has_more; older cursor strings may expire"; "some calls
 *   may not return limit number of events, and may even return no events, even with has_more set to true";
 *   "events are not guaranteed to be sorted by their timestamp value". An expired cursor is 409
 *   `GetTeamEventsContinueError.reset`, whose value is "the approximate timestamp of the most recent event
 *   returned by the cursor", to resume from with get_events; an unknown one `bad_cursor`.
 * - Events follow the TeamEvent schema: `timestamp` ("%Y-%m-%dT%H:%M:%SZ"), `event_category`, `actor`,
 *   `origin`, `involve_non_team_member`, `context`, `assets`, `event_type {.tag, description}`, `details`.
 *   They carry no id.
 * - Errors (developers/documentation/http/documentation, "Errors"): 401 `{error_summary, error: {.tag:
 *   expired_access_token | invalid_access_token | missing_scope}}`, 409 endpoint errors, 429
 *   `too_many_requests` with `Retry-After`.
 *
 * Assumed where Dropbox is silent: events are listed in the order Dropbox recorded them (late ones after the
 * cursor); a cursor is a position in that order and re-asking one answers the same page again; cursors
 * expire after 7 days ("normally valid for days"); `resetCursors()` makes every cursor issued so far
 * answer `reset`; `start_time` is inclusive and `end_time` exclusive.
 */
import { randomBytes } from 'node:crypto';
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

export interface DropboxSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Events generated up front (default 60), `spacingMs` apart, the last a minute before now. */
  events?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** Access token lifetime (default 14400 s, as Dropbox issues). */
  tokenTtlS?: number;
  /** Cursor lifetime (default 7 days). */
  cursorTtlMs?: number;
  /** false: the app lacks the events.read scope (401 missing_scope). */
  eventsScope?: boolean;
}

interface Ev {
  seq: number;
  t: number;
  vis: number;
}

interface Cursor {
  /** After this point of the log (vis, seq). */
  vis: number;
  seq: number;
  startTime?: number;
  category?: string;
  /** The `limit` of the get_events call that started the cursor (continue takes no limit). */
  limit: number;
  issued: number;
  /** The newest event time this cursor (and the ones before it) returned. */
  newest?: number;
}

const sec = (ms: number) => Math.floor(ms / 1000) * 1000;
const dbxTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

const TYPES = [
  ['logins', 'login_success', 'Signed in'],
  ['logins', 'login_fail', 'Failed to sign in'],
  ['file_operations', 'file_download', 'Downloaded files and/or folders'],
  ['file_operations', 'file_add', 'Added files and/or folders'],
  ['sharing', 'shared_content_add_member', 'Added users and/or groups to shared file/folder'],
  ['sharing', 'shared_link_create', 'Created shared link'],
  ['members', 'member_change_status', 'Changed member status'],
  ['team_policies', 'sign_in_as_session_start', 'Started admin sign-in-as session'],
] as const;

export class DropboxSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly appKey: string;
  readonly appSecret: string;
  readonly refreshToken: string;
  private readonly o: DropboxSimulatorOptions & {
    spacingMs: number;
    tokenTtlMs: number;
    cursorTtlMs: number;
  };
  private log: Ev[] = [];
  private seq = 0;
  private readonly tokens = new Map<string, number>();
  private tokenCount = 0;
  private readonly cursors = new Map<string, Cursor>();
  private cursorCount = 0;
  private resetBefore = -1;
  private loopPages = 0;
  /** The JSON arguments of every team_log call, in order (the request log keeps no bodies). */
  readonly args: Array<{ path: string; arg: unknown }> = [];

  constructor(o: DropboxSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(this.seed);
    this.appKey = rng.chars('abcdefghijklmnopqrstuvwxyz0123456789', 15);
    this.appSecret = rng.chars('abcdefghijklmnopqrstuvwxyz0123456789', 15);
    this.refreshToken = `${rng.base62(11)}AAAAAAAAAA${rng.base62(43)}`;
    this.o = {
      spacingMs: 60_000,
      ...o,
      tokenTtlMs: (o.tokenTtlS ?? 14_400) * 1000,
      cursorTtlMs: o.cursorTtlMs ?? 7 * 86_400_000,
    };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) =>
          status >= 500
            ? { status, headers: { 'content-type': 'text/plain' }, body: 'Internal Server Error' }
            : json(status, { error_summary: `other/${status}`, error: { '.tag': 'other' } }),
        rateLimitReply: (_req, retryAfter) =>
          json(429, {
            error_summary: 'too_many_requests/..',
            error: { reason: { '.tag': 'too_many_requests' }, retry_after: retryAfter },
          }),
      },
    });
    this.server.route('POST', '/oauth2/token', (r) => this.token(r));
    this.server.route('POST', '/2/team_log/get_events', (r) => this.guard(r, () => this.getEvents(r)));
    this.server.route('POST', '/2/team_log/get_events/continue', (r) =>
      this.guard(r, () => this.continue(r)),
    );
    // Team endpoints that change state: routed so a test that sees one fails on writeCalls().
    this.server.route('POST', '/2/team/members/remove', () => json(200, {}));
    this.server.route('POST', '/2/team/members/suspend', () => json(200, {}));
    const n = o.events ?? 60;
    this.addEvents(n, { from: this.clock() - 60_000 - (n - 1) * this.o.spacingMs });
  }

  account(): Record<string, string> {
    return {
      appKey: this.appKey,
      appSecret: this.appSecret,
      refreshToken: this.refreshToken,
      tokenUrl: `${this.url}/oauth2/token`,
      apiUrl: this.url,
    };
  }

  /**
   * Calls that could change Dropbox data. Every team_log call is a POST (Dropbox's RPC style) that only
   * reads, as is minting a token.
   */
  writeCalls(): RecordedRequest[] {
    return this.server
      .writeCalls()
      .filter((r) => r.path !== '/oauth2/token' && !r.path.startsWith('/2/team_log/'));
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  tokensIssued(): number {
    return this.tokenCount;
  }

  /** Every cursor issued so far answers `reset` from now on (Dropbox may reset cursors sooner than days). */
  resetCursors(): void {
    this.resetBefore = this.cursorCount;
  }

  /** The next `pages` answers hand back the request's own cursor (a looping vendor). */
  loopNextCursors(pages = 1): void {
    this.loopPages = pages;
  }

  /** Ids (hashes are Tributary's; this is every event's identity for tests): times and seqs. */
  events(): Array<Record<string, unknown>> {
    return this.log.map((e) => this.event(e));
  }

  addEvents(n: number, o: SpacedEvents = {}): Array<Record<string, unknown>> {
    const added = spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      const e = { seq: this.seq++, t: sec(t), vis };
      this.log.push(e);
      return e;
    });
    this.log.sort((a, b) => a.vis - b.vis || a.seq - b.seq);
    return added.map((e) => this.event(e));
  }

  // -------------------------------------------------------------------------------------------

  private token(req: SimRequest): SimReply {
    const f = new URLSearchParams(req.body.toString('utf8'));
    if (f.get('client_id') !== this.appKey || f.get('client_secret') !== this.appSecret)
      return json(400, { error: 'invalid_client', error_description: 'Invalid client_id or client_secret' });
    if (f.get('grant_type') !== 'refresh_token')
      return json(400, { error: 'unsupported_grant_type', error_description: 'unsupported grant_type' });
    if (f.get('refresh_token') !== this.refreshToken)
      return json(400, { error: 'invalid_grant', error_description: 'refresh token is invalid or revoked' });
    const token = `sl.${randomBytes(30).toString('base64url')}`;
    this.tokens.set(token, this.clock() + this.o.tokenTtlMs);
    this.tokenCount++;
    return json(200, {
      access_token: token,
      token_type: 'bearer',
      expires_in: Math.round(this.o.tokenTtlMs / 1000),
    });
  }

  private guard(req: SimRequest, next: () => SimReply): SimReply {
    const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const expires = auth ? this.tokens.get(auth[1]) : undefined;
    if (expires === undefined)
      return json(401, {
        error_summary: 'invalid_access_token/...',
        error: { '.tag': 'invalid_access_token' },
      });
    if (expires <= this.clock())
      return json(401, {
        error_summary: 'expired_access_token/..',
        error: { '.tag': 'expired_access_token' },
      });
    if (this.o.eventsScope === false)
      return json(401, {
        error_summary: 'missing_scope/..',
        error: { '.tag': 'missing_scope', required_scope: 'events.read' },
      });
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
      return {
        status: 400,
        headers: { 'content-type': 'text/plain' },
        body: 'Error in call to API function "team_log/get_events": Bad HTTP "Content-Type" header',
      };
    return next();
  }

  private arg(req: SimRequest): Record<string, any> | undefined {
    try {
      return JSON.parse(req.body.toString('utf8') || 'null') ?? undefined;
    } catch {
      return undefined;
    }
  }

  private getEvents(req: SimRequest): SimReply {
    const a = this.arg(req);
    this.args.push({ path: req.path, arg: a });
    if (!a) return badInput('team_log/get_events', 'could not decode input as JSON');
    const limit = a.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      return badInput('team_log/get_events', `limit: ${limit} is not within range [1, 1000]`);
    const start = a.time?.start_time ? Date.parse(a.time.start_time) : undefined;
    if (a.time?.start_time && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(a.time.start_time))
      return badInput(
        'team_log/get_events',
        `time.start_time: '${a.time.start_time}' expected format "%Y-%m-%dT%H:%M:%SZ"`,
      );
    return this.page(
      { vis: -1, seq: -1, startTime: start, category: a.category, limit, issued: this.clock() },
      req,
    );
  }

  private continue(req: SimRequest): SimReply {
    const a = this.arg(req);
    this.args.push({ path: req.path, arg: a });
    if (typeof a?.cursor !== 'string')
      return badInput('team_log/get_events/continue', 'missing required field cursor');
    const c = this.cursors.get(a.cursor);
    if (!c) return json(409, { error_summary: 'bad_cursor/..', error: { '.tag': 'bad_cursor' } });
    const n = Number(a.cursor.split('.')[0]);
    if (n < this.resetBefore || this.clock() - c.issued > this.o.cursorTtlMs)
      return json(409, {
        error_summary: 'reset/...',
        error: { '.tag': 'reset', reset: dbxTime(c.newest ?? c.startTime ?? this.clock()) },
      });
    return this.page({ ...c, issued: this.clock() }, req, a.cursor);
  }

  /** The events after `from`, visible now: a page of them, and a cursor after the page. */
  private page(from: Cursor, req: SimRequest, asked?: string): SimReply {
    const now = this.clock();
    const after = this.log.filter(
      (e) =>
        e.vis <= now &&
        (e.vis > from.vis || (e.vis === from.vis && e.seq > from.seq)) &&
        (from.startTime === undefined || e.t >= from.startTime) &&
        (from.category === undefined || this.typeOf(e)[0] === from.category),
    );
    const page = req.empty ? [] : after.slice(0, from.limit);
    const last = page.at(-1);
    const next: Cursor = last
      ? { ...from, vis: last.vis, seq: last.seq, newest: Math.max(from.newest ?? 0, ...page.map((e) => e.t)) }
      : from;
    let cursor = this.issue(next);
    if (this.loopPages > 0 && asked && page.length > 0) {
      this.loopPages--;
      cursor = asked;
    }
    return json(200, {
      events: page.map((e) => this.event(e)),
      cursor,
      has_more: req.empty ? true : after.length > page.length,
    });
  }

  private issue(c: Cursor): string {
    const id = `${this.cursorCount++}.${randomBytes(24).toString('base64url')}`;
    this.cursors.set(id, c);
    return id;
  }

  /** The event's category, tag and description: the same draws as `event` makes first. */
  private typeOf(e: Ev): (typeof TYPES)[number] {
    const rng = new Rng(seedOf(this.seed, 'dbx', e.seq));
    person(rng, 'example.com');
    return rng.pick(TYPES);
  }

  private event(e: Ev): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'dbx', e.seq));
    const who = person(rng, 'example.com');
    const [category, tag, description] = rng.pick(TYPES);
    const ev: Record<string, unknown> = {
      timestamp: dbxTime(e.t),
      event_category: { '.tag': category },
      actor: {
        '.tag': 'user',
        user: {
          '.tag': 'team_member',
          account_id: `dbid:${rng.base62(40)}`,
          display_name: who.displayName,
          email: who.email,
          team_member_id: `dbmid:${rng.base62(40)}`,
        },
      },
      origin: {
        geo_location: { city: 'Berlin', region: 'Berlin', country: 'DE', ip_address: ipv4(rng) },
        access_method: {
          '.tag': 'end_user',
          end_user: { '.tag': 'web', session_id: `dbwsid:${rng.int(1e9, 9e9)}` },
        },
      },
      involve_non_team_member: false,
      context: {
        '.tag': 'team_member',
        account_id: `dbid:${rng.base62(40)}`,
        display_name: who.displayName,
        email: who.email,
      },
      assets:
        category === 'file_operations' || category === 'sharing'
          ? [
              {
                '.tag': 'file',
                path: { contextual: `/Finance/report-${e.seq}.pdf` },
                display_name: `report-${e.seq}.pdf`,
                file_id: `id:${rng.base62(22)}`,
              },
            ]
          : [],
      event_type: { '.tag': tag, description },
      details: { '.tag': `${tag}_details` },
    };
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(ev).length;
      if (left > 0) ev.details = { '.tag': `${tag}_details`, note: 'x'.repeat(left) };
    }
    return ev;
  }
}

function badInput(route: string, what: string): SimReply {
  return {
    status: 400,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: `Error in call to API function "${route}": request body: ${what}`,
  };
}
