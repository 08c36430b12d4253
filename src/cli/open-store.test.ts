import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirs } from '../../test/support/temp-dirs.ts';
import { migrations } from '../store/sqlite/migrations.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { migrateStore, openStore } from './open-store.ts';

const fresh = tempDirs('tributary-open');
const CLI = join(resolve(import.meta.dirname, '../..'), 'src/cli/main.ts');
const { TRIBUTARY_DATABASE_URL, TRIBUTARY_DATA_DIR, ...withoutStoreEnv } = process.env;

function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...withoutStoreEnv, ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise<{ code: number | null; out: string; err: string }>((ok) =>
    child.on('exit', (code) => ok({ code, out, err })),
  );
}

describe('openStore', () => {
  it('opens the SQLite store in the data directory when no database URL is given', async () => {
    const s = await openStore({ dataDir: fresh() });
    assert.ok(s instanceof SqliteStore);
    await s.close();
    const empty = await openStore({ dataDir: fresh(), databaseUrl: '' });
    assert.ok(empty instanceof SqliteStore);
    await empty.close();
  });

  it('refuses a URL that is not Postgres, naming the option and never echoing the URL', async () => {
    await assert.rejects(
      openStore({ dataDir: fresh(), databaseUrl: 'mysql://root:hunter2@db:3306/tributary' }),
      (err: Error) =>
        err.message ===
        'database URL (--database-url or TRIBUTARY_DATABASE_URL): expected postgres://… or postgresql://…, got "mysql:"',
    );
  });

  it('migrateStore reports the SQLite schema version', async () => {
    const dir = fresh();
    const r = await migrateStore({ dataDir: dir });
    assert.deepEqual(r, {
      store: 'sqlite',
      where: join(dir, 'tributary.db'),
      version: migrations.at(-1)!.version,
    });
  });
});

describe('tributary migrate', () => {
  it('migrates the SQLite store in --data-dir and prints its schema version', async () => {
    const dir = fresh();
    const r = await cli(['migrate', '--data-dir', join(dir, 'state')], dir);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      `sqlite store at ${join(dir, 'state', 'tributary.db')}: schema version ${migrations.at(-1)!.version}\n`,
    );
  });

  it('rejects a non-Postgres URL and both options at once, without printing the URL', async () => {
    const dir = fresh();
    const bad = await cli(['migrate'], dir, { TRIBUTARY_DATABASE_URL: 'mysql://root:hunter2@db/x' });
    assert.equal(bad.code, 1);
    assert.match(bad.err, /expected postgres:\/\/… or postgresql:\/\/…, got "mysql:"/);
    assert.doesNotMatch(bad.err, /hunter2/);
    const both = await cli(['migrate', '--data-dir', dir, '--database-url', 'postgres://x/y'], dir);
    assert.equal(both.code, 2);
    assert.match(both.err, /not both/);
  });
});
