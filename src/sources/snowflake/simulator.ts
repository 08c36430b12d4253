/**
 * Snowflake SQL API v2 simulator holding the account usage views, following Snowflake's documentation:
 *
 * - Key-pair auth (docs.snowflake.com/en/developer-guide/sql-api/authenticating): `Authorization: Bearer
 *   <JWT>` with `X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT`; the JWT is RS256, `iss`
 *   `<ACCOUNT>.<USER>.SHA256:<base64 SHA-256 of the public key DER>`, `sub` `<ACCOUNT>.<USER>`, `iat`, and
 *   `exp` at most an hour after `iat`. The simulator verifies the signature with node:crypto against the
 *   user's assigned public key (RSA_PUBLIC_KEY) and the claims against the machine clock (the JWT is signed
 *   with it); anything else is 401 `{"code":"390144","message":"JWT token is invalid."}`.
 * - `POST /api/v2/statements` (…/sql-api/reference): body `statement`, `timeout`, `database`, `schema`,
 *   `warehouse`, `role`, `bindings` `{"1":{"type","value"}}`. Without a warehouse the role may use: 422
 *   `{"code":"000606","message":"No active warehouse selected in the current session. …","sqlState":"57P03"}`;
 *   a view the role may not read: 422 code 002003 "SQL compilation error: Object … does not exist or not
 *   authorized."; a finished statement: 200 ResultSet {code "090001", statementHandle, resultSetMetaData
 *   {numRows, format "jsonv2", rowType [{name, type, nullable}], partitionInfo [{rowCount,
 *   uncompressedSize}]}, data [[…strings]]}; a running one: 202 QueryStatus {code "333334", message
 *   "Asynchronous execution in progress. …", statementHandle, statementStatusUrl}.
 * - `GET /api/v2/statements/{handle}[?partition=N]` (…/sql-api/handling-responses): 202 while running, then
 *   the ResultSet; `partition=N` answers that partition's rows.
 * - 408 with a QueryStatus when a statement runs past its `timeout` (…/sql-api/handling-errors); injected as a
 *   status fault. 429 for the injected rate-limit fault is assumed (the reference lists no rate limit).
 * - Views and columns (docs.snowflake.com/en/sql-reference/account-usage/login_history, query_history,
 *   access_history).
 *
 * Assumed: the simulator understands only the source's statement shape (`SELECT * FROM
 * SNOWFLAKE.ACCOUNT_USAGE.<VIEW> WHERE <col> >= TO_TIMESTAMP_LTZ(?) AND <col> < TO_TIMESTAMP_LTZ(?)`, and
 * `… LIMIT n` without bindings); timestamps are sent as seconds since the epoch with nine decimals; later
 * partitions carry `data` alone; a statement completes after `pollsToComplete` status checks.
 */

import { createHash, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { decodeJwt } from '../../engine/jwt.ts';
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
} from '../../sim/kit.ts';

type ViewName = 'LOGIN_HISTORY' | 'QUERY_HISTORY' | 'ACCESS_HISTORY';

const COLUMNS: Record<ViewName, Array<[string, string]>> = {
  LOGIN_HISTORY: [
    ['EVENT_ID', 'fixed'],
    ['EVENT_TIMESTAMP', 'timestamp_ltz'],
    ['EVENT_TYPE', 'text'],
    ['USER_NAME', 'text'],
    ['CLIENT_IP', 'text'],
    ['REPORTED_CLIENT_TYPE', 'text'],
    ['REPORTED_CLIENT_VERSION', 'text'],
    ['FIRST_AUTHENTICATION_FACTOR', 'text'],
    ['SECOND_AUTHENTICATION_FACTOR', 'text'],
    ['IS_SUCCESS', 'text'],
    ['ERROR_CODE', 'fixed'],
    ['ERROR_MESSAGE', 'text'],
    ['RELATED_EVENT_ID', 'fixed'],
    ['CONNECTION', 'text'],
  ],
  QUERY_HISTORY: [
    ['QUERY_ID', 'text'],
    ['QUERY_TEXT', 'text'],
    ['DATABASE_NAME', 'text'],
    ['SCHEMA_NAME', 'text'],
    ['QUERY_TYPE', 'text'],
    ['USER_NAME', 'text'],
    ['ROLE_NAME', 'text'],
    ['WAREHOUSE_NAME', 'text'],
    ['EXECUTION_STATUS', 'text'],
    ['ERROR_CODE', 'text'],
    ['ERROR_MESSAGE', 'text'],
    ['START_TIME', 'timestamp_ltz'],
    ['END_TIME', 'timestamp_ltz'],
    ['TOTAL_ELAPSED_TIME', 'fixed'],
    ['ROWS_PRODUCED', 'fixed'],
  ],
  ACCESS_HISTORY: [
    ['QUERY_ID', 'text'],
    ['QUERY_START_TIME', 'timestamp_ltz'],
    ['USER_NAME', 'text'],
    ['DIRECT_OBJECTS_ACCESSED', 'array'],
    ['BASE_OBJECTS_ACCESSED', 'array'],
    ['OBJECTS_MODIFIED', 'array'],
  ],
};
const TIME: Record<ViewName, string> = {
  LOGIN_HISTORY: 'EVENT_TIMESTAMP',
  QUERY_HISTORY: 'END_TIME',
  ACCESS_HISTORY: 'QUERY_START_TIME',
};
const ID: Record<ViewName, string> = {
  LOGIN_HISTORY: 'EVENT_ID',
  QUERY_HISTORY: 'QUERY_ID',
  ACCESS_HISTORY: 'QUERY_ID',
};

interface Row {
  view: ViewName;
  at: number;
  seq: number;
  visible: number;
}

interface Statement {
  handle: string;
  columns: Array<[string, string]>;
  rows: string[][];
  polls: number;
}

export interface SnowflakeSimulatorOptions {
  clock?: Clock;
  seed?: number;
  /** Status checks before a statement reports its result (default 0: the POST answers 200). */
  pollsToComplete?: number;
  /** Rows per result partition (default 1000). */
  partitionRows?: number;
  eventBytes?: number;
}

const WAREHOUSE = 'TRIBUTARY_WH';
const ROLE = 'TRIBUTARY_READER';
const SECONDS = (ms: number) => `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}000000`;

export class SnowflakeSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly account = 'acme-prod';
  readonly user = 'TRIBUTARY';
  readonly role = ROLE;
  readonly warehouse = WAREHOUSE;
  /** The user's key pair: the private key is the account's, the public key is RSA_PUBLIC_KEY. */
  readonly privateKeyPem: string;
  readonly publicKey: KeyObject;
  pollsToComplete: number;
  partitionRows: number;
  /** Warehouses the role has USAGE on; roles with IMPORTED PRIVILEGES on SNOWFLAKE. */
  readonly warehouses = new Set([WAREHOUSE]);
  readonly importedPrivileges = new Set([ROLE]);
  /** The statement bodies received, in order. */
  readonly statements: Array<Record<string, any>> = [];
  private readonly seed: number;
  private readonly rows: Row[] = [];
  private readonly running = new Map<string, Statement>();
  private readonly eventBytes?: number;
  private readonly seen = new Set<string>();
  private readonly refused = new Set<string>();

  constructor(o: SnowflakeSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = o.seed ?? 1;
    this.pollsToComplete = o.pollsToComplete ?? 0;
    this.partitionRows = o.partitionRows ?? 1000;
    this.eventBytes = o.eventBytes;
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.publicKey = pair.publicKey;
    this.server = new SimServer({
      name: 'snowflake',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) =>
          json(status, {
            code: status >= 500 ? '000603' : String(status),
            message: status >= 500 ? 'Internal error: Processing aborted due to error 300002.' : 'error',
          }),
        rateLimitReply: () => json(429, { code: '000429', message: 'Too many requests.' }),
      },
    });
    this.server.route('POST', '/api/v2/statements', (req) => this.submit(req));
    this.server.route('GET', '/api/v2/statements/:handle', (req) => this.status(req));
  }

  /** Calls that change vendor state but the declared statement POST. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/api/v2/statements');
  }
  /** Refuses every JWT seen so far, as Snowflake refuses an expired one. */
  expireTokens(): void {
    for (const t of this.seen) this.refused.add(t);
  }
  tokensIssued(): number {
    return this.seen.size;
  }

  /** The `snowflake` account of this simulator. */
  accountFields(): Record<string, unknown> {
    return {
      account: this.account,
      user: this.user.toLowerCase(),
      privateKey: this.privateKeyPem,
      role: this.role,
      url: this.url,
    };
  }

  /** Adds `n` rows to `view`, `spacingMs` apart from `from`, visible after `visibleDelayMs`. */
  add(view: ViewName, n: number, o: { from?: number; spacingMs?: number; visibleDelayMs?: number } = {}) {
    const now = this.clock();
    const spacing = o.spacingMs ?? 30_000;
    const from = o.from ?? now - n * spacing;
    for (let i = 0; i < n; i++) {
      const at = from + i * spacing;
      this.rows.push({
        view,
        at,
        seq: this.rows.length,
        visible: Math.max(at + (o.visibleDelayMs ?? 0), now),
      });
    }
  }

  /** The ids a complete read of `view` delivers. */
  ids(view: ViewName): string[] {
    return this.rows.filter((r) => r.view === view).map((r) => this.row(r)[ID[view]] as string);
  }

  private fingerprint(): string {
    const der = this.publicKey.export({ type: 'spki', format: 'der' });
    return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
  }

  private authenticate(req: SimRequest): SimReply | undefined {
    const refuse = () => json(401, { code: '390144', message: 'JWT token is invalid.' });
    const auth = String(req.headers.authorization ?? '');
    if (!auth.startsWith('Bearer ')) return refuse();
    if (String(req.headers['x-snowflake-authorization-token-type'] ?? '') !== 'KEYPAIR_JWT') return refuse();
    const jwt = auth.slice(7);
    const [h, p, s] = jwt.split('.');
    const { header, claims } = decodeJwt(jwt);
    if (header.alg !== 'RS256' || !s) return refuse();
    const ok = verify('sha256', Buffer.from(`${h}.${p}`), this.publicKey, Buffer.from(s, 'base64url'));
    const sub = `${this.account.toUpperCase()}.${this.user}`;
    const nowS = Date.now() / 1000; // the JWT is signed with the machine's clock, not the simulated one
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    if (
      !ok ||
      claims.sub !== sub ||
      claims.iss !== `${sub}.${this.fingerprint()}` ||
      !(exp > nowS) ||
      !(iat <= nowS + 60) ||
      exp - iat > 3600 ||
      this.refused.has(jwt)
    )
      return refuse();
    this.seen.add(jwt);
    return undefined;
  }

  private sqlError(code: string, message: string, sqlState: string): SimReply {
    return json(422, { code, message, sqlState, statementHandle: this.handle() });
  }

  private handle(): string {
    return `01b${new Rng(seedOf(this.seed, 'h', this.running.size, this.statements.length)).hex(29)}`.replace(
      /^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/,
      '$1-$2-$3-$4-$5',
    );
  }

  private submit(req: SimRequest): SimReply {
    const denied = this.authenticate(req);
    if (denied) return denied;
    let body: Record<string, any>;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return json(400, { code: '390142', message: 'Incoming request does not contain a valid payload.' });
    }
    this.statements.push(body);
    const role = body.role ?? ROLE;
    if (!body.warehouse || !this.warehouses.has(String(body.warehouse).toUpperCase()))
      return this.sqlError(
        '000606',
        "No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.",
        '57P03',
      );
    const sql = String(body.statement ?? '');
    const m = /^SELECT \* FROM SNOWFLAKE\.ACCOUNT_USAGE\.(\w+)(.*)$/s.exec(sql);
    const view = m?.[1] as ViewName | undefined;
    if (!view || !(view in COLUMNS) || !this.importedPrivileges.has(String(role).toUpperCase()))
      return this.sqlError(
        '002003',
        `SQL compilation error:\nObject 'SNOWFLAKE.ACCOUNT_USAGE.${view ?? '?'}' does not exist or not authorized.`,
        '02000',
      );
    const now = req.at;
    let rows = this.rows.filter((r) => r.view === view && r.visible <= now);
    const rest = m?.[2] ?? '';
    const limit = /^ LIMIT (\d+)$/.exec(rest);
    if (limit) rows = rows.slice(0, Number(limit[1]));
    else {
      const col = TIME[view];
      const shape = ` WHERE ${col} >= TO_TIMESTAMP_LTZ(?) AND ${col} < TO_TIMESTAMP_LTZ(?) ORDER BY ${col}`;
      const b = body.bindings ?? {};
      const start = Date.parse(b['1']?.value);
      const end = Date.parse(b['2']?.value);
      if (rest !== shape || Number.isNaN(start) || Number.isNaN(end))
        return this.sqlError(
          '002049',
          'SQL compilation error: error line 1 at position 0 Bind variable ? not set.',
          '42601',
        );
      rows = rows.filter((r) => r.at >= start && r.at < end).sort((a, b2) => a.at - b2.at || a.seq - b2.seq);
    }
    const st: Statement = {
      handle: this.handle(),
      columns: COLUMNS[view],
      rows: rows.map((r) => {
        const o = this.row(r);
        return COLUMNS[view].map(([c]) => o[c] as string);
      }),
      polls: 0,
    };
    this.running.set(st.handle, st);
    return this.pollsToComplete > 0 ? this.inProgress(st) : this.result(st, 0, true);
  }

  private inProgress(st: Statement): SimReply {
    return json(202, {
      code: '333334',
      message:
        'Asynchronous execution in progress. Use provided query id to perform query monitoring and management.',
      statementHandle: st.handle,
      statementStatusUrl: `/api/v2/statements/${st.handle}`,
    });
  }

  private status(req: SimRequest): SimReply {
    const denied = this.authenticate(req);
    if (denied) return denied;
    const st = this.running.get(req.params.handle);
    if (!st) return json(404, { code: '333333', message: `Statement ${req.params.handle} not found.` });
    const p = req.query.get('partition');
    if (p === null) {
      if (st.polls < this.pollsToComplete) {
        st.polls++;
        return this.inProgress(st);
      }
      return this.result(st, 0, true);
    }
    const n = Number(p);
    const parts = Math.max(1, Math.ceil(st.rows.length / this.partitionRows));
    if (!/^\d+$/.test(p) || n >= parts)
      return json(422, { code: '391908', message: `Partition ${p} is out of range.` });
    return this.result(st, n, false);
  }

  private result(st: Statement, partition: number, first: boolean): SimReply {
    const size = this.partitionRows;
    const parts = Math.max(1, Math.ceil(st.rows.length / size));
    const data = st.rows.slice(partition * size, (partition + 1) * size);
    if (!first) return json(200, { data });
    return json(200, {
      resultSetMetaData: {
        numRows: st.rows.length,
        format: 'jsonv2',
        partitionInfo: Array.from({ length: parts }, (_, i) => ({
          rowCount: st.rows.slice(i * size, (i + 1) * size).length,
          uncompressedSize: 1024,
        })),
        rowType: st.columns.map(([name, type]) => ({ name, type, nullable: true })),
      },
      data,
      code: '090001',
      statementStatusUrl: `/api/v2/statements/${st.handle}`,
      requestId: st.handle,
      sqlState: '00000',
      statementHandle: st.handle,
      message: 'Statement executed successfully.',
      createdOn: this.clock(),
    });
  }

  /** One row of a view as Snowflake sends it: every value a string (or null), timestamps in epoch seconds. */
  private row(r: Row): Record<string, string | null> {
    const rng = new Rng(seedOf(this.seed, r.view, r.seq));
    const who = person(rng, 'acme.example');
    const user = who.login.toUpperCase().replace(/\W/g, '_');
    const pad = this.eventBytes ? 'x'.repeat(Math.max(0, this.eventBytes - 400)) : null;
    if (r.view === 'LOGIN_HISTORY') {
      const ok = rng.int(0, 9) > 0;
      return {
        EVENT_ID: String(4_000_000_000 + r.seq),
        EVENT_TIMESTAMP: SECONDS(r.at),
        EVENT_TYPE: 'LOGIN',
        USER_NAME: user,
        CLIENT_IP: ipv4(rng),
        REPORTED_CLIENT_TYPE: rng.pick(['SNOWFLAKE_UI', 'JDBC_DRIVER', 'PYTHON_DRIVER', 'OTHER']),
        REPORTED_CLIENT_VERSION: `${rng.int(1, 3)}.${rng.int(0, 20)}.${rng.int(0, 9)}`,
        FIRST_AUTHENTICATION_FACTOR: rng.pick([
          'PASSWORD',
          'RSA_KEYPAIR',
          'SAML2_ASSERTION',
          'OAUTH_ACCESS_TOKEN',
        ]),
        SECOND_AUTHENTICATION_FACTOR: rng.bool(0.3) ? 'DUO_PUSH' : null,
        IS_SUCCESS: ok ? 'YES' : 'NO',
        ERROR_CODE: ok ? null : '390100',
        ERROR_MESSAGE: pad ?? (ok ? null : 'INCORRECT_USERNAME_PASSWORD'), // eventBytes pads every row here
        RELATED_EVENT_ID: '0',
        CONNECTION: null,
      };
    }
    const queryId = `01b${rng.hex(5)}-0000-${rng.hex(4)}-0000-${String(r.seq).padStart(12, '0')}`;
    if (r.view === 'QUERY_HISTORY') {
      const elapsed = rng.int(50, 120_000);
      return {
        QUERY_ID: queryId,
        QUERY_TEXT:
          pad ??
          rng.pick([
            'SELECT * FROM SALES.PUBLIC.ORDERS LIMIT 100',
            'SHOW TABLES',
            'COPY INTO RAW.EVENTS FROM @stage',
          ]),
        DATABASE_NAME: 'SALES',
        SCHEMA_NAME: 'PUBLIC',
        QUERY_TYPE: rng.pick(['SELECT', 'SHOW', 'COPY']),
        USER_NAME: user,
        ROLE_NAME: rng.pick(['ANALYST', 'SYSADMIN', 'LOADER']),
        WAREHOUSE_NAME: 'ANALYTICS_WH',
        EXECUTION_STATUS: 'SUCCESS',
        ERROR_CODE: null,
        ERROR_MESSAGE: null,
        START_TIME: SECONDS(r.at - elapsed),
        END_TIME: SECONDS(r.at),
        TOTAL_ELAPSED_TIME: String(elapsed),
        ROWS_PRODUCED: String(rng.int(0, 10_000)),
      };
    }
    const table = rng.pick(['SALES.PUBLIC.ORDERS', 'HR.PUBLIC.EMPLOYEES', 'FINANCE.PUBLIC.LEDGER']);
    const objects = JSON.stringify([
      {
        objectDomain: 'Table',
        objectName: table,
        objectId: rng.int(1000, 9999),
        columns: [{ columnName: pad ?? 'ID', columnId: 1 }],
      },
    ]);
    return {
      QUERY_ID: queryId,
      QUERY_START_TIME: SECONDS(r.at),
      USER_NAME: user,
      DIRECT_OBJECTS_ACCESSED: objects,
      BASE_OBJECTS_ACCESSED: objects,
      OBJECTS_MODIFIED: '[]',
    };
  }
}
