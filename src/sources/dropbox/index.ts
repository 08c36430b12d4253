import { z } from 'zod';
import { type DropboxAccount, dropboxApiUrl } from '../../accounts/dropbox.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource } from '../../core/source.ts';
import type { PageRequest, Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Dropbox team activity log (Dropbox Business / Advanced teams). Vendor facts, from Dropbox's route
 * documentation for the `team_log` namespace (the same text in every official SDK, generated from Dropbox's
 * API spec) and developers/documentation/http/documentation:
 *
 * - `POST https://api.dropboxapi.com/2/team_log/get_events` `{limit, time: {start_time, end_time},
 *   category}` → `{events, cursor, has_more}`; `limit` 1–1000 (default 1000); "Permission: Team Auditing"
 *   (scope `events.read`). "If the result's has_more field is true, call get_events/continue with the
 *   returned cursor to retrieve more entries. If end_time is not specified in your request, you may use the
 *   returned cursor to poll get_events/continue for new events."
 * - `POST /2/team_log/get_events/continue` `{cursor}`: the cursor "may change for each response …
 *   regardless of the value of has_more; older cursor strings may expire. Thus, callers should ensure that
 *   they update their cursor based on the latest value … after each call." Some calls "may even return no
 *   events, even with has_more set to true". Events "are not guaranteed to be sorted by their timestamp".
 * - GetTeamEventsContinueError `reset`: "Cursors are intended to be used quickly. Individual cursor values
 *   are normally valid for days, but in rare cases may be reset sooner. Cursor reset errors should be
 *   handled by fetching a new cursor from get_events. The associated value is the approximate timestamp of
 *   the most recent event returned by the cursor." `bad_cursor`: an unknown cursor. Endpoint errors are HTTP
 *   409 `{error_summary, error: {.tag}}`.
 * - TeamEvent: `timestamp`, `event_category`, `actor`, `origin`, `context`, `assets`, `event_type`,
 *   `details`; no id.
 *
 * How it reads (engine: opaque cursor). The first run asks get_events from the collector's lookback, with
 * no end time, and follows the cursor; every answer's cursor is the checkpoint, stored verbatim; when
 * `has_more` is false the run ends and the newest cursor is polled by the next run. A cursor Dropbox resets
 * is a gap warning (`cursor_expired`): a new cursor is asked for from the newest event time delivered (what
 * Dropbox's `reset` value names), less the collector's overlap, and the events from then on that were
 * delivered already come again under the same ids. Events carry no id: the id is the hash of the event.
 *
 * Not documented, assumed: a rate limit in numbers (see the account kind), how long the team log keeps
 * events (no retention check), the order of events in a page.
 */

export interface DropboxSettings {
  pageSize: number;
  category?: string;
  baseUrl?: string;
}

export const DROPBOX_CATEGORIES = [
  'apps',
  'comments',
  'data_governance',
  'devices',
  'domains',
  'encryption',
  'file_operations',
  'file_requests',
  'groups',
  'legal_holds',
  'logins',
  'members',
  'paper',
  'passwords',
  'reports',
  'sharing',
  'showcase',
  'sso',
  'team_folders',
  'team_policies',
  'team_profile',
  'tfa',
  'trusted_teams',
] as const;

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1000)
      .meta({ title: 'Events per request' })
      .describe('Events asked for per request (Dropbox allows at most 1000)'),
    category: z
      .enum(DROPBOX_CATEGORIES, {
        error: () => `expected one of Dropbox's event categories: ${DROPBOX_CATEGORIES.join(', ')}`,
      })
      .optional()
      .meta({ title: 'Category' })
      .describe('Only events of this category (logins, sharing, file_operations, …); default all'),
  })
  .strict();

const api = (s: DropboxSettings, a: DropboxAccount) => (s.baseUrl ?? dropboxApiUrl(a)).replace(/\/+$/, '');
const dbxTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/** Every answer's cursor is the next request, to `get_events/continue`, whether or not it has more. */
const continueWithCursor: Paginator = {
  next({ request, body }): PageRequest | undefined {
    const cursor = body?.cursor;
    if (typeof cursor !== 'string' || !cursor) return undefined;
    return {
      url: request.url.replace(/\/get_events(\/continue)?$/, '/get_events/continue'),
      body: JSON.stringify({ cursor }),
    };
  },
};

const tagOf = (body: string): string | undefined => {
  try {
    const e = JSON.parse(body)?.error;
    return typeof e === 'string' ? e : (e?.['.tag'] as string | undefined);
  } catch {
    return undefined;
  }
};

const teamEvents = restPoll<DropboxSettings, DropboxAccount>({
  title: 'Team events',
  description:
    "The team's activity log: sign-ins, sharing, file operations, membership, devices, policies and admin actions (team_log/get_events).",
  url: ({ settings: s, account }) => `${api(s, account)}/2/team_log/get_events`,
  method: 'POST',
  request: ({ settings: s, account }, w) => ({
    url: `${api(s, account)}/2/team_log/get_events`,
    // Whole seconds, start inclusive: rounded down so the window's first second is included.
    body: JSON.stringify({
      limit: s.pageSize,
      time: { start_time: dbxTime(w.start.getTime()) },
      ...(s.category ? { category: s.category } : {}),
    }),
  }),
  records: (body) => body?.events,
  paginate: continueWithCursor,
  cursor: {
    kind: 'opaque',
    time: 'timestamp',
    caughtUp: (body) => body?.has_more === false,
    expired: (err) => err.code === 'dropbox_cursor_reset',
  },
  eventId: (e) => hashId(e),
});

export default defineSource<DropboxSettings, DropboxAccount>({
  id: 'dropbox',
  title: 'Dropbox',
  account: 'dropbox',
  stability: 'early-access',
  family: 'rest-cursor',
  description:
    'Dropbox team activity log: sign-ins, sharing, file operations, membership, devices, policies and admin actions of a Dropbox team.',
  setupGuide: [
    '1. A **team admin** of the Dropbox team (Business, Advanced or Enterprise) opens the **App Console**',
    '   (dropbox.com/developers/apps) → **Create app** → **Scoped access** → **Full Dropbox**, and names it.',
    "2. On the app's **Permissions** tab, under Team scopes, tick **events.read** (Team Auditing) and **Submit**.",
    '3. On the **Settings** tab copy the **App key** and **App secret**.',
    '4. Authorise the app for the team with offline access: open',
    '   `https://www.dropbox.com/oauth2/authorize?client_id=APP_KEY&response_type=code&token_access_type=offline`',
    '   as the team admin, allow it, and copy the code shown.',
    '5. Exchange the code for a refresh token (once):',
    '   `curl https://api.dropbox.com/oauth2/token -d code=CODE -d grant_type=authorization_code -u APP_KEY:APP_SECRET`,',
    '   and copy `refresh_token` from the answer (the access token in it lasts four hours: Tributary renews it).',
    '6. Create a **Dropbox** account in Tributary with the App key, App secret and refresh token.',
    '',
    'Early access: Dropbox publishes no rate limit in numbers and does not say how long the team log keeps events.',
    'Tributary paces requests at 5 a second per account and waits as long as a 429 asks. When Dropbox resets the',
    "collector's cursor (cursors normally last days), Tributary warns of a gap and reads again from the newest",
    'event it delivered: some events may be delivered twice, with the same ids.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<DropboxSettings>,
  streams: {
    'team-events': { title: teamEvents.title, description: teamEvents.description, read: teamEvents.read },
  },
  explain({ status, body, url }) {
    const tag = tagOf(body);
    if (status === 409 && tag === 'reset' && url.pathname.endsWith('/continue'))
      return {
        code: 'dropbox_cursor_reset',
        action:
          'Dropbox reset the saved cursor: Tributary asks for a new one from the newest event it delivered (a gap warning says so). If this error stops a run, reset the checkpoint of the team-events stream.',
      };
    if (status === 409 && tag === 'bad_cursor')
      return {
        code: 'dropbox_bad_cursor',
        action: 'Dropbox does not know the saved cursor: reset the checkpoint of the team-events stream.',
      };
    if (status === 409 && tag === 'invalid_time_range')
      return {
        code: 'dropbox_invalid_time_range',
        action: "Dropbox refused the start time: check the collector's start or lookback.",
      };
    if (status === 401 && tag === 'missing_scope')
      return {
        code: 'dropbox_missing_scope',
        action:
          "The app lacks the events.read scope: tick it on the app's Permissions tab in the App Console, then have a team admin authorise the app again (setup guide, step 4) and update the account's refresh token.",
      };
    if (status === 401)
      return {
        code: 'dropbox_invalid_token',
        action:
          'Dropbox refused a freshly renewed access token: the app may have been removed from the team. Authorise it again (setup guide, step 4) and update the refresh token.',
      };
    if (status === 403)
      return {
        code: 'dropbox_forbidden',
        action:
          'Dropbox denied the team log: the authorising user must be a team admin, and the team plan must include the activity log.',
      };
    return undefined;
  },
  async test({ settings: s, account, http }) {
    // Proves the refresh token, the events.read scope and the team admin's authorisation: one event at most.
    await http.requestJson({
      method: 'POST',
      readOnly: true,
      url: `${api(s, account)}/2/team_log/get_events`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ limit: 1, time: { start_time: dbxTime(Date.now() - 3_600_000) } }),
    });
  },
});
