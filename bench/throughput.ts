import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { accountKinds } from '../src/accounts/index.ts';
import { validateSettings } from '../src/config/config-file.ts';
import { fileScope } from '../src/destinations/file/file-scope.ts';
import { createDestination } from '../src/destinations/index.ts';
import { silentLogger } from '../src/engine/log.ts';
import { RateLimits } from '../src/engine/rate-limit.ts';
import { runCollector } from '../src/engine/runner.ts';
import { sources } from '../src/sources/index.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { spawnSimulator } from './sim-process.ts';

/**
 * Throughput: Okta simulator (another process) → engine → file destination, ≈1 KB events, against
 * the bare limit measured in the same run: the same page bodies through JSON.parse, JSON.stringify
 * and a file write in one loop, with no engine, HTTP or store.
 */
/**
 * A body as text the way the engine decodes one (engine/json-stream.ts readJson): in pieces, so that
 * text fitting Latin-1 is one byte per character, as JSON.stringify's output is. Decoded whole, a
 * body over 1 MB with one non-ASCII character becomes a two-byte string, which JSON.parse reads more
 * slowly: the limit would be measured on a slower input than the engine's.
 */
function decode(bytes: Uint8Array): string {
  const decoder = new TextDecoder();
  let text = '';
  for (let at = 0; at < bytes.byteLength; at += 256 * 1024) {
    text += decoder.decode(bytes.subarray(at, at + 256 * 1024), { stream: true });
  }
  return text + decoder.decode();
}

/**
 * The Okta simulator the throughput benchmarks read, in its own process: `events` events of ≈1 KB, their
 * bytes rendered before any clock starts (the simulator shares the 2 cores).
 */
export function oktaPages(events: number) {
  return spawnSimulator('okta', [
    '--events',
    String(events),
    '--event-bytes',
    '1024',
    '--spacing-ms',
    '10',
    '--rate-limit',
    '100000000',
    '--prerender',
  ]);
}

/** Every page of the simulator's System Log, `limit` events a page, each decoded as the engine does. */
export async function fetchPages(
  sim: Awaited<ReturnType<typeof oktaPages>>,
  limit: number,
): Promise<string[]> {
  const pages: string[] = [];
  let next: string | undefined =
    `${sim.info.url}/api/v1/logs?limit=${limit}&sortOrder=ASCENDING&since=${new Date(Date.now() - 86_400_000).toISOString()}&until=${new Date(Date.now() - 60_000).toISOString()}`;
  while (next) {
    const res: Response = await fetch(next, { headers: { authorization: `SSWS ${sim.info.token}` } });
    pages.push(decode(await res.bytes()));
    next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
  }
  return pages;
}

export async function throughput(events = Number(process.env.BENCH_EVENTS ?? 200_000)) {
  const PAGE = 1000;
  const sim = await oktaPages(events);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-'));
  try {
    // The bare limit: fetch every page once (outside the timing), then parse/stringify/write them.
    const f0 = performance.now();
    const pages = await fetchPages(sim, PAGE);
    const fetchMs = performance.now() - f0; // the simulator and HTTP alone, for context
    for (const page of pages) JSON.parse(page); // flattens each page in place, before any timing
    // Best of three: the limit is a floor that background noise can only make look worse.
    let bareMs = Number.POSITIVE_INFINITY;
    let bareCpuSec = Number.POSITIVE_INFINITY;
    let bareBytes = 0;
    let bareEvents = 0;
    for (let round = 0; round < 3; round++) {
      const fd = openSync(join(dir, 'bare.ndjson'), 'w');
      bareBytes = 0;
      bareEvents = 0;
      const bareCpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (const page of pages) {
        const records = JSON.parse(page) as unknown[];
        const lines = records.map((r) => JSON.stringify({ id: (r as { uuid: string }).uuid, raw: r }));
        bareBytes += writeSync(fd, `${lines.join('\n')}\n`);
        bareEvents += records.length;
      }
      bareMs = Math.min(bareMs, performance.now() - t0);
      const bareCpu = process.cpuUsage(bareCpu0);
      bareCpuSec = Math.min(bareCpuSec, (bareCpu.user + bareCpu.system) / 1e6);
      closeSync(fd);
    }
    // Nothing of the limit's run stays behind to burden the engine's: its pages, its file (and the
    // writeback of that file's dirty pages, which the engine's fsyncs would otherwise wait for).
    pages.length = 0;
    rmSync(join(dir, 'bare.ndjson'));

    // The engine: the real runner, store and file destination.
    const store = await SqliteStore.open(join(dir, 'data'));
    await store.migrate();
    const now = new Date().toISOString();
    await store.putCollector({
      id: 'bench',
      name: 'bench',
      source: 'okta',
      account: 'a',
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
    const checked = validateSettings('okta', { limit: PAGE });
    if (!checked.ok) throw new Error(checked.issues.join('; '));
    const simCpu0 = sim.cpu();
    // Garbage collections during the engine's run: count and pause time (main thread), minor and major.
    const gc = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
    const count = (entries: PerformanceEntry[]) => {
      for (const e of entries) {
        const kind = (e as { detail?: { kind?: number } }).detail?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
          gc.minor++;
          gc.minorMs += e.duration;
        } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
          gc.major++;
          gc.majorMs += e.duration;
        }
      }
    };
    const gcs = new PerformanceObserver((list) => count(list.getEntries()));
    gcs.observe({ entryTypes: ['gc'] });
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const t1 = performance.now();
    const result = await runCollector(
      {
        id: 'bench',
        name: 'bench',
        source: sources.okta,
        accountKind: accountKinds.okta,
        account: { url: sim.info.url, token: sim.info.token },
        accountKey: 'a',
        settings: checked.settings,
        streams: ['system-log'],
        destinations: [dest],
        window: { lookbackMs: 86_400_000 },
        // The collector's `batchesPerCommit` (default 1: a write, fsync and checkpoint commit per page).
        ...(process.env.BENCH_BATCHES_PER_COMMIT && {
          batchesPerCommit: Number(process.env.BENCH_BATCHES_PER_COMMIT),
        }),
      },
      { store, log: silentLogger, rateLimits: new RateLimits(null) },
    );
    const engineMs = performance.now() - t1;
    count(gcs.takeRecords()); // entries not yet handed to the callback
    gcs.disconnect();
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    const simCpu = (sim.cpu() ?? Number.NaN) - (simCpu0 ?? Number.NaN);
    await dest.close();
    await store.close();
    if (result.status !== 'succeeded' || result.events !== events)
      throw new Error(`run ${result.status}: ${result.events} events ${JSON.stringify(result.error)}`);

    const mb = (b: number, ms: number) => (b / 1048576 / (ms / 1000)).toFixed(1);
    const eps = (n: number, ms: number) => Math.round(n / (ms / 1000));
    return {
      events,
      avgEventBytes: Math.round(result.bytes / events),
      engine: {
        eventsPerSec: eps(events, engineMs),
        mbPerSec: mb(result.bytes, engineMs),
        ms: Math.round(engineMs),
        // CPU seconds used meanwhile by the engine's process (all its threads) and by the simulator's
        cpuSec: ((cpu.user + cpu.system) / 1e6).toFixed(2),
        simCpuSec: simCpu.toFixed(2),
        // the share of the time the engine's event loop (its one JavaScript thread) was busy
        eventLoopBusy: `${Math.round(elu.utilization * 100)}%`,
        // scavenges and mark-compacts meanwhile, with their pauses of the event loop
        gc: {
          scavenges: gc.minor,
          scavengeMs: Math.round(gc.minorMs),
          markCompacts: gc.major,
          markCompactMs: Math.round(gc.majorMs),
        },
      },
      bareLimit: {
        eventsPerSec: eps(bareEvents, bareMs),
        mbPerSec: mb(bareBytes, bareMs),
        ms: Math.round(bareMs),
        cpuSec: bareCpuSec.toFixed(2),
      },
      ratio: `${Math.round((eps(events, engineMs) / eps(bareEvents, bareMs)) * 100)}%`,
      // The same comparison in CPU seconds (the engine's process, all its threads): steadier than the wall
      // clock while other jobs share the cores, though it leaves out waiting (for the simulator, fsyncs).
      cpuRatio: `${Math.round((bareCpuSec / ((cpu.user + cpu.system) / 1e6)) * 100)}%`,
      batchesPerCommit: Number(process.env.BENCH_BATCHES_PER_COMMIT ?? 1),
      fetchOnly: { eventsPerSec: eps(bareEvents, fetchMs), ms: Math.round(fetchMs) },
    };
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
