import { toIsoTime } from '../core/envelope.ts';
import { TributaryError } from '../core/errors.ts';
import type { Batch, ReadContext, StreamDef } from '../core/source.ts';
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
  cursor: TimeWindowOptions;
  eventId: (record: any) => string | undefined;
  /** Defaults to the cursor's time field. */
  eventTime?: (record: any) => unknown;
  /** Vendor retention of this stream (defaults to the source's). */
  retention?: string;
  /** A failure that means "this window holds too much": the window is halved and read again. */
  windowTooLarge?: (err: TributaryError) => boolean;
}

export function restPoll<S, A>(def: RestPollDef<S, A>): StreamDef<S, A> {
  return {
    title: def.title,
    description: def.description,
    read: (ctx) => readRestPoll(def, ctx),
  };
}

async function* readRestPoll<S, A>(def: RestPollDef<S, A>, ctx: ReadContext<S, A>): AsyncGenerator<Batch> {
  const tracker = new WindowTracker(def.cursor, ctx, def.retention ?? ctx.window.retention);
  const time = def.eventTime ?? ((r: unknown) => getPath(r, def.cursor.time));
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
      if (!Array.isArray(records)) {
        throw new TributaryError({
          type: 'transient',
          code: 'unexpected_response',
          message: `The vendor's response had no list of records where ${ctx.stream} expects one.`,
          action: 'Check the base URL points at the vendor API; Tributary retries on the next run.',
        });
      }
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
