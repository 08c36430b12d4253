import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { type Config, ConfigError, type KnownNames, loadConfigFile } from '../config/config-file.ts';
import { ApiError } from '../control/errors.ts';
import { CONFIG_FILE, Control, type SchedulerHooks } from '../control/service.ts';
import { formatDuration, parseDuration } from '../core/duration.ts';
import { type FileScope, fileScope } from '../destinations/file/file-scope.ts';
import { destinationCatalog } from '../destinations/index.ts';
import { createLogger } from '../engine/log.ts';
import type { RunResult } from '../engine/runner.ts';
import { Runtime } from '../engine/runtime.ts';
import { Scheduler } from '../engine/scheduler.ts';
import { sources } from '../sources/index.ts';
import { isPostgresStore, migrateStore, openStore } from '../store/open.ts';
import type { PostgresStore } from '../store/postgres/postgres-store.ts';
import { SecretBox } from '../store/secrets.ts';

const USAGE = `Usage: tributary <command> [options]

Commands:
  run --config FILE [--once] [--collector NAME]...   Run collectors from a config file (--once: until caught up, then exit)
  serve [--config FILE] [--demo] [--port N]          Run collectors on their intervals, with status at http://127.0.0.1:PORT
  sources [--json]                                   List the sources with their streams and stability
  destinations [--json]                              List the destination kinds (--json: with their settings JSON Schema)
  apply -f FILE [--prune]                            Create or update what FILE defines (--prune: delete what it no longer names)
  keys rotate                                        New encryption key for stored secrets; re-encrypts them all
  migrate [--database-url URL | --data-dir DIR]      Apply the store's schema migrations and print its schema version
  worker --database-url URL [--concurrency N]        Cluster mode: take collector runs from the shared queue (see docs/deployment.md)
         [--lease-ttl 30s] [--grace 30s]             --metrics-port N: /metrics, /healthz and /readyz on N (default off;
         [--metrics-port N]                          TRIBUTARY_METRICS_HOST, default 127.0.0.1; docs/operations.md)
  export [--out FILE]                                Write accounts, collectors, destinations, sites, users and checkpoints
                                                     to FILE (secrets stay encrypted)
  import --in FILE [--force]                         Load an export into the store (e.g. --database-url URL); needs the
                                                     master key the secrets were sealed with

Options:
  --data-dir DIR       Where state is kept (default ./data, or TRIBUTARY_DATA_DIR)
  --database-url URL   Keep state in Postgres instead (postgres://…, or TRIBUTARY_DATABASE_URL)

File destinations set through the API write only inside the output root: TRIBUTARY_FILE_ROOT, default
DATA_DIR/output. A config file may name other paths, never the data directory's own files.
  -h, --help           Show this help
`;

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function fail(message: string, code = EXIT_USAGE): never {
  process.stderr.write(`tributary: ${message}\n`);
  process.exit(code);
}

async function openRuntime(dataDir: string, databaseUrl: string | undefined): Promise<Runtime> {
  let files: FileScope;
  try {
    files = fileScope(dataDir, process.env.TRIBUTARY_FILE_ROOT);
  } catch (err) {
    return fail((err as Error).message);
  }
  const log = createLogger();
  const store = await openStore({ dataDir, databaseUrl, log });
  await store.migrate();
  if (databaseUrl && !process.env.TRIBUTARY_MASTER_KEY)
    log.warn(
      `secrets are sealed with the keyring in ${dataDir}: every process sharing this database needs the same key; set TRIBUTARY_MASTER_KEY`,
    );
  const secrets = await SecretBox.open(dataDir);
  return new Runtime(store, secrets, log, dataDir, files);
}

/** Loads a config file; it may name accounts, destinations and sites that already exist in the store. */
async function loadConfig(path: string | undefined, runtime: Runtime): Promise<Config> {
  if (!path) fail('--config FILE is required');
  const known: KnownNames = {
    accounts: Object.fromEntries((await runtime.store.listAccounts()).map((a) => [a.name, a.kind])),
    destinations: (await runtime.store.listDestinations()).map((d) => d.name),
    sites: (await runtime.store.listSites()).map((s) => s.name),
  };
  try {
    return loadConfigFile(path, process.env, known);
  } catch (err) {
    if (err instanceof ConfigError) {
      await runtime.close();
      fail(err.message);
    }
    throw err;
  }
}

/** Writes a config file into the store through the control plane, as `tributary apply` does. */
async function applyConfig(runtime: Runtime, config: Config, prune = false) {
  try {
    return await new Control(runtime).apply(CONFIG_FILE, config, { prune });
  } catch (err) {
    if (err instanceof ApiError) {
      await runtime.close();
      const issues = err.issues?.map((i) => `\n  ${i.path}: ${i.message}`).join('') ?? '';
      fail(`${err.message}${issues}`, EXIT_FAILED);
    }
    throw err;
  }
}

function summary(r: RunResult): string {
  const head = `${r.collector}: ${r.events} events, ${r.pages} pages, ${formatDuration(r.durationMs)}`;
  if (r.status === 'succeeded')
    return `${head}${r.deadLetters ? `, ${r.deadLetters} dead letters` : ''} — caught up`;
  if (!r.error) return `${head} — ${r.status}`;
  return `${head} — ${r.status}: [${r.error.type}/${r.error.code}] ${r.error.message}\n  Recommended action: ${r.error.action}`;
}

async function cmdRun(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      once: { type: 'boolean', default: false },
      collector: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
    },
  });
  const runtime = await openRuntime(dataDir(values['data-dir']), databaseUrl(values['database-url']));
  const config = await loadConfig(values.config, runtime);
  const names =
    values.collector ?? Object.keys(config.collectors).filter((n) => config.collectors[n].enabled);
  for (const n of names)
    if (!Object.hasOwn(config.collectors, n)) fail(`no collector named "${n}" in ${values.config}`);
  if (!names.length) fail(`${values.config} defines no enabled collector`);
  await applyConfig(runtime, config);
  if (!values.once) return serveLoop(runtime, undefined);

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Cluster mode: a run from the CLI takes the collector's lease like a worker's run does.
  const runLeased = isPostgresStore(runtime.store)
    ? (await import('../cluster/lease.ts')).runWithLease
    : undefined;
  const results = await Promise.all(
    names.map((n) =>
      (runLeased
        ? runLeased(runtime, n, { stop: stop.signal, destinationMaxWaitMs: 5 * 60_000 }, leaseTtl())
        : runtime.run(n, { stop: stop.signal, destinationMaxWaitMs: 5 * 60_000 })
      ).catch((err) => {
        process.stdout.write(`${n}: could not run — ${(err as Error).message}\n`);
        return undefined;
      }),
    ),
  );
  for (const r of results) if (r) process.stdout.write(`${summary(r)}\n`);
  await runtime.close();
  return results.every((r) => r?.status === 'succeeded') ? EXIT_OK : EXIT_FAILED;
}

/**
 * The embedded scheduler runs collectors in this process; with the Postgres store (cluster mode) this
 * process only schedules, and `tributary worker` processes run the collectors.
 */
async function startScheduler(runtime: Runtime): Promise<
  SchedulerHooks & {
    stop(): Promise<void>;
    /** Cluster mode: what /metrics and /readyz add for the job queue. */
    queue?: { queued(): Promise<number>; unready(): Promise<string | undefined> };
  }
> {
  if (isPostgresStore(runtime.store)) {
    const store = runtime.store;
    const { startBoss, queuedRuns, bossUnready } = await import('../cluster/boss.ts');
    const { READY_TIMEOUT_MS } = await import('../api/ops.ts');
    const { ClusterScheduler } = await import('../cluster/scheduler.ts');
    const boss = await startBoss(runtime.store, { log: runtime.log });
    const scheduler = new ClusterScheduler(runtime.store, boss, runtime.log, { leaseTtlMs: leaseTtl() });
    process.stdout.write('Cluster mode: collectors run on `tributary worker` processes\n');
    return Object.assign(scheduler, {
      stop: async () => {
        await scheduler.idle();
        await boss.stop({ graceful: false, close: false });
      },
      queue: {
        queued: () => queuedRuns(store),
        unready: () => bossUnready(boss, READY_TIMEOUT_MS),
      },
    });
  }
  const scheduler = new Scheduler(runtime);
  await scheduler.start();
  return scheduler;
}

/** TRIBUTARY_LEASE_TTL, the cluster's lease time to live (the same on every process). */
function leaseTtl(flag?: string): number {
  const text = flag ?? process.env.TRIBUTARY_LEASE_TTL ?? '30s';
  try {
    const ms = parseDuration(text);
    if (ms >= 1000) return ms;
  } catch {}
  return fail(
    `--lease-ttl / TRIBUTARY_LEASE_TTL: expected a duration of at least 1s such as 30s, got "${text}"`,
  );
}

async function serveLoop(
  runtime: Runtime,
  port: number | undefined,
  extraClose?: () => Promise<void>,
): Promise<number> {
  const scheduler = await startScheduler(runtime);
  let server: { port: number; close(): Promise<void> } | undefined;
  if (port !== undefined) {
    const [{ startApiServer }, { Auth }] = await Promise.all([
      import('../api/server.ts'),
      import('../api/auth.ts'),
    ]);
    const auth = new Auth(runtime.store);
    const boot = await auth.bootstrap();
    server = await startApiServer(new Control(runtime, scheduler), auth, {
      port,
      host: process.env.TRIBUTARY_HOST ?? '127.0.0.1',
      log: runtime.log,
      secureCookies: process.env.TRIBUTARY_SECURE_COOKIES === 'true',
      trustedProxies: process.env.TRIBUTARY_TRUSTED_PROXIES?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      queued: scheduler.queue?.queued,
      readiness: scheduler.queue ? [scheduler.queue.unready] : undefined,
    });
    const base = `http://${process.env.TRIBUTARY_HOST ?? '127.0.0.1'}:${server.port}`;
    process.stdout.write(`Tributary is running: ${base}/ (Ctrl-C to stop)\n`);
    if (boot.created)
      process.stdout.write(`Created admin user "${boot.created}" from TRIBUTARY_ADMIN_PASSWORD\n`);
    if (boot.setupToken)
      process.stdout.write(
        `No users yet: open ${base}/?setup=${boot.setupToken} to create the first admin (one-time link)\n`,
      );
  }
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  process.stdout.write('stopping: finishing batches in flight…\n');
  await server?.close();
  await scheduler.stop();
  await extraClose?.();
  await runtime.close();
  return EXIT_OK;
}

async function cmdServe(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      demo: { type: 'boolean', default: false },
      port: { type: 'string', default: process.env.TRIBUTARY_PORT ?? '8080' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port: expected a port number, got "${values.port}"`);
  // Cluster mode keeps everything in the database, managed through the API: no file needed.
  if (!values.config && !values.demo && !databaseUrl(values['database-url']))
    fail('serve needs --config FILE or --demo (or --database-url in cluster mode)');
  const dir = dataDir(values['data-dir']);
  const runtime = await openRuntime(dir, databaseUrl(values['database-url']));
  let closeDemo: (() => Promise<void>) | undefined;
  if (values.demo) {
    const { startDemo } = await import('./demo.ts'); // loads the simulator only for the demo
    const demo = await startDemo(runtime.files.root);
    closeDemo = demo.close;
    await applyConfig(runtime, demo.config);
    process.stdout.write(
      `Demo: an Okta simulator at ${demo.url} feeds collector "okta-demo"; events go to ${demo.output}\n`,
    );
  }
  if (values.config) await applyConfig(runtime, await loadConfig(values.config, runtime));
  return serveLoop(runtime, port, closeDemo);
}

function cmdSources(args: string[]): number {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const list = Object.values(sources).map((s) => ({
    id: s.id,
    title: s.title,
    stability: s.stability,
    family: s.family,
    account: s.account,
    streams: Object.keys(s.streams),
    description: s.description,
    setupGuide: s.setupGuide,
    vendorWrites: s.vendorWrites ?? [],
    settings: z.toJSONSchema(s.settings, { io: 'input', unrepresentable: 'any' }),
  }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return EXIT_OK;
  }
  for (const s of list) {
    process.stdout.write(
      `${s.id.padEnd(22)} ${s.title.padEnd(20)} ${s.stability.padEnd(13)} account: ${s.account.padEnd(8)} streams: ${s.streams.join(', ')}\n`,
    );
  }
  return EXIT_OK;
}

function cmdDestinations(args: string[]): number {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const list = destinationCatalog();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return EXIT_OK;
  }
  const width = Math.max(...list.map((k) => k.kind.length));
  for (const k of list) process.stdout.write(`${k.kind.padEnd(width)}  ${k.title}: ${k.description}\n`);
  return EXIT_OK;
}

async function cmdApply(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      file: { type: 'string', short: 'f' },
      prune: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
    },
  });
  if (!values.file) fail('usage: tributary apply -f FILE [--prune] [--data-dir DIR | --database-url URL]');
  const runtime = await openRuntime(dataDir(values['data-dir']), databaseUrl(values['database-url']));
  const result = await applyConfig(runtime, await loadConfig(values.file, runtime), values.prune);
  await runtime.close();
  for (const [verb, list] of Object.entries(result))
    for (const item of list) process.stdout.write(`${verb.padEnd(8)} ${item}\n`);
  const n = result.created.length + result.updated.length + result.deleted.length;
  process.stdout.write(n ? `${n} change(s) applied\n` : 'no changes\n');
  return EXIT_OK;
}

async function cmdKeys(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, 'database-url': { type: 'string' } },
  });
  if (positionals[0] !== 'rotate') fail('usage: tributary keys rotate [--data-dir DIR]');
  if (process.env.TRIBUTARY_MASTER_KEY) {
    fail(
      'TRIBUTARY_MASTER_KEY is set: rotate by setting a new key there (the data directory keyring is not in use)',
    );
  }
  const dir = dataDir(values['data-dir']);
  await SecretBox.open(dir); // make sure a keyring exists before adding to it
  const keyId = SecretBox.rotate(dir);
  const runtime = await openRuntime(dir, databaseUrl(values['database-url']));
  const n = await runtime.reencryptSecrets();
  await runtime.close();
  process.stdout.write(`new key ${keyId}; ${n} secret(s) re-encrypted\n`);
  return EXIT_OK;
}

async function cmdWorker(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      concurrency: { type: 'string', default: process.env.TRIBUTARY_WORKER_CONCURRENCY ?? '10' },
      'lease-ttl': { type: 'string' },
      grace: { type: 'string', default: process.env.TRIBUTARY_SHUTDOWN_GRACE ?? '30s' },
      'metrics-port': { type: 'string', default: process.env.TRIBUTARY_METRICS_PORT },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
    },
  });
  const url = databaseUrl(values['database-url']);
  const metricsPort = values['metrics-port'] === undefined ? undefined : Number(values['metrics-port']);
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535))
    fail(`--metrics-port: expected a port number, got "${values['metrics-port']}"`);
  if (!url) fail('worker needs the Postgres store: --database-url URL or TRIBUTARY_DATABASE_URL');
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000)
    fail(`--concurrency: expected a whole number from 1 to 1000, got "${values.concurrency}"`);
  let graceMs = 0;
  try {
    graceMs = parseDuration(values.grace);
  } catch {
    fail(`--grace: expected a duration such as 30s, got "${values.grace}"`);
  }
  const leaseTtlMs = leaseTtl(values['lease-ttl']);
  const runtime = await openRuntime(dataDir(values['data-dir']), url);
  const [{ startBoss }, { Worker }] = await Promise.all([
    import('../cluster/boss.ts'),
    import('../cluster/worker.ts'),
  ]);
  const boss = await startBoss(runtime.store as PostgresStore, { maintenance: true, log: runtime.log });
  const worker = new Worker(runtime, boss, { concurrency, leaseTtlMs });
  let ops: { port: number; close(): Promise<void> } | undefined;
  if (metricsPort !== undefined) {
    const [{ startOpsServer, loopbackOnly, READY_TIMEOUT_MS }, { Auth }, { bossUnready }] = await Promise.all(
      [import('../api/ops.ts'), import('../api/auth.ts'), import('../cluster/boss.ts')],
    );
    const host = process.env.TRIBUTARY_METRICS_HOST ?? '127.0.0.1';
    ops = await startOpsServer({
      port: metricsPort,
      host,
      store: runtime.store,
      auth: new Auth(runtime.store),
      open: loopbackOnly(host),
      readiness: [() => bossUnready(boss, READY_TIMEOUT_MS)],
      log: runtime.log,
    });
    process.stdout.write(`metrics: http://${host}:${ops.port}/metrics\n`);
  }
  worker.start();
  process.stdout.write(`worker ${worker.id} ready (concurrency ${concurrency})\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  process.stdout.write('stopping: finishing batches in flight, releasing leases…\n');
  await worker.stop(graceMs);
  await ops?.close();
  await boss.stop({ graceful: false, close: false });
  await runtime.close();
  process.stdout.write('worker stopped\n');
  return EXIT_OK;
}

async function cmdExport(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string', short: 'o' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
    },
  });
  const { exportStore } = await import('../cluster/transfer.ts');
  const store = await openStore({
    dataDir: dataDir(values['data-dir']),
    databaseUrl: databaseUrl(values['database-url']),
  });
  try {
    await store.migrate();
    const data = await exportStore(store);
    const text = `${JSON.stringify(data, null, 2)}\n`;
    if (!values.out || values.out === '-') process.stdout.write(text);
    else {
      // Sealed secrets and password hashes: readable by the owner only.
      writeFileSync(values.out, text, { mode: 0o600 });
      process.stdout.write(
        `exported ${data.accounts.length} account(s), ${data.destinations.length} destination(s), ${data.collectors.length} collector(s), ${data.checkpoints.length} checkpoint(s), ${data.users.length} user(s) to ${values.out}\n`,
      );
    }
  } finally {
    await store.close();
  }
  return EXIT_OK;
}

async function cmdImport(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      in: { type: 'string', short: 'i' },
      force: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
    },
  });
  if (!values.in) fail('usage: tributary import --in FILE [--force] [--database-url URL] [--data-dir DIR]');
  const { importStore, parseExport } = await import('../cluster/transfer.ts');
  let text: string;
  try {
    text = readFileSync(values.in, 'utf8');
  } catch (err) {
    return fail(`--in: cannot read ${values.in}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const data = parseExport(text);
  const dir = dataDir(values['data-dir']);
  const store = await openStore({ dataDir: dir, databaseUrl: databaseUrl(values['database-url']) });
  try {
    await store.migrate();
    const r = await importStore(store, data, await SecretBox.open(dir), { force: values.force });
    process.stdout.write(
      `imported ${r.accounts} account(s), ${r.destinations} destination(s), ${r.collectors} collector(s), ${r.checkpoints} checkpoint(s), ${r.sites} site(s), ${r.users} user(s), ${r.apiTokens} API token(s)\n`,
    );
  } finally {
    await store.close();
  }
  return EXIT_OK;
}

const dataDir = (flag: string | undefined) => resolve(flag ?? process.env.TRIBUTARY_DATA_DIR ?? './data');
const databaseUrl = (flag: string | undefined) => flag || process.env.TRIBUTARY_DATABASE_URL || undefined;

async function cmdMigrate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, 'database-url': { type: 'string' } },
  });
  if (values['data-dir'] && values['database-url'])
    fail('migrate: give --database-url URL or --data-dir DIR, not both');
  const r = await migrateStore({
    dataDir: dataDir(values['data-dir']),
    databaseUrl: values['data-dir'] ? undefined : databaseUrl(values['database-url']),
    log: createLogger(),
  });
  process.stdout.write(`${r.store} store at ${r.where}: schema version ${r.version}\n`);
  return EXIT_OK;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await cmdRun(rest);
      case 'serve':
        return await cmdServe(rest);
      case 'sources':
        return cmdSources(rest);
      case 'destinations':
        return cmdDestinations(rest);
      case 'apply':
        return await cmdApply(rest);
      case 'keys':
        return await cmdKeys(rest);
      case 'migrate':
        return await cmdMigrate(rest);
      case 'worker':
        return await cmdWorker(rest);
      case 'export':
        return await cmdExport(rest);
      case 'import':
        return await cmdImport(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return command ? EXIT_OK : EXIT_USAGE;
      default:
        fail(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
      fail(`${err.message}\n\n${USAGE}`);
    // No stack traces to users: the message only (secrets never reach error messages).
    fail(err instanceof Error ? err.message : String(err), EXIT_FAILED);
  }
}

// Output piped into a reader that stops early (`tributary sources | head`): stop quietly, as Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(EXIT_OK);
});
process.exitCode = await main(process.argv.slice(2));
