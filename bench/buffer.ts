import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Destination } from '../src/core/destination.ts';
import { type Envelope, makeEnvelope, RawJson } from '../src/core/envelope.ts';
import { transientError } from '../src/core/errors.ts';
import { BufferedDestination } from '../src/engine/destination-buffer.ts';
import { silentLogger } from '../src/engine/log.ts';

/**
 * Destination buffer (docs/destinations.md, "Buffering"): ≈1 KB events in batches of 1000. `spill`:
 * the destination is down, every batch is written to the buffer and fsynced before `send` resolves
 * (what a collector waits for per batch while a destination is down). `drain`: the destination comes
 * back and takes batches at once (a no-op), so the figure is the buffer's own cost: read, decode,
 * delete, fsync. On the data directory's disk under tmpdir (BENCH_DIR to pick another).
 */
export async function buffer(events = Number(process.env.BENCH_EVENTS ?? 100_000)) {
  const PAGE = 1000;
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'tributary-bench-buffer-'));
  try {
    const pad = 'x'.repeat(900);
    const batches: Envelope[][] = [];
    const at = new Date().toISOString();
    for (let b = 0; b < events / PAGE; b++)
      batches.push(
        Array.from({ length: PAGE }, (_, i) =>
          makeEnvelope(
            { source: 'okta', stream: 'system-log', collector: 'bench' },
            new RawJson(`{"uuid":"${b}-${i}","published":"${at}","pad":"${pad}"}`),
            `${b}-${i}`,
            at,
            at,
          ),
        ),
      );
    let up = false;
    let taken = 0;
    const inner: Destination = {
      name: 'bench',
      kind: 'memory',
      async send(list) {
        if (!up) throw transientError('destination_unavailable', 'down', 'wait');
        taken += list.length;
      },
      async close() {},
    };
    const buf = new BufferedDestination(inner, {
      dir: join(dir, 'buffers', 'bench'),
      maxBytes: 2 ** 40,
      spillAfterMs: 60_000,
      backoffBaseMs: 60_000, // the drainer waits out the spill: the two phases are measured apart
      backoffMaxMs: 60_000,
      log: silentLogger,
    });
    const signal = new AbortController().signal;
    let t = performance.now();
    for (const b of batches) await buf.send(b, signal);
    const spillMs = performance.now() - t;
    const bytes = buf.status().bytes;
    await buf.close();
    up = true;
    t = performance.now();
    const again = new BufferedDestination(inner, {
      dir: join(dir, 'buffers', 'bench'),
      maxBytes: 2 ** 40,
      spillAfterMs: 60_000,
      backoffBaseMs: 1,
      backoffMaxMs: 10,
      log: silentLogger,
    });
    await again.drained();
    const drainMs = performance.now() - t;
    await again.close();
    if (taken !== events) throw new Error(`drained ${taken} of ${events} events`);
    const rate = (n: number, ms: number) => Math.round(n / (ms / 1000));
    return {
      events,
      batchEvents: PAGE,
      bufferedMB: +(bytes / 1e6).toFixed(1),
      spillEventsPerSec: rate(events, spillMs),
      spillMBPerSec: +(bytes / 1e6 / (spillMs / 1000)).toFixed(1),
      spillMsPerBatch: +(spillMs / batches.length).toFixed(2),
      drainEventsPerSec: rate(events, drainMs),
      drainMBPerSec: +(bytes / 1e6 / (drainMs / 1000)).toFixed(1),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
