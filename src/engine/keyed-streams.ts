import type { Batch, ReadContext, StreamDef } from '../core/source.ts';

/**
 * One stream read for several keys that a collector's settings name — the subscriptions of an Azure
 * Activity Log collector, the tables of a Log Analytics one — each key with a position of its own inside
 * the stream's checkpoint: `{ parts: { [key]: checkpoint } }`. Keys are read one after the other, each as
 * the stream `stream(key)` (a restPoll definition for that key's URL or query); every batch carries the
 * positions of all keys, so a crash resumes each key where it was. A key removed from the settings loses its
 * position; a key added starts at the initial lookback.
 *
 * A key that fails (a subscription whose role assignment is missing) does not hold the others back: the
 * remaining keys are read, then the first failure is thrown, so the run reports it and the keys read are
 * committed.
 */
export interface KeyedCheckpoint<C = unknown> {
  parts: Record<string, C>;
}

export interface KeyedStreamsDef<S, A, C> {
  title: string;
  description?: string;
  /** The keys the settings name, in the order they are read; duplicates are read once. */
  keys: (settings: S) => string[];
  stream: (key: string) => StreamDef<S, A, C>;
}

export function keyedStreams<S, A, C>(def: KeyedStreamsDef<S, A, C>): StreamDef<S, A, KeyedCheckpoint<C>> {
  const streams = new Map<string, StreamDef<S, A, C>>();
  const streamOf = (key: string) => {
    let s = streams.get(key);
    if (!s) {
      s = def.stream(key);
      streams.set(key, s);
    }
    return s;
  };
  return {
    title: def.title,
    description: def.description,
    async *read(ctx: ReadContext<S, A, KeyedCheckpoint<C>>): AsyncGenerator<Batch<KeyedCheckpoint<C>>> {
      const keys = [...new Set(def.keys(ctx.settings))];
      const saved = ctx.checkpoint?.parts ?? {};
      const parts: Record<string, C> = {};
      for (const key of keys) if (saved[key] !== undefined) parts[key] = saved[key];
      let failure: unknown;
      for (const key of keys) {
        ctx.signal.throwIfAborted();
        const inner: ReadContext<S, A, C> = { ...ctx, checkpoint: parts[key] };
        try {
          for await (const batch of streamOf(key).read(inner)) {
            parts[key] = batch.checkpoint;
            yield { ...batch, checkpoint: { parts: { ...parts } } };
          }
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          ctx.log.warn('key failed; reading the others', { stream: ctx.stream, key });
          failure ??= err;
        }
      }
      if (failure !== undefined) throw failure;
    },
  };
}
