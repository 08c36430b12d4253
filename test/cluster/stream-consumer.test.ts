import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { startBoss } from '../../src/cluster/boss.ts';
import { Worker } from '../../src/cluster/worker.ts';
import { parseConfig } from '../../src/config/config-file.ts';
import { CONFIG_FILE } from '../../src/control/service.ts';
import type { Destination } from '../../src/core/destination.ts';
import { defineSource } from '../../src/core/source.ts';
import type { PartitionCommit, Store } from '../../src/core/store.ts';
import { silentLogger } from '../../src/engine/log.ts';
import {
  consumerStream,
  consumeStream,
  type StreamConsumerOptions,
} from '../../src/engine/stream-consumer.ts';
import { EventHubSim } from '../../src/sim/event-hub.ts';
import { sources } from '../../src/sources/index.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { eventHubSource, eventId } from '../sources/stream-test.ts';
import { sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';
import { freshSchemas, postgresUnavailable, requirePostgres, testDatabaseUrl } from '../support/postgres.ts';
import { tempDirs } from '../support/temp-dirs.ts';
import { memoryLogger, openControl, randomKey, Sink, until } from './support.ts';

/**
 * The stream consumer in cluster mode (docs/architecture.md, "Stream consumers"): two consumers — two
 * processes' worth of store connections on one real Postgres schema — split a hub's partitions, one
 * stopping hands its partitions to the other with nothing lost and nothing read twice, and a consumer
 * paused past its lease cannot commit once the other took its partition over (fenced).
 */

const unavailable = await postgresUnavailable();
if (unavailable) requirePostgres(unavailable);
else {
  const schemas = freshSchemas();
  const opened: PostgresStore[] = [];
  after(() => Promise.all(opened.map((s) => s.close().catch(() => {}))));

  /** Two stores on one fresh schema, as two workers would have. */
  async function cluster(): Promise<[PostgresStore, PostgresStore]> {
    const schema = schemas();
    const a = await PostgresStore.open({ connectionString: testDatabaseUrl, schema, poolSize: 3 });
    opened.push(a);
    await a.migrate();
    const b = await PostgresStore.open({ connectionString: testDatabaseUrl, schema, poolSize: 3 });
    opened.push(b);
    const at = new Date().toISOString();
    await a.putCollector({
      id: 'c-hub',
      name: 'hub',
      source: 'stream-test',
      config: {},
      enabled: true,
      secrets: {},
      createdAt: at,
      updatedAt: at,
    });
    return [a, b];
  }

  /** Every commit the store accepted or refused, in order, per consumer. */
  const commits: Array<{ owner: string; partition: string; token: number; position: unknown; ok: boolean }> =
    [];
  function recording(s: Store, owner: string): Store {
    const commit = s.commitPartition.bind(s);
    return Object.assign(Object.create(s), {
      commitPartition: async (p: PartitionCommit) => {
        try {
          await commit(p);
          commits.push({ owner, partition: p.partition, token: p.token, position: p.position, ok: true });
        } catch (err) {
          commits.push({ owner, partition: p.partition, token: p.token, position: p.position, ok: false });
          throw err;
        }
      },
    }) as Store;
  }

  function start(
    store: Store,
    sim: EventHubSim,
    owner: string,
    dest: Destination,
    over: Partial<StreamConsumerOptions> = {},
  ) {
    const stop = new AbortController();
    let owned: string[] = [];
    const done = consumeStream({
      target: { id: 'c-hub', name: 'hub', source: 'stream-test', stream: 'events', destinations: [dest] },
      source: eventHubSource(sim),
      store,
      owner,
      log: silentLogger,
      stop: stop.signal,
      leaseTtlMs: 2000,
      idleMs: 20,
      errorBackoffMs: 20,
      maxRecords: 10,
      destinationBackoff: { baseMs: 1, maxMs: 5 },
      onOwnership: (p) => {
        owned = p;
      },
      ...over,
    });
    return { stop: () => stop.abort(), done, owned: () => owned };
  }

  const duplicates = (ids: string[]) => {
    const seen = new Set<string>();
    return ids.filter((id) => {
      if (seen.has(id)) return true;
      seen.add(id);
      return false;
    });
  };
  const hubIds = (sim: EventHubSim) => sim.all().map((e) => eventId('hub1', e.partition, e.sequenceNumber));

  /** Accepted commits never go back, and every partition's accepted commits come from one owner per token. */
  function assertNoDoubleOwnership(): void {
    const last = new Map<string, { token: number; position: number; owner: string }>();
    for (const c of commits.filter((x) => x.ok)) {
      const prev = last.get(c.partition);
      if (prev) {
        assert.ok(
          c.token >= prev.token,
          `partition ${c.partition}: a commit with an older token was accepted`,
        );
        if (c.token === prev.token)
          assert.equal(c.owner, prev.owner, `partition ${c.partition}: one owner per token`);
        assert.ok(
          (c.position as number) > prev.position,
          `partition ${c.partition}: the position only moves forward`,
        );
      }
      last.set(c.partition, { token: c.token, position: c.position as number, owner: c.owner });
    }
  }

  describe('stream consumer in cluster mode (Postgres)', () => {
    it('two consumers split the partitions; one stopping hands its partitions over with no loss and nothing read twice', async () => {
      commits.length = 0;
      const [sa, sb] = await cluster();
      const sim = new EventHubSim({ partitions: 4 });
      sim.send(Array.from({ length: 80 }, (_, i) => ({ n: i })));
      const dest = new MemoryDestination();
      const a = start(recording(sa, 'a'), sim, 'a', dest);
      const b = start(recording(sb, 'b'), sim, 'b', dest);
      await until('an even split', () => a.owned().length === 2 && b.owned().length === 2, 15_000, 10);
      assert.deepEqual(
        sorted([...a.owned(), ...b.owned()]),
        ['0', '1', '2', '3'],
        'each partition has one owner',
      );
      const owners = await sa.listPartitions('c-hub', 'events');
      assert.deepEqual(owners.map((p) => p.owner).sort(), ['a', 'a', 'b', 'b']);
      await until('the first drain', () => dest.ids().length >= 80, 15_000, 10);
      // more events while a stops: its partitions move to b after its batch in flight is committed
      sim.send(Array.from({ length: 80 }, (_, i) => ({ m: i })));
      a.stop();
      assert.equal((await a.done).status, 'succeeded');
      await until('b owns every partition', () => b.owned().length === 4, 15_000, 10);
      await until('the second drain', () => new Set(dest.ids()).size >= 160, 15_000, 10);
      b.stop();
      await b.done;
      assert.deepEqual(sorted(dest.ids()), sorted(hubIds(sim)), 'no loss');
      assert.deepEqual(duplicates(dest.ids()), [], 'a graceful hand-over reads nothing twice');
      assert.ok(commits.some((c) => c.owner === 'a') && commits.some((c) => c.owner === 'b'));
      assert.deepEqual(
        commits.filter((c) => !c.ok),
        [],
      );
      assertNoDoubleOwnership();
      const final = await sb.listPartitions('c-hub', 'events');
      assert.deepEqual(
        final.map((p) => [p.partition, p.owner, p.position]),
        [
          ['0', undefined, 39],
          ['1', undefined, 39],
          ['2', undefined, 39],
          ['3', undefined, 39],
        ],
      );
      assert.deepEqual(await sa.listStreamMembers('c-hub', 'events'), [], 'both left');
    });

    it('a consumer paused past its lease: the other takes its partition over and the stale commit is refused', async () => {
      commits.length = 0;
      const [sa, sb] = await cluster();
      const sim = new EventHubSim({ partitions: 2 });
      const dest = new MemoryDestination();
      // a's process pauses: its renewals and announcements stop arriving, its delivery hangs
      let paused = false;
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let inFlight: string[] = [];
      const aStore = recording(sa, 'a');
      const renew = aStore.renewPartition.bind(aStore);
      const join = aStore.joinStream.bind(aStore);
      Object.assign(aStore, {
        renewPartition: async (...args: Parameters<Store['renewPartition']>) => {
          if (!paused) return renew(...args);
          // as the paused process sees it: renewed (the request never reaches the database)
          return { collectorId: args[0], stream: args[1], partition: args[2], token: args[3], updatedAt: '' };
        },
        joinStream: async (...args: Parameters<Store['joinStream']>) => (paused ? undefined : join(...args)),
      });
      const aDest: Destination = {
        name: 'a-dest',
        kind: 'memory',
        send: async (events) => {
          if (paused) {
            inFlight = events.map((e) => e.id);
            await dest.send(events); // written; the acknowledgement is what hangs
            await gate;
            return;
          }
          return dest.send(events);
        },
        close: async () => {},
      };
      // a short lease, so the takeover comes soon after the pause
      const a = start(aStore, sim, 'a', aDest, { leaseTtlMs: 1000 });
      const b = start(recording(sb, 'b'), sim, 'b', dest, { leaseTtlMs: 1000 });
      await until('an even split', () => a.owned().length === 1 && b.owned().length === 1, 15_000, 10);
      const aPartition = a.owned()[0];
      paused = true;
      sim.send(
        Array.from({ length: 5 }, (_, i) => ({ n: i })),
        aPartition,
      );
      sim.send(
        Array.from({ length: 5 }, (_, i) => ({ n: i })),
        b.owned()[0],
      );
      await until("a's batch in flight", () => inFlight.length === 5, 15_000, 10);
      await until("b takes a's partition over", () => b.owned().length === 2, 15_000, 10);
      await until("b delivers a's partition", () => new Set(dest.ids()).size === 10, 15_000, 10);
      const taken = (await sb.listPartitions('c-hub', 'events')).find((p) => p.partition === aPartition)!;
      assert.equal(taken.owner, 'b');
      assert.ok(taken.token >= 2, 'a new token');
      release(); // a wakes up and tries to commit its batch
      await until("a's commit is refused", () => commits.some((c) => c.owner === 'a' && !c.ok), 15_000, 10);
      await until('a lets the partition go', () => !a.owned().includes(aPartition), 15_000, 10);
      paused = false;
      sim.send(Array.from({ length: 6 }, (_, i) => ({ later: i })));
      await until('the later events', () => new Set(dest.ids()).size === 16, 15_000, 10);
      a.stop();
      b.stop();
      await Promise.all([a.done, b.done]);
      const refused = commits.filter((c) => !c.ok);
      assert.deepEqual(
        refused.map((c) => [c.owner, c.partition]),
        [['a', aPartition]],
        'exactly the stale commit was refused',
      );
      assert.deepEqual(sorted([...new Set(dest.ids())]), sorted(hubIds(sim)), 'no loss');
      for (const d of duplicates(dest.ids()))
        assert.ok(inFlight.includes(d), `duplicate ${d} is from a's batch in flight`);
      assertNoDoubleOwnership();
      const p = (await sb.listPartitions('c-hub', 'events')).find((x) => x.partition === aPartition)!;
      assert.ok((p.position as number) >= 4, "the partition's position is b's, past a's batch");
    });

    it('workers: each consumes the collector, they split its partitions, and a stopping worker hands its partitions over', async (t) => {
      const sim = new EventHubSim({ partitions: 4 });
      sim.send(Array.from({ length: 40 }, (_, i) => ({ n: i })));
      sources['stream-test'] = defineSource({
        id: 'stream-test',
        title: 'Stream test',
        account: 'none',
        stability: 'ga',
        family: 'queue',
        description: 'test only',
        setupGuide: '',
        settings: z.object({}),
        test: async () => {},
        streams: { hub: consumerStream({ title: 'Hub', consume: () => eventHubSource(sim) }) },
      });
      t.after(() => {
        delete sources['stream-test'];
      });
      const sink = new Sink();
      await sink.start();
      const schema = schemas();
      const key = randomKey();
      const log = memoryLogger();
      const dirs = tempDirs('tributary-consumer-workers');
      const one = await openControl(schema, dirs(), key, log);
      const two = await openControl(schema, dirs(), key, log);
      await one.control.apply(
        CONFIG_FILE,
        parseConfig(
          JSON.stringify({
            accounts: { open: { kind: 'none' } },
            destinations: { sink: sink.destination() },
            collectors: { hub: { source: 'stream-test', account: 'open', destinations: ['sink'] } },
          }),
          { baseDir: dirs(), env: {} },
        ),
      );
      const opts = {
        pollMs: 50,
        tickMs: 50,
        leaseTtlMs: 1500,
        consumerSyncMs: 50,
        consumer: { leaseTtlMs: 1500, idleMs: 20 },
      };
      const bossA = await startBoss(one.store, { log });
      const bossB = await startBoss(two.store, { log });
      const a = new Worker(one.runtime, bossA, { ...opts, id: 'worker-a' });
      const b = new Worker(two.runtime, bossB, { ...opts, id: 'worker-b' });
      t.after(async () => {
        await a.stop(1000);
        await b.stop(1000);
        await bossA.stop({ graceful: false, close: false });
        await bossB.stop({ graceful: false, close: false });
        await one.runtime.close();
        await two.runtime.close();
      });
      a.start();
      b.start();
      const id = (await one.store.getCollector('hub'))!.id;
      const owners = async () =>
        (await one.store.listPartitions(id, 'hub')).map((p) => p.owner ?? '-').sort();
      await until(
        'an even split between the workers',
        async () => (await owners()).join() === 'worker-a,worker-a,worker-b,worker-b',
        20_000,
        20,
      );
      await until('the hub drained', () => (sink.ids.get('hub') ?? []).length >= 40, 20_000, 20);
      sim.send(Array.from({ length: 40 }, (_, i) => ({ m: i })));
      await a.stop(5000);
      await until(
        'worker b owns every partition',
        async () => (await owners()).join() === 'worker-b,worker-b,worker-b,worker-b',
        20_000,
        20,
      );
      await until(
        'the events sent during the hand-over',
        () => new Set(sink.ids.get('hub') ?? []).size >= 80,
        20_000,
        20,
      );
      const ids = sink.ids.get('hub') ?? [];
      assert.deepEqual(sorted([...new Set(ids)]), sorted(hubIds(sim)), 'no loss');
      assert.deepEqual(duplicates(ids), [], 'a graceful hand-over reads nothing twice');
      assert.equal(b.stats.runs, 0, 'no bounded run of a collector whose streams are all long-running');
      // stopping the collector stops its consumers: the partitions are released
      const record = (await one.store.getCollector('hub'))!;
      await one.store.putCollector({ ...record, enabled: false });
      await until(
        'the partitions released',
        async () => (await owners()).every((o) => o === '-'),
        20_000,
        20,
      );
      // the consumer releases its partitions, then ends: the worker forgets it once it has ended
      await until('the worker consumes nothing', () => b.consuming().length === 0, 20_000, 20);
      assert.deepEqual(b.consuming(), []);
    });
  });
}
