import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  applyOktaCollectors,
  memoryLogger,
  openControl,
  randomKey,
  startOrgs,
} from '../../test/cluster/support.ts';
import { freshSchemas, postgresUnavailable, requirePostgres } from '../../test/support/postgres.ts';
import { tempDirs } from '../../test/support/temp-dirs.ts';
import type { BatchCommit, Store } from '../core/store.ts';
import { HeldLease } from './lease.ts';

const unavailable = await postgresUnavailable();
if (unavailable) requirePostgres(unavailable);
else {
  const schemas = freshSchemas();
  const fresh = tempDirs('tributary-lease');

  describe('HeldLease', () => {
    it('a run whose lease was taken over mid-run cannot commit: the batch in flight is the only one delivered twice', async () => {
      const dir = fresh();
      const log = memoryLogger();
      const c = await openControl(schemas(), dir, randomKey(), log);
      const [org] = await startOrgs(1, 200, 'fence');
      after(async () => {
        await c.runtime.close();
        await org!.sim.stop();
      });
      const out = join(dir, 'events.ndjson');
      await applyOktaCollectors(
        c.control,
        [org!],
        { kind: 'file', path: out },
        { limit: 10, requestsPerMinute: 60_000 },
      );
      const store = c.store;
      const id = (await store.getCollector(org!.name))!.id;

      const sentAt = Date.now();
      const acquired = await store.acquireLease(id, 'worker-a', 60_000);
      assert.ok(acquired);
      // Not renewing: only the fenced commit can find out that the lease is gone.
      const lease = new HeldLease(store, acquired, 60_000, log, sentAt);
      const fenced = lease.fencedStore();
      let commits = 0;
      let stolenToken = 0;
      let committed: unknown;
      const run = c.runtime.run(org!.name, {
        signal: lease.abort.signal,
        stop: lease.stop.signal,
        store: new Proxy(fenced, {
          get(target, prop) {
            if (prop !== 'commitBatch') return Reflect.get(target, prop);
            return async (b: BatchCommit) => {
              await target.commitBatch(b);
              if (++commits === 2) {
                committed = (await store.getCheckpoint(id, 'system-log'))?.value;
                // Meanwhile, worker-a's lease ran out and worker-b took the collector over.
                await store.renewLease(id, acquired.token, 1);
                for (let l = await store.acquireLease(id, 'worker-b', 60_000); ; ) {
                  if (l) {
                    stolenToken = l.token;
                    break;
                  }
                  l = await store.acquireLease(id, 'worker-b', 60_000);
                }
              }
            };
          },
        }) as Store,
      });
      const result = await run;
      assert.equal(commits, 2, 'the third commit was refused');
      assert.ok(stolenToken > acquired.token);
      assert.match(lease.lost ?? '', /commit was refused/);
      assert.ok(log.lines.some((l) => l.msg === 'lease lost: abandoning the batch in flight'));
      assert.notEqual(result.status, 'succeeded');
      const [record] = await store.listRuns(id);
      assert.equal(record!.events, 20, 'two batches committed');
      assert.equal(record!.status, 'failed');
      assert.equal(record!.error?.code, 'lease_expired', 'ended by the takeover, not by its own late report');
      const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
      assert.equal(
        lines.length,
        30,
        'the refused batch was delivered: it will be read again by the new holder',
      );
      assert.ok(committed);
      assert.deepEqual(
        (await store.getCheckpoint(id, 'system-log'))?.value,
        committed,
        'the checkpoint is the last one committed under the lease',
      );
      assert.equal(await store.releaseLease(id, acquired.token), false, 'nor can it release the new lease');
      assert.equal((await store.getLease(id))?.owner, 'worker-b');
    });
  });
}
