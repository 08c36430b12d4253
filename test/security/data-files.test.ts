import assert from 'node:assert/strict';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * The data directory holds the database (every account's encrypted secrets, password hashes, the
 * audit log) and the master key: with the usual umask 022 they used to be 0755 and 0644, readable by
 * every local user. They must be 0700 and 0600, also when an older version left them open.
 */

const fresh = tempDirs('tributary-data-files');
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
const FILES = ['tributary.db', 'tributary.db-wal', 'tributary.db-shm', 'master.key'];

/** Opens the store and the key ring as `serve` does and writes, so the WAL and shared memory exist. */
async function use(dir: string): Promise<void> {
  const store = await SqliteStore.open(dir);
  await store.migrate();
  await SecretBox.open(dir, {});
  await store.setSetting('k', 'v');
  for (const f of FILES) assert.ok(existsSync(join(dir, f)), `${f} exists while the store is open`);
  await checkModes(dir);
  await store.close();
}

async function checkModes(dir: string): Promise<void> {
  assert.equal(mode(dir), '700', 'the data directory');
  for (const f of FILES) assert.equal(mode(join(dir, f)), '600', f);
}

describe('data directory permissions', () => {
  let umask = 0;
  before(() => {
    umask = process.umask(0o022); // the common default, under which files come out 0644
  });
  after(() => process.umask(umask));

  it('a new data directory is 0700, its database, WAL, shared-memory and key files 0600', async () => {
    await use(join(fresh(), 'data'));
  });

  it('one left open by an older version (0755, 0644) is tightened when it is opened', async () => {
    const dir = join(fresh(), 'data');
    const older = await SqliteStore.open(dir);
    await older.migrate();
    await SecretBox.open(dir, {});
    await older.setSetting('k', 'v');
    chmodSync(dir, 0o755);
    for (const f of FILES) chmodSync(join(dir, f), 0o644);
    await use(dir); // while the older connection keeps the WAL and shared memory in place
    await older.close();
  });
});
