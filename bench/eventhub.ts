import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventHubConsumerClient, earliestEventPosition } from '@azure/event-hubs';
import { accountKinds } from '../src/accounts/index.ts';
import { fileScope } from '../src/destinations/file/file-scope.ts';
import { createDestination } from '../src/destinations/index.ts';
import { silentLogger } from '../src/engine/log.ts';
import { RateLimits } from '../src/engine/rate-limit.ts';
import { consumeCollector } from '../src/engine/stream-consumer.ts';
import { sources } from '../src/sources/index.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { spawnSimulator } from './sim-process.ts';

/**
 * Event Hubs: the AMQP Event Hubs simulator (another process, src/sim/event-hub-amqp.ts) → the stream
 * consumer with `azure-event-hub` (official client, positions committed in the embedded store after each
 * batch) → file destination, ≈1 KB `{"records":[…]}` events over 4 partitions, against the bare limit
 * measured in the same run: the same client subscribed to every partition, each body parsed, re-serialized
 * and written to a file, with no engine, store or commits.
 */
export async function eventhub(events = Number(process.env.BENCH_EVENTS ?? 100_000)) {
  const partitions = Number(process.env.BENCH_PARTITIONS ?? 4);
  const sim = await spawnSimulator('event-hub', [
    '--partitions',
    String(partitions),
    '--events',
    String(events),
    '--event-bytes',
    '1024',
  ]);
  const cs = String(sim.info.connectionString);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-eventhub-'));
  try {
    // The bare limit: the client alone, every partition from the start, parse + stringify + write.
    const client = new EventHubConsumerClient('tributary', cs, 'insights');
    const fd = openSync(join(dir, 'bare.ndjson'), 'w');
    let bare = 0;
    const t0 = performance.now();
    await new Promise<void>((done, fail) => {
      const sub = client.subscribe(
        {
          processEvents: async (batch, ctx) => {
            const lines: string[] = [];
            for (const e of batch) {
              const body = JSON.parse(Buffer.from(e.body as Uint8Array).toString('utf8'));
              for (const r of body.records)
                lines.push(JSON.stringify({ id: `${ctx.partitionId}/${e.sequenceNumber}`, raw: r }));
            }
            if (lines.length) writeSync(fd, `${lines.join('\n')}\n`);
            bare += batch.length;
            if (bare >= events) void sub.close().then(done);
          },
          processError: async (err) => fail(err),
        },
        {
          startPosition: earliestEventPosition,
          maxBatchSize: 500,
          maxWaitTimeInSeconds: 1,
          skipParsingBodyAsJson: true,
        },
      );
    });
    const bareMs = performance.now() - t0;
    closeSync(fd);
    await client.close();
    rmSync(join(dir, 'bare.ndjson'));

    // The engine: the stream consumer, the real source, store and file destination.
    const store = await SqliteStore.open(join(dir, 'data'));
    await store.migrate();
    const now = new Date().toISOString();
    await store.putCollector({
      id: 'bench',
      name: 'bench',
      source: 'azure-event-hub',
      config: {},
      enabled: true,
      secrets: {},
      createdAt: now,
      updatedAt: now,
    });
    const dest = createDestination(
      'file',
      { kind: 'file', path: join(dir, 'out.ndjson'), maxBytes: 2 ** 40, maxFiles: 1 } as never,
      { baseDir: dir, files: fileScope(dir) },
    );
    const source = sources['azure-event-hub']!;
    const stop = new AbortController();
    let committed = 0;
    let finished!: () => void;
    const all = new Promise<void>((ok) => {
      finished = ok;
    });
    const cpu0 = process.cpuUsage();
    const simCpu0 = sim.cpu();
    const t1 = performance.now();
    const running = consumeCollector(
      {
        id: 'bench',
        name: 'bench',
        source,
        accountKind: accountKinds['azure-event-hubs']!,
        account: { connectionString: cs, eventHubName: 'insights', consumerGroup: 'tributary' },
        accountKey: 'a',
        settings: source.settings.parse({}),
        streams: ['events'],
        destinations: [dest],
        window: { lookbackMs: 86_400_000 },
      },
      {
        store,
        log: silentLogger,
        rateLimits: new RateLimits(null),
        owner: 'bench',
        stop: stop.signal,
        consumer: {
          idleMs: 5,
          onCommit: (c) => {
            committed += c.events;
            if (committed >= events) finished();
          },
        },
      },
    );
    await all;
    const engineMs = performance.now() - t1;
    const cpu = process.cpuUsage(cpu0);
    const simCpu = (sim.cpu() ?? Number.NaN) - (simCpu0 ?? Number.NaN);
    stop.abort();
    const [result] = await running;
    await dest.close();
    await store.close();
    if (result?.status !== 'succeeded' || result.events !== events)
      throw new Error(
        `consumer ${result?.status}: ${result?.events} events ${JSON.stringify(result?.error)}`,
      );
    const eps = (n: number, ms: number) => Math.round(n / (ms / 1000));
    return {
      events,
      partitions,
      bareEventsPerSec: eps(bare, bareMs),
      engineEventsPerSec: eps(events, engineMs),
      shareOfLimit: +(bareMs / engineMs).toFixed(2),
      engineCpuSec: +((cpu.user + cpu.system) / 1e6).toFixed(1),
      simCpuSec: +simCpu.toFixed(1),
    };
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
