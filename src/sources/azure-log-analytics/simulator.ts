/**
 * Log Analytics Query API simulator: `POST /v1/workspaces/{id}/query` behind an Entra ID token endpoint
 * (resource https://api.loganalytics.io), following Microsoft's docs:
 *
 * - learn.microsoft.com/azure/azure-monitor/logs/api/request-format: JSON body `{query, timespan}`; the
 *   timespan (ISO 8601 `start/end`) filters on TimeGenerated as well as the query.
 * - learn.microsoft.com/azure/azure-monitor/logs/api/response-format: `{"tables":[{"name":"PrimaryResult",
 *   "columns":[{name,type}],"rows":[…]}]}`; non-fatal errors are 200 with `error.code = "PartialError"` and
 *   `details`; fatal ones an error status with a OneAPI error object `{"error":{code,message,innererror}}`.
 * - learn.microsoft.com/azure/azure-monitor/fundamentals/service-limits ("Query API"): 500,000 records per
 *   query (here `maxRows`, lowered by tests), 200 requests per 30 s per principal (429 with Retry-After).
 * - learn.microsoft.com/azure/azure-monitor/logs/manage-access: no Log Analytics Reader → 403
 *   `InsufficientAccessError`. Records shaped like SigninLogs / SecurityEvent / CommonSecurityLog rows.
 *
 * Assumed (not documented), decided here: the simulator runs only the KQL the source sends (one table,
 * an ingestion-time range, `extend _IngestionTime`, `order by` it) and `T | take 1`; other KQL is 400
 * `BadArgumentError`/`SyntaxError`; an unknown table is 400 with innererror `SemanticError`; the row cap
 * answers a `PartialError` whose detail is `E_QUERY_RESULT_SET_TOO_LARGE`; an unknown workspace is 404
 * `WorkspaceNotFoundError`.
 */

import { AzureRestSim, azureError } from '../../sim/azure.ts';
import type { Clock } from '../../sim/kit.ts';
import { json, Rng, type SimReply, type SimRequest, seedOf, stableUuid } from '../../sim/kit.ts';

export const QUERY_PATH = /^\/v1\/workspaces\/[^/]+\/query$/;

interface Row {
  table: string;
  generated: number;
  ingested: number;
  seq: number;
}

export interface LogAnalyticsSimulatorOptions {
  clock?: Clock;
  seed?: number;
  tables?: Record<string, number>;
  maxRows?: number;
  /** Requests allowed per 30 s (default 200). */
  requestsPer30s?: number;
  eventBytes?: number;
}

const WINDOW =
  /^([A-Za-z][A-Za-z0-9_]*) \| where ingestion_time\(\) >= datetime\(([^)]+)\) and ingestion_time\(\) < datetime\(([^)]+)\) \| extend _IngestionTime = ingestion_time\(\) \| order by _IngestionTime asc$/;
const TAKE1 = /^([A-Za-z][A-Za-z0-9_]*) \| take 1$/;

export class LogAnalyticsSimulator extends AzureRestSim {
  readonly workspaceId: string;
  private readonly rows: Row[] = [];
  private seq = 0;
  maxRows: number;
  denied = false;
  private readonly limit: number;
  private readonly queries: number[] = [];
  private readonly eventBytes?: number;

  constructor(o: LogAnalyticsSimulatorOptions = {}) {
    super(
      { clock: o.clock, seed: o.seed, resource: 'https://api.loganalytics.io', name: 'loganalytics' },
      {
        errorReply: (_req, status) =>
          azureError(status, status >= 500 ? 'InternalServerError' : 'BadArgumentError', `HTTP ${status}`),
        rateLimitReply: () => azureError(429, 'ThrottledError', 'Too many requests; please retry later.'),
      },
    );
    this.workspaceId = stableUuid(7, seedOf(this.seed, 'ws'));
    this.maxRows = o.maxRows ?? 500_000;
    this.limit = o.requestsPer30s ?? 200;
    this.eventBytes = o.eventBytes;
    const tables = o.tables ?? { SigninLogs: 20, SecurityEvent: 20 };
    for (const [t, n] of Object.entries(tables)) this.add(t, n, { from: this.clock() - 50 * 60_000 });
    this.server.route('POST', '/v1/workspaces/:ws/query', (req) => this.query(req));
  }

  /** Adds `n` rows to `table`, generated `spacingMs` apart from `from`, each ingested 30 s (+ delay) later. */
  add(table: string, n: number, o: { from?: number; spacingMs?: number; ingestDelayMs?: number } = {}): void {
    const spacing = o.spacingMs ?? 60_000;
    const from = o.from ?? this.clock() - n * spacing;
    for (let i = 0; i < n; i++) {
      const generated = from + i * spacing;
      this.rows.push({
        table,
        generated,
        ingested: generated + 30_000 + (o.ingestDelayMs ?? 0),
        seq: this.seq++,
      });
    }
  }

  tables(): string[] {
    return [...new Set(this.rows.map((r) => r.table))];
  }

  /** The records a full drain must deliver, rendered as the source sees them. */
  records(): Array<Record<string, unknown>> {
    return this.rows.filter((r) => r.ingested <= this.clock()).map((r) => this.record(r));
  }

  private query(req: SimRequest): SimReply {
    const unauthorised = this.unauthorised(req);
    if (unauthorised) return unauthorised;
    const now = this.clock();
    while (this.queries.length && this.queries[0] <= now - 30_000) this.queries.shift();
    if (this.queries.length >= this.limit)
      return azureError(429, 'ThrottledError', 'Too many requests; please retry later.', {
        'retry-after': String(Math.max(1, Math.ceil((this.queries[0] + 30_000 - now) / 1000))),
      });
    this.queries.push(now);
    if (req.params.ws !== this.workspaceId)
      return azureError(404, 'WorkspaceNotFoundError', `The workspace could not be found: ${req.params.ws}`);
    if (this.denied)
      return azureError(
        403,
        'InsufficientAccessError',
        'The provided credentials have insufficient access to perform the requested operation',
      );
    let body: { query?: string; timespan?: string };
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return azureError(400, 'BadArgumentError', 'The request had some invalid properties');
    }
    const q = (body.query ?? '').trim();
    const span = /^(.+)\/(.+)$/.exec(body.timespan ?? '');
    const spanStart = span ? Date.parse(span[1]) : Number.NEGATIVE_INFINITY;
    const spanEnd = span ? Date.parse(span[2]) : Number.POSITIVE_INFINITY;
    const w = WINDOW.exec(q);
    const t1 = TAKE1.exec(q);
    const table = w?.[1] ?? t1?.[1];
    if (!table)
      return json(400, {
        error: {
          message: 'The request had some invalid properties',
          code: 'BadArgumentError',
          innererror: { code: 'SyntaxError', message: 'A recognition error occurred in the query.' },
        },
      });
    if (!this.tables().includes(table))
      return json(400, {
        error: {
          message: 'The request had some invalid properties',
          code: 'BadArgumentError',
          innererror: { code: 'SemanticError', message: `'${table}' could not be resolved` },
        },
      });
    const from = w ? Date.parse(w[2]) : Number.NEGATIVE_INFINITY;
    const to = w ? Date.parse(w[3]) : Number.POSITIVE_INFINITY;
    let rows = req.empty
      ? []
      : this.rows.filter(
          (r) =>
            r.table === table &&
            r.ingested <= now &&
            r.ingested >= from &&
            r.ingested < to &&
            r.generated >= spanStart &&
            r.generated < spanEnd,
        );
    rows.sort((a, b) => a.ingested - b.ingested || a.seq - b.seq);
    if (t1) rows = rows.slice(0, 1);
    const partial = rows.length > this.maxRows;
    rows = rows.slice(0, this.maxRows);
    const records = rows.map((r) => this.record(r));
    const columns = Object.keys(records[0] ?? this.record({ table, generated: 0, ingested: 0, seq: -1 })).map(
      (name) => ({
        name,
        type:
          name === 'TimeGenerated' || name === '_IngestionTime'
            ? 'datetime'
            : typeof (records[0]?.[name] ?? '') === 'number'
              ? 'int'
              : 'string',
      }),
    );
    const result: Record<string, unknown> = {
      tables: [
        { name: 'PrimaryResult', columns, rows: records.map((rec) => columns.map((c) => rec[c.name])) },
      ],
    };
    if (partial)
      result.error = {
        code: 'PartialError',
        message: 'There were some errors when processing your query.',
        details: [
          {
            code: 'EngineError',
            message: `Query result set has exceeded the internal record count limit ${this.maxRows} (E_QUERY_RESULT_SET_TOO_LARGE; see https://aka.ms/kustoquerylimits)`,
          },
        ],
      };
    return json(200, result);
  }

  private record(r: Row): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, r.table, r.seq));
    const common = {
      TenantId: this.workspaceId,
      TimeGenerated: new Date(r.generated).toISOString(),
    };
    let rec: Record<string, unknown>;
    if (r.table === 'SigninLogs')
      rec = {
        ...common,
        OperationName: 'Sign-in activity',
        Category: 'SignInLogs',
        ResultType: rng.pick(['0', '50126', '50074']),
        Identity: 'Kai Carter',
        UserPrincipalName: 'kai@contoso.com',
        AppDisplayName: rng.pick(['Office 365 Exchange Online', 'Azure Portal', 'Microsoft Teams']),
        IPAddress: `198.51.100.${rng.int(1, 254)}`,
        Id: stableUuid(11, seedOf(this.seed, r.seq)),
        Type: 'SigninLogs',
      };
    else if (r.table === 'SecurityEvent')
      rec = {
        ...common,
        Computer: rng.pick(['DC01.contoso.com', 'WEB01.contoso.com']),
        EventID: rng.pick([4624, 4625, 4688]),
        Activity: '4624 - An account was successfully logged on.',
        Account: 'CONTOSO\\kai',
        LogonType: 3,
        EventRecordId: String(r.seq + 100_000),
        Type: 'SecurityEvent',
      };
    else
      rec = {
        ...common,
        DeviceVendor: 'Palo Alto Networks',
        DeviceProduct: 'PAN-OS',
        Activity: 'TRAFFIC',
        SourceIP: `10.0.0.${rng.int(1, 254)}`,
        DestinationIP: `203.0.113.${rng.int(1, 254)}`,
        DeviceAction: rng.pick(['allow', 'deny']),
        Type: r.table,
      };
    if (this.eventBytes)
      rec.AdditionalExtensions = 'x'.repeat(Math.max(0, this.eventBytes - JSON.stringify(rec).length));
    rec._IngestionTime = new Date(r.ingested).toISOString();
    return rec;
  }
}
