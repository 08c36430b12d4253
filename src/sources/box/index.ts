import { z } from 'zod';
import { type BoxAccount, boxApiUrl } from '../../accounts/box.ts';
import { type Batch, defineSource, type ReadContext } from '../../core/source.ts';
import type { OpaqueCheckpoint } from '../../engine/opaque-cursor.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Box enterprise events, through the Enterprise Event Stream. Vendor facts:
 *
 * - developer.box.com/guides/events/enterprise-events/for-enterprise ("Get Enterprise Events"): `GET
 *   /2.0/events` with `stream_type=admin_logs_streaming` ("Live Monitoring"): near real time, "Box may return
 *   events more than once and out of chronological order … A small delay/buffer ensures that new events are
 *   not written after your cursor position. Only two weeks of events are available via this stream_type."
 *   The caller must be "an enterprise admin or co-admin with the permission to Run new reports and access
 *   existing reports".
 * - developer.box.com/reference/get-events ("List user and enterprise events"): `stream_position` (`0`: all
 *   events kept; `now`: no events and the latest position), `limit` (default 100, maximum 500); the answer
 *   `{chunk_size, next_stream_position, entries}`, each entry an Event with its `event_id` and `created_at`.
 *   A `chunk_size` below `limit` means Box has no more events for now (Box's answer on its developer forum,
 *   "Is there any Box Event API to capture user creation and login").
 * - guides/api-calls/permissions-and-errors/rate-limits: 1000 requests a minute per user (the account
 *   kind's budget), 429 with `retry-after`.
 *
 * How it reads (engine: opaque cursor). The position is Box's `next_stream_position`, stored verbatim
 * after every chunk; when a chunk is short the run ends and Box's newest position is kept for the next. An
 * event Box sends again on the following chunk is not delivered twice (`repeats`: each chunk's ids are kept
 * with the position); one repeated from further back is delivered again under the same `event_id`
 * (at-least-once). A position older than two weeks is a gap warning: Box no longer has the events between
 * it and two weeks ago. The first run starts at the oldest event Box keeps (`0`, up to two weeks), or at
 * `now`: the stream takes no time filter, so the collector's lookback does not apply.
 *
 * History (`startAt: lookback`): the Event History API, `stream_type=admin_logs` ("Historical Querying":
 * "historical events across the enterprise up to one year old … in chronological order and without
 * duplicates, but with higher latency … Consuming events in near real time may lead to missed events"), with
 * `created_after`/`created_before` (RFC 3339). A first run whose lookback reaches further back than the
 * stream keeps reads the history from the lookback up to 13 days ago (a day inside the stream's two weeks, so
 * the history's latency never matters), then the stream from its oldest event: nothing is missed between
 * the two, and the day they share may deliver an event twice under its `event_id` (at-least-once). The
 * history's position is its own opaque cursor, saved with a marker, so a crash resumes it; once complete the
 * stream goes on as usual.
 */

export interface BoxSettings {
  pageSize: number;
  startAt: 'oldest' | 'now' | 'lookback';
  baseUrl?: string;
  /** Set by the stream for a history pass: where it ends (ISO). */
  historyUntil?: string;
}

/** The history keeps a year; it is read up to a day inside the stream's two weeks. */
const HISTORY_DAYS = 365;
const DAY_MS = 86_400_000;
const HISTORY_UNTIL_MS = 13 * DAY_MS;
/** The stream's two weeks, less an hour: a history ending before that no longer meets the stream. */
const STREAM_REACH_MS = 14 * DAY_MS - 3_600_000;
/** A history pass starts this long before the last one ended (the boundary's events repeat, keeping their ids). */
const PASS_OVERLAP_MS = 60_000;

/**
 * The checkpoint while the first run reads the Event History API, before the stream: the history's own
 * position and where this pass ends (`until`); `phase: 'stream'` once every pass is complete, still with
 * `until`, until the stream's first batch.
 */
interface HistoryCheckpoint {
  phase: 'history' | 'stream';
  history?: OpaqueCheckpoint;
  from?: string;
  until: string;
}

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(500)
      .default(500)
      .meta({ title: 'Events per request' })
      .describe('Events asked for per request (Box allows at most 500)'),
    startAt: z
      .enum(['oldest', 'now', 'lookback'], {
        error: () =>
          "expected oldest (everything the stream keeps, two weeks), now, or lookback (the collector's lookback, up to a year)",
      })
      .default('oldest')
      .meta({ title: 'First run starts at' })
      .describe(
        "oldest: every event the stream keeps (two weeks); now: only events from the first run on; lookback: the collector's lookback, up to a year (older events from the Event History API)",
      ),
  })
  .strict();

const api = (s: BoxSettings, a: BoxAccount) => (s.baseUrl ?? boxApiUrl(a)).replace(/\/+$/, '');

/** The Event History API, from the first run's start to a day inside the stream's two weeks. */
const history = restPoll<BoxSettings, BoxAccount>({
  title: 'Enterprise event history',
  url: ({ settings: s, account }) => `${api(s, account)}/events`,
  params: ({ settings: s, now }, w) => ({
    stream_type: 'admin_logs',
    // Box keeps a year: an older lookback starts at its oldest.
    created_after: new Date(Math.max(w.start.getTime(), now() - HISTORY_DAYS * DAY_MS)).toISOString(),
    created_before: s.historyUntil,
    stream_position: '0',
    limit: s.pageSize,
  }),
  records: (body) => body?.entries,
  paginate: paginate.cursor({ param: 'stream_position', from: 'next_stream_position' }),
  cursor: {
    kind: 'opaque',
    time: 'created_at',
    // A bounded query: only an empty chunk is its end (a short chunk may come while more remain).
    caughtUp: (_body, records) => records.length === 0,
  },
  retention: `${HISTORY_DAYS}d`,
  eventId: (e) => (typeof e?.event_id === 'string' && e.event_id ? e.event_id : undefined),
  missingId: 'Box event without an event_id',
});

const enterpriseEvents = restPoll<BoxSettings, BoxAccount>({
  title: 'Enterprise events',
  description:
    'Every event of the enterprise (logins, uploads, downloads, previews, shares, collaborations, admin changes) from the Enterprise Event Stream (admin_logs_streaming).',
  url: ({ settings: s, account }) => `${api(s, account)}/events`,
  params: ({ settings: s }) => ({
    stream_type: 'admin_logs_streaming',
    stream_position: s.startAt === 'now' ? 'now' : '0',
    limit: s.pageSize,
  }),
  records: (body) => body?.entries,
  paginate: paginate.cursor({ param: 'stream_position', from: 'next_stream_position' }),
  cursor: {
    kind: 'opaque',
    time: 'created_at',
    // A chunk shorter than the limit asked for: Box has nothing more for now (also `now`'s empty answer).
    caughtUp: (_body, records, request) => records.length < Number(request.query?.limit ?? 100),
    repeats: true,
  },
  eventId: (e) => (typeof e?.event_id === 'string' && e.event_id ? e.event_id : undefined),
  missingId: 'Box event without an event_id',
});

/**
 * The stream, preceded on a first run with `startAt: lookback` by the history its two weeks do not reach. The
 * stream's own checkpoint is Box's position (an opaque cursor); the history's is marked with its phase and
 * where it ends. A history that ends before the stream reaches back (a pass resumed days later, or the stream
 * started days after the last pass) gets another pass from where it ended, so the two always meet.
 */
async function* readEnterpriseEvents(ctx: ReadContext<BoxSettings, BoxAccount>): AsyncGenerator<Batch> {
  let cp = ctx.checkpoint as (OpaqueCheckpoint & Partial<HistoryCheckpoint>) | undefined;
  const now = ctx.now();
  const pass = (from: number): HistoryCheckpoint => ({
    phase: 'history',
    from: new Date(from).toISOString(),
    until: new Date(ctx.now() - HISTORY_UNTIL_MS).toISOString(),
  });
  if (cp === undefined && ctx.settings.startAt === 'lookback') {
    const start = ctx.window.start ? Date.parse(ctx.window.start) : now - ctx.window.lookbackMs;
    if (start < now - HISTORY_UNTIL_MS) cp = pass(start) as OpaqueCheckpoint & HistoryCheckpoint;
  }
  // The stream no longer reaches back to where the history ended: read the history on from there.
  if (cp?.phase === 'stream' && cp.until && Date.parse(cp.until) < now - STREAM_REACH_MS)
    cp = pass(Date.parse(cp.until) - PASS_OVERLAP_MS) as OpaqueCheckpoint & HistoryCheckpoint;
  while (cp?.phase === 'history') {
    const h: HistoryCheckpoint = { phase: 'history', from: cp.from, until: cp.until as string };
    const passCtx = {
      ...ctx,
      checkpoint: cp.history,
      window: { ...ctx.window, start: h.from },
      settings: { ...ctx.settings, historyUntil: h.until },
    };
    for await (const b of history.read(passCtx))
      yield { ...b, checkpoint: { ...h, history: b.checkpoint as OpaqueCheckpoint } };
    cp =
      Date.parse(h.until) < ctx.now() - STREAM_REACH_MS
        ? (pass(Date.parse(h.until) - PASS_OVERLAP_MS) as OpaqueCheckpoint & HistoryCheckpoint)
        : undefined;
    // Every pass is complete: the stream starts at its oldest event, a day before the history ended.
    if (!cp) yield { events: [], checkpoint: { phase: 'stream', until: h.until } };
  }
  if (cp?.phase === 'stream') cp = undefined;
  yield* enterpriseEvents.read({ ...ctx, checkpoint: cp, settings: { ...ctx.settings, startAt: 'oldest' } });
}

export default defineSource<BoxSettings, BoxAccount>({
  id: 'box',
  title: 'Box',
  account: 'box',
  stability: 'ga',
  family: 'rest-cursor',
  description:
    'Box enterprise events (logins, uploads, downloads, previews, shares, collaborations, user and admin changes) from the Enterprise Event Stream.',
  setupGuide: [
    '1. In the **Box Developer Console** (as a user with 2FA on): **Create Platform App → Custom App**, authentication',
    '   **Server Authentication (with Client Credentials Grant)**.',
    "2. In the app's **Configuration**: App Access Level **App + Enterprise Access**; Application Scopes:",
    '   **Manage enterprise properties** (reading enterprise events). Save, then copy the **Client ID** and the',
    '   **Client Secret** (OAuth 2.0 Credentials).',
    '3. A Box admin authorises the app: **Admin Console → Apps → Platform Apps Manager → Add Platform App**, with',
    '   the Client ID. After any change of scopes or access level, authorise it again.',
    "4. The app's Service Account must be allowed to read reports: in the Admin Console make it a **co-admin**",
    '   with **Run new reports and access existing reports** (Box refuses enterprise events otherwise, 403).',
    "5. Note the **Enterprise ID** (Admin Console → Account & Billing, or the app's General Settings).",
    '6. Create a **Box** account in Tributary with the Client ID, Client Secret and Enterprise ID.',
    '',
    'Box keeps two weeks of events in this stream: run the collector at least daily. The first run reads everything',
    'the stream still keeps (or starts now, with **First run starts at** = now). With **First run starts at** =',
    "lookback, it reads the collector's lookback, up to a year: the part older than the stream's two weeks from the",
    'Event History API, then the stream.',
    '',
    'JWT apps (Server Authentication with JWT) work too: instead of step 1, choose **Server Authentication (with',
    'JWT)**, add a public key (Configuration → Add and Manage Public Keys → Generate a Public/Private Keypair downloads',
    'a config.json), and give the account the Client ID and Secret, `publicKeyId` (appAuth.publicKeyID), `privateKey`',
    '(appAuth.privateKey) and `passphrase` (appAuth.passphrase) from that file, with the Enterprise ID.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<BoxSettings>,
  retention: '14d',
  streams: {
    'enterprise-events': {
      title: enterpriseEvents.title,
      description: enterpriseEvents.description,
      read: (ctx) =>
        ctx.settings.startAt === 'lookback' || (ctx.checkpoint as HistoryCheckpoint | undefined)?.phase
          ? readEnterpriseEvents(ctx)
          : enterpriseEvents.read(ctx),
    },
  },
  explain({ status, body }) {
    let code: string | undefined;
    try {
      code = JSON.parse(body)?.code;
    } catch {}
    if (status === 401)
      return {
        code: 'box_invalid_token',
        action:
          "Box refused the access token twice in a row: check that the app is still authorised in the Admin Console (Apps → Platform Apps Manager) and that the account's Client ID, Client Secret and Enterprise ID belong to it.",
      };
    if (status === 403)
      return {
        code: 'box_events_forbidden',
        action:
          "Box refused enterprise events: give the app the 'Manage enterprise properties' scope with App + Enterprise Access (then authorise it again in the Admin Console), and make its Service Account a co-admin with 'Run new reports and access existing reports'.",
      };
    if (status === 400 && code === 'invalid_parameter')
      return {
        code: 'box_invalid_stream_position',
        action:
          'Box refused the saved stream position. Reset the checkpoint of the enterprise-events stream: the collector starts again from the oldest event Box keeps (events already delivered are sent again under the same ids).',
      };
    return undefined;
  },
  async test({ settings: s, account, http }) {
    // Proves the token (Client Credentials Grant) and the reporting permission: `now` reads no events.
    await http.getJson(`${api(s, account)}/events`, {
      stream_type: 'admin_logs_streaming',
      stream_position: 'now',
      limit: 1,
    });
  },
});
