import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import { configError } from '../core/errors.ts';
import type { Batch, HttpClient, StreamDef } from '../core/source.ts';
import { type KeyedCheckpoint, keyedStreams } from './keyed-streams.ts';

/** A stream per key that yields `n` one-event batches from its saved position, failing where told. */
function counting(n: number, fail: Set<string> = new Set()) {
  const reads: string[] = [];
  const def = keyedStreams<{ keys: string[] }, unknown, number>({
    title: 'T',
    keys: (s) => s.keys,
    stream: (key): StreamDef<{ keys: string[] }, unknown, number> => ({
      title: key,
      async *read(ctx) {
        reads.push(key);
        for (let i = (ctx.checkpoint ?? 0) + 1; i <= n; i++) {
          if (fail.has(key)) throw configError('denied', `${key} refused`, 'assign the role');
          yield { events: [{ id: `${key}-${i}`, raw: {} }], checkpoint: i };
        }
      },
    }),
  });
  return { def, reads };
}

async function drain(def: StreamDef, keys: string[], checkpoint?: KeyedCheckpoint<number>) {
  const batches: Batch<KeyedCheckpoint<number>>[] = [];
  let error: unknown;
  try {
    for await (const b of def.read(
      readContext({} as HttpClient, { settings: { keys }, checkpoint }),
    ) as AsyncIterable<Batch<KeyedCheckpoint<number>>>)
      batches.push(b);
  } catch (err) {
    error = err;
  }
  return { batches, ids: batches.flatMap((b) => b.events.map((e) => e.id)), error };
}

describe('keyedStreams', () => {
  it('reads every key in turn, each batch carrying every key’s position', async () => {
    const { def } = counting(2);
    const r = await drain(def, ['a', 'b', 'a']);
    assert.deepEqual(r.ids, ['a-1', 'a-2', 'b-1', 'b-2']);
    assert.deepEqual(r.batches[2].checkpoint, { parts: { a: 2, b: 1 } });
  });

  it('resumes each key at its own position and forgets keys no longer named', async () => {
    const { def } = counting(3);
    const r = await drain(def, ['b', 'c'], { parts: { a: 1, b: 2 } });
    assert.deepEqual(r.ids, ['b-3', 'c-1', 'c-2', 'c-3']);
    assert.deepEqual(r.batches.at(-1)?.checkpoint, { parts: { b: 3, c: 3 } });
  });

  it('reads the other keys when one fails, then throws its error', async () => {
    const { def, reads } = counting(2, new Set(['a']));
    const r = await drain(def, ['a', 'b']);
    assert.deepEqual(reads, ['a', 'b']);
    assert.deepEqual(r.ids, ['b-1', 'b-2']);
    assert.equal((r.error as { code?: string }).code, 'denied');
    assert.deepEqual(r.batches.at(-1)?.checkpoint, { parts: { b: 2 } });
  });
});
