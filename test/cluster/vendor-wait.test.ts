import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PgBoss } from 'pg-boss';
import { Runtime } from '../../src/app/runtime.ts';
import { startBoss } from '../../src/cluster/boss.ts';
import { claimDue, enqueue, scheduleIn } from '../../src/cluster/schedule.ts';
import { ClusterScheduler } from '../../src/cluster/scheduler.ts';
import { Worker } from '../../src/cluster/worker.ts';
import { parseConfig } from '../../src/config/config-file.ts';
import { CONFIG_FILE } from '../../src/control/service.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import type { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { freshSchemas, postgresUnavailable, requirePostgres } from '../support/postgres.ts';
import { tempDirs } from '../support/temp-dirs.ts';
import { memoryLogger, openControl, randomKey, until } from './support.ts';

/**
 * Cluster mode and a vendor that asks for a long wait: the wait lives in Postgres (vendor_waits), so
 * a worker that never heard the vendor holds the account's collectors back too, until the vendor's time.
 */
const unavailable = await postgresUnavailable();
if (unavailable) requirePostgres(unavailable);
else {
  const schemas = freshSchemas();
  const fresh = tempDirs('tributary-cluster-wait');

  describe('cluster mode: vendor waits', () => {
    it("a Retry-After heard by one worker holds the account's collectors back on every worker until then", async () => {
      const dir = fresh();
      const log = memoryLogger();
      let boss!: PgBoss;
      const c = await openControl(schemas(), dir, randomKey(), log, async (store) => {
        boss = await startBoss(store, { log });
        return new ClusterScheduler(store, boss, log, { leaseTtlMs: 1500 });
      });
      const store = c.store as PostgresStore;
      const sim = new OktaSimulator({ events: 30, rateLimitPerMinute: 1_000_000 });
      await sim.start();
      const workerOptions = { concurrency: 2, leaseTtlMs: 1500, pollMs: 50, tickMs: 50 };
      // "Another worker": its own runtime and log, the same database.
      const otherLog = memoryLogger();
      const other = new Worker(new Runtime(store, c.runtime.secrets, otherLog, dir), boss, {
        ...workerOptions,
        id: 'other',
      });
      const first = new Worker(c.runtime, boss, { ...workerOptions, id: 'first' });
      after(async () => {
        await first.stop(1000);
        await other.stop(1000);
        await boss.stop({ graceful: false, close: false });
        await c.runtime.close();
        await sim.stop();
      });
      sim.inject({ kind: 'status', status: 429, headers: { 'retry-after': '3600' }, path: '/api/v1/logs' });
      const collector = (enabled: boolean) => ({
        source: 'okta',
        account: 'org',
        destinations: ['out'],
        interval: '1h',
        lookback: '2h',
        enabled,
      });
      const config = (secondEnabled: boolean) =>
        parseConfig(
          JSON.stringify({
            accounts: { org: { kind: 'okta', url: sim.url, token: sim.token } },
            destinations: { out: { kind: 'file', path: join(dir, 'events.ndjson') } },
            collectors: { logs: collector(true), audit: collector(secondEnabled) },
          }),
          { baseDir: dir, env: {} },
        );
      await c.control.apply(CONFIG_FILE, config(false));
      const accountId = (await store.getAccount('org'))!.id;
      const logsId = (await store.getCollector('logs'))!.id;
      first.start();

      const wait = await until('the vendor wait stored', () => store.getVendorWait(accountId));
      assert.ok(Date.parse(wait.until) - Date.now() > 3_500_000, 'an hour away');
      assert.equal(wait.collector, 'logs');
      await until('the run that heard it ended', async () => (await store.listRuns(logsId))[0]?.endedAt);
      await first.stop(1000);
      const asked = sim.requests().length;

      // The other collector of the account, started now and due at once, is not claimed by any worker,
      // and neither is the one that heard the vendor, made due again.
      await c.control.apply(CONFIG_FILE, config(true));
      const auditId = (await store.getCollector('audit'))!.id;
      await scheduleIn(store, logsId, 0);
      await scheduleIn(store, auditId, 0);
      assert.deepEqual(await claimDue(store, 10, 60_000), [], 'due, but waiting for the vendor');
      // A run queued before the wait was stored (a job in flight) is refused by the worker that takes
      // it, before it asks the vendor anything or records a run.
      await enqueue(boss, [{ id: auditId, name: 'audit', due: new Date().toISOString() }]);
      other.start();
      await until('the other worker refusing the queued run', () =>
        otherLog.lines.some(
          (l) => l.msg === 'run not started: waiting for the vendor' && l.collector === 'audit',
        ),
      );
      assert.equal(sim.requests().length, asked, 'the vendor was not asked again');
      assert.deepEqual(await store.listRuns(auditId), []);

      // Once the vendor's time has come (moved here to now), both run again.
      await store.query(`UPDATE vendor_waits SET wait_until = clock_timestamp() - interval '1 second'`);
      await scheduleIn(store, logsId, 0);
      await scheduleIn(store, auditId, 0);
      for (const id of [logsId, auditId])
        await until('a run after the wait', async () =>
          (await store.listRuns(id)).some((r) => r.status === 'succeeded'),
        );
      assert.ok(sim.requests().length > asked);
    });
  });
}
