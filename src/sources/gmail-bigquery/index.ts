import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  BIGQUERY_API,
  checkAccountFor,
  explainGoogleCommon,
  type GoogleAccount,
  googleErrorOf,
} from '../../accounts/google.ts';
import { configError, transientError } from '../../core/errors.ts';
import { defineSource } from '../../core/source.ts';
import { baseUrlSetting, durationSetting } from '../../core/validation.ts';
import type { PageRequest, Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Gmail logs in BigQuery: the Workspace export dataset (`gmail_logs_dataset.daily_YYYYMMDD`) read with
 * BigQuery query jobs, in time windows on `event_info.timestamp_usec`. Vendor facts:
 *
 * - support.google.com/a/answer/7233312 ("Gmail logs in BigQuery"): an admin sets up the export (Admin
 *   console → Apps → Google Workspace → Gmail → Setup → Email logs in BigQuery); the dataset
 *   `gmail_logs_dataset` gets one table a day, `daily_YYYYMMDD`; `event_info.timestamp_usec` is the event
 *   time in microseconds since the epoch; rows have no unique id (one message has many rows), so the
 *   envelope id is a hash of the row.
 * - cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query: POST /bigquery/v2/projects/{p}/queries
 *   with {query, useLegacySql: false, parameterMode: "NAMED", queryParameters, maximumBytesBilled,
 *   maxResults, timeoutMs, location}; answer with jobReference and `jobComplete` — false means poll
 *   jobs.getQueryResults (GET /bigquery/v2/projects/{p}/queries/{jobId}?location&timeoutMs&maxResults&pageToken)
 *   until it is true, then page with `pageToken`. Rows are `{f: [{v}]}` in schema order (decodeRow).
 * - maximumBytesBilled: "Limits the bytes billed for this query. Queries with bytes billed above this limit
 *   will fail (without incurring a charge)" — error reason `bytesBilledLimitExceeded`
 *   (cloud.google.com/bigquery/docs/error-messages). A dry run (`dryRun: true`) returns
 *   totalBytesProcessed without running (cloud.google.com/bigquery/docs/running-queries#dry-run): Test
 *   Connection estimates a day's query with it.
 * - Wildcard tables (cloud.google.com/bigquery/docs/querying-wildcard-tables): `daily_*` with
 *   `_TABLE_SUFFIX BETWEEN @first_day AND @last_day` scans only the days named (cost).
 * - Roles (cloud.google.com/bigquery/docs/access-control): BigQuery Job User (roles/bigquery.jobUser,
 *   bigquery.jobs.create) on the project that runs the queries, BigQuery Data Viewer
 *   (roles/bigquery.dataViewer) on the dataset. Scope bigquery.readonly suffices for queries.
 * - Quotas (cloud.google.com/bigquery/quotas): rate limits answer 403 (or 429) with reason
 *   rateLimitExceeded / quotaExceeded: waited out, not a permission error.
 *
 * Reading (engine `restPoll`, the first request of a window a declared vendor write — it starts a billed
 * job): windows [since − overlap, now − lag) (default lag 15 minutes: rows reach the tables after the
 * event), one job per window, its results paged with pageToken; the checkpoint is the time-window cursor,
 * never a job or page token.
 *
 * Unconfirmed (so `early-access`): the export's delay (the lag's default); the schema beyond the fields
 * named above (rows are forwarded whole, whatever their columns).
 */

export interface GmailBigQuerySettings {
  projectId: string;
  billingProjectId?: string;
  dataset: string;
  location: string;
  maximumBytesBilled: number;
  lag?: string;
  pageSize: number;
  baseUrl?: string;
}

const DEFAULT_LAG = '15m';
const MAX_POLLS = 90; // 90 × timeoutMs 10 s: a job still running after 15 minutes is retried next run
const POLL_TIMEOUT_MS = 10_000;
const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

export const QUERY_WRITE =
  'BigQuery jobs.query starts a query job in the billing project (billed by bytes processed, capped by maximumBytesBilled): the only way BigQuery reads a table with SQL';

const settings = z
  .object({
    projectId: z
      .string({ error: 'required: the Google Cloud project that holds the Gmail logs dataset' })
      .trim()
      .regex(PROJECT, 'expected a Google Cloud project ID such as acme-gmail-logs')
      .describe('The project that holds the Gmail logs dataset (the one chosen in the Admin console export)')
      .meta({ title: 'Project ID' }),
    billingProjectId: z
      .string()
      .trim()
      .regex(PROJECT, 'expected a Google Cloud project ID')
      .optional()
      .describe('The project that runs (and pays for) the queries, if not the dataset project')
      .meta({ title: 'Billing project ID' }),
    dataset: z
      .string()
      .trim()
      .regex(/^\w{1,1024}$/, 'expected a dataset name such as gmail_logs_dataset')
      .default('gmail_logs_dataset')
      .describe('The export dataset (default gmail_logs_dataset)')
      .meta({ title: 'Dataset' }),
    location: z
      .string()
      .trim()
      .regex(/^[A-Za-z][\w-]{1,30}$/, 'expected a BigQuery location such as US, EU or europe-west1')
      .default('US')
      .describe("The dataset's location (BigQuery → the dataset → Details → Data location)")
      .meta({ title: 'Location' }),
    maximumBytesBilled: z
      .number()
      .int()
      .min(10 * 1024 * 1024, 'expected at least 10485760 (10 MB, the least BigQuery bills a query)')
      .default(10 * 1024 ** 3)
      .describe(
        'The most one query may bill, in bytes (default 10 GiB); a window that would bill more fails without charge and the collector reports it',
      )
      .meta({ title: 'Maximum bytes billed per query' }),
    lag: durationSetting('15m or 1h')
      .optional()
      .describe(
        `How far behind now a window ends (default ${DEFAULT_LAG}): rows reach the tables after the event`,
      )
      .meta({ title: 'Lag' }),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(10_000)
      .describe('Rows per results page (maxResults)')
      .meta({ title: 'Rows per page' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

interface Field {
  name: string;
  type: string;
  mode?: string;
  fields?: Field[];
}

/**
 * A row in BigQuery's `{f: [{v}]}` form as an object, by its schema: RECORDs nested, REPEATED fields
 * arrays, BOOLEANs booleans; numbers stay the strings BigQuery sends (INT64 keeps its precision).
 */
export function decodeRow(fields: Field[], row: { f: unknown[] }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  fields.forEach((field, i) => {
    const cell = (row?.f?.[i] as { v: unknown } | undefined)?.v;
    const one = (x: unknown): unknown =>
      x === null || x === undefined
        ? null
        : field.type === 'RECORD' || field.type === 'STRUCT'
          ? decodeRow(field.fields ?? [], x as { f: unknown[] })
          : field.type === 'BOOLEAN' || field.type === 'BOOL'
            ? x === 'true'
            : x;
    out[field.name] =
      field.mode === 'REPEATED'
        ? (Array.isArray(cell) ? cell : []).map((c: { v: unknown }) => one(c?.v))
        : one(cell);
  });
  return out;
}

const root = (s: GmailBigQuerySettings) =>
  (s.baseUrl ?? 'https://bigquery.googleapis.com').replace(/\/+$/, '');
const billing = (s: GmailBigQuerySettings) => s.billingProjectId ?? s.projectId;
const day = (d: Date) => d.toISOString().slice(0, 10).replaceAll('-', '');
const usec = (d: Date) => String(BigInt(d.getTime()) * 1000n);

/** The jobs.query body of a window [start, end) (see the header comment). */
export function queryBody(s: GmailBigQuerySettings, start: Date, end: Date, dryRun = false): string {
  const param = (name: string, type: string, value: string) => ({
    name,
    parameterType: { type },
    parameterValue: { value },
  });
  return JSON.stringify({
    query: [
      `SELECT * FROM \`${s.projectId}.${s.dataset}.daily_*\``,
      'WHERE _TABLE_SUFFIX BETWEEN @first_day AND @last_day',
      'AND event_info.timestamp_usec >= @start_usec AND event_info.timestamp_usec < @end_usec',
      'ORDER BY event_info.timestamp_usec',
    ].join(' '),
    useLegacySql: false,
    parameterMode: 'NAMED',
    queryParameters: [
      param('first_day', 'STRING', day(start)),
      param('last_day', 'STRING', day(new Date(end.getTime() - 1))),
      param('start_usec', 'INT64', usec(start)),
      param('end_usec', 'INT64', usec(end)),
    ],
    maximumBytesBilled: String(s.maximumBytesBilled),
    maxResults: s.pageSize,
    timeoutMs: POLL_TIMEOUT_MS,
    location: s.location,
    ...(dryRun ? { dryRun: true } : {}),
  });
}

/** After jobs.query: poll getQueryResults while the job runs, then follow its pageToken. */
const jobPages: Paginator = {
  next({ body, request }): PageRequest | undefined {
    const ref = body?.jobReference;
    if (!ref?.jobId) return undefined;
    const base = request.url.replace(/\/bigquery\/v2\/.*$/, '');
    const url = `${base}/bigquery/v2/projects/${encodeURIComponent(ref.projectId)}/queries/${encodeURIComponent(ref.jobId)}`;
    const maxResults = Number(request.state?.maxResults) || undefined;
    const query = { location: ref.location, maxResults, timeoutMs: POLL_TIMEOUT_MS };
    if (body.jobComplete === false) {
      const poll = Number(request.state?.poll ?? 0) + 1;
      if (poll > MAX_POLLS)
        throw transientError(
          'bigquery_job_timeout',
          `BigQuery job ${ref.jobId} did not complete within ${(MAX_POLLS * POLL_TIMEOUT_MS) / 60_000} minutes.`,
          'The next run starts the window again. If it repeats, lower the lag or check the project’s BigQuery slot usage.',
        );
      return { url, method: 'GET', query, state: { maxResults: maxResults ?? '', poll } };
    }
    return typeof body.pageToken === 'string' && body.pageToken
      ? {
          url,
          method: 'GET',
          query: { ...query, pageToken: body.pageToken },
          state: { maxResults: maxResults ?? '' },
        }
      : undefined;
  },
};

const usecTime = (r: { event_info?: { timestamp_usec?: unknown } }) => {
  const v = r?.event_info?.timestamp_usec;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return undefined;
  return new Date(Number(BigInt(v) / 1000n)).toISOString();
};

/** The envelope id of a row: rows have no unique id, so a hash of the row (the same row, the same id). */
export const rowId = (r: unknown) =>
  createHash('sha256').update(JSON.stringify(r)).digest('hex').slice(0, 32);

export default defineSource<GmailBigQuerySettings, GoogleAccount>({
  id: 'gmail-bigquery',
  title: 'Gmail logs (BigQuery)',
  account: 'google',
  stability: 'early-access',
  family: 'query',
  description:
    'Gmail message logs exported by Google Workspace to BigQuery (gmail_logs_dataset.daily_*), read with query jobs in time windows on event_info.timestamp_usec, each query capped by maximumBytesBilled.',
  setupGuide: [
    '1. **Export Gmail logs to BigQuery** (Google Admin console → Apps → Google Workspace → Gmail → Setup → Email logs',
    '   in BigQuery): choose the Google Cloud project and keep the dataset name `gmail_logs_dataset`; note the',
    '   dataset location (BigQuery → the dataset → Details).',
    '2. Enable the BigQuery API in the project that will run the queries: `gcloud services enable bigquery.googleapis.com --project P`.',
    '3. Create a service account and a JSON key (`gcloud iam service-accounts create tributary-gmail`;',
    '   `gcloud iam service-accounts keys create key.json --iam-account tributary-gmail@P.iam.gserviceaccount.com`).',
    '4. Grant it **BigQuery Job User** on the project that runs the queries and **BigQuery Data Viewer** on the dataset:',
    '   `gcloud projects add-iam-policy-binding P --member serviceAccount:tributary-gmail@P.iam.gserviceaccount.com --role roles/bigquery.jobUser`;',
    '   `bq add-iam-policy-binding --member serviceAccount:tributary-gmail@P.iam.gserviceaccount.com --role roles/bigquery.dataViewer P:gmail_logs_dataset`',
    '   (or Data Viewer on the project).',
    '5. A **Google** account with the key (no subject), then this collector with the project ID and location.',
    '**Cost**: every window runs one query, billed by the bytes of the daily tables it scans (only the days of the',
    'window). `maximumBytesBilled` caps each query (default 10 GiB): a query above it fails without charge and the',
    "collector reports `bigquery_bytes_billed_limit` with the size needed. Test Connection dry-runs a day's query and",
    'fails if that alone would exceed the cap.',
    '**Unconfirmed** (early access): how long the export takes to write rows (the 15-minute default lag).',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<GmailBigQuerySettings>,
  retention: '400d',
  vendorWrites: [QUERY_WRITE],
  streams: {
    messages: restPoll<GmailBigQuerySettings, GoogleAccount>({
      title: 'Gmail message logs',
      description: 'Every row of the daily tables, oldest first; id a hash of the row.',
      check: ({ account }) => checkAccountFor(account, BIGQUERY_API),
      method: 'POST',
      vendorWrite: QUERY_WRITE,
      url: ({ settings: s }) => `${root(s)}/bigquery/v2/projects/${billing(s)}/queries`,
      request: ({ settings: s }, w) => ({
        url: `${root(s)}/bigquery/v2/projects/${billing(s)}/queries`,
        body: queryBody(s, w.start, w.end),
        state: { maxResults: s.pageSize },
      }),
      headers: () => ({ accept: 'application/json' }),
      records: (body) =>
        body?.jobComplete === true && Array.isArray(body.rows)
          ? body.rows.map((r: { f: unknown[] }) => decodeRow(body.schema?.fields ?? [], r))
          : [],
      paginate: jobPages,
      cursor: { time: usecTime, order: 'asc', lag: DEFAULT_LAG, maxWindow: '1d' },
      lagSetting: (s) => s.lag,
      eventId: rowId,
      missingId: 'row has no content',
    }),
  },
  rateLimited({ status, body }) {
    const e = googleErrorOf(body);
    return (status === 403 || status === 429) &&
      e.reasons.some((r) => r === 'rateLimitExceeded' || r === 'quotaExceeded')
      ? { defaultWaitMs: 10_000 }
      : undefined;
  },
  explain({ status, body, message }) {
    const e = googleErrorOf(body);
    const said = e.message || message;
    const common = explainGoogleCommon(status, e, {
      name: 'BigQuery API',
      service: 'bigquery.googleapis.com',
    });
    if (common) return common;
    if (e.reasons.includes('bytesBilledLimitExceeded'))
      return {
        code: 'bigquery_bytes_billed_limit',
        action: `The window's query would bill more than the collector's maximumBytesBilled (BigQuery: ${said}). Raise maximumBytesBilled to at least the size BigQuery names, or keep the lag and lookback short so windows scan fewer daily tables.`,
      };
    if (status === 403 && /jobs\.create/.test(said))
      return {
        code: 'bigquery_job_user_missing',
        action: `Grant the service account BigQuery Job User (roles/bigquery.jobUser) on the project that runs the queries (billingProjectId, else projectId). Google said: ${said}`,
      };
    if (status === 403)
      return {
        code: 'bigquery_data_viewer_missing',
        action: `Grant the service account BigQuery Data Viewer (roles/bigquery.dataViewer) on the Gmail logs dataset. Google said: ${said}`,
      };
    if (status === 404)
      return {
        code: 'bigquery_not_found',
        action: `Check the project ID, dataset (gmail_logs_dataset) and location (the dataset's data location, e.g. US or EU), and that the Gmail export is set up. Google said: ${said}`,
      };
    if (status === 400)
      return { code: 'google_bad_request', action: `BigQuery refused the query. Google said: ${said}` };
    return undefined;
  },
  async test({ settings: given, account, http }) {
    checkAccountFor(account, BIGQUERY_API);
    const s = settings.parse(given) as GmailBigQuerySettings; // with the defaults
    // A dry run proves the token, jobs.create and read access to the tables, and estimates a day's cost.
    const end = new Date();
    const { body } = await http.requestJson({
      method: 'POST',
      readOnly: true, // a dry run starts no job and bills nothing
      url: `${root(s)}/bigquery/v2/projects/${billing(s)}/queries`,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: queryBody(s, new Date(end.getTime() - 86_400_000), end, true),
    });
    const bytes = Number(body?.totalBytesProcessed ?? 0);
    if (bytes > s.maximumBytesBilled)
      throw configError(
        'bigquery_bytes_billed_limit',
        `A day's query would process ${bytes} bytes (dry run), above maximumBytesBilled (${s.maximumBytesBilled}).`,
        `Raise maximumBytesBilled to at least ${bytes}, or the queries of day-long windows will fail.`,
      );
  },
});
