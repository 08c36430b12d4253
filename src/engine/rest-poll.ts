import { parseDuration } from '../core/duration.ts';
import { type RawJson, toIsoTime } from '../core/envelope.ts';
import { gapWarning, TributaryError } from '../core/errors.ts';
import type { Batch, HttpResponse, JsonReader, RawEvent, ReadContext, StreamDef } from '../core/source.ts';
import { type DeltaCursorOptions, readDelta } from './delta-cursor.ts';
import { LoopGuard } from './http.ts';
import { type PageScan, type ReadPage, readJsonPage, scannedRaw, spanValue } from './json-page.ts';
import { type OpaqueCursorOptions, readOpaque } from './opaque-cursor.ts';
import { type PageRequest, type Paginator, pageKey } from './paginate.ts';
import { sleep } from './sleep.ts';
import {
  getPath,
  retentionGap,
  type TimeWindowCheckpoint,
  type TimeWindowOptions,
  type Window,
  WindowTracker,
} from './time-window.ts';

/**
 * The declarative REST poller (docs/architecture.md, "What a source declares"): a stream described by vendor facts — URL, query for a time
 * window, where records are, how pages link, which field is the time and which the id. The runtime
 * delivers each page as one batch and commits the checkpoint it returns after acknowledgement.
 */
export interface RestPollDef<S = any, A = any> {
  title: string;
  description?: string;
  url: (ctx: ReadContext<S, A>) => string;
  params?: (ctx: ReadContext<S, A>, window: Window) => PageRequest['query'];
  headers?: (ctx: ReadContext<S, A>) => Record<string, string>;
  /**
   * GET (the default), or POST for a vendor's read-only query API (search endpoints, GraphQL): each
   * page request's `body` is sent as JSON.
   */
  method?: 'GET' | 'POST';
  /**
   * The definition's POST changes vendor state (BigQuery's jobs.query starts a billed query job): sent as
   * this declared vendor write (also listed in the source's `vendorWrites`) instead of a read-only POST.
   */
  vendorWrite?: string;
  /**
   * A GET answer that is not JSON (Qualys's XML): the page's body made from the response as it arrives. A body
   * cut off mid-stream is asked again, `DECODE_ATTEMPTS` in all, as a JSON answer is inside the HTTP client.
   */
  decode?: (response: HttpResponse, signal: AbortSignal) => Promise<any>;
  /**
   * Builds the first request of a window (URL, query, body, paginator state) instead of `url` +
   * `params`: for requests described by templates, whose later pages the paginator renders again.
   */
  request?: (ctx: ReadContext<S, A>, window: Window) => PageRequest;
  /**
   * The records of a page's answer; `request` is the page's request, whose paginator `state` may hold what
   * an earlier page of the same query said about all of them (Snowflake's column names, sent only with the
   * first partition).
   */
  records?: (body: any, request?: PageRequest) => unknown[];
  /**
   * The page's shape as vendor facts, when it is this simple: the records are the elements of the array at
   * `records` ('' when the answer is that array, else a key of the answer object) and each record's id is
   * its top-level field `id` (a string, or a number written as one). Stands for `records` and `eventId`.
   * A time-window stream whose time field (the cursor's `time`) is top-level as well, read with one of the
   * engine's paginators and none of `eventTime`, `split`, `expand`, `expandPage`, `settle`, `decode`,
   * `windowTooFull` or `cursorExpired`, then has its pages scanned instead of parsed (engine/json-page.ts):
   * the same events, without a parsed tree of every record for the garbage collector.
   */
  shape?: { records: string; id: string };
  paginate: Paginator;
  /** A time window (the default kind), the vendor's own opaque cursor, or a delta link (change tracking). */
  cursor: (TimeWindowOptions & { kind?: 'time-window' }) | OpaqueCursorOptions | DeltaCursorOptions;
  /** The vendor's unique id of a record; required unless `split` gives the ids. */
  eventId?: (record: any) => string | undefined;
  /**
   * A vendor record that bundles several events (a Reports API activity and its events): the events, each
   * with its id, delivered one envelope each; undefined when the record cannot be split (no id). The
   * record's time (the cursor's) is every part's time. Time windows only.
   */
  split?: (record: any) => Array<{ id: string; raw: unknown }> | undefined;
  /** The dead-letter reason of a record without an id (names the vendor's id fields). */
  missingId?: string;
  /** Checks the account or settings before anything is read (throws a config error naming what is missing). */
  check?: (ctx: ReadContext<S, A>) => void;
  /**
   * The lag a source setting gives this stream (Google's per-application lag), which wins over the
   * collector's lag and the cursor's default. Time windows only.
   */
  lagSetting?: (settings: S) => string | undefined;
  /**
   * A part of the stream the vendor keeps less long than the rest (GitHub's Git events, 7 days in a
   * 180-day audit log): a saved position older than that is a gap for that part only, warned with `code`;
   * reading goes on from the position. Time windows only.
   */
  partRetention?: (ctx: ReadContext<S, A>) => PartRetention | undefined;
  /**
   * Offset pages (`$skip`) of a newest-first or unordered list, which a record changing during paging
   * shifts (see `SettleOptions`): each window is read again until a pass over it is known complete.
   * Time windows with `order: 'any'` or `'desc'` only.
   */
  settle?: SettleOptions;
  /** Defaults to the cursor's time field. */
  eventTime?: (record: any) => unknown;
  /** Vendor retention of this stream (defaults to the source's). */
  retention?: string;
  /** A failure that means "this window holds too much": the window is halved and read again. */
  windowTooLarge?: (err: TributaryError) => boolean;
  /**
   * A window's first page whose answer says the window holds more than the vendor lets a query page through
   * (CrowdStrike's alert query: a `total` above its offset cap): the window is halved before anything of it
   * is delivered, rather than failing on a deep page later. Time windows only.
   */
  windowTooFull?: (body: any) => boolean;
  /**
   * A failure of a next-page request (its HTTP error, or an error `records` throws for its answer) — one saved
   * in the checkpoint, or one the previous page of this run gave — that means the vendor's page cursor no longer works (Zoom's `next_page_token` lasts 15 minutes,
   * which a slow destination or long rate-limit waits can outlast mid-run): the window is read again from
   * its first page, and the events it already delivered are suppressed by the boundary ids. At most
   * `MAX_CURSOR_RESTARTS` times per window in a run; then the run stops with `page_cursor_expired`
   * (transient: the next run resumes from the checkpoint).
   */
  cursorExpired?: (err: TributaryError) => boolean;
  /**
   * APIs that list ids and give each record's content on a follow-up call (N+1: Abnormal's threats and
   * cases): the events of one listed record, each with its id and time, built by the source from the calls
   * it makes with `ctx.http` (so under the account's budget). The listed records still drive pagination;
   * `eventId` and `eventTime` are not used for expanded events. With `clip`, events outside the window are
   * left to the window they belong to. Time-window cursors only.
   */
  expand?: (ctx: ReadContext<S, A>, record: any, window: Window) => Promise<RawEvent[]>;
  /**
   * Like `expand`, for a whole page at once: APIs that list ids and give the records of many ids in one
   * follow-up call (CrowdStrike's Alerts API: ids from a query, then the alerts of up to 1000 ids a call).
   * The events of the page's listed records, each with its id and time; the list still drives pagination
   * and the window. Time-window cursors only; not together with `expand`.
   */
  expandPage?: (ctx: ReadContext<S, A>, records: unknown[], window: Window) => Promise<RawEvent[]>;
}

export interface PartRetention {
  /** What the part is, in the plural (`Git events`). */
  what: string;
  retention: string;
  code: string;
  action: string;
}

/**
 * A list paged by offsets counts into the filtered list as it is when each page is asked: when a record
 * already read leaves the window while it is paged (an alert updated out of a `lastUpdateDateTime`
 * window), every later record moves up one place and the one that moves onto a page already read is
 * never returned. A pass over a window is complete when it was one page (one answer), or when every page
 * reported the same total (`count`) and the pass returned exactly that many records, all distinct, or
 * when it returned the same ids as the pass before it. Until then the window is read again from its first
 * page (delivered ids suppressed by the boundary ids: the window starts `overlap` before the position);
 * after `maxPasses` the window is closed with the gap warning `gapCode`. Mid-window the checkpoint keeps
 * the window's first request, not the offset reached (an offset saved minutes ago no longer points where
 * it did).
 */
export interface SettleOptions {
  /** The total the vendor reports for the filtered list on each page (`@odata.count`), if it does. */
  count: (body: any) => unknown;
  /**
   * The record an event id is a version of (`{id}@{updated}` → `{id}`), for lists of records that change:
   * a record updated while the window is paged can move to a later page and be returned twice, as two
   * versions, which must not count as two of the `count` records (the place it left hid another one).
   */
  identity?: (id: string) => string;
  /** Default 4. */
  maxPasses?: number;
  /** The gap warning's code when a window never settles. */
  gapCode: string;
  /** What one record is, for the warning (`alert`). */
  record: (stream: string) => string;
  action: string;
}

export type { OpaqueCheckpoint, OpaqueCursorOptions } from './opaque-cursor.ts';

export function restPoll<S, A>(definition: RestPollDef<S, A>): StreamDef<S, A> {
  const def = withShape(definition);
  if (!def.records) throw new Error(`restPoll ${def.title}: records or shape is required`);
  if (!def.eventId && !def.split) throw new Error(`restPoll ${def.title}: eventId or split is required`);
  const timeWindow = def.cursor.kind === undefined || def.cursor.kind === 'time-window';
  if (!timeWindow && (def.split || def.lagSetting || def.partRetention || def.settle || def.expandPage))
    throw new Error(
      `restPoll ${def.title}: split, lagSetting, partRetention, settle and expandPage need a time window`,
    );
  if (def.expand && def.expandPage) throw new Error(`restPoll ${def.title}: expand or expandPage, not both`);
  return {
    title: def.title,
    description: def.description,
    read: (ctx) => {
      def.check?.(ctx);
      return def.cursor.kind === 'opaque'
        ? readOpaque(def, def.cursor, ctx)
        : def.cursor.kind === 'delta'
          ? readDelta(def, def.cursor, ctx)
          : readTimeWindow(def, def.cursor, ctx);
    },
  };
}

/** `records` and `eventId` from the definition's `shape`, where it has one. */
function withShape<S, A>(def: RestPollDef<S, A>): RestPollDef<S, A> {
  if (!def.shape) return def;
  const { records: at, id } = def.shape;
  return {
    records: at === '' ? (body) => body : (body) => body?.[at],
    eventId: (record) => idOf(record?.[id]),
    ...def,
  };
}

/** A record's id value as the id: a string, or a number written as one (else none). */
function idOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

/** The page shape and fields to scan for, when the definition's pages can be scanned (see `shape`). */
function scanOf<S, A>(
  def: RestPollDef<S, A>,
  cursor: TimeWindowOptions,
): { records: string; fields: [id: string, time: string] } | undefined {
  if (!def.shape || !def.paginate.countsOnly) return undefined;
  if (typeof cursor.time !== 'string' || cursor.time.includes('.')) return undefined;
  if (def.eventTime || def.split || def.expand || def.expandPage || def.settle || def.decode)
    return undefined;
  if (def.windowTooFull || def.cursorExpired) return undefined;
  return { records: def.shape.records, fields: [def.shape.id, cursor.time] };
}

/** Sends one page request: GET, or the definition's read-only POST with the request's body. */
export async function fetchPage<S, A, T = any>(
  def: Pick<RestPollDef<S, A>, 'method' | 'headers' | 'vendorWrite' | 'decode'>,
  ctx: ReadContext<S, A>,
  request: PageRequest,
  reader?: JsonReader<T>,
  /** Ends this request early (a page asked for ahead that is no longer wanted). */
  signal?: AbortSignal,
): Promise<{ body: T; response: HttpResponse }> {
  const headers = def.headers?.(ctx);
  if (request.delayMs)
    await sleep(request.delayMs, signal ? AbortSignal.any([ctx.signal, signal]) : ctx.signal);
  if (def.decode) return fetchDecoded(def.decode, ctx, request, headers);
  if ((request.method ?? def.method ?? 'GET') === 'GET')
    return reader
      ? ctx.http.requestJson({ url: request.url, query: request.query, headers, signal }, reader)
      : ctx.http.getJson(request.url, request.query, headers);
  const hasType = Object.keys(headers ?? {}).some((k) => k.toLowerCase() === 'content-type');
  return ctx.http.requestJson(
    {
      method: 'POST',
      // A query API: the definition declares that its POST only reads (docs/architecture.md, HTTP), or names the write.
      ...(def.vendorWrite ? { vendorWrite: def.vendorWrite } : { readOnly: true }),
      url: request.url,
      query: request.query,
      headers: hasType ? headers : { 'content-type': 'application/json', ...headers },
      body: request.body,
      signal,
    },
    reader,
  );
}

/** The reader of a page scanned for its records and the fields `fields` (engine/json-page.ts). */
function pageReader(records: string, fields: string[]): JsonReader<ReadPage> {
  return {
    read: (response) => readJsonPage(response, records, fields),
    json: (page) => (page.scanned ? page.skeleton : page.body),
  };
}

/**
 * The records of a scanned page as they go into events: each as its bytes (a RawJson of its text when it
 * spans line breaks), with its id and time values read from their spans.
 */
function scannedRecords(
  page: { scanned: PageScan; bytes: Buffer },
  visit: (raw: RawJson, id: unknown, time: unknown) => void,
): RawJson[] {
  const { scanned, bytes } = page;
  const values = scanned.values;
  const out: RawJson[] = new Array(scanned.records.length / 2);
  for (let r = 0; r < out.length; r++) {
    const raw = scannedRaw(bytes, scanned, r);
    out[r] = raw;
    visit(
      raw,
      spanValue(bytes, values[4 * r]!, values[4 * r + 1]!),
      spanValue(bytes, values[4 * r + 2]!, values[4 * r + 3]!),
    );
  }
  return out;
}

/** Attempts at one decoded page, the first included (`RestPollDef.decode`). */
export const DECODE_ATTEMPTS = 3;

async function fetchDecoded<S, A>(
  decode: NonNullable<RestPollDef['decode']>,
  ctx: ReadContext<S, A>,
  request: PageRequest,
  headers: Record<string, string> | undefined,
): Promise<{ body: any; response: HttpResponse }> {
  for (let attempt = 1; ; attempt++) {
    const response = await ctx.http.request({ url: request.url, query: request.query, headers });
    try {
      return { body: await decode(response, ctx.signal), response };
    } catch (err) {
      // The HTTP client answered: what fails here is the body (cut off, or not the format expected).
      if (ctx.signal.aborted || (err instanceof TributaryError && err.type === 'config')) throw err;
      if (attempt >= DECODE_ATTEMPTS)
        throw err instanceof TributaryError
          ? err
          : new TributaryError({
              type: 'transient',
              code: 'unexpected_response',
              message: `The vendor's answer could not be read (${err instanceof Error ? err.message : String(err)}).`,
              action:
                'Tributary retries on the next run; if it repeats, check the base URL and report this with the logs.',
            });
      ctx.log.info('answer cut off or unreadable, asking again', { stream: ctx.stream, attempt });
    }
  }
}

/** The first request of `window`: the definition's builder, or its URL and parameters. */
function firstRequest<S, A>(def: RestPollDef<S, A>, ctx: ReadContext<S, A>, window: Window): PageRequest {
  return def.request ? def.request(ctx, window) : { url: def.url(ctx), query: def.params?.(ctx, window) };
}

const NO_ID = 'record has no id where the source expects one';

function unexpected(stream: string): TributaryError {
  return new TributaryError({
    type: 'transient',
    code: 'unexpected_response',
    message: `The vendor's response had no list of records where ${stream} expects one.`,
    action: 'Check the base URL points at the vendor API; Tributary retries on the next run.',
  });
}

/** How many times one window is read again from its first page in a run after its page cursor expired. */
export const MAX_CURSOR_RESTARTS = 3;

async function* readTimeWindow<S, A>(
  def: RestPollDef<S, A>,
  cursor: TimeWindowOptions,
  ctx: ReadContext<S, A>,
): AsyncGenerator<Batch> {
  const lag = def.lagSetting?.(ctx.settings);
  const tracker = new WindowTracker(
    cursor,
    lag ? { ...ctx, window: { ...ctx.window, lagMs: parseDuration(lag) } } : ctx,
    def.retention ?? ctx.window.retention,
  );
  warnPartRetention(def, ctx);
  const time = def.eventTime ?? ((r: unknown) => getPath(r, cursor.time));
  const scan = scanOf(def, cursor);
  const reader = scan && pageReader(scan.records, scan.fields);
  let disorderReported = false;
  // A page asked for ahead (below) that the reader no longer wants when it stops is cancelled.
  let ahead: AbortController | undefined;
  try {
    for (let window = tracker.nextWindow(); window; window = tracker.nextWindow()) {
      let guard = new LoopGuard();
      const clip = cursor.clip ? new WindowClip(window, cursor.order ?? 'asc') : undefined;
      const first = firstRequest(def, ctx, window);
      const settle = def.settle ? new Settling(def.settle, ctx, window) : undefined;
      // A request that carries a vendor page cursor: the checkpoint's saved page of a resumed window, or the
      // next page of this run. Either may have expired by the time it is sent.
      let paged = window.resume !== undefined;
      let restarts = 0;
      let request: PageRequest | undefined = window.resume ?? first;
      guard.check(pageKey(request), ctx.stream);
      // A scanned page's next page, asked for while this one is taken apart and delivered (see below).
      let prefetched: Promise<{ body: ReadPage; response: HttpResponse }> | undefined;
      while (request) {
        ctx.signal.throwIfAborted();
        let page: { body: any; response: HttpResponse; scanned?: { scanned: PageScan; bytes: Buffer } };
        // A next page's records are taken inside the try: a vendor that refuses an expired cursor in its answer
        // body (GraphQL `errors` in a 200) is recognised by `cursorExpired` like one that answers an HTTP error.
        let listed: unknown[] | undefined;
        try {
          if (reader) {
            const read = await (prefetched ?? fetchPage(def, ctx, request, reader));
            prefetched = undefined;
            const p = read.body;
            page = p.scanned
              ? { body: p.skeleton, response: read.response, scanned: p }
              : { body: p.body, response: read.response };
          } else page = await fetchPage(def, ctx, request);
          if (paged && def.cursorExpired) listed = def.records!(page.body, request) ?? [];
        } catch (err) {
          if (paged && err instanceof TributaryError && def.cursorExpired?.(err)) {
            if (++restarts > MAX_CURSOR_RESTARTS) {
              throw new TributaryError({
                type: 'transient',
                code: 'page_cursor_expired',
                message: `The vendor refused the next-page cursor of one ${ctx.stream} window ${restarts} times in this run (${err.message}).`,
                action:
                  'The next run reads the window again from its checkpoint. If it repeats, check that delivery to the destinations does not stall for longer than the vendor keeps page cursors (Zoom: 15 minutes).',
              });
            }
            ctx.log.info('page cursor expired, reading the window again from its first page', {
              stream: ctx.stream,
              restarts,
            });
            paged = false;
            request = first;
            settle?.restart();
            guard = new LoopGuard(); // the window's pages are asked again, from the first
            guard.check(pageKey(request), ctx.stream);
            continue;
          }
          if (
            err instanceof TributaryError &&
            (def.windowTooLarge?.(err) || err.code === 'timeout') &&
            tracker.split()
          ) {
            ctx.log.info('window too large, split', { stream: ctx.stream });
            request = undefined;
            break;
          }
          throw err;
        }
        if (request === first && !paged && def.windowTooFull?.(page.body) && tracker.split()) {
          ctx.log.info('window holds more than the vendor pages through, split', { stream: ctx.stream });
          request = undefined;
          break;
        }
        const scanned = page.scanned;
        const records: unknown[] = scanned ? [] : (listed ?? def.records!(page.body, request) ?? []);
        if (!Array.isArray(records)) throw unexpected(ctx.stream);
        // A scanned page's paginator counts records and reads none (`countsOnly`), so its next page is known
        // now: it is asked for at once, and arrives while this one's records are taken and delivered (a window
        // clipped to its bounds may end early, so it is not asked for there). It is read like any page.
        let early: PageRequest | undefined;
        if (scanned && !clip) {
          const count = scanned.scanned.records.length / 2;
          const listedCount = new Array(count); // the number is all the paginator reads
          early = def.paginate.next({
            request,
            response: page.response,
            body: page.body,
            records: listedCount,
            window,
          });
          if (early) {
            guard.check(pageKey(early), ctx.stream, count === 0);
            ahead = new AbortController();
            prefetched = fetchPage(def, ctx, early, reader!, ahead.signal);
            prefetched.catch(() => {}); // awaited at the next turn; a run that ends first leaves it unread
          }
        }
        const events: RawEvent[] = [];
        const delivered: Array<{ id: string; time: number | undefined }> = [];
        const deadLetters: Array<{ raw: unknown; reason: string }> = [];
        // One event (a listed record, or one that `expand` made), with its id(s) and time.
        const take = (
          raw: unknown,
          iso: string | undefined,
          t: number | undefined,
          id: string | undefined,
        ) => {
          if (clip && !clip.inside(t)) return;
          // An expanded event comes with its id; a listed record may bundle several (`split`).
          if (def.split && !def.expand && !def.expandPage) {
            const parts = def.split(raw);
            settle?.record(parts?.[0]?.id);
            if (parts === undefined) deadLetters.push({ raw, reason: def.missingId ?? NO_ID });
            else for (const part of parts) deliver(part.raw, part.id, iso, t);
            return;
          }
          settle?.record(id);
          if (id === undefined) deadLetters.push({ raw, reason: def.missingId ?? NO_ID });
          else deliver(raw, id, iso, t);
        };
        const deliver = (raw: unknown, id: string, iso: string | undefined, t: number | undefined) => {
          if (tracker.isSeen(id)) return;
          events.push({ raw, id, time: iso });
          delivered.push({ id, time: t });
        };
        if (def.expandPage) {
          // One follow-up call turns the page's listed ids into events, with their ids and times.
          for (const e of await def.expandPage(ctx, records, window)) {
            const iso = toIsoTime(e.time);
            take(e.raw, iso, iso === undefined ? undefined : Date.parse(iso), e.id);
          }
        } else if (def.expand) {
          for (const listed of records) {
            for (const e of await def.expand(ctx, listed, window)) {
              const iso = toIsoTime(e.time);
              take(e.raw, iso, iso === undefined ? undefined : Date.parse(iso), e.id);
            }
          }
        } else if (scanned) {
          // A scanned page (see `shape`): the same steps as below, from the values the scan found.
          const listedRaw = scannedRecords(scanned, (raw, idValue, timeValue) => {
            const iso = toIsoTime(timeValue);
            take(raw, iso, iso === undefined ? undefined : Date.parse(iso), idOf(idValue));
          });
          for (const raw of listedRaw) records.push(raw);
        } else {
          // The common case, kept free of per-record arrays: a page's parsed records die young.
          for (const raw of records) {
            const iso = toIsoTime(time(raw));
            // The watermark follows the cursor's time field; parse it again only when it differs.
            const t = def.eventTime ? tracker.timeOf(raw) : iso === undefined ? undefined : Date.parse(iso);
            take(raw, iso, t, def.split ? undefined : def.eventId!(raw));
          }
        }
        let next: PageRequest | undefined =
          scanned && !clip
            ? early
            : def.paginate.next({ request, response: page.response, body: page.body, records, window });
        if (clip?.disordered && !disorderReported) {
          disorderReported = true;
          ctx.log.warn('records are not in the order the source expects; reading whole windows', {
            stream: ctx.stream,
            order: cursor.order,
          });
        }
        if (clip?.past) next = undefined; // the rest of the pages lie outside the window
        if (next && next !== early) guard.check(pageKey(next), ctx.stream, records.length === 0);
        if (settle) {
          settle.page(page.body);
          // Mid-window, and after a pass that has not settled, the position is the window's first page.
          const again = !next && !settle.complete();
          yield {
            events,
            checkpoint: tracker.afterPage(delivered, next || again ? first : undefined),
            deadLetters,
            pages: 1,
          };
          if (again) {
            request = first;
            paged = false;
            guard = new LoopGuard();
            guard.check(pageKey(request), ctx.stream);
          } else request = next;
          continue;
        }
        const checkpoint = tracker.afterPage(delivered, next);
        yield { events, checkpoint, deadLetters, pages: 1 };
        request = next;
        paged = next !== undefined;
      }
    }
  } finally {
    ahead?.abort();
  }
}

/** `partRetention`: warns once per run when the saved position is older than the part's retention. */
function warnPartRetention<S, A>(def: RestPollDef<S, A>, ctx: ReadContext<S, A>): void {
  const part = def.partRetention?.(ctx);
  const since = (ctx.checkpoint as TimeWindowCheckpoint | undefined)?.since;
  if (!part || !since) return;
  const oldest = ctx.now() - parseDuration(part.retention);
  if (Date.parse(since) < oldest) ctx.warn(retentionGap({ ...part, saved: since, oldest }));
}

/** One window's passes under `settle` (see `SettleOptions`). */
class Settling {
  private readonly o: SettleOptions;
  private readonly ctx: ReadContext;
  private readonly window: Window;
  private pass = 1;
  private previous: Set<string> | undefined;
  private ids = new Set<string>();
  private counts = new Set<number>();
  private records = 0;
  private pages = 0;

  constructor(o: SettleOptions, ctx: ReadContext, window: Window) {
    this.o = o;
    this.ctx = ctx;
    this.window = window;
  }

  /** A record of this pass, by its id (undefined: a record without one, counted and never equal to another). */
  record(id: string | undefined): void {
    this.records++;
    this.ids.add(id === undefined ? `#${this.records}` : (this.o.identity?.(id) ?? id));
  }

  page(body: unknown): void {
    this.pages++;
    const count = this.o.count(body);
    if (Number.isInteger(count)) this.counts.add(count as number);
  }

  /** Whether the pass just finished is complete; if not, the next pass begins. */
  complete(): boolean {
    const max = this.o.maxPasses ?? 4;
    let complete =
      this.pages === 1 ||
      (this.counts.size === 1 && [...this.counts][0] === this.records && this.ids.size === this.records) ||
      // Two passes that returned the same records agree whatever the count says (a count the vendor
      // computes differently from the list must not make every window be read `maxPasses` times).
      (this.previous !== undefined && sameSet(this.previous, this.ids));
    const { stream } = this.ctx;
    if (!complete && this.pass >= max) {
      this.ctx.warn(
        gapWarning(
          this.o.gapCode,
          `${stream} between ${this.window.start.toISOString()} and ${this.window.end.toISOString()} changed while it was paged, ${max} times in a row; an ${this.o.record(stream)} updated during paging may have hidden another one.`,
          this.o.action,
        ),
      );
      complete = true;
    }
    if (!complete) {
      this.ctx.log.info('window changed while it was paged; reading it again', {
        stream,
        pass: this.pass,
        counts: [...this.counts],
        records: this.records,
      });
      this.previous = this.ids;
      this.pass++;
    }
    this.restart();
    return complete;
  }

  /** The window is read again from its first page: a new pass's tallies. */
  restart(): void {
    this.ids = new Set();
    this.counts = new Set();
    this.records = 0;
    this.pages = 0;
  }
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/**
 * `TimeWindowOptions.clip`: which records of a coarser vendor answer belong to the window, and whether
 * the pages still to come can hold any (they cannot once an ordered answer has left the window).
 */
class WindowClip {
  private readonly start: number;
  private readonly end: number;
  private readonly order: 'asc' | 'desc' | 'any';
  private prev: number | undefined;
  private beyond = false;
  /** A record broke the expected order: the pages are read to the end. */
  disordered = false;

  constructor(window: Window, order: 'asc' | 'desc' | 'any') {
    this.start = window.start.getTime();
    this.end = window.end.getTime();
    this.order = order;
  }

  /** True for a record inside [start, end); a record without a time is kept. */
  inside(t: number | undefined): boolean {
    if (t === undefined) return true;
    if (
      this.prev !== undefined &&
      ((this.order === 'desc' && t > this.prev) || (this.order === 'asc' && t < this.prev))
    )
      this.disordered = true;
    this.prev = t;
    if (t >= this.start && t < this.end) return true;
    if ((this.order === 'asc' && t >= this.end) || (this.order === 'desc' && t < this.start))
      this.beyond = true;
    return false;
  }

  /** The records have left the window in the expected order: no later page belongs to it. */
  get past(): boolean {
    return this.beyond && !this.disordered;
  }
}
