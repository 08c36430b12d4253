import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirs } from './support/temp-dirs.ts';

/**
 * The registries load an entry on first use (core/lazy.ts): what `tributary run --once` does for one
 * okta collector writing to a file — load the config file, apply it to the store, resolve the collector
 * for its run — loads the okta source, the okta account kind and the file destination, and no other
 * source, account kind or destination module. In a fresh process, so nothing another test loaded counts.
 */

const ROOT = resolve(import.meta.dirname, '..');
const tmp = tempDirs('tributary-lazy-registries');

const CHILD = `
import { registerHooks } from 'node:module';
// Every module loaded, by import or by require, whoever loads it.
const seen = new Set();
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.add(r.url); return r; } });
const root = process.argv[1];
const dir = process.argv[2];
const at = (p) => new URL(p, 'file://' + root + '/').href;
const { loadedIds } = await import(at('src/core/lazy.ts'));
const { sources } = await import(at('src/sources/index.ts'));
const { accountKinds } = await import(at('src/accounts/index.ts'));
const { destinationKinds } = await import(at('src/destinations/index.ts'));
const { loadConfigFile } = await import(at('src/config/config-file.ts'));
const { Control, CONFIG_FILE } = await import(at('src/control/service.ts'));
const { Runtime } = await import(at('src/app/runtime.ts'));
const { SqliteStore } = await import(at('src/store/sqlite/sqlite-store.ts'));
const { SecretBox } = await import(at('src/store/secrets.ts'));
const { fileScope } = await import(at('src/destinations/file/file-scope.ts'));
const { createLogger } = await import(at('src/engine/log.ts'));
// and what \`serve\` imports besides: the scheduler, and the API's routes with their request schemas
await import(at('src/app/scheduler.ts'));
await import(at('src/api/routes.ts'));
// Nothing is loaded by importing what the CLI imports.
const atStart = [loadedIds(sources), loadedIds(accountKinds), loadedIds(destinationKinds)];
const store = await SqliteStore.open(dir);
await store.migrate();
const runtime = new Runtime(store, await SecretBox.open(dir), createLogger(), dir, fileScope(dir));
const config = loadConfigFile(dir + '/tributary.yaml', { OKTA_TOKEN: 'okta-secret' }, { accounts: {}, destinations: [], sites: [] });
await new Control(runtime).apply(CONFIG_FILE, config, {});
const resolved = await runtime.resolve(await store.getCollector('okta-prod'));
// The vendor folders and account files whose modules were loaded, whoever loaded them.
const under = (dir, re) => [...new Set([...seen].filter((u) => u.startsWith(at(dir))).map((u) => u.slice(at(dir).length).match(re)?.[1]).filter(Boolean))].sort();
console.log(JSON.stringify({
  atStart,
  source: resolved.source.id,
  destinations: resolved.destinations.map((d) => d.name),
  sources: loadedIds(sources),
  accountKinds: loadedIds(accountKinds),
  destinationKinds: loadedIds(destinationKinds),
  sourceFolders: under('src/sources/', /^([^/]+)\\//),
  accountFiles: under('src/accounts/', /^([^/]+)\\.ts$/),
  destinationFolders: under('src/destinations/', /^([^/]+)\\//),
}));
await runtime.close();
`;

describe('lazy registries', () => {
  it('a run of one okta collector writing to a file loads only okta, the okta account kind and file', () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'tributary.yaml'),
      `accounts:
  okta-main: { kind: okta, url: "https://acme.okta.com", token: "\${env:OKTA_TOKEN}" }
destinations:
  local: { kind: file, path: ./out/events.ndjson }
collectors:
  okta-prod:
    source: okta
    account: okta-main
    destinations: [local]
`,
    );
    const child = spawnSync(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', CHILD, ROOT, dir],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'error' } },
    );
    assert.equal(child.status, 0, child.stderr);
    const out = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(out.atStart, [[], [], []]);
    assert.equal(out.source, 'okta');
    assert.deepEqual(out.destinations, ['local']);
    assert.deepEqual(out.sources, ['okta']);
    assert.deepEqual(out.accountKinds, ['okta']);
    assert.deepEqual(out.destinationKinds, ['file']);
    // No other vendor's module was loaded by another way (a static import of a registry's entry).
    assert.deepEqual(out.sourceFolders, ['okta']);
    assert.deepEqual(out.accountFiles, ['index', 'okta']);
    assert.deepEqual(out.destinationFolders, ['file']);
  });
});
