import { z } from 'zod';
import type { SplunkAccount } from '../../accounts/splunk.ts';
import { parseDuration } from '../../core/duration.ts';
import { toIsoTime } from '../../core/envelope.ts';
import { configError, TributaryError, transientError } from '../../core/errors.ts';
import { type Batch, defineSource, type RawEvent, type ReadContext } from '../../core/source.ts';
import { jsonObjects } from '../../engine/json-stream.ts';
import { type TimeWindowCheckpoint, type Window, WindowTracker } from '../../engine/time-window.ts';

/**
 * A Splunk search run over index-time windows (REST API Reference Manual, "Search endpoints"; Search
 * Manual, "Export data using the Splunk REST API", "Specify time modifiers in your search"; the account
 * kind in accounts/splunk.ts):
 *
 * - `POST /services/search/v2/jobs/export` with a form body: `search`, `output_mode=json`, and the time
 *   bounds `index_earliest` (inclusive) / `index_latest` (exclusive) on index time and `earliest_time` /
 *   `latest_time` on event time. Results stream as they are found, one JSON object a line
 *   (`{"preview":false,"offset":N,"result":{…}}`); no search id is kept for later, so nothing is left
 *   behind on the search head. Event searches return newest `_time` first.
 * - A user's concurrent historical searches are limited by role (and instance): past the quota Splunk
 *   answers 503 "Search not executed: The maximum number of concurrent historical searches … has been
 *   reached" (reported with that text, e.g. github.com/hasadna/open-bus/issues/177): waited out and retried.
 * - Inline time modifiers (`earliest=`, `latest=`, `_index_earliest=`, `_index_latest=`) in the SPL override
 *   the request's bounds: the search is refused if it has any, so it cannot escape its window. Commands
 *   that write (`collect`, `outputlookup`, `delete`, `sendemail`, …) are refused too: collectors only read.
 * - Errors: `{"messages":[{"type","text"}]}`; 401 not authenticated, 403 without the `search` capability
 *   or access to the index, 400 for SPL that does not parse.
 *
 * How it reads (engine: time windows on `_indextime`). Each window [start, end) of index time, `lag`
 * behind now (5 minutes by default: forwarders and indexing queues), at most `maxWindow` long, asks
 * `index_earliest=start`, `index_latest=end`, and event-time bounds `timeSkew` wider (bucket pruning: an
 * event whose own time differs from its index time by more is not found). The stream is read as it
 * arrives, delivered in batches of `batchSize`; mid-window the checkpoint keeps the window and the
 * results delivered (`offset`), and a resumed window skips them (the results of a closed index-time window
 * come in the same order). A stream cut off mid-way is asked again, skipping what was read. Ids are
 * `_bkt:_cd` (bucket and offset in it), the time `_time`; results without them (a transforming search) get
 * a hash of the result.
 */

export interface SplunkSettings {
  search: string;
  lag: string;
  timeSkew: string;
  maxWindow: string;
  batchSize: number;
  baseUrl?: string;
}

const TIME_MODIFIER =
  /(^|[\s[(|])(_?index_earliest|_?index_latest|earliest|latest|starttime|endtime|starttimeu|endtimeu)\s*=/i;
const WRITE_COMMANDS = [
  'collect',
  'delete',
  'mcollect',
  'meventcollect',
  'outputcsv',
  'outputlookup',
  'outputtext',
  'script',
  'run',
  'sendalert',
  'sendemail',
  'tscollect',
  'dump',
];
const WRITE_COMMAND = new RegExp(`\\|\\s*(${WRITE_COMMANDS.join('|')})\\b`, 'i');
const duration = (what: string) =>
  z.string().refine(
    (v) => {
      try {
        return parseDuration(v) >= 0;
      } catch {
        return false;
      }
    },
    { message: `expected a duration such as 5m, 1h or 1d (${what})` },
  );

const settings = z
  .object({
    search: z
      .string()
      .trim()
      .min(1, 'required: the SPL search to run, e.g. index=main sourcetype=linux_secure')
      .superRefine((spl, ctx) => {
        const mod = TIME_MODIFIER.exec(spl);
        if (mod)
          ctx.addIssue({
            code: 'custom',
            message: `remove the time modifier ${mod[2]}=: Tributary sets each window's bounds itself (index_earliest/index_latest), and a modifier in the search would override them`,
          });
        const write = WRITE_COMMAND.exec(spl);
        if (write)
          ctx.addIssue({
            code: 'custom',
            message: `the command ${write[1]} changes data in Splunk; collectors only read`,
          });
      })
      .meta({ title: 'Search (SPL)' })
      .describe(
        'The SPL to run over each index-time window, e.g. index=main sourcetype=linux_secure (no earliest=/latest=: the window is set by Tributary)',
      ),
    lag: duration('lag')
      .default('5m')
      .meta({ title: 'Lag' })
      .describe('How far behind now each window ends (events still in forwarders or indexing queues)'),
    timeSkew: duration('timeSkew')
      .default('1d')
      .meta({ title: 'Event time skew' })
      .describe(
        'How far an event’s own time (_time) may lie from its index time and still be found (event-time bounds of each search)',
      ),
    maxWindow: duration('maxWindow')
      .default('1h')
      .meta({ title: 'Longest window' })
      .describe('The longest index-time span one search covers'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(50_000)
      .default(1000)
      .meta({ title: 'Events per batch' })
      .describe('Results delivered (and checkpointed) together'),
  })
  .strict();

/** The search as the export endpoint wants it: starting with `search` or a pipe. */
export function searchText(spl: string): string {
  return /^(search\s|\|)/i.test(spl.trim()) ? spl.trim() : `search ${spl.trim()}`;
}

/** The export request's form for one window. */
export function exportForm(s: SplunkSettings, w: Window): URLSearchParams {
  const skew = parseDuration(s.timeSkew);
  const sec = (ms: number) => String(Math.floor(ms / 1000));
  return new URLSearchParams({
    search: searchText(s.search),
    output_mode: 'json',
    index_earliest: sec(w.start.getTime()),
    index_latest: sec(w.end.getTime()),
    earliest_time: sec(w.start.getTime() - skew),
    latest_time: sec(w.end.getTime() + skew),
  });
}

const base = (s: SplunkSettings, a: SplunkAccount) => (s.baseUrl ?? a.url).replace(/\/+$/, '');
const EXPORT_PATH = '/services/search/v2/jobs/export';
/** A window's results may take long to stream: the whole answer, not just its start, is timed. */
const EXPORT_TIMEOUT_MS = 30 * 60_000;
const STREAM_ATTEMPTS = 3;

function eventOf(result: Record<string, unknown>): { raw: unknown; id?: string; time?: string; t?: number } {
  const bkt = result._bkt;
  const cd = result._cd;
  const id = typeof bkt === 'string' && typeof cd === 'string' ? `${bkt}:${cd}` : undefined;
  const indexed = Number(result._indextime);
  return {
    raw: result,
    id,
    time: toIsoTime(result._time),
    t: Number.isFinite(indexed) ? indexed * 1000 : undefined,
  };
}

/** A vendor message of an export line (`{"messages":[{"type":"FATAL","text":…}]}`) that ends the search. */
function fatal(value: any): string | undefined {
  const m = Array.isArray(value?.messages)
    ? value.messages.find((x: any) => x?.type === 'FATAL' || x?.type === 'ERROR')
    : undefined;
  return typeof m?.text === 'string' ? m.text : undefined;
}

async function* readWindows(ctx: ReadContext<SplunkSettings, SplunkAccount>): AsyncGenerator<Batch> {
  const s = ctx.settings;
  const tracker = new WindowTracker(
    { time: (r) => Number(r?._indextime) * 1000, lag: s.lag, order: 'any', maxWindow: s.maxWindow },
    ctx,
  );
  const url = `${base(s, ctx.account)}${EXPORT_PATH}`;
  for (let window = tracker.nextWindow(); window; window = tracker.nextWindow()) {
    const form = exportForm(s, window).toString();
    // Results delivered of this window before (a resumed window) and in this run.
    let read = Number(window.resume?.state?.offset ?? 0);
    let events: RawEvent[] = [];
    let delivered: Array<{ id: string; time: number | undefined }> = [];
    for (let attempt = 1; ; attempt++) {
      ctx.signal.throwIfAborted();
      const res = await ctx.http.request({
        method: 'POST',
        readOnly: true, // a search: it reads, and export keeps no job behind (see the header)
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
        timeoutMs: EXPORT_TIMEOUT_MS,
      });
      let index = 0;
      try {
        if (!res.body) throw new Error('no body');
        for await (const item of jsonObjects(res.body as AsyncIterable<Uint8Array>)) {
          if ('error' in item) throw new Error(`a line that is not JSON: ${item.error}`);
          const value = item.value as any;
          const bad = fatal(value);
          if (bad)
            throw configError(
              'splunk_search_failed',
              `Splunk stopped the search: ${bad}`,
              "Check the collector's search in Splunk's Search app over a short time range, fix it, and save the collector again.",
            );
          if (value?.preview !== false || !value?.result || typeof value.result !== 'object') continue;
          if (++index <= read) continue; // delivered before
          const e = eventOf(value.result);
          read = index;
          if (e.id !== undefined && tracker.isSeen(e.id)) continue;
          events.push({ raw: e.raw, id: e.id, time: e.time });
          if (e.id !== undefined) delivered.push({ id: e.id, time: e.t });
          if (events.length >= s.batchSize) {
            yield {
              events,
              checkpoint: tracker.afterPage(delivered, { url, state: { offset: read } }),
              pages: 0,
            };
            events = [];
            delivered = [];
          }
        }
        break;
      } catch (err) {
        if (err instanceof TributaryError || ctx.signal.aborted) throw err;
        // Cut off mid-stream: asked again, the results already read skipped.
        if (attempt >= STREAM_ATTEMPTS)
          throw transientError(
            'splunk_export_interrupted',
            `The search results of one window stopped ${STREAM_ATTEMPTS} times mid-stream (${(err as Error).message}).`,
            'Retried on the next run from the last checkpoint; if it repeats, check the network path to the management port and the search head’s health.',
          );
        ctx.log.warn('search results cut off, asking again', { stream: ctx.stream, read, attempt });
      }
    }
    const checkpoint: TimeWindowCheckpoint = tracker.afterPage(delivered, undefined);
    yield { events, checkpoint, pages: 1 };
  }
}

export default defineSource<SplunkSettings, SplunkAccount>({
  id: 'splunk',
  title: 'Splunk',
  account: 'splunk',
  stability: 'early-access',
  family: 'query',
  description:
    'The results of an SPL search over Splunk Enterprise or Splunk Cloud Platform, run over index-time windows through the REST API export endpoint.',
  setupGuide: [
    '1. Create a **role** for Tributary (Settings → Roles → New Role) that inherits nothing it does not need: the',
    '   `search` capability, access to the indexes the search reads (Indexes tab), and a **concurrent historical',
    '   searches** quota of at least 2 (Resources tab). Keep `rtsearch`, `schedule_search` and write capabilities off.',
    '2. Create a **user** with that role, then an **authentication token** for it (Settings → Tokens → New Token;',
    '   token authentication must be enabled). Without tokens, the user name and password work too (Basic).',
    '3. The REST API listens on the **management port** (8089). On Splunk Cloud Platform, ask Splunk Support to open',
    "   it for Tributary's IP addresses. Port 8088 (HTTP Event Collector) cannot search.",
    '4. Create a **Splunk** account in Tributary with `https://<host>:8089` and the token (or username and password),',
    '   and write the search without time modifiers, e.g. `index=main sourcetype=linux_secure`: Tributary runs it over',
    '   each index-time window itself.',
    '',
    'Each window is one search: a collector uses one of the role’s concurrent searches while it runs; when the',
    'quota is spent Splunk answers 503 and Tributary waits and retries. Commands that write (`collect`,',
    '`outputlookup`, `delete`, `sendemail`, …) are refused.',
    '',
    'Early access: export-endpoint behaviour (result order of a closed index-time window, used to resume inside',
    'one) is inferred from the Search Manual, not stated by it.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<SplunkSettings>,
  streams: {
    search: {
      title: 'Search results',
      description: 'One record per search result (events: their fields and _raw).',
      read: readWindows,
    },
  },
  explain({ status, message }) {
    if (status === 401)
      return {
        code: 'splunk_not_authenticated',
        action:
          'Splunk refused the credentials: check the token (not expired, not disabled, token authentication on) or the username and password, and that the URL is the management port.',
      };
    if (status === 403)
      return {
        code: 'splunk_not_allowed',
        action: `The user may not run this search (${message}): give its role the search capability and access to the indexes the search reads (setup guide, step 1).`,
      };
    if (status === 400)
      return {
        code: 'splunk_search_invalid',
        action: `Splunk refused the search (${message}): run it in Splunk's Search app, fix it, and save the collector again.`,
      };
    return undefined;
  },
  rateLimited({ status, body }) {
    // The role's (or instance's) concurrent-search quota: retried after a while, never a config error.
    return status === 503 && /concurrent/i.test(body) ? { defaultWaitMs: 30_000 } : undefined;
  },
  async test({ settings: s, account, http }) {
    const { body } = await http.getJson(`${base(s, account)}/services/authentication/current-context`, {
      output_mode: 'json',
    });
    const caps: unknown = body?.entry?.[0]?.content?.capabilities;
    if (Array.isArray(caps) && !caps.includes('search'))
      throw configError(
        'splunk_no_search_capability',
        `The Splunk user ${body.entry[0].content.username ?? ''} may not run searches.`,
        'Give its role the `search` capability (Settings → Roles → Capabilities), as the setup guide says.',
      );
    // The search itself, over the last minute: proves that it parses and that the indexes are readable.
    const now = Date.now();
    const res = await http.request({
      method: 'POST',
      readOnly: true,
      url: `${base(s, account)}${EXPORT_PATH}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: exportForm(s, { start: new Date(now - 60_000), end: new Date(now) }).toString(),
    });
    for await (const item of jsonObjects(res.body as AsyncIterable<Uint8Array>)) {
      const bad = 'value' in item ? fatal(item.value) : undefined;
      if (bad)
        throw configError(
          'splunk_search_failed',
          `Splunk stopped the search: ${bad}`,
          "Fix the collector's search.",
        );
    }
  },
});
