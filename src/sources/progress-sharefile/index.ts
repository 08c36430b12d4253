import { z } from 'zod';
import { type ShareFileAccount, shareFileApiUrl } from '../../accounts/progress-sharefile.ts';
import { toIsoTime } from '../../core/envelope.ts';
import { transientError } from '../../core/errors.ts';
import {
  type Batch,
  defineSource,
  type RawEvent,
  type ReadContext,
  type StreamDef,
} from '../../core/source.ts';

/**
 * Progress ShareFile account activity, read from the runs of a recurring Activity report. Vendor facts
 * (api.sharefile.com: "Reports" — Get all Records by Report ID, Get Report Record by ID; models
 * "ShareFile.Api.Models.Report" and "ShareFile.Api.Models.ReportRecord"; "API Base URL"):
 *
 * - API root `https://{subdomain}.sf-api.com/sf/v3/`, OData answers (`value` lists).
 * - A Report is a configuration (ReportType `Activity`, ActivityTypes such as Login, LoginFail, Download,
 *   Upload, Item_Delete, Move, …; ObjectType Account; DateOption such as Yesterday; IsRecurring); each
 *   execution is a ReportRecord with `StartDate`/`EndDate` (the range it covers) and `StartRunTime`/
 *   `EndRunTime` (when it ran).
 * - `GET Reports({id})/Records` lists a report's records; `GET Reports/Record({id})/GetJsonData` gives a
 *   finished record's data as JSON.
 *
 * How it reads (read-only). Creating or running a report (`POST Reports`, `Reports({id})/Execute`) changes
 * the account, so the collector does not: an admin creates a recurring Activity report in ShareFile and the
 * collector reads each record that finished since the last run, in the order they finished. The checkpoint
 * is the last finished record's `EndRunTime` with the ids finished at that instant, and inside a record
 * the rows already delivered. Ids are `{recordId}:{row}` (a finished record's data does not change).
 *
 * Low public confidence, assumed: the shape of GetJsonData (a JSON array of rows, or `{value: [...]}`),
 * the row fields (`ActivityDate`, `UserEmail`, `Activity`, `ItemName`, `IPAddress`, as the Activity report's
 * columns); that a record without `EndRunTime` is still running; how long records are kept; rate limits.
 */

export interface ShareFileSettings {
  reportId: string;
  baseUrl?: string;
}

const settings = z
  .object({
    reportId: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9-]{8,64}$/,
        'expected the Id of the recurring Activity report (a GUID such as rs24f83e-…)',
      )
      .meta({ title: 'Report ID' })
      .describe('Id of the recurring Activity report the collector reads (setup guide)'),
  })
  .strict();

const api = (s: ShareFileSettings, a: ShareFileAccount) =>
  (s.baseUrl ?? shareFileApiUrl(a)).replace(/\/+$/, '');

export interface ShareFileCheckpoint {
  /** EndRunTime (ISO) of the newest record fully delivered. */
  after?: string;
  /** Records finished at `after`, fully delivered. */
  done: string[];
  /** The record being delivered and how many of its rows were. */
  record?: { id: string; rows: number };
}

const PART = 1000;

interface ReportRecord {
  Id: string;
  StartDate?: string;
  EndDate?: string;
  EndRunTime?: string | null;
}

export const rowTime = (row: any) => toIsoTime(row?.ActivityDate ?? row?.Date);

async function* readActivity(
  ctx: ReadContext<ShareFileSettings, ShareFileAccount>,
): AsyncGenerator<Batch<ShareFileCheckpoint>> {
  const s = ctx.settings;
  const base = api(s, ctx.account);
  let cp: ShareFileCheckpoint = (ctx.checkpoint as ShareFileCheckpoint | undefined) ?? { done: [] };
  const firstFrom = ctx.window.start ? Date.parse(ctx.window.start) : ctx.now() - ctx.window.lookbackMs;
  const { body } = await ctx.http.getJson(`${base}/Reports(${encodeURIComponent(s.reportId)})/Records`);
  const listed: unknown = body?.value;
  if (!Array.isArray(listed))
    throw transientError(
      'unexpected_response',
      `ShareFile's answer listed no report records for ${ctx.stream}.`,
      'Check the API URL and the report ID; Tributary retries on the next run.',
    );
  const finished = (listed as ReportRecord[])
    .filter(
      (r) =>
        typeof r?.Id === 'string' &&
        typeof r.EndRunTime === 'string' &&
        Number.isFinite(Date.parse(r.EndRunTime)),
    )
    .map((r) => ({ ...r, end: Date.parse(r.EndRunTime!) }))
    .sort((a, b) => a.end - b.end || a.Id.localeCompare(b.Id));
  const after = cp.after ? Date.parse(cp.after) : undefined;
  const todo = finished.filter((r) =>
    after === undefined
      ? // First run: the records covering the lookback (their range ends after its start).
        Date.parse(r.EndDate ?? r.EndRunTime!) >= firstFrom
      : r.end > after || (r.end === after && !cp.done.includes(r.Id)),
  );
  for (const record of todo) {
    ctx.signal.throwIfAborted();
    const { body: data } = await ctx.http.getJson(
      `${base}/Reports/Record(${encodeURIComponent(record.Id)})/GetJsonData`,
    );
    const rows: unknown = Array.isArray(data) ? data : data?.value;
    if (!Array.isArray(rows))
      throw transientError(
        'unexpected_response',
        `ShareFile's data of report record ${record.Id} is not a list of rows.`,
        'Tributary retries on the next run; if it repeats, check that the report is an Activity report.',
      );
    const skip = cp.record?.id === record.Id ? cp.record.rows : 0;
    const endIso = new Date(record.end).toISOString();
    const doneAfter = cp.after === endIso ? [...cp.done, record.Id] : [record.Id];
    for (let at = skip; at < rows.length || at === skip; at += PART) {
      const slice = rows.slice(at, at + PART);
      const events: RawEvent[] = slice.map((raw, i) => ({
        raw,
        id: `${record.Id}:${at + i}`,
        time: rowTime(raw),
      }));
      const last = at + PART >= rows.length;
      const next: ShareFileCheckpoint = last
        ? { after: endIso, done: doneAfter }
        : { after: cp.after, done: cp.done, record: { id: record.Id, rows: at + slice.length } };
      yield { events, checkpoint: next, pages: last ? 1 : 0 };
      if (last) break;
    }
    cp = { after: endIso, done: doneAfter };
  }
  if (!todo.length) yield { events: [], checkpoint: cp, pages: 1 };
}

const activity: StreamDef<ShareFileSettings, ShareFileAccount, ShareFileCheckpoint> = {
  title: 'Activity',
  description:
    'Account activity from a recurring Activity report: logins and failed logins, downloads, views, uploads, deletes, moves, shares.',
  read: readActivity,
};

export default defineSource<ShareFileSettings, ShareFileAccount>({
  id: 'progress-sharefile',
  title: 'Progress ShareFile',
  account: 'progress-sharefile',
  stability: 'early-access',
  family: 'files',
  description:
    'Progress ShareFile account activity (logins, downloads, uploads, deletes, moves, shares) from the runs of a recurring Activity report.',
  setupGuide: [
    '1. Get an API key: sign in at **api.sharefile.com → Get an API Key** with a ShareFile admin, and copy the',
    '   **Client ID** and **Client Secret**.',
    '2. Use (or create) a ShareFile **admin user** for the collector, without two-step verification (the password',
    '   grant cannot answer a second factor), allowed to see reports.',
    '3. In ShareFile, as that admin: **Admin Settings → Reporting → Create Report**: type **Activity**, the whole',
    '   account, the activity types to collect, date range **Yesterday**, **recurring daily**. Save it and copy its',
    '   **Id** (the `id` in the report’s URL, or `GET /sf/v3/Reports` with the API key).',
    '4. Create a **Progress ShareFile** account in Tributary with the subdomain (acme for acme.sharefile.com), the',
    '   Client ID and Secret, and the user’s email and password; then a collector with the report ID.',
    '',
    'Tributary only reads: it never creates or runs reports, it reads the runs ShareFile makes on schedule, so',
    'events arrive once a day, after each run.',
    '',
    'Early access, low public confidence. Not confirmed by ShareFile’s public documentation: that new API keys may',
    'use the password grant; the shape of a report run’s JSON data and its row fields; how long runs are kept; rate',
    'limits (Tributary sends at most 2 requests a second); the console path in step 3.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<ShareFileSettings>,
  streams: { activity: activity as StreamDef<ShareFileSettings, ShareFileAccount> },
  explain({ status }) {
    if (status === 401)
      return {
        code: 'sharefile_invalid_token',
        action:
          'ShareFile refused a freshly issued token: check the account’s subdomain and that the user is still active.',
      };
    if (status === 403)
      return {
        code: 'sharefile_forbidden',
        action:
          'The user may not read this report: use an admin user allowed to see reports (Admin Settings → Reporting).',
      };
    if (status === 404)
      return {
        code: 'sharefile_report_not_found',
        action:
          'No report with this ID: check the collector’s report ID (setup guide, step 3) and the subdomain.',
      };
    return undefined;
  },
  async test({ settings: s, account, http }) {
    // Proves the API key, the user, and the right to read the report.
    await http.getJson(`${api(s, account)}/Reports(${encodeURIComponent(s.reportId)})`);
  },
});
