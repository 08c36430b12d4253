import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { waitFor } from '../../../test/support/cli-process.ts';
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

/** A migrated store in `dir` holding collector `c` of `source`, and the time it was made. */
async function withCollector(dir: string, source: string) {
  const s = await SqliteStore.open(dir);
  await s.migrate();
  const at = new Date().toISOString();
  await s.putCollector({
    id: 'c',
    name: 'c',
    source,
    config: {},
    enabled: true,
    secrets: {},
    createdAt: at,
    updatedAt: at,
  });
  return { s, at };
}

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
    const { s, at } = await withCollector(dir, 'okta');
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

  it("syncs the WAL of the delivery path's writes on the thread pool, resolving only once it is synced", async (t) => {
    const dir = fresh();
    const { s, at } = await withCollector(dir, 'webhook');
    // Every fdatasync waits for a gate this test opens.
    const probe = await open(import.meta.filename, 'r');
    const fileHandle = Object.getPrototypeOf(probe) as { datasync(): Promise<void> };
    await probe.close();
    const datasync = fileHandle.datasync;
    let syncs = 0;
    let release: () => void = () => {};
    t.mock.method(fileHandle, 'datasync', function (this: unknown) {
      syncs++;
      return new Promise<void>((ok) => {
        release = ok;
      }).then(() => datasync.call(this));
    });
    const reader = new DatabaseSync(join(dir, 'tributary.db'));
    t.after(() => reader.close());
    const writes: Array<[string, () => Promise<unknown>, string]> = [
      [
        'commitBatch',
        () =>
          s.commitBatch({
            collectorId: 'c',
            stream: 'events',
            checkpoint: null,
            runId: 'push',
            events: 3,
            pages: 0,
            bytes: 30,
            hourly: {},
            deadLetters: [],
          }),
        'SELECT COUNT(*) AS n FROM checkpoints',
      ],
      [
        'recordIngestAnswers',
        () =>
          s.recordIngestAnswers([
            {
              collectorId: 'c',
              bucket: at,
              status: 200,
              code: 'accepted',
              requests: 1,
              events: 3,
              lastAt: at,
            },
          ]),
        'SELECT COUNT(*) AS n FROM ingest_answers',
      ],
    ];
    for (const [name, write, count] of writes) {
      const before = syncs;
      let resolved = false;
      const done = write().then(() => {
        resolved = true;
      });
      // Committed at once (another connection sees it); the sync is asked for while the loop runs on.
      assert.equal(reader.prepare(count).get()?.n, 1, `${name}: committed`);
      assert.ok(await waitFor(() => syncs === before + 1, 5000), `${name}: one fdatasync of the WAL`);
      await new Promise((r) => setImmediate(r));
      assert.equal(resolved, false, `${name}: resolved before the WAL was synced`);
      release();
      await done;
    }
    await s.close();
  });
});
