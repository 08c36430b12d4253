import { z } from 'zod';
import { type ProofpointTapAccount, proofpointTapUrl } from '../../accounts/proofpoint-tap.ts';
import { defineSource, type ReadContext, type StreamDef } from '../../core/source.ts';
import type { Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Proofpoint Targeted Attack Protection (TAP) SIEM API. Vendor facts (help.proofpoint.com,
 * Threat_Insight_Dashboard/API_Documentation/SIEM_API):
 *
 * - "General Service Notes": "A maximum of one hour of data can be requested in a single transaction"; "No
 *   paging support is available; all the applicable events in the requested time period will be returned";
 *   "The results … may not be in any logical order"; item 8: "The maximum time into the past that can be
 *   queried is 7 days with a maximum fetch time of 1 hour" (an older version of the page said twelve hours).
 *   Timestamps are UTC; JSON with `format=json`.
 * - Endpoints `/v2/siem/messages/delivered`, `/messages/blocked`, `/clicks/permitted`, `/clicks/blocked` (and
 *   `/all`), with `interval=<ISO-8601 start>/<end>`; the JSON body holds the endpoint's arrays
 *   (`messagesDelivered`, `messagesBlocked`, `clicksPermitted`, `clicksBlocked`) and `queryEndTime`.
 * - "Standard Responses": 200 with records, 204 when none matched (engine: readJson).
 * - Windows select events by the time they were created (the later of the message time and the time its
 *   threat was recognized), not the time they happened; an interval is 30 s to 1 h (Okta Workflows'
 *   Proofpoint connector reference, "Read Delivered Malicious Messages").
 * - Ids: messages and clicks carry `id`, the event's UUID ("The unique id of the click"); messages also
 *   `GUID`, the message's id in PPS.
 *
 * How it reads. Each stream has its own endpoint and position, so one stream's failure never holds back
 * another's, at one request per stream and window; windows of at most an hour, read once each (no pages),
 * positioned by creation time. Records carry only the time they happened, so windows cannot be clipped by
 * record time: an interval shorter than Proofpoint's 30 s minimum is widened backwards (the overlap's ids
 * are the same events again, de-duplicated by id). A position older than 7 days moves up with a gap warning
 * (to 7 days less `EDGE_MARGIN`, so that the oldest window is still inside the 7 days when its request is
 * sent after a wait for the account's budget). The account's budget keeps every collector on it under the
 * daily allowance (see the kind): a catch-up is one request per stream and hour of data, paced by the budget
 * (7 days of four streams: 672 requests, about nine hours at 1,700 a day), each window committed as it is
 * delivered.
 */

export interface TapSettings {
  baseUrl?: string;
}

const settings = z.object({}).strict();

const MIN_INTERVAL_MS = 30_000;
/** How far back Proofpoint serves ("General Service Notes", item 8). */
const RETENTION = '7d';
/**
 * A position older than the 7 days moves up to 7 days less this: a window clamped to the very edge would be
 * refused (400) if its request waited for the account's budget, as a catch-up's requests do.
 */
const READ_BACK = '6d23h50m';
const isoSeconds = (ms: number) => `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
const api = (s: TapSettings, a: ProofpointTapAccount) =>
  `${(s.baseUrl ?? proofpointTapUrl(a)).replace(/\/+$/, '')}/v2/siem`;

/** One window is one request: Proofpoint has no pages. */
const onePage: Paginator = { next: () => undefined };

const STREAMS = {
  'messages-delivered': {
    path: 'messages/delivered',
    key: 'messagesDelivered',
    title: 'Messages delivered',
    time: 'messageTime',
    description:
      'Messages delivered to users that contained a threat recognized by URL or Attachment Defense.',
  },
  'messages-blocked': {
    path: 'messages/blocked',
    key: 'messagesBlocked',
    title: 'Messages blocked',
    time: 'messageTime',
    description: 'Messages stopped (quarantined) because they contained a known threat.',
  },
  'clicks-permitted': {
    path: 'clicks/permitted',
    key: 'clicksPermitted',
    title: 'Clicks permitted',
    time: 'clickTime',
    description: 'Clicks on URLs later found malicious that URL Defense let through.',
  },
  'clicks-blocked': {
    path: 'clicks/blocked',
    key: 'clicksBlocked',
    title: 'Clicks blocked',
    time: 'clickTime',
    description: 'Clicks on malicious URLs that URL Defense blocked.',
  },
} as const;

function stream(name: keyof typeof STREAMS): StreamDef<TapSettings, ProofpointTapAccount> {
  const f = STREAMS[name];
  const def = restPoll<TapSettings, ProofpointTapAccount>({
    title: f.title,
    description: f.description,
    url: ({ settings: s, account }) => `${api(s, account)}/${f.path}`,
    params: (_ctx, w) => {
      const end = w.end.getTime();
      const start = Math.min(w.start.getTime(), end - MIN_INTERVAL_MS);
      return { format: 'json', interval: `${isoSeconds(start)}/${isoSeconds(end)}` };
    },
    headers: () => ({ accept: 'application/json' }),
    records: (body) => body?.[f.key] ?? [],
    paginate: onePage,
    cursor: { time: f.time, lag: '2m', order: 'any', maxWindow: '1h' },
    retention: READ_BACK,
    eventId: (r) => (typeof r?.id === 'string' ? r.id : typeof r?.GUID === 'string' ? r.GUID : undefined),
  });
  return { title: f.title, description: f.description, read: (ctx: ReadContext) => def.read(ctx) };
}

export default defineSource<TapSettings, ProofpointTapAccount>({
  id: 'proofpoint-tap',
  title: 'Proofpoint TAP',
  account: 'proofpoint-tap',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Proofpoint Targeted Attack Protection SIEM events: messages delivered and blocked that carried threats, and clicks on malicious URLs permitted and blocked.',
  setupGuide: [
    '1. Sign in to the **TAP dashboard** (threatinsight.proofpoint.com) as an administrator.',
    '2. **Settings → Connected Applications → Create New Credential**: name it (e.g. Tributary) and **Generate**.',
    '3. Copy the **Service Principal** and the **Secret** (shown once) into a **Proofpoint TAP** account.',
    '',
    'Budget: the SIEM API allows about 1,800 requests a day per credential. Each stream makes one request per',
    'hour of data; at the default 5-minute interval the four streams make about 1,150 a day. Give Tributary its',
    'own credential, or lengthen the interval, when other tools use the same one.',
    '',
    'Catching up: Proofpoint serves 7 days back. After an outage Tributary reads the missed hours one request per',
    'stream and hour, paced at 1,700 requests a day: a full 7-day catch-up of the four streams is 672 requests,',
    'about nine hours (a 3-day outage: 288 requests, about 3.6 hours); new events arrive after it. A collector stopped',
    'longer than 7 days reports the gap.',
    '',
    'Early access: the daily allowance and the error bodies are quoted by integrations, not on the public page.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<TapSettings>,
  retention: RETENTION,
  streams: Object.fromEntries(
    (Object.keys(STREAMS) as Array<keyof typeof STREAMS>).map((n) => [n, stream(n)]),
  ),
  explain({ status, message }) {
    if (status === 401)
      return {
        code: 'proofpoint_tap_unauthorized',
        action:
          'Proofpoint rejected the service principal or secret (wrong, deleted or expired). Create a new credential in the TAP dashboard under Settings → Connected Applications and update the account.',
      };
    if (status === 403)
      return {
        code: 'proofpoint_tap_forbidden',
        action: `Proofpoint refused the SIEM API to this credential${message ? ` (${message})` : ''}: create it under Settings → Connected Applications of the TAP dashboard, as an administrator of the organization.`,
      };
    if (status === 400)
      return {
        code: 'proofpoint_tap_bad_request',
        action: `Proofpoint refused the interval${message ? ` (${message})` : ''}: it takes at most one hour, at least 30 seconds, at most 7 days back. Check this host's clock; if it is right, report this with the logs.`,
      };
    if (status === 429)
      return {
        code: 'proofpoint_tap_daily_limit',
        action:
          'Proofpoint throttled the credential: its 24-hour request allowance is spent (shared by every tool using the credential). Give Tributary its own credential or lengthen the collector interval; Tributary retries.',
      };
    return undefined;
  },
  async test({ settings: s, account, http }) {
    // One request (of the daily allowance) over the minimum interval proves the credential and the API.
    const end = Date.now() - 60_000;
    await http.getJson(`${api(s, account)}/clicks/blocked`, {
      format: 'json',
      interval: `${isoSeconds(end - 60_000)}/${isoSeconds(end)}`,
    });
  },
});
