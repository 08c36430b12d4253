import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import type { Batch, HttpClient, StreamDef } from '../core/source.ts';
import { type KeyedCheckpoint, keyedStream } from './keyed-stream.ts';

const http = {} as HttpClient;

/** A part's stream: yields `n` batches of one event each, its checkpoint counting up from the saved one. */
const counter =
  (n: number, seen: Array<[string, unknown]>) =>
  (part: string): StreamDef =>
    ({
      title: part,
      async *read(ctx) {
        seen.push([part, ctx.checkpoint]);
        const from = (ctx.checkpoint as number | undefined) ?? 0;
        for (let i = from + 1; i <= n; i++)
          yield { events: [{ id: `${part}-${i}`, raw: {} }], checkpoint: i };
      },
    }) as StreamDef;

async function drain(
  s: StreamDef<any, any, KeyedCheckpoint>,
  checkpoint?: KeyedCheckpoint,
  stopAfter = Infinity,
) {
  const batches: Batch<KeyedCheckpoint>[] = [];
  for await (const b of s.read(readContext(http, { checkpoint }))) {
    batches.push(b);
    if (batches.length >= stopAfter) break;
  }
  return batches;
}

describe('keyedStream', () => {
  it('reads every part from its own position; each batch carries every part as it stands after it', async () => {
    const seen: Array<[string, unknown]> = [];
    const s = keyedStream({
      title: 't',
      parts: async () => ['a', 'b'],
      key: (p) => p,
      stream: counter(2, seen),
    });
    const batches = await drain(s, { parts: { b: 1 } });
    assert.deepEqual(
      batches.map((b) => b.events[0].id),
      ['a-1', 'a-2', 'b-2'],
    );
    assert.deepEqual(
      batches.map((b) => b.checkpoint),
      [{ parts: { a: 1, b: 1 } }, { parts: { a: 2, b: 1 } }, { parts: { a: 2, b: 2 } }],
    );
    assert.deepEqual(seen, [
      ['a', undefined],
      ['b', 1],
    ]);
  });

  it('a crash resumes every part where its last committed batch left it', async () => {
    const s = keyedStream({
      title: 't',
      parts: async () => ['a', 'b'],
      key: (p) => p,
      stream: counter(3, []),
    });
    const first = await drain(s, undefined, 4);
    const rest = await drain(s, first.at(-1)!.checkpoint);
    assert.deepEqual(
      [...first, ...rest].map((b) => b.events[0].id),
      ['a-1', 'a-2', 'a-3', 'b-1', 'b-2', 'b-3'],
    );
  });

  it('drops parts the listing no longer names, starts new ones fresh, reads a part listed twice once', async () => {
    const seen: Array<[string, unknown]> = [];
    const s = keyedStream({
      title: 't',
      parts: async () => ['c', 'b', 'c'],
      key: (p) => p,
      stream: counter(1, seen),
    });
    const batches = await drain(s, { parts: { a: 1, b: 1 } });
    assert.deepEqual(
      batches.map((b) => b.checkpoint),
      [{ parts: { c: 1, b: 1 } }],
    );
    assert.deepEqual(seen, [
      ['c', undefined],
      ['b', 1],
    ]);
  });

  it('a failing part does not hold the others back: they are read, then the first failure is thrown', async () => {
    const failing = (part: string): StreamDef =>
      part === 'b'
        ? ({
            title: 'b',
            // biome-ignore lint/correctness/useYield: fails before its first batch
            async *read() {
              throw new Error('role assignment missing');
            },
          } as StreamDef)
        : counter(1, [])(part);
    const s = keyedStream({ title: 't', parts: () => ['a', 'b', 'c'], key: (p) => p, stream: failing });
    const batches: Batch<KeyedCheckpoint>[] = [];
    await assert.rejects(async () => {
      for await (const b of s.read(readContext(http, {}))) batches.push(b);
    }, /role assignment missing/);
    assert.deepEqual(
      batches.map((b) => b.checkpoint),
      [{ parts: { a: 1 } }, { parts: { a: 1, c: 1 } }],
    );
  });
});
