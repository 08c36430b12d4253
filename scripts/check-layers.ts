/**
 * The import rule of docs/architecture.md ("Layers"), checked by `npm run lint`: every module under
 * src/ imports only from its own layer or the layers below it, and nothing that ships imports test/.
 *
 *   core ← engine, sim ← sources, accounts, destinations, store ← app, config, control ← api, cli, cluster
 *
 * Tests beside the code (`*.test.ts`) may also use test/support. Prints each violation as
 * `file: imports path (layer a may not import layer b)` and exits 1 when there is one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

// TRIBUTARY_LAYERS_ROOT: another tree to check (the rule's own test).
const ROOT = process.env.TRIBUTARY_LAYERS_ROOT ?? join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

/** Rank of each top-level folder of src/: a module may import its own rank or lower. */
const LAYERS: Record<string, number> = {
  core: 0,
  engine: 1,
  sim: 1,
  sources: 2,
  accounts: 2,
  destinations: 2,
  store: 2,
  app: 3,
  config: 3,
  control: 3,
  api: 4,
  cli: 4,
  cluster: 4,
};

/** Same-rank folders that may not import each other: sources, accounts and destinations stand apart. */
const APART = new Set(['engine/sim', 'sim/engine', 'store/sources', 'store/accounts', 'store/destinations']);

function* modules(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* modules(p);
    else if (/\.(ts|tsx)$/.test(e.name)) yield p;
  }
}

const IMPORT = /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
const layerOf = (file: string) => relative(SRC, file).split(sep)[0]!;

const problems: string[] = [];
for (const file of modules(SRC)) {
  const from = layerOf(file);
  const isTest = /\.test\.tsx?$/.test(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2])!;
    const target = normalize(join(dirname(file), spec));
    const where = relative(ROOT, file);
    if (!target.startsWith(SRC + sep)) {
      if (target.startsWith(join(ROOT, 'test') + sep) && !isTest)
        problems.push(`${where}: imports ${spec} (only tests may use test/)`);
      continue;
    }
    if (isTest) continue; // tests may reach across layers to set things up
    const to = layerOf(target);
    if (to === from || !(from in LAYERS) || !(to in LAYERS)) continue;
    if (LAYERS[to]! > LAYERS[from]! || APART.has(`${from}/${to}`))
      problems.push(`${where}: imports ${spec} (${from} may not import ${to})`);
  }
}

if (problems.length) {
  process.stderr.write(`Layer rule broken (scripts/check-layers.ts):\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write('layers: every import points down\n');
