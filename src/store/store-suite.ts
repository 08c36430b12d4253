import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttemptLimit, BatchCommit, LeaseRecord, Store } from '../core/store.ts';
import { isLeaseLost } from '../core/store.ts';

/**
 * The contract every Store implementation passes (SQLite now, Postgres in cluster mode): only the
 * Store interface is used, so the same suite runs against each.
 */
export function storeSuite(name: string, makeStore: () => Promise<Store>): void {
  const at = '2026-11-25T10:00:00.000Z';
  const collector = (id: string, n = id) => ({
    id,
    name: n,
    source: 'okta',
    account: 'acc',
    config: { interval: '1m' },
    secrets: {} as Record<string, string>,
    enabled: true,
    createdAt: at,
    updatedAt: at,
  });
  const batch = (over: Partial<BatchCommit> = {}): BatchCommit => ({
    collectorId: 'c1',
    stream: 's',
    checkpoint: { since: 'x' },
    runId: 'r1',
    events: 10,
    pages: 1,
    bytes: 1000,
    lastEventTime: '2026-11-25T10:05:00.000Z',
    hourly: { '2026-11-25T10:00:00.000Z': 10 },
    deadLetters: [],
    ...over,
  });
  async function withRun(): Promise<Store> {
    const s = await makeStore();
    await s.putCollector(collector('c1'));
    await s.startRun({
      id: 'r1',
      collectorId: 'c1',
      startedAt: at,
      status: 'running',
      events: 0,
      pages: 0,
      bytes: 0,
      deadLetters: 0,
    });
    return s;
  }
  const run = (id: string, fence?: number) => ({
    id,
    collectorId: 'c1',
    startedAt: new Date().toISOString(),
    status: 'running' as const,
    events: 0,
    pages: 0,
    bytes: 0,
    deadLetters: 0,
    runner: 'w',
    fence,
  });
  /** Takes a lease as soon as the previous one expired (on the store's clock), within a deadline. */
  async function takeOver(s: Store, owner: string): Promise<LeaseRecord> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const l = await s.acquireLease('c1', owner, 60_000);
      if (l) return l;
      if (Date.now() > deadline) throw new Error('the lease never expired');
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  describe(`store contract: ${name}`, () => {
    it('accounts: put, get, list, update, delete', async () => {
      const s = await makeStore();
      await s.putAccount({
        id: 'a1',
        name: 'okta-main',
        kind: 'okta',
        config: { url: 'https://x' },
        secrets: { token: 'v1:sealed' },
        createdAt: at,
        updatedAt: at,
      });
      await s.putAccount({
        id: 'a2',
        name: 'alpha',
        kind: 'openai',
        config: {},
        secrets: {},
        expiresAt: '2027-01-01T00:00:00.000Z',
        createdAt: at,
        updatedAt: at,
      });
      assert.deepEqual((await s.getAccount('okta-main'))?.secrets, { token: 'v1:sealed' });
      assert.equal((await s.getAccount('alpha'))?.expiresAt, '2027-01-01T00:00:00.000Z');
      assert.deepEqual(
        (await s.listAccounts()).map((a) => a.name),
        ['alpha', 'okta-main'],
      );
      await s.putAccount({
        id: 'a1',
        name: 'okta-main',
        kind: 'okta',
        config: { url: 'https://y' },
        secrets: {},
        createdAt: at,
        updatedAt: '2026-11-26T00:00:00.000Z',
      });
      const updated = await s.getAccount('okta-main');
      assert.equal(updated?.config.url, 'https://y');
      assert.equal(updated?.createdAt, at);
      assert.equal(await s.deleteAccount('okta-main'), true);
      assert.equal(await s.deleteAccount('okta-main'), false);
      assert.equal(await s.getAccount('okta-main'), undefined);
      await s.close();
    });

    it('collectors: put, get, list, update, delete cascading to their state', async () => {
      const s = await withRun();
      await s.putCollector(collector('c2', 'another'));
      assert.deepEqual(
        (await s.listCollectors()).map((c) => c.name),
        ['another', 'c1'],
      );
      await s.putCollector({ ...collector('c1'), enabled: false, config: { interval: '5m' } });
      const c1 = await s.getCollector('c1');
      assert.equal(c1?.enabled, false);
      await s.putCollector({ ...collector('c1'), secrets: { 'settings.headers.X-Key': 'v1:sealed' } });
      assert.deepEqual((await s.getCollector('c1'))?.secrets, { 'settings.headers.X-Key': 'v1:sealed' });
      assert.deepEqual(c1?.config, { interval: '5m' });
      await s.commitBatch(batch({ deadLetters: [{ reason: 'bad', raw: '{}' }] }));
      await s.recordError('c1', 's', { type: 'transient', code: 'x', message: 'm', action: 'a' });
      assert.equal(await s.deleteCollector('c1'), true);
      assert.equal(await s.getCollector('c1'), undefined);
      assert.deepEqual(await s.listCheckpoints('c1'), []);
      assert.deepEqual(await s.listRuns('c1'), []);
      assert.deepEqual(await s.listErrors('c1'), []);
      assert.deepEqual(await s.listDeadLetters('c1'), []);
      assert.deepEqual(await s.volume('c1', '2000-01-01T00:00:00.000Z'), []);
      assert.equal(await s.lastEventTime('c1'), undefined);
      await s.close();
    });

    it('commitBatch: checkpoint, counters, hourly volume, last event time and dead letters together', async () => {
      const s = await withRun();
      await s.commitBatch(batch());
      await s.commitBatch(
        batch({
          checkpoint: { since: 'y', seen: [['id', 1]] },
          events: 5,
          bytes: 500,
          lastEventTime: '2026-11-25T09:00:00.000Z',
          hourly: { '2026-11-25T10:00:00.000Z': 3, '2026-11-25T11:00:00.000Z': 2 },
          deadLetters: [{ reason: 'no id', raw: '{"a":1}' }],
        }),
      );
      assert.deepEqual((await s.getCheckpoint('c1', 's'))?.value, { since: 'y', seen: [['id', 1]] });
      const [run] = await s.listRuns('c1');
      assert.deepEqual([run.events, run.pages, run.bytes, run.deadLetters], [15, 2, 1500, 1]);
      assert.deepEqual(await s.volume('c1', '2026-11-25T00:00:00.000Z'), [
        { hour: '2026-11-25T10:00:00.000Z', count: 13 },
        { hour: '2026-11-25T11:00:00.000Z', count: 2 },
      ]);
      assert.deepEqual(await s.volume('c1', '2026-11-25T11:00:00.000Z'), [
        { hour: '2026-11-25T11:00:00.000Z', count: 2 },
      ]);
      assert.equal(await s.lastEventTime('c1'), '2026-11-25T10:05:00.000Z', 'the newest time is kept');
      const [dl] = await s.listDeadLetters('c1');
      assert.deepEqual([dl.stream, dl.reason, dl.raw], ['s', 'no id', '{"a":1}']);
      await s.close();
    });

    it('addDeadLetters keeps dead letters outside a commit, in order, the checkpoint untouched', async () => {
      const s = await withRun();
      await s.commitBatch(batch({ checkpoint: { since: 'kept' } }));
      await s.addDeadLetters('c1', 's2', [
        { reason: 'destination a: mapping error', raw: '{"id":"x","n":12345678901234567890}' },
        { reason: 'destination a: too large', raw: '{"id":"y"}' },
      ]);
      await s.addDeadLetters('c1', 's2', []);
      const letters = await s.listDeadLetters('c1');
      assert.deepEqual(
        letters.map((d) => [d.stream, d.reason, d.raw]),
        [
          ['s2', 'destination a: too large', '{"id":"y"}'],
          ['s2', 'destination a: mapping error', '{"id":"x","n":12345678901234567890}'],
        ],
      );
      assert.deepEqual((await s.getCheckpoint('c1', 's'))?.value, { since: 'kept' });
      await s.close();
    });

    it('commitBatch is atomic: a failing commit leaves the previous checkpoint and counters', async () => {
      const s = await withRun();
      await s.commitBatch(batch());
      const bad = batch({ checkpoint: { n: 10n }, events: 99 }); // a BigInt cannot be serialised
      await assert.rejects(s.commitBatch(bad));
      const badDeadLetter = batch({
        checkpoint: { since: 'z' },
        events: 99,
        deadLetters: [{ reason: 'r', raw: null as unknown as string }],
      });
      await assert.rejects(s.commitBatch(badDeadLetter), /deadLetters\[0\]\.raw: expected a string/);
      // Checked before anything is written, with the field named, in both stores.
      await assert.rejects(
        s.commitBatch(batch({ checkpoint: undefined, events: 99 })),
        /commitBatch: checkpoint: expected a JSON value/,
      );
      assert.deepEqual((await s.getCheckpoint('c1', 's'))?.value, { since: 'x' });
      assert.equal((await s.listRuns('c1'))[0].events, 10);
      assert.deepEqual(await s.listDeadLetters('c1'), []);
      await s.close();
    });

    it('checkpoints: the position time moves forward only; setting or resetting the checkpoint forgets it', async () => {
      const s = await withRun();
      const position = async () => (await s.getCheckpoint('c1', 's'))?.positionTime;
      await s.commitBatch(batch({ checkpoint: 1 }));
      assert.equal(await position(), undefined, 'none until a commit carries one');
      await s.commitBatch(batch({ checkpoint: 2, positionTime: '2026-11-25T09:00:00.000Z' }));
      assert.equal(await position(), '2026-11-25T09:00:00.000Z');
      await s.commitBatch(batch({ checkpoint: 3, positionTime: '2026-11-25T08:00:00.000Z' }));
      assert.equal(await position(), '2026-11-25T09:00:00.000Z', 'an older time (an overlap) is not taken');
      assert.equal((await s.getCheckpoint('c1', 's'))?.value, 3, 'while the checkpoint itself moves');
      await s.commitBatch(batch({ checkpoint: 4 }));
      assert.equal(await position(), '2026-11-25T09:00:00.000Z', 'a commit without one keeps it');
      await s.commitBatch(batch({ checkpoint: 5, positionTime: '2026-11-25T10:00:00.000Z' }));
      assert.equal((await s.listCheckpoints('c1'))[0]?.positionTime, '2026-11-25T10:00:00.000Z');
      await s.putCheckpoint('c1', 's', 6);
      assert.equal(await position(), undefined, 'a checkpoint set by hand has no known position time');
      await s.commitBatch(batch({ checkpoint: 7, positionTime: '2026-11-25T07:00:00.000Z' }));
      await s.resetCheckpoint('c1', 's');
      await s.commitBatch(batch({ checkpoint: 8, positionTime: '2026-11-25T06:00:00.000Z' }));
      assert.equal(await position(), '2026-11-25T06:00:00.000Z', 'after a reset, from scratch');
      await s.close();
    });

    it('readiness: a migrated store is ready, a closed one says so', async () => {
      const s = await makeStore();
      assert.equal(await s.unready(2000), undefined);
      await s.close();
      assert.match((await s.unready(2000)) ?? '', /closed/);
    });

    it('checkpoints: per stream, reset one or all', async () => {
      const s = await withRun();
      await s.commitBatch(batch({ stream: 'a', checkpoint: 1 }));
      await s.commitBatch(batch({ stream: 'b', checkpoint: 2 }));
      assert.deepEqual(
        (await s.listCheckpoints('c1')).map((c) => [c.stream, c.value]),
        [
          ['a', 1],
          ['b', 2],
        ],
      );
      await s.resetCheckpoint('c1', 'a');
      assert.equal(await s.getCheckpoint('c1', 'a'), undefined);
      assert.equal((await s.getCheckpoint('c1', 'b'))?.value, 2);
      await s.resetCheckpoint('c1');
      assert.deepEqual(await s.listCheckpoints('c1'), []);
      await s.close();
    });

    it('runs: start, finish with an error, newest first', async () => {
      const s = await withRun();
      await s.finishRun('r1', 'failed', {
        type: 'config',
        code: 'unauthorized',
        message: 'no',
        action: 'fix it',
        status: 401,
      });
      await s.startRun({
        id: 'r2',
        collectorId: 'c1',
        startedAt: '2026-11-25T11:00:00.000Z',
        status: 'running',
        events: 0,
        pages: 0,
        bytes: 0,
        deadLetters: 0,
        runner: 'host:1',
      });
      const runs = await s.listRuns('c1');
      assert.deepEqual(
        runs.map((r) => r.id),
        ['r2', 'r1'],
      );
      assert.equal(runs[1].status, 'failed');
      assert.equal(runs[1].error?.code, 'unauthorized');
      assert.ok(runs[1].endedAt);
      assert.equal(runs[0].runner, 'host:1');
      assert.equal((await s.listRuns('c1', 1)).length, 1);
      await s.close();
    });

    it('runs end once: finishing an ended run changes nothing', async () => {
      const s = await withRun();
      await s.finishRun('r1', 'succeeded');
      const first = (await s.listRuns('c1'))[0];
      await s.finishRun('r1', 'failed', { type: 'transient', code: 'x', message: 'm', action: 'a' });
      assert.deepEqual((await s.listRuns('c1'))[0], first);
      await s.close();
    });

    it('putCheckpoint sets a stream position outside a run', async () => {
      const s = await withRun();
      await s.putCheckpoint('c1', 's', { since: 'imported', ids: ['a'] });
      await s.putCheckpoint('c1', 't', 7);
      assert.deepEqual(
        (await s.listCheckpoints('c1')).map((c) => [c.stream, c.value]),
        [
          ['s', { since: 'imported', ids: ['a'] }],
          ['t', 7],
        ],
      );
      await assert.rejects(s.putCheckpoint('c1', 's', undefined), /value/);
      await s.close();
    });

    const partitionCommit = (stream: string) => ({
      collectorId: 'c1',
      stream,
      partition: '0',
      position: { offset: 'o' } as unknown,
      events: 0,
      bytes: 0,
      hourly: {},
      deadLetters: [],
    });

    it('stream partitions: one owner at a time, growing tokens, fenced commits, hand-over keeps the position', async () => {
      const s = await withRun();
      assert.deepEqual(await s.listPartitions('c1', 'hub'), []);
      const a = await s.acquirePartition('c1', 'hub', '0', 'w1', 60_000);
      assert.equal(a?.owner, 'w1');
      assert.equal(a?.token, 1);
      assert.equal(a?.position, undefined);
      assert.equal(await s.acquirePartition('c1', 'hub', '0', 'w2', 60_000), undefined, 'held by w1');
      const b = await s.acquirePartition('c1', 'hub', '1', 'w2', 60_000);
      assert.equal(b?.owner, 'w2');
      const commit = (token: number, position: unknown, over = {}) =>
        s.commitPartition({
          collectorId: 'c1',
          stream: 'hub',
          partition: '0',
          position,
          token,
          runId: 'r1',
          events: 5,
          bytes: 500,
          lastEventTime: '2026-11-25T10:07:00.000Z',
          hourly: { '2026-11-25T10:00:00.000Z': 5 },
          deadLetters: [{ reason: 'bad', raw: '{"x"' }],
          ...over,
        });
      await commit(1, { offset: '42', seq: 7 });
      assert.ok((await s.renewPartition('c1', 'hub', '0', 1, 60_000))?.expiresAt);
      assert.equal(await s.renewPartition('c1', 'hub', '0', 9, 60_000), undefined, 'not with another token');
      let parts = await s.listPartitions('c1', 'hub');
      assert.deepEqual(
        parts.map((p) => [p.partition, p.owner, p.token, p.position]),
        [
          ['0', 'w1', 1, { offset: '42', seq: 7 }],
          ['1', 'w2', 1, undefined],
        ],
      );
      const [run] = await s.listRuns('c1');
      assert.equal(run.events, 5);
      assert.equal(run.deadLetters, 1);
      assert.equal((await s.listDeadLetters('c1'))[0]?.stream, 'hub');
      assert.equal(await s.lastEventTime('c1'), '2026-11-25T10:07:00.000Z');
      assert.deepEqual(await s.volume('c1', '2026-11-25T00:00:00.000Z'), [
        { hour: '2026-11-25T10:00:00.000Z', count: 5 },
      ]);
      // hand-over: released, taken by w2 with a larger token, the position kept
      assert.equal(await s.releasePartition('c1', 'hub', '0', 2), false, 'not with another token');
      assert.equal(await s.releasePartition('c1', 'hub', '0', 1), true);
      const c = await s.acquirePartition('c1', 'hub', '0', 'w2', 60_000);
      assert.equal(c?.token, 2);
      assert.deepEqual(c?.position, { offset: '42', seq: 7 });
      // the stale owner's commit is refused and changes nothing
      await assert.rejects(commit(1, { offset: '99' }), (e: unknown) => isLeaseLost(e));
      parts = await s.listPartitions('c1', 'hub');
      assert.deepEqual(parts[0]?.position, { offset: '42', seq: 7 });
      assert.equal((await s.listRuns('c1'))[0]?.events, 5, 'no counters from a refused commit');
      await commit(2, { offset: '50' }, { deadLetters: [], runId: undefined });
      assert.deepEqual((await s.listPartitions('c1', 'hub'))[0]?.position, { offset: '50' });
      await assert.rejects(
        commit(2, undefined, { deadLetters: [] }),
        /commitPartition: position: expected a JSON value/,
      );
      // a reset forgets positions, not leases: the next token is still larger
      await s.acquirePartition('c1', 'other', '0', 'w1', 60_000);
      await s.commitPartition({ ...partitionCommit('other'), token: 1 });
      await s.resetCheckpoint('c1', 'hub');
      assert.deepEqual(
        (await s.listPartitions('c1', 'hub')).map((p) => [p.partition, p.position, p.token]),
        [
          ['0', undefined, 2],
          ['1', undefined, 1],
        ],
      );
      assert.deepEqual(
        (await s.listPartitions('c1', 'other'))[0]?.position,
        { offset: 'o' },
        'other streams keep theirs',
      );
      await s.resetCheckpoint('c1');
      assert.equal((await s.listPartitions('c1', 'other'))[0]?.position, undefined);
      assert.equal(await s.releasePartition('c1', 'hub', '0', 2), true);
      assert.equal((await s.acquirePartition('c1', 'hub', '0', 'w3', 60_000))?.token, 3);
      await s.close();
    });

    it('stream partitions: an expired lease is taken over and the old owner can neither renew nor commit', async () => {
      const s = await withRun();
      const a = await s.acquirePartition('c1', 'hub', '0', 'w1', 1);
      assert.ok(a);
      const deadline = Date.now() + 5000;
      let b: Awaited<ReturnType<Store['acquirePartition']>>;
      while (!(b = await s.acquirePartition('c1', 'hub', '0', 'w2', 60_000))) {
        if (Date.now() > deadline) throw new Error('the partition lease never expired');
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.equal(b.owner, 'w2');
      assert.equal(b.token, 2);
      assert.equal(await s.renewPartition('c1', 'hub', '0', 1, 60_000), undefined);
      await assert.rejects(
        s.commitPartition({
          collectorId: 'c1',
          stream: 'hub',
          partition: '0',
          position: 1,
          token: 1,
          events: 0,
          bytes: 0,
          hourly: {},
          deadLetters: [],
        }),
        /no longer holds partition 0 of stream hub/,
      );
      await s.close();
    });

    it('stream members: join, keep alive, leave, and expire', async () => {
      const s = await withRun();
      await s.joinStream('c1', 'hub', 'w2', 60_000);
      await s.joinStream('c1', 'hub', 'w1', 60_000);
      await s.joinStream('c1', 'other', 'w3', 60_000);
      assert.deepEqual(await s.listStreamMembers('c1', 'hub'), ['w1', 'w2']);
      await s.leaveStream('c1', 'hub', 'w2');
      assert.deepEqual(await s.listStreamMembers('c1', 'hub'), ['w1']);
      await s.joinStream('c1', 'hub', 'w1', 1);
      const deadline = Date.now() + 5000;
      while ((await s.listStreamMembers('c1', 'hub')).length) {
        if (Date.now() > deadline) throw new Error('the member never expired');
        await new Promise((r) => setTimeout(r, 2));
      }
      await s.close();
    });

    it('leases: one holder at a time, growing tokens, renew, release, stop requests', async () => {
      const s = await withRun();
      assert.equal(await s.getLease('c1'), undefined);
      const a = await s.acquireLease('c1', 'worker-a', 60_000);
      assert.ok(a);
      assert.equal(a.owner, 'worker-a');
      assert.equal(a.stopRequested, false);
      assert.ok(Date.parse(a.expiresAt) > Date.now() + 30_000);
      assert.equal(await s.acquireLease('c1', 'worker-b', 60_000), undefined, 'a live lease is not shared');
      assert.equal(await s.acquireLease('c1', 'worker-a', 60_000), undefined, 'nor taken twice');
      const renewed = await s.renewLease('c1', a.token, 120_000);
      assert.equal(renewed?.token, a.token);
      assert.ok(Date.parse(renewed!.expiresAt) > Date.parse(a.expiresAt));
      assert.equal(await s.requestLeaseStop('c1'), true);
      assert.equal((await s.renewLease('c1', a.token, 60_000))?.stopRequested, true);
      assert.equal(await s.renewLease('c1', a.token + 1, 60_000), undefined, 'a wrong token renews nothing');
      assert.equal(await s.releaseLease('c1', a.token + 1), false);
      assert.equal(await s.releaseLease('c1', a.token), true);
      assert.equal(await s.releaseLease('c1', a.token), false, 'released once');
      assert.equal(
        await s.renewLease('c1', a.token, 60_000),
        undefined,
        'a released lease cannot be renewed',
      );
      assert.equal(await s.requestLeaseStop('c1'), false, 'nobody to ask');
      const released = await s.getLease('c1');
      assert.equal(released?.owner, undefined);
      const b = await s.acquireLease('c1', 'worker-b', 60_000);
      assert.ok(b && b.token > a.token, 'the next holder gets a larger token');
      assert.equal(b.stopRequested, false, 'a stop request ends with its lease');
      assert.equal(b.takenOver, undefined, 'a released lease taken again is no failover');
      assert.deepEqual(
        (await s.listLeases()).map((l) => [l.collectorId, l.owner, l.token]),
        [['c1', 'worker-b', b.token]],
      );
      assert.equal(await s.deleteCollector('c1'), true);
      assert.deepEqual(await s.listLeases(), [], "a deleted collector's lease goes with it");
      await s.close();
    });

    it('leases: an expired lease is taken over; the old holder can neither renew nor commit, and its run ends', async () => {
      const s = await withRun();
      const a = await s.acquireLease('c1', 'worker-a', 60_000);
      assert.ok(a);
      await s.startRun(run('ra', a.token));
      await s.renewLease('c1', a.token, 1); // the holder stops renewing: its lease runs out
      const b = await takeOver(s, 'worker-b');
      assert.ok(b.token > a.token);
      assert.equal(b.takenOver, true, 'a failover: taken from a holder that never released it');
      assert.equal(a.takenOver, undefined, 'a first acquisition is none');
      assert.equal(b.owner, 'worker-b');
      assert.equal(await s.renewLease('c1', a.token, 60_000), undefined);
      const ra = (await s.listRuns('c1')).find((r) => r.id === 'ra')!;
      assert.equal(ra.status, 'failed');
      assert.equal(ra.error?.code, 'lease_expired');
      assert.equal(ra.fence, a.token);
      assert.ok(ra.endedAt && Date.parse(ra.endedAt) <= Date.now(), 'ended when its lease expired');
      await s.finishRun('ra', 'succeeded'); // the old holder, resumed, reports in: too late
      assert.equal((await s.listRuns('c1')).find((r) => r.id === 'ra')!.status, 'failed');
      await assert.rejects(s.startRun(run('ra2', a.token)), isLeaseLost, 'a stale holder cannot start a run');
      assert.equal(
        (await s.listRuns('c1')).find((r) => r.id === 'ra2'),
        undefined,
      );
      await s.startRun(run('rb', b.token));
      assert.equal((await s.listRuns('c1')).find((r) => r.id === 'rb')?.fence, b.token);
      await s.close();
    });

    it('commitBatch is fenced: refused atomically once the caller no longer holds the lease', async () => {
      const s = await withRun();
      const a = await s.acquireLease('c1', 'worker-a', 60_000);
      assert.ok(a);
      await s.commitBatch(batch({ fence: a.token, runId: 'r1' }));
      const before = {
        checkpoint: (await s.getCheckpoint('c1', 's'))?.value,
        events: (await s.listRuns('c1'))[0].events,
        volume: await s.volume('c1', '2000-01-01T00:00:00.000Z'),
        deadLetters: (await s.listDeadLetters('c1')).length,
      };
      const stale = batch({
        fence: a.token,
        checkpoint: { since: 'stale' },
        events: 99,
        hourly: { '2026-11-25T10:00:00.000Z': 99 },
        deadLetters: [{ reason: 'r', raw: 'x' }],
      });
      // released: refused
      await s.releaseLease('c1', a.token);
      await assert.rejects(s.commitBatch(stale), isLeaseLost);
      // expired, not yet taken over: refused
      const c = await s.acquireLease('c1', 'worker-c', 60_000);
      assert.ok(c);
      const deadline = Date.now() + 5000;
      while ((await s.renewLease('c1', c.token, 1)) && Date.now() < deadline); // until it has run out
      assert.equal((await s.getLease('c1'))?.owner, 'worker-c', 'expired, still unclaimed');
      await assert.rejects(s.commitBatch({ ...stale, fence: c.token }), isLeaseLost);
      // taken over: the old token is refused, the new one commits
      const d = await takeOver(s, 'worker-d');
      await assert.rejects(s.commitBatch({ ...stale, fence: c.token }), isLeaseLost);
      await assert.rejects(s.commitBatch({ ...stale, fence: d.token + 1 }), isLeaseLost);
      assert.deepEqual(
        {
          checkpoint: (await s.getCheckpoint('c1', 's'))?.value,
          events: (await s.listRuns('c1'))[0].events,
          volume: await s.volume('c1', '2000-01-01T00:00:00.000Z'),
          deadLetters: (await s.listDeadLetters('c1')).length,
        },
        before,
        'a refused commit changes nothing',
      );
      await s.commitBatch(batch({ fence: d.token, checkpoint: { since: 'new' } }));
      assert.deepEqual((await s.getCheckpoint('c1', 's'))?.value, { since: 'new' });
      await s.commitBatch(batch({ checkpoint: { since: 'unfenced' } })); // embedded mode: no lease involved
      assert.deepEqual((await s.getCheckpoint('c1', 's'))?.value, { since: 'unfenced' });
      await s.close();
    });

    it('errors: deduplicated by stream and code, counted, cleared', async () => {
      const s = await withRun();
      const e = {
        type: 'transient' as const,
        code: 'rate_limited',
        message: 'slow',
        action: 'wait',
        status: 429,
      };
      await s.recordError('c1', 's', e);
      await s.recordError('c1', 's', { ...e, message: 'slower' });
      await s.recordError('c1', undefined, { ...e, code: 'destination_unavailable' });
      const errors = await s.listErrors('c1');
      assert.equal(errors.length, 2);
      const rl = errors.find((x) => x.code === 'rate_limited')!;
      assert.equal(rl.count, 2);
      assert.equal(rl.message, 'slower');
      assert.equal(rl.stream, 's');
      assert.equal(rl.status, 429);
      assert.ok(rl.firstSeen <= rl.lastSeen);
      assert.equal(errors.find((x) => x.code === 'destination_unavailable')!.stream, undefined);
      await s.clearErrors('c1');
      assert.deepEqual(await s.listErrors('c1'), []);
      await s.close();
    });

    it('delivery failures: a streak per destination, extended, given up on, ended by an acknowledgement', async () => {
      const s = await withRun();
      await s.putCollector(collector('c2'));
      const down = {
        type: 'transient' as const,
        code: 'destination_unavailable',
        message: 'Destination siem is unavailable (HTTP 503).',
        action: 'Check siem.',
        status: 503,
        destination: 'siem',
      };
      const t = (m: number) => `2026-11-25T10:0${m}:00.000Z`;
      await s.recordDeliveryFailure({ collectorId: 'c1', destination: 'siem', error: down, at: t(1) });
      await s.recordDeliveryFailure({
        collectorId: 'c1',
        destination: 'siem',
        error: { ...down, message: 'Destination siem is unavailable (network error).' },
        at: t(2),
        count: 3,
      });
      await s.recordDeliveryFailure({ collectorId: 'c1', destination: 'lake', error: down, at: t(3) });
      await s.recordDeliveryFailure({ collectorId: 'c2', destination: 'siem', error: down, at: t(3) });
      let [lake, siem] = [...(await s.listDeliveryFailures('c1'))].sort((a, b) =>
        a.destination.localeCompare(b.destination),
      );
      assert.deepEqual(siem, {
        collectorId: 'c1',
        destination: 'siem',
        since: t(1),
        lastAt: t(2),
        failures: 4,
        error: { ...down, message: 'Destination siem is unavailable (network error).' },
      });
      assert.equal(lake!.failures, 1);
      assert.equal(lake!.gaveUpAt, undefined);

      // the run gives up: remembered while later attempts (a next run) keep failing
      await s.recordDeliveryFailure({
        collectorId: 'c1',
        destination: 'siem',
        error: down,
        at: t(4),
        gaveUp: true,
      });
      await s.recordDeliveryFailure({ collectorId: 'c1', destination: 'siem', error: down, at: t(5) });
      siem = (await s.listDeliveryFailures('c1')).find((f) => f.destination === 'siem')!;
      assert.equal(siem.gaveUpAt, t(4));
      assert.equal(siem.since, t(1));
      assert.equal(siem.failures, 6);

      // an acknowledgement ends one destination's streak, then a new one starts afresh
      await s.clearDeliveryFailures('c1', 'siem');
      [lake] = await s.listDeliveryFailures('c1');
      assert.equal(lake!.destination, 'lake');
      assert.equal((await s.listDeliveryFailures('c1')).length, 1);
      await s.recordDeliveryFailure({ collectorId: 'c1', destination: 'siem', error: down, at: t(6) });
      siem = (await s.listDeliveryFailures('c1')).find((f) => f.destination === 'siem')!;
      assert.equal(siem.since, t(6));
      assert.equal(siem.failures, 1);
      assert.equal(siem.gaveUpAt, undefined);
      await s.clearDeliveryFailures('c1');
      assert.deepEqual(await s.listDeliveryFailures('c1'), []);
      assert.equal((await s.listDeliveryFailures('c2')).length, 1, "another collector's streak stays");
      await s.deleteCollector('c2');
      assert.deepEqual(await s.listDeliveryFailures('c2'), [], 'deleted with the collector');
      await s.close();
    });

    it('ingest answers: counted per bucket, status and code; the latest message wins; pruned; deleted with the collector', async () => {
      const s = await makeStore();
      await s.putCollector(collector('c1'));
      await s.putCollector(collector('c2'));
      const b = (m: number) => `2026-11-25T10:${String(m).padStart(2, '0')}:00.000Z`;
      const at = (m: number, sec: number) => `2026-11-25T10:${String(m).padStart(2, '0')}:${sec}0.000Z`;
      await s.recordIngestAnswers([
        {
          collectorId: 'c1',
          bucket: b(0),
          status: 200,
          code: 'accepted',
          requests: 3,
          events: 30,
          lastAt: at(1, 1),
        },
        {
          collectorId: 'c1',
          bucket: b(0),
          status: 429,
          code: 'rate_limited',
          requests: 2,
          events: 0,
          lastAt: at(2, 1),
          message: 'over its rate (first)',
          retryAfter: 4,
        },
        {
          collectorId: 'c2',
          bucket: b(0),
          status: 200,
          code: 'accepted',
          requests: 1,
          events: 1,
          lastAt: at(0, 1),
        },
        // a collector that does not exist (deleted meanwhile): dropped, the rest stored
        {
          collectorId: 'gone',
          bucket: b(0),
          status: 200,
          code: 'accepted',
          requests: 1,
          events: 1,
          lastAt: at(0, 1),
        },
      ]);
      // added to their buckets; an older report does not replace the latest message
      await s.recordIngestAnswers([
        {
          collectorId: 'c1',
          bucket: b(0),
          status: 200,
          code: 'accepted',
          requests: 1,
          events: 5,
          lastAt: at(0, 2),
        },
        {
          collectorId: 'c1',
          bucket: b(0),
          status: 429,
          code: 'rate_limited',
          requests: 1,
          events: 0,
          lastAt: at(3, 0),
          message: 'over its rate (latest)',
          retryAfter: 9,
        },
        {
          collectorId: 'c1',
          bucket: b(0),
          status: 429,
          code: 'rate_limited',
          requests: 0,
          events: 0,
          lastAt: at(0, 0),
          message: 'stale',
          retryAfter: 1,
        },
        {
          collectorId: 'c1',
          bucket: b(5),
          status: 413,
          code: 'body_too_large',
          requests: 1,
          events: 0,
          lastAt: at(6, 0),
          message: 'too large',
        },
      ]);
      const rows = await s.listIngestAnswers('c1', b(0));
      assert.deepEqual(rows, [
        {
          collectorId: 'c1',
          bucket: b(0),
          status: 200,
          code: 'accepted',
          requests: 4,
          events: 35,
          lastAt: at(1, 1),
        },
        {
          collectorId: 'c1',
          bucket: b(0),
          status: 429,
          code: 'rate_limited',
          requests: 3,
          events: 0,
          lastAt: at(3, 0),
          message: 'over its rate (latest)',
          retryAfter: 9,
        },
        {
          collectorId: 'c1',
          bucket: b(5),
          status: 413,
          code: 'body_too_large',
          requests: 1,
          events: 0,
          lastAt: at(6, 0),
          message: 'too large',
        },
      ]);
      assert.deepEqual(
        (await s.listIngestAnswers('c1', b(5))).map((r) => r.code),
        ['body_too_large'],
        'from the given bucket on',
      );
      assert.equal(await s.pruneIngestAnswers(b(5)), 3, 'two of c1, one of c2');
      assert.deepEqual(
        (await s.listIngestAnswers('c1', b(0))).map((r) => r.bucket),
        [b(5)],
      );
      await s.deleteCollector('c1');
      assert.deepEqual(await s.listIngestAnswers('c1', b(0)), [], 'deleted with the collector');
      await s.close();
    });

    it('putAccountAndCollector: both or neither', async () => {
      const s = await makeStore();
      const account = (id: string, name: string) => ({
        id,
        name,
        kind: 'okta',
        config: { url: 'https://acme.okta.com' },
        secrets: { token: 'v1:sealed' },
        createdAt: at,
        updatedAt: at,
      });
      await s.putAccountAndCollector(account('a1', 'okta-main'), {
        ...collector('c1'),
        account: 'okta-main',
      });
      assert.equal((await s.getAccount('okta-main'))?.id, 'a1');
      assert.equal((await s.getCollector('c1'))?.account, 'okta-main');
      // the collector's name is taken: the account is not stored either
      await assert.rejects(
        s.putAccountAndCollector(account('a2', 'okta-second'), {
          ...collector('c9', 'c1'),
          account: 'okta-second',
        }),
      );
      assert.equal(await s.getAccount('okta-second'), undefined);
      assert.equal(await s.getCollector('c9'), undefined);
      // the account's name is taken: the collector is not stored either
      await assert.rejects(
        s.putAccountAndCollector(account('a3', 'okta-main'), {
          ...collector('c3', 'new-one'),
          account: 'okta-main',
        }),
      );
      assert.equal(await s.getCollector('new-one'), undefined);
      assert.equal((await s.getAccount('okta-main'))?.id, 'a1', 'the stored account is unchanged');
      await s.close();
    });

    it('vendor waits: per account, the later time wins, deleted with the account', async () => {
      const s = await makeStore();
      const account = (id: string) => ({
        id,
        name: `acc-${id}`,
        kind: 'okta',
        config: {},
        secrets: {},
        createdAt: at,
        updatedAt: at,
      });
      await s.putAccount(account('a1'));
      await s.putAccount(account('a2'));
      const limited = {
        type: 'transient' as const,
        code: 'rate_limited',
        message: 'Okta rate limit reached (429).',
        action: 'Wait.',
        status: 429,
        waitUntil: '2026-11-25T11:00:00.000Z',
      };
      assert.equal(await s.getVendorWait('a1'), undefined);
      await s.putVendorWait({
        accountId: 'a1',
        until: '2026-11-25T11:00:00.000Z',
        error: limited,
        collector: 'okta-logs',
        at,
      });
      assert.deepEqual(await s.getVendorWait('a1'), {
        accountId: 'a1',
        until: '2026-11-25T11:00:00.000Z',
        error: limited,
        collector: 'okta-logs',
        at,
      });
      // a shorter wait told later (another collector) does not shorten it; a longer one extends it
      await s.putVendorWait({ accountId: 'a1', until: '2026-11-25T10:30:00.000Z', error: limited, at });
      assert.equal((await s.getVendorWait('a1'))!.until, '2026-11-25T11:00:00.000Z');
      await s.putVendorWait({
        accountId: 'a1',
        until: '2026-11-25T12:00:00.000Z',
        error: { ...limited, message: 'longer' },
        at,
      });
      const w = (await s.getVendorWait('a1'))!;
      assert.equal(w.until, '2026-11-25T12:00:00.000Z');
      assert.equal(w.error.message, 'longer');
      assert.equal(w.collector, undefined);
      assert.equal(await s.getVendorWait('a2'), undefined, 'per account');
      await s.deleteAccount('acc-a1');
      assert.equal(await s.getVendorWait('a1'), undefined, 'deleted with the account');
      await s.close();
    });

    it('settings: get, set, overwrite', async () => {
      const s = await makeStore();
      assert.equal(await s.getSetting('earlyAccess'), undefined);
      await s.setSetting('earlyAccess', 'true');
      await s.setSetting('earlyAccess', 'false');
      assert.equal(await s.getSetting('earlyAccess'), 'false');
      await s.close();
    });

    it('sites: put (idempotent), list, rename updates collectors, delete', async () => {
      const s = await makeStore();
      await s.putSite('hq');
      await s.putSite('hq');
      await s.putSite('branch');
      assert.deepEqual(
        (await s.listSites()).map((x) => x.name),
        ['branch', 'hq'],
      );
      await s.putCollector({ ...collector('c1'), config: { interval: '1m', site: 'hq' } });
      await s.putCollector({ ...collector('c2'), config: { interval: '1m', site: 'branch' } });
      assert.equal(await s.renameSite('hq', 'head-office'), true);
      assert.equal(await s.renameSite('nope', 'x'), false);
      assert.equal((await s.getCollector('c1'))!.config.site, 'head-office');
      assert.equal((await s.getCollector('c1'))!.config.interval, '1m');
      assert.equal((await s.getCollector('c2'))!.config.site, 'branch');
      assert.equal(await s.deleteSite('branch'), true);
      assert.equal(await s.deleteSite('branch'), false);
      assert.deepEqual(
        (await s.listSites()).map((x) => x.name),
        ['head-office'],
      );
      await s.close();
    });

    it('destinations: put, get, list, update, delete', async () => {
      const s = await makeStore();
      const d = {
        id: 'd1',
        name: 'siem',
        kind: 'http',
        config: { url: 'https://siem.example/ingest', auth: { type: 'bearer' } },
        secrets: { 'auth.token': 'v1:sealed' },
        createdAt: at,
        updatedAt: at,
      };
      await s.putDestination(d);
      assert.deepEqual(await s.getDestination('siem'), d);
      await s.putDestination({
        ...d,
        config: { url: 'https://other' },
        updatedAt: '2026-11-25T11:00:00.000Z',
      });
      assert.deepEqual((await s.getDestination('siem'))!.config, { url: 'https://other' });
      assert.equal((await s.listDestinations()).length, 1);
      assert.equal(await s.deleteDestination('siem'), true);
      assert.equal(await s.getDestination('siem'), undefined);
      await s.close();
    });

    it('users, sessions and API tokens; deleting a user removes its sessions and tokens', async () => {
      const s = await makeStore();
      const u = {
        id: 'u1',
        username: 'alice',
        passwordHash: 'scrypt$x',
        role: 'editor' as const,
        disabled: false,
        createdAt: at,
        updatedAt: at,
      };
      await s.putUser(u);
      assert.deepEqual(await s.getUser('u1'), u);
      assert.deepEqual(await s.getUserByName('alice'), u);
      await s.putUser({ ...u, role: 'admin', lastLoginAt: at });
      assert.equal((await s.getUser('u1'))!.role, 'admin');
      assert.equal((await s.getUser('u1'))!.lastLoginAt, at);
      const session = {
        id: 'h1',
        userId: 'u1',
        csrfToken: 'c',
        createdAt: at,
        expiresAt: at,
        ip: '127.0.0.1',
      };
      await s.putSession(session);
      assert.deepEqual(await s.getSession('h1'), session);
      await s.deleteSession('h1');
      assert.equal(await s.getSession('h1'), undefined);
      await s.putSession(session);
      await s.deleteUserSessions('u1');
      assert.equal(await s.getSession('h1'), undefined);
      const token = { id: 't1', name: 'ci', userId: 'u1', hash: 'abc', last4: 'wxyz', createdAt: at };
      await s.putApiToken(token);
      assert.deepEqual(await s.getApiTokenByHash('abc'), token);
      await s.putApiToken({ ...token, revokedAt: at, lastUsedAt: at });
      assert.equal((await s.getApiToken('t1'))!.revokedAt, at);
      assert.equal((await s.listApiTokens('u1')).length, 1);
      assert.equal((await s.listApiTokens('nobody')).length, 0);
      const scoped = { ...token, id: 't2', hash: 'def', scopes: ['metrics' as const] };
      await s.putApiToken(scoped);
      assert.deepEqual(await s.getApiTokenByHash('def'), scoped, 'scopes are kept');
      assert.equal((await s.getApiToken('t1'))!.scopes, undefined, 'an unscoped token has none');
      await s.putSession(session);
      assert.equal(await s.deleteUser('u1'), true);
      assert.equal(await s.getSession('h1'), undefined);
      assert.equal(await s.getApiToken('t1'), undefined);
      assert.deepEqual(await s.listUsers(), []);
      await s.close();
    });

    const limit = (key: string, over: Partial<AttemptLimit> = {}): AttemptLimit => ({
      key,
      free: 3,
      baseMs: 600_000,
      capMs: 900_000,
      forgetMs: 3_600_000,
      ...over,
    });
    /** Attempts until one is refused (at most `max`): how many were granted. */
    async function grantsUntilRefused(s: Store, limits: () => AttemptLimit[], max = 50): Promise<number> {
      for (let n = 0; n < max; n++) if (!(await s.takeLoginAttempt(limits())).granted) return n;
      return max;
    }
    /** Retries an attempt until the lock in its way has expired, within a deadline. */
    async function grantedOnceUnlocked(s: Store, limits: AttemptLimit[]) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const d = await s.takeLoginAttempt(limits);
        if (d.granted) return d;
        if (Date.now() > deadline) throw new Error('the lock never expired');
        await new Promise((r) => setTimeout(r, Math.min(d.retryAfterMs, 20)));
      }
    }

    it('login attempts: the free ones are granted, then the key is locked and nothing more is counted', async () => {
      const s = await makeStore();
      const limits = [limit('user:a')];
      assert.equal(await grantsUntilRefused(s, () => limits), 3);
      const refused = await s.takeLoginAttempt(limits);
      assert.equal(refused.granted, false);
      if (!refused.granted) assert.ok(refused.retryAfterMs > 590_000 && refused.retryAfterMs <= 600_000);
      assert.equal((await s.takeLoginAttempt([limit('user:b')])).granted, true, 'other keys are their own');
      await s.clearLoginAttempts('user:a');
      assert.equal(await grantsUntilRefused(s, () => limits), 3, 'cleared: the free attempts again');
      await s.close();
    });

    it('login attempts: each lockout past the allowance doubles, up to the cap', async () => {
      const s = await makeStore();
      const limits = [limit('addr:x', { free: 1, baseMs: 150, capMs: 600 })];
      const waits: number[] = [];
      await s.takeLoginAttempt(limits); // the free one: locked for 150 ms from here
      for (let i = 0; i < 3; i++) {
        const d = await s.takeLoginAttempt(limits);
        assert.equal(d.granted, false);
        if (!d.granted) waits.push(d.retryAfterMs);
        await grantedOnceUnlocked(s, limits);
      }
      const last = await s.takeLoginAttempt(limits);
      assert.equal(last.granted, false);
      if (!last.granted) waits.push(last.retryAfterMs);
      // 150, 300, 600, 600 (capped), each measured just after the attempt that set it
      assert.ok(waits[0]! <= 150 && waits[0]! > 100, `${waits}`);
      assert.ok(waits[1]! <= 300 && waits[1]! > 150, `${waits}`);
      assert.ok(waits[2]! <= 600 && waits[2]! > 300, `${waits}`);
      assert.ok(waits[3]! <= 600 && waits[3]! > 300, `${waits}`);
      await s.close();
    });

    it('login attempts: concurrent attempts are counted atomically, never more than the allowance granted', async () => {
      const s = await makeStore();
      const limits = [limit('user:a', { free: 5 }), limit('addr:127.0.0.1', { free: 8 })];
      const results = await Promise.all(Array.from({ length: 30 }, () => s.takeLoginAttempt(limits)));
      assert.equal(results.filter((d) => d.granted).length, 5);
      await s.close();
    });

    it('login attempts: a refused attempt counts against none of its keys', async () => {
      const s = await makeStore();
      const user = limit('user:a', { free: 10 });
      assert.equal(await grantsUntilRefused(s, () => [user, limit('addr:a', { free: 2 })]), 2);
      for (let i = 0; i < 5; i++)
        assert.equal((await s.takeLoginAttempt([user, limit('addr:a', { free: 2 })])).granted, false);
      let n = 0;
      // from fresh addresses: the user has 10 − 2 attempts left, the refused ones not counted
      assert.equal(await grantsUntilRefused(s, () => [user, limit(`addr:b${n++}`, { free: 2 })]), 8);
      await s.close();
    });

    it('login attempts: releasing takes the attempt back and lifts the lock it set', async () => {
      const s = await makeStore();
      const limits = [limit('addr:a', { free: 2 })];
      assert.equal((await s.takeLoginAttempt(limits)).granted, true);
      const second = await s.takeLoginAttempt(limits);
      assert.ok(second.granted);
      assert.equal((await s.takeLoginAttempt(limits)).granted, false, 'locked by the second');
      await s.releaseLoginAttempt(second.reservation);
      assert.equal(await grantsUntilRefused(s, () => limits), 1, 'one attempt left, as before the second');
      await s.close();
    });

    it('login attempts: idle, unlocked counters are pruned', async () => {
      const s = await makeStore();
      await s.takeLoginAttempt([limit('user:idle', { free: 5 })]);
      await s.takeLoginAttempt([limit('user:locked', { free: 1 })]);
      // Idle means last updated before now: let the clock's millisecond move past the updates.
      const updated = Date.now();
      while (Date.now() <= updated) await new Promise((r) => setImmediate(r));
      assert.equal(await s.pruneLoginAttempts(3_600_000), 0, 'nothing idle for an hour');
      assert.equal(await s.pruneLoginAttempts(0), 1, 'the locked one stays');
      assert.equal((await s.takeLoginAttempt([limit('user:locked', { free: 1 })])).granted, false);
      await s.close();
    });

    it('unknown-user sign-ins: one audit entry per address and window, with the count', async () => {
      const s = await makeStore();
      const windowMs = 300;
      for (let i = 0; i < 3; i++) await s.countUnknownLogin('10.0.0.1', windowMs);
      await s.countUnknownLogin('10.0.0.2', windowMs);
      const entries = () => s.listAudit({ action: 'user.login-failed-unknown' });
      assert.equal(await s.flushUnknownLogins(windowMs), 0, 'the windows are still open');
      const deadline = Date.now() + 10_000;
      let flushed = 0;
      while (flushed < 2 && Date.now() < deadline) {
        flushed += await s.flushUnknownLogins(windowMs);
        await new Promise((r) => setTimeout(r, 20));
      }
      const rows = await entries();
      assert.deepEqual(rows.map((r) => [r.ip, r.actor, (r.after as { attempts: number }).attempts]).sort(), [
        ['10.0.0.1', '(anonymous)', 3],
        ['10.0.0.2', '(anonymous)', 1],
      ]);
      // a failure after the window closed writes the window's entry itself and opens the next one
      let calls = 0;
      while ((await entries()).length === 2 && Date.now() < deadline) {
        await s.countUnknownLogin('10.0.0.1', windowMs);
        calls++;
        await new Promise((r) => setTimeout(r, 20));
      }
      const next = (await entries())[0]!;
      assert.equal(next.ip, '10.0.0.1');
      assert.equal((next.after as { attempts: number }).attempts, calls - 1);
      assert.equal(await s.flushUnknownLogins(0), 1, 'the open window, flushed on demand');
      await s.close();
    });

    it('audit log: append, query newest first with filters and paging', async () => {
      const s = await makeStore();
      for (let i = 0; i < 5; i++) {
        await s.appendAudit({
          at: `2026-11-25T10:0${i}:00.000Z`,
          actor: i % 2 ? 'bob' : 'alice',
          action: i < 3 ? 'collector.create' : 'account.update',
          targetType: i < 3 ? 'collector' : 'account',
          target: `t${i}`,
          ip: '127.0.0.1',
          before: i ? { n: i - 1 } : undefined,
          after: { n: i },
        });
      }
      const all = await s.listAudit();
      assert.deepEqual(
        all.map((a) => a.target),
        ['t4', 't3', 't2', 't1', 't0'],
      );
      assert.equal(all[4]!.before, undefined);
      assert.deepEqual(all[0]!.after, { n: 4 });
      assert.deepEqual(
        (await s.listAudit({ actor: 'bob' })).map((a) => a.target),
        ['t3', 't1'],
      );
      assert.deepEqual(
        (await s.listAudit({ action: 'collector.create', limit: 2 })).map((a) => a.target),
        ['t2', 't1'],
      );
      assert.deepEqual(
        (await s.listAudit({ beforeId: all[1]!.id, since: '2026-11-25T10:01:00.000Z' })).map((a) => a.target),
        ['t2', 't1'],
      );
      assert.deepEqual(
        (await s.listAudit({ until: '2026-11-25T10:01:00.000Z', targetType: 'collector' })).map(
          (a) => a.target,
        ),
        ['t0'],
      );
      await s.close();
    });
  });
}
