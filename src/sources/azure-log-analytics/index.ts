import { z } from 'zod';
import { MICROSOFT_APIS, type MicrosoftAccount } from '../../accounts/microsoft.ts';
import { roleExplain } from '../../accounts/microsoft-credential.ts';
import { hashId } from '../../core/envelope.ts';
import type { ErrorInfo } from '../../core/errors.ts';
import { defineSource, type VendorErrorContext } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { keyedStream } from '../../engine/keyed-stream.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Azure Monitor Logs (Log Analytics workspaces, Microsoft Sentinel tables) through the Log Analytics Query
 * API. Vendor facts:
 *
 * - learn.microsoft.com/azure/azure-monitor/logs/api/request-format: `POST https://api.loganalytics.io/v1/workspaces/{workspaceId}/query`
 *   with a JSON body `{"query": "<KQL>", "timespan": "<ISO 8601 interval>"}`; the timespan filters on
 *   TimeGenerated in addition to the query. Host and token resource per cloud: accounts/microsoft.ts
 *   (learn.microsoft.com/azure/azure-monitor/logs/api/access-api).
 * - learn.microsoft.com/azure/azure-monitor/logs/api/response-format: `{"tables":[{"name":"PrimaryResult",
 *   "columns":[{name,type}],"rows":[[…]]}]}`; a fatal error is an error status with a OneAPI error object; a
 *   non-fatal one is 200 with the results and an `error` whose code is `PartialError`, details in `details`.
 * - learn.microsoft.com/azure/azure-monitor/fundamentals/service-limits ("Query API"): at most 500,000
 *   records and ~104 MB (64 MB compressed) returned by one query; 10 minutes running time; 200 requests per
 *   30 seconds per Entra user or client IP.
 * - learn.microsoft.com/kusto/query/ingestion-time-function: `ingestion_time()` is the time the record was
 *   ingested; learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time: records can reach the
 *   workspace minutes (sometimes longer) after TimeGenerated.
 * - learn.microsoft.com/azure/azure-monitor/logs/manage-access: reading a workspace needs the Log Analytics
 *   Reader role; refusals are 403 `InsufficientAccessError`.
 *
 * Decisions:
 * - One stream, `tables`, keyed by the tables named in the settings (engine/keyed-stream.ts), each with its
 *   own position. Windows are on ingestion time, `[start, end)`, ending 2 minutes behind now and re-reading
 *   the 5 minutes before the position; the query adds `_IngestionTime` (its value) to every record, the
 *   cursor's field. The timespan reaches 2 days before the window so that records ingested late (TimeGenerated
 *   far older than their ingestion) are still in scope.
 * - Windows span at most 10 minutes: a busy table's query stays far below the 10-minute running limit and
 *   the row and size caps, so the split below (which costs the query that hit the cap) is rare.
 * - A window whose answer hits a cap (a `PartialError`, or 500,000 rows) is halved and read again before
 *   anything of it is delivered (restPoll `windowTooFull`).
 * - Records have no id column every table shares: the envelope id is a hash of the record (with its table
 *   and `_IngestionTime`), the same on every re-read.
 * - Table names are validated (letters, digits and `_`, custom tables ending `_CL`): the only text of the
 *   settings that reaches the KQL, so no setting can change the query.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const TABLE = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
export const MAX_ROWS = 500_000;
const SLACK_MS = 2 * 86_400_000;

const settings = z
  .object({
    workspaceId: z
      .string()
      .trim()
      .regex(GUID, 'expected the Workspace ID, a GUID (Log Analytics workspace → Overview → Workspace ID)')
      .describe('Workspace ID (Azure portal → Log Analytics workspaces → the workspace → Overview)')
      .meta({ title: 'Workspace ID' }),
    tables: z
      .array(
        z
          .string()
          .trim()
          .regex(
            TABLE,
            'expected a table name: letters, digits and _ (e.g. SigninLogs, SecurityEvent, MyApp_CL)',
          ),
      )
      .min(1, 'name at least one table')
      .max(50)
      .default(['SigninLogs', 'SecurityEvent', 'CommonSecurityLog'])
      .describe(
        'Tables to collect, e.g. SigninLogs, SecurityEvent, CommonSecurityLog, custom tables ending _CL',
      )
      .meta({ title: 'Tables' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

const LA = MICROSOFT_APIS.find((a) => a.name === 'Log Analytics')!;

export function logAnalyticsBase(s: { baseUrl?: string }, account: MicrosoftAccount): string {
  const host = LA.clouds[account.cloud ?? 'global']?.hosts[0] ?? 'api.loganalytics.azure.com';
  return (s.baseUrl ?? `https://${host}`).replace(/\/+$/, '');
}

/** The KQL for one table and window on ingestion time (the table name is validated by the settings). */
export function windowQuery(table: string, start: Date, end: Date): string {
  if (!TABLE.test(table)) throw new Error(`invalid table name ${JSON.stringify(table)}`);
  return `${table} | where ingestion_time() >= datetime(${start.toISOString()}) and ingestion_time() < datetime(${end.toISOString()}) | extend _IngestionTime = ingestion_time() | order by _IngestionTime asc`;
}

/** The rows of the primary result as objects keyed by column name. */
export function resultRecords(body: any): unknown[] | undefined {
  const t = body?.tables?.[0];
  if (!t || !Array.isArray(t.columns) || !Array.isArray(t.rows)) return undefined;
  const names: string[] = t.columns.map((c: { name: string }) => c.name);
  return t.rows.map((row: unknown[]) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) o[names[i]] = row[i];
    return o;
  });
}

const capped = (body: any) =>
  body?.error?.code === 'PartialError' || (body?.tables?.[0]?.rows?.length ?? 0) >= MAX_ROWS;

function errorOf(body: string): { code?: string; inner?: string } {
  try {
    const e = JSON.parse(body)?.error;
    return { code: e?.code, inner: e?.innererror?.code ?? e?.innerError?.code };
  } catch {
    return {};
  }
}

export function logAnalyticsExplain({
  status,
  body,
  message,
}: VendorErrorContext): Partial<ErrorInfo> | undefined {
  const { code, inner } = errorOf(body);
  if (status === 403) return roleExplain('logAnalyticsReader');
  if (status === 404)
    return {
      type: 'config',
      code: 'log_analytics_workspace_not_found',
      action:
        "Check the Workspace ID (the workspace's Overview page, not its resource name) and the Microsoft account's tenant and cloud.",
    };
  if (status === 400)
    return {
      type: 'config',
      code: inner === 'SemanticError' ? 'log_analytics_table_unknown' : 'log_analytics_bad_query',
      action:
        inner === 'SemanticError'
          ? `A table named in the collector does not exist in the workspace (${message}). Check the table names (Logs → Tables in the workspace); custom tables end in _CL.`
          : `Log Analytics refused the query (${code ?? 'BadArgumentError'}). Check the table names; if they are right, report this with the logs.`,
    };
  if (status === 401)
    return {
      code: 'log_analytics_token_rejected',
      action:
        "Log Analytics rejected the access token. Check the Microsoft account's cloud and the collector's base URL (https://api.loganalytics.io).",
    };
  return undefined;
}

export default defineSource<Settings, MicrosoftAccount>({
  id: 'azure-log-analytics',
  title: 'Azure Log Analytics',
  account: 'microsoft',
  stability: 'ga',
  family: 'query',
  description:
    'Records of the tables you name (SigninLogs, SecurityEvent, CommonSecurityLog, custom _CL tables, Microsoft Sentinel tables) from a Log Analytics workspace, by ingestion time.',
  setupGuide: [
    'You need an Entra administrator (to register the app) and an Owner or User Access Administrator of the workspace (to assign the role).',
    '1. Microsoft Entra admin center → **App registrations** → **New registration**, or reuse the app of another Microsoft collector; copy the',
    '   **Application (client) ID** and **Directory (tenant) ID**; create a client secret (its *Value*) or upload a certificate.',
    '2. Azure portal → **Log Analytics workspaces** → the workspace → **Access control (IAM)** → **Add role assignment** → **Log Analytics Reader** →',
    '   **Members**: the app → **Review + assign** (up to 10 minutes to apply). No API permission is needed.',
    '3. On the workspace **Overview**, copy the **Workspace ID** (a GUID). Under **Logs → Tables**, note the tables to collect.',
    '4. Create a **Microsoft** account in Tributary, then this collector with the workspace ID and tables.',
    'Each query returns at most 500,000 rows and about 100 MB: busier windows are split. The API allows 200 requests per 30 seconds per app.',
  ].join('\n'),
  settings,
  streams: {
    tables: keyedStream<Settings, MicrosoftAccount, string>({
      title: 'Tables',
      description: 'Records of every table named, by ingestion time, each table with its own position.',
      parts: ({ settings: s }) => s.tables,
      key: (table) => table,
      stream: (table) =>
        restPoll<Settings, MicrosoftAccount>({
          title: table,
          method: 'POST',
          url: ({ settings: s, account }) =>
            `${logAnalyticsBase(s, account)}/v1/workspaces/${s.workspaceId}/query`,
          request: ({ settings: s, account }, w) => ({
            url: `${logAnalyticsBase(s, account)}/v1/workspaces/${s.workspaceId}/query`,
            body: JSON.stringify({
              query: windowQuery(table, w.start, w.end),
              timespan: `${new Date(w.start.getTime() - SLACK_MS).toISOString()}/${w.end.toISOString()}`,
            }),
          }),
          records: (body) => resultRecords(body) ?? [],
          paginate: { next: () => undefined },
          cursor: { time: '_IngestionTime', lag: '2m', overlap: '5m', order: 'asc', maxWindow: '10m' },
          eventTime: (r) => r?.TimeGenerated ?? r?._IngestionTime,
          eventId: (r) => hashId({ table, ...r }),
          windowTooFull: capped,
        }),
    }),
  },
  explain: logAnalyticsExplain,
  async test({ settings: s, account, http }) {
    // One row of each table over the last hour: proves the token, the role and the table names.
    const end = new Date();
    const start = new Date(end.getTime() - 3_600_000);
    for (const table of s.tables)
      await http.requestJson({
        method: 'POST',
        readOnly: true,
        url: `${logAnalyticsBase(s, account)}/v1/workspaces/${s.workspaceId}/query`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: `${table} | take 1`,
          timespan: `${start.toISOString()}/${end.toISOString()}`,
        }),
      });
  },
});
