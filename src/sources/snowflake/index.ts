import { z } from 'zod';
import { type SnowflakeAccount, snowflakeUrl } from '../../accounts/snowflake.ts';
import { transientError } from '../../core/errors.ts';
import { defineSource } from '../../core/source.ts';
import { baseUrlSetting, durationSetting } from '../../core/validation.ts';
import type { PageRequest, Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Snowflake account activity from `SNOWFLAKE.ACCOUNT_USAGE` through the SQL API v2. Vendor facts:
 *
 * - docs.snowflake.com/en/developer-guide/sql-api/reference ("POST /api/v2/statements"): the body names
 *   `statement`, `timeout`, `database`, `schema`, `warehouse`, `role` and `bindings` (`{"1": {type,
 *   value}}` for the `?` placeholders); without `async=true` Snowflake answers 200 with the ResultSet
 *   when the statement finishes within 45 seconds, else 202 with a QueryStatus (`code` 333334,
 *   `statementHandle`, `statementStatusUrl`).
 * - docs.snowflake.com/en/developer-guide/sql-api/handling-responses ("Checking the status of the
 *   statement execution and retrieving the data", "Retrieving the results"): `GET
 *   /api/v2/statements/{statementHandle}` answers 202 while running and 200 with the ResultSet when done;
 *   `resultSetMetaData.rowType` names the columns of the rows in `data` (arrays of strings),
 *   `resultSetMetaData.partitionInfo` lists the partitions, the first one comes with the answer and
 *   partition N with `GET /api/v2/statements/{handle}?partition=N`. …/sql-api/handling-errors: 408 with a
 *   QueryStatus when the statement ran past `timeout` (cancelled), 422 with a QueryFailureStatus
 *   (`code`/`message`) when it failed. Errors: 422
 *   (e.g. 000606 "No active warehouse selected in the current session"), 401 with 390144 for a JWT the
 *   server refuses; 429 (assumed: the reference lists no rate limit) is waited out.
 * - docs.snowflake.com/en/sql-reference/account-usage: ACCOUNT_USAGE views lag the events by 45 minutes to
 *   3 hours depending on the view and keep one year. …/account-usage/login_history: EVENT_ID,
 *   EVENT_TIMESTAMP (TIMESTAMP_LTZ) …, "Latency for the view may be up to 120 minutes (2 hours)";
 *   …/account-usage/query_history: query_id, query_text, user_name, role_name, warehouse_name …;
 *   …/account-usage/access_history: query_id, query_start_time, user_name, direct_objects_accessed,
 *   base_objects_accessed, objects_modified (JSON arrays), Enterprise Edition or higher. Reading them
 *   needs IMPORTED PRIVILEGES on the SNOWFLAKE database, and a running warehouse, which bills credits
 *   (hence: the smallest warehouse, X-Small).
 *
 * Reading (engine `restPoll`): one statement per window [since − overlap, now − lag), the bounds bound as
 * parameters (never written into the SQL), the POST a declared vendor write (it starts a billed statement,
 * like gmail-bigquery's query job); a 202 is polled with a growing delay; later partitions follow. The
 * checkpoint is the time-window cursor (a resumed window keeps its statement handle and partition).
 *
 * Unconfirmed (so `early-access`): QUERY_HISTORY's END_TIME column (the window column; the part of the
 * column table we could read stops before it), the latency of QUERY_HISTORY and ACCESS_HISTORY alone (the lags 45 min
 * and 3 h are the two ends of the documented range), the timestamp format of `data` (seconds since the
 * epoch with a fraction), that later partitions carry `data` alone, and TO_TIMESTAMP_LTZ of a TEXT binding.
 */

export interface SnowflakeSettings {
  warehouse: string;
  lag?: string;
  statementTimeout: number;
  baseUrl?: string;
}

const MAX_POLLS = 120;
const WH = /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/;

export const STATEMENT_WRITE =
  'Snowflake SQL API POST /api/v2/statements runs a SELECT on the account usage views in the named warehouse (billed by warehouse credits): the only way the SQL API reads a view';

const settings = z
  .object({
    warehouse: z
      .string({ error: 'required: the warehouse that runs the queries (the smallest, X-Small, is enough)' })
      .trim()
      .regex(WH, 'expected a warehouse name such as TRIBUTARY_WH (letters, digits, _ and $)')
      .describe(
        'The warehouse that runs the queries; each query resumes it and bills credits, so use the smallest (X-Small) with a short AUTO_SUSPEND',
      )
      .meta({ title: 'Warehouse' }),
    lag: durationSetting('2h or 45m')
      .optional()
      .describe(
        'How far behind now a window ends, for every stream (default per view: login history 2h, query history 45m, access history 3h)',
      )
      .meta({ title: 'Lag' }),
    statementTimeout: z
      .number()
      .int()
      .min(10)
      .max(3600)
      .default(600)
      .describe('Seconds a statement may run before Snowflake cancels it (the body’s timeout)')
      .meta({ title: 'Statement timeout (seconds)' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

/** A column of `resultSetMetaData.rowType`. */
interface Column {
  name: string;
  type?: string;
}

const STRUCTURED = new Set(['variant', 'object', 'array']);

/** A row of `data` (an array in rowType order) as an object by column name; VARIANT/OBJECT/ARRAY parsed. */
export function rowObject(columns: Column[], row: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  columns.forEach((c, i) => {
    const v = row?.[i] ?? null;
    if (typeof v === 'string' && STRUCTURED.has(String(c.type).toLowerCase())) {
      try {
        out[c.name] = JSON.parse(v);
        return;
      } catch {
        // not JSON: kept as sent
      }
    }
    out[c.name] = v;
  });
  return out;
}

const columnsOf = (body: any, request?: PageRequest): Column[] | undefined => {
  const types = body?.resultSetMetaData?.rowType;
  if (Array.isArray(types)) return types.map((t: any) => ({ name: String(t?.name), type: t?.type }));
  const saved = request?.state?.columns;
  return typeof saved === 'string' ? JSON.parse(saved) : undefined;
};

/** The rows of a ResultSet answer as objects; a QueryStatus (statement still running) has none. */
export function rowsOf(body: any, request?: PageRequest): Record<string, unknown>[] {
  if (!Array.isArray(body?.data)) return [];
  const columns = columnsOf(body, request);
  if (!columns) throw new Error('Snowflake answered rows without resultSetMetaData.rowType');
  return body.data.map((r: unknown[]) => rowObject(columns, r));
}

/** After the POST: poll a running statement (202), then fetch partitions 1…n-1 of its result. */
const statementPages: Paginator = {
  next({ body, request }): PageRequest | undefined {
    const base = request.url.replace(/\/api\/v2\/statements.*$/, '');
    const handle = String(body?.statementHandle ?? request.state?.handle ?? '');
    if (!handle) return undefined;
    const url = `${base}/api/v2/statements/${encodeURIComponent(handle)}`;
    if (!Array.isArray(body?.data)) {
      const poll = Number(request.state?.poll ?? 0) + 1;
      if (poll > MAX_POLLS)
        throw transientError(
          'snowflake_statement_timeout',
          `Snowflake statement ${handle} was still running after ${MAX_POLLS} status checks.`,
          'The next run starts the window again. If it repeats, check the warehouse is not queued behind other work (a dedicated X-Small warehouse) or shorten the windows.',
        );
      return { url, method: 'GET', state: { handle, poll }, delayMs: Math.min(500 * poll, 5000) };
    }
    const columns = columnsOf(body, request);
    const info = body?.resultSetMetaData?.partitionInfo;
    const partitions = Array.isArray(info) ? info.length : Number(request.state?.partitions ?? 1);
    const next = Number(request.state?.partition ?? 0) + 1;
    if (next >= partitions) return undefined;
    return {
      url,
      method: 'GET',
      query: { partition: next },
      state: { handle, partitions, partition: next, columns: JSON.stringify(columns ?? []) },
    };
  },
};

/** Snowflake's timestamps in `data`: seconds since the epoch with a fraction ("1764072000.123000000"). */
export function epochTime(v: unknown): string | undefined {
  if (typeof v !== 'string' || !/^-?\d+(\.\d+)?(\s.*)?$/.test(v)) return undefined;
  const [s, frac = ''] = v.split(/\s/)[0].split('.');
  return new Date(Number(s) * 1000 + Number(frac.padEnd(3, '0').slice(0, 3))).toISOString();
}

/** The `code` and `message` of a Snowflake error body (`{"code": "000606", "message": …, "sqlState": …}`). */
export function snowflakeErrorOf(body: string): { code?: string; message?: string } {
  try {
    const b = JSON.parse(body);
    return {
      code: typeof b?.code === 'string' ? b.code : undefined,
      message: typeof b?.message === 'string' ? b.message : undefined,
    };
  } catch {
    return {};
  }
}

interface View {
  stream: string;
  title: string;
  view: string;
  time: string;
  id: string;
  lag: string;
  description: string;
}

export const VIEWS: View[] = [
  {
    stream: 'login-history',
    title: 'Login history',
    view: 'LOGIN_HISTORY',
    time: 'EVENT_TIMESTAMP',
    id: 'EVENT_ID',
    lag: '2h',
    description: 'Login attempts (successful and failed) of every user; id EVENT_ID.',
  },
  {
    stream: 'query-history',
    title: 'Query history',
    view: 'QUERY_HISTORY',
    time: 'END_TIME',
    id: 'QUERY_ID',
    lag: '45m',
    description: 'Every query run in the account, once it ended; id QUERY_ID.',
  },
  {
    stream: 'access-history',
    title: 'Access history',
    view: 'ACCESS_HISTORY',
    time: 'QUERY_START_TIME',
    id: 'QUERY_ID',
    lag: '3h',
    description: 'Which objects and columns each query read or modified (Enterprise Edition); id QUERY_ID.',
  },
];

const root = (s: SnowflakeSettings, a: SnowflakeAccount) =>
  (s.baseUrl ?? snowflakeUrl(a)).replace(/\/+$/, '');

/** The statement body of one window: the bounds are bindings 1 and 2, never part of the SQL text. */
export function statementBody(
  v: View,
  s: SnowflakeSettings,
  a: SnowflakeAccount,
  start: Date,
  end: Date,
): string {
  return JSON.stringify({
    statement: `SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.${v.view} WHERE ${v.time} >= TO_TIMESTAMP_LTZ(?) AND ${v.time} < TO_TIMESTAMP_LTZ(?) ORDER BY ${v.time}`,
    timeout: s.statementTimeout,
    database: 'SNOWFLAKE',
    schema: 'ACCOUNT_USAGE',
    warehouse: s.warehouse,
    ...(a.role ? { role: a.role } : {}),
    bindings: {
      '1': { type: 'TEXT', value: start.toISOString() },
      '2': { type: 'TEXT', value: end.toISOString() },
    },
  });
}

const stream = (v: View) =>
  restPoll<SnowflakeSettings, SnowflakeAccount>({
    title: v.title,
    description: v.description,
    method: 'POST',
    vendorWrite: STATEMENT_WRITE,
    url: ({ settings: s, account }) => `${root(s, account)}/api/v2/statements`,
    request: ({ settings: s, account }, w) => ({
      url: `${root(s, account)}/api/v2/statements`,
      body: statementBody(v, s, account, w.start, w.end),
    }),
    headers: () => ({ accept: 'application/json', 'user-agent': 'tributary' }),
    records: rowsOf,
    paginate: statementPages,
    cursor: { time: (r: any) => epochTime(r?.[v.time]), order: 'asc', lag: v.lag, maxWindow: '1d' },
    lagSetting: (s) => s.lag,
    eventId: (r: any) => (r?.[v.id] == null ? undefined : String(r[v.id])),
    missingId: `row without ${v.id}`,
    // 408: the statement ran past `timeout` and Snowflake cancelled it; half the window is asked instead.
    windowTooLarge: (err) => err.status === 408,
  });

export default defineSource<SnowflakeSettings, SnowflakeAccount>({
  id: 'snowflake',
  title: 'Snowflake',
  account: 'snowflake',
  stability: 'early-access',
  family: 'query',
  description:
    'Snowflake login, query and access history from SNOWFLAKE.ACCOUNT_USAGE, read with the SQL API v2 (key-pair JWT) in time windows behind the views’ latency, in the warehouse you name.',
  setupGuide: [
    '1. **Key pair**: `openssl genrsa 2048 | openssl pkcs8 -topk8 -inform PEM -out rsa_key.p8 -nocrypt` (or with a',
    '   passphrase: drop `-nocrypt`), then `openssl rsa -in rsa_key.p8 -pubout -out rsa_key.pub`.',
    '2. **User and role** (as ACCOUNTADMIN or SECURITYADMIN): `CREATE ROLE TRIBUTARY_READER;`',
    '   `CREATE USER TRIBUTARY TYPE = SERVICE DEFAULT_ROLE = TRIBUTARY_READER;` `GRANT ROLE TRIBUTARY_READER TO USER TRIBUTARY;`',
    "   and assign the public key (the body of rsa_key.pub without the BEGIN/END lines): `ALTER USER TRIBUTARY SET RSA_PUBLIC_KEY='MIIBIjANBg…';`",
    '   (`DESCRIBE USER TRIBUTARY` shows its RSA_PUBLIC_KEY_FP).',
    '3. **Account usage**: `GRANT IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE TO ROLE TRIBUTARY_READER;`',
    '4. **The smallest warehouse**: every window runs a query that resumes the warehouse and bills credits:',
    '   `CREATE WAREHOUSE TRIBUTARY_WH WAREHOUSE_SIZE = XSMALL AUTO_SUSPEND = 60 AUTO_RESUME = TRUE INITIALLY_SUSPENDED = TRUE;`',
    '   `GRANT USAGE ON WAREHOUSE TRIBUTARY_WH TO ROLE TRIBUTARY_READER;`',
    '5. A **Snowflake** account with the account identifier (Snowsight → account menu → View account details),',
    '   user, private key (and passphrase) and role; then this collector with the warehouse.',
    '**Latency**: the ACCOUNT_USAGE views show events 45 minutes to 3 hours late, so windows end that far behind now',
    '(login history 2 h, query history 45 min, access history 3 h). ACCESS_HISTORY needs Enterprise Edition.',
    '**Unconfirmed** (early access): the per-view latencies above, and the exact timestamp format of the SQL API rows.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<SnowflakeSettings>,
  retention: '365d',
  vendorWrites: [STATEMENT_WRITE],
  streams: Object.fromEntries(VIEWS.map((v) => [v.stream, stream(v)])),
  rateLimited: ({ status }) => (status === 429 ? { defaultWaitMs: 10_000 } : undefined),
  explain({ status, body, message }) {
    const e = snowflakeErrorOf(body);
    const code = e.code ?? '';
    const said = e.message ?? message;
    if (code === '000606')
      return {
        code: 'snowflake_no_warehouse',
        action: `Snowflake has no running warehouse for the query (${said}). Set the collector's warehouse to one that exists, and grant the role USAGE on it (GRANT USAGE ON WAREHOUSE <name> TO ROLE <role>); the smallest (X-Small) is enough.`,
      };
    if (status === 401 || code === '390144')
      return {
        code: 'snowflake_jwt_refused',
        action: `Snowflake refused the key-pair JWT (${said}). Check the account identifier and user, and that the user's RSA_PUBLIC_KEY is the public key of this private key (DESCRIBE USER shows RSA_PUBLIC_KEY_FP), and this machine's clock.`,
      };
    if (code === '002003' || /does not exist or not authorized/i.test(said))
      return {
        code: 'snowflake_account_usage_denied',
        action: `The role cannot read SNOWFLAKE.ACCOUNT_USAGE (${said}). Run GRANT IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE TO ROLE <the account's role>; ACCESS_HISTORY also needs Enterprise Edition.`,
      };
    if (status === 422)
      return { code: 'snowflake_sql_error', action: `Snowflake refused the statement: ${said}` };
    if (status === 408)
      return {
        code: 'snowflake_statement_timeout',
        action: `The statement ran longer than statementTimeout and Snowflake cancelled it (${said}); windows are halved and asked again. If it repeats, raise statementTimeout or check the warehouse is not queued behind other work.`,
      };
    return undefined;
  },
  async test({ settings: given, account, http }) {
    const s = settings.parse(given) as SnowflakeSettings;
    // One short statement per view: proves the JWT, the warehouse, and the grant on ACCOUNT_USAGE.
    for (const v of VIEWS)
      await http.requestJson({
        method: 'POST',
        vendorWrite: STATEMENT_WRITE,
        url: `${root(s, account)}/api/v2/statements`,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          statement: `SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.${v.view} LIMIT 1`,
          timeout: s.statementTimeout,
          database: 'SNOWFLAKE',
          schema: 'ACCOUNT_USAGE',
          warehouse: s.warehouse,
          ...(account.role ? { role: account.role } : {}),
        }),
      });
  },
});
