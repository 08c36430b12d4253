/**
 * GitHub audit log API simulator (`GET /orgs/{org}/audit-log`, `GET /enterprises/{enterprise}/audit-log`,
 * `POST /app/installations/{id}/access_tokens`), following GitHub's documented behaviour:
 *
 * - docs.github.com/en/enterprise-cloud@latest/rest/orgs/orgs#get-the-audit-log-for-an-organization and
 *   …/rest/enterprise-admin/audit-log: query `phrase`, `include` (web | git | all, default web), `after`
 *   and `before` ("A cursor, as given in the Link header"), `order` (desc | asc, default desc: newest
 *   first), `per_page` (max 100, default 30), `page`. Answer: a JSON array of events such as
 *   {"@timestamp":1606929874512,"action":"team.add_member","actor":"octocat","created_at":1606929874512,
 *   "_document_id":"xJJFlFOhQ6b-5vaAFy9Rjw","org":"octo-corp",…}. The enterprise endpoints "only support
 *   authentication using a personal access token (classic)".
 * - …/admin/monitoring-activity-in-your-enterprise/reviewing-audit-logs-for-your-enterprise/using-the-audit-log-api-for-your-enterprise:
 *   times in UTC epoch milliseconds; cursor pagination whose `link` header carries `rel="next"`, `"first"`
 *   and `"prev"` URLs with `after=…&before=…` (the cursor decodes to `<epoch ms>|<_document_id>`); page-based
 *   pagination on GitHub Enterprise Server; 1,750 queries per hour per user and IP ("typically a 403 or
 *   429 response"); events from the current month and the previous six months (Git events: seven days);
 *   "By default, only events from the past three months are displayed".
 * - …/organizations/…/reviewing-the-audit-log-for-your-organization#search-based-on-time-of-action:
 *   `created` takes `YYYY-MM-DD` with optional `THH:MM:SS+00:00`, with `>`, `>=`, `<`, `<=` and `A..B`
 *   ranges (a date covers its whole day: `created:2014-07-01..2014-07-31` is all of July); `action`,
 *   `actor`, `user`, `org`, `repo`, `operation`, `country` qualifiers, `-` to exclude, repeated
 *   qualifiers OR-ed; "you cannot search for entries using text".
 * - docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api: `x-ratelimit-limit`,
 *   `-remaining`, `-used`, `-reset` (epoch seconds), `-resource`; past the primary limit a 403 or 429 with
 *   `x-ratelimit-remaining: 0`; a secondary limit answers 403 or 429 with a message saying so and maybe
 *   `retry-after`.
 * - …/generating-a-json-web-token-jwt-for-a-github-app and …/generating-an-installation-access-token-for-a-github-app:
 *   RS256 JWT, `iss` the App ID, `exp` at most 10 minutes ahead; the answer carries `token` and
 *   `expires_at`, the token lasts one hour.
 *
 * Assumed (not documented), decided here: a `created` time covers its whole second, like a date its whole day
 * (`timeCoversSecond: false` makes it cover only its first millisecond, the other possible reading);
 * the last page has no `next` link; an unknown qualifier or free text answers 400 "The supplied query is
 * invalid"; the 1,750/h audit-log limit answers 403 with a secondary-rate-limit message and `retry-after`;
 * JWT and installation-token times follow the real clock (the App's world), events the simulator clock;
 * the token exchange is not a "write call" (it changes no data). Error bodies follow GitHub's
 * {"message","documentation_url","status"} shape.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, verify as verifySignature } from 'node:crypto';
import {
  type Clock,
  geo,
  json,
  mix32,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  seedOf,
} from '../../sim/kit.ts';

export interface GitHubSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Events generated up front (default 100), `spacingMs` apart, the last one 5 minutes before now. */
  events?: number;
  /** `@timestamp` of the first event (epoch ms or ISO). */
  start?: number | string;
  spacingMs?: number;
  /** Records of about this many bytes of JSON (padding with webhook event lists). */
  eventBytes?: number;
  org?: string;
  enterprise?: string;
  /** Share of Git events (git.clone, git.fetch, git.push); default 0.2. */
  gitShare?: number;
  /** Share of enterprise-level events (business.*), only in the enterprise log; default 0.1. */
  enterpriseShare?: number;
  /** The personal access token accepted (random `ghp_…` by default). */
  token?: string;
  /** GitHub App that may exchange a JWT for installation tokens. */
  appId?: number;
  installationId?: number;
  /** Installation token lifetime (default 1 h, real time). */
  installationTokenLifetimeMs?: number;
  /** false: the credential is not allowed to read the audit log (403). */
  permission?: boolean;
  /** Primary rate limit per credential and hour (default 5,000). */
  rateLimitPerHour?: number;
  /** Audit-log queries per credential and hour (default 1,750). */
  auditLimitPerHour?: number;
  /** GitHub Enterprise Server: routes under /api/v3 and page-based pagination. */
  enterpriseServer?: boolean;
  /**
   * Whether a `created` time ending a range (`..T`, `<=T`) covers its whole second (default, like a date
   * its whole day) or only its first millisecond — GitHub does not say; clients must work with both.
   */
  timeCoversSecond?: boolean;
  host?: string;
  port?: number;
}

export interface GitHubAddEventsOptions {
  /** `@timestamp` of the first new event (default: `n * spacingMs` before now). */
  from?: number;
  spacingMs?: number;
  /** Late indexing: an event is searchable only from `@timestamp + visibleDelayMs`. */
  visibleDelayMs?: number;
  kind?: EventKind;
}

export type EventKind = 'web' | 'git' | 'business';

const DAY = 86_400_000;
const DOCS = 'https://docs.github.com/rest';
const KINDS: EventKind[] = ['web', 'git', 'business'];

interface Cursor {
  t: number;
  seq: number;
}

interface Query {
  from: number;
  to: number;
  include: 'web' | 'git' | 'all';
  filters: Array<(e: Record<string, any>) => boolean>;
  org?: string;
}

export class GitHubSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly org: string;
  readonly enterprise: string;
  readonly appId: number;
  readonly installationId: number;
  /** The App's private key (PKCS#8 PEM), for the account under test. */
  readonly privateKeyPem: string;
  private readonly publicKey: KeyObject;
  private token_: string;
  private readonly opts: {
    spacingMs: number;
    eventBytes?: number;
    gitShare: number;
    enterpriseShare: number;
    permission: boolean;
    rateLimitPerHour: number;
    auditLimitPerHour: number;
    tokenLifetimeMs: number;
    prefix: string;
    pageMode: boolean;
    timeCoversSecond: boolean;
  };
  private readonly time: number[] = [];
  private readonly vis: number[] = [];
  private readonly kind: EventKind[] = [];
  private order: number[] = [];
  private sorted = true;
  private readonly docIds = new Map<string, number>();
  /** Installation tokens issued: token → expiry (real epoch ms). */
  private readonly issued = new Map<string, number>();
  private readonly counters = new Map<string, { hour: number; core: number; audit: number }>();
  private loopPages = 0;
  private suspended = false;

  constructor(o: GitHubSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.org = o.org ?? 'acme';
    this.enterprise = o.enterprise ?? 'acme-corp';
    this.appId = o.appId ?? 123456;
    this.installationId = o.installationId ?? 7654321;
    this.token_ = o.token ?? `ghp_${base62(36)}`;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.publicKey = publicKey;
    this.opts = {
      spacingMs: o.spacingMs ?? 1000,
      eventBytes: o.eventBytes,
      gitShare: o.gitShare ?? 0.2,
      enterpriseShare: o.enterpriseShare ?? 0.1,
      permission: o.permission ?? true,
      rateLimitPerHour: o.rateLimitPerHour ?? 5000,
      auditLimitPerHour: o.auditLimitPerHour ?? 1750,
      tokenLifetimeMs: o.installationTokenLifetimeMs ?? 3_600_000,
      prefix: o.enterpriseServer ? '/api/v3' : '',
      pageMode: o.enterpriseServer ?? false,
      timeCoversSecond: o.timeCoversSecond ?? true,
    };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      host: o.host,
      port: o.port,
      hooks: {
        errorReply: (_req, status) => this.statusError(status),
        rateLimitReply: () =>
          error(
            429,
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
          ),
        decorate: (_req, reply) => {
          const h = (reply.headers ??= {});
          h['x-github-api-version-selected'] ??= '2022-11-28';
          h['x-github-request-id'] ??= `${hex(4)}:${hex(5)}:${hex(6)}:${hex(6)}:${hex(8)}`;
        },
      },
    });
    const p = this.opts.prefix;
    this.server.route('GET', `${p}/orgs/:org/audit-log`, (req) => this.auditLog(req, 'org'));
    this.server.route('GET', `${p}/enterprises/:enterprise/audit-log`, (req) =>
      this.auditLog(req, 'enterprise'),
    );
    this.server.route('POST', `${p}/app/installations/:id/access_tokens`, (req) => this.accessToken(req));

    const n = o.events ?? 100;
    const spacing = this.opts.spacingMs;
    const start =
      o.start === undefined
        ? this.clock() - 5 * 60_000 - Math.max(0, n - 1) * spacing
        : typeof o.start === 'string'
          ? Date.parse(o.start)
          : o.start;
    for (let i = 0; i < n; i++) {
      const t = start + i * spacing;
      this.append(t, t, this.kindFor(this.time.length));
    }
  }

  /** The API root the client uses (`…/api/v3` on Enterprise Server). */
  override get url(): string {
    return `${this.server.url}${this.opts.prefix}`;
  }

  get token(): string {
    return this.token_;
  }

  /** The next `times` audit-log answers are GitHub's secondary rate limit (403 or 429). */
  secondaryRateLimit(o: { times?: number; status?: 403 | 429; retryAfter?: number } = {}): void {
    this.server.inject({
      kind: 'status',
      status: o.status ?? 403,
      path: /\/audit-log$/,
      times: o.times ?? 1,
      body: {
        message:
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
        documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
        status: String(o.status ?? 403),
      },
      headers: o.retryAfter === undefined ? {} : { 'retry-after': String(o.retryAfter) },
    });
  }

  /** Revokes the personal access token (401 from now on) and accepts a new one. */
  rotateToken(token = `ghp_${base62(36)}`): string {
    this.token_ = token;
    return token;
  }

  /** Installation tokens issued so far stop working (as after their hour). */
  expireInstallationTokens(): void {
    for (const k of this.issued.keys()) this.issued.set(k, 0);
  }

  suspendInstallation(on = true): void {
    this.suspended = on;
  }

  /** The next `pages` answers carry a `next` link identical to the request (a looping vendor). */
  loopNextLinks(pages = 1): void {
    this.loopPages = pages;
  }

  /** Installation token exchanges made. */
  tokenRequests(): RecordedRequest[] {
    return this.server.requests.matching(/\/app\/installations\/[^/]+\/access_tokens$/, 'POST');
  }

  /** Requests that are neither reads nor the token exchange (which changes no data). */
  writeCalls(): RecordedRequest[] {
    return this.server
      .writeCalls()
      .filter((r) => !/\/app\/installations\/[^/]+\/access_tokens$/.test(r.path));
  }

  /** Adds `n` events; returns their `_document_id`s. */
  addEvents(n: number, o: GitHubAddEventsOptions = {}): string[] {
    const now = this.clock();
    const spacing = o.spacingMs ?? this.opts.spacingMs;
    const from = o.from ?? now - n * spacing;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const t = from + i * spacing;
      const seq = this.append(
        t,
        Math.max(t + (o.visibleDelayMs ?? 0), now),
        o.kind ?? this.kindFor(this.time.length),
      );
      ids.push(this.docId(seq));
    }
    return ids;
  }

  /** Every event (searchable or not) in `@timestamp` order, optionally only those of a kind or scope. */
  events(o: { kinds?: EventKind[]; scope?: 'org' | 'enterprise' } = {}): Array<Record<string, any>> {
    return this.seqs(o).map((s) => JSON.parse(this.eventJson(s)));
  }

  /** `_document_id`s in `@timestamp` order: by default what the organization log holds with include=all. */
  eventIds(o: { kinds?: EventKind[]; scope?: 'org' | 'enterprise' } = {}): string[] {
    return this.seqs(o).map((s) => this.docId(s));
  }

  private seqs(o: { kinds?: EventKind[]; scope?: 'org' | 'enterprise' }): number[] {
    this.sort();
    const kinds = o.kinds ?? (o.scope === 'enterprise' ? KINDS : ['web', 'git']);
    return this.order.filter((s) => kinds.includes(this.kind[s]));
  }

  // -------------------------------------------------------------------------------------------
  // Storage and data

  private kindFor(seq: number): EventKind {
    const r = new Rng(seedOf(this.seed, 'kind', seq)).next();
    if (r < this.opts.enterpriseShare) return 'business';
    return r < this.opts.enterpriseShare + this.opts.gitShare ? 'git' : 'web';
  }

  private append(t: number, visible: number, kind: EventKind): number {
    const seq = this.time.length;
    this.time.push(t);
    this.vis.push(visible);
    this.kind.push(kind);
    const last = this.order[this.order.length - 1];
    if (last !== undefined && this.time[last] > t) this.sorted = false;
    this.order.push(seq);
    this.docIds.set(this.docId(seq), seq);
    return seq;
  }

  private sort(): void {
    if (this.sorted) return;
    this.order.sort((a, b) => this.time[a] - this.time[b] || a - b);
    this.sorted = true;
  }

  /** 22 base64url characters like GitHub's, unique by construction (a bijective mix of `seq` leads). */
  private docId(seq: number): string {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(mix32((seq ^ this.seed) >>> 0), 0);
    const rng = new Rng(seedOf(this.seed, 'doc', seq));
    for (let i = 4; i < 16; i++) b[i] = rng.int(0, 255);
    return b.toString('base64url');
  }

  /** The exact JSON GitHub would send for event `seq`. */
  eventJson(seq: number): string {
    const rng = new Rng(seedOf(this.seed, 'event', seq));
    const t = this.time[seq];
    const org = this.org;
    const actor = rng.pick(ACTORS);
    const where = geo(rng);
    const repo = `${org}/${rng.pick(REPOS)}`;
    const common = {
      '@timestamp': t,
      _document_id: this.docId(seq),
    };
    const business = { business: this.enterprise, business_id: 1234 };
    const actorFields = {
      actor: actor.login,
      actor_id: actor.id,
      actor_is_bot: false,
      actor_location: { country_code: where.countryCode },
    };
    let e: Record<string, unknown>;
    switch (this.kind[seq]) {
      case 'git': {
        e = {
          ...common,
          action: rng.pick(['git.clone', 'git.fetch', 'git.push']),
          ...actorFields,
          ...business,
          org,
          org_id: 4567890,
          repository: repo,
          repository_public: false,
          transport_protocol: 1,
          transport_protocol_name: 'http',
        };
        break;
      }
      case 'business': {
        const a = rng.pick(BUSINESS_ACTIONS);
        e = {
          ...common,
          action: a.action,
          ...actorFields,
          ...business,
          created_at: t,
          operation_type: a.operation,
          user_agent: rng.pick(USER_AGENTS),
          request_id: `${hex(4, rng)}:${hex(5, rng)}:${hex(6, rng)}:${hex(6, rng)}:${hex(8, rng)}`,
        };
        break;
      }
      default: {
        const a = rng.pick(WEB_ACTIONS);
        const user = rng.pick(ACTORS);
        e = {
          ...common,
          action: a.action,
          ...actorFields,
          ...business,
          created_at: t,
          operation_type: a.operation,
          org,
          org_id: 4567890,
          ...(a.repo ? { repo, repo_id: 600_000_000 + rng.int(0, 9999), visibility: 'private' } : {}),
          ...(a.user ? { user: user.login, user_id: user.id } : {}),
          ...(a.team ? { team: `${org}/${rng.pick(['platform', 'security', 'sre', 'web'])}` } : {}),
          user_agent: rng.pick(USER_AGENTS),
          request_id: `${hex(4, rng)}:${hex(5, rng)}:${hex(6, rng)}:${hex(6, rng)}:${hex(8, rng)}`,
        };
        if (a.token) {
          e.programmatic_access_type = 'Fine-grained personal access token';
          e.token_id = rng.int(1_000_000, 9_999_999);
        }
      }
    }
    if (this.opts.eventBytes) pad(e, this.opts.eventBytes, rng);
    return JSON.stringify(e);
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  private statusError(status: number): SimReply {
    switch (status) {
      case 401:
        return error(401, 'Bad credentials');
      case 403:
        return error(403, 'Resource not accessible by personal access token');
      case 404:
        return error(404, 'Not Found');
      case 422:
        return error(422, 'Validation Failed');
      default:
        return status >= 500 ? error(status, 'Server Error') : error(status, 'Bad Request');
    }
  }

  /** Who the Authorization header names: the PAT, a live installation token, or nobody. */
  private credential(req: SimRequest): { id: string; app: boolean } | undefined {
    const m = /^(?:Bearer|token)\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    if (!m) return undefined;
    if (m[1] === this.token_) return { id: 'pat', app: false };
    const exp = this.issued.get(m[1]);
    if (exp !== undefined && exp > Date.now()) return { id: 'installation', app: true };
    return undefined;
  }

  /** Counts the request against both limits; the headers describe the primary one. */
  private count(id: string): {
    headers: Record<string, string>;
    primary: boolean;
    audit: number | undefined;
  } {
    const now = this.clock();
    const hour = Math.floor(now / 3_600_000);
    let c = this.counters.get(id);
    if (!c || c.hour !== hour) {
      c = { hour, core: 0, audit: 0 };
      this.counters.set(id, c);
    }
    c.core++;
    c.audit++;
    const reset = (hour + 1) * 3600;
    const limit = this.opts.rateLimitPerHour;
    const headers = {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, limit - c.core)),
      'x-ratelimit-used': String(Math.min(c.core, limit)),
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-resource': 'core',
    };
    return {
      headers,
      primary: c.core > limit,
      audit: c.audit > this.opts.auditLimitPerHour ? reset - Math.floor(now / 1000) : undefined,
    };
  }

  private auditLog(req: SimRequest, scope: 'org' | 'enterprise'): SimReply {
    const who = this.credential(req);
    if (!who) return error(401, 'Bad credentials');
    const rate = this.count(who.id);
    const withRate = (reply: SimReply) => {
      reply.headers = { ...rate.headers, ...reply.headers };
      return reply;
    };
    if (rate.primary) {
      return withRate(
        error(
          403,
          'API rate limit exceeded for user ID 583231. If you reach out to GitHub Support for help, please include the request ID.',
          `${DOCS}/overview/rate-limits-for-the-rest-api#about-primary-rate-limits`,
        ),
      );
    }
    if (rate.audit !== undefined) {
      const reply = error(
        403,
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
      );
      reply.headers = { ...reply.headers, 'retry-after': String(rate.audit) };
      return withRate(reply);
    }
    if (scope === 'org' && req.params.org.toLowerCase() !== this.org.toLowerCase())
      return withRate(error(404, 'Not Found'));
    if (scope === 'enterprise') {
      if (req.params.enterprise !== this.enterprise && req.params.enterprise !== '1234')
        return withRate(error(404, 'Not Found'));
      if (who.app) return withRate(error(403, 'Resource not accessible by integration'));
    }
    if (!this.opts.permission) {
      return withRate(
        error(
          403,
          who.app
            ? 'Resource not accessible by integration'
            : 'Resource not accessible by personal access token',
        ),
      );
    }

    const q = req.query;
    const include = q.get('include') || 'web';
    if (include !== 'web' && include !== 'git' && include !== 'all')
      return withRate(error(400, 'The supplied query is invalid'));
    const orderParam = q.get('order') || 'desc';
    if (orderParam !== 'asc' && orderParam !== 'desc')
      return withRate(error(400, 'The supplied query is invalid'));
    const desc = orderParam === 'desc';
    const perRaw = Number(q.get('per_page') || 30);
    const perPage = Number.isInteger(perRaw) && perRaw > 0 ? Math.min(perRaw, 100) : 30;
    const parsed = parsePhrase(q.get('phrase') ?? '', this.clock(), this.opts.timeCoversSecond);
    if (!parsed) return withRate(error(400, 'The supplied query is invalid'));
    const query: Query = {
      ...parsed,
      include,
      org: scope === 'org' ? this.org : undefined,
    };

    // The matching events in list order (the simulator's data is small enough to filter fully).
    const now = this.clock();
    this.sort();
    const matches: number[] = [];
    for (const seq of this.order) {
      const t = this.time[seq];
      if (t < query.from || t >= query.to || this.vis[seq] > now) continue;
      const k = this.kind[seq];
      if (now - t > (k === 'git' ? 7 : 180) * DAY) continue;
      if (scope === 'org' && k === 'business') continue;
      if (k === 'git' ? include === 'web' : include === 'git') continue;
      if (query.filters.length) {
        const e = JSON.parse(this.eventJson(seq));
        if (!query.filters.every((f) => f(e))) continue;
      }
      matches.push(seq);
    }
    if (desc) matches.reverse();

    const base = new URL(req.url.toString());
    const self = `${req.origin}${req.path}${req.url.search}`;
    const links: string[] = [];
    let page: number[];
    if (req.empty) {
      // Injected `empty`: a valid empty page that points at the same position again.
      page = [];
      const next = new URL(self);
      if (!this.opts.pageMode) {
        next.searchParams.set('after', q.get('after') ?? '');
        next.searchParams.set('before', q.get('before') ?? '');
      }
      links.push(`<${next}>; rel="next"`);
    } else if (this.opts.pageMode) {
      const n = Math.max(1, Number(q.get('page') || 1) || 1);
      page = matches.slice((n - 1) * perPage, n * perPage);
      const link = (p: number) => {
        const u = new URL(base);
        u.searchParams.set('page', String(p));
        return `${req.origin}${u.pathname}${u.search}`;
      };
      if (matches.length > n * perPage) links.push(`<${link(n + 1)}>; rel="next"`);
      const last = Math.max(1, Math.ceil(matches.length / perPage));
      links.push(`<${link(last)}>; rel="last"`, `<${link(1)}>; rel="first"`);
      if (n > 1) links.push(`<${link(n - 1)}>; rel="prev"`);
    } else {
      const pos = (seq: number) => ({ t: this.time[seq], seq });
      const cmp = (a: Cursor, b: Cursor) => (desc ? -1 : 1) * (a.t - b.t || a.seq - b.seq);
      const after = q.get('after') ? this.decodeCursor(q.get('after') as string) : undefined;
      const before = q.get('before') ? this.decodeCursor(q.get('before') as string) : undefined;
      if ((q.get('after') && !after) || (q.get('before') && !before))
        return withRate(error(400, 'The supplied query is invalid'));
      let from = 0;
      let to = matches.length;
      if (after) from = firstIndex(matches, (s) => cmp(pos(s), after) > 0);
      if (before) to = firstIndex(matches, (s) => cmp(pos(s), before) >= 0);
      page =
        before && !after
          ? matches.slice(Math.max(from, to - perPage), to)
          : matches.slice(from, Math.min(to, from + perPage));
      const link = (a: string, b: string) => {
        const u = new URL(base);
        u.searchParams.delete('after');
        u.searchParams.delete('before');
        u.searchParams.set('after', a);
        u.searchParams.set('before', b);
        return `${req.origin}${u.pathname}${u.search}`;
      };
      const lastSeq = page[page.length - 1];
      const firstSeq = page[0];
      const endIndex = page.length ? matches.indexOf(lastSeq) + 1 : to;
      if (this.loopPages > 0) {
        this.loopPages--;
        links.push(`<${self}>; rel="next"`);
      } else if (lastSeq !== undefined && endIndex < matches.length) {
        links.push(`<${link(this.encodeCursor(lastSeq), '')}>; rel="next"`);
      }
      links.push(`<${link('', '')}>; rel="first"`);
      if (firstSeq !== undefined && matches.indexOf(firstSeq) > 0)
        links.push(`<${link('', this.encodeCursor(firstSeq))}>; rel="prev"`);
    }
    let body = '[';
    for (let i = 0; i < page.length; i++) body += (i ? ',' : '') + this.eventJson(page[i]);
    body += ']';
    const reply: SimReply = {
      status: 200,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        ...(links.length ? { link: links.join(', ') } : {}),
      },
      body,
    };
    return withRate(reply);
  }

  /** GitHub's cursor: base64 of `<epoch ms in exponent notation>|<_document_id>`. */
  private encodeCursor(seq: number): string {
    return Buffer.from(`${this.time[seq].toExponential()}|${this.docId(seq)}`).toString('base64');
  }

  private decodeCursor(s: string): Cursor | undefined {
    const m = /^([0-9.e+-]+)\|([A-Za-z0-9_-]{22})$/.exec(Buffer.from(s, 'base64').toString());
    const seq = m ? this.docIds.get(m[2]) : undefined;
    return seq === undefined ? undefined : { t: this.time[seq], seq };
  }

  private accessToken(req: SimRequest): SimReply {
    if (Number(req.params.id) !== this.installationId) return error(404, 'Not Found');
    const m = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(
      String(req.headers.authorization ?? ''),
    );
    if (!m) return error(401, 'A JSON web token could not be decoded');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(m[1], 'base64url').toString());
      claims = JSON.parse(Buffer.from(m[2], 'base64url').toString());
    } catch {
      return error(401, 'A JSON web token could not be decoded');
    }
    const signed = verifySignature(
      'RSA-SHA256',
      Buffer.from(`${m[1]}.${m[2]}`),
      this.publicKey,
      Buffer.from(m[3], 'base64url'),
    );
    if (header.alg !== 'RS256' || !signed) return error(401, 'A JSON web token could not be decoded');
    if (String(claims.iss) !== String(this.appId)) return error(401, 'Integration not found');
    const nowS = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > nowS + 60)
      return error(
        401,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.",
      );
    if (typeof exp !== 'number' || exp <= nowS)
      return error(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.",
      );
    if (exp > nowS + 600) return error(401, "'Expiration time' claim ('exp') is too far in the future.");
    if (this.suspended) return error(403, 'This installation has been suspended');
    const token = `ghs_${base62(36)}`;
    const expires = Date.now() + this.opts.tokenLifetimeMs;
    this.issued.set(token, expires);
    return json(201, {
      token,
      expires_at: new Date(Math.floor(expires / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      permissions: { organization_administration: 'read' },
      repository_selection: 'all',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Search phrase

/** The `[start, end)` a `created` date or date-time covers: a whole day, or a whole second. */
function unit(s: string, timeCoversSecond = true): { start: number; end: number } | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}:\d{2})(Z|[+-]\d{2}:\d{2}))?$/.exec(s);
  if (!m) return undefined;
  const start = Date.parse(m[2] ? `${m[1]}T${m[2]}${m[3]}` : `${m[1]}T00:00:00Z`);
  if (!Number.isFinite(start)) return undefined;
  return { start, end: start + (m[2] ? (timeCoversSecond ? 1000 : 1) : DAY) };
}

const FIELD: Record<string, (e: Record<string, any>) => unknown> = {
  action: (e) => e.action,
  actor: (e) => e.actor,
  user: (e) => e.user,
  org: (e) => e.org,
  repo: (e) => e.repo ?? e.repository,
  operation: (e) => e.operation_type,
  country: (e) => e.actor_location?.country_code,
};

/** Parses a phrase into a created range and filters; undefined when GitHub would call it invalid. */
export function parsePhrase(
  phrase: string,
  now: number,
  timeCoversSecond = true,
): Pick<Query, 'from' | 'to' | 'filters'> | undefined {
  let from = Number.NEGATIVE_INFINITY;
  let to = Number.POSITIVE_INFINITY;
  let created = false;
  const groups = new Map<string, { values: string[]; negated: string[] }>();
  for (const token of phrase.split(/\s+/).filter(Boolean)) {
    const m = /^(-?)([a-z_]+):(.+)$/.exec(token);
    if (!m) return undefined; // free text is not searchable
    const [, neg, key, value] = m;
    if (key === 'created') {
      if (neg) return undefined;
      created = true;
      const range = /^(.*)\.\.(.*)$/.exec(value);
      let lo = Number.NEGATIVE_INFINITY;
      let hi = Number.POSITIVE_INFINITY;
      if (range) {
        const a = range[1] === '*' ? undefined : unit(range[1], timeCoversSecond);
        const b = range[2] === '*' ? undefined : unit(range[2], timeCoversSecond);
        if ((range[1] !== '*' && !a) || (range[2] !== '*' && !b)) return undefined;
        if (a) lo = a.start;
        if (b) hi = b.end;
      } else {
        const op = /^(>=|<=|>|<)?(.+)$/.exec(value) as RegExpExecArray;
        const u = unit(op[2], timeCoversSecond);
        if (!u) return undefined;
        if (op[1] === '>=') lo = u.start;
        else if (op[1] === '>') lo = u.end;
        else if (op[1] === '<=') hi = u.end;
        else if (op[1] === '<') hi = u.start;
        else [lo, hi] = [u.start, u.end];
      }
      from = Math.max(from, lo);
      to = Math.min(to, hi);
      continue;
    }
    if (!FIELD[key]) return undefined;
    const g = groups.get(key) ?? { values: [], negated: [] };
    (neg ? g.negated : g.values).push(value.toLowerCase());
    groups.set(key, g);
  }
  // "By default, only events from the past three months are displayed."
  if (!created) from = now - 90 * DAY;
  const filters = [...groups].map(([key, g]) => (e: Record<string, any>) => {
    const v = String(FIELD[key](e) ?? '').toLowerCase();
    const hit = (x: string) => (key === 'action' ? v === x || v.startsWith(`${x}.`) : v === x);
    return (g.values.length === 0 || g.values.some(hit)) && !g.negated.some(hit);
  });
  return { from, to, filters };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function error(status: number, message: string, documentation_url = DOCS): SimReply {
  return json(status, { message, documentation_url, status: String(status) });
}

function firstIndex(items: number[], pred: (s: number) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(items[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function base62(n: number): string {
  const a = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += a[bytes[i] % 62];
  return s;
}

function hex(n: number, rng?: Rng): string {
  return rng ? rng.hex(n).toUpperCase() : randomBytes(n).toString('hex').slice(0, n).toUpperCase();
}

/** Pads a record to about `bytes` of JSON with a webhook event list (hook.* events carry one). */
function pad(e: Record<string, unknown>, bytes: number, rng: Rng): void {
  const size = JSON.stringify(e).length;
  if (size >= bytes) return;
  const events: string[] = [];
  let left = bytes - size - 12;
  while (left > 0) {
    const name = rng.pick(HOOK_EVENTS);
    events.push(name);
    left -= name.length + 3;
  }
  e.events = events;
}

const ACTORS = [
  { login: 'octocat', id: 583231 },
  { login: 'monalisa', id: 2154 },
  { login: 'hubot', id: 480938 },
  { login: 'mona-ops', id: 9919 },
  { login: 'svc-deploy', id: 81726354 },
  { login: 'jdoe-acme', id: 1234567 },
  { login: 'asmith', id: 7654321 },
] as const;

const REPOS = ['api', 'web', 'infra', 'payments', 'docs', 'mobile', 'terraform-modules'] as const;

interface WebAction {
  action: string;
  operation: string;
  repo?: boolean;
  user?: boolean;
  team?: boolean;
  token?: boolean;
}

const WEB_ACTIONS: readonly WebAction[] = [
  { action: 'repo.create', operation: 'create', repo: true },
  { action: 'repo.access', operation: 'modify', repo: true },
  { action: 'repo.download_zip', operation: 'access', repo: true },
  { action: 'repo.add_member', operation: 'create', repo: true, user: true },
  { action: 'protected_branch.update', operation: 'modify', repo: true },
  { action: 'team.add_member', operation: 'modify', team: true, user: true },
  { action: 'team.remove_member', operation: 'modify', team: true, user: true },
  { action: 'org.add_member', operation: 'create', user: true },
  { action: 'org.update_member', operation: 'modify', user: true },
  { action: 'org.oauth_app_access_approved', operation: 'modify' },
  { action: 'hook.create', operation: 'create', repo: true },
  { action: 'integration_installation.create', operation: 'create' },
  { action: 'personal_access_token.access_granted', operation: 'create', token: true },
  { action: 'org_credential_authorization.grant', operation: 'create', user: true },
];

const BUSINESS_ACTIONS = [
  { action: 'business.add_admin', operation: 'create' },
  { action: 'business.set_actions_retention_limit', operation: 'modify' },
  { action: 'business.update_member_repository_creation_permission', operation: 'modify' },
  { action: 'business.members_can_update_protected_branches.enable', operation: 'modify' },
] as const;

const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0',
  'GitHub CLI 2.40.1',
  'octokit-rest.js/20.0.2 octokit-core.js/5.0.2 Node.js/20',
  'Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-github/5.42.0',
] as const;

const HOOK_EVENTS = [
  'push',
  'pull_request',
  'pull_request_review',
  'issues',
  'issue_comment',
  'workflow_run',
  'check_suite',
  'deployment_status',
  'repository',
  'member',
] as const;
