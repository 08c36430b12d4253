/**
 * Documentation: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm (REST API Developer Guide, "Query").
 * Salesforce simulator: OAuth server-to-server flows and the REST API the `salesforce` and
 * `salesforce-eventlog` sources read. Vendor behaviour, with where Salesforce documents it:
 *
 * - Token endpoint `POST /services/oauth2/token` (help.salesforce.com "OAuth 2.0 Client Credentials Flow
 *   for Server-to-Server Integration", "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration"):
 *   `grant_type=client_credentials` with `client_id`/`client_secret`, or
 *   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256 `assertion` (iss = client ID,
 *   sub = username, aud = login/test.salesforce.com, exp within 3 minutes); answers `{access_token,
 *   instance_url, id, token_type: "Bearer", issued_at, signature}`, no `expires_in`; refusals are
 *   `{error, error_description}` (`invalid_client_id`, `invalid_client`, `invalid_grant`).
 * - Query (REST API Developer Guide, "Query", "Query More Results"): `GET /services/data/vXX.X/query?q=`
 *   answers `{totalSize, done, nextRecordsUrl?, records}`, each record with `attributes {type, url}`
 *   and the fields selected; batches of up to 2,000 records, fewer when `Sforce-Query-Options:
 *   batchSize=N` asks (200 to 2,000); `nextRecordsUrl` is `/services/data/vXX.X/query/<locator>-<offset>`.
 *   Locators expire after 15 minutes without use (400 `INVALID_QUERY_LOCATOR`).
 * - SOQL understood here (SOQL and SOSL Reference, "WHERE", "ORDER BY", "Date Formats"): `SELECT
 *   <fields> FROM <object> [WHERE <time> >= <dt> AND <time> < <dt> [AND Interval = '<Hourly|Daily>'] [AND EventType IN ('<type>', …)]]
 *   ORDER BY <time> ASC|DESC[, Id ASC|DESC] [LIMIT n]`, date-times `YYYY-MM-DDThh:mm:ssZ`; anything else is
 *   400 `MALFORMED_QUERY`, a field the object lacks 400 `INVALID_FIELD`.
 * - Objects (Object Reference: LoginHistory, SetupAuditTrail, EventLogFile): fields as documented, ids of
 *   18 characters with the object's key prefix (0Ya, 0Ym, 0AT); date-times `2026-12-07T05:00:00.000+0000`.
 *   Reading LoginHistory and SetupAuditTrail needs "View Setup and Configuration" / "Manage Users" (the
 *   profile permissions Salesforce lists); EventLogFile needs "View Event Log Files" and "API Enabled"
 *   ("Special Access Rules"). Without them the object is 400 `INVALID_TYPE` "sObject type 'X' is not
 *   supported".
 * - Event log files (REST API Developer Guide, "Event Monitoring", "Query Hourly Event Log Files";
 *   Object Reference, EventLogFile): `CreatedDate` is when the file was generated, `LogDate` the start of
 *   the period it covers, `Interval` `Hourly` or `Daily`, `Sequence` the file's number within its hour
 *   (0 for 24-hour files); `GET /services/data/vXX.X/sobjects/EventLogFile/<Id>/LogFile` answers the
 *   CSV (`text/csv`), every value quoted, the first row naming the fields (`LogFileFieldNames`).
 * - Errors (REST API Developer Guide, "Status Codes and Error Responses"): `[{"message","errorCode"}]`;
 *   401 `INVALID_SESSION_ID` "Session expired or invalid"; 403 `REQUEST_LIMIT_EXCEEDED` "TotalRequests
 *   Limit exceeded." once the org's daily allowance is spent; every REST answer carries
 *   `Sforce-Limit-Info: api-usage=<used>/<limit>` ("Limit Info Header").
 *
 * Assumed where Salesforce is silent: an injected empty page is a batch of no records that is not `done`, its
 * `nextRecordsUrl` at the same offset (Salesforce may return fewer records than asked, "Query"); a query's batches are a snapshot taken when the query ran; ties in
 * time are ordered by Id; the rate-limit fault answers 429 with `Retry-After` (Salesforce documents no
 * 429 for the REST API, the conformance suite asks for one); the allowance counts every API request
 * except token requests, over the simulator's life (not a rolling 24 hours).
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
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
  seedOf,
  streamOf,
  TimedLog,
} from '../../sim/kit.ts';

export const SF_OBJECTS = ['LoginHistory', 'SetupAuditTrail', 'EventLogFile'] as const;
export type SfObject = (typeof SF_OBJECTS)[number];

const PREFIX: Record<SfObject, string> = { LoginHistory: '0Ya', SetupAuditTrail: '0Ym', EventLogFile: '0AT' };
export const TIME_FIELD: Record<SfObject, string> = {
  LoginHistory: 'LoginTime',
  SetupAuditTrail: 'CreatedDate',
  EventLogFile: 'CreatedDate',
};
const FIELDS: Record<SfObject, string[]> = {
  LoginHistory: [
    'Id',
    'UserId',
    'LoginTime',
    'LoginType',
    'SourceIp',
    'LoginUrl',
    'Browser',
    'Platform',
    'Status',
    'Application',
    'ClientVersion',
    'ApiType',
    'ApiVersion',
    'CountryIso',
    'AuthMethodReference',
    'LoginGeoId',
    'TlsProtocol',
    'CipherSuite',
    'AuthenticationServiceId',
    'OptionsIsGet',
    'OptionsIsPost',
  ],
  SetupAuditTrail: [
    'Id',
    'Action',
    'Section',
    'CreatedDate',
    'CreatedById',
    'Display',
    'DelegateUser',
    'ResponsibleNamespacePrefix',
    'CreatedByContext',
    'CreatedByIssuer',
  ],
  EventLogFile: [
    'Id',
    'EventType',
    'LogDate',
    'Interval',
    'Sequence',
    'LogFileLength',
    'LogFileFieldNames',
    'LogFileFieldTypes',
    'ApiVersion',
    'CreatedDate',
  ],
};

/** The CSV columns of a Login event log file (EventLogFile Supported Event Types, "Login Event Type"), abridged. */
export const LOGIN_LOG_FIELDS = [
  'EVENT_TYPE',
  'TIMESTAMP',
  'REQUEST_ID',
  'ORGANIZATION_ID',
  'USER_ID',
  'RUN_TIME',
  'CPU_TIME',
  'URI',
  'SESSION_KEY',
  'LOGIN_KEY',
  'USER_TYPE',
  'REQUEST_STATUS',
  'LOGIN_STATUS',
  'TIMESTAMP_DERIVED',
  'USER_ID_DERIVED',
  'CLIENT_IP',
  'BROWSER_TYPE',
  'USER_NAME',
] as const;

const PAGE_MAX = 2000;
const LOCATOR_TTL_MS = 15 * 60_000;
const API = /^\/services\/data\/v\d+\.\d+/;

export interface SalesforceSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** LoginHistory and SetupAuditTrail rows generated up front (default 40 each), `spacingMs` apart before now. */
  rows?: number;
  spacingMs?: number;
  /** Rows of about this many bytes of JSON (a long `Display` / `LoginUrl`). */
  eventBytes?: number;
  /** Records per batch at most, whatever the request asks (Salesforce may return fewer: "Query"). */
  maxBatch?: number;
  /** Objects the integration user may not read (400 INVALID_TYPE). */
  forbidden?: SfObject[];
  /** The org's daily API allowance (default 15,000) and the requests already used. */
  allowance?: number;
  used?: number;
  /** The JWT bearer flow: the certificate's public key (PEM) and the pre-authorized username. */
  jwt?: { publicKey: string; username: string };
  host?: string;
  port?: number;
}

interface LogFile {
  id: string;
  eventType: string;
  interval: 'Hourly' | 'Daily';
  logDate: number;
  sequence: number;
  created: number;
  rows: number;
  /** Bytes of padding per row (a long URI), for large files. */
  pad: number;
}

interface Locator {
  object: SfObject;
  fields: string[];
  seqs: number[];
  lastUsed: number;
}

const sfTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');
const parseSoqlTime = (v: string) =>
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v) ? Date.parse(v) : Number.NaN;
const q = (v: string | number) => `"${String(v).replace(/"/g, '""')}"`;

export class SalesforceSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly orgId: string;
  private readonly o: SalesforceSimulatorOptions & { spacingMs: number; allowance: number };
  private readonly logs: Record<'LoginHistory' | 'SetupAuditTrail', TimedLog> = {
    LoginHistory: new TimedLog(1000),
    SetupAuditTrail: new TimedLog(1000),
  };
  private readonly files: LogFile[] = [];
  private readonly tokens = new Set<string>();
  private readonly locators = new Map<string, Locator>();
  private readonly jwtKey?: KeyObject;
  private readonly sizes = new Map<string, number>();
  private issued = 0;
  private used: number;
  private loopPages = 0;
  private lastListing: number[] | undefined;
  private nextLocator = 1;

  constructor(o: SalesforceSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'credentials'));
    this.clientId = `3MVG9${rng.base62(80)}`;
    this.clientSecret = rng.hex(32).toUpperCase();
    this.orgId = `00D${rng.base62(15)}`;
    this.o = { spacingMs: 60_000, allowance: 15_000, ...o };
    this.used = o.used ?? 0;
    if (o.jwt) this.jwtKey = createPublicKey(o.jwt.publicKey);
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      host: o.host,
      port: o.port,
      hooks: {
        errorReply: (_req, status) =>
          status === 401
            ? json(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }])
            : status === 404
              ? json(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }])
              : json(status, [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'An unexpected error occurred.' }]),
        rateLimitReply: () =>
          json(429, [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'ConcurrentRequests Limit exceeded.' }]),
        decorate: (req, reply) => {
          if (API.test(req.path))
            reply.headers = {
              ...reply.headers,
              'Sforce-Limit-Info': `api-usage=${this.used}/${this.o.allowance}`,
            };
        },
      },
    });
    this.server.route('POST', '/services/oauth2/token', (req) => this.token(req));
    this.server.route('GET', '/services/data/:v/query', (req) => this.api(req, () => this.query(req)));
    this.server.route('GET', '/services/data/:v/query/:locator', (req) =>
      this.api(req, () => this.more(req)),
    );
    this.server.route('GET', '/services/data/:v/sobjects/EventLogFile/:id/LogFile', (req) =>
      this.api(req, () => this.logFile(req)),
    );
    for (const m of ['POST', 'PATCH', 'PUT', 'DELETE'])
      this.server.route(m, '/services/data/*', () =>
        json(405, [{ errorCode: 'METHOD_NOT_ALLOWED', message: 'HTTP Method not allowed' }]),
      );
    const now = this.clock();
    const n = o.rows ?? 40;
    for (const obj of ['LoginHistory', 'SetupAuditTrail'] as const) {
      const start = now - 2 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
      for (let i = 0; i < n; i++)
        this.logs[obj].add(start + i * this.o.spacingMs, start + i * this.o.spacingMs);
    }
  }

  /** Requests that could change org data: token requests are reads. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/services/oauth2/token');
  }

  /** The org's API requests counted so far (what `Sforce-Limit-Info` reports). */
  apiUsed(): number {
    return this.used;
  }

  tokensIssued(): number {
    return this.issued;
  }

  /** Every token issued so far is refused from now on (an expired session). */
  expireTokens(): void {
    this.tokens.clear();
  }

  /**
   * A vendor paging fault, `n` times: next batches repeat the same `nextRecordsUrl`; EventLogFile queries
   * answer the files of the previous one again, not done.
   */
  loopNextPages(n: number): void {
    this.loopPages = n;
  }

  /** Adds rows to LoginHistory or SetupAuditTrail: `[time, visibleAt]` pairs. */
  addRows(object: 'LoginHistory' | 'SetupAuditTrail', rows: Array<[number, number]>): void {
    for (const [t, vis] of rows) this.logs[object].add(t, vis);
  }

  /**
   * Adds an event log file: `rows` CSV rows (each about `rowBytes` long when given) of `eventType`,
   * generated at `created` (hours after `logDate` for hourly files, as in an org).
   */
  addLogFile(f: {
    eventType?: string;
    interval?: 'Hourly' | 'Daily';
    logDate: number;
    sequence?: number;
    created: number;
    rows: number;
    rowBytes?: number;
  }): string {
    const id = this.idOf('EventLogFile', this.files.length);
    this.files.push({
      id,
      eventType: f.eventType ?? 'Login',
      interval: f.interval ?? 'Hourly',
      logDate: f.logDate,
      sequence: f.sequence ?? (f.interval === 'Daily' ? 0 : 1),
      created: Math.floor(f.created / 1000) * 1000,
      rows: f.rows,
      pad: Math.max(0, (f.rowBytes ?? 0) - 330),
    });
    return id;
  }

  /** Ids of every visible row of `object` (LoginHistory, SetupAuditTrail), oldest first. */
  ids(object: 'LoginHistory' | 'SetupAuditTrail', at = this.clock()): string[] {
    const log = this.logs[object];
    return log
      .ascending()
      .filter((s) => log.vis[s] <= at)
      .map((s) => this.idOf(object, s));
  }

  /** Event ids (`<file Id>:<row>`) of every row of every file generated by `at`. */
  logRowIds(at = this.clock()): string[] {
    return this.files
      .filter((f) => f.created <= at)
      .flatMap((f) => Array.from({ length: f.rows }, (_, i) => `${f.id}:${i + 1}`));
  }

  /** The bytes of one log file's CSV (what LogFile answers), for tests and benches. */
  logFileBytes(id: string): number {
    const f = this.files.find((x) => x.id === id);
    if (!f) return 0;
    let n = this.sizes.get(id);
    if (n === undefined) {
      n = 0;
      for (const chunk of this.csv(f)) n += Buffer.byteLength(chunk);
      this.sizes.set(id, n);
    }
    return n;
  }

  private idOf(object: SfObject, seq: number): string {
    // 18-character ids: key prefix, pod, and a base-62 number (Salesforce ids are case-sensitive).
    return `${PREFIX[object]}${new Rng(seedOf(this.seed, object, seq)).base62(3)}${String(seq).padStart(12, '0')}`;
  }

  // ---------------------------------------------------------------------------------------------

  private token(req: SimRequest): SimReply {
    const form = new URLSearchParams(req.body.toString());
    const grant = form.get('grant_type');
    if (grant === 'client_credentials') {
      if (form.get('client_id') !== this.clientId)
        return json(400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
      if (form.get('client_secret') !== this.clientSecret)
        return json(400, { error: 'invalid_client', error_description: 'invalid client credentials' });
      return this.issue(req);
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const jwt = (form.get('assertion') ?? '').split('.');
      if (!this.jwtKey || jwt.length !== 3)
        return json(400, { error: 'invalid_grant', error_description: 'invalid assertion' });
      const ok = verify(
        'RSA-SHA256',
        Buffer.from(`${jwt[0]}.${jwt[1]}`),
        this.jwtKey,
        Buffer.from(jwt[2], 'base64url'),
      );
      const claims = JSON.parse(Buffer.from(jwt[1], 'base64url').toString());
      const now = this.clock() / 1000;
      if (!ok) return json(400, { error: 'invalid_grant', error_description: 'invalid assertion' });
      if (claims.iss !== this.clientId)
        return json(400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
      if (claims.sub !== this.o.jwt?.username)
        return json(400, { error: 'invalid_grant', error_description: "user hasn't approved this consumer" });
      if (!/^https:\/\/(login|test)\.salesforce\.com$/.test(claims.aud))
        return json(400, { error: 'invalid_grant', error_description: 'audience is invalid' });
      if (typeof claims.exp !== 'number' || claims.exp < now || claims.exp > now + 300)
        return json(400, { error: 'invalid_grant', error_description: 'expired authorization code' });
      return this.issue(req);
    }
    return json(400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
  }

  private issue(req: SimRequest): SimReply {
    const token = `${this.orgId}!${new Rng(seedOf(this.seed, 'token', ++this.issued)).base62(96)}`;
    this.tokens.add(token);
    return json(200, {
      access_token: token,
      instance_url: req.origin,
      id: `${req.origin}/id/${this.orgId}/005000000000001AAA`,
      token_type: 'Bearer',
      issued_at: String(this.clock()),
      signature: new Rng(seedOf(this.seed, 'sig', this.issued)).base64url(32),
    });
  }

  /** Authentication and the org's allowance, then the answer. */
  private api(req: SimRequest, answer: () => SimReply): SimReply {
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !this.tokens.has(auth.slice(7)))
      return json(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    if (this.used >= this.o.allowance)
      return json(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    this.used++;
    return answer();
  }

  private query(req: SimRequest): SimReply {
    const soql = (req.query.get('q') ?? '').trim().replace(/\s+/g, ' ');
    const m =
      /^SELECT (?<fields>.+?) FROM (?<obj>\w+)(?: WHERE (?<f>\w+) >= (?<from>\S+) AND \k<f> < (?<to>\S+)(?: AND Interval = '(?<interval>Hourly|Daily)')?(?: AND EventType IN \((?<types>[^)]*)\))?)? ORDER BY (?<ob>\w+) (?<dir>ASC|DESC)(?:, Id (?:ASC|DESC))?(?: LIMIT (?<limit>\d+))?$/i.exec(
        soql,
      );
    if (!m?.groups)
      return json(400, [{ message: 'unexpected token in the query', errorCode: 'MALFORMED_QUERY' }]);
    const g = m.groups;
    const object = SF_OBJECTS.find((o) => o === g.obj);
    if (!object || this.o.forbidden?.includes(object))
      return json(400, [{ message: `sObject type '${g.obj}' is not supported.`, errorCode: 'INVALID_TYPE' }]);
    const fields = g.fields.split(',').map((f) => f.trim());
    const time = TIME_FIELD[object];
    for (const f of [...fields, g.ob, ...(g.f ? [g.f] : [])])
      if (!FIELDS[object].includes(f))
        return json(400, [
          { message: `No such column '${f}' on entity '${object}'.`, errorCode: 'INVALID_FIELD' },
        ]);
    if ((g.f && g.f !== time) || g.ob !== time)
      return json(400, [
        {
          message: `this simulator filters and orders ${object} by ${time} only`,
          errorCode: 'MALFORMED_QUERY',
        },
      ]);
    const from = g.from ? parseSoqlTime(g.from) : -Infinity;
    const to = g.to ? parseSoqlTime(g.to) : Infinity;
    if (Number.isNaN(from) || Number.isNaN(to))
      return json(400, [
        {
          message: 'value of filter criterion for field is not a valid date-time',
          errorCode: 'INVALID_FIELD',
        },
      ]);
    const now = this.clock();
    const types = g.types?.split(',').map((t) => t.trim().replace(/^'|'$/g, ''));
    let seqs: number[];
    if (object === 'EventLogFile') {
      seqs = this.files
        .map((f, i) => ({ f, i }))
        .filter(
          ({ f }) =>
            f.created <= now &&
            f.created >= from &&
            f.created < to &&
            (!g.interval || f.interval === g.interval) &&
            (!types || types.includes(f.eventType)),
        )
        .sort((a, b) => a.f.created - b.f.created || (a.f.id < b.f.id ? -1 : 1))
        .map(({ i }) => i);
    } else {
      const log = this.logs[object];
      seqs = log.ascending().filter((s) => log.vis[s] <= now && log.t[s] >= from && log.t[s] < to);
    }
    if (g.dir.toUpperCase() === 'DESC') seqs = [...seqs].reverse();
    if (object === 'EventLogFile' && this.loopPages > 0 && this.lastListing) {
      // The paging fault for listings: the same files as the last query, still not done.
      this.loopPages--;
      seqs = this.lastListing;
    }
    if (object === 'EventLogFile') this.lastListing = seqs;
    if (g.limit) seqs = seqs.slice(0, Number(g.limit));
    const id = `01g${new Rng(seedOf(this.seed, 'locator', this.nextLocator)).base62(12)}${this.nextLocator++}`;
    this.locators.set(id, { object, fields, seqs, lastUsed: now });
    return this.batch(req, id, 0);
  }

  private more(req: SimRequest): SimReply {
    const m = /^(.+)-(\d+)$/.exec(req.params.locator);
    const loc = m ? this.locators.get(m[1]) : undefined;
    if (!m || !loc || this.clock() - loc.lastUsed > LOCATOR_TTL_MS)
      return json(400, [{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }]);
    loc.lastUsed = this.clock();
    return this.batch(req, m[1], Number(m[2]));
  }

  private batch(req: SimRequest, id: string, offset: number): SimReply {
    const loc = this.locators.get(id)!;
    const asked = /batchSize=(\d+)/.exec(String(req.headers['sforce-query-options'] ?? ''));
    // "The returned batch can include fewer records than … what's set in the request": `maxBatch`.
    const batch = Math.min(
      this.o.maxBatch ?? PAGE_MAX,
      Math.max(200, asked ? Number(asked[1]) : PAGE_MAX),
      PAGE_MAX,
    );
    const seqs = req.empty ? [] : loc.seqs.slice(offset, offset + batch);
    let next = offset + seqs.length;
    if (this.loopPages > 0 && offset > 0) {
      this.loopPages--;
      next = offset;
    }
    // An empty batch (a fault): "fewer records than the limit" — none — and the next batch where this began.
    const done = next >= loc.seqs.length && !(this.loopPages > 0 && loc.object === 'EventLogFile');
    const v = req.params.v;
    return json(200, {
      totalSize: loc.seqs.length,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/${v}/query/${id}-${next}` }),
      records: seqs.map((s) => this.record(loc.object, s, loc.fields, v)),
    });
  }

  private record(object: SfObject, seq: number, fields: string[], v: string): Record<string, unknown> {
    const full = object === 'EventLogFile' ? this.fileRecord(this.files[seq]) : this.row(object, seq);
    const out: Record<string, unknown> = {
      attributes: { type: object, url: `/services/data/${v}/sobjects/${object}/${full.Id}` },
    };
    for (const f of fields) out[f] = full[f] ?? null;
    return out;
  }

  private row(object: 'LoginHistory' | 'SetupAuditTrail', seq: number): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, object, seq));
    const t = sfTime(this.logs[object].t[seq]);
    const id = this.idOf(object, seq);
    const pad = this.o.eventBytes ? 'x'.repeat(Math.max(0, this.o.eventBytes - 600)) : '';
    const user = `005${rng.base62(15)}`;
    if (object === 'LoginHistory') {
      const ok = rng.bool(0.9);
      return {
        Id: id,
        UserId: user,
        LoginTime: t,
        LoginType: rng.pick(['Application', 'Remote Access 2.0', 'SAML Sfdc Initiated SSO']),
        SourceIp: ipv4(rng),
        LoginUrl: `acme.my.salesforce.com${pad ? `/?${pad}` : ''}`,
        Browser: rng.pick(['Chrome 131', 'Firefox 133', 'Safari 18']),
        Platform: rng.pick(['Mac OSX', 'Windows 10', 'iOS']),
        Status: ok ? 'Success' : 'Invalid Password',
        Application: 'Browser',
        ClientVersion: 'N/A',
        ApiType: 'N/A',
        ApiVersion: 'N/A',
        CountryIso: rng.pick(['US', 'DE', 'GB', 'JP']),
        AuthMethodReference: null,
        LoginGeoId: `04F${rng.base62(15)}`,
        TlsProtocol: 'TLS 1.3',
        CipherSuite: 'TLS_AES_256_GCM_SHA384',
        AuthenticationServiceId: null,
        OptionsIsGet: false,
        OptionsIsPost: true,
      };
    }
    const who = person(rng, 'acme.com');
    const action = rng.pick([
      'PermSetAssign',
      'PermSetCreate',
      'changedProfileForUser',
      'resetPassword',
      'loginasgrantedtosfdc',
    ]);
    return {
      Id: id,
      Action: action,
      Section: rng.pick(['Manage Users', 'Security Controls', 'Connected Apps']),
      CreatedDate: t,
      CreatedById: user,
      Display: `${action} for user ${who.email}${pad ? ` ${pad}` : ''}`,
      DelegateUser: null,
      ResponsibleNamespacePrefix: null,
      CreatedByContext: null,
      CreatedByIssuer: null,
    };
  }

  private fileRecord(f: LogFile): Record<string, unknown> {
    return {
      Id: f.id,
      EventType: f.eventType,
      LogDate: sfTime(f.logDate),
      Interval: f.interval,
      Sequence: f.sequence,
      LogFileLength: this.logFileBytes(f.id),
      LogFileFieldNames: LOGIN_LOG_FIELDS.join(','),
      LogFileFieldTypes: LOGIN_LOG_FIELDS.map(() => 'String').join(','),
      ApiVersion: 62.0,
      CreatedDate: sfTime(f.created),
    };
  }

  private logFile(req: SimRequest): SimReply {
    const f = this.files.find((x) => x.id === req.params.id && x.created <= this.clock());
    if (!f) return json(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    if (this.o.forbidden?.includes('EventLogFile'))
      return json(403, [
        { errorCode: 'INSUFFICIENT_ACCESS', message: 'insufficient access rights on object id' },
      ]);
    return { status: 200, headers: { 'content-type': 'text/csv' }, body: streamOf(() => this.csv(f)) };
  }

  /** The file's CSV in chunks of many rows: the header, then each row quoted (a quote doubled, as RFC 4180). */
  private *csv(f: LogFile): Generator<string> {
    yield `${LOGIN_LOG_FIELDS.map(q).join(',')}\n`;
    const rng = new Rng(seedOf(this.seed, f.id));
    const pad = f.pad ? `?q=${'a'.repeat(f.pad)}` : '';
    const span = f.interval === 'Hourly' ? 3_600_000 : 86_400_000;
    let chunk = '';
    for (let i = 1; i <= f.rows; i++) {
      const t = f.logDate + Math.floor((i / (f.rows + 1)) * span);
      const iso = new Date(t).toISOString();
      const ts = iso.replace(/[-:TZ]/g, '').slice(0, 17);
      const row = [
        'Login',
        `${ts.slice(0, 14)}.${ts.slice(14)}`,
        rng.base62(19),
        this.orgId.slice(0, 15),
        `005${rng.base62(12)}`,
        rng.int(50, 900),
        rng.int(10, 200),
        `/index.jsp${pad}`,
        rng.base62(16),
        rng.base62(16),
        'Standard',
        'Success',
        rng.pick(['LOGIN_NO_ERROR', 'LOGIN_ERROR_INVALID_PASSWORD']),
        iso,
        `005${rng.base62(15)}`,
        ipv4(rng),
        // A value with a comma and a quote inside, as user agents have.
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) "Chrome", 131',
        `${person(rng, 'acme.com').email}`,
      ];
      chunk += `${row.map(q).join(',')}\n`;
      if (chunk.length >= 64 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
}
