import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Auth } from '../../src/api/auth.ts';
import { READY_TIMEOUT_MS, startOpsServer } from '../../src/api/ops.ts';
import { bossUnready, startBoss } from '../../src/cluster/boss.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { LATEST_VERSION } from '../../src/store/sqlite/migrations.ts';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import {
  PrivatePostgres,
  privatePostgresUnavailable,
  requirePrivatePostgres,
} from '../support/private-postgres.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * /readyz tells a load balancer or Kubernetes whether the process can serve: 503 with the reason while
 * the store is unreachable or its schema is behind this build, 200 otherwise; /healthz (liveness) stays
 * 200 throughout. Observed over HTTP on a running server: SQLite with a migration taken away and put
 * back, then closed; a private Postgres server stopped and started under `serve` and under a worker's
 * --metrics-port listener (whose readiness also covers pg-boss).
 */

const fresh = tempDirs('tributary-readyz');

async function probe(base: string, path = '/readyz'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: await res.json() };
}

/** Polls /readyz until it answers `status` (deadline 20 s); returns that answer. */
async function until(base: string, status: number): Promise<{ status: number; body: any }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await probe(base);
    if (r.status === status) return r;
    if (Date.now() > deadline) assert.fail(`/readyz still answers ${r.status}: ${JSON.stringify(r.body)}`);
    await delay(50);
  }
}

describe('readiness with the embedded store (SQLite)', () => {
  let api: ApiServer;
  before(async () => {
    api = await startTestApi(fresh());
  });
  after(() => api?.close());

  it('503 while a migration is pending, 200 once it is applied; 503 once the database is closed', async () => {
    assert.deepEqual(await probe(api.base), { status: 200, body: { status: 'ok' } });
    const db = new DatabaseSync(join(api.dir, 'tributary.db'));
    try {
      const row = db.prepare('SELECT * FROM schema_migrations WHERE version = ?').get(LATEST_VERSION) as {
        applied_at: string;
      };
      db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(LATEST_VERSION);
      const behind = await probe(api.base);
      assert.equal(behind.status, 503);
      assert.equal(behind.body.status, 'unavailable');
      assert.equal(
        behind.body.reason,
        `schema migrations are pending: the database is at version ${LATEST_VERSION - 1}, this build needs ${LATEST_VERSION}`,
      );
      assert.equal((await probe(api.base, '/healthz')).status, 200, 'liveness is not readiness');
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
        LATEST_VERSION,
        row.applied_at,
      );
      assert.equal((await probe(api.base)).status, 200);
    } finally {
      db.close();
    }
    await api.runtime.store.close();
    assert.deepEqual(await probe(api.base), {
      status: 503,
      body: { status: 'unavailable', reason: 'the database is closed' },
    });
    assert.equal((await probe(api.base, '/healthz')).status, 200);
  });
});

const unavailable = privatePostgresUnavailable();
if (unavailable) requirePrivatePostgres(unavailable);
else
  describe('readiness with the cluster store (Postgres)', () => {
    let server: PrivatePostgres;
    let api: ApiServer;
    let worker: { port: number; close(): Promise<void> };
    let workerStore: PostgresStore;
    let stopBoss: () => Promise<void>;

    before(async () => {
      server = await PrivatePostgres.create();
      const open = (app: string) =>
        PostgresStore.open({
          connectionString: server.url({ schema: 'readyz' }),
          poolSize: 3,
          applicationName: app,
          connectTimeoutMs: 2000,
        });
      api = await startTestApi(fresh(), { store: () => open('tributary-readyz-serve') });
      // A worker's listener: its readiness covers the store and pg-boss.
      workerStore = await open('tributary-readyz-worker');
      const boss = await startBoss(workerStore);
      stopBoss = () => boss.stop({ graceful: false, close: false });
      worker = await startOpsServer({
        port: 0,
        host: '127.0.0.1',
        store: workerStore,
        auth: new Auth(workerStore),
        open: true,
        readiness: [() => bossUnready(boss, READY_TIMEOUT_MS)],
        log: silentLogger,
      });
    });
    after(async () => {
      await worker?.close();
      await stopBoss?.();
      await workerStore?.close();
      await api?.close();
      await server?.destroy();
    });

    it('503 while the database is down, for serve and for a worker; 200 again once it is back', async () => {
      const workerBase = `http://127.0.0.1:${worker.port}`;
      for (const base of [api.base, workerBase]) assert.equal((await probe(base)).status, 200, base);
      assert.match(
        (await (await fetch(`${workerBase}/metrics`)).text()) ?? '',
        /process_resident_memory_bytes/,
        'the worker listener serves the process metrics',
      );

      await server.stop('fast'); // every session terminated; the port refuses connections
      for (const base of [api.base, workerBase]) {
        const down = await until(base, 503);
        assert.equal(down.body.status, 'unavailable');
        assert.match(
          down.body.reason,
          /the database is unreachable|did not answer|job queue/,
          down.body.reason,
        );
        assert.doesNotMatch(down.body.reason, /postgres:\/\//, 'no connection string in the answer');
        assert.equal((await probe(base, '/healthz')).status, 200, 'liveness is not readiness');
      }

      await server.start();
      for (const base of [api.base, workerBase])
        assert.deepEqual((await until(base, 200)).body, { status: 'ok' });
    });
  });
