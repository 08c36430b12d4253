import { z } from 'zod';
import {
  checkAccountFor,
  type GoogleAccount,
  googleErrorOf,
  isApiDisabled,
  REPORTS_API,
  REPORTS_AUDIT_SCOPE,
} from '../../accounts/google.ts';
import { parseDuration } from '../../core/duration.ts';
import { defineSource, type StreamDef, streamsInSettings } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Google Workspace audit activity — Admin SDK Reports API `activities.list`. Vendor facts, as followed:
 *
 * - developers.google.com/workspace/admin/reports/reference/rest/v1/activities/list (and its discovery
 *   document, googleapis/google-api-go-client admin/reports/v1/admin-api.json):
 *   GET https://admin.googleapis.com/admin/reports/v1/activity/users/{userKey|all}/applications/{applicationName}
 *   with `startTime`/`endTime` (RFC 3339; older discovery text: "at or after" / "at or before", both
 *   inclusive), `maxResults` 1–1000 (default 1000), `pageToken` from `nextPageToken`, `eventName`,
 *   `filters`, `customerId`; Gmail needs both times and at most 30 days between them. Only scope:
 *   admin.reports.audit.readonly. The applicationName enum is APPLICATIONS below (34 values, including
 *   gemini_in_workspace_apps). Activity = {kind, etag, id{time, uniqueQualifier ("unique qualifier if
 *   multiple events have the same time"), applicationName, customerId}, actor, ipAddress, ownerDomain,
 *   events[{type, name, parameters[]}]}. "The maximum time period for all audit activity reports is 180
 *   days." Results come newest first.
 * - developers.google.com/workspace/admin/reports/v1/appendix/activity/gemini-in-workspace-apps:
 *   applicationName=gemini_in_workspace_apps, event type ai_usage_event, name feature_utilization
 *   (parameters app_name, action, feature_source, event_category); logs exist from 2025-06-20.
 * - support.google.com/a/answer/7061566 "Data retention and lag times" (applies to the Reports API):
 *   near real time (a couple of minutes) for Access Evaluation, Access Transparency, Admin, Assignments,
 *   Chat, Chrome, Classroom, Context-Aware Access, Data migration, Devices; Calendar "tens of minutes (can
 *   also go up to a couple of hours)"; Cloud Search "up to a few hours"; "a small chance that … data for
 *   some events will be delayed beyond the following specified times. In rare cases, events might not be
 *   reported." → DEFAULT_LAG below; configurable per application.
 * - developers.google.com/workspace/admin/reports/v1/limits: 403 for bad input, quota errors; retried
 *   by the shared client as transient (429/5xx).
 * - Elastic's google_workspace integration notes: "The provided page token must be generated within the
 *   same time interval as the request" — a page token is only reused with its own window.
 *
 * Reading (engine `restPoll`, the time-window cursor for newest-first APIs in docs/architecture.md):
 * windows [since − overlap, now − lag] of at most a day; each window is paged to its end with
 * `pageToken`; the checkpoint keeps `since` until the whole window is done and stores the window end and
 * next page so a restart resumes mid-window. A page token the API refuses (400: expired or foreign),
 * saved or handed over mid-run, makes the window be read again from its first page (`cursorExpired`);
 * events already delivered are suppressed by the boundary ids. Events at the window edge (both ends
 * inclusive) are suppressed the same way.
 *
 * One envelope per EVENT, not per activity: an activity bundles several events (a Drive activity can
 * hold an `edit` and a `change_user_access`), and detections match single event names (Elastic and
 * Chronicle split them too). `raw` is the vendor's activity with `events` holding that one event, so it
 * stays a valid Reports API activity. id = `{applicationName}:{id.time}:{id.uniqueQualifier}:{index}:{name}`:
 * time + uniqueQualifier identify the activity (the qualifier disambiguates equal times), the index and
 * name the event within it (the same name can repeat in one activity), the application keeps ids of
 * different streams apart.
 */

export const APPLICATIONS = [
  'access_evaluation',
  'access_transparency',
  'admin',
  'assignments',
  'calendar',
  'chat',
  'chrome',
  'classroom',
  'cloud_search',
  'context_aware_access',
  'data_migration',
  'data_studio',
  'directory_sync',
  'drive',
  'gcp',
  'gemini_in_workspace_apps',
  'gmail',
  'gplus',
  'groups',
  'groups_enterprise',
  'jamboard',
  'keep',
  'ldap',
  'login',
  'meet',
  'meet_hardware',
  'mobile',
  'profile',
  'rules',
  'saml',
  'tasks',
  'token',
  'user_accounts',
  'vault',
] as const;
export type Application = (typeof APPLICATIONS)[number];

const DEFAULT_APPLICATIONS: Application[] = [
  'admin',
  'login',
  'saml',
  'token',
  'user_accounts',
  'groups',
  'groups_enterprise',
  'drive',
  'gemini_in_workspace_apps',
];

/** Google documents these as near real time (a couple of minutes). */
const NEAR_REAL_TIME: Application[] = [
  'access_evaluation',
  'access_transparency',
  'admin',
  'assignments',
  'chat',
  'chrome',
  'classroom',
  'context_aware_access',
  'data_migration',
  'mobile',
];

/**
 * Default lag per application (support.google.com/a/answer/7061566): 10 minutes where Google says near
 * real time, 2 hours for Calendar ("up to a couple of hours"), 4 hours for Cloud Search ("up to a few
 * hours"), and 30 minutes where we could not confirm Google's figure. Set `lag` per application to trade
 * completeness for latency.
 */
export function defaultLag(app: Application): string {
  if (app === 'calendar') return '2h';
  if (app === 'cloud_search') return '4h';
  return NEAR_REAL_TIME.includes(app) ? '10m' : '30m';
}

const TITLES: Partial<Record<Application, string>> = {
  admin: 'Admin console',
  login: 'Login',
  saml: 'SAML',
  token: 'OAuth token',
  user_accounts: 'User accounts',
  groups: 'Groups',
  groups_enterprise: 'Groups Enterprise',
  drive: 'Drive',
  gemini_in_workspace_apps: 'Gemini in Workspace apps',
  calendar: 'Calendar',
  gmail: 'Gmail',
  meet: 'Meet',
  chrome: 'Chrome',
  mobile: 'Devices',
  context_aware_access: 'Context-aware access',
  access_transparency: 'Access Transparency',
  rules: 'Rules (DLP)',
};

const RETENTION = '180d';
const MAX_WINDOW = '1d';

const duration = z.string().refine(
  (v) => {
    try {
      parseDuration(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a duration such as 10m, 2h or 1d' },
);

const settings = z
  .object({
    applications: z
      .array(z.enum(APPLICATIONS))
      .min(1)
      .optional()
      .meta({ title: 'Applications (older configs)', deprecated: true })
      .describe(
        "Older configs chose the Reports API applications here; they are the collector's streams now, and a list given here is stored as the streams",
      ),
    customerId: z
      .string()
      .regex(/^C[0-9A-Za-z]+$/, 'expected a Google Workspace customer ID such as C03az79cb')
      .optional()
      .describe('Customer ID (Admin console → Account → Account settings); default: the admin’s own')
      .meta({ title: 'Customer ID' }),
    lag: z
      .partialRecord(z.enum(APPLICATIONS), duration)
      .optional()
      .describe(
        "Per application, how far behind now a window ends (e.g. {login: '5m', calendar: '3h'}); default from Google's documented lag times",
      )
      .meta({ title: 'Lag per application' }),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1000)
      .describe('Activities per page (maxResults, up to 1000)')
      .meta({ title: 'Activities per page' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

export type WorkspaceSettings = z.infer<typeof settings>;

const base = (s: WorkspaceSettings) => (s.baseUrl ?? 'https://admin.googleapis.com').replace(/\/+$/, '');
const listUrl = (s: WorkspaceSettings, app: Application) =>
  `${base(s)}/admin/reports/v1/activity/users/all/applications/${app}`;

interface Activity {
  id?: { time?: unknown; uniqueQualifier?: unknown; applicationName?: unknown };
  events?: Array<{ name?: unknown }>;
  [k: string]: unknown;
}

/** The envelope ids of an activity's events, in order (see the header comment). */
export function eventIds(app: string, activity: Activity): string[] | undefined {
  const time = activity?.id?.time;
  const uq = activity?.id?.uniqueQualifier;
  if (typeof time !== 'string' || (typeof uq !== 'string' && typeof uq !== 'number')) return undefined;
  const events = Array.isArray(activity.events) && activity.events.length ? activity.events : [{}];
  return events.map((e, i) => `${app}:${time}:${uq}:${i}:${typeof e?.name === 'string' ? e.name : ''}`);
}

/** One record per event: the activity with `events` narrowed to that event. */
function split(app: string, activity: Activity): Array<{ id: string; raw: unknown }> | undefined {
  const ids = eventIds(app, activity);
  if (!ids) return undefined;
  const events = Array.isArray(activity.events) && activity.events.length ? activity.events : undefined;
  return ids.map((id, i) => ({ id, raw: events ? { ...activity, events: [events[i]] } : activity }));
}

function stream(app: Application): StreamDef<WorkspaceSettings, GoogleAccount> {
  return restPoll<WorkspaceSettings, GoogleAccount>({
    title: TITLES[app] ?? app,
    description: `Reports API activities of the ${app} application, one record per event.`,
    check: ({ account }) => checkAccountFor(account, REPORTS_API),
    url: ({ settings: s }) => listUrl(s, app),
    params: ({ settings: s }, w) => ({
      startTime: w.start.toISOString(),
      endTime: w.end.toISOString(),
      maxResults: s.pageSize,
      customerId: s.customerId,
    }),
    // `items` is left out when there are none.
    records: (body) => body?.items ?? [],
    paginate: paginate.cursor({ param: 'pageToken', from: 'nextPageToken' }),
    // Newest first: the window's end and next page are kept until the window is complete.
    cursor: { time: 'id.time', order: 'desc', lag: defaultLag(app), maxWindow: MAX_WINDOW, maxSeen: 2000 },
    lagSetting: (s) => s.lag?.[app],
    retention: RETENTION,
    // A page token Google no longer accepts (expired, or from another interval): 400.
    cursorExpired: (err) => err.status === 400,
    split: (activity) => split(app, activity),
    missingId: 'activity has no id.time and id.uniqueQualifier',
  });
}

export default defineSource<WorkspaceSettings, GoogleAccount>({
  id: 'google-workspace',
  title: 'Google Workspace',
  account: 'google',
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'Google Workspace audit activity (Admin SDK Reports API): Admin console, logins, SAML, OAuth tokens, Drive, Groups, user accounts, Gemini in Workspace apps and more, one stream per application.',
  setupGuide: [
    'You need a Google Cloud project and a Google Workspace super administrator.',
    '1. In the Google Cloud console, pick the project → **APIs & Services → Library** → enable the **Admin SDK API**.',
    '2. **IAM & Admin → Service accounts → Create service account** (it needs no project roles for Workspace).',
    '   Open it → **Keys → Add key → Create new key → JSON** and keep the file. (If the organization policy',
    '   `iam.disableServiceAccountKeyCreation` blocks this, ask your Cloud admin for an exception for this project.)',
    "3. Copy the service account's **Unique ID** (Details tab; `client_id` in the key file): it is the OAuth client ID.",
    '4. In the **Google Admin console** (admin.google.com) as a super administrator: **Security → Access and data control →',
    '   API controls → Manage Domain Wide Delegation → Add new**: the client ID, and exactly this OAuth scope:',
    `   \`${REPORTS_AUDIT_SCOPE}\` → **Authorize**.`,
    '5. Choose the administrator Tributary impersonates: a super administrator, or an admin whose role has the',
    '   **Reports** privilege (Account → Admin roles). Service accounts cannot read reports without this.',
    '6. Create a **Google** account in Tributary with the key file (`serviceAccountKey: ${file:key.json}`) and that',
    '   administrator as `subject`, then this collector with the applications to collect.',
    'Drive, Keep and some other reports need a Business or Enterprise edition. Google delivers some applications',
    'hours late (Calendar, Cloud Search): the collector waits a per-application lag before reading a period.',
  ].join('\n'),
  settings,
  retention: RETENTION,
  streams: Object.fromEntries(APPLICATIONS.map((a) => [a, stream(a)])),
  ...streamsInSettings<WorkspaceSettings>('applications', DEFAULT_APPLICATIONS),
  explain({ status, body, message }) {
    const e = googleErrorOf(body);
    if (status === 401) {
      return {
        code: 'google_unauthenticated',
        action:
          "Google rejected the access token even after a refresh: check this host's clock, that the service account and its key are enabled, and that the base URL is the Reports API (https://admin.googleapis.com).",
      };
    }
    if (status === 403 && isApiDisabled(e)) {
      return {
        code: 'google_api_disabled',
        action:
          "The Admin SDK API is not enabled in the service account's Google Cloud project: APIs & Services → Library → Admin SDK API → Enable, wait a few minutes and retry.",
      };
    }
    if (status === 403 && /insufficient authentication scopes/i.test(e.message)) {
      return {
        code: 'google_insufficient_scopes',
        action: `The token lacks ${REPORTS_AUDIT_SCOPE}: add it to the account's scopes (or remove the scopes field) and to the client ID in the Admin console's domain-wide delegation.`,
      };
    }
    if (status === 403) {
      return {
        code: 'google_reports_not_authorized',
        action:
          "The delegated administrator (the account's subject) may not read audit reports: use a super administrator, or give the admin's role the Reports privilege (Admin console → Account → Admin roles).",
      };
    }
    if (status === 400) {
      return {
        code: 'google_bad_request',
        action: `Google refused the query: check the applications (some need a Business or Enterprise edition) and the customer ID. Google said: ${e.message || message}`,
      };
    }
    if (status === 404) {
      return {
        code: 'google_not_found',
        action: 'Check the base URL: it must be the Reports API root, https://admin.googleapis.com.',
      };
    }
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    checkAccountFor(account, REPORTS_API);
    const now = Date.now();
    for (const app of (streams.length
      ? streams
      : streamsInSettings<WorkspaceSettings>('applications', DEFAULT_APPLICATIONS).defaultStreams(
          s,
        )) as Application[]) {
      await http.getJson(listUrl(s, app), {
        startTime: new Date(now - 3_600_000).toISOString(),
        endTime: new Date(now).toISOString(),
        maxResults: 1,
        customerId: s.customerId,
      });
    }
  },
});
