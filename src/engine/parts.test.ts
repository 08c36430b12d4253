import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Batch, ReadContext } from '../core/source.ts';
import { type PartsCheckpoint, readParts } from './parts.ts';

/** A part that yields its events from its saved index on, two a batch. */
function fakeRead(data: Record<string, string[]>, seen: Array<[string, number | undefined]>) {
  return async function* (
    part: string,
    ctx: ReadContext<unknown, unknown, number>,
  ): AsyncIterable<Batch<number>> {
    seen.push([part, ctx.checkpoint]);
    const events = data[part] ?? [];
    for (let i = ctx.checkpoint ?? 0; i < events.length; i += 2) {
      const slice = events.slice(i, i + 2);
      yield { events: slice.map((id) => ({ id, raw: { id } })), checkpoint: i + slice.length };
    }
  };
}

const ctxOf = (checkpoint?: PartsCheckpoint<number>, signal = new AbortController().signal) =>
  ({ checkpoint, signal }) as unknown as ReadContext<unknown, unknown, PartsCheckpoint<number>>;

async function drain(it: AsyncIterable<Batch<PartsCheckpoint<number>>>, stopAfter = Infinity) {
  const out: Array<Batch<PartsCheckpoint<number>>> = [];
  for await (const b of it) {
    out.push(b);
    if (out.length >= stopAfter) break;
  }
  return out;
}

describe('readParts', () => {
  const data = { a: ['a1', 'a2', 'a3'], b: ['b1', 'b2'] };

  it('reads each part from its own position; every batch carries every position', async () => {
    const seen: Array<[string, number | undefined]> = [];
    const batches = await drain(readParts(ctxOf(), ['a', 'b'], fakeRead(data, seen)));
    assert.deepEqual(
      batches.flatMap((b) => b.events.map((e) => e.id)),
      ['a1', 'a2', 'a3', 'b1', 'b2'],
    );
    assert.deepEqual(
      batches.map((b) => b.checkpoint),
      [{ parts: { a: 2 } }, { parts: { a: 3 } }, { parts: { a: 3, b: 2 } }],
    );
    assert.deepEqual(seen, [
      ['a', undefined],
      ['b', undefined],
    ]);
  });

  it('resumes after a crash: a finished part stays finished, the next one starts where it was', async () => {
    const seen: Array<[string, number | undefined]> = [];
    const first = await drain(readParts(ctxOf(), ['a', 'b'], fakeRead(data, seen)), 2);
    const saved = first.at(-1)!.checkpoint;
    const rest = await drain(readParts(ctxOf(saved), ['a', 'b'], fakeRead(data, seen)));
    assert.deepEqual(
      rest.flatMap((b) => b.events.map((e) => e.id)),
      ['b1', 'b2'],
    );
    assert.deepEqual(seen.slice(-2), [
      ['a', 3],
      ['b', undefined],
    ]);
  });

  it('drops the position of a part no longer listed, and stops when cancelled', async () => {
    const seen: Array<[string, number | undefined]> = [];
    const batches = await drain(readParts(ctxOf({ parts: { gone: 7, b: 0 } }), ['b'], fakeRead(data, seen)));
    assert.deepEqual(batches.at(-1)!.checkpoint, { parts: { b: 2 } });
    const ctl = new AbortController();
    ctl.abort();
    assert.deepEqual(await drain(readParts(ctxOf(undefined, ctl.signal), ['a'], fakeRead(data, seen))), []);
  });
});
