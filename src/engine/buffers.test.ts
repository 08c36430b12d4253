import assert from 'node:assert/strict';
import { it } from 'node:test';
import { releasingChunks } from './buffers.ts';

async function* chunks(sizes: number[]) {
  for (const n of sizes) yield new Uint8Array(n);
}

it('passes every chunk through in order and collects the young generation every `every` bytes', async () => {
  const g = globalThis as { gc?: unknown };
  const saved = g.gc;
  const calls: unknown[] = [];
  g.gc = (options: unknown) => void calls.push(options);
  try {
    const seen: number[] = [];
    for await (const c of releasingChunks(chunks([4, 4, 1, 3, 8, 2]), 8)) seen.push(c.byteLength);
    assert.deepEqual(seen, [4, 4, 1, 3, 8, 2]);
    // 4+4 → 8 (collect), 1+3 → 4, +8 → 12 (collect), 2 → 2
    assert.deepEqual(calls, [{ type: 'minor' }, { type: 'minor' }]);
  } finally {
    g.gc = saved;
  }
});

it('works without --expose-gc', async () => {
  const g = globalThis as { gc?: unknown };
  const saved = g.gc;
  g.gc = undefined;
  try {
    let n = 0;
    for await (const c of releasingChunks(chunks([5, 5, 5]), 4)) n += c.byteLength;
    assert.equal(n, 15);
  } finally {
    g.gc = saved;
  }
});
