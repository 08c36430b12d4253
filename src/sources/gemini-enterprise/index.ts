import { z } from 'zod';
import {
  checkAccountFor,
  type GoogleAccount,
  googleErrorOf,
  isApiDisabled,
  LOGGING_API,
} from '../../accounts/google.ts';
import { parseDuration } from '../../core/duration.ts';
import { defineSource, type StreamDef, streamsInSettings } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { jsonBodyField, paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Gemini Enterprise (Google Cloud; formerly Agentspace) — Cloud Logging `entries.list`. Vendor facts:
 *
 * - cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list: POST https://logging.googleapis.com/v2/entries:list
 *   with {resourceNames: ["projects/P"], filter (≤ 20,000 characters), orderBy: "timestamp asc" (default)
 *   | "timestamp desc", pageSize (default 50; negative or above 1000 is rejected), pageToken}; answer
 *   {entries[], nextPageToken}. "If a value for nextPageToken appears and the entries field is empty, it
 *   means that the search found no log entries so far but it did not have time to search all the
 *   possible log entries. Retry the method with this value for page_token." The method only reads: it is
 *   sent as a read-only POST.
 * - LogEntry.insertId: "Logging considers other log entries in the same project, with the same
 *   timestamp, and with the same insert_id to be duplicates"; a writer may supply its own. So insertId
 *   is unique only per project and timestamp: the envelope id is `{logName}/{timestamp}/{insertId}`
 *   (logName carries the project): the same entry always gets the same id, and two entries that reuse an
 *   insertId at different times (which Logging keeps apart) are not merged.
 * - cloud.google.com/logging/quotas: entries.list is limited to 60 requests a minute per project (not
 *   raisable; see the google account kind's budget); "Lifetime of API page tokens: 24 hours"; Admin
 *   Activity audit logs are kept 400 days (_Required bucket), Data Access and other logs 30 days (_Default).
 * - docs.cloud.google.com/gemini/enterprise/docs/set-up-usage-audit-logs: usage audit logs exist once
 *   observability is turned on for the app (ObservabilityConfig; roles/discoveryengine.admin or
 *   agentspaceAdmin); reading needs roles/logging.viewer; prompt and response text only when "Enable
 *   logging of prompt inputs and response outputs" is on (else "<elided>"). Log name
 *   projects/P/logs/discoveryengine.googleapis.com%2Fgemini_enterprise_user_activity, payload
 *   jsonPayload.logMetadata.{serviceName, methodName}, jsonPayload.request/response, userIamPrincipal.
 * - docs.cloud.google.com/gemini/enterprise/docs/audit-logging: Cloud Audit Logs with
 *   protoPayload.serviceName="discoveryengine.googleapis.com"; ADMIN_WRITE methods in Admin Activity
 *   (always on, cloudaudit.googleapis.com%2Factivity), ADMIN_READ / DATA_READ / DATA_WRITE (StreamAssist,
 *   Search, AddContextFile, …) in Data Access (must be enabled, cloudaudit.googleapis.com%2Fdata_access),
 *   which needs roles/logging.privateLogViewer to read.
 *
 * Reading (engine `restPoll`, a read-only POST with the page token in the body): oldest first, windows
 * [since − overlap, now − lag) filtered on `timestamp` (entries can be received after their timestamp,
 * hence the lag; the collector's `lag` setting wins), paged with pageToken inside a run. The checkpoint is
 * the time-window cursor: `since` advances to the newest timestamp delivered, and entries at that
 * timestamp are remembered as boundary ids, so a restart re-queries from `since` without a page token
 * (tokens expire after 24 h). A body cut off after the headers is retried by the shared HTTP client.
 */

export const LOGS = {
  'user-activity': {
    title: 'User activity (usage audit log)',
    description:
      'Gemini Enterprise usage audit log: Assist, StreamAssist, Search and agent calls with their requests and responses (prompt text only when prompt logging is on).',
    filter: (p: string) =>
      `logName="projects/${p}/logs/discoveryengine.googleapis.com%2Fgemini_enterprise_user_activity"`,
    retention: '30d',
  },
  'admin-activity': {
    title: 'Admin Activity audit logs',
    description:
      'Cloud Audit Logs of configuration changes to Gemini Enterprise (discoveryengine.googleapis.com).',
    filter: (p: string) =>
      `logName="projects/${p}/logs/cloudaudit.googleapis.com%2Factivity" AND protoPayload.serviceName="discoveryengine.googleapis.com"`,
    retention: '400d',
  },
  'data-access': {
    title: 'Data Access audit logs',
    description:
      'Cloud Audit Logs of Gemini Enterprise reads and assistant calls (must be enabled; reading needs Private Logs Viewer).',
    filter: (p: string) =>
      `logName="projects/${p}/logs/cloudaudit.googleapis.com%2Fdata_access" AND protoPayload.serviceName="discoveryengine.googleapis.com"`,
    retention: '30d',
  },
} as const;
export type LogStream = keyof typeof LOGS;
const LOG_IDS = Object.keys(LOGS) as [LogStream, ...LogStream[]];

const DEFAULT_LAG = '3m';
const MAX_WINDOW = '1d';
const HEADERS = { accept: 'application/json' };

const settings = z
  .object({
    projectId: z
      .string({ error: 'required: the Google Cloud project of the Gemini Enterprise app' })
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'expected a Google Cloud project ID such as acme-gemini-prod')
      .describe('Google Cloud project ID that hosts the Gemini Enterprise app (its logs)')
      .meta({ title: 'Project ID' }),
    logs: z
      .array(z.enum(LOG_IDS))
      .min(1)
      .optional()
      .meta({ title: 'Logs (older configs)', deprecated: true })
      .describe(
        "Older configs chose the logs here; they are the collector's streams now, and a list given here is stored as the streams",
      ),
    filter: z
      .string()
      .max(10_000)
      .optional()
      .describe(
        'Optional extra Logging query ANDed to every stream, e.g. jsonPayload.logMetadata.methodName!="Search"',
      )
      .meta({ title: 'Extra Logging query' }),
    lag: z
      .string()
      .refine(
        (v) => {
          try {
            parseDuration(v);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'expected a duration such as 3m or 1h' },
      )
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
  })
  .strict();

export type GeminiSettings = z.infer<typeof settings>;

const listUrl = (s: GeminiSettings) =>
  `${(s.baseUrl ?? 'https://logging.googleapis.com').replace(/\/+$/, '')}/v2/entries:list`;

export function streamFilter(s: GeminiSettings, log: LogStream): string {
  return `${LOGS[log].filter(s.projectId)}${s.filter ? ` AND (${s.filter})` : ''}`;
}

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
export function listBody(s: GeminiSettings, filter: string, pageSize: number): string {
  return JSON.stringify({
    resourceNames: [`projects/${s.projectId}`],
    filter,
    orderBy: 'timestamp asc',
    pageSize,
  });
}

function stream(log: LogStream): StreamDef<GeminiSettings, GoogleAccount> {
  return restPoll<GeminiSettings, GoogleAccount>({
    title: LOGS[log].title,
    description: LOGS[log].description,
    check: ({ account }) => checkAccountFor(account, LOGGING_API),
    method: 'POST',
    url: ({ settings: s }) => listUrl(s),
    request: ({ settings: s }, w) => ({
      url: listUrl(s),
      body: listBody(
        s,
        `${streamFilter(s, log)} AND timestamp>="${w.start.toISOString()}" AND timestamp<"${w.end.toISOString()}"`,
        s.pageSize,
      ),
    }),
    headers: () => HEADERS,
    // `entries` is left out of a page without entries.
    records: (body) => body?.entries ?? [],
    // An empty page with a token is Logging saying "not done searching": the loop guard tolerates a few.
    paginate: paginate.cursor({ place: jsonBodyField('pageToken'), from: 'nextPageToken' }),
    // Oldest first: the checkpoint never stores a page token (they expire after 24 h).
    cursor: { time: 'timestamp', order: 'asc', lag: DEFAULT_LAG, maxWindow: MAX_WINDOW },
    lagSetting: (s) => s.lag,
    retention: LOGS[log].retention,
    eventId: entryId,
    missingId: 'log entry has no logName, timestamp or insertId',
  });
}

export default defineSource<GeminiSettings, GoogleAccount>({
  id: 'gemini-enterprise',
  title: 'Gemini Enterprise',
  account: 'google',
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'Gemini Enterprise (Google Cloud, formerly Agentspace) from Cloud Logging: the usage audit log of assistant, search and agent calls, and the discoveryengine.googleapis.com Admin Activity and Data Access audit logs.',
  setupGuide: [
    'You need the Google Cloud project that hosts the Gemini Enterprise app.',
    '1. **Turn on usage audit logging** for the app (observabilityConfig, with roles/discoveryengine.admin or',
    '   Gemini Enterprise Admin). Prompts and answers are logged only if you also enable "logging of prompt inputs',
    '   and response outputs"; Tributary forwards what Google logs, so decide this with your privacy team.',
    '2. For the **data-access** stream: IAM & Admin → Audit Logs → **Discovery Engine API** → enable Data Read (and',
    '   Admin Read / Data Write as needed). Admin Activity audit logs are always on.',
    '3. In the project that will own the service account, enable the **Cloud Logging API** (APIs & Services → Library).',
    '4. **IAM & Admin → Service accounts → Create service account**; then **Keys → Add key → JSON**.',
    '5. On the Gemini Enterprise project grant the service account **Logs Viewer** (`roles/logging.viewer`) and,',
    '   for Data Access audit logs, **Private Logs Viewer** (`roles/logging.privateLogViewer`).',
    '6. Create a **Google** account in Tributary with the key file (`serviceAccountKey: ${file:key.json}`); no subject',
    '   is needed (Cloud Logging is read as the service account), then this collector with the project ID.',
    'Cloud Logging allows 60 entries.list requests a minute per project: keep pageSize at 1000 and share one account',
    'per project. Usage logs and Data Access logs are kept 30 days by default.',
  ].join('\n'),
  settings,
  retention: '30d',
  streams: Object.fromEntries(LOG_IDS.map((l) => [l, stream(l)])),
  ...streamsInSettings<GeminiSettings>('logs', LOG_IDS),
  explain({ status, body, message }) {
    const e = googleErrorOf(body);
    const said = e.message || message;
    if (status === 401) {
      return {
        code: 'google_unauthenticated',
        action:
          "Google rejected the access token even after a refresh: check this host's clock, that the service account and its key are enabled, and the base URL (https://logging.googleapis.com).",
      };
    }
    if (status === 403 && isApiDisabled(e)) {
      return {
        code: 'google_api_disabled',
        action:
          "The Cloud Logging API is not enabled in the service account's project: APIs & Services → Library → Cloud Logging API → Enable, wait a few minutes and retry.",
      };
    }
    if (status === 403 && /privateLogEntries/i.test(said)) {
      return {
        code: 'google_private_logs_denied',
        action:
          'Reading Data Access audit logs needs the Private Logs Viewer role (roles/logging.privateLogViewer) for the service account on the Gemini Enterprise project; grant it or remove data-access from the logs.',
      };
    }
    if (status === 403) {
      return {
        code: 'google_logging_denied',
        action: `The service account may not read logs of this project: grant it Logs Viewer (roles/logging.viewer) on the project, and check the project ID. Google said: ${said}`,
      };
    }
    if (status === 400) {
      return {
        code: 'google_bad_request',
        action: `Cloud Logging refused the query: check the project ID and the collector's filter setting. Google said: ${said}`,
      };
    }
    if (status === 404) {
      return {
        code: 'google_not_found',
        action:
          'Check the project ID and the base URL (the Cloud Logging API root, https://logging.googleapis.com).',
      };
    }
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    checkAccountFor(account, LOGGING_API);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    for (const log of (streams.length
      ? streams
      : streamsInSettings<GeminiSettings>('logs', LOG_IDS).defaultStreams(s)) as LogStream[]) {
      await http.requestJson({
        method: 'POST',
        readOnly: true,
        url: listUrl(s),
        headers: { 'content-type': 'application/json', ...HEADERS },
        body: listBody(s, `${streamFilter(s, log)} AND timestamp>="${since}"`, 1),
      });
    }
  },
});
