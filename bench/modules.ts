import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What loading code costs: `npm run bench -- modules [SPECIFIER...]` imports the modules one after the
 * other in a fresh process (bin/tributary's V8 flags, compile cache and malloc settings) and prints, after
 * a full garbage collection, the resident set and V8 heap after each, and what each added. The order
 * matters: a module's shared dependencies are charged to the first one that loads them. Without
 * arguments: what the CLI's entry point imports (src/cli/main.ts itself runs the CLI), then each registry and each vendor library the collectors use.
 *
 * Then, without arguments, the floor of `tributary run --once` of one collector (`runFloor`): in a fresh
 * process, what the CLI imports, then an okta collector writing to a file loaded from a config file,
 * applied to a store and resolved for its run (its source, account kind and destination loaded), the
 * resident set and heap after each. BENCH_FLOOR_ROOT measures another checkout the same way.
 */
const ROOT = join(import.meta.dirname, '..');

export const DEFAULT_MODULES = [
  './src/core/source.ts',
  './src/engine/runner.ts',
  './src/accounts/index.ts',
  './src/sources/index.ts',
  './src/destinations/index.ts',
  './src/app/runtime.ts',
  './src/app/scheduler.ts',
  './src/control/service.ts',
  './src/cli/open-store.ts',
  'undici',
  'jose',
  'ws',
  'saxes',
  'hyparquet',
  'hyparquet-compressors',
  '@aws-sdk/credential-providers',
  '@aws-sdk/client-sts',
  '@aws-sdk/client-s3',
  '@aws-sdk/client-sqs',
  '@azure/storage-blob',
  '@azure/storage-queue',
  '@azure/event-hubs',
  '@nats-io/transport-node',
  '@nats-io/jetstream',
  'pg',
  'pg-boss',
];

export interface ModuleCost {
  module: string;
  rssMB: number;
  heapMB: number;
  addedRssMB: number;
  addedHeapMB: number;
}

// The child: imports each module in turn and prints one JSON line per module.
const CHILD = `
const mb = (n) => Math.round(n / 104857.6) / 10;
const root = process.argv[1];
gc(); gc();
let prev = process.memoryUsage();
console.log(JSON.stringify({ module: '(node)', rssMB: mb(prev.rss), heapMB: mb(prev.heapUsed), addedRssMB: 0, addedHeapMB: 0 }));
for (const spec of process.argv.slice(2)) {
  // bare names resolve from the working directory (the repository) in an -e module
  await import(spec.startsWith('.') ? new URL(spec, 'file://' + root + '/').href : spec);
  gc(); gc();
  const u = process.memoryUsage();
  console.log(JSON.stringify({ module: spec, rssMB: mb(u.rss), heapMB: mb(u.heapUsed),
    addedRssMB: mb(u.rss - prev.rss), addedHeapMB: mb(u.heapUsed - prev.heapUsed) }));
  prev = u;
}
`;

/** The CLI's V8 flags (bin/node-flags) and `--expose-gc`, and the environment bin/tributary sets, for a child. */
function cliLike(extra: Record<string, string> = {}) {
  const flags = readFileSync(join(ROOT, 'bin/node-flags'), 'utf8').split(/\s+/).filter(Boolean);
  if (!flags.includes('--expose-gc')) flags.push('--expose-gc');
  const env = {
    ...process.env,
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'tributary-bench-compile-cache'),
    MALLOC_ARENA_MAX: '2',
    MALLOC_TRIM_THRESHOLD_: '131072',
    ...extra,
  };
  return { flags, env };
}

export function moduleCosts(specs: string[] = DEFAULT_MODULES): ModuleCost[] {
  const { flags, env } = cliLike();
  const run = () =>
    spawnSync(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', ...flags, '--input-type=module', '-e', CHILD, ROOT, ...specs],
      { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
  run(); // fills the compile cache, as a second start of bin/tributary finds it
  const child = run();
  if (child.status !== 0) throw new Error(`bench modules: the child exited ${child.status}`);
  return child.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ModuleCost);
}

// The floor of a run: the modules `tributary run` imports, then one collector resolved as it runs.
const FLOOR_CHILD = `
const mb = (n) => Math.round(n / 104857.6) / 10;
const [root, dir] = process.argv.slice(1);
const at = (p) => new URL(p, 'file://' + root + '/').href;
gc(); gc();
let prev = process.memoryUsage();
const step = (module) => {
  gc(); gc();
  const u = process.memoryUsage();
  console.log(JSON.stringify({ module, rssMB: mb(u.rss), heapMB: mb(u.heapUsed), addedRssMB: mb(u.rss - prev.rss), addedHeapMB: mb(u.heapUsed - prev.heapUsed) }));
  prev = u;
};
step('(node)');
const { loadConfigFile } = await import(at('src/config/config-file.ts'));
const { Control, CONFIG_FILE } = await import(at('src/control/service.ts'));
const { Runtime } = await import(at('src/app/runtime.ts'));
await import(at('src/app/scheduler.ts'));
const { openStore } = await import(at('src/cli/open-store.ts'));
const { SecretBox } = await import(at('src/store/secrets.ts'));
const { fileScope } = await import(at('src/destinations/file/file-scope.ts'));
const { createLogger } = await import(at('src/engine/log.ts'));
step('(run: the CLI\\'s modules)');
const store = await openStore({ dataDir: dir, log: createLogger() });
await store.migrate();
const runtime = new Runtime(store, await SecretBox.open(dir), createLogger(), dir, fileScope(dir));
const config = loadConfigFile(dir + '/tributary.yaml', { OKTA_TOKEN: 'okta-secret' }, { accounts: {}, destinations: [], sites: [] });
await new Control(runtime).apply(CONFIG_FILE, config, {});
const resolved = await runtime.resolve(await store.getCollector('okta-prod'));
if (resolved.source.id !== 'okta') throw new Error('resolved ' + resolved.source.id);
step('(run: okta collector → file resolved)');
await runtime.close();
`;

const FLOOR_CONFIG = `accounts:
  okta-main: { kind: okta, url: "https://acme.okta.com", token: "\${env:OKTA_TOKEN}" }
destinations:
  local: { kind: file, path: ./out/events.ndjson }
collectors:
  okta-prod:
    source: okta
    account: okta-main
    destinations: [local]
`;

/** The floor of `tributary run --once` of one okta collector (see the module comment), in `root`. */
export function runFloor(root = process.env.BENCH_FLOOR_ROOT ?? ROOT): ModuleCost[] {
  const { flags, env } = cliLike({ TRIBUTARY_LOG_LEVEL: 'error' });
  const run = () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-floor-'));
    try {
      writeFileSync(join(dir, 'tributary.yaml'), FLOOR_CONFIG);
      return spawnSync(
        process.execPath,
        [
          '--disable-warning=ExperimentalWarning',
          ...flags,
          '--input-type=module',
          '-e',
          FLOOR_CHILD,
          root,
          dir,
        ],
        { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  run(); // fills the compile cache
  const child = run();
  if (child.status !== 0) throw new Error(`bench modules: the floor child exited ${child.status}`);
  return child.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ModuleCost);
}
