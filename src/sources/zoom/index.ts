import { z } from 'zod';
import { type ZoomAccount, zoomApiUrl } from '../../accounts/zoom.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * Zoom sign in / sign out activity and operation logs. Vendor facts (checked against Zoom's docs):
 *
 * - Zoom Meeting API, Reports: `GET /report/activities` ("Retrieve a list of sign in / sign out activity
 *   logs report of users under a Zoom account"; `from`, `to`, `page_size`, `next_page_token`; "specify a
 *   monthly date range for the report as the API only provides one month worth of data in one request.
 *   The specified date range should fall within the last six months"; response `activity_logs[]` of
 *   `{email, time, type, ip_address, client_type, version}`) and `GET /report/operationlogs` ("audit admin
 *   and user activity, such as adding a new user, changing account settings, and deleting recordings";
 *   `from`/`to` "in 'yyyy-mm-dd' format", `category_type`, response `operation_logs[]` of `{time, operator,
 *   category_type, action, operation_detail}`). Both: "Pro or higher plan", "Rate Limit Label: Heavy",
 *   scopes `report:read:admin` (classic) or `report:read:user_activities:admin` /
 *   `report:read:operation_logs:admin` (granular: developers.zoom.us/docs/integrations/oauth-scopes-granular/#reports);
 *   `page_size` at most 300 (default 30); "The expiration period for this [next page] token is 15 minutes".
 *   Sources: the OpenAPI descriptions in Zoom's SDKs (zoom.github.io/rivet-javascript, ReportsApi.md of
 *   the generated clients) and the API reference developers.zoom.us/docs/api/rest/reference/zoom-api/methods/#operation/reportSignInSignOutActivities
 *   and …#operation/reportOperationLogs.
 * - developers.zoom.us/docs/api/rate-limits/: Heavy APIs 10/s and 30,000 a day (Pro), 40/s and 60,000 a
 *   day (Business+), per Zoom account and shared by all its apps; 429 with `X-RateLimit-Category`,
 *   `X-RateLimit-Type` (`QPS`, `Daily-limit`) and, for the daily limit, `Retry-After` at 00:00 UTC.
 *   The account kind's budget (accounts/zoom.ts) keeps under Pro's limits; a spent daily budget is a
 *   wait longer than a run, reported with its own action.
 * - The records have no id field: ids are the hash of the record (docs/architecture.md, "The envelope", `hashId`: canonical JSON,
 *   keys sorted), so every re-read of a day gives the same ids. Two records identical in every field (the
 *   same user, second, type, address and client) are one event to Tributary.
 * - Dates: `from` and `to` are dates without a time; Zoom's examples echo them as `…T00:00:00Z` and list
 *   times in UTC (`2019-09-15T19:13:41Z`), and Cortex XSOAR's Zoom collector (demisto/content,
 *   Packs/Zoom/Integrations/ZoomEventCollector) queries UTC dates with `to` = today and reads newest
 *   first. Tributary asks for the UTC dates the window touches, `to` inclusive.
 *
 * Windows and resumption. The API filters by whole days, so each window asks for its UTC days and the
 * engine keeps only the records inside the window (`clip`): a day is read again by every window that
 * touches it, and events outside the window are left to the window they belong to, so nothing repeats.
 * Records come newest first: the time cursor runs in `desc` mode (the position moves to the window end
 * only after the window is read; each page commits the next page token) and the reading of a window
 * stops at the first record older than its start. A page token that has expired (15 minutes) — saved by a
 * crash, or outlasted in the middle of a run by a slow destination or long rate-limit waits — makes the
 * window be read again from its first page, delivered ids suppressed. Windows are at
 * most a day (two dates per request, far inside Zoom's month); overlap at least a second, since times are
 * whole seconds. Retention: six months (180 days here).
 */

interface Settings {
  pageSize: number;
  categoryType: string;
  baseUrl?: string;
}

const OVERLAP = '1m';
const RETENTION = '180d';

/** Operation log categories: the `category_type` filter values and the category each record shows. */
export const CATEGORIES: Record<string, string> = {
  user: 'User',
  user_settings: 'User Settings',
  account: 'Account',
  billing: 'Billing',
  im: 'IM',
  recording: 'Recording',
  phone_contacts: 'Phone Contacts',
  webinar: 'Webinar',
  sub_account: 'Sub Account',
  role: 'Role',
  zoom_rooms: 'Zoom Rooms',
};

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(300)
      .default(300)
      .describe('Records per page (Zoom allows up to 300)')
      .meta({ title: 'Records per page' }),
    categoryType: z
      .enum(['all', ...Object.keys(CATEGORIES)] as [string, ...string[]], {
        error: () => `expected all or one of ${Object.keys(CATEGORIES).join(', ')}`,
      })
      .default('all')
      .describe('Operation logs only: collect this category (user, account, recording, role, …) or all')
      .meta({ title: 'Operation log category' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

const base = (s: Settings, a: ZoomAccount) => (s.baseUrl ?? zoomApiUrl(a)).replace(/\/+$/, '');

/** `yyyy-mm-dd` of an instant, in UTC. */
const utcDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The UTC dates a window touches: `from` its first day, `to` (inclusive) the day of its last instant. */
export function reportDates(window: Pick<Window, 'start' | 'end'>): { from: string; to: string } {
  const start = window.start.getTime();
  return { from: utcDate(start), to: utcDate(Math.max(start, window.end.getTime() - 1)) };
}

const HEADERS = { accept: 'application/json' };

function reportStream(
  report: 'activities' | 'operationlogs',
  key: string,
  title: string,
  description: string,
): StreamDef<Settings, ZoomAccount> {
  return restPoll<Settings, ZoomAccount>({
    title,
    description,
    url: ({ settings: s, account }) => `${base(s, account)}/report/${report}`,
    params: ({ settings: s }, window) => ({
      ...reportDates(window),
      page_size: s.pageSize,
      ...(report === 'operationlogs' && s.categoryType !== 'all' ? { category_type: s.categoryType } : {}),
    }),
    headers: () => HEADERS,
    records: (body) => body?.[key],
    paginate: paginate.cursor({ param: 'next_page_token', from: 'next_page_token' }),
    // A minute of overlap by default; times are whole seconds, so never less than a second (see above).
    cursor: {
      time: 'time',
      lag: '2m',
      overlap: OVERLAP,
      minOverlap: '1s',
      order: 'desc',
      clip: true,
      maxWindow: '1d',
    },
    eventId: (r) => hashId(r),
    // A next-page request differs from the window's first request only by its page token (saved by a
    // crash, or handed over by the previous page of this run): any 400 for it means the token is gone
    // ("The expiration period for this token is 15 minutes"), and the window is read again.
    cursorExpired: (err) => err.status === 400,
    retention: RETENTION,
  });
}

/** Zoom's error body `{"code": …, "message": …}`: its numeric code, when there is one. */
function zoomCode(body: string): number | undefined {
  try {
    const code = JSON.parse(body)?.code;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}

export default defineSource<Settings, ZoomAccount>({
  id: 'zoom',
  title: 'Zoom',
  account: 'zoom',
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'Zoom sign in / sign out activity of every user of the account, and the operation log of admin and user changes (users, settings, roles, recordings, rooms).',
  setupGuide: [
    'The report APIs need a Zoom **Pro** plan or higher.',
    '',
    '1. In the Zoom App Marketplace (marketplace.zoom.us) choose **Develop → Build App → Server-to-Server OAuth App**',
    '   and name it. Your role must allow creating Server-to-Server OAuth apps and viewing reports (Usage Reports,',
    '   Sign In/Sign Out, Admin Activity Logs).',
    '2. **App Credentials**: copy the **Account ID**, **Client ID** and **Client secret**.',
    '3. **Information**: fill in the company name and developer contact (required to activate).',
    '4. **Scopes → Add Scopes**: `report:read:user_activities:admin` (sign in / sign out activity) and',
    '   `report:read:operation_logs:admin` (operation logs). Apps created before granular scopes use',
    '   `report:read:admin`, which covers both.',
    '5. **Activate** the app, then create a **Zoom** account in Tributary with the three values.',
    '',
    'Limits: report APIs are "Heavy" — 10 requests/s and 30,000 a day on Pro (40/s and 60,000 on Business and',
    'above), shared by every app of the Zoom account. Zoom keeps these reports for six months.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<Settings>,
  retention: RETENTION,
  streams: {
    activities: reportStream(
      'activities',
      'activity_logs',
      'Sign in / sign out activity',
      'Sign in and sign out of every user, with client, version and IP address (/report/activities).',
    ),
    'operation-logs': reportStream(
      'operationlogs',
      'operation_logs',
      'Operation logs',
      'Admin and user operations: users added or changed, account and user settings, roles, recordings, rooms (/report/operationlogs).',
    ),
  },
  explain({ status, message, body }) {
    const code = zoomCode(body);
    if (/does not contain scopes/i.test(message) || code === 4711 || code === 4700) {
      return {
        code: 'zoom_missing_scope',
        action:
          "The Server-to-Server OAuth app lacks a report scope: add report:read:user_activities:admin (sign in / sign out) and report:read:operation_logs:admin (operation logs) — or the classic report:read:admin — under the app's Scopes, and activate it again.",
      };
    }
    if (status === 401) {
      return {
        code: 'zoom_invalid_token',
        action:
          "Zoom rejected the access token: check the Server-to-Server OAuth app is still activated (a deactivated app's tokens stop working) and that the account's accountId, clientId and clientSecret are the app's current App Credentials.",
      };
    }
    if (status === 400 && (code === 200 || /no permission/i.test(message))) {
      return {
        code: 'zoom_no_permission',
        action:
          "Zoom refused the report: report APIs need a Pro plan or higher, and the app owner's role must allow viewing reports (Usage Reports, Sign In/Sign Out, Admin Activity Logs).",
      };
    }
    if (status === 429 && /daily/i.test(message)) {
      return {
        code: 'zoom_daily_rate_limit',
        action:
          'The Zoom account has spent its daily budget of Heavy API requests (30,000 on Pro, 60,000 on Business+), shared by all its apps; collection resumes after 00:00 UTC. Run collectors less often or reduce other report apps.',
      };
    }
    if (status === 404) {
      return {
        code: 'zoom_not_found',
        action:
          "Check the collector's baseUrl and the account's apiUrl: the REST API root is https://api.zoom.us/v2.",
      };
    }
    if (status === 400) {
      return {
        code: 'zoom_bad_request',
        action: `Zoom refused the query (${message}): check the collector's pageSize (at most 300) and categoryType; if they are right, report this with the logs.`,
      };
    }
    return undefined;
  },
  async test({ settings: s, account, http, streams: enabled }) {
    const today = utcDate(Date.now());
    const which = enabled.length ? enabled : ['activities', 'operation-logs'];
    // One small page per enabled report, so a missing granular scope shows here, not on the first run.
    for (const stream of which) {
      const report = stream === 'operation-logs' ? 'operationlogs' : 'activities';
      await http.getJson(
        `${base(s, account)}/report/${report}`,
        { from: today, to: today, page_size: 1 },
        HEADERS,
      );
    }
  },
});
