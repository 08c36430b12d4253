import { toIsoTime } from '../core/envelope.ts';
import { gapWarning, TributaryError, transientError } from '../core/errors.ts';
import type { Batch, DeadLetter, RawEvent, ReadContext } from '../core/source.ts';
import { LoopGuard } from './http.ts';
import { type PageRequest, pageKey } from './paginate.ts';
import type { RestPollDef } from './rest-poll.ts';
import { getPath } from './time-window.ts';

/**
 * Delta-link cursor (an opaque vendor cursor stored verbatim, docs/architecture.md "Opaque cursor"; for change-tracking APIs such as
 * Microsoft Graph delta queries, OneDrive delta, Google sync tokens): a round of pages ends with a link
 * that asks for the changes since that round. The first round is a full snapshot; every later run asks
 * its saved link for what changed. The position is always the vendor's own request: the next page of the
 * round in progress, or the link for the next round; a crash resumes at the page that was not committed.
 *
 * When the vendor says the saved link can no longer be used (expired or reset), the stream warns and
 * starts a full snapshot again: entities deleted meanwhile are then not reported as deleted.
 */
export interface DeltaCursorOptions {
  kind: 'delta';
  /** Where a round's last page carries the link for the next round (Graph: `@odata.deltaLink`). */
  deltaLink: string | ((body: any) => unknown);
  /** True when an error means "this link is no longer valid; synchronise fully again". */
  expired: (err: TributaryError) => boolean;
  /** The record's time for the envelope (context records usually have none: ingest time is used). */
  time?: string | ((record: any) => unknown);
}

export interface DeltaCheckpoint {
  /** The request to send next: a page of the round in progress, or the next round's delta link. */
  next: PageRequest;
  /** `snapshot` until the first full round completes, `delta` afterwards. */
  phase: 'snapshot' | 'delta';
}

export async function* readDelta<S, A>(
  def: RestPollDef<S, A>,
  cursor: DeltaCursorOptions,
  ctx: ReadContext<S, A>,
): AsyncGenerator<Batch<DeltaCheckpoint>> {
  const now = ctx.now();
  const initial = (): PageRequest => ({
    url: def.url(ctx),
    query: def.params?.(ctx, { start: new Date(now - ctx.window.lookbackMs), end: new Date(now) }),
  });
  const saved = ctx.checkpoint as DeltaCheckpoint | undefined;
  let phase: DeltaCheckpoint['phase'] = saved?.phase ?? 'snapshot';
  let request: PageRequest = saved?.next ?? initial();
  let restarted = false;
  let guard = new LoopGuard();
  guard.check(pageKey(request), ctx.stream);
  const time = def.eventTime ?? ((r: unknown) => (cursor.time ? getPath(r, cursor.time) : undefined));

  for (;;) {
    ctx.signal.throwIfAborted();
    let page: Awaited<ReturnType<typeof ctx.http.getJson>>;
    try {
      page = await ctx.http.getJson(request.url, request.query, def.headers?.(ctx));
    } catch (err) {
      if (!(err instanceof TributaryError) || !cursor.expired(err)) throw err;
      // A fresh snapshot refused as "expired" too is not retried in a loop: it is the run's error.
      if (restarted) throw err;
      restarted = true;
      ctx.warn(
        gapWarning(
          'delta_link_expired',
          `The vendor no longer accepts the saved change-tracking link for ${ctx.stream} (${err.message.replace(/\.$/, '')}); a full snapshot is read again.`,
          'Nothing to do: the snapshot restores the full state. Entities deleted while the link was unusable are not reported as deleted; run the collector more often than the vendor keeps its links (Microsoft Graph: 7 days).',
        ),
      );
      phase = 'snapshot';
      request = initial();
      guard = new LoopGuard();
      guard.check(pageKey(request), ctx.stream);
      continue;
    }
    const { body, response } = page;
    const records = def.records!(body) ?? []; // restPoll requires records or shape
    if (!Array.isArray(records)) {
      throw transientError(
        'unexpected_response',
        `The vendor's response had no list of records where ${ctx.stream} expects one.`,
        'Check the base URL points at the vendor API; Tributary retries on the next run.',
      );
    }
    const next = def.paginate.next({ request, response, body, records });
    const events: RawEvent[] = [];
    const deadLetters: DeadLetter[] = [];
    for (const raw of records) {
      const id = def.eventId!(raw); // restPoll requires it outside time windows
      if (id === undefined) {
        deadLetters.push({ raw, reason: def.missingId ?? 'record has no id where the source expects one' });
        continue;
      }
      events.push({ raw, id, time: toIsoTime(time(raw)) });
    }
    if (next) {
      guard.check(pageKey(next), ctx.stream, records.length === 0);
      yield { events, deadLetters, checkpoint: { next, phase }, pages: 1 };
      request = next;
      continue;
    }
    const link = getPath(body, cursor.deltaLink);
    if (typeof link !== 'string' || !link) {
      throw transientError(
        'delta_link_missing',
        `The vendor's last page for ${ctx.stream} had neither a next-page link nor a delta link.`,
        'A vendor-side fault; the run resumes from the last committed page next time. Report it if it repeats.',
      );
    }
    // The round is complete: the next run asks for the changes since it.
    yield {
      events,
      deadLetters,
      checkpoint: { next: { url: new URL(link, response.url).toString() }, phase: 'delta' },
      pages: 1,
    };
    return;
  }
}
