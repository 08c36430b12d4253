/**
 * Documentation: https://docs.servicenow.com (REST API reference → Table API; Platform Security → OAuth inbound integrations).
 * ServiceNow Table API simulator for the audit tables. Vendor behaviour, with where ServiceNow documents it
 * (REST API reference, "Table API", `GET /now/table/{tableName}`):
 *
 * - `GET /api/now/table/{sys_audit|syslog_transaction|sysevent}?sysparm_query=…&sysparm_limit=…&sysparm_offset=…`
 *   answers `{"result": [records]}` with `X-Total-Count` and a `Link` header (`rel="first"`, `"prev"`,
 *   `"next"`, `"last"`) built from `sysparm_offset`/`sysparm_limit`; `sysparm_limit` defaults to 10000.
 *   Records hold strings: `sys_id` (32 hex), `sys_created_on` ("YYYY-MM-DD HH:MM:SS", UTC for an integration
 *   user in GMT, as internal values are), `sys_created_by`, and the table's fields.
 * - Encoded queries (Product documentation, "Encoded query strings"): conditions joined by `^`, `ORDERBY`
 *   and `ORDERBYDESC`; this simulator understands `sys_created_on>=`, `>`, `<`, `<=` with a
 *   "YYYY-MM-DD HH:MM:SS" value, and `ORDERBYsys_created_on`, `ORDERBYsys_id`.
 * - Errors: `{"error": {"message", "detail"}, "status": "failure"}`: 401 "User Not Authenticated", 403 "User
 *   Not Authorized" (no read access to the table), 400 "Invalid table", 429 when a REST rate limit rule is
 *   exceeded, with `X-RateLimit-Limit`, `X-RateLimit-Reset` and `Retry-After` ("REST API rate limiting").
 * - Write methods on the same path (POST, PUT, PATCH, DELETE) exist: routed so a test that sees one fails.
 * - OAuth (Platform Security, "OAuth inbound integrations", "Client Credentials"): `POST /oauth_token.do`,
 *   form-encoded, `grant_type=password` (client ID and secret, user name and password) or
 *   `grant_type=client_credentials` (refused unless the system property
 *   glide.oauth.inbound.client.credential.grant_type.enabled is true and the client names an OAuth Application
 *   User) → `{access_token, refresh_token, scope: "useraccount", token_type: "Bearer", expires_in: 1799}`;
 *   API requests then carry `Authorization: Bearer`; an expired token is 401 like a wrong password.
 *
 * Assumed where ServiceNow is silent or the behaviour is configurable: a query this simulator does not
 * understand answers 400 (an instance may instead ignore an invalid condition, see the property
 * glide.invalid_query.returns_no_rows); token refusals as RFC 6749 errors (`invalid_client`, `invalid_grant`,
and `access_denied` for a client credentials grant the instance does not allow); offsets count into the filtered, ordered rows as they are when each
 * page is asked (a row inserted meanwhile shifts the later ones: `insertDuringPaging`).
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

export const SN_TABLES = ['sys_audit', 'syslog_transaction', 'sysevent'] as const;
export type SnTable = (typeof SN_TABLES)[number];

export interface ServiceNowSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Rows per table generated up front (default 40), `spacingMs` apart, the last two minutes before now. */
  rows?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** Tables the integration user may not read (403). */
  forbidden?: SnTable[];
  /** false: the client credentials grant is not enabled on the instance (default true). */
  clientCredentials?: boolean;
  /** Access token lifetime (default 1799 s, the client's default Access Token Lifespan). */
  tokenTtlS?: number;
}

interface Row {
  seq: number;
  t: number;
  vis: number;
}

const sec = (ms: number) => Math.floor(ms / 1000) * 1000;
const snTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const parseSn = (v: string) => Date.parse(`${v.replace(' ', 'T')}Z`);
const COND = /^sys_created_on(>=|<=|>|<)(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$/;

export class ServiceNowSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly username = 'tributary.integration';
  readonly password: string;
  readonly clientId: string;
  readonly clientSecret: string;
  private readonly tokens = new Map<string, number>();
  private tokenCount = 0;
  /** The grant of every token request (its `grant_type` and `username`), for tests. */
  readonly grants: Array<{ grant: string | null; username: string | null }> = [];
  private readonly o: ServiceNowSimulatorOptions & { spacingMs: number };
  private readonly tables = new Map<SnTable, Row[]>();
  private seq = 0;
  private loopPages = 0;
  private insertion: { table: SnTable; atOffset: number } | undefined;

  constructor(o: ServiceNowSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(this.seed);
    this.password = rng.base62(20);
    this.clientId = rng.hex(32);
    this.clientSecret = rng.base62(24);
    this.o = { spacingMs: 60_000, ...o };
    this.server = new SimServer({
      name: 'instance',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) =>
          snError(status, status >= 500 ? 'Internal Server Error' : `Error ${status}`),
        rateLimitReply: () => snError(429, 'Rate limit exceeded', 'Too many requests for this user'),
        decorate: (_req, reply) => {
          if (reply.status === 429)
            reply.headers = {
              ...reply.headers,
              'x-ratelimit-limit': '100',
              'x-ratelimit-reset': String(Math.ceil(this.clock() / 1000) + 1),
            };
        },
      },
    });
    this.server.route('GET', '/api/now/table/:table', (r) => this.list(r));
    this.server.route('POST', '/oauth_token.do', (r) => this.token(r));
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE'])
      this.server.route(m, '/api/now/table/:table/*', () => json(200, { result: {} }));
    const n = o.rows ?? 40;
    for (const table of SN_TABLES) {
      this.tables.set(table, []);
      this.addRows(table, n, { from: this.clock() - 120_000 - (n - 1) * this.o.spacingMs });
    }
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/oauth_token.do');
  }

  /** Every access token issued so far is refused from now on (as once expired). */
  expireTokens(): void {
    this.tokens.clear();
  }

  tokensIssued(): number {
    return this.tokenCount;
  }

  /** The next `pages` answers link to their own page as the next one (a looping vendor). */
  loopNextPages(pages = 1): void {
    this.loopPages = pages;
  }

  /**
   * When a page of `table` at `atOffset` or later is asked, a row created before the rows already read is
   * inserted first (a transaction committed late): every later row moves up one place.
   */
  insertDuringPaging(table: SnTable, atOffset: number): void {
    this.insertion = { table, atOffset };
  }

  /** The sys_ids of the rows of `tables`. */
  ids(tables: readonly SnTable[] = SN_TABLES): string[] {
    return tables.flatMap((t) => (this.tables.get(t) ?? []).map((r) => this.sysId(t, r)));
  }

  addRows(table: SnTable, n: number, o: SpacedEvents = {}): string[] {
    const rows = this.tables.get(table)!;
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      const r = { seq: this.seq++, t: sec(t), vis };
      rows.push(r);
      return this.sysId(table, r);
    });
  }

  // -------------------------------------------------------------------------------------------

  private token(req: SimRequest): SimReply {
    const f = new URLSearchParams(req.body.toString('utf8'));
    this.grants.push({ grant: f.get('grant_type'), username: f.get('username') });
    const refuse = (error: string, description: string) =>
      json(401, { error, error_description: description });
    if (f.get('client_id') !== this.clientId || f.get('client_secret') !== this.clientSecret)
      return refuse('invalid_client', 'Client authentication failed');
    const grant = f.get('grant_type');
    if (grant === 'password') {
      if (f.get('username') !== this.username || f.get('password') !== this.password)
        return refuse('invalid_grant', 'Invalid username or password');
    } else if (grant === 'client_credentials') {
      if (this.o.clientCredentials === false)
        return refuse('access_denied', 'Client credentials grant not allowed');
    } else
      return json(400, { error: 'unsupported_grant_type', error_description: `Unsupported grant ${grant}` });
    const token = randomBytes(24).toString('base64url');
    const ttl = this.o.tokenTtlS ?? 1799;
    this.tokens.set(token, this.clock() + ttl * 1000);
    this.tokenCount++;
    return json(200, {
      access_token: token,
      refresh_token: randomBytes(24).toString('base64url'),
      scope: 'useraccount',
      token_type: 'Bearer',
      expires_in: ttl,
    });
  }

  private authenticated(req: SimRequest): boolean {
    const auth = String(req.headers.authorization ?? '');
    const bearer = /^Bearer (.+)$/.exec(auth);
    if (bearer) return (this.tokens.get(bearer[1]) ?? 0) > this.clock();
    return auth === `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
  }

  private list(req: SimRequest): SimReply {
    if (!this.authenticated(req))
      return snError(401, 'User Not Authenticated', 'Required to provide Auth information');
    const table = req.params.table as SnTable;
    if (!SN_TABLES.includes(table)) return snError(400, 'Invalid table', `Invalid table ${req.params.table}`);
    if (this.o.forbidden?.includes(table))
      return snError(403, 'User Not Authorized', `User does not have read access to table ${table}`);
    const q = req.query;
    const limit = Number(q.get('sysparm_limit') ?? 10_000);
    const offset = Number(q.get('sysparm_offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0)
      return snError(400, 'Invalid parameter', 'sysparm_limit and sysparm_offset must be whole numbers');
    let from = Number.NEGATIVE_INFINITY;
    let to = Number.POSITIVE_INFINITY;
    for (const part of (q.get('sysparm_query') ?? '').split('^').filter(Boolean)) {
      if (part === 'ORDERBYsys_created_on' || part === 'ORDERBYsys_id') continue;
      const m = COND.exec(part);
      if (!m) return snError(400, 'Invalid query', `Unsupported condition ${part}`);
      const v = parseSn(m[2]);
      if (m[1] === '>=') from = Math.max(from, v);
      else if (m[1] === '>') from = Math.max(from, v + 1000);
      else if (m[1] === '<') to = Math.min(to, v);
      else to = Math.min(to, v + 1000);
    }
    const now = this.clock();
    const rows = (this.tables.get(table) ?? [])
      .filter((r) => r.vis <= now && r.t >= from && r.t < to)
      .sort((a, b) => a.t - b.t || this.sysId(table, a).localeCompare(this.sysId(table, b)));
    if (
      this.insertion?.table === table &&
      offset >= this.insertion.atOffset &&
      offset > 0 &&
      rows[offset - 1]
    ) {
      // A transaction committed only now, created a second before the last row already read: it lands
      // among the rows read, and every later row moves up one place.
      const late = { seq: this.seq++, t: rows[offset - 1].t - 1000, vis: now };
      this.tables.get(table)!.push(late);
      rows.splice(offset - 1, 0, late);
      this.insertion = undefined;
    }
    // An empty answer (an injected fault) is one with no rows at all: no total, no next link.
    if (req.empty) rows.length = 0;
    const page = rows.slice(offset, offset + limit);
    const link = (o: number, rel: string) => {
      const u = new URL(req.url);
      u.searchParams.set('sysparm_offset', String(o));
      u.searchParams.set('sysparm_limit', String(limit));
      return `<${u.toString()}>;rel="${rel}"`;
    };
    const links = [link(0, 'first')];
    if (offset > 0) links.push(link(Math.max(0, offset - limit), 'prev'));
    if (offset + limit < rows.length) {
      let next = offset + limit;
      if (this.loopPages > 0) {
        this.loopPages--;
        next = offset;
      }
      links.push(link(next, 'next'));
    }
    links.push(link(Math.max(0, Math.floor((rows.length - 1) / limit) * limit), 'last'));
    return json(
      200,
      { result: page.map((r) => this.record(table, r)) },
      { 'x-total-count': String(rows.length), link: links.join(',') },
    );
  }

  private sysId(table: SnTable, r: Row): string {
    return new Rng(seedOf(this.seed, table, r.seq)).hex(32);
  }

  private record(table: SnTable, r: Row): Record<string, string> {
    const rng = new Rng(seedOf(this.seed, 'row', table, r.seq));
    const who = person(rng, 'example.com');
    const common = {
      sys_id: this.sysId(table, r),
      sys_created_on: snTime(r.t),
      sys_created_by: who.login,
      sys_updated_on: snTime(r.t),
      sys_updated_by: who.login,
      sys_mod_count: '0',
    };
    let rec: Record<string, string>;
    if (table === 'sys_audit') {
      const field = rng.pick(['state', 'assigned_to', 'priority', 'roles', 'active']);
      rec = {
        ...common,
        tablename: rng.pick(['incident', 'sys_user', 'sys_user_has_role', 'change_request']),
        documentkey: rng.hex(32),
        fieldname: field,
        oldvalue: field === 'active' ? 'true' : String(rng.int(1, 5)),
        newvalue: field === 'active' ? 'false' : String(rng.int(1, 5)),
        reason: '',
        user: who.login,
        record_checkpoint: String(rng.int(1, 20)),
        internal_checkpoint: rng.hex(16),
      };
    } else if (table === 'syslog_transaction') {
      rec = {
        ...common,
        url: rng.pick(['/api/now/table/incident', '/navpage.do', '/incident.do?sys_id=-1', '/login.do']),
        type: rng.pick(['rest', 'form', 'list', 'login']),
        response_time: String(rng.int(20, 4000)),
        remote_ip: ipv4(rng),
        session: rng.hex(32).toUpperCase(),
        system_id: `app${rng.int(1, 9)}:acme${rng.int(1, 3)}`,
        transaction_processing_time: String(rng.int(10, 3000)),
      };
    } else {
      const name = rng.pick([
        'login',
        'login.failed',
        'security.elevated_role.enabled',
        'user.password.changed',
      ]);
      rec = {
        ...common,
        name,
        parm1: who.login,
        parm2: ipv4(rng),
        instance: '',
        queue: '',
        state: 'processed',
        processed: snTime(r.t + 1000),
        uri: '',
        table: 'sys_user',
      };
    }
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(rec).length;
      if (left > 0) rec.sys_tags = 'x'.repeat(left);
    }
    return rec;
  }
}

function snError(status: number, message: string, detail: string | null = null): SimReply {
  return json(status, { error: { message, detail }, status: 'failure' });
}
