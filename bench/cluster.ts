import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { Runtime } from '../src/app/runtime.ts';
import { parseConfig } from '../src/config/config-file.ts';
import { CONFIG_FILE, Control } from '../src/control/service.ts';
import { silentLogger } from '../src/engine/log.ts';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { SecretBox } from '../src/store/secrets.ts';
import { spawnSimulator } from './sim-process.ts';

/**
 * Cluster mode (`npm run bench -- cluster`; needs Postgres: TRIBUTARY_TEST_DATABASE_URL or
 * postgres://postgres@127.0.0.1:5432/test). Worker processes, as deployed, against a fresh schema.
 *
 * 1. Idle collectors: N collectors (1,000 and 10,000) with nothing new to read (one empty page per
 *    run) and a 1 s interval, so every collector is always due: what is measured is the scheduling
 *    machinery itself (claim → queue → fetch → lease → run → release) on 1, 2 and 4 workers:
 *    runs completed per second, and per run the time a slot spends outside the runner (lease,
 *    schedule, resolve, release), the CPU it costs in the workers and in Postgres, and the database
 *    transactions it takes.
 * 2. Throughput-bound: 8 collectors catching up on large Okta orgs (simulators in their own
 *    processes), 1 worker against 2: events per second end to end, to file destinations.
 *
 * BENCH_CLUSTER_SIZES (1000,10000), BENCH_CLUSTER_WORKERS (1,2,4), BENCH_CLUSTER_SECONDS (15),
 * BENCH_CLUSTER_EVENTS (events per org for 2, 60000).
 */

const CLI = join(import.meta.dirname, '../bin/tributary'); // the launcher users run
const dbUrl =
  process.env.TRIBUTARY_TEST_DATABASE_URL ||
  `postgres://${encodeURIComponent(process.env.PGUSER || 'postgres')}@127.0.0.1:5432/test`;
const list = (v: string | undefined, d: number[]) => (v ? v.split(',').map(Number) : d);

/** CPU seconds (user + system) of a process so far, from /proc (Linux). */
function cpuOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds used by every Postgres server process on this host (the server is local here). */
function postgresCpu(): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') total += cpuOf(Number(pid));
    } catch {}
  }
  return total;
}

interface Worker {
  child: ChildProcess;
  runs: Array<{ at: number; ms: number; setupMs: number; delayMs?: number }>;
  exited: Promise<unknown>;
}

async function startWorker(url: string, key: string, dir: string, concurrency: number): Promise<Worker> {
  const child = spawn(CLI, ['worker', '--database-url', url, '--concurrency', String(concurrency)], {
    env: {
      ...process.env,
      TRIBUTARY_MASTER_KEY: key,
      TRIBUTARY_DATA_DIR: dir,
      TRIBUTARY_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w: Worker = { child, runs: [], exited: new Promise((ok) => child.on('exit', ok)) };
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (!line.includes('"run finished"')) return;
    const l = JSON.parse(line);
    w.runs.push({ at: l.time, ms: l.ms, setupMs: l.setupMs, delayMs: l.delayMs });
  });
  await new Promise<void>((ok, fail) => {
    createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('worker ') && ok());
    child.on('exit', (code) => fail(new Error(`worker exited ${code}`)));
  });
  return w;
}

async function stopWorkers(ws: Worker[]): Promise<void> {
  for (const w of ws) w.child.kill('SIGTERM');
  await Promise.all(ws.map((w) => w.exited));
}

/** A fresh schema with a control plane on it; everything is dropped by `drop`. */
async function freshCluster(key: string, dir: string) {
  const schema = `tributary_bench_${randomBytes(4).toString('hex')}`;
  const url = `${dbUrl}${dbUrl.includes('?') ? '&' : '?'}schema=${schema}`;
  const store = await PostgresStore.open({ connectionString: url, applicationName: 'tributary-bench' });
  await store.migrate();
  const runtime = new Runtime(
    store,
    await SecretBox.open(dir, { TRIBUTARY_MASTER_KEY: key }),
    silentLogger,
    dir,
  );
  return {
    url,
    store,
    control: new Control(runtime),
    drop: async () => {
      await runtime.close();
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}", "${schema}_pgboss" CASCADE`);
      await c.end();
    },
  };
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
};

async function idleRound(n: number, workerCounts: number[], seconds: number) {
  const key = randomBytes(32).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-cluster-'));
  const sim = await spawnSimulator('okta', ['--events', '0', '--rate-limit', '100000000']);
  const cl = await freshCluster(key, dir);
  const out: unknown[] = [];
  try {
    // One account per 100 collectors (the budget is per account), all on one simulated org.
    const accounts = Math.max(1, Math.round(n / 100));
    const config = {
      accounts: Object.fromEntries(
        Array.from({ length: accounts }, (_, i) => [
          `acct-${i}`,
          { kind: 'okta', url: sim.info.url, token: sim.info.token, requestsPerMinute: 600_000 },
        ]),
      ),
      destinations: { sink: { kind: 'file', path: join(dir, 'events.ndjson') } },
      collectors: {
        template: {
          source: 'okta',
          account: 'acct-0',
          destinations: ['sink'],
          interval: '10s', // the least a config file accepts; 1s written to the store below
          lookback: '1h',
        },
      },
    };
    await cl.control.apply(CONFIG_FILE, parseConfig(JSON.stringify(config), { baseDir: dir, env: {} }));
    const applied = (await cl.store.getCollector('template'))!;
    const template = { ...applied, config: { ...applied.config, interval: '1s' } }; // every collector always due
    await cl.store.putCollector(template);
    const t0 = performance.now();
    for (let i = 1; i < n; i += 100)
      await Promise.all(
        Array.from({ length: Math.min(100, n - i) }, (_, j) => {
          const k = i + j;
          const account = `acct-${k % accounts}`;
          return cl.store.putCollector({
            ...template,
            id: crypto.randomUUID(),
            name: `idle-${k}`,
            account,
            config: { ...template.config, account },
          });
        }),
      );
    const setupMs = performance.now() - t0;
    for (const w of workerCounts) {
      const workers = await Promise.all(Array.from({ length: w }, () => startWorker(cl.url, key, dir, 32)));
      // warm up until runs flow, then measure a window
      const warm = Date.now() + 5000;
      while (Date.now() < warm || workers.reduce((a, x) => a + x.runs.length, 0) < 50) await delay(100);
      const from = Date.now();
      const cpu0 = workers.map((x) => cpuOf(x.child.pid));
      const pg0 = postgresCpu();
      const tx0 = await xacts(cl.store);
      await delay(seconds * 1000);
      const to = Date.now();
      const cpu = workers.reduce((a, x, i) => a + cpuOf(x.child.pid) - cpu0[i]!, 0);
      const pgCpu = postgresCpu() - pg0;
      const tx = (await xacts(cl.store)) - tx0;
      await stopWorkers(workers);
      const runs = workers.flatMap((x) => x.runs).filter((r) => r.at >= from && r.at < to);
      const perSec = runs.length / ((to - from) / 1000);
      const r = {
        collectors: n,
        workers: w,
        runsPerSec: Math.round(perSec),
        // per run: a slot's time outside the runner (lease, schedule, resolve) and inside it
        setupMsP50: pct(
          runs.map((x) => x.setupMs),
          50,
        ),
        setupMsP95: pct(
          runs.map((x) => x.setupMs),
          95,
        ),
        runnerMsP50: pct(
          runs.map((x) => x.ms),
          50,
        ),
        workerCpuMsPerRun: +((cpu * 1000) / runs.length).toFixed(2),
        postgresCpuMsPerRun: +((pgCpu * 1000) / runs.length).toFixed(2),
        dbTransactionsPerRun: +(tx / runs.length).toFixed(1),
        setupSec: +(setupMs / 1000).toFixed(1),
      };
      console.log(JSON.stringify({ bench: 'cluster-idle', ...r }));
      out.push(r);
    }
  } finally {
    await cl.drop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function xacts(store: PostgresStore): Promise<number> {
  const { rows } = await store.query(
    'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0].n);
}

async function throughputRound(workers: number, eventsPerOrg: number) {
  const key = randomBytes(32).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-cluster-'));
  const orgs = 4;
  const sims = await Promise.all(
    Array.from({ length: orgs }, (_, i) =>
      spawnSimulator('okta', [
        '--events',
        String(eventsPerOrg),
        '--event-bytes',
        '1024',
        '--spacing-ms',
        '10',
        '--seed',
        String(i),
        '--rate-limit',
        '100000000',
      ]),
    ),
  );
  const cl = await freshCluster(key, dir);
  try {
    // 8 collectors, two on each org, each to its own file; one run each catches up.
    const config = {
      accounts: Object.fromEntries(
        sims.map((s, i) => [
          `org-${i}`,
          { kind: 'okta', url: s.info.url, token: s.info.token, requestsPerMinute: 600_000 },
        ]),
      ),
      destinations: Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [
          `file-${i}`,
          { kind: 'file', path: join(dir, `out-${i}.ndjson`), maxBytes: 2 ** 40 },
        ]),
      ),
      collectors: Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [
          `busy-${i}`,
          {
            source: 'okta',
            account: `org-${i % orgs}`,
            destinations: [`file-${i}`],
            interval: '1h',
            lookback: '1d',
            settings: { limit: 1000 },
          },
        ]),
      ),
    };
    await cl.control.apply(CONFIG_FILE, parseConfig(JSON.stringify(config), { baseDir: dir, env: {} }));
    const ids = (await cl.store.listCollectors()).map((c) => c.id);
    const started = performance.now();
    const ws = await Promise.all(Array.from({ length: workers }, () => startWorker(cl.url, key, dir, 8)));
    const cpu0 = ws.map((x) => cpuOf(x.child.pid));
    const pg0 = postgresCpu();
    for (;;) {
      const runs = await Promise.all(ids.map((id) => cl.store.listRuns(id, 1)));
      if (runs.every((r) => r[0]?.status === 'succeeded')) break;
      const failed = runs.find((r) => r[0]?.status === 'failed');
      if (failed) throw new Error(`run failed: ${JSON.stringify(failed[0]?.error)}`);
      await delay(200);
    }
    const ms = performance.now() - started;
    const cpu = ws.reduce((a, x, i) => a + cpuOf(x.child.pid) - cpu0[i]!, 0);
    let events = 0;
    for (const id of ids) events += (await cl.store.listRuns(id, 1))[0]!.events;
    await stopWorkers(ws);
    const r = {
      workers,
      collectors: 8,
      events,
      seconds: +(ms / 1000).toFixed(1),
      eventsPerSec: Math.round(events / (ms / 1000)),
      workerCpuSec: +cpu.toFixed(1),
      postgresCpuSec: +(postgresCpu() - pg0).toFixed(1),
    };
    console.log(JSON.stringify({ bench: 'cluster-throughput', ...r }));
    return r;
  } finally {
    await cl.drop();
    await Promise.all(sims.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function cluster() {
  const sizes = list(process.env.BENCH_CLUSTER_SIZES, [1000, 10_000]);
  const workers = list(process.env.BENCH_CLUSTER_WORKERS, [1, 2, 4]);
  const seconds = Number(process.env.BENCH_CLUSTER_SECONDS ?? 15);
  const idle = [];
  for (const n of sizes) idle.push(...(await idleRound(n, workers, seconds)));
  const eventsPerOrg = Number(process.env.BENCH_CLUSTER_EVENTS ?? 60_000);
  const one = await throughputRound(1, eventsPerOrg);
  const two = await throughputRound(2, eventsPerOrg);
  return {
    idle,
    throughput: { one, two, speedup: +(two.eventsPerSec / one.eventsPerSec).toFixed(2) },
  };
}
