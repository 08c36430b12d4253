import { z } from 'zod';
import type { SalesforceAccount } from '../../accounts/salesforce.ts';
import { toIsoTime } from '../../core/envelope.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import {
  type ArtifactListCheckpoint,
  csvParts,
  downloadArtifact,
  readArtifactList,
} from '../../engine/artifact-list.ts';
import { withVendorUsage } from '../../engine/vendor-usage.ts';
import {
  API_VERSION,
  batchHeader,
  explainSalesforce,
  limitInfo,
  queryRequest,
  restBase,
  salesforceRateLimited,
  soqlTime,
} from '../salesforce-api.ts';

/**
 * Salesforce Event Monitoring log files (shared REST facts in ../salesforce-api.ts). Vendor facts (Object
 * Reference, "EventLogFile"; REST API Developer Guide, "Using Event Monitoring", "Differences Between Hourly
 * and 24-Hour Event Logs", "Query Hourly Event Log Files"):
 *
 * - `EventLogFile` rows: `Id`, `EventType` (Login, API, ReportExport, URI, LightningPageView, …), `LogDate`
 *   (the start of the period the file covers), `Interval` (`Hourly` or `Daily`), `Sequence` (the file's
 *   number in its hour; 0 for 24-hour files), `LogFileLength`, `CreatedDate` ("tracks when the log file was
 *   generated"); the CSV itself at `GET /services/data/vXX.X/sobjects/EventLogFile/<Id>/LogFile`, its first
 *   row naming the fields (`LogFileFieldNames`), every value quoted.
 * - Lateness: "daily log files are generated during nonpeak hours the day after an event takes place"; for
 *   hourly files "expect an event to take 3–6 hours from the time of the event to be available in the log
 *   file. However, it can take longer", and "log files can be created within three days of generation".
 *   Files are therefore listed by `CreatedDate`, not `LogDate`: a file for an old hour that appears late
 *   is still after the position.
 * - Access: "View Event Log Files" and "API Enabled" ("Special Access Rules"; View All Data also sees
 *   them). Hourly files and 30 days of them need the Event Monitoring add-on; without it an org gets 24-hour
 *   files of a few event types kept one day (Salesforce Help, "Event Monitoring").
 *
 * How it reads (engine: artifact list). The listing after a position asks `WHERE CreatedDate >= <after>
 * AND CreatedDate < <now − 1 min> [AND Interval = …] [AND EventType IN (…)] ORDER BY CreatedDate ASC, Id ASC`
 * (whole seconds, so files at exactly `after` come back and are skipped by id: the checkpoint's `done`);
 * each file is downloaded to a temporary file and streamed through the CSV decoder, its rows delivered in
 * parts with the position inside the file, so a file of any size takes bounded memory and a restart
 * resumes inside it. Event ids are `<file Id>:<row number>`; times from `TIMESTAMP_DERIVED`, else
 * `TIMESTAMP` (`YYYYMMDDhhmmss.SSS`, UTC). The org's allowance (`Sforce-Limit-Info`) rides in the
 * checkpoint as with the `salesforce` source.
 */

export interface EventLogSettings {
  interval: 'Hourly' | 'Daily';
  eventTypes?: string[];
  batchSize: number;
  baseUrl?: string;
}

const settings = z
  .object({
    interval: z
      .enum(['Hourly', 'Daily'])
      .default('Hourly')
      .meta({ title: 'Files' })
      .describe(
        'Hourly files (Event Monitoring add-on; available 3–6 hours after the events) or 24-hour files (the day after). Both hold the same events: choose one.',
      ),
    eventTypes: z
      .array(z.string().regex(/^[A-Za-z]+$/, 'expected an EventType such as Login, API or ReportExport'))
      .min(1)
      .optional()
      .meta({ title: 'Event types' })
      .describe('Only these EventType values (e.g. Login, Logout, API, ReportExport, URI); all when empty'),
    batchSize: z
      .number()
      .int()
      .min(200)
      .max(2000)
      .default(2000)
      .meta({ title: 'Files listed per batch' })
      .describe('EventLogFile rows asked for per query batch (200 to 2000)'),
  })
  .strict();

/** How far behind now the listing ends: files committed a little after their CreatedDate. */
const LIST_LAG_MS = 60_000;
const RETENTION = '30d';
/**
 * Rows per part, and CSV bytes. A part is read only once the one before it is delivered (`readAhead: 0`)
 * and let go when committed, so it dies in V8's young generation instead of filling the old one (README,
 * Performance: 20–40 MB less at the peak of a 1 GB file). That holds while a part stays well under what
 * the young generation takes between two collections (about 300 rows of 2 KB on the bench): 384 KB.
 */
const BATCH_EVENTS = 250;
const BATCH_BYTES = 384 * 1024;
const DOWNLOAD_TIMEOUT_MS = 30 * 60_000;

interface LogFileRow {
  Id: string;
  EventType: string;
  LogDate: string;
  Interval: string;
  Sequence: number;
  CreatedDate: string;
}

/** The listing's SOQL after a position (an ISO time), up to `until`. */
export function listingQuery(
  s: Pick<EventLogSettings, 'interval' | 'eventTypes'>,
  after: string,
  until: number,
): string {
  const types = s.eventTypes?.length
    ? ` AND EventType IN (${s.eventTypes.map((t) => `'${t}'`).join(', ')})`
    : '';
  return `SELECT Id, EventType, LogDate, Interval, Sequence, LogFileLength, CreatedDate FROM EventLogFile WHERE CreatedDate >= ${soqlTime(Date.parse(after))} AND CreatedDate < ${soqlTime(until)} AND Interval = '${s.interval}'${types} ORDER BY CreatedDate ASC, Id ASC`;
}

/** `TIMESTAMP_DERIVED` (ISO), else `TIMESTAMP` (`20261207050000.123`, UTC). */
function rowTime(row: Record<string, string>): string | undefined {
  const derived = toIsoTime(row.TIMESTAMP_DERIVED);
  if (derived) return derived;
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\.\d+)?$/.exec(row.TIMESTAMP ?? '');
  return m ? toIsoTime(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}Z`) : undefined;
}

const stream: StreamDef<EventLogSettings, SalesforceAccount, ArtifactListCheckpoint> = withVendorUsage(
  {
    title: 'Event log files (EventLogFile)',
    description:
      'Event Monitoring log files: one record per CSV row (logins, API calls, report exports, page views, …), the fields named by the file header.',
    // The file is on disk once downloaded: nothing to wait for that reading ahead would hide.
    readAhead: 0,
    read: (ctx) => {
      const base = restBase(ctx.settings, ctx.account);
      const headers = batchHeader(ctx.settings.batchSize);
      return readArtifactList<LogFileRow>(ctx, {
        retention: RETENTION,
        what: 'event log files',
        list: async (after) => {
          const r = queryRequest(base, listingQuery(ctx.settings, after, ctx.now() - LIST_LAG_MS));
          const { body } = await ctx.http.getJson(r.url, r.query, headers);
          const files = (Array.isArray(body?.records) ? body.records : []) as LogFileRow[];
          const last = files.at(-1);
          return {
            artifacts: files,
            // Not done: the next listing starts at the last file's CreatedDate (files there skipped by id).
            hasMore: body?.done === false,
            last: last ? toIsoTime(last.CreatedDate) : undefined,
          };
        },
        id: (f) => f.Id,
        position: (f) => toIsoTime(f.CreatedDate) ?? f.CreatedDate,
        fetch: (f, skip) =>
          csvParts(
            downloadArtifact(ctx, {
              url: `${base}/services/data/${API_VERSION}/sobjects/EventLogFile/${encodeURIComponent(f.Id)}/LogFile`,
              label: `Event log file ${f.Id} (${f.EventType}, ${f.Interval} ${f.LogDate})`,
              // LogFileLength reaches gigabytes for busy orgs: minutes to download, not the usual minute.
              timeoutMs: DOWNLOAD_TIMEOUT_MS,
            }),
            {
              skip,
              label: `event log file ${f.Id}`,
              maxEvents: BATCH_EVENTS,
              maxBytes: BATCH_BYTES,
              // The file's id and the row's place: unique by construction.
              event: (row, index) => ({
                raw: row,
                id: `${f.Id}:${index + 1}`,
                time: rowTime(row),
                positional: true,
              }),
            },
          ),
      });
    },
  },
  limitInfo,
);

export default defineSource<EventLogSettings, SalesforceAccount>({
  id: 'salesforce-eventlog',
  title: 'Salesforce Event Monitoring',
  account: 'salesforce',
  stability: 'early-access',
  family: 'files',
  description:
    'Salesforce Event Monitoring log files (EventLogFile): logins, API calls, report exports, page views and 60+ more event types, one record per CSV row.',
  setupGuide: [
    '1. Set up the integration user and connected app as for the **Salesforce** source (steps 1–2 there) and',
    '   reuse its Salesforce account.',
    '2. Give the integration user a permission set with **API Enabled** and **View Event Log Files** (Setup →',
    '   Permission Sets → System Permissions).',
    '3. Hourly files and 30 days of retention need the **Event Monitoring** add-on (Salesforce Shield or Event',
    '   Monitoring license). Without it, choose `interval: Daily`: the org then gets 24-hour files of a few event',
    '   types (Login, Logout, API Total Usage, Insecure External Assets) kept one day, so the collector must run daily.',
    '4. Optionally list the event types to collect (`eventTypes`: Login, API, ReportExport, URI, …).',
    '',
    'Files arrive late by design: hourly files 3–6 hours (sometimes more) after the events, 24-hour files the next',
    'day. Tributary lists files by when they were generated, so late files are never skipped. Each file is',
    'streamed row by row; a file of any size takes bounded memory.',
    '',
    'Early access: the event types and retention without the add-on come from Salesforce Help, which changes',
    'them between releases; Test Connection checks the permission.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<EventLogSettings>,
  retention: RETENTION,
  streams: { EventLogFile: stream },
  explain: (ctx) =>
    explainSalesforce(
      ctx,
      () =>
        'give its profile or a permission set “API Enabled” and “View Event Log Files” (setup guide, step 2); hourly files also need the Event Monitoring add-on.',
    ),
  rateLimited: salesforceRateLimited,
  async test({ settings: s, account, http }) {
    // Proves the credentials, API access and View Event Log Files: one EventLogFile row.
    const r = queryRequest(
      restBase(s, account),
      'SELECT Id FROM EventLogFile ORDER BY CreatedDate DESC LIMIT 1',
    );
    await http.getJson(r.url, r.query);
  },
});
