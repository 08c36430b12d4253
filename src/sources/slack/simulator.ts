/**
 * Slack Audit Logs API simulator (`GET /audit/v1/logs`), following Slack's documented behaviour:
 *
 * - docs.slack.dev/reference/audit-logs-api/methods-actions-reference: base URL
 *   `https://api.slack.com/audit/v1/`, read-only (`GET` only); `Authorization: Bearer xoxp-…` of an
 *   Enterprise organization owner with `auditlogs:read`; filters `latest` and `oldest` (Unix seconds,
 *   both inclusive), `limit` ("Number of results to optimistically return, maximum 9999"), `action`
 *   (comma-separated, maximum 30), `actor`, `entity`; "the default ordering being descending (most to
 *   least recent)"; cursor-based pagination; "You may receive more than the passed limit results … if
 *   there are multiple logs that were recorded at the exact same time"; all methods Tier 3, "up to 50
 *   calls per minute", counted organization-wide.
 * - docs.slack.dev/admins/audit-logs-api: the entry shape {"entries":[{"id","date_create","action",
 *   "actor":{"type":"user","user":{…}},"entity":{"type",…},"context":{"location":{…},"ua","ip_address",
 *   "session_id"},"details"?}]}.
 * - docs.slack.dev/apis/web-api/pagination#cursors: `cursor` in, `response_metadata.next_cursor` out;
 *   an empty `next_cursor` means there is nothing more.
 * - docs.slack.dev/apis/web-api/rate-limits: past the limit, HTTP 429 with `Retry-After` (seconds).
 *
 * Assumed (not documented for this API), decided here after the Slack Web API conventions: error bodies
 * {"ok":false,"error":"<code>"}: 401 `not_authed` / `invalid_auth`, 403 `missing_scope` (with `needed`
 * and `provided`) and `feature_not_enabled` (no Enterprise plan), 400 `invalid_arguments` and
 * `invalid_cursor`, 429 `ratelimited`; the default `limit` is 100; ties within a second are ordered by
 * arrival (newest first).
 */
import { randomBytes } from 'node:crypto';
import {
  browser,
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
} from '../../sim/kit.ts';

export interface SlackSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Events generated up front (default 100), `spacingMs` apart, the last one 5 minutes before now. */
  events?: number;
  /** Time of the first event (epoch ms or ISO). */
  start?: number | string;
  spacingMs?: number;
  /** Records of about this many bytes of JSON. */
  eventBytes?: number;
  /** The xoxp token accepted (random by default). */
  token?: string;
  /** Scopes granted to the token (default auditlogs:read). */
  scopes?: string[];
  /** false: the organization has no Enterprise plan (403 feature_not_enabled). */
  enterprisePlan?: boolean;
  /** Calls per minute, organization-wide (default 50, Tier 3). */
  rateLimitPerMinute?: number;
  host?: string;
  port?: number;
}

export type SlackAddEventsOptions = SpacedEvents;

interface Position {
  s: number;
  seq: number;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 9999;

export class SlackSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  private token_: string;
  private readonly opts: {
    spacingMs: number;
    eventBytes?: number;
    scopes: string[];
    enterprisePlan: boolean;
    rateLimitPerMinute: number;
  };
  /** Per event: `date_create` (seconds) and when it becomes visible (ms). */
  private readonly sec: number[] = [];
  private readonly vis: number[] = [];
  private order: number[] = [];
  private sorted = true;
  private rl = { minute: -1, count: 0 };
  private loopPages = 0;

  constructor(o: SlackSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.token_ = o.token ?? newToken();
    this.opts = {
      spacingMs: o.spacingMs ?? 1000,
      eventBytes: o.eventBytes,
      scopes: o.scopes ?? ['auditlogs:read'],
      enterprisePlan: o.enterprisePlan ?? true,
      rateLimitPerMinute: o.rateLimitPerMinute ?? 50,
    };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      host: o.host,
      port: o.port,
      hooks: {
        errorReply: (_req, status) => this.statusError(status),
        rateLimitReply: () => json(429, { ok: false, error: 'ratelimited' }),
      },
    });
    this.server.route('GET', '/audit/v1/logs', (req) => this.logs(req));
    const n = o.events ?? 100;
    const spacing = this.opts.spacingMs;
    const start =
      o.start === undefined
        ? this.clock() - 5 * 60_000 - Math.max(0, n - 1) * spacing
        : typeof o.start === 'string'
          ? Date.parse(o.start)
          : o.start;
    for (let i = 0; i < n; i++) this.append(start + i * spacing, start + i * spacing);
  }

  /** The API base the client uses (`…/audit/v1`). */
  override get url(): string {
    return `${this.server.url}/audit/v1`;
  }

  get token(): string {
    return this.token_;
  }

  /** Revokes the token (401 invalid_auth from now on) and accepts a new one. */
  rotateToken(token = newToken()): string {
    this.token_ = token;
    return token;
  }

  /** The next `pages` answers repeat the request's own cursor (a looping vendor). */
  loopNextCursors(pages = 1): void {
    this.loopPages = pages;
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  /** Adds `n` events; returns their ids. */
  addEvents(n: number, o: SlackAddEventsOptions = {}): string[] {
    return spacedEvents(n, this.clock(), this.opts.spacingMs, o).map(([t, visible]) =>
      this.idOf(this.append(t, visible)),
    );
  }

  /** Every event (visible or not), oldest first. */
  events(): Array<Record<string, any>> {
    this.sort();
    return this.order.map((s) => JSON.parse(this.eventJson(s)));
  }

  /** Every event id, oldest first. */
  eventIds(): string[] {
    this.sort();
    return this.order.map((s) => this.idOf(s));
  }

  // -------------------------------------------------------------------------------------------

  private append(t: number, visible: number): number {
    const seq = this.sec.length;
    const s = Math.floor(t / 1000);
    this.sec.push(s);
    this.vis.push(visible);
    const last = this.order[this.order.length - 1];
    if (last !== undefined && this.sec[last] > s) this.sorted = false;
    this.order.push(seq);
    return seq;
  }

  private sort(): void {
    if (this.sorted) return;
    this.order.sort((a, b) => this.sec[a] - this.sec[b] || a - b);
    this.sorted = true;
  }

  private idOf(seq: number): string {
    return stableUuid(seq & 0xffff, seq >>> 0, this.seed);
  }

  /** The exact JSON Slack would send for event `seq`. */
  eventJson(seq: number): string {
    const rng = new Rng(seedOf(this.seed, 'event', seq));
    const actor = userOf(rng);
    const a = rng.pick(ACTIONS);
    const entity: Record<string, unknown> = { type: a.entity };
    switch (a.entity) {
      case 'user':
        entity.user = a.action.startsWith('user_log') ? actor : userOf(rng);
        break;
      case 'channel':
        entity.channel = {
          id: `C0${rng.chars(UPPER, 9)}`,
          privacy: a.action.startsWith('private') ? 'private' : 'public',
          name: rng.pick(CHANNELS),
          is_shared: false,
          is_org_shared: rng.bool(0.2),
        };
        break;
      case 'file':
        entity.file = {
          id: `F0${rng.chars(UPPER, 9)}`,
          name: rng.pick(FILES),
          filetype: 'pdf',
          title: 'Quarterly review',
        };
        break;
      case 'app':
        entity.app = {
          id: `A0${rng.chars(UPPER, 9)}`,
          name: rng.pick(APPS),
          is_distributed: rng.bool(),
          is_directory_approved: rng.bool(0.7),
          scopes: rng.sample(SCOPES, 3),
        };
        break;
      default:
        entity.workspace = { id: WORKSPACE.id, name: WORKSPACE.name, domain: WORKSPACE.domain };
    }
    const location = a.entity === 'workspace' || rng.bool(0.5) ? WORKSPACE : ENTERPRISE;
    const e: Record<string, unknown> = {
      id: this.idOf(seq),
      date_create: this.sec[seq],
      action: a.action,
      actor: { type: 'user', user: actor },
      entity,
      context: {
        location: { type: location.type, id: location.id, name: location.name, domain: location.domain },
        ua: browser(rng).raw,
        ip_address: ipv4(rng),
        session_id: String(rng.int(100_000_000_000, 999_999_999_999)),
      },
    };
    if (a.details) e.details = a.details(rng);
    if (this.opts.eventBytes) pad(e, this.opts.eventBytes, rng);
    return JSON.stringify(e);
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  private statusError(status: number): SimReply {
    const code =
      status === 401
        ? 'invalid_auth'
        : status === 403
          ? 'missing_scope'
          : status === 404
            ? 'unknown_method'
            : status === 429
              ? 'ratelimited'
              : status >= 500
                ? 'internal_error'
                : 'invalid_arguments';
    return json(status, { ok: false, error: code });
  }

  private logs(req: SimRequest): SimReply {
    const now = this.clock();
    const minute = Math.floor(now / 60_000);
    if (minute !== this.rl.minute) this.rl = { minute, count: 0 };
    if (++this.rl.count > this.opts.rateLimitPerMinute) {
      return json(
        429,
        { ok: false, error: 'ratelimited' },
        { 'retry-after': String(Math.max(1, Math.ceil(((minute + 1) * 60_000 - now) / 1000))) },
      );
    }
    const auth = String(req.headers.authorization ?? '');
    if (!auth) return json(401, { ok: false, error: 'not_authed' });
    if (auth !== `Bearer ${this.token_}`) return json(401, { ok: false, error: 'invalid_auth' });
    if (!this.opts.scopes.includes('auditlogs:read')) {
      return json(403, {
        ok: false,
        error: 'missing_scope',
        needed: 'auditlogs:read',
        provided: this.opts.scopes.join(','),
      });
    }
    if (!this.opts.enterprisePlan) return json(403, { ok: false, error: 'feature_not_enabled' });

    const q = req.query;
    const int = (name: string): number | undefined | null => {
      const v = q.get(name);
      if (v === null || v === '') return undefined;
      return /^\d+$/.test(v) ? Number(v) : null;
    };
    const oldest = int('oldest');
    const latest = int('latest');
    const limitRaw = int('limit');
    if (oldest === null || latest === null || limitRaw === null || (limitRaw ?? 0) > MAX_LIMIT)
      return json(400, { ok: false, error: 'invalid_arguments' });
    const limit = limitRaw || DEFAULT_LIMIT;
    const actions = (q.get('action') ?? '').split(',').filter(Boolean);
    if (actions.length > 30) return json(400, { ok: false, error: 'invalid_arguments' });
    const actor = q.get('actor');
    const entityId = q.get('entity');
    let after: Position | undefined;
    const cursorRaw = q.get('cursor');
    if (cursorRaw) {
      after = decodeCursor(cursorRaw);
      if (!after) return json(400, { ok: false, error: 'invalid_cursor' });
    }

    // Newest first: (date_create, arrival) descending.
    this.sort();
    const matches: number[] = [];
    for (let i = this.order.length - 1; i >= 0; i--) {
      const seq = this.order[i];
      const s = this.sec[seq];
      if (this.vis[seq] > now) continue;
      if (latest !== undefined && s > latest) continue;
      if (oldest !== undefined && s < oldest) break;
      if (after && (s > after.s || (s === after.s && seq >= after.seq))) continue;
      if (actions.length || actor || entityId) {
        const e = JSON.parse(this.eventJson(seq));
        if (actions.length && !actions.includes(e.action)) continue;
        if (actor && e.actor?.user?.id !== actor) continue;
        if (entityId && !Object.values(e.entity ?? {}).some((v: any) => v?.id === entityId)) continue;
      }
      matches.push(seq);
    }

    let page: number[] = [];
    let next = '';
    if (req.empty) {
      // Injected `empty`: a valid empty page whose cursor points at the same position again.
      next = cursorRaw || encodeCursor({ s: Number.MAX_SAFE_INTEGER, seq: 0 });
    } else {
      let n = Math.min(limit, matches.length);
      // More than `limit` when several logs share the last one's second (documented).
      while (n > 0 && n < matches.length && this.sec[matches[n]] === this.sec[matches[n - 1]]) n++;
      page = matches.slice(0, n);
      if (this.loopPages > 0) {
        this.loopPages--;
        next = cursorRaw || encodeCursor({ s: Number.MAX_SAFE_INTEGER, seq: 0 });
      } else if (n < matches.length) {
        const last = page[page.length - 1];
        next = encodeCursor({ s: this.sec[last], seq: last });
      }
    }
    let body = '{"entries":[';
    for (let i = 0; i < page.length; i++) body += (i ? ',' : '') + this.eventJson(page[i]);
    body += `],"response_metadata":{"next_cursor":${JSON.stringify(next)}}}`;
    return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body };
  }
}

function encodeCursor(p: Position): string {
  return Buffer.from(`event:${p.s}:${p.seq}`).toString('base64');
}

function decodeCursor(s: string): Position | undefined {
  const m = /^event:(\d+):(\d+)$/.exec(Buffer.from(s, 'base64').toString());
  return m ? { s: Number(m[1]), seq: Number(m[2]) } : undefined;
}

function newToken(): string {
  const d = () => String(randomBytes(6).readUIntBE(0, 6)).slice(0, 12);
  return `xoxp-${d()}-${d()}-${d()}-${randomBytes(16).toString('hex')}`;
}

const UPPER = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ENTERPRISE = { type: 'enterprise', id: 'E1701NCCA', name: 'Birdland', domain: 'birdland' };
const WORKSPACE = { type: 'workspace', id: 'T123AB456', name: 'Birdland HQ', domain: 'birdland-hq' };

function userOf(rng: Rng): Record<string, string> {
  const p = person(rng, 'birdland.example');
  return { id: `W${rng.chars(UPPER, 8)}`, name: p.displayName, email: p.email, team: WORKSPACE.id };
}

const CHANNELS = [
  'general',
  'security-alerts',
  'eng-platform',
  'sales-emea',
  'incident-2231',
  'random',
] as const;
const FILES = ['q3-review.pdf', 'roadmap.pdf', 'payroll-2026.pdf', 'architecture.pdf'] as const;
const APPS = ['Google Drive', 'Jira Cloud', 'PagerDuty', 'GitHub', 'Zoom', 'Polly'] as const;
const SCOPES = [
  'channels:read',
  'chat:write',
  'files:read',
  'users:read',
  'users:read.email',
  'im:history',
] as const;

const ACTIONS: ReadonlyArray<{
  action: string;
  entity: 'user' | 'channel' | 'file' | 'app' | 'workspace';
  details?: (rng: Rng) => Record<string, unknown>;
}> = [
  { action: 'user_login', entity: 'user' },
  { action: 'user_login', entity: 'user' },
  { action: 'user_logout', entity: 'user' },
  { action: 'user_created', entity: 'user' },
  { action: 'user_deactivated', entity: 'user' },
  { action: 'role_change_to_admin', entity: 'user' },
  { action: 'user_channel_join', entity: 'channel' },
  { action: 'public_channel_created', entity: 'channel' },
  { action: 'private_channel_created', entity: 'channel' },
  {
    action: 'channel_renamed',
    entity: 'channel',
    details: (rng) => ({ previous_name: rng.pick(CHANNELS), new_name: rng.pick(CHANNELS) }),
  },
  { action: 'file_downloaded', entity: 'file' },
  { action: 'file_uploaded', entity: 'file' },
  { action: 'file_public_link_created', entity: 'file' },
  { action: 'app_installed', entity: 'app' },
  {
    action: 'app_scopes_expanded',
    entity: 'app',
    details: (rng) => ({ new_scopes: rng.sample(SCOPES, 2), bot_scopes: [] }),
  },
  {
    action: 'emoji_added',
    entity: 'workspace',
    details: (rng) => ({ name: rng.pick(['partyparrot', 'shipit']) }),
  },
];

/** Pads a record to about `bytes` of JSON with app scopes in `details` (app_scopes_expanded carries them). */
function pad(e: Record<string, unknown>, bytes: number, rng: Rng): void {
  let left = bytes - JSON.stringify(e).length - 30;
  if (left <= 0) return;
  const scopes: string[] = [];
  while (left > 0) {
    const s = rng.pick(SCOPES);
    scopes.push(s);
    left -= s.length + 3;
  }
  e.details = { ...(e.details as object | undefined), new_scopes: scopes };
}
