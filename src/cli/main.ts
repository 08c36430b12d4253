import { closeSync, fchmodSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Runtime } from '../app/runtime.ts';
import { Scheduler } from '../app/scheduler.ts';
import { type Config, ConfigError, type KnownNames, loadConfigFile } from '../config/config-file.ts';
import { ApiError } from '../control/errors.ts';
import { CONFIG_FILE, Control, type SchedulerHooks } from '../control/service.ts';
import { formatDuration, parseDuration } from '../core/duration.ts';
import { accountKindsOf, isPushSource, type SourceDef } from '../core/source.ts';
import { type FileScope, fileScope } from '../destinations/file/file-scope.ts';
import { destinationCatalog } from '../destinations/index.ts';
import { createLogger } from '../engine/log.ts';
import type { RunResult } from '../engine/runner.ts';
import { sources } from '../sources/index.ts';
import type { PostgresStore } from '../store/postgres/postgres-store.ts';
import { SecretBox } from '../store/secrets.ts';
import { isPostgresStore, migrateStore, openStore } from './open-store.ts';
import { table } from './table.ts';

const STORE_OPTIONS = `      --data-dir DIR       Where state is kept (default ./data, or TRIBUTARY_DATA_DIR)
      --database-url URL   Keep state in Postgres instead (postgres://…, or TRIBUTARY_DATABASE_URL)`;
const HELP_OPTION = '  -h, --help               Show this help';

/** Each command's usage, printed by `tributary COMMAND --help` (and on a usage error). */
const HELP: Record<string, string> = {
  run: `Usage: tributary run --config FILE [--once] [--collector NAME]... [--data-dir DIR | --database-url URL]

Applies the config file to the store, then runs its enabled collectors on their intervals until
Ctrl-C; with --once, runs each until it is caught up and exits: 0 when every collector succeeded,
1 when one failed (with its error type, code and recommended action), 2 when the file is invalid.

Options:
  -c, --config FILE        The config file (YAML or JSON): sites, accounts, destinations, collectors
      --once               Run until caught up, then exit
      --collector NAME     Run only this collector (repeat for more)
${STORE_OPTIONS}
${HELP_OPTION}
`,
  serve: `Usage: tributary serve [--config FILE] [--demo] [--port N] [--data-dir DIR | --database-url URL]

Starts the control plane with whatever the store holds: the web console and the JSON API at
http://127.0.0.1:PORT/, push collectors' endpoints at /ingest/NAME, and the collectors on their
intervals (in cluster mode, on \`tributary worker\` processes). On the first start it prints a
one-time link to create the first admin. Ctrl-C stops it after the batches in flight.

Options:
  -c, --config FILE        Apply this config file first, as \`tributary apply -f FILE\` does
      --demo               Add a demo: an Okta simulator in this process feeding collector
                           "okta-demo", whose events land in DATA_DIR/output/demo/events.ndjson
  -p, --port N             Listen on port N (default 8080, or TRIBUTARY_PORT; 0 for any free port)
${STORE_OPTIONS}
${HELP_OPTION}

Environment: TRIBUTARY_HOST (listen address, default 127.0.0.1), TRIBUTARY_ADMIN_PASSWORD (creates
user "admin" with this password when there are no users), TRIBUTARY_SECURE_COOKIES=true behind HTTPS.
`,
  sources: `Usage: tributary sources [--json]

Lists the sources: id, stability, family, the account kind each needs, and its streams (push
sources receive events on /ingest/NAME and need no account).

Options:
      --json               Everything as JSON, with each source's settings JSON Schema, setup guide
                           and the calls it makes that change vendor state (vendorWrites)
${HELP_OPTION}
`,
  destinations: `Usage: tributary destinations [--json]

Lists the destination kinds.

Options:
      --json               As JSON, with each kind's settings JSON Schema and secret fields
${HELP_OPTION}
`,
  apply: `Usage: tributary apply -f FILE [--prune] [--tokens-file FILE] [--data-dir DIR | --database-url URL]

Creates or updates what the config file defines, with the checks the API makes, audited as
"config-file"; a file that fails them changes nothing. Prints each change, and the ingest token of
each new push collector, once.

Options:
  -f, --file FILE          The config file (YAML or JSON)
      --prune              Also delete what the file no longer names
      --tokens-file FILE   Append new ingest tokens to FILE as "COLLECTOR TOKEN" lines (mode 0600)
                           instead of printing them
${STORE_OPTIONS}
${HELP_OPTION}
`,
  keys: `Usage: tributary keys rotate [--data-dir DIR | --database-url URL]

Adds a new key to the data directory's keyring (DATA_DIR/master.key) and re-encrypts every stored
secret with it; older keys stay readable. With TRIBUTARY_MASTER_KEY set, rotate by changing it instead.

Options:
${STORE_OPTIONS}
${HELP_OPTION}
`,
  migrate: `Usage: tributary migrate [--database-url URL | --data-dir DIR]

Applies the store's schema migrations and prints its schema version. Every command migrates when it
starts; in cluster mode, migrate once before starting a new version.

Options:
${STORE_OPTIONS}
${HELP_OPTION}
`,
  worker: `Usage: tributary worker --database-url URL [--concurrency N] [--lease-ttl 30s] [--grace 30s]
                        [--metrics-port N]

Cluster mode: takes collector runs from the shared queue in Postgres and runs them, each under a
lease (docs/deployment.md). Every process needs the same TRIBUTARY_MASTER_KEY.

Options:
      --database-url URL   The Postgres store (or TRIBUTARY_DATABASE_URL); required
      --concurrency N      Runs at once, 1 to 1000 (default 10, or TRIBUTARY_WORKER_CONCURRENCY)
      --lease-ttl D        A run's lease time to live, the same on every process (default 30s, or
                           TRIBUTARY_LEASE_TTL)
      --grace D            Time to finish batches in flight on SIGTERM (default 30s, or
                           TRIBUTARY_SHUTDOWN_GRACE)
      --metrics-port N     Serve /metrics, /healthz and /readyz on port N (default off, or
                           TRIBUTARY_METRICS_PORT; host TRIBUTARY_METRICS_HOST, default 127.0.0.1)
      --data-dir DIR       The local keyring when TRIBUTARY_MASTER_KEY is not set (default ./data)
${HELP_OPTION}
`,
  export: `Usage: tributary export [--out FILE] [--data-dir DIR | --database-url URL]

Writes accounts, collectors, destinations, sites, users and checkpoints as JSON to FILE (mode 0600)
or to standard output; secrets stay encrypted.

Options:
  -o, --out FILE           Where to write (default: standard output)
${STORE_OPTIONS}
${HELP_OPTION}
`,
  import: `Usage: tributary import --in FILE [--force] [--data-dir DIR | --database-url URL]

Loads an export into the store, e.g. an embedded install's into Postgres. Needs the master key the
secrets were sealed with.

Options:
  -i, --in FILE            The export to load
      --force              Load into a store that already holds records, replacing those with the same ids
${STORE_OPTIONS}
${HELP_OPTION}
`,
};

const USAGE = `Usage: tributary <command> [options]

Commands:
  serve [--config FILE] [--demo] [--port N]          The console, API and push endpoints, and the collectors the
                                                     store holds on their intervals (http://127.0.0.1:8080)
  run --config FILE [--once] [--collector NAME]...   Run collectors from a config file (--once: until caught up, then exit)
  apply -f FILE [--prune] [--tokens-file FILE]       Create or update what FILE defines (--prune: delete what it no longer names)
  sources [--json]                                   List the sources with their streams and stability
  destinations [--json]                              List the destination kinds (--json: with their settings JSON Schema)
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
  -h, --help               Show this help; \`tributary COMMAND --help\` shows a command's

File destinations set through the API write only inside the output root: TRIBUTARY_FILE_ROOT, default
DATA_DIR/output. A config file may name other paths, never the data directory's own files.
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
  const runtime = new Runtime(store, secrets, log, dataDir, files);
  runtime.cluster = isPostgresStore(store);
  return runtime;
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

/** New push collectors' ingest tokens, shown this once (the store keeps only their hashes). */
function ingestTokenLines(tokens: Record<string, string>): string {
  return Object.entries(tokens)
    .map(
      ([name, token]) =>
        `Ingest token of push collector "${name}" (shown once; senders present it to POST /ingest/${name}):\n  ${token}\n`,
    )
    .join('');
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
  if (!values.config) fail(`--config FILE is required\n\n${HELP.run}`);
  const runtime = await openRuntime(dataDir(values['data-dir']), databaseUrl(values['database-url']));
  const config = await loadConfig(values.config, runtime);
  const names =
    values.collector ?? Object.keys(config.collectors).filter((n) => config.collectors[n].enabled);
  for (const n of names)
    if (!Object.hasOwn(config.collectors, n)) fail(`no collector named "${n}" in ${values.config}`);
  if (!names.length) fail(`${values.config} defines no enabled collector`);
  process.stdout.write(ingestTokenLines((await applyConfig(runtime, config)).ingestTokens));
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
  notes = '',
): Promise<number> {
  const stopping = stopSignal(); // before anything says it is running
  await runtime.startBuffers(); // batches a buffer kept from before drain from the start
  const scheduler = await startScheduler(runtime);
  let server: { port: number; close(): Promise<void> } | undefined;
  if (port !== undefined) {
    const [{ startApiServer }, { Auth }] = await Promise.all([
      import('../api/server.ts'),
      import('../api/auth.ts'),
    ]);
    const auth = new Auth(runtime.store);
    const boot = await auth.bootstrap();
    try {
      server = await startApiServer(new Control(runtime, scheduler), auth, {
        port,
        host: listenHost(),
        log: runtime.log,
        secureCookies: process.env.TRIBUTARY_SECURE_COOKIES === 'true',
        trustedProxies: process.env.TRIBUTARY_TRUSTED_PROXIES?.split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        queued: scheduler.queue?.queued,
        readiness: scheduler.queue ? [scheduler.queue.unready] : undefined,
      });
    } catch (err) {
      const problem = listenProblem(err, port);
      if (!problem) throw err;
      await scheduler.stop();
      await extraClose?.();
      await runtime.close();
      return fail(problem);
    }
    const base = `http://${process.env.TRIBUTARY_HOST ?? '127.0.0.1'}:${server.port}`;
    process.stdout.write(`Tributary is running: ${base}/ (Ctrl-C to stop)\n${notes}`);
    if (boot.created)
      process.stdout.write(`Created admin user "${boot.created}" from TRIBUTARY_ADMIN_PASSWORD\n`);
    if (boot.setupToken)
      process.stdout.write(
        `No users yet: open ${base}/?setup=${boot.setupToken} to create the first admin (one-time link)\n`,
      );
  }
  await stopping;
  process.stdout.write('stopping: finishing batches in flight…\n');
  await server?.close();
  await scheduler.stop();
  await extraClose?.();
  await runtime.close();
  return EXIT_OK;
}

/**
 * Resolves at the first SIGINT or SIGTERM. It listens from the call on: called before a process prints
 * that it is running, so a signal sent the moment that line is read stops it gracefully instead of
 * meeting the default action (death by the signal).
 */
function stopSignal(): Promise<void> {
  return new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

const listenHost = () => process.env.TRIBUTARY_HOST ?? '127.0.0.1';

/** Why the API server could not listen, in one line with what to do; undefined for other errors. */
function listenProblem(err: unknown, port: number): string | undefined {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE')
    return `port ${port} is in use (another tributary serve?): stop what listens there, or pick another port with --port N or TRIBUTARY_PORT`;
  if (code === 'EACCES')
    return `not permitted to listen on port ${port}: pick a port above 1023 with --port N, or put a reverse proxy in front`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `cannot listen on ${listenHost()}: TRIBUTARY_HOST must be an address of this machine (127.0.0.1, 0.0.0.0, ::)`;
  return undefined;
}

/** Fails before anything starts when the port cannot be listened on (a taken port, most often). */
async function checkPort(port: number): Promise<void> {
  if (port === 0) return;
  const { createServer } = await import('node:net');
  const probe = createServer();
  const err = await new Promise<unknown>((done) => {
    probe.once('error', done);
    probe.listen(port, listenHost(), () => probe.close(() => done(undefined)));
  });
  const problem = err ? listenProblem(err, port) : undefined;
  if (problem) fail(problem);
}

async function cmdServe(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      demo: { type: 'boolean', default: false },
      port: { type: 'string', short: 'p', default: process.env.TRIBUTARY_PORT ?? '8080' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535)
    fail(`--port: expected a port number from 0 to 65535, got "${values.port}"`);
  await checkPort(port);
  // Without a file, whatever the store holds (made in the console, or applied before) is served.
  const dir = dataDir(values['data-dir']);
  const runtime = await openRuntime(dir, databaseUrl(values['database-url']));
  let closeDemo: (() => Promise<void>) | undefined;
  if (values.demo) {
    const { startDemo } = await import('./demo.ts'); // loads the simulator only for the demo
    const demo = await startDemo(runtime.files.root);
    closeDemo = demo.close;
    await applyConfig(runtime, demo.config);
    process.stdout.write(
      [
        `Demo: an Okta simulator at ${demo.url} feeds collector "okta-demo" every 30 s.`,
        `  Its events land in ${demo.output}, one JSON envelope per line.`,
        '  To collect from the simulator with a config file of your own (README, "Collect your own logs"):',
        `  export OKTA_URL=${demo.url} OKTA_TOKEN=${demo.token}`,
        '',
      ].join('\n'),
    );
  }
  if (values.config) {
    const result = await applyConfig(runtime, await loadConfig(values.config, runtime));
    process.stdout.write(ingestTokenLines(result.ingestTokens));
  }
  const empty = !(await runtime.store.listCollectors()).length;
  const notes = empty
    ? 'No collectors yet: add one in the console (New collector), or with `tributary apply -f FILE`.\n'
    : '';
  return serveLoop(runtime, port, closeDemo, notes);
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
  const rows = Object.values(sources).map((s) => {
    const push = isPushSource(s);
    return [
      s.id,
      s.stability,
      s.family,
      push ? 'push' : accountKinds(s),
      push ? 'push' : Object.keys(s.streams).join(', '),
    ];
  });
  process.stdout.write(
    table(['ID', 'STABILITY', 'FAMILY', 'ACCOUNT KIND', 'STREAMS'], rows, terminalWidth()),
  );
  return EXIT_OK;
}

/** One kind, or the one offered first and how many more (`sources --json` lists them all). */
function accountKinds(source: SourceDef): string {
  const kinds = accountKindsOf(source);
  return kinds.length > 1 ? `${kinds[0]} or ${kinds.length - 1} more` : kinds[0]!;
}

function cmdDestinations(args: string[]): number {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const list = destinationCatalog();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return EXIT_OK;
  }
  const rows = list.map((k) => [
    k.kind,
    `${k.title}${k.stability === 'early-access' ? ' (early access)' : ''}`,
    k.description,
  ]);
  process.stdout.write(table(['KIND', 'TITLE', 'DESCRIPTION'], rows));
  return EXIT_OK;
}

async function cmdApply(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      file: { type: 'string', short: 'f' },
      prune: { type: 'boolean', default: false },
      'tokens-file': { type: 'string' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
    },
  });
  if (!values.file) fail(`-f FILE is required\n\n${HELP.apply}`);
  // Opened before any change: a token is shown once, so one that could not be written would be lost.
  const tokensFile = values['tokens-file'] ? openTokensFile(values['tokens-file']) : undefined;
  const runtime = await openRuntime(dataDir(values['data-dir']), databaseUrl(values['database-url']));
  const result = await applyConfig(runtime, await loadConfig(values.file, runtime), values.prune);
  await runtime.close();
  for (const verb of ['created', 'updated', 'deleted'] as const)
    for (const item of result[verb]) process.stdout.write(`${verb.padEnd(8)} ${item}\n`);
  const n = result.created.length + result.updated.length + result.deleted.length;
  process.stdout.write(n ? `${n} change(s) applied\n` : 'no changes\n');
  const tokens = Object.entries(result.ingestTokens);
  if (tokensFile) {
    for (const [name, token] of tokens) writeSync(tokensFile.fd, `${name} ${token}\n`);
    closeSync(tokensFile.fd);
    if (tokens.length)
      process.stdout.write(`${tokens.length} ingest token(s) written to ${tokensFile.path}\n`);
  } else process.stdout.write(ingestTokenLines(result.ingestTokens));
  return EXIT_OK;
}

/** The --tokens-file, opened for appending (earlier tokens stay) and readable by the owner only. */
function openTokensFile(path: string): { fd: number; path: string } {
  try {
    const fd = openSync(path, 'a', 0o600);
    fchmodSync(fd, 0o600);
    return { fd, path };
  } catch (err) {
    return fail(`--tokens-file: cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}

async function cmdKeys(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, 'database-url': { type: 'string' } },
  });
  if (positionals[0] !== 'rotate' || positionals.length > 1) fail(HELP.keys.trimEnd());
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
  await runtime.startBuffers(); // this host's buffers (docs/destinations.md, "Buffering")
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
  const stopping = stopSignal(); // before it says it is ready
  worker.start();
  process.stdout.write(`worker ${worker.id} ready (concurrency ${concurrency})\n`);
  await stopping;
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
  if (!values.in) fail(`--in FILE is required\n\n${HELP.import}`);
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

const COMMANDS: Record<string, (args: string[]) => number | Promise<number>> = {
  run: cmdRun,
  serve: cmdServe,
  sources: cmdSources,
  destinations: cmdDestinations,
  apply: cmdApply,
  keys: cmdKeys,
  migrate: cmdMigrate,
  worker: cmdWorker,
  export: cmdExport,
  import: cmdImport,
};

const wantsHelp = (args: string[]) => args.includes('--help') || args.includes('-h');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(USAGE);
    return EXIT_USAGE;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    const topic = rest[0];
    if (topic && !Object.hasOwn(HELP, topic)) fail(`unknown command "${topic}"\n\n${USAGE}`);
    process.stdout.write(topic ? HELP[topic]! : USAGE);
    return EXIT_OK;
  }
  if (!Object.hasOwn(COMMANDS, command)) fail(`unknown command "${command}"\n\n${USAGE}`);
  if (wantsHelp(rest)) {
    process.stdout.write(HELP[command]!);
    return EXIT_OK;
  }
  try {
    return await COMMANDS[command]!(rest);
  } catch (err) {
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
      fail(`${err.message}\n\n${HELP[command]}`);
    // No stack traces to users: the message only (secrets never reach error messages).
    fail(err instanceof Error ? err.message : String(err), EXIT_FAILED);
  }
}

/** The terminal's width when standard output is one (tables wrap their last column to it). */
const terminalWidth = () => (process.stdout.isTTY ? process.stdout.columns : undefined);

// Output piped into a reader that stops early (`tributary sources | head`): stop quietly, as Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(EXIT_OK);
});
process.exitCode = await main(process.argv.slice(2));
