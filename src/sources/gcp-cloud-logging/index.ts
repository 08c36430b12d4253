import { z } from 'zod';
import { checkAccountFor, type GoogleAccount, LOGGING_API } from '../../accounts/google.ts';
import { defineSource } from '../../core/source.ts';
import { explainLogging, LOGGING_SETTINGS, loggingStream, probeLogging } from '../cloud-logging.ts';

/**
 * Google Cloud Logging — any logs of projects, folders or organizations through `entries.list`, read by
 * the shared Cloud Logging reader (../cloud-logging.ts: the request, ids `{logName}/{timestamp}/{insertId}`,
 * oldest-first windows with a lag, the 60-requests-a-minute quota, page tokens never stored). Vendor facts
 * of this source:
 *
 * - cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list ("Request body", resourceNames):
 *   "projects/[PROJECT_ID]", "organizations/[ORGANIZATION_ID]", "billingAccounts/[BILLING_ACCOUNT_ID]",
 *   "folders/[FOLDER_ID]", or a log view "projects/[PROJECT_ID]/locations/[LOCATION_ID]/buckets/[BUCKET_ID]/views/[VIEW_ID]".
 *   An organization or folder holds its own logs (organization-level audit logs, logs routed to its
 *   buckets), not its projects': to read many projects at once, route them with an aggregated sink to a
 *   log bucket and read its view (cloud.google.com/logging/docs/export/aggregated_sinks).
 * - LogEntry.logName (cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry): "projects/[PROJECT_ID]/logs/[LOG_ID]"
 *   (or organizations/, folders/, billingAccounts/), "[LOG_ID] must be URL-encoded within log_name.
 *   Example: organizations/1234567890/logs/cloudresourcemanager.googleapis.com%2Factivity". The log-name
 *   setting takes log ids (`cloudaudit.googleapis.com/activity`) and is turned into a `logName="…"`
 *   comparison per resource.
 * - Logging query language (cloud.google.com/logging/docs/view/logging-query-language): comparisons on
 *   `resource.type`, `logName`, joined with AND / OR and parentheses; a query is at most 20,000
 *   characters (cloud.google.com/logging/quotas).
 * - Audit logs (cloud.google.com/logging/docs/audit): Admin Activity and System Event logs always on, kept
 *   400 days; Data Access logs must be enabled, are kept 30 days and need roles/logging.privateLogViewer;
 *   other logs are kept 30 days in _Default (cloud.google.com/logging/quotas, "Logs retention periods").
 */

const MAX_QUERY = 20_000;

const RESOURCE =
  /^(projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]|organizations\/\d{1,19}|folders\/\d{1,19}|billingAccounts\/[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}|projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]+\/buckets\/[\w-]+\/views\/[\w-]+)$/;

const settings = z
  .object({
    resourceNames: z
      .array(
        z
          .string()
          .trim()
          .regex(
            RESOURCE,
            'expected projects/PROJECT_ID, folders/FOLDER_NUMBER, organizations/ORG_NUMBER, billingAccounts/XXXXXX-XXXXXX-XXXXXX or a log view projects/P/locations/L/buckets/B/views/V',
          ),
      )
      .min(1, 'expected at least one resource, e.g. projects/acme-prod')
      .max(100)
      .describe(
        'The projects, folders, organizations (their own logs) or log views to read, e.g. projects/acme-prod, organizations/123456789012',
      )
      .meta({ title: 'Resources' }),
    logNames: z
      .array(
        z
          .string()
          .trim()
          .regex(
            /^[A-Za-z0-9/_.-]{1,511}$/,
            'expected a log id such as cloudaudit.googleapis.com/activity (letters, digits, / _ - .)',
          ),
      )
      .min(1)
      .optional()
      .describe(
        'Log ids to read, e.g. cloudaudit.googleapis.com/activity, cloudaudit.googleapis.com/data_access, syslog (default: every log)',
      )
      .meta({ title: 'Log names' }),
    resourceTypes: z
      .array(
        z
          .string()
          .trim()
          .regex(/^[a-z][a-z0-9_.]*$/, 'expected a monitored resource type such as gce_instance'),
      )
      .min(1)
      .optional()
      .describe(
        'Monitored resource types to read, e.g. gce_instance, gcs_bucket, k8s_cluster (default: every type)',
      )
      .meta({ title: 'Resource types' }),
    filter: z
      .string()
      .max(10_000)
      .optional()
      .describe('Optional extra Logging query ANDed to the others, e.g. severity>=WARNING')
      .meta({ title: 'Extra Logging query' }),
    ...LOGGING_SETTINGS,
  })
  .strict()
  .superRefine((s, ctx) => {
    const length = queryOf(s as CloudLoggingSettings).length + 80; // + the time bounds
    if (length > MAX_QUERY)
      ctx.addIssue({
        code: 'custom',
        path: ['logNames'],
        message: `the query built from resources × log names is ${length} characters, above Cloud Logging's ${MAX_QUERY}: read fewer resources or logs per collector`,
      });
  });

export interface CloudLoggingSettings {
  resourceNames: string[];
  logNames?: string[];
  resourceTypes?: string[];
  filter?: string;
  lag?: string;
  pageSize: number;
  baseUrl?: string;
}

/** The Logging query of the collector's settings, without the time bounds. */
export function queryOf(s: CloudLoggingSettings): string {
  const parts: string[] = [];
  if (s.logNames?.length) {
    const names = s.resourceNames
      .filter((r) => !r.includes('/views/'))
      .flatMap((r) => s.logNames!.map((l) => `logName="${r}/logs/${encodeURIComponent(l)}"`));
    // A log view's entries keep their own project's logName: match the log id at the end instead.
    const views = s.resourceNames.some((r) => r.includes('/views/'))
      ? s.logNames.map((l) => `logName:"/logs/${encodeURIComponent(l)}"`)
      : [];
    parts.push(`(${[...names, ...views].join(' OR ')})`);
  }
  if (s.resourceTypes?.length)
    parts.push(`(${s.resourceTypes.map((t) => `resource.type="${t}"`).join(' OR ')})`);
  if (s.filter) parts.push(`(${s.filter})`);
  // An empty query is not allowed before the time bounds' AND: "timestamp" exists on every entry.
  return parts.length ? parts.join(' AND ') : 'timestamp>="1970-01-01T00:00:00Z"';
}

const HINT = 'the resources (projects/…, folders/…, organizations/…)';

export default defineSource<CloudLoggingSettings, GoogleAccount>({
  id: 'gcp-cloud-logging',
  title: 'Google Cloud Logging',
  account: 'google',
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'Cloud Audit Logs and any other Cloud Logging entries of Google Cloud projects, folders, organizations or log views, filtered by log name and resource type, oldest first with a lag.',
  setupGuide: [
    'You need the resources whose logs to read: project IDs (`projects/acme-prod`), or for organization-level',
    'audit logs the organization number (`organizations/123456789012`, from `gcloud organizations list`) or a',
    "folder number (`folders/…`). An organization or folder returns its own logs, not its projects': to read",
    'many projects, route them with an aggregated sink into one log bucket and read its log view',
    '(`projects/P/locations/L/buckets/B/views/V`).',
    '1. In the project that will own the service account, enable the **Cloud Logging API**:',
    '   `gcloud services enable logging.googleapis.com --project OWNER_PROJECT`.',
    '2. Create the service account and a JSON key:',
    '   `gcloud iam service-accounts create tributary-logs --project OWNER_PROJECT` then',
    '   `gcloud iam service-accounts keys create key.json --iam-account tributary-logs@OWNER_PROJECT.iam.gserviceaccount.com`.',
    '3. Grant **Logs Viewer** (`roles/logging.viewer`) on every resource read, e.g.',
    '   `gcloud projects add-iam-policy-binding acme-prod --member serviceAccount:tributary-logs@OWNER_PROJECT.iam.gserviceaccount.com --role roles/logging.viewer`',
    '   (`gcloud organizations add-iam-policy-binding` / `gcloud resource-manager folders add-iam-policy-binding` for',
    '   organizations and folders). To read **Data Access** audit logs also grant **Private Logs Viewer**',
    '   (`roles/logging.privateLogViewer`); Data Access logs must be enabled (IAM & Admin → Audit Logs).',
    '4. Create a **Google** account in Tributary with the key file (`serviceAccountKey: ${file:key.json}`); no subject',
    '   is needed. Then this collector with the resources and, optionally, log names',
    '   (`cloudaudit.googleapis.com/activity`, `cloudaudit.googleapis.com/data_access`, `cloudaudit.googleapis.com/system_event`,',
    '   `cloudaudit.googleapis.com/policy`, …) and resource types (`gce_instance`, `gcs_bucket`, `k8s_cluster`, …).',
    'Cloud Logging allows 60 entries.list requests a minute per project: keep pageSize at 1000 and share one account',
    'per project (the account budget keeps under the quota). Admin Activity and System Event logs are kept 400 days,',
    'Data Access and other logs 30 days by default.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<CloudLoggingSettings>,
  retention: '30d',
  streams: {
    entries: loggingStream<CloudLoggingSettings>({
      title: 'Log entries',
      description:
        'Every entry matching the resources, log names, resource types and extra query; id {logName}/{timestamp}/{insertId}.',
      resourceNames: (s) => s.resourceNames,
      filter: queryOf,
      pageSize: (s) => s.pageSize,
      baseUrl: (s) => s.baseUrl,
      lag: (s) => s.lag,
      retention: '30d',
    }),
  },
  explain: explainLogging({
    where: 'each resource read (project, folder or organization)',
    dataAccessHint: 'remove cloudaudit.googleapis.com/data_access from the log names',
    settingsHint: HINT,
  }),
  async test({ settings: s, account, http }) {
    checkAccountFor(account, LOGGING_API);
    // One resource at a time, so a refusal names the resource that lacks the role.
    for (const r of s.resourceNames) {
      await probeLogging(http, s.baseUrl, [r], queryOf({ ...s, resourceNames: [r] }));
    }
  },
});
