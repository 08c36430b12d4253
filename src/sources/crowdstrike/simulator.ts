/**
 * CrowdStrike Falcon API simulator (OAuth2 token and Alerts API v2), following the CrowdStrike API
 * specification as published with the Falcon SDKs and developer.crowdstrike.com:
 *
 * - `POST /oauth2/token` (form `client_id`, `client_secret`, optional `member_cid`; API reference, "OAuth2",
 *   https://developer.crowdstrike.com/api-reference/collections/oauth2/, oauth2AccessToken): 201
 *   `{access_token, token_type: "bearer", expires_in: 1799}`; tokens have a "standard 30-minute lifespan"
 *   (oauth2RevokeToken) — a token older than that is refused with 401 like a revoked one.
 * - The Alerts service collection (FalconPy, "Using the Alerts service collection",
 *   https://falconpy.io/Service-Collections/Alerts.html, the operations named below; scope alerts:read).
 * - `GET /alerts/queries/alerts/v2` (GetQueriesAlertsV2): `filter` in FQL (`field:>='value'` terms joined by
 *   `+`; `updated_timestamp` with range operators; `product`, `severity` as examples of other fields), `sort`
 *   `updated_timestamp|asc` (default, unsorted: "0 is the latest detection", newest first), `limit` (default
 *   100, 0–10000), `offset`; answer `{meta: {query_time, pagination: {offset, limit, total}, powered_by,
 *   trace_id}, resources: [composite ids], errors: []}`.
 * - `POST /alerts/entities/alerts/v2` (PostEntitiesAlertsV2) `{"composite_ids": [...]}`: `{meta, resources:
 *   [alerts], errors}`; records shaped like the Alerts reference's `detectsexternalalert` (composite_id, id,
 *   cid, agent_id, aggregate_id, created_timestamp, updated_timestamp with nanoseconds, status, severity,
 *   severity_name, product, tactic, technique, device {…}, filename, cmdline, …).
 * - `PATCH /alerts/entities/alerts/v3` (update alerts): routed, so any test that sees it fails on
 *   `writeCalls()`.
 * - Missing scope: 403; a bad or expired token: 401; both with `errors: [{code, message}]`.
 *
 * Decided by the simulator (not in the public reference): `offset + limit` above 10,000 is refused with 400 (the combined
 * operation exists for ">10k" alerts); at most 1000 ids per entities call; error wording; rate-limit headers
 * `X-RateLimit-Limit`/`X-RateLimit-Remaining` on every answer and `X-RateLimit-RetryAfter` (epoch seconds)
 * on a 429; an alert is listed only in its latest version (alerts change in place).
 */
import {
  type Clock,
  json,
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
import { EventStreamFeed } from './feed-simulator.ts';

export interface CrowdStrikeSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Alerts generated up front (default 50), `spacingMs` apart, the last 5 minutes before now. */
  alerts?: number;
  spacingMs?: number;
  eventBytes?: number;
  clientId?: string;
  clientSecret?: string;
  /** The API client's scopes (default alerts:read). */
  scopes?: string[];
  /** Requests a second before 429 (default: unlimited). */
  rateLimitPerSecond?: number;
  /** The deepest offset + limit the query takes (default 10,000). */
  maxDepth?: number;
  /** Event Streams (feed-simulator.ts): partitions and the session interval in seconds. */
  feed?: { partitions?: number; sessionSeconds?: number };
}

interface Version {
  t: number;
  vis: number;
  status: string;
}

interface Alert {
  seq: number;
  versions: Version[];
}

const TOKEN_SECONDS = 1799;
const HEX = '0123456789abcdef';

export class CrowdStrikeSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly cid: string;
  private readonly o: CrowdStrikeSimulatorOptions & { spacingMs: number; maxDepth: number };
  private readonly alerts: Alert[] = [];
  private readonly tokens = new Map<string, number>();
  private tokenCount = 0;
  private rl = { second: -1, count: 0 };
  /** Event Streams: discovery, the data feeds and session refresh. */
  readonly feed: EventStreamFeed;

  constructor(o: CrowdStrikeSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'client'));
    const hex = (n: number) => Array.from({ length: n }, () => HEX[rng.int(0, 15)]).join('');
    this.clientId = o.clientId ?? hex(32);
    this.clientSecret = o.clientSecret ?? rng.base62(40);
    this.cid = hex(32);
    this.o = { spacingMs: 60_000, maxDepth: 10_000, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => reply(status, MESSAGES[status] ?? `error ${status}`),
        rateLimitReply: (_req, secs) =>
          reply(429, 'API rate limit exceeded.', {
            'x-ratelimit-retryafter': String(Math.ceil(this.clock() / 1000) + secs),
          }),
        decorate: (_req, r) => {
          r.headers = { 'x-ratelimit-limit': '6000', 'x-ratelimit-remaining': '5999', ...r.headers };
        },
      },
    });
    this.server.route('POST', '/oauth2/token', (r) => this.token(r));
    this.server.route('GET', '/alerts/queries/alerts/v2', (r) => this.guard(r, () => this.query(r)));
    this.server.route('POST', '/alerts/entities/alerts/v2', (r) => this.guard(r, () => this.entities(r)));
    this.feed = new EventStreamFeed(
      this.server,
      { clock: this.clock, seed: this.seed, cid: this.cid, ...o.feed },
      (r, next) => this.guard(r, next, 'streaming:read'),
    );
    // Changing alerts exists; Tributary must never call it.
    this.server.route('PATCH', '/alerts/entities/alerts/v3', () => reply(200, 'updated'));
    const now = this.clock();
    const n = o.alerts ?? 50;
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (let i = 0; i < n; i++) this.addAlert(first + i * this.o.spacingMs, first + i * this.o.spacingMs);
  }

  /** Calls that could change Falcon data; minting a token and the read-only entities query do not. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter(
      (r) =>
        !(
          r.method === 'POST' &&
          (['/oauth2/token', '/alerts/entities/alerts/v2'].includes(r.path) ||
            // Refreshing a stream session keeps the connection alive; it changes no Falcon data.
            r.path.startsWith('/sensors/entities/datafeed-actions/v1/'))
        ),
    );
  }

  /** The account fields of a `crowdstrike` account pointing here. */
  account(): { url: string; clientId: string; clientSecret: string } {
    return { url: this.url, clientId: this.clientId, clientSecret: this.clientSecret };
  }

  tokensIssued(): number {
    return this.tokenCount;
  }

  /** Every token issued so far is refused from now on (as an expired one is). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** Adds `n` new alerts (or, with `alertSeq`, new versions of that alert); returns their event ids. */
  addAlerts(n: number, o: SpacedEvents & { alertSeq?: number; status?: string } = {}): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      const a = o.alertSeq !== undefined ? this.alerts[o.alertSeq] : this.addAlert(t, vis);
      if (o.alertSeq !== undefined) a.versions.push({ t, vis, status: o.status ?? 'in_progress' });
      return this.versionId(a, a.versions.length - 1);
    });
  }

  /** Every version of every alert a complete drain must deliver (versions replaced before they were visible excepted). */
  expectedIds(): string[] {
    return this.alerts.flatMap((a) => a.versions.map((_, i) => this.versionId(a, i)));
  }

  compositeId(a: Alert): string {
    return `${this.cid}:ind:${this.agentId(a)}:${1000 + a.seq}-${20 + (a.seq % 7)}-${7000 + a.seq}`;
  }

  // -------------------------------------------------------------------------------------------

  private addAlert(t: number, vis: number): Alert {
    const a: Alert = { seq: this.alerts.length, versions: [{ t, vis, status: 'new' }] };
    this.alerts.push(a);
    return a;
  }

  private versionId(a: Alert, i: number): string {
    return `${this.compositeId(a)}@${stamp(a.versions[i].t, a.seq)}`;
  }

  private agentId(a: Alert): string {
    const rng = new Rng(seedOf(this.seed, 'agent', a.seq % 17));
    return Array.from({ length: 32 }, () => HEX[rng.int(0, 15)]).join('');
  }

  /** The version of `a` the API shows now: the latest visible one. */
  private current(a: Alert, now: number): Version | undefined {
    let v: Version | undefined;
    for (const x of a.versions) if (x.vis <= now) v = x;
    return v;
  }

  private token(req: SimRequest): SimReply {
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      return reply(400, 'Content-Type must be application/x-www-form-urlencoded');
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret)
      return reply(403, 'Failed to issue access token - Not Authorized');
    const token = new Rng(seedOf(this.seed, 'token', ++this.tokenCount)).base62(48);
    this.tokens.set(token, this.clock());
    return json(
      201,
      { access_token: token, token_type: 'bearer', expires_in: TOKEN_SECONDS },
      { 'x-cs-region': 'us-1' },
    );
  }

  private guard(req: SimRequest, next: () => SimReply, scope = 'alerts:read'): SimReply {
    const m = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''));
    const issued = m ? this.tokens.get(m[1]) : undefined;
    if (issued === undefined || this.clock() - issued >= TOKEN_SECONDS * 1000)
      return reply(401, 'access denied, invalid bearer token');
    if (!(this.o.scopes ?? ['alerts:read', 'streaming:read']).includes(scope))
      return reply(403, 'access denied, authorization failed');
    if (this.o.rateLimitPerSecond !== undefined) {
      const s = Math.floor(this.clock() / 1000);
      if (s !== this.rl.second) this.rl = { second: s, count: 0 };
      if (++this.rl.count > this.o.rateLimitPerSecond)
        return reply(429, 'API rate limit exceeded.', {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-retryafter': String(s + 1),
        });
    }
    return next();
  }

  private query(req: SimRequest): SimReply {
    const filter = parseFilter(req.query.get('filter') ?? '');
    if (typeof filter === 'string') return reply(400, filter);
    const limit = Number(req.query.get('limit') ?? 100);
    const offset = Number(req.query.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 0 || limit > 10_000)
      return reply(400, 'limit must be an integer between 0 and 10000');
    if (!Number.isInteger(offset) || offset < 0) return reply(400, 'offset must be a non-negative integer');
    if (offset + limit > this.o.maxDepth)
      return reply(400, `offset + limit must be less than or equal to ${this.o.maxDepth}`);
    const sort = req.query.get('sort');
    if (sort !== null && sort !== 'updated_timestamp|asc' && sort !== 'updated_timestamp|desc')
      return reply(400, `invalid sort: ${sort}`);
    const now = this.clock();
    const hits: Array<{ a: Alert; v: Version }> = [];
    for (const a of this.alerts) {
      const v = this.current(a, now);
      if (v && filter(this.record(a, v))) hits.push({ a, v });
    }
    // Ascending by updated time when asked; otherwise newest first ("0 is the latest detection").
    hits.sort((x, y) => x.v.t - y.v.t || x.a.seq - y.a.seq);
    if (sort !== 'updated_timestamp|asc') hits.reverse();
    const page = req.empty ? [] : hits.slice(offset, offset + limit);
    return json(200, {
      meta: {
        query_time: 0.012,
        pagination: { offset, limit, total: hits.length },
        powered_by: 'detectsapi',
        trace_id: `trace-${offset}`,
      },
      resources: page.map(({ a }) => this.compositeId(a)),
      errors: [],
    });
  }

  private entities(req: SimRequest): SimReply {
    let ids: unknown;
    try {
      ids = JSON.parse(req.body.toString('utf8'))?.composite_ids;
    } catch {
      return reply(400, 'invalid JSON body');
    }
    if (!Array.isArray(ids) || ids.length === 0) return reply(400, 'composite_ids is required');
    if (ids.length > 1000) return reply(400, 'at most 1000 composite_ids per request');
    const now = this.clock();
    const byId = new Map(this.alerts.map((a) => [this.compositeId(a), a]));
    const resources = [];
    for (const id of ids) {
      const a = byId.get(String(id));
      const v = a && this.current(a, now);
      if (a && v) resources.push(this.record(a, v));
    }
    return json(200, {
      meta: { query_time: 0.02, powered_by: 'detectsapi', trace_id: 'trace-entities' },
      resources,
      errors: [],
    });
  }

  private record(a: Alert, v: Version): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'alert', a.seq));
    const technique = rng.pick(TECHNIQUES);
    const host = `WS-${rng.int(1000, 9999)}`;
    const severity = rng.pick([30, 50, 70, 90]);
    const agent = this.agentId(a);
    const created = a.versions[0].t;
    const r: Record<string, unknown> = {
      agent_id: agent,
      aggregate_id: `aggind:${agent}:${8_000_000_000 + a.seq}`,
      cid: this.cid,
      composite_id: this.compositeId(a),
      confidence: rng.pick([50, 80, 100]),
      created_timestamp: stamp(created, a.seq),
      timestamp: stamp(created - 2000, a.seq),
      updated_timestamp: stamp(v.t, a.seq),
      data_domains: ['Endpoint'],
      description: technique.description,
      display_name: technique.name,
      falcon_host_link: `https://falcon.crowdstrike.com/activity-v2/detections/${this.cid}:ind:${agent}:${1000 + a.seq}`,
      id: `ind:${agent}:${1000 + a.seq}-${20 + (a.seq % 7)}-${7000 + a.seq}`,
      name: technique.name,
      objective: technique.objective,
      pattern_id: 10_000 + a.seq,
      platform: 'Windows',
      product: 'epp',
      scenario: technique.scenario,
      severity,
      severity_name:
        severity >= 90 ? 'Critical' : severity >= 70 ? 'High' : severity >= 50 ? 'Medium' : 'Low',
      show_in_ui: true,
      source_products: ['Falcon Insight'],
      source_vendors: ['CrowdStrike'],
      status: v.status,
      tactic: technique.tactic,
      tactic_id: technique.tacticId,
      technique: technique.technique,
      technique_id: technique.techniqueId,
      type: 'ldt',
      filename: technique.file,
      filepath: `\\Device\\HarddiskVolume3\\Windows\\System32\\${technique.file}`,
      cmdline: technique.cmdline,
      sha256: Array.from({ length: 64 }, () => HEX[rng.int(0, 15)]).join(''),
      user_name: `acme\\user${rng.int(1, 400)}`,
      device: {
        device_id: agent,
        hostname: host,
        local_ip: `10.0.${rng.int(0, 255)}.${rng.int(1, 254)}`,
        external_ip: `203.0.113.${rng.int(1, 254)}`,
        platform_name: 'Windows',
        os_version: 'Windows 11',
        agent_version: '7.18.18003.0',
      },
      tags: [],
    };
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(r).length;
      if (left > 0) r.cmdline = `${r.cmdline} ${'x'.repeat(left)}`;
    }
    return r;
  }
}

/** RFC 3339 with nanoseconds, as Falcon stamps alerts: the millisecond, then six digits of its own. */
function stamp(ms: number, salt: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}${String((salt * 7919) % 1_000_000).padStart(6, '0')}Z`;
}

/** An FQL filter of `+`-joined terms, as a predicate over records, or the reason it is refused. */
function parseFilter(fql: string): ((r: Record<string, unknown>) => boolean) | string {
  if (!fql.trim()) return () => true;
  const tests: Array<(r: Record<string, unknown>) => boolean> = [];
  for (const term of fql.split('+')) {
    const m = /^(\w+):(>=|<=|>|<|!)?(?:'([^']*)'|(-?\d+(?:\.\d+)?))$/.exec(term.trim());
    if (!m) return `Invalid filter term: ${term}`;
    const [, field, op = '', str, num] = m;
    if (!['updated_timestamp', 'created_timestamp', 'product', 'severity', 'status'].includes(field))
      return `Invalid filter field: ${field}`;
    const time = field.endsWith('_timestamp');
    if (time && (str === undefined || !Number.isFinite(Date.parse(str))))
      return `Invalid timestamp in filter: ${term}`;
    tests.push((r) => {
      const v = r[field];
      const a = time ? Date.parse(String(v)) : typeof v === 'number' ? v : String(v);
      const b = time ? Date.parse(str as string) : num !== undefined ? Number(num) : str;
      switch (op) {
        case '>=':
          return (a as number) >= (b as number);
        case '<=':
          return (a as number) <= (b as number);
        case '>':
          return (a as number) > (b as number);
        case '<':
          return (a as number) < (b as number);
        case '!':
          return a !== b;
        default:
          return a === b;
      }
    });
  }
  return (r) => tests.every((t) => t(r));
}

function reply(status: number, message: string, headers: Record<string, string> = {}): SimReply {
  return json(
    status,
    {
      meta: { query_time: 0.001, powered_by: 'crowdstrike-api-gateway', trace_id: `trace-${status}` },
      errors: [{ code: status, message }],
    },
    headers,
  );
}

const MESSAGES: Record<number, string> = {
  400: 'bad request',
  401: 'access denied, invalid bearer token',
  403: 'access denied, authorization failed',
  404: 'Not Found',
  429: 'API rate limit exceeded.',
  500: 'internal server error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

const TECHNIQUES = [
  {
    name: 'CredentialDumping',
    description: 'A process accessed LSASS memory, possibly to dump credentials.',
    objective: 'Gain Access',
    scenario: 'credential_theft',
    tactic: 'Credential Access',
    tacticId: 'TA0006',
    technique: 'OS Credential Dumping',
    techniqueId: 'T1003',
    file: 'rundll32.exe',
    cmdline: 'rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 624 C:\\temp\\l.dmp full',
  },
  {
    name: 'SuspiciousPowerShell',
    description: 'PowerShell ran an encoded command that downloads and executes a payload.',
    objective: 'Follow Through',
    scenario: 'suspicious_activity',
    tactic: 'Execution',
    tacticId: 'TA0002',
    technique: 'PowerShell',
    techniqueId: 'T1059.001',
    file: 'powershell.exe',
    cmdline: 'powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA',
  },
  {
    name: 'RansomwareShadowCopyDelete',
    description: 'A process deleted volume shadow copies, as ransomware does before encrypting.',
    objective: 'Keep Access',
    scenario: 'ransomware',
    tactic: 'Impact',
    tacticId: 'TA0040',
    technique: 'Inhibit System Recovery',
    techniqueId: 'T1490',
    file: 'vssadmin.exe',
    cmdline: 'vssadmin.exe delete shadows /all /quiet',
  },
] as const;
