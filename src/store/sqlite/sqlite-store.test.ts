import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { tempDirs } from '../../../test/support/temp-dirs.ts';
import { storeSuite } from '../store-suite.ts';
import { migrations } from './migrations.ts';
import { SqliteStore } from './sqlite-store.ts';

const fresh = tempDirs('tributary-store');

storeSuite('sqlite', async () => {
  const s = await SqliteStore.open(fresh());
  await s.migrate();
  return s;
});

describe('SqliteStore', () => {
  it('refuses to change or delete audit entries even through SQL', async () => {
    const dir = fresh();
    const s = await SqliteStore.open(dir);
    await s.migrate();
    await s.appendAudit({ at: new Date().toISOString(), actor: 'a', action: 'x.create', targetType: 'x' });
    await s.close();
    const db = new DatabaseSync(join(dir, 'tributary.db'));
    assert.throws(() => db.exec("UPDATE audit_log SET actor = 'mallory'"), /append-only/);
    assert.throws(() => db.exec('DELETE FROM audit_log'), /append-only/);
    db.close();
  });

  it('applies versioned migrations once', async () => {
    const dir = fresh();
    const s = await SqliteStore.open(dir);
    await s.migrate();
    await s.migrate();
    await s.close();
    const db = new DatabaseSync(join(dir, 'tributary.db'));
    const versions = db
      .prepare('SELECT version FROM schema_migrations ORDER BY version')
      .all()
      .map((r) => r.version);
    assert.deepEqual(
      versions,
      migrations.map((m) => m.version),
    );
    assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    db.close();
  });

  it('keeps committed state across close and reopen', async () => {
    const dir = fresh();
    const s = await SqliteStore.open(dir);
    await s.migrate();
    const at = new Date().toISOString();
    await s.putCollector({
      id: 'c',
      name: 'c',
      source: 'okta',
      config: {},
      enabled: true,
      secrets: {},
      createdAt: at,
      updatedAt: at,
    });
    await s.startRun({
      id: 'r',
      collectorId: 'c',
      startedAt: at,
      status: 'running',
      events: 0,
      pages: 0,
      bytes: 0,
      deadLetters: 0,
    });
    await s.commitBatch({
      collectorId: 'c',
      stream: 's',
      checkpoint: { since: at },
      runId: 'r',
      events: 1,
      pages: 1,
      bytes: 1,
      hourly: {},
      deadLetters: [],
    });
    await s.close();
    const again = await SqliteStore.open(dir);
    await again.migrate();
    assert.deepEqual((await again.getCheckpoint('c', 's'))?.value, { since: at });
    await again.close();
  });
});
