import { parseDuration } from '../core/duration.ts';
import { toIsoTime } from '../core/envelope.ts';
import { gapWarning, TributaryError, transientError } from '../core/errors.ts';
import type { Batch, DeadLetter, HttpResponse, RawEvent, ReadContext } from '../core/source.ts';
import { LoopGuard } from './http.ts';
import { type PageRequest, pageKey } from './paginate.ts';
import { fetchPage, type RestPollDef } from './rest-poll.ts';
import { getPath, retentionGap } from './time-window.ts';

/**
 * Opaque cursor (docs/architecture.md, "Opaque cursor"): the vendor hands out its own position and the
 * next-page request built from it is the checkpoint, stored verbatim. There is no time arithmetic; what
 * the engine adds around the vendor's string:
 *
 * - **The end of the stream.** By default a page without a next request is the end: its request is kept
 *   with the ids it delivered, so the next run asks the same question again and delivers only what is new.
 *   A vendor that hands out its newest position with every answer, also when it has nothing more (Box's
 *   `next_stream_position`, Dropbox's `cursor`), says with `caughtUp` when it is done: the run ends and the
 *   position saved is the vendor's newest, as the vendor asks.
 * - **Repeats.** A vendor that may send an event again on the page after the one that carried it (Box:
 *   "may return events more than once"), declared with `repeats`: each page's ids are kept with the position
 *   and not delivered again from the next page, across a crash too.
 * - **A position too old.** The checkpoint records when the position was handed out (`at`); a saved
 *   position older than the vendor's retention is warned as a gap naming what can no longer be read, and
 *   reading goes on from it (the vendor answers from the oldest it keeps).
 * - **A cursor that expired.** When the vendor refuses the saved cursor (`expired`: Dropbox's `reset`), the
 *   stream starts again with a first request from the newest event time it delivered (`last`, less the
 *   collector's overlap; events delivered again keep their ids), moved up to the oldest the vendor keeps.
 *   It is never a silent restart: a gap warning names the time reading resumed from and, when the vendor
 *   no longer keeps it, the range lost.
 */
export interface OpaqueCursorOptions {
  kind: 'opaque';
  /** The record's event time (a dotted path or a function), for the envelope. */
  time?: string | ((record: any) => unknown);
  /**
   * True when this answer says the vendor has nothing more for now. With it, the paginator's next request
   * (built from the position the vendor returned) is saved even at the end, instead of the last request.
   */
  caughtUp?: (body: any, records: unknown[], request: PageRequest) => boolean;
  /** The vendor may repeat an event on the page after the one that carried it (see above). */
  repeats?: boolean;
  /** True when an error means "this cursor no longer works; ask for a new one" (see above). */
  expired?: (err: TributaryError) => boolean;
}

export interface OpaqueCheckpoint {
  next: PageRequest;
  /** Ids delivered from the page before `next` (its own, when `next` is the last page re-asked). */
  seen?: string[];
  /** When the vendor handed out `next` (ISO): compared with the vendor's retention. */
  at?: string;
  /** The newest event time delivered through this cursor, or where it started (ISO): an expired cursor resumes here. */
  last?: string;
}

const NO_ID = 'record has no id where the source expects one';

export async function* readOpaque<S, A>(
  def: RestPollDef<S, A>,
  cursor: OpaqueCursorOptions,
  ctx: ReadContext<S, A>,
): AsyncGenerator<Batch<OpaqueCheckpoint>> {
  const time = def.eventTime ?? ((r: unknown) => (cursor.time ? getPath(r, cursor.time) : undefined));
  const saved = ctx.checkpoint as OpaqueCheckpoint | undefined;
  const now = ctx.now();
  const startMs = ctx.window.start ? Date.parse(ctx.window.start) : now - ctx.window.lookbackMs;
  const retention = def.retention ?? ctx.window.retention;
  const oldest = retention ? now - parseDuration(retention) : undefined;
  const first = (from: number): PageRequest => ({
    ...(def.request
      ? def.request(ctx, { start: new Date(from), end: new Date(now) })
      : { url: def.url(ctx), query: def.params?.(ctx, { start: new Date(from), end: new Date(now) }) }),
  });

  if (saved?.at && oldest !== undefined && Date.parse(saved.at) < oldest)
    ctx.warn(
      retentionGap({
        saved: saved.at,
        oldest,
        retention: retention!,
        what: 'events',
        code: 'cursor_beyond_retention',
      }),
    );

  let last = saved ? (saved.last ? Date.parse(saved.last) : undefined) : startMs;
  let request: PageRequest = saved?.next ?? first(startMs);
  let seen = new Set(saved?.seen ?? []);
  let guard = new LoopGuard();
  guard.check(pageKey(request), ctx.stream);
  let restarted = false;

  for (;;) {
    ctx.signal.throwIfAborted();
    let page: { body: any; response: HttpResponse };
    try {
      page = await fetchPage(def, ctx, request);
    } catch (err) {
      if (restarted || !(err instanceof TributaryError) || !cursor.expired?.(err)) throw err;
      restarted = true; // a fresh cursor refused as expired too is the run's error, not a loop
      const wanted = (last ?? startMs) - (ctx.window.overlapMs ?? 0);
      const from = oldest !== undefined ? Math.max(wanted, oldest) : wanted;
      ctx.warn(expiredWarning(ctx.stream, err, from, wanted < from ? wanted : undefined));
      request = first(from);
      seen = new Set();
      guard = new LoopGuard();
      guard.check(pageKey(request), ctx.stream);
      continue;
    }
    const { body, response } = page;
    const records = def.records!(body) ?? []; // restPoll requires records or shape
    if (!Array.isArray(records)) throw unexpected(ctx.stream);
    const next = def.paginate.next({ request, response, body, records });
    const caught = cursor.caughtUp ? cursor.caughtUp(body, records, request) : next === undefined;
    if (next && !caught) guard.check(pageKey(next), ctx.stream, records.length === 0);
    const events: RawEvent[] = [];
    const deadLetters: DeadLetter[] = [];
    const ids: string[] = [];
    for (const raw of records) {
      const id = def.eventId!(raw); // restPoll requires it outside time windows
      if (id === undefined) {
        deadLetters.push({ raw, reason: def.missingId ?? NO_ID });
        continue;
      }
      ids.push(id);
      if (seen.has(id)) continue;
      const at = toIsoTime(time(raw));
      if (at) {
        const ms = Date.parse(at);
        if (last === undefined || ms > last) last = ms;
      }
      events.push({ raw, id, time: at });
    }
    const position = {
      at: new Date(ctx.now()).toISOString(),
      ...(last === undefined ? {} : { last: new Date(last).toISOString() }),
    };
    // Past the last page the vendor's newest position is kept when it gave one (caughtUp), else this
    // page's request, re-asked next run with the ids it delivered skipped.
    // A vendor that repeats sends the last event it delivered again after an empty page too: an empty
    // page keeps the ids of the page before it.
    const carried = cursor.repeats && ids.length === 0 ? [...seen] : ids;
    const checkpoint: OpaqueCheckpoint = next
      ? { next, ...(cursor.repeats ? { seen: carried } : {}), ...position }
      : { next: request, seen: carried, ...position };
    yield { events, checkpoint, deadLetters, pages: 1 };
    if (!next || caught) return;
    seen = cursor.repeats ? new Set(carried) : new Set();
    request = next;
  }
}

function expiredWarning(
  stream: string,
  err: TributaryError,
  from: number,
  lostFrom?: number,
): TributaryError {
  const why = err.message.replace(/\.$/, '');
  const resumed = new Date(from).toISOString();
  const lost =
    lostFrom === undefined
      ? ''
      : ` The vendor no longer keeps events from ${new Date(lostFrom).toISOString()} to ${resumed}: those the cursor had not returned yet are lost.`;
  return gapWarning(
    'cursor_expired',
    `The vendor no longer accepts the saved cursor of ${stream} (${why}); reading starts again from ${resumed}, the newest event delivered. Events from then on that were delivered already are sent again under the same ids; older events the cursor had not returned yet, if any, are lost.${lost}`,
    'Run the collector more often than the vendor keeps its cursors, and check why it was stopped or failing; destinations that de-duplicate by id drop the repeats.',
  );
}

function unexpected(stream: string): TributaryError {
  return transientError(
    'unexpected_response',
    `The vendor's response had no list of records where ${stream} expects one.`,
    'Check the base URL points at the vendor API; Tributary retries on the next run.',
  );
}
