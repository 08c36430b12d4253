import { createHash } from 'node:crypto';
import type { Batch, RawEvent, ReadContext } from '../core/source.ts';
import type { NotificationQueue, QueueMessage } from './object-notification.ts';

/**
 * Queue messages as events (docs/architecture.md, "Queue messages"): a bounded run that receives from a
 * queue with visibility timeouts (SQS) until it answers empty, each message one event, on the runner's
 * acknowledged batches (`Batch.committed`), like the object-notification reader — not the stream
 * consumer, which never ends (a scheduled collector's run must end when the queue is drained).
 *
 * - A receive's messages are one batch; they are deleted (`deleteMany`, else `delete` each) only after
 *   the batch was delivered to every destination and its checkpoint committed.
 * - The checkpoint remembers the ids of messages delivered (hashed, the newest `maxDone`), so a message
 *   redelivered because its delete was lost (a crash between the commit and the delete) is deleted
 *   without being delivered again.
 * - While a batch waits for delivery, its messages' visibility is extended (`extend`) every half
 *   visibility timeout, so a slow destination does not let them reappear for another reader; the
 *   extension stops at the commit, when the run ends early or is cancelled, or after 15 minutes.
 */

export interface QueueReaderDef<S = any, A = any> {
  open(ctx: ReadContext<S, A>): NotificationQueue;
  /** The message as an event: its raw form, id and time. */
  toEvent(m: QueueMessage): RawEvent;
  /** Messages asked for at once (SQS allows 1–10). */
  maxMessages?: number;
  /** Message ids remembered as delivered (default 2,000, about 38 KB of checkpoint, written with every batch: as the object reader). */
  maxDone?: number;
}

export interface QueueCheckpoint {
  /** Messages delivered: the first 16 hex digits of the sha256 of their ids, newest last. */
  done?: string[];
}

/**
 * How long a batch's messages are kept hidden at most: a delivery that takes longer (a destination down)
 * lets them reappear, rather than hiding them for SQS's maximum of 12 hours from every reader.
 */
const MAX_EXTEND_S = 15 * 60;

const doneKey = (id: string) => createHash('sha256').update(id).digest('hex').slice(0, 16);

export function readQueueMessages<S, A>(
  def: QueueReaderDef<S, A>,
): (ctx: ReadContext<S, A, QueueCheckpoint>) => AsyncGenerator<Batch<QueueCheckpoint>> {
  return (ctx) => read(def, ctx);
}

async function* read(def: QueueReaderDef, ctx: ReadContext): AsyncGenerator<Batch<QueueCheckpoint>> {
  const queue = def.open(ctx);
  const cp = ctx.checkpoint as QueueCheckpoint | undefined;
  const done = new Set(cp?.done ?? []);
  const maxDone = def.maxDone ?? 2000;
  const snapshot = (): QueueCheckpoint => ({ done: [...done] });
  const remove = async (receipts: string[]) => {
    if (!receipts.length) return;
    if (queue.deleteMany) await queue.deleteMany(receipts, { signal: ctx.signal });
    else for (const r of receipts) await queue.delete(r, { signal: ctx.signal });
  };
  // Visibility extension: every half timeout for the batches not yet committed.
  let visibility: number | undefined;
  try {
    visibility = queue.extend ? await queue.visibilityTimeout?.({ signal: ctx.signal }) : undefined;
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    // Without it the messages are not extended: they rely on the queue's visibility timeout alone.
    ctx.log.warn('could not read the queue’s visibility timeout; messages being delivered are not extended', {
      error: (err as Error)?.message ?? String(err),
    });
  }
  const timers = new Set<ReturnType<typeof setInterval>>();
  const stopAll = () => {
    for (const t of timers) clearInterval(t);
    timers.clear();
  };
  ctx.signal.addEventListener('abort', stopAll, { once: true });
  const keepHidden = (receipts: string[]): (() => void) => {
    if (!visibility || !queue.extend || !receipts.length) return () => {};
    const started = Date.now();
    const timer = setInterval(
      () => {
        if (ctx.signal.aborted || (Date.now() - started) / 1000 + visibility > MAX_EXTEND_S) {
          clearInterval(timer);
          timers.delete(timer);
          return;
        }
        queue.extend!(receipts, visibility, { signal: ctx.signal }).catch((err) =>
          ctx.log.warn('could not extend the visibility of messages being delivered', {
            error: (err as Error)?.message ?? String(err),
          }),
        );
      },
      Math.max(1000, (visibility * 1000) / 2),
    );
    timer.unref();
    timers.add(timer);
    return () => {
      clearInterval(timer);
      timers.delete(timer);
    };
  };
  let drained = false;
  try {
    for (;;) {
      const messages = await queue.receive({ max: def.maxMessages ?? 10, signal: ctx.signal });
      if (!messages.length) {
        // The queue is drained; batches read ahead are still being delivered: their extension goes on
        // until their commit (or the cap, or a cancelled run).
        drained = true;
        return;
      }
      const events: RawEvent[] = [];
      const seen = new Set<string>();
      for (const m of messages) {
        const key = doneKey(m.id);
        if (done.has(key) || seen.has(key)) continue; // delivered before: only deleted
        seen.add(key);
        events.push(def.toEvent(m));
      }
      for (const key of seen) {
        done.delete(key);
        done.add(key); // newest last
        if (done.size > maxDone) done.delete(done.values().next().value!);
      }
      const receipts = messages.map((m) => m.receipt);
      const release = keepHidden(receipts);
      yield {
        events,
        checkpoint: snapshot(),
        pages: 1,
        committed: async () => {
          release();
          await remove(receipts);
        },
      };
    }
  } finally {
    // Ended early (a failed delivery, a stop): nothing yielded will be committed.
    if (!drained) {
      stopAll();
      ctx.signal.removeEventListener('abort', stopAll);
    }
  }
}
