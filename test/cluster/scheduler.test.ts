import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PgBoss } from 'pg-boss';
import { bossSchema, RUN_QUEUE, startBoss } from '../../src/cluster/boss.ts';
import { claimDue, pushSourceIds, scheduleIn } from '../../src/cluster/schedule.ts';
import { ClusterScheduler } from '../../src/cluster/scheduler.ts';
import { Worker } from '../../src/cluster/worker.ts';
import { CONFIG_FILE } from '../../src/control/service.ts';
import type { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { freshSchemas, postgresUnavailable, requirePostgres } from '../support/postgres.ts';
import { tempDirs } from '../support/temp-dirs.ts';
import { applyOktaCollectors, memoryLogger, openControl, randomKey, startOrgs, until } from './support.ts';

/**
 * Cluster mode's scheduler behind the control plane (in one process here: the API's hooks on one
 * side, a worker on the other, sharing one Postgres schema): start, stop, run now and delete act on
 * runs that happen on the worker.
 */
const unavailable = await postgresUnavailable();
if (unavailable) requirePostgres(unavailable);
else {
  const schemas = freshSchemas();
  const fresh = tempDirs('tributary-cluster-hooks');

  describe('cluster scheduler (SchedulerHooks)', () => {
    it('start, stop, run now and delete work through the control plane; runs happen on a worker', async () => {
      const dir = fresh();
      const log = memoryLogger();
      let boss!: PgBoss;
      let scheduler!: ClusterScheduler;
      const c = await openControl(schemas(), dir, randomKey(), log, async (store) => {
        boss = await startBoss(store, { log });
        scheduler = new ClusterScheduler(store, boss, log, { leaseTtlMs: 1500 });
        return scheduler;
      });
      const store = c.store as PostgresStore;
      const worker = new Worker(c.runtime, boss, {
        concurrency: 4,
        leaseTtlMs: 1500,
        pollMs: 50,
        tickMs: 50,
      });
      after(async () => {
        await worker.stop(1000);
        await boss.stop({ graceful: false, close: false });
        await c.runtime.close();
        await Promise.all(orgs.map((o) => o.sim.stop()));
      });
      // "slow": 4000 events, 20 a page, 2 requests a second: a run that lasts (it is stopped mid-way).
      // "quick": 50 events, caught up in one page.
      const [slow] = await startOrgs(1, 4000, 'slow');
      const [quick] = await startOrgs(1, 50, 'quick');
      const orgs = [slow!, quick!];
      const out = join(dir, 'events.ndjson');
      await applyOktaCollectors(
        c.control,
        [slow!],
        { kind: 'file', path: out },
        { limit: 20, requestsPerMinute: 120 },
      );
      await applyOktaCollectors(
        c.control,
        [quick!],
        { kind: 'file', path: out },
        { limit: 1000, requestsPerMinute: 6000 },
      );
      await scheduler.idle();
      worker.start();
      const slowId = (await store.getCollector(slow!.name))!.id;
      const quickId = (await store.getCollector(quick!.name))!.id;

      // created (apply → sync): both run on the worker
      await until(
        'the slow collector running on the worker',
        async () => (await store.getLease(slowId))?.owner === worker.id,
      );
      await until('the quick collector caught up', async () =>
        (await store.listRuns(quickId)).some((r) => r.status === 'succeeded'),
      );

      // run now: the quick collector (interval 1h) runs again at once
      await c.control.runNow(CONFIG_FILE, quick!.name);
      await until(
        'a second run of the quick collector',
        async () => (await store.listRuns(quickId)).length >= 2,
      );

      // run now while running: no second run (the lease is held), nothing queued
      await scheduler.runNow(slow!.name);
      const queued = await store.query(
        `SELECT count(*)::int AS n FROM "${bossSchema(store.schema)}".job WHERE name = $1 AND singleton_key = $2 AND state = 'created'`,
        [RUN_QUEUE, slowId],
      );
      assert.equal(queued.rows[0].n, 0);
      assert.equal((await store.listRuns(slowId)).length, 1);

      // stop: the run ends after its batch in flight (committed, so delivered == committed), lease released
      await until('some progress', async () => (await store.listRuns(slowId))[0]!.events >= 40);
      await c.control.setEnabled(CONFIG_FILE, slow!.name, false);
      const stopped = await until('the slow run to stop', async () => {
        const r = (await store.listRuns(slowId))[0]!;
        return r.status !== 'running' && r;
      });
      assert.equal(stopped.status, 'cancelled');
      // the run's end is recorded first, then the lease is released
      await until('the lease released', async () => (await store.getLease(slowId))?.owner === undefined);
      const delivered = readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l && JSON.parse(l).collector === slow!.name).length;
      assert.equal(
        delivered,
        stopped.events,
        'the batch in flight was delivered and committed, nothing more',
      );
      assert.ok(stopped.events < 4000);
      assert.deepEqual(await claimDue(store, 10, 60_000, slowId), [], 'a stopped collector is never due');

      // start: it runs again, from where it stopped
      await c.control.setEnabled(CONFIG_FILE, slow!.name, true);
      await until(
        'a new run of the slow collector',
        async () =>
          (await store.listRuns(slowId)).length === 2 && (await store.getLease(slowId))?.owner === worker.id,
      );

      // delete while running: waits for the run to stop, then the collector, its lease and schedule go
      await c.control.deleteCollector(CONFIG_FILE, slow!.name);
      assert.equal(await store.getCollector(slow!.name), undefined);
      assert.equal(await store.getLease(slowId), undefined);
      await until('the worker to let go of it', () => !worker.running().includes(slowId));
      const left = await store.query(
        'SELECT count(*)::int AS n FROM collector_schedule WHERE collector_id = $1',
        [slowId],
      );
      assert.equal(left.rows[0].n, 0);
      assert.ok(log.lines.some((l) => l.msg === 'stop requested: finishing the batch in flight'));

      // a push collector (events arrive on its ingest endpoint) is never due, never queued
      const push = pushSourceIds()[0];
      if (push) {
        const at = new Date().toISOString();
        const id = crypto.randomUUID();
        await store.putCollector({
          id,
          name: 'pushed',
          source: push,
          config: {},
          enabled: true,
          secrets: {},
          createdAt: at,
          updatedAt: at,
        });
        await scheduleIn(store, id, 0);
        assert.deepEqual(await claimDue(store, 10, 60_000, id), []);
      }
    });
  });
}
