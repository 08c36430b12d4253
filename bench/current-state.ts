import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Envelope, makeEnvelope, RawJson } from '../src/core/envelope.ts';
import { CurrentState } from '../src/destinations/file/current-state.ts';

/**
 * The file destination's current-state files (docs/destinations.md, "file"): full refreshes of a
 * context stream of N entities (≈400-byte records) in batches of 1,000, each followed by its marker,
 * then 20 delta batches of 100 changes, for N = 10,000 and 100,000. `bytesPerRecord` is what the state
 * and change files took per record delivered (appends, compactions); `rewriteBytesPerRecord` is what
 * rewriting the state file whole for every batch (the design before) writes in the same run: the state
 * file's size after each batch, summed. The first stays flat as N grows; the second grows with N.
 * `msPerBatch` is wall time per batch (fsyncs included) on the data directory's disk (BENCH_DIR).
 */
export async function currentState() {
  const rows: Array<Record<string, number>> = [];
  for (const n of [10_000, 100_000]) {
    const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'tributary-bench-state-'));
    try {
      const state = new CurrentState(join(dir, 'ctx.ndjson'), undefined, false);
      const file = state.pathOf('bench', 'ip');
      const pad = 'x'.repeat(250);
      const rec = (i: number, op: 'upsert' | 'end', snapshot: string): Envelope =>
        makeEnvelope(
          { source: 'recorded-future-context', stream: 'ip', collector: 'bench' },
          new RawJson(`{"Name":"10.0.${i >> 8}.${i & 255}","Risk":"${i % 99}","EvidenceDetails":"${pad}"}`),
          op === 'end' ? `end:ip:${snapshot}` : `ip:${i}`,
          undefined,
          snapshot,
          { op, entity: 'ip', snapshot },
        );
      // The live state as the bench sent it (id → [line bytes, snapshot]) and its size: what a whole
      // rewrite of the state file would write after each batch.
      const live = new Map<string, [number, string]>();
      let liveBytes = 0;
      let records = 0;
      let batches = 0;
      let rewrite = 0;
      const started = performance.now();
      const apply = async (events: Envelope[]) => {
        await state.apply(events);
        records += events.length;
        batches++;
        for (const e of events) {
          const snapshot = e.snapshot!;
          if (e.op === 'end') {
            for (const [id, [bytes, s]] of live)
              if (s !== snapshot) {
                live.delete(id);
                liveBytes -= bytes;
              }
            continue;
          }
          const bytes = Buffer.byteLength(JSON.stringify(e)) + 1;
          liveBytes += bytes - (live.get(e.id)?.[0] ?? 0);
          live.set(e.id, [bytes, snapshot]);
        }
        rewrite += liveBytes;
      };
      for (const [r, snapshot] of ['2026-12-07T00:00:00.000Z', '2026-12-07T06:00:00.000Z'].entries()) {
        for (let i = 0; i < n; i += 1000)
          await apply(Array.from({ length: 1000 }, (_, j) => rec(i + j + r * 7, 'upsert', snapshot)));
        await apply([rec(0, 'end', snapshot)]);
      }
      for (let b = 0; b < 20; b++)
        await apply(
          Array.from({ length: 100 }, (_, j) =>
            rec((b * 100 + j) * 13, 'upsert', '2026-12-07T06:00:00.000Z'),
          ),
        );
      const ms = performance.now() - started;
      await state.close();
      rows.push({
        entities: n,
        records,
        batches,
        stateFileBytes: statSync(file).size,
        bytesPerRecord: Math.round(state.bytesWritten / records),
        rewriteBytesPerRecord: Math.round(rewrite / records),
        msPerBatch: Math.round((ms / batches) * 10) / 10,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}
