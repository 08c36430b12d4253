/**
 * Google Workspace Admin SDK Reports API simulator (`activities.list`), following Google's documentation:
 *
 * - developers.google.com/workspace/admin/reports/reference/rest/v1/activities/list ("HTTP request",
 *   "Path parameters", "Query parameters", "Response body") and the API's discovery document: GET /admin/reports/v1/activity/users/{userKey|all}/applications/{applicationName};
 *   `startTime`/`endTime` RFC 3339 (pattern from the discovery document), `startTime` before `endTime`
 *   and before now; without `endTime` the report runs to now; only the last 180 days are returned;
 *   Gmail needs both times, at most 30 days apart; `maxResults` 1–1000 (default 1000); `nextPageToken` /
 *   `pageToken`; `eventName` filter; `customerId`. Response {kind: "admin#reports#activities", etag,
 *   items[], nextPageToken}; items omitted when there are none. Activities newest first.
 * - Scope admin.reports.audit.readonly only; reports are read by an administrator (domain-wide
 *   delegation `sub`), otherwise 403. Auth and the token endpoint: src/sim/google.ts.
 * - Event shapes per application from the Reports API appendix pages (login, admin, drive, token, saml,
 *   groups, groups_enterprise, user_accounts, gemini_in_workspace_apps: ai_usage_event /
 *   feature_utilization with app_name, action, feature_source, event_category).
 *
 * Assumed (not documented), decided here: start and end are both inclusive (the older discovery text says "at or
 * after" / "at or before"); pages are keyset positions (time, sequence) in an opaque token bound to the
 * request's application, user, event name and time range ("The provided page token must be generated
 * within the same time interval as the request", as Elastic quotes Google), refused with 400 when reused
 * for another range or older than `pageTokenTtlMs` (24 h by default); the natural quota answers 429
 * RESOURCE_EXHAUSTED without Retry-After (an injected `rate-limit` fault adds one); an injected `empty`
 * fault answers a page without items whose nextPageToken continues from the same position.
 */

import { REPORTS_AUDIT_SCOPE } from '../../accounts/google.ts';
import { GoogleTokenSimulator, googleError } from '../../sim/google.ts';
import {
  type Clock,
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
} from '../../sim/kit.ts';
import { APPLICATIONS, type Application } from './index.ts';

const DAY = 86_400_000;
const RFC3339 = /^(\d\d\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:(Z)|([-+])(\d\d):(\d\d))$/;
const APP_PATTERN = `(${APPLICATIONS.join(')|(')})`;

export interface WorkspaceSimulatorOptions {
  clock?: Clock;
  seed?: number;
  /** Applications with generated activity, and how many activities each (default login and admin, 50). */
  activities?: Partial<Record<Application, number>>;
  /** Time between consecutive activities of one application (default 30 s). */
  spacingMs?: number;
  /** Activities of about this many bytes of JSON (padding in each event's parameters). */
  eventBytes?: number;
  domain?: string;
  /** Requests per minute before 429 RESOURCE_EXHAUSTED (default 2400). */
  rateLimitPerMinute?: number;
  /** Page tokens older than this are refused (default 24 h). */
  pageTokenTtlMs?: number;
  /** Domain-wide delegation scopes authorised in the Admin console (default the Reports scope). */
  delegatedScopes?: string[];
}

interface Row {
  app: Application;
  time: number;
  visible: number;
  seq: number;
}

interface Position {
  a: string;
  u: string;
  n: string;
  s: number;
  e: number;
  /** Last (time, seq) returned; undefined for the first page. */
  t?: number;
  q?: number;
  /** Issued at (simulator clock). */
  i: number;
}

export class GoogleWorkspaceSimulator extends SimHost {
  readonly server: SimServer;
  readonly tokens: GoogleTokenSimulator;
  readonly clock: Clock;
  readonly customerId: string;
  /** A super administrator: the `subject` to impersonate. */
  readonly admin: string;
  /** A user who is not an administrator (valid subject, no Reports privilege). */
  readonly user: string;
  private readonly seed: number;
  private readonly domain: string;
  private readonly rows: Row[] = [];
  private sorted = true;
  private readonly opts: { spacingMs: number; eventBytes?: number; rateLimitPerMinute: number; ttl: number };
  private readonly people: Person[];
  private rl = { window: -1, count: 0 };
  private loopPages = 0;

  constructor(o: WorkspaceSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = o.seed ?? 1;
    this.domain = o.domain ?? 'example.com';
    this.opts = {
      spacingMs: o.spacingMs ?? 30_000,
      eventBytes: o.eventBytes,
      rateLimitPerMinute: o.rateLimitPerMinute ?? 2400,
      ttl: o.pageTokenTtlMs ?? DAY,
    };
    const rng = new Rng(seedOf(this.seed, 'workspace'));
    this.customerId = `C0${rng.base62(7).toLowerCase()}`;
    this.people = Array.from({ length: 40 }, () => person(rng, this.domain));
    this.admin = `admin@${this.domain}`;
    this.user = this.people[0].email;
    this.tokens = new GoogleTokenSimulator({
      seed: this.seed,
      users: [this.admin, ...this.people.map((p) => p.email)],
      delegatedScopes: o.delegatedScopes ?? [REPORTS_AUDIT_SCOPE],
    });
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => this.statusError(status),
        rateLimitReply: () => this.quotaError(),
      },
    });
    this.tokens.mount(this.server);
    this.server.route(
      'GET',
      '/admin/reports/v1/activity/users/:userKey/applications/:applicationName',
      (req) => this.list(req),
    );
    const now = this.clock();
    for (const [app, n] of Object.entries(o.activities ?? { login: 50, admin: 50 })) {
      this.addActivities(app as Application, n ?? 0, {
        from: now - 5 * 60_000 - Math.max(0, (n ?? 0) - 1) * this.opts.spacingMs,
      });
    }
  }

  /** Calls that could change data: every POST except the token endpoint, and any other method. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => !(r.method === 'POST' && r.path === '/token'));
  }

  /** The next `pages` answers carry a nextPageToken for the position just read (a looping vendor). */
  loopNextLinks(pages = 1): void {
    this.loopPages = pages;
  }

  /**
   * Adds `n` activities of `app`, `spacingMs` apart from `from`, each visible at max(time + visibleDelayMs,
   * now) — Google's late reporting.
   */
  addActivities(
    app: Application,
    n: number,
    o: { from?: number; spacingMs?: number; visibleDelayMs?: number } = {},
  ): void {
    const now = this.clock();
    const spacing = o.spacingMs ?? this.opts.spacingMs;
    const from = o.from ?? now - n * spacing;
    for (let i = 0; i < n; i++) {
      const time = from + i * spacing;
      const last = this.rows.at(-1);
      if (last && last.time > time) this.sorted = false;
      this.rows.push({
        app,
        time,
        visible: Math.max(time + (o.visibleDelayMs ?? 0), now),
        seq: this.rows.length,
      });
    }
  }

  /** Every generated activity (visible or not), oldest first, as Google would send it. */
  activities(app?: Application): Array<Record<string, unknown>> {
    return this.ordered()
      .filter((r) => !app || r.app === app)
      .map((r) => JSON.parse(this.activityJson(r)));
  }

  // -------------------------------------------------------------------------------------------

  private ordered(): Row[] {
    if (!this.sorted) {
      this.rows.sort((a, b) => a.time - b.time || a.seq - b.seq);
      this.sorted = true;
    }
    return this.rows;
  }

  private quotaError(): SimReply {
    return googleError(
      429,
      "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com'.",
      'RESOURCE_EXHAUSTED',
      'rateLimitExceeded',
    );
  }

  private statusError(status: number): SimReply {
    switch (status) {
      case 400:
        return googleError(400, 'Bad Request', 'INVALID_ARGUMENT', 'badRequest');
      case 401:
        return googleError(
          401,
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
          'UNAUTHENTICATED',
          'authError',
        );
      case 403:
        return googleError(403, 'Not Authorized to access this resource/api', 'PERMISSION_DENIED');
      case 404:
        return googleError(404, 'Not Found', 'NOT_FOUND', 'notFound');
      case 429:
        return this.quotaError();
      case 503:
        return googleError(503, 'The service is currently unavailable.', 'UNAVAILABLE', 'backendError');
      default:
        return googleError(status, 'Internal error encountered.', 'INTERNAL', 'backendError');
    }
  }

  private invalid(message: string): SimReply {
    return googleError(400, message, 'INVALID_ARGUMENT', 'invalid');
  }

  private list(req: SimRequest): SimReply {
    const auth = this.tokens.authenticate(req, [REPORTS_AUDIT_SCOPE]);
    if (!auth.ok) return auth.reply;
    if (auth.sub !== this.admin) {
      // Without delegation (no sub) or as a non-administrator, reports cannot be read.
      return googleError(403, 'Not Authorized to access this resource/api', 'PERMISSION_DENIED');
    }
    const w = Math.floor(req.at / 60_000);
    if (w !== this.rl.window) this.rl = { window: w, count: 0 };
    if (++this.rl.count > this.opts.rateLimitPerMinute) return this.quotaError();

    const app = req.params.applicationName;
    if (!(APPLICATIONS as readonly string[]).includes(app)) {
      return this.invalid(
        `Invalid value '${app}'. Values must match the following regular expression: '${APP_PATTERN}'`,
      );
    }
    const userKey = req.params.userKey;
    const q = req.query;
    const max = q.get('maxResults') ?? '1000';
    const maxResults = Number(max);
    if (!/^\d+$/.test(max) || maxResults < 1 || maxResults > 1000)
      return this.invalid(`Invalid value '${max}'. Values must be within the range: [1, 1000]`);
    const times: Record<string, number | undefined> = {};
    for (const name of ['startTime', 'endTime']) {
      const v = q.get(name);
      if (v === null) continue;
      const t = RFC3339.test(v) ? Date.parse(v) : Number.NaN;
      if (!Number.isFinite(t)) {
        return this.invalid(
          `Invalid value '${v}'. Values must match the following regular expression: '${RFC3339.source}'`,
        );
      }
      times[name] = t;
    }
    const now = req.at;
    if (
      times.startTime !== undefined &&
      (times.startTime > now || (times.endTime !== undefined && times.startTime > times.endTime))
    ) {
      return this.invalid('Start time must be before the end time and the current time.');
    }
    if (app === 'gmail') {
      if (times.startTime === undefined || times.endTime === undefined)
        return this.invalid('For Gmail requests, startTime and endTime must be provided.');
      if (times.endTime - times.startTime > 30 * DAY)
        return this.invalid(
          'For Gmail requests, the difference between startTime and endTime must not be greater than 30 days.',
        );
    }
    const start = Math.max(times.startTime ?? now - 180 * DAY, now - 180 * DAY);
    const end = times.endTime ?? now;
    const eventName = q.get('eventName') ?? '';

    let pos: Position = { a: app, u: userKey, n: eventName, s: start, e: end, i: now };
    const token = q.get('pageToken');
    if (token) {
      let p: Position | undefined;
      try {
        p = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        p = undefined;
      }
      if (!p || typeof p !== 'object' || typeof p.i !== 'number' || now - p.i > this.opts.ttl)
        return this.invalid('Invalid page token.');
      if (p.a !== app || p.u !== userKey || p.n !== eventName || p.s !== start || p.e !== end)
        return this.invalid(
          'The provided page token must be generated within the same time interval as the request.',
        );
      pos = p;
    }
    const tokenFor = (t?: number, seq?: number) =>
      Buffer.from(JSON.stringify({ ...pos, t, q: seq, i: now })).toString('base64url');
    const head = { kind: 'admin#reports#activities', etag: `"${this.etag(now)}"` };
    // The position of this very request, as a token (the request's own token when it had one).
    const samePosition = token ?? tokenFor(undefined, undefined);
    if (req.empty) return json(200, { ...head, nextPageToken: samePosition });

    // Newest first, strictly after the position, inside the window, visible now.
    const rows = this.ordered();
    const page: Row[] = [];
    let more = false;
    for (let k = rows.length - 1; k >= 0; k--) {
      const r = rows[k];
      if (r.time > end) continue;
      if (r.time < start) break;
      if (r.app !== app || r.visible > now) continue;
      if (pos.t !== undefined && (r.time > pos.t || (r.time === pos.t && r.seq >= (pos.q ?? 0)))) continue;
      if (userKey !== 'all' && this.actorOf(r).email !== userKey) continue;
      if (eventName && !this.eventsOf(r).some((e) => e.name === eventName)) continue;
      if (page.length === maxResults) {
        more = true;
        break;
      }
      page.push(r);
    }
    const last = page.at(-1);
    let nextPageToken = more && last ? tokenFor(last.time, last.seq) : undefined;
    if (this.loopPages > 0) {
      this.loopPages--;
      nextPageToken = samePosition;
    }
    const items = page.map((r) => this.activityJson(r));
    const body = `{"kind":"admin#reports#activities","etag":${JSON.stringify(head.etag)}${
      items.length ? `,"items":[${items.join(',')}]` : ''
    }${nextPageToken ? `,"nextPageToken":"${nextPageToken}"` : ''}}`;
    return json(200, body);
  }

  private etag(now: number): string {
    const r = new Rng(seedOf(this.seed, 'etag', Math.floor(now / 1000)));
    return `${r.base64url(27)}/${r.base64url(27)}`;
  }

  // -------------------------------------------------------------------------------------------
  // Data

  private actorOf(r: Row): Person {
    return this.people[mix32((r.seq ^ this.seed) >>> 0) % this.people.length];
  }

  private uniqueQualifier(r: Row): string {
    // int64 as Google prints it: unique per sequence number, sometimes negative.
    const v = BigInt(mix32((r.seq * 2654435761) >>> 0) & 0x3fffff) * 4294967296n + BigInt(r.seq);
    return (r.seq % 7 === 3 ? -v : v).toString();
  }

  private eventsOf(
    r: Row,
  ): Array<{ type: string; name: string; parameters: Array<Record<string, unknown>> }> {
    const rng = new Rng(seedOf(this.seed, 'events', r.seq));
    const other = () => this.people[rng.int(0, this.people.length - 1)].email;
    switch (r.app) {
      case 'login': {
        const name = rng.weighted([
          ['login_success', 6],
          ['login_failure', 2],
          ['logout', 2],
          ['login_verification', 1],
        ] as const);
        const parameters: Array<Record<string, unknown>> = [
          { name: 'login_type', value: rng.pick(['google_password', 'saml', 'reauth', 'exchange']) },
          { name: 'login_challenge_method', multiValue: ['password'] },
          { name: 'is_suspicious', boolValue: rng.bool(0.05) },
        ];
        if (name === 'login_failure')
          parameters.push({ name: 'login_failure_type', value: 'login_failure_invalid_password' });
        return [{ type: 'login', name, parameters }];
      }
      case 'admin': {
        const name = rng.pick([
          'CREATE_USER',
          'CHANGE_PASSWORD',
          'GRANT_ADMIN_PRIVILEGE',
          'SUSPEND_USER',
          'ADD_GROUP_MEMBER',
        ]);
        const type = name === 'ADD_GROUP_MEMBER' ? 'GROUP_SETTINGS' : 'USER_SETTINGS';
        const parameters: Array<Record<string, unknown>> = [{ name: 'USER_EMAIL', value: other() }];
        if (type === 'GROUP_SETTINGS')
          parameters.push({ name: 'GROUP_EMAIL', value: `security@${this.domain}` });
        if (name === 'GRANT_ADMIN_PRIVILEGE')
          parameters.push({ name: 'ROLE_NAME', value: '_SEED_ADMIN_ROLE' });
        return [{ type, name, parameters }];
      }
      case 'drive': {
        const docId = rng.base64url(33);
        const doc = [
          { name: 'primary_event', boolValue: true },
          { name: 'billable', boolValue: true },
          { name: 'doc_id', value: docId },
          { name: 'doc_type', value: rng.pick(['document', 'spreadsheet', 'presentation', 'pdf']) },
          {
            name: 'doc_title',
            value: rng.pick(['Q3 board deck', 'Payroll 2026', 'Incident review', 'Roadmap']),
          },
          { name: 'owner', value: this.actorOf(r).email },
          { name: 'owner_is_shared_drive', boolValue: false },
        ];
        if (rng.bool(0.3)) {
          // A sharing change: one activity, several acl_change events.
          return Array.from({ length: rng.int(1, 3) }, () => ({
            type: 'acl_change',
            name: 'change_user_access',
            parameters: [
              ...doc,
              { name: 'target_user', value: rng.bool(0.3) ? `partner${rng.int(1, 9)}@gmail.com` : other() },
              { name: 'old_value', multiValue: ['none'] },
              { name: 'new_value', multiValue: [rng.pick(['can_view', 'can_edit', 'can_comment'])] },
              { name: 'visibility', value: rng.pick(['shared_internally', 'shared_externally']) },
            ],
          }));
        }
        return [
          {
            type: 'access',
            name: rng.pick(['view', 'edit', 'download', 'create']),
            parameters: [...doc, { name: 'visibility', value: 'private' }],
          },
        ];
      }
      case 'token':
        return [
          {
            type: 'auth',
            name: rng.pick(['authorize', 'revoke', 'activity']),
            parameters: [
              {
                name: 'client_id',
                value: `${rng.chars('0123456789', 12)}-${rng.base62(32).toLowerCase()}.apps.googleusercontent.com`,
              },
              { name: 'app_name', value: rng.pick(['Slack', 'Zoom', 'Miro', 'ChatGPT']) },
              { name: 'client_type', value: 'WEB' },
              {
                name: 'scope',
                multiValue: ['https://www.googleapis.com/auth/drive.readonly', 'openid', 'email'],
              },
            ],
          },
        ];
      case 'saml':
        return [
          {
            type: 'login',
            name: rng.pick(['login_success', 'login_success', 'login_failure']),
            parameters: [
              {
                name: 'application_name',
                value: rng.pick(['Okta', 'Salesforce', 'AWS IAM Identity Center']),
              },
              { name: 'initiated_by', value: rng.pick(['sp', 'idp']) },
              { name: 'orgunit_path', value: '/' },
              { name: 'saml_status_code', value: 'SUCCESS_URI' },
            ],
          },
        ];
      case 'groups_enterprise':
        return [
          {
            type: 'moderator_action',
            name: rng.pick(['add_member', 'remove_member', 'add_member_role']),
            parameters: [
              { name: 'group_id', value: `security@${this.domain}` },
              { name: 'member_id', value: other() },
              { name: 'member_type', value: 'user' },
              { name: 'member_role', value: 'MEMBER' },
            ],
          },
        ];
      case 'groups':
        return [
          {
            type: 'acl_change',
            name: rng.pick(['add_user', 'remove_user', 'change_acl_permission']),
            parameters: [
              { name: 'group_email', value: `all@${this.domain}` },
              { name: 'user_email', value: other() },
            ],
          },
        ];
      case 'user_accounts':
        return [
          {
            type: rng.pick(['2sv_change', 'password_change']),
            name: rng.pick(['2sv_enroll', '2sv_disable', 'password_edit']),
            parameters: [],
          },
        ];
      case 'gemini_in_workspace_apps':
        return [
          {
            type: 'ai_usage_event',
            name: 'feature_utilization',
            parameters: [
              {
                name: 'app_name',
                value: rng.pick(['gmail', 'docs', 'sheets', 'slides', 'meet', 'gemini_app']),
              },
              {
                name: 'action',
                value: rng.pick(['summarize', 'conversation', 'generate_text', 'suggest_full_replies']),
              },
              { name: 'feature_source', value: rng.pick(['side_panel', 'inline', 'chat']) },
              { name: 'event_category', value: 'active_generate' },
            ],
          },
        ];
      default:
        return [
          {
            type: 'activity',
            name: `${r.app}_event`,
            parameters: [{ name: 'resource', value: rng.base62(10) }],
          },
        ];
    }
  }

  /** The exact JSON Google would send for row `r`. */
  private activityJson(r: Row): string {
    const actor = this.actorOf(r);
    const rng = new Rng(seedOf(this.seed, 'activity', r.seq));
    const events = this.eventsOf(r);
    if (this.opts.eventBytes) {
      const pad = Math.max(0, Math.floor((this.opts.eventBytes - 700) / events.length));
      const text = rng
        .base62(Math.min(pad, 64))
        .repeat(Math.ceil(pad / 64))
        .slice(0, pad);
      for (const e of events) e.parameters.push({ name: 'detail', value: text });
    }
    const activity = {
      kind: 'admin#reports#activity',
      id: {
        time: new Date(r.time).toISOString(),
        uniqueQualifier: this.uniqueQualifier(r),
        applicationName: r.app,
        customerId: this.customerId,
      },
      etag: `"${rng.base64url(27)}/${rng.base64url(27)}"`,
      actor: { callerType: 'USER', email: actor.email, profileId: rng.chars('0123456789', 21) },
      ipAddress: ipv4(rng, network(rng)),
      ownerDomain: this.domain,
      events,
    };
    return JSON.stringify(activity);
  }
}
