import { z } from 'zod';
import {
  checkAccountFor,
  explainGoogleCommon,
  type GoogleAccount,
  googleErrorOf,
  LOGGING_API,
} from '../accounts/google.ts';
import type { ErrorInfo } from '../core/errors.ts';
import type { HttpClient, StreamDef, VendorErrorContext } from '../core/source.ts';
import { baseUrlSetting, durationSetting } from '../core/validation.ts';
import { jsonBodyField, paginate } from '../engine/paginate.ts';
import { restPoll } from '../engine/rest-poll.ts';

/**
 * The Cloud Logging reader shared by the sources that read `entries.list` (gemini-enterprise,
 * gcp-cloud-logging). Vendor facts:
 *
 * - cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list: POST https://logging.googleapis.com/v2/entries:list
 *   with {resourceNames: ["projects/P" | "organizations/O" | "folders/F" | "billingAccounts/B" | a log
 *   view], filter (≤ 20,000 characters), orderBy: "timestamp asc" (default) | "timestamp desc", pageSize
 *   (default 50; negative or above 1000 is rejected), pageToken}; answer {entries[], nextPageToken}. "If a
 *   value for nextPageToken appears and the entries field is empty, it means that the search found no log
 *   entries so far but it did not have time to search all the possible log entries. Retry the method with
 *   this value for page_token." The method only reads: it is sent as a read-only POST.
 * - LogEntry.insertId: "Logging considers other log entries in the same project, with the same
 *   timestamp, and with the same insert_id to be duplicates"; a writer may supply its own. So insertId
 *   is unique only per project and timestamp: the envelope id is `{logName}/{timestamp}/{insertId}`
 *   (logName carries the project, folder or organization): the same entry always gets the same id, and
 *   two entries that reuse an insertId at different times (which Logging keeps apart) are not merged.
 * - cloud.google.com/logging/quotas ("API usage limits"): "Number of entries.list requests: 60 per
 *   minute, per Google Cloud project" (the google account kind's budget keeps under it); "Lifetime of API
 *   page tokens: 24 hours"; Admin Activity audit logs are kept 400 days (_Required bucket), Data Access
 *   and other logs 30 days (_Default).
 * - cloud.google.com/logging/docs/access-control: roles/logging.viewer reads logs but Data Access audit
 *   logs, which need roles/logging.privateLogViewer (a 403 names `logging.privateLogEntries.list`).
 *
 * Reading (engine `restPoll`, a read-only POST with the page token in the body): oldest first, windows
 * [since − overlap, now − lag) filtered on `timestamp` (entries can be received after their timestamp,
 * hence the lag; the collector's `lag` setting wins), paged with pageToken inside a run. The checkpoint is
 * the time-window cursor: `since` advances to the newest timestamp delivered, and entries at that
 * timestamp are remembered as boundary ids (the insertId de-duplication at a window's edge), so a restart
 * re-queries from `since` without a page token (tokens expire after 24 h). A body cut off after the
 * headers is retried by the shared HTTP client.
 */

export const LOGGING_ROOT = 'https://logging.googleapis.com';
const HEADERS = { accept: 'application/json' };
const DEFAULT_LAG = '3m';
const MAX_WINDOW = '1d';

/** The settings every Cloud Logging source has: the lag, the page size and the base URL. */
export const LOGGING_SETTINGS = {
  lag: durationSetting('3m or 1h')
    .optional()
    .describe(
      `How far behind now a window ends (default ${DEFAULT_LAG}): entries can be received after their timestamp`,
    )
    .meta({ title: 'Lag' }),
  pageSize: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(1000)
    .describe('Entries per page (up to 1000)')
    .meta({ title: 'Entries per page' }),
  baseUrl: baseUrlSetting(),
};

export const listUrl = (baseUrl: string | undefined) =>
  `${(baseUrl ?? LOGGING_ROOT).replace(/\/+$/, '')}/v2/entries:list`;

interface LogEntry {
  logName?: unknown;
  timestamp?: unknown;
  insertId?: unknown;
  [k: string]: unknown;
}

/** The envelope id of an entry (see the header comment), or undefined when it lacks a part. */
export function entryId(e: LogEntry): string | undefined {
  const { logName, timestamp, insertId } = e ?? {};
  if (
    typeof logName !== 'string' ||
    typeof timestamp !== 'string' ||
    typeof insertId !== 'string' ||
    !insertId
  )
    return undefined;
  return `${logName}/${timestamp}/${insertId}`;
}

/** The entries.list body of a query (see the header comment), as sent. */
export function listBody(resourceNames: string[], filter: string, pageSize: number): string {
  return JSON.stringify({ resourceNames, filter, orderBy: 'timestamp asc', pageSize });
}

/** What a source says about one Cloud Logging stream; the rest is the shared reader. */
export interface LoggingStream<S> {
  title: string;
  description: string;
  /** The resources read (projects/P, folders/F, organizations/O). */
  resourceNames(s: S): string[];
  /** The stream's Logging query, without the time bounds. */
  filter(s: S): string;
  pageSize(s: S): number;
  baseUrl(s: S): string | undefined;
  /** The collector's lag setting, if any (default 3 minutes). */
  lag(s: S): string | undefined;
  retention: string;
}

export function loggingStream<S>(d: LoggingStream<S>): StreamDef<S, GoogleAccount> {
  return restPoll<S, GoogleAccount>({
    title: d.title,
    description: d.description,
    check: ({ account }) => checkAccountFor(account, LOGGING_API),
    method: 'POST',
    url: ({ settings: s }) => listUrl(d.baseUrl(s)),
    request: ({ settings: s }, w) => ({
      url: listUrl(d.baseUrl(s)),
      body: listBody(
        d.resourceNames(s),
        `${d.filter(s)} AND timestamp>="${w.start.toISOString()}" AND timestamp<"${w.end.toISOString()}"`,
        d.pageSize(s),
      ),
    }),
    headers: () => HEADERS,
    // `entries` is left out of a page without entries.
    records: (body) => body?.entries ?? [],
    // An empty page with a token is Logging saying "not done searching": the loop guard tolerates a few.
    paginate: paginate.cursor({ place: jsonBodyField('pageToken'), from: 'nextPageToken' }),
    // Oldest first: the checkpoint never stores a page token (they expire after 24 h).
    cursor: { time: 'timestamp', order: 'asc', lag: DEFAULT_LAG, maxWindow: MAX_WINDOW },
    lagSetting: d.lag,
    retention: d.retention,
    eventId: entryId,
    missingId: 'log entry has no logName, timestamp or insertId',
  });
}

/**
 * Test Connection of a Cloud Logging stream: one entry of the last hour, which proves the token, the
 * API being enabled and the role on each resource (a 403 is explained by `explainLogging`).
 */
export async function probeLogging(
  http: HttpClient,
  baseUrl: string | undefined,
  resourceNames: string[],
  filter: string,
): Promise<void> {
  const since = new Date(Date.now() - 3_600_000).toISOString();
  await http.requestJson({
    method: 'POST',
    readOnly: true,
    url: listUrl(baseUrl),
    headers: { 'content-type': 'application/json', ...HEADERS },
    body: listBody(resourceNames, `${filter} AND timestamp>="${since}"`, 1),
  });
}

/**
 * Cloud Logging's errors as codes and actions; `where` names what the roles are granted on (e.g. "the
 * Gemini Enterprise project"), `dataAccessHint` what to do when Data Access logs are not wanted.
 */
export function explainLogging(o: {
  where: string;
  dataAccessHint: string;
  settingsHint: string;
}): (c: VendorErrorContext) => Partial<ErrorInfo> | undefined {
  return ({ status, body, message }) => {
    const e = googleErrorOf(body);
    const said = e.message || message;
    const common = explainGoogleCommon(status, e, {
      name: 'Cloud Logging API',
      service: 'logging.googleapis.com',
    });
    if (common) return common;
    if (status === 403 && /privateLogEntries/i.test(said)) {
      return {
        code: 'google_private_logs_denied',
        action: `Reading Data Access audit logs needs the Private Logs Viewer role (roles/logging.privateLogViewer) for the service account on ${o.where}; grant it or ${o.dataAccessHint}.`,
      };
    }
    if (status === 403) {
      return {
        code: 'google_logging_denied',
        action: `The service account may not read these logs: grant it Logs Viewer (roles/logging.viewer) on ${o.where}, and check ${o.settingsHint}. Google said: ${said}`,
      };
    }
    if (status === 400) {
      return {
        code: 'google_bad_request',
        action: `Cloud Logging refused the query: check ${o.settingsHint} and the collector's filter setting. Google said: ${said}`,
      };
    }
    if (status === 404) {
      return {
        code: 'google_not_found',
        action: `Check ${o.settingsHint} and the base URL (the Cloud Logging API root, ${LOGGING_ROOT}).`,
      };
    }
    return undefined;
  };
}
