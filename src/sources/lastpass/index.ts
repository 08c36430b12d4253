import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type LastPassAccount, lastpassApiUrl } from '../../accounts/lastpass.ts';
import { configError, type TributaryError, transientError } from '../../core/errors.ts';
import { defineSource, type HttpClient } from '../../core/source.ts';
import type { PageRequest, Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import { formatTime, parseTime, zoneOffsetMs } from '../../engine/time-format.ts';

/**
 * LastPass Business events, through the Enterprise API's `reporting` command. Vendor facts
 * (support.lastpass.com, "Event Reporting via LastPass API": API command, Additional details, request and
 * response samples):
 *
 * - `POST https://lastpass.com/enterpriseapi.php` `{cid, provhash, cmd: "reporting", data: {from, to,
 *   user, admin, next}}`; `from`/`to` `YYYY-MM-DD HH:MM:SS`; "To pull data for all users, enter
 *   'allusers'"; `admin: '1'` for admin events only.
 * - "All times should be represented in this time zone: US/Eastern": the request's `from`/`to` and the
 *   events' `Time` are Eastern wall times (EST/EDT, with daylight saving), converted here with the IANA
 *   zone America/New_York (Intl, no dependency).
 * - "Events are sorted by time, in descending order"; an answer holds at most 10,000 events, and `next`
 *   "serves as a paginator when more than 10,000 events occur in the time interval": a microsecond
 *   timestamp sent back as `data.next` for the events at that time or earlier; `next: null` at the end.
 *   (The issue that asked for this source assumed no paging and windows split at the cap; the vendor page
 *   documents `next`, which this source follows.)
 * - The answer `{status: "OK", next, data: {Event1: {Time, Username, IP_Address, Action, Data}, …}}`;
 *   errors are HTTP 200 answers with another `status` and an `error` description (the provisioning
 *   commands' Response sections).
 *
 * How it reads (engine: time windows, newest first). Each window is asked as `from` = its start and `to`
 * = its end in Eastern time, whole seconds; `next` pages go on inside it. The request kept in the
 * checkpoint is the body WITHOUT `cid` and `provhash`: the account kind adds them when each request is
 * sent (accounts/lastpass.ts). Events have no id: the id is a hash of the event's fields and its
 * occurrence among identical events of the same answer, so an event read again (window overlap) keeps its id.
 *
 * Not confirmed in public documentation, assumed: `from`/`to` inclusive; empty `data` as `[]`; the error
 * texts; how long LastPass keeps events; rate limits (none published). In the hour that repeats when
 * daylight saving ends, an Eastern `Time` is ambiguous: it is read as the first (EDT) occurrence, and
 * windows next to a change of offset ask one hour more on each side so no event is missed.
 */

export const EASTERN = 'America/New_York';
const WALL = '%Y-%m-%d %H:%M:%S';
const HOUR = 3_600_000;

export interface LastPassSettings {
  user: string;
  adminOnly: boolean;
  baseUrl?: string;
}

const settings = z
  .object({
    user: z
      .string()
      .trim()
      .min(1, "expected a LastPass username (email), or 'allusers'")
      .default('allusers')
      .meta({ title: 'User' })
      .describe("Whose events to read: 'allusers' (every user), or one username (email)"),
    adminOnly: z
      .boolean()
      .default(false)
      .meta({ title: 'Admin events only' })
      .describe('Read only admin events (admin: 1)'),
  })
  .strict();

const endpoint = (s: LastPassSettings, a: LastPassAccount) =>
  `${(s.baseUrl ?? lastpassApiUrl(a)).replace(/\/+$/, '')}/enterpriseapi.php`;

/** Eastern wall time of `ms`, whole seconds. */
export const eastern = (ms: number) => formatTime(ms, WALL, EASTERN);

/** True within an hour of a change of the Eastern offset (daylight saving starts or ends). */
const nearOffsetChange = (ms: number) =>
  zoneOffsetMs(EASTERN, ms - HOUR) !== zoneOffsetMs(EASTERN, ms + HOUR);

/** The `reporting` body of a window, without credentials (the account kind adds them when sending). */
export function reportingBody(s: LastPassSettings, start: number, end: number, next?: string): string {
  const from = Math.floor(start / 1000) * 1000 - (nearOffsetChange(start) ? HOUR : 0);
  const to = Math.ceil(end / 1000) * 1000 + (nearOffsetChange(end) ? HOUR : 0);
  const data: Record<string, string> = { from: eastern(from), to: eastern(to), user: s.user };
  if (s.adminOnly) data.admin = '1';
  if (next !== undefined) data.next = next;
  return JSON.stringify({ cmd: 'reporting', data });
}

/** A LastPass `Time` (Eastern wall time) in UTC ms, or undefined. */
export const eventTime = (e: any) =>
  typeof e?.Time === 'string' ? parseTime(e.Time, WALL, EASTERN) : undefined;

/** The id of an event: a hash of its fields, and which of identical events in one answer it is. */
export function lastpassEventId(e: Record<string, unknown>, occurrence = 1): string {
  const fields = ['Time', 'Username', 'IP_Address', 'Action', 'Data'].map((k) => e[k] ?? null);
  const rest = Object.keys(e)
    .filter((k) => !['Time', 'Username', 'IP_Address', 'Action', 'Data'].includes(k))
    .sort()
    .map((k) => [k, e[k]]);
  const hash = createHash('sha256')
    .update(JSON.stringify([fields, rest]))
    .digest('hex')
    .slice(0, 32);
  return occurrence > 1 ? `${hash}-${occurrence}` : hash;
}

const occurrences = new WeakMap<object, number>();

/** The answer's events (newest first), or the error LastPass answered with HTTP 200. */
export function answerEvents(body: any): unknown[] {
  if (!body || typeof body !== 'object') return body;
  if (body.status !== 'OK') throw refusal(body);
  const data = body.data;
  const list = Array.isArray(data) ? data : data && typeof data === 'object' ? Object.values(data) : [];
  const seen = new Map<string, number>();
  for (const e of list) {
    if (!e || typeof e !== 'object') continue;
    const key = lastpassEventId(e as Record<string, unknown>);
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    occurrences.set(e, n);
  }
  return list;
}

function refusal(body: any): TributaryError {
  const said = (Array.isArray(body?.error) ? body.error : [body?.error])
    .filter((x: unknown) => typeof x === 'string' && x)
    .join('; ')
    .slice(0, 200);
  const status = typeof body?.status === 'string' ? body.status : 'no status';
  if (/auth|provhash|cid|permission|denied/i.test(said) || !said)
    return configError(
      'lastpass_refused',
      `LastPass refused the Enterprise API request (${status}${said ? `: ${said}` : ''}).`,
      "Check the account's company ID (CID) and provisioning hash (Admin Console → Advanced → Enterprise API; a reset hash replaces the old one) and its API URL (lastpass.eu for EU accounts).",
    );
  return transientError(
    'lastpass_error',
    `LastPass answered the reporting request with ${status}: ${said}.`,
    'Tributary retries on the next run; if it repeats, check the collector settings (user) and report it with the logs.',
  );
}

/** The next page: the same window with `data.next` = the answer's `next`. */
const nextPager: Paginator = {
  next({ request, body }) {
    const next = body?.next;
    if (next === undefined || next === null || next === '') return undefined;
    const parsed = JSON.parse(request.body ?? '{}');
    return { ...request, body: JSON.stringify({ ...parsed, data: { ...parsed.data, next: String(next) } }) };
  },
};

const events = restPoll<LastPassSettings, LastPassAccount>({
  title: 'Events',
  description:
    'Every reporting event of the LastPass Business account: logins and failed logins, vault changes, shared folders, admin and policy changes.',
  url: ({ settings: s, account }) => endpoint(s, account),
  method: 'POST',
  request: ({ settings: s, account }, w): PageRequest => ({
    url: endpoint(s, account),
    body: reportingBody(s, w.start.getTime(), w.end.getTime()),
  }),
  records: answerEvents,
  paginate: nextPager,
  cursor: {
    time: eventTime,
    order: 'desc',
    minOverlap: '1s',
    maxWindow: '1d',
  },
  eventId: (e) => (e && typeof e === 'object' ? lastpassEventId(e, occurrences.get(e) ?? 1) : undefined),
  missingId: 'LastPass event that is not an object',
});

export default defineSource<LastPassSettings, LastPassAccount>({
  id: 'lastpass',
  title: 'LastPass',
  account: 'lastpass',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'LastPass Business reporting events (logins, failed logins, vault and shared-folder changes, admin and policy changes) from the Enterprise API.',
  setupGuide: [
    '1. Sign in to the **LastPass Admin Console** as an admin of the LastPass Business account.',
    '2. Copy the **account number (CID)** from the account menu (or the dashboard).',
    '3. **Advanced → Enterprise API**: create (or reset) the **provisioning hash** and copy it, without the',
    '   quotation marks. Anyone holding it can use the whole Enterprise API (also provisioning): treat it as an',
    '   admin password; resetting it replaces the old one.',
    '4. Create a **LastPass** account in Tributary with the CID and the provisioning hash; accounts in the EU',
    '   data center set the API URL to `https://lastpass.eu`.',
    '',
    'Tributary sends only the `reporting` command (it reads). The CID and hash travel inside each request body,',
    'as LastPass requires; they are added when the request is sent and never stored with the checkpoint.',
    '',
    'Early access, not confirmed by LastPass’s public documentation: whether `from` and `to` are inclusive, how',
    'long events are kept, rate limits (Tributary sends at most 1 request a second), the exact error texts, and',
    'the EU host. Event times are US/Eastern as documented and converted to UTC; in the hour repeated when',
    'daylight saving ends, a time is read as its first (EDT) occurrence.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<LastPassSettings>,
  streams: { events },
  explain({ status }) {
    if (status === 403)
      return {
        code: 'lastpass_forbidden',
        action:
          "LastPass refused the request: check the account's API URL (lastpass.com, or lastpass.eu for EU accounts) and that the network may reach it.",
      };
    if (status === 404)
      return {
        code: 'lastpass_not_found',
        action:
          "No Enterprise API at the account's API URL: use https://lastpass.com or https://lastpass.eu.",
      };
    return undefined;
  },
  async test({ settings: s, account, http }) {
    // Proves the CID and provisioning hash, and that reporting is allowed: the last minute's events.
    await reportingAnswer(http, endpoint(s, account), reportingBody(s, Date.now() - 60_000, Date.now()));
  },
});

async function reportingAnswer(http: HttpClient, url: string, body: string): Promise<unknown[]> {
  const { body: answer } = await http.requestJson({
    method: 'POST',
    readOnly: true,
    url,
    headers: { 'content-type': 'application/json' },
    body,
  });
  return answerEvents(answer);
}
