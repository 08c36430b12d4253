import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  freshSchemas,
  postgresUnavailable,
  requirePostgres,
  testDatabaseUrl,
} from '../../test/support/postgres.ts';
import type { RunRecord } from '../core/store.ts';
import { PostgresStore } from '../store/postgres/postgres-store.ts';
import { claimDue, releaseAndSchedule, requestRun, runEndLostError } from './schedule.ts';

const unavailable = await postgresUnavailable();
if (unavailable) requirePostgres(unavailable);
else {
  const schemas = freshSchemas();

  describe('releaseAndSchedule', () => {
    it('ends the run held under the lease when its runner could not record the end; touches nothing else', async () => {
      const store = await PostgresStore.open({
        connectionString: testDatabaseUrl,
        schema: schemas(),
        poolSize: 2,
      });
      after(() => store.close());
      await store.migrate();
      const at = new Date().toISOString();
      for (const id of ['c1', 'c2'])
        await store.putCollector({
          id,
          name: id,
          source: 'okta',
          config: {},
          enabled: true,
          secrets: {},
          createdAt: at,
          updatedAt: at,
        });
      const run = (id: string, collectorId: string, fence: number): RunRecord => ({
        id,
        collectorId,
        startedAt: at,
        status: 'running',
        events: 0,
        pages: 0,
        bytes: 0,
        deadLetters: 0,
        runner: 'w1',
        fence,
      });
      // c1: a run recorded its end; the next one could not (the database was away when it failed)
      const first = (await store.acquireLease('c1', 'w1', 30_000))!;
      await store.startRun(run('r1', 'c1', first.token));
      await store.finishRun('r1', 'succeeded');
      assert.equal(await releaseAndSchedule(store, 'c1', first.token, 60_000), true);
      const second = (await store.acquireLease('c1', 'w1', 30_000))!;
      await store.startRun(run('r2', 'c1', second.token));
      // c2: a run still going under its own lease
      const other = (await store.acquireLease('c2', 'w2', 30_000))!;
      await store.startRun(run('r3', 'c2', other.token));

      // a stale token releases nothing and ends nothing
      assert.equal(await releaseAndSchedule(store, 'c1', first.token, 0), false);
      assert.equal((await store.listRuns('c1', 1))[0]!.endedAt, undefined);

      assert.equal(await releaseAndSchedule(store, 'c1', second.token, 5000), true);
      const [r2, r1] = await store.listRuns('c1');
      assert.equal(r2!.id, 'r2');
      assert.equal(r2!.status, 'failed');
      assert.ok(r2!.endedAt);
      assert.deepEqual(r2!.error, runEndLostError);
      assert.equal((await store.getLease('c1'))!.owner, undefined, 'released');
      assert.equal(r1!.status, 'succeeded', 'an ended run keeps its end');
      const [r3] = await store.listRuns('c2');
      assert.equal(r3!.status, 'running', "another collector's run is untouched");
      assert.equal(r3!.endedAt, undefined);
    });
  });

  describe('requestRun (run now)', () => {
    it('makes a collector due unless a run of it is claimed and not yet released', async () => {
      const store = await PostgresStore.open({
        connectionString: testDatabaseUrl,
        schema: schemas(),
        poolSize: 2,
      });
      after(() => store.close());
      await store.migrate();
      const at = new Date().toISOString();
      await store.putCollector({
        id: 'c1',
        name: 'c1',
        source: 'okta',
        config: {},
        enabled: true,
        secrets: {},
        createdAt: at,
        updatedAt: at,
      });
      const recheck = 60_000;

      assert.equal(await requestRun(store, 'c1', recheck), true);
      assert.deepEqual(
        (await claimDue(store, 10, recheck, 'c1')).map((c) => c.id),
        ['c1'],
      );
      // claimed (queued, or on a worker that has not taken the lease yet): a second request queues nothing
      assert.equal(await requestRun(store, 'c1', recheck), false);
      assert.deepEqual(await claimDue(store, 10, recheck, 'c1'), []);
      // the run: lease taken, then released with the next run an hour away
      const lease = (await store.acquireLease('c1', 'w1', 30_000))!;
      assert.equal(await requestRun(store, 'c1', recheck), false, 'running: no second run');
      assert.equal(await releaseAndSchedule(store, 'c1', lease.token, 3_600_000), true);
      assert.deepEqual(await claimDue(store, 10, recheck, 'c1'), [], 'not due for an hour');
      // asked again after the run ended: a new run
      assert.equal(await requestRun(store, 'c1', recheck), true);
      assert.deepEqual(
        (await claimDue(store, 10, recheck, 'c1')).map((c) => c.id),
        ['c1'],
      );
      // a claim older than the recheck window is a lost one (its worker died before taking the lease)
      await store.query(
        `UPDATE collector_schedule SET claimed_at = clock_timestamp() - interval '2 minutes'`,
      );
      assert.equal(await requestRun(store, 'c1', recheck), true);
    });
  });
}
