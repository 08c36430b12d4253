import type { MicrosoftAccount } from '../../accounts/microsoft.ts';
import { toIsoTime } from '../../core/envelope.ts';
import { gapWarning, transientError } from '../../core/errors.ts';
import type { Batch, DeadLetter, RawEvent, ReadContext, StreamDef } from '../../core/source.ts';
import { LoopGuard } from '../../engine/http.ts';
import { type PageRequest, pageKey } from '../../engine/paginate.ts';
import { type TimeWindowOptions, type Window, WindowTracker } from '../../engine/time-window.ts';
import { graphPages, graphRecords } from '../microsoft-graph.ts';

/**
 * Time windows over a Graph list that pages by `$skip` offsets, read so that a change during paging
 * cannot hide a record.
 *
 * Why: `/security/alerts_v2` and `/security/incidents` document `$count`, `$filter`, `$skip`, `$top` and
 * no `$orderby` or `$skiptoken` (learn.microsoft.com/graph/api/security-list-alerts_v2 and
 * …/security-list-incidents, "Optional query parameters"; "Some APIs use $skip instead" of `$skipToken`,
 * learn.microsoft.com/graph/query-parameters), newest first. An offset counts into the filtered list as it
 * is when each page is asked. When an alert already read in a `lastUpdateDateTime` window is updated
 * while the window is paged, it leaves the window and every later alert moves up one place: the one that
 * moves onto the page already read is never returned. Nothing later repairs it: the window is complete,
 * and the overlap re-reads only the last minutes before the position.
 *
 * How (chosen over re-reading every window until its id set repeats, which doubles every request, and
 * over windows shrunk to one page, which costs a wasted request per halving and cannot split a bulk
 * update that stamps more alerts than a page with one time): each window's pages ask `$count=true`, and a
 * pass over the window is complete only when every page reported the same `@odata.count` and the pass
 * returned exactly that many records, all distinct. A single page is one answer, complete by itself.
 * Otherwise (and without `@odata.count`, which a proxy may drop) a multi-page pass must return the same
 * ids as the pass before it. Until then the window is read again from its first page, records already delivered suppressed
 * by the boundary ids (every record of the window is within them: the window starts `overlap` before the
 * position). Cost: nothing when the window did not change while it was paged; one more pass over the
 * window when it did; at most `MAX_PASSES` passes per window, after which the window is closed with a
 * `security_window_unstable` gap warning rather than stalling the stream.
 *
 * A restart inside a window reads it again from its first page (the checkpoint keeps that request, not
 * the offset reached: an offset saved minutes ago no longer points where it did).
 */
export const MAX_PASSES = 4;

export interface OffsetWindowsDef {
  title: string;
  description: string;
  url: (ctx: ReadContext<any, MicrosoftAccount>) => string;
  /** `$filter` and `$top` of a window; `$count=true` is added. */
  params: (ctx: ReadContext<any, MicrosoftAccount>, w: Window) => Record<string, string | number>;
  cursor: TimeWindowOptions;
  eventId: (record: any) => string | undefined;
}

export function offsetWindows<S>(def: OffsetWindowsDef): StreamDef<S, MicrosoftAccount> {
  return { title: def.title, description: def.description, read: (ctx) => read(def, ctx) };
}

async function* read(def: OffsetWindowsDef, ctx: ReadContext<any, MicrosoftAccount>): AsyncGenerator<Batch> {
  const tracker = new WindowTracker(def.cursor, ctx, ctx.window.retention);
  for (let window = tracker.nextWindow(); window; window = tracker.nextWindow()) {
    const first: PageRequest = { url: def.url(ctx), query: { ...def.params(ctx, window), $count: 'true' } };
    let previous: Set<string> | undefined;
    for (let pass = 1; ; pass++) {
      const guard = new LoopGuard();
      guard.check(pageKey(first), ctx.stream);
      const ids = new Set<string>();
      const counts = new Set<number>();
      let records = 0;
      let pages = 0;
      let request: PageRequest | undefined = first;
      let complete = false;
      while (request) {
        ctx.signal.throwIfAborted();
        const { body, response } = await ctx.http.getJson(request.url, request.query);
        pages++;
        const list = graphRecords(body);
        if (!Array.isArray(list))
          throw transientError(
            'unexpected_response',
            `Microsoft Graph answered ${ctx.stream} without a value list.`,
            'Check the base URL points at Microsoft Graph; Tributary retries on the next run.',
          );
        const count = body?.['@odata.count'];
        if (Number.isInteger(count)) counts.add(count);
        const events: RawEvent[] = [];
        const deadLetters: DeadLetter[] = [];
        const delivered: Array<{ id: string; time: number | undefined }> = [];
        for (const raw of list) {
          records++;
          const id = def.eventId(raw);
          if (id === undefined) {
            ids.add(`#${records}`); // counted, never equal to another record
            deadLetters.push({ raw, reason: 'record has no id where the source expects one' });
            continue;
          }
          ids.add(id);
          if (tracker.isSeen(id)) continue;
          const time = toIsoTime((raw as any)?.[def.cursor.time as string]);
          events.push({ raw, id, time });
          delivered.push({ id, time: time === undefined ? undefined : Date.parse(time) });
        }
        const next = graphPages.next({ request, response, body, records: list });
        if (next) {
          guard.check(pageKey(next), ctx.stream, list.length === 0);
          // Mid-window the position is the window's first page: a restart reads the window again.
          yield { events, deadLetters, checkpoint: tracker.afterPage(delivered, first), pages: 1 };
          request = next;
          continue;
        }
        request = undefined;
        complete =
          pages === 1 ||
          (counts.size === 1 && [...counts][0] === records && ids.size === records) ||
          // Two passes that returned the same records agree whatever the count says (a count Graph
          // computes differently from the list must not make every window be read four times).
          (previous !== undefined && sameSet(previous, ids));
        if (!complete && pass >= MAX_PASSES) {
          ctx.warn(
            gapWarning(
              'security_window_unstable',
              `${ctx.stream} between ${window.start.toISOString()} and ${window.end.toISOString()} changed while it was paged, ${MAX_PASSES} times in a row; an ${ctx.stream === 'incidents' ? 'incident' : 'alert'} updated during paging may have hidden another one.`,
              'Lower the collector’s interval so each window holds fewer pages, or raise pageSize; the next update of a missed record delivers it.',
            ),
          );
          complete = true;
        }
        if (!complete)
          ctx.log.info('window changed while it was paged; reading it again', {
            stream: ctx.stream,
            pass,
            counts: [...counts],
            records,
          });
        yield {
          events,
          deadLetters,
          checkpoint: tracker.afterPage(delivered, complete ? undefined : first),
          pages: 1,
        };
      }
      if (complete) break;
      previous = ids;
    }
  }
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
