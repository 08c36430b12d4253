import { z } from 'zod';
import { checkAccountFor, type GoogleAccount, LOGGING_API } from '../../accounts/google.ts';
import { defineSource, type StreamDef, streamsInSettings } from '../../core/source.ts';
import { explainLogging, LOGGING_SETTINGS, loggingStream, probeLogging } from '../cloud-logging.ts';

/**
 * Gemini Enterprise (Google Cloud; formerly Agentspace) — Cloud Logging `entries.list`, read by the shared
 * Cloud Logging reader (../cloud-logging.ts: entries.list, ids, quotas, paging, the window). Vendor facts:
 *
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
    ...LOGGING_SETTINGS,
  })
  .strict();

export type GeminiSettings = z.infer<typeof settings>;

export function streamFilter(s: GeminiSettings, log: LogStream): string {
  return `${LOGS[log].filter(s.projectId)}${s.filter ? ` AND (${s.filter})` : ''}`;
}

function stream(log: LogStream): StreamDef<GeminiSettings, GoogleAccount> {
  return loggingStream<GeminiSettings>({
    title: LOGS[log].title,
    description: LOGS[log].description,
    resourceNames: (s) => [`projects/${s.projectId}`],
    filter: (s) => streamFilter(s, log),
    pageSize: (s) => s.pageSize,
    baseUrl: (s) => s.baseUrl,
    lag: (s) => s.lag,
    retention: LOGS[log].retention,
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
  explain: explainLogging({
    where: 'the Gemini Enterprise project',
    dataAccessHint: 'remove data-access from the streams',
    settingsHint: 'the project ID',
  }),
  async test({ settings: s, account, http, streams }) {
    checkAccountFor(account, LOGGING_API);
    for (const log of (streams.length
      ? streams
      : streamsInSettings<GeminiSettings>('logs', LOG_IDS).defaultStreams(s)) as LogStream[]) {
      await probeLogging(http, s.baseUrl, [`projects/${s.projectId}`], streamFilter(s, log));
    }
  },
});
