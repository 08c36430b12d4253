import type { Batch, ReadContext } from '../core/source.ts';

/**
 * One stream read as several independent parts, each with its own position (docs/architecture.md,
 * "Cursors"): CloudWatch Logs' log groups, each with its own time window and watermark. The parts are
 * read one after the other; every batch carries the positions of all parts as they stand after it, so a
 * crash resumes each part where it was and a slow or failing part never moves another's watermark.
 *
 * Checkpoint: `{ parts: { <part>: <that part's checkpoint> } }`. A part no longer listed (a log group
 * deleted, or no longer matching a prefix) is dropped from it at the next batch; one listed again later
 * starts over from the collector's lookback.
 */
export interface PartsCheckpoint<C = unknown> {
  parts: Record<string, C>;
}

export async function* readParts<S, A, C>(
  ctx: ReadContext<S, A, PartsCheckpoint<C>>,
  parts: readonly string[],
  read: (part: string, ctx: ReadContext<S, A, C>) => AsyncIterable<Batch<C>>,
): AsyncGenerator<Batch<PartsCheckpoint<C>>> {
  const saved = ctx.checkpoint?.parts ?? {};
  const positions: Record<string, C> = {};
  for (const p of parts) if (saved[p] !== undefined) positions[p] = saved[p];
  for (const part of parts) {
    if (ctx.signal.aborted) return;
    for await (const batch of read(part, { ...ctx, checkpoint: positions[part] })) {
      positions[part] = batch.checkpoint;
      yield { ...batch, checkpoint: { parts: { ...positions } } };
    }
  }
}
