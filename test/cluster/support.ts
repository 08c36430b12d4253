import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Runtime } from '../../src/app/runtime.ts';
import { parseConfig } from '../../src/config/config-file.ts';
import { CONFIG_FILE, Control, type SchedulerHooks } from '../../src/control/service.ts';
import type { Logger } from '../../src/core/source.ts';
import type { RunRecord } from '../../src/core/store.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { testDatabaseUrl } from '../support/postgres.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'src/cli/main.ts');

type Truthy<T> = Exclude<T, false | undefined | null | 0 | ''>;

/** Polls `check` until it holds, failing with `what` after `ms` (never a fixed sleep). */
export async function until<T>(
  what: string,
  check: () => Promise<T> | T,
  ms = 30_000,
  every = 50,
): Promise<Truthy<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(every);
  }
}

/** A logger that keeps lines in memory (and drops nothing a test may look at). */
export function memoryLogger(): Logger & {
  lines: Array<{ level: string; msg: string; [k: string]: unknown }>;
} {
  const lines: Array<{ level: string; msg: string; [k: string]: unknown }> = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push({ level, msg, ...fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const urlWithSchema = (schema: string) =>
  `${testDatabaseUrl}${testDatabaseUrl.includes('?') ? '&' : '?'}schema=${schema}`;

/** The store and control plane of one test cluster (a fresh schema); secrets sealed with `masterKey`. */
export async function openControl(
  schema: string,
  dataDir: string,
  masterKey: string,
  log: Logger,
  scheduler?: (store: PostgresStore, runtime: Runtime) => Promise<SchedulerHooks>,
) {
  const url = urlWithSchema(schema);
  const store = await PostgresStore.open({
    connectionString: url,
    poolSize: 5,
    log,
    applicationName: 'tributary-cluster-test',
  });
  await store.migrate();
  const secrets = await SecretBox.open(dataDir, { TRIBUTARY_MASTER_KEY: masterKey });
  const runtime = new Runtime(store, secrets, log, dataDir);
  const control = new Control(runtime, scheduler ? await scheduler(store, runtime) : undefined);
  return { url, store, runtime, control };
}

export interface OrgCollector {
  name: string;
  sim: OktaSimulator;
}

/** Collectors on Okta simulators (one org each), delivering to `destination` (a config object). */
export async function applyOktaCollectors(
  control: Control,
  orgs: OrgCollector[],
  destination: Record<string, unknown>,
  o: { limit: number; requestsPerMinute: number; interval?: string },
): Promise<void> {
  const config = {
    accounts: Object.fromEntries(
      orgs.map((c) => [
        `acct-${c.name}`,
        { kind: 'okta', url: c.sim.url, token: c.sim.token, requestsPerMinute: o.requestsPerMinute },
      ]),
    ),
    destinations: { sink: destination },
    collectors: Object.fromEntries(
      orgs.map((c) => [
        c.name,
        {
          source: 'okta',
          account: `acct-${c.name}`,
          destinations: ['sink'],
          interval: o.interval ?? '1h',
          lookback: '2h',
          settings: { limit: o.limit },
        },
      ]),
    ),
  };
  await control.apply(CONFIG_FILE, parseConfig(JSON.stringify(config), { baseDir: ROOT, env: {} }));
}

/**
 * Okta orgs with `events` events each, spread over the last hour (all older than the source's lag).
 * They stop when the test that started them ends, whether it passed or not (node:test's `after`
 * inside a test belongs to that test; inside a `before` hook it would run right after the hook).
 */
export async function startOrgs(n: number, events: number, prefix = 'org'): Promise<OrgCollector[]> {
  const spacingMs = Math.max(1, Math.floor(3_000_000 / Math.max(1, events)));
  const orgs: OrgCollector[] = [];
  after(() => Promise.all(orgs.map((o) => o.sim.stop())));
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const sim = new OktaSimulator({
        events,
        spacingMs,
        seed: `${prefix}-${i}`,
        eventBytes: 700,
        rateLimitPerMinute: 1_000_000,
      });
      const org = { name: `${prefix}-${String(i).padStart(3, '0')}`, sim };
      orgs.push(org);
      await sim.start();
      return org;
    }),
  );
}

/**
 * An HTTP destination endpoint (a stand-in for a SIEM's ingest API): accepts NDJSON batches and keeps
 * every event id it acknowledged, per collector, duplicates included.
 */
export class Sink {
  readonly ids = new Map<string, string[]>();
  private server?: Server;
  url = '';
  received = 0;

  /** Listens until `stop`, or until the test that started it ends. */
  async start(): Promise<string> {
    after(() => this.stop());
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
          if (!line) continue;
          const e = JSON.parse(line) as { id: string; collector: string };
          let list = this.ids.get(e.collector);
          if (!list) this.ids.set(e.collector, (list = []));
          list.push(e.id);
          this.received++;
        }
        res.writeHead(200).end();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ingest`;
    return this.url;
  }

  destination(): Record<string, unknown> {
    return { kind: 'http', url: this.url, format: 'ndjson', timeout: 30_000 };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  }
}

/** application_name of the workers this test process starts. */
export const WORKER_APP = `tributary-worker-test-${process.pid}`;

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** The worker id it holds leases and records runs under. */
  id: string;
  /** Its JSON log lines, parsed. */
  logs: Array<Record<string, any>>;
  out: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `tributary worker` against `url` and waits until it is ready. It is killed when the test that
 * started it ends, if it is still running then.
 */
export async function spawnWorker(
  url: string,
  dataDir: string,
  masterKey: string,
  args: string[] = [],
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', '--database-url', url, ...args], {
    env: {
      ...process.env,
      TRIBUTARY_DATABASE_URL: undefined,
      TRIBUTARY_MASTER_KEY: masterKey,
      TRIBUTARY_DATA_DIR: dataDir,
      TRIBUTARY_LOG_LEVEL: 'info',
      // its connections, and only its, can be found (and terminated) in pg_stat_activity
      PGAPPNAME: WORKER_APP,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const logs: Array<Record<string, any>> = [];
  const out: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => {
    try {
      logs.push(JSON.parse(l));
    } catch {
      logs.push({ msg: l });
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.on('exit', (code, signal) => ok({ code, signal })),
  );
  const ready = new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      out.push(l);
      const m = /^worker (\S+) ready/.exec(l);
      if (m) ok(m[1]!);
    });
    void exited.then(({ code }) =>
      fail(new Error(`worker exited (${code}) before it was ready: ${logs.map((l) => l.msg).join('; ')}`)),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const id = await Promise.race([
    ready,
    new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error('worker not ready within 30 s')), 30_000);
    }),
  ]).finally(() => clearTimeout(timer));
  return { child, pid: child.pid!, id, logs, out, exited };
}

/**
 * "Never two runners at once", from the run records: per collector, ordered by start, every run
 * ended before the next one started, and each run's events were committed under its own lease.
 */
export function overlaps(runs: RunRecord[]): string[] {
  const problems: string[] = [];
  const sorted = [...runs].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const next = sorted[i]!;
    if (!prev.endedAt) problems.push(`run ${prev.id} (${prev.runner}) never ended`);
    else if (prev.endedAt > next.startedAt)
      problems.push(
        `run ${prev.id} on ${prev.runner} [${prev.startedAt} – ${prev.endedAt}] overlaps run ${next.id} on ${next.runner} started ${next.startedAt}`,
      );
    if (prev.fence !== undefined && next.fence !== undefined && next.fence <= prev.fence)
      problems.push(`run ${next.id} has fence ${next.fence}, not above ${prev.fence}`);
  }
  return problems;
}

export const randomKey = () => randomBytes(32).toString('hex');
