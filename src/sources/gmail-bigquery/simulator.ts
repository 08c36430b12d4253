/**
 * BigQuery simulator holding a Gmail logs export dataset, following Google's documentation:
 *
 * - cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query: POST /bigquery/v2/projects/{p}/queries
 *   with a QueryRequest {query, useLegacySql, parameterMode "NAMED", queryParameters [{name,
 *   parameterType {type}, parameterValue {value}}], maximumBytesBilled (int64 as a string), maxResults,
 *   timeoutMs, dryRun, location}; answer {kind "bigquery#queryResponse", schema, jobReference {projectId,
 *   jobId, location}, totalRows, pageToken, rows [{f: [{v}]}], totalBytesProcessed, jobComplete,
 *   cacheHit}. "jobComplete: Whether the query has completed or not. If rows or totalRows are present,
 *   this will always be true. If this is false, totalRows will not be available."
 * - …/jobs/getQueryResults: GET /bigquery/v2/projects/{p}/queries/{jobId}?location&pageToken&maxResults&timeoutMs;
 *   answer {kind "bigquery#getQueryResultsResponse", schema, jobReference, totalRows, pageToken, rows,
 *   jobComplete}. Rows are `{f: [{v}]}` in schema order; a RECORD is `{f: […]}`, a REPEATED field `[{v}]`,
 *   INT64 and TIMESTAMP values are strings.
 * - cloud.google.com/bigquery/docs/error-messages: 400 `bytesBilledLimitExceeded` ("Query exceeded limit
 *   for bytes billed: X. Y or higher required."), 403 `accessDenied`, 404 `notFound`, 400 `invalidQuery`,
 *   403/429 `rateLimitExceeded`. Dry runs (cloud.google.com/bigquery/docs/running-queries#dry-run) return
 *   totalBytesProcessed without running.
 * - Roles (cloud.google.com/bigquery/docs/access-control): roles/bigquery.jobUser on the billing project
 *   (bigquery.jobs.create; 403 "User does not have bigquery.jobs.create permission in project P"),
 *   roles/bigquery.dataViewer on the dataset (403 "Access Denied: Table …: User does not have permission
 *   to query table …"). Scope https://www.googleapis.com/auth/bigquery.readonly (or bigquery,
 *   cloud-platform[.read-only]). Auth: src/sim/google.ts.
 * - support.google.com/a/answer/7233312 (Gmail logs in BigQuery, schema): dataset `gmail_logs_dataset`,
 *   daily tables `daily_YYYYMMDD`; event_info {timestamp_usec, elapsed_time_usec, success, mail_event_type},
 *   message_info {rfc2822_message_id, subject, source {address, from_header_address, service},
 *   destination [{address, service}], is_spam, action_type}.
 *
 * Assumed: the simulator understands only the source's query shape (the table wildcard, _TABLE_SUFFIX
 * bounds and @start_usec / @end_usec); bytes processed are 1 KB per row of the daily tables the suffix
 * bounds select (partition pruning by table); a job completes after `pollsToComplete` getQueryResults
 * calls; page tokens are offsets bound to the job.
 */

import { GoogleApiSimulator, googleError, googleStatusError } from '../../sim/google.ts';
import {
  type Clock,
  json,
  type RecordedRequest,
  Rng,
  type SimReply,
  type SimRequest,
  seedOf,
} from '../../sim/kit.ts';
import { decodeRow } from './index.ts';

const SCOPES = [
  'https://www.googleapis.com/auth/bigquery.readonly',
  'https://www.googleapis.com/auth/bigquery',
  'https://www.googleapis.com/auth/cloud-platform.read-only',
  'https://www.googleapis.com/auth/cloud-platform',
];
const ROW_BYTES = 1024;

export const GMAIL_SCHEMA = {
  fields: [
    {
      name: 'event_info',
      type: 'RECORD',
      mode: 'NULLABLE',
      fields: [
        { name: 'timestamp_usec', type: 'INTEGER', mode: 'NULLABLE' },
        { name: 'elapsed_time_usec', type: 'INTEGER', mode: 'NULLABLE' },
        { name: 'success', type: 'BOOLEAN', mode: 'NULLABLE' },
        { name: 'mail_event_type', type: 'INTEGER', mode: 'NULLABLE' },
      ],
    },
    {
      name: 'message_info',
      type: 'RECORD',
      mode: 'NULLABLE',
      fields: [
        { name: 'rfc2822_message_id', type: 'STRING', mode: 'NULLABLE' },
        { name: 'subject', type: 'STRING', mode: 'NULLABLE' },
        {
          name: 'source',
          type: 'RECORD',
          mode: 'NULLABLE',
          fields: [
            { name: 'address', type: 'STRING', mode: 'NULLABLE' },
            { name: 'from_header_address', type: 'STRING', mode: 'NULLABLE' },
            { name: 'service', type: 'STRING', mode: 'NULLABLE' },
          ],
        },
        {
          name: 'destination',
          type: 'RECORD',
          mode: 'REPEATED',
          fields: [
            { name: 'address', type: 'STRING', mode: 'NULLABLE' },
            { name: 'service', type: 'STRING', mode: 'NULLABLE' },
          ],
        },
        { name: 'is_spam', type: 'BOOLEAN', mode: 'NULLABLE' },
        { name: 'action_type', type: 'INTEGER', mode: 'NULLABLE' },
        { name: 'padding', type: 'STRING', mode: 'NULLABLE' },
      ],
    },
  ],
};

interface Row {
  usec: bigint;
  seq: number;
  visible: number;
}

interface Job {
  id: string;
  rows: Row[];
  polls: number;
  bytes: number;
  createdAt: number;
}

export interface BigQuerySimulatorOptions {
  clock?: Clock;
  seed?: number;
  /** The project that holds the dataset (and bills the queries). */
  projectId?: string;
  location?: string;
  /** getQueryResults calls before a job reports jobComplete (default 1: the first jobs.query answer is incomplete). */
  pollsToComplete?: number;
  roles?: string[];
  eventBytes?: number;
}

export class BigQuerySimulator extends GoogleApiSimulator {
  readonly projectId: string;
  readonly location: string;
  roles: Set<string>;
  pollsToComplete: number;
  /** Bytes billed per job run (dry runs excluded). */
  readonly billed: number[] = [];
  /** The bodies of the jobs.query requests received, in order. */
  readonly queries: Array<Record<string, any>> = [];
  private readonly seed: number;
  private readonly rows: Row[] = [];
  private readonly jobs = new Map<string, Job>();
  private readonly eventBytes?: number;
  private loopPages = 0;

  constructor(o: BigQuerySimulatorOptions = {}) {
    super({
      name: 'bigquery',
      clock: o.clock,
      seed: o.seed ?? 1,
      projectId: o.projectId ?? 'acme-gmail-logs',
    });
    this.seed = o.seed ?? 1;
    this.projectId = o.projectId ?? 'acme-gmail-logs';
    this.location = o.location ?? 'US';
    this.pollsToComplete = o.pollsToComplete ?? 1;
    this.eventBytes = o.eventBytes;
    this.roles = new Set(o.roles ?? ['roles/bigquery.jobUser', 'roles/bigquery.dataViewer']);
    this.server.route('POST', '/bigquery/v2/projects/:project/queries', (req) => this.query(req));
    this.server.route('GET', '/bigquery/v2/projects/:project/queries/:job', (req) => this.results(req));
  }

  /** Calls that change vendor state but the declared jobs.query (which starts a billed job). */
  writeCalls(): RecordedRequest[] {
    return this.server
      .writeCalls()
      .filter((r) => !(r.path === '/token' || /^\/bigquery\/v2\/projects\/[^/]+\/queries$/.test(r.path)));
  }
  loopNextLinks(pages: number): void {
    this.loopPages = pages;
  }

  /** Adds `n` Gmail log rows `spacingMs` apart from `from`, visible (streamed into the table) after `visibleDelayMs`. */
  addRows(n: number, o: { from?: number; spacingMs?: number; visibleDelayMs?: number } = {}): void {
    const now = this.clock();
    const spacing = o.spacingMs ?? 30_000;
    const from = o.from ?? now - n * spacing;
    for (let i = 0; i < n; i++) {
      const seq = this.rows.length;
      const ms = from + i * spacing;
      const usec = BigInt(ms) * 1000n + BigInt(new Rng(seedOf(this.seed, 'us', seq)).int(0, 999));
      this.rows.push({ usec, seq, visible: Math.max(ms + (o.visibleDelayMs ?? 0), now) });
    }
  }

  /** Every row as the source delivers it (the decoded record). */
  records(): Array<Record<string, unknown>> {
    return this.rows.map((r) => decodeRow(GMAIL_SCHEMA.fields, this.rowF(r)));
  }

  protected statusError(status: number): SimReply {
    return googleStatusError(status, {
      401: 'Request is missing required authentication credential.',
      403: 'Access Denied',
      404: 'Not found',
      429: 'Exceeded rate limits: too many api requests per user per method for this user_method.',
    });
  }

  private invalid(message: string, reason = 'invalid'): SimReply {
    return googleError(400, message, 'INVALID_ARGUMENT', reason);
  }

  private query(req: SimRequest): SimReply {
    const auth = this.tokens.authenticate(req, SCOPES);
    if (!auth.ok) return auth.reply;
    if (req.params.project !== this.projectId)
      return googleError(404, `Not found: Project ${req.params.project}`, 'NOT_FOUND', 'notFound');
    if (!this.roles.has('roles/bigquery.jobUser'))
      return googleError(
        403,
        `Access Denied: Project ${this.projectId}: User does not have bigquery.jobs.create permission in project ${this.projectId}.`,
        'PERMISSION_DENIED',
        'accessDenied',
      );
    let body: Record<string, any>;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return this.invalid('Invalid JSON payload received.');
    }
    this.queries.push(body);
    if (body.useLegacySql !== false)
      return this.invalid(
        'Querying tables with a wildcard requires standard SQL (useLegacySql: false).',
        'invalidQuery',
      );
    if (body.location && String(body.location).toUpperCase() !== this.location.toUpperCase())
      return googleError(
        404,
        `Not found: Dataset ${this.projectId}:gmail_logs_dataset was not found in location ${body.location}`,
        'NOT_FOUND',
        'notFound',
      );
    const sql = String(body.query ?? '');
    const table = new RegExp(`\`${this.projectId}\\.gmail_logs_dataset\\.daily_\\*\``);
    if (!table.test(sql))
      return googleError(
        404,
        `Not found: Dataset ${this.projectId}:gmail_logs_dataset`,
        'NOT_FOUND',
        'notFound',
      );
    if (!this.roles.has('roles/bigquery.dataViewer'))
      return googleError(
        403,
        `Access Denied: Table ${this.projectId}:gmail_logs_dataset.daily_*: User does not have permission to query table ${this.projectId}:gmail_logs_dataset.daily_*, or perhaps it does not exist.`,
        'PERMISSION_DENIED',
        'accessDenied',
      );
    const params = new Map<string, string>();
    for (const p of Array.isArray(body.queryParameters) ? body.queryParameters : [])
      params.set(p?.name, String(p?.parameterValue?.value));
    const start = params.get('start_usec');
    const end = params.get('end_usec');
    const first = params.get('first_day');
    const last = params.get('last_day');
    if (!start || !end || !first || !last || !/^\d+$/.test(start) || !/^\d+$/.test(end))
      return this.invalid('Query parameter not found or not of the declared type.', 'invalidQuery');
    const day = (r: Row) => new Date(Number(r.usec / 1000n)).toISOString().slice(0, 10).replaceAll('-', '');
    const now = req.at;
    const scanned = this.rows.filter((r) => r.visible <= now && day(r) >= first && day(r) <= last);
    const bytes = scanned.length * ROW_BYTES;
    const rows = scanned
      .filter((r) => r.usec >= BigInt(start) && r.usec < BigInt(end))
      .sort((a, b) => (a.usec < b.usec ? -1 : a.usec > b.usec ? 1 : a.seq - b.seq));
    const jobReference = { projectId: this.projectId, location: this.location };
    if (body.dryRun === true)
      return json(200, {
        kind: 'bigquery#queryResponse',
        schema: GMAIL_SCHEMA,
        jobReference,
        totalBytesProcessed: String(bytes),
        jobComplete: true,
        cacheHit: false,
      });
    const limit = body.maximumBytesBilled === undefined ? undefined : Number(body.maximumBytesBilled);
    // On-demand pricing bills at least 10 MB per table referenced.
    const billed = Math.max(bytes, 10 * 1024 * 1024);
    if (limit !== undefined && billed > limit)
      return this.invalid(
        `Query exceeded limit for bytes billed: ${limit}. ${billed} or higher required.`,
        'bytesBilledLimitExceeded',
      );
    this.billed.push(billed);
    const job: Job = {
      id: `job_${new Rng(seedOf(this.seed, 'job', this.jobs.size)).base64url(20)}`,
      rows,
      polls: 0,
      bytes,
      createdAt: now,
    };
    this.jobs.set(job.id, job);
    return this.page(job, body.maxResults, undefined, 'bigquery#queryResponse');
  }

  private results(req: SimRequest): SimReply {
    const auth = this.tokens.authenticate(req, SCOPES);
    if (!auth.ok) return auth.reply;
    const job = this.jobs.get(req.params.job);
    if (!job || req.params.project !== this.projectId)
      return googleError(
        404,
        `Not found: Job ${req.params.project}:${this.location}.${req.params.job}`,
        'NOT_FOUND',
        'notFound',
      );
    const loc = req.query.get('location');
    if (loc && loc.toUpperCase() !== this.location.toUpperCase())
      return googleError(
        404,
        `Not found: Job ${req.params.project}:${loc}.${req.params.job}`,
        'NOT_FOUND',
        'notFound',
      );
    job.polls++;
    const max = req.query.get('maxResults');
    return this.page(
      job,
      max === null ? undefined : Number(max),
      req.query.get('pageToken') ?? undefined,
      'bigquery#getQueryResultsResponse',
    );
  }

  private page(job: Job, maxResults: number | undefined, token: string | undefined, kind: string): SimReply {
    const jobReference = { projectId: this.projectId, jobId: job.id, location: this.location };
    if (job.polls < this.pollsToComplete) return json(200, { kind, jobReference, jobComplete: false });
    let offset = 0;
    if (token) {
      const [id, at] = Buffer.from(token, 'base64url').toString('utf8').split(':');
      if (id !== job.id || !/^\d+$/.test(at ?? '')) return this.invalid('Invalid page token.');
      offset = Number(at);
    }
    const size = Math.max(1, Math.min(maxResults ?? 100_000, 100_000));
    const slice = job.rows.slice(offset, offset + size);
    let next = offset + size < job.rows.length ? offset + size : undefined;
    if (this.loopPages > 0 && token) {
      this.loopPages--;
      next = offset;
    }
    return json(200, {
      kind,
      schema: GMAIL_SCHEMA,
      jobReference,
      totalRows: String(job.rows.length),
      ...(next !== undefined ? { pageToken: Buffer.from(`${job.id}:${next}`).toString('base64url') } : {}),
      rows: slice.map((r) => this.rowF(r)),
      totalBytesProcessed: String(job.bytes),
      jobComplete: true,
      cacheHit: false,
    });
  }

  /** A row in BigQuery's `{f: [{v}]}` form, in GMAIL_SCHEMA's order. */
  private rowF(r: Row): { f: unknown[] } {
    const rng = new Rng(seedOf(this.seed, 'row', r.seq));
    const user = `user${rng.int(1, 40)}@example.com`;
    const other = `${rng.pick(['billing', 'news', 'alerts', 'ceo'])}@${rng.pick(['partner.example', 'vendor.example', 'example.com'])}`;
    const outbound = rng.int(0, 2) === 0;
    const v = (x: unknown) => ({
      v: x === undefined || x === null ? null : typeof x === 'object' ? x : String(x),
    });
    return {
      f: [
        v({
          f: [v(r.usec), v(rng.int(1000, 900_000)), v(true), v(rng.pick([1, 2, 3, 11]))],
        }),
        v({
          f: [
            v(`<${rng.hex(16)}@mail.example.com>`),
            v(rng.pick(['Invoice due', 'Quarterly report', 'Re: meeting', 'Your account'])),
            v({
              f: [
                v(outbound ? user : other),
                v(outbound ? user : other),
                v(outbound ? 'gmail-ui' : 'smtp-inbound'),
              ],
            }),
            { v: [v({ f: [v(outbound ? other : user), v(outbound ? 'smtp-outbound' : 'gmail-ui')] })] },
            v(rng.int(0, 20) === 0),
            v(rng.pick([1, 10, 20])),
            v(this.eventBytes ? 'x'.repeat(Math.max(0, this.eventBytes - 600)) : null),
          ],
        }),
      ],
    };
  }
}
