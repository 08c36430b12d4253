import { toIsoTime } from '../core/envelope.ts';
import { TributaryError } from '../core/errors.ts';
import type { Batch, ReadContext, StreamDef } from '../core/source.ts';
import { type DeltaCursorOptions, readDelta } from './delta-cursor.ts';
import { LoopGuard } from './http.ts';
import { type PageRequest, type Paginator, pageKey } from './paginate.ts';
import { getPath, type TimeWindowOptions, type Window, WindowTracker } from './time-window.ts';

/**
 * The declarative REST poller (DESIGN §5): a stream described by vendor facts — URL, query for a time
 * window, where records are, how pages link, which field is the time and which the id. The runtime
 * delivers each page as one batch and commits the checkpoint it returns after acknowledgement.
 */
export interface RestPollDef<S = any, A = any> {
  title: string;
  description?: string;
  url: (ctx: ReadContext<S, A>) => string;
  params?: (ctx: ReadContext<S, A>, window: Window) => PageRequest['query'];
  headers?: (ctx: ReadContext<S, A>) => Record<string, string>;
  records: (body: any) => unknown[];
  paginate: Paginator;
  /** A time window (the default kind), the vendor's own opaque cursor, or a delta link (change tracking). */
  cursor: (TimeWindowOptions & { kind?: 'time-window' }) | OpaqueCursorOptions | DeltaCursorOptions;
  eventId: (record: any) => string | undefined;
  /** Defaults to the cursor's time field. */
  eventTime?: (record: any) => unknown;
  /** Vendor retention of this stream (defaults to the source's). */
  retention?: string;
  /** A failure that means "this window holds too much": the window is halved and read again. */
  windowTooLarge?: (err: TributaryError) => boolean;
}

/**
 * Opaque cursor: the vendor's next-page request is the position, stored verbatim. When the vendor has
 * no more pages, the last page's request is kept with the ids it delivered, so the next run asks the
 * same question again and delivers only what is new (APIs that keep a cursor open for new data).
 */
export interface OpaqueCursorOptions {
  kind: 'opaque';
  /** The record's event time (a dotted path or a function), for the envelope. */
  time?: string | ((record: any) => unknown);
}

export interface OpaqueCheckpoint {
  next: PageRequest;
  /** Ids delivered from `next` when it was the last page. */
  seen?: string[];
}

export function restPoll<S, A>(def: RestPollDef<S, A>): StreamDef<S, A> {
  return {
    title: def.title,
    description: def.description,
    read: (ctx) =>
      def.cursor.kind === 'opaque'
        ? readOpaque(def, def.cursor, ctx)
        : def.cursor.kind === 'delta'
          ? readDelta(def, def.cursor, ctx)
          : readTimeWindow(def, def.cursor, ctx),
  };
}

function unexpected(stream: string): TributaryError {
  return new TributaryError({
    type: 'transient',
    code: 'unexpected_response',
    message: `The vendor's response had no list of records where ${stream} expects one.`,
    action: 'Check the base URL points at the vendor API; Tributary retries on the next run.',
  });
}

async function* readOpaque<S, A>(
  def: RestPollDef<S, A>,
  cursor: OpaqueCursorOptions,
  ctx: ReadContext<S, A>,
): AsyncGenerator<Batch> {
  const time = def.eventTime ?? ((r: unknown) => (cursor.time ? getPath(r, cursor.time) : undefined));
  const cp = ctx.checkpoint as OpaqueCheckpoint | undefined;
  const now = ctx.now();
  const start = new Date(ctx.window.start ? Date.parse(ctx.window.start) : now - ctx.window.lookbackMs);
  let request: PageRequest | undefined = cp?.next ?? {
    url: def.url(ctx),
    query: def.params?.(ctx, { start, end: new Date(now) }),
  };
  const seen = new Set(cp?.seen ?? []);
  const guard = new LoopGuard();
  guard.check(pageKey(request), ctx.stream);
  while (request) {
    ctx.signal.throwIfAborted();
    const { body, response } = await ctx.http.getJson(request.url, request.query, def.headers?.(ctx));
    const records = def.records(body) ?? [];
    if (!Array.isArray(records)) throw unexpected(ctx.stream);
    const next = def.paginate.next({ request, response, body, records });
    if (next) guard.check(pageKey(next), ctx.stream, records.length === 0);
    const events = [];
    const deadLetters = [];
    const ids: string[] = [];
    for (const raw of records) {
      const id = def.eventId(raw);
      if (id === undefined) {
        deadLetters.push({ raw, reason: 'record has no id where the source expects one' });
        continue;
      }
      ids.push(id);
      if (seen.has(id)) continue;
      events.push({ raw, id, time: toIsoTime(time(raw)) });
    }
    // At the end the last request is the position: re-asked next run, its delivered ids skipped.
    const checkpoint: OpaqueCheckpoint = next ? { next } : { next: request, seen: ids };
    yield { events, checkpoint, deadLetters, pages: 1 };
    seen.clear();
    request = next;
  }
}

async function* readTimeWindow<S, A>(
  def: RestPollDef<S, A>,
  cursor: TimeWindowOptions,
  ctx: ReadContext<S, A>,
): AsyncGenerator<Batch> {
  const tracker = new WindowTracker(cursor, ctx, def.retention ?? ctx.window.retention);
  const time = def.eventTime ?? ((r: unknown) => getPath(r, cursor.time));
  const vendorUrl = def.url(ctx);
  for (let window = tracker.nextWindow(); window; window = tracker.nextWindow()) {
    const guard = new LoopGuard();
    let request: PageRequest | undefined = window.resume ?? {
      url: vendorUrl,
      query: def.params?.(ctx, window),
    };
    guard.check(pageKey(request), ctx.stream);
    while (request) {
      ctx.signal.throwIfAborted();
      let page: { body: any; response: import('../core/source.ts').HttpResponse };
      try {
        page = await ctx.http.getJson(request.url, request.query, def.headers?.(ctx));
      } catch (err) {
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
      const records = def.records(page.body) ?? [];
      if (!Array.isArray(records)) throw unexpected(ctx.stream);
      const next = def.paginate.next({ request, response: page.response, body: page.body, records });
      if (next) guard.check(pageKey(next), ctx.stream, records.length === 0);
      const events = [];
      const delivered = [];
      const deadLetters = [];
      for (const raw of records) {
        const id = def.eventId(raw);
        if (id === undefined) {
          deadLetters.push({ raw, reason: 'record has no id where the source expects one' });
          continue;
        }
        if (tracker.isSeen(id)) continue;
        const iso = toIsoTime(time(raw));
        events.push({ raw, id, time: iso });
        // The watermark follows the cursor's time field; parse it again only when it differs.
        delivered.push({
          id,
          time: def.eventTime ? tracker.timeOf(raw) : iso === undefined ? undefined : Date.parse(iso),
        });
      }
      const checkpoint = tracker.afterPage(delivered, next);
      yield { events, checkpoint, deadLetters, pages: 1 };
      request = next;
    }
  }
}
