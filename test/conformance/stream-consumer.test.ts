import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Runtime } from '../../src/app/runtime.ts';
import { Scheduler } from '../../src/app/scheduler.ts';
import { parseConfig } from '../../src/config/config-file.ts';
import { CONFIG_FILE, Control } from '../../src/control/service.ts';
import type { Destination } from '../../src/core/destination.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { defineSource } from '../../src/core/source.ts';
import type { Store } from '../../src/core/store.ts';
import { silentLogger } from '../../src/engine/log.ts';
import {
  type ConsumerSource,
  consumerStream,
  consumeStream,
  type StreamConsumerOptions,
} from '../../src/engine/stream-consumer.ts';
import { EventHubSim } from '../../src/sim/event-hub.ts';
import { ManualClock } from '../../src/sim/kit.ts';
import { ObjectStoreSim } from '../../src/sim/object-store.ts';
import { sources } from '../../src/sources/index.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { eventHubSource, eventId, sqsSource } from '../sources/stream-test.ts';
import { consumerStores, until } from '../support/consumer.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Conformance of the stream consumer (docs/architecture.md, "Stream consumers") in one process on the
 * embedded store, with TEST sources on the Event Hubs and SQS simulators: positions (offsets) commit only
 * after delivery, a crash between delivery and commit redelivers with the same ids and loses nothing, a
 * destination outage holds the commits (and acks), and new events keep flowing to a running consumer.
 * Cluster mode (two consumers on Postgres, hand-over, fencing) is test/cluster/stream-consumer.test.ts.
 */

const store = consumerStores('tributary-consumer', { id: 'c-st', name: 'st', source: 'stream-test' });
/** Data directories of the runtime test (its store is closed there). */
const fresh = tempDirs('tributary-consumer-runtime');
const stores: SqliteStore[] = [];
after(() => Promise.all(stores.map((s) => s.close())));

function start(
  s: Store,
  source: ConsumerSource,
  destinations: Destination[],
  over: Partial<StreamConsumerOptions> = {},
) {
  const stop = new AbortController();
  const kill = new AbortController();
  const done = consumeStream({
    target: { id: 'c-st', name: 'st', source: 'stream-test', stream: 'hub', destinations },
    source,
    store: s,
    owner: over.owner ?? 'w1',
    log: silentLogger,
    stop: stop.signal,
    signal: kill.signal,
    leaseTtlMs: 2000,
    idleMs: 10,
    errorBackoffMs: 10,
    maxRecords: 7,
    destinationBackoff: { baseMs: 1, maxMs: 5 },
    ...over,
  });
  return { stop: () => stop.abort(), kill: () => kill.abort(), done };
}

const hubIds = (sim: EventHubSim) => sim.all().map((e) => eventId('hub1', e.partition, e.sequenceNumber));

describe('conformance: stream consumer, partitions (Event Hubs simulator, embedded store)', () => {
  it('delivers every partition, commits each position only after delivery, and keeps consuming new events', async () => {
    const s = await store();
    const sim = new EventHubSim({ partitions: 3 });
    sim.send(Array.from({ length: 60 }, (_, i) => ({ n: i })));
    const acked = new Set<string>();
    const dest: Destination = {
      name: 'd',
      kind: 'memory',
      send: async (events: Envelope[]) => {
        await new Promise((r) => setImmediate(r));
        for (const e of events) acked.add(e.id);
      },
      close: async () => {},
    };
    const early: string[] = [];
    const commit = s.commitPartition.bind(s);
    s.commitPartition = async (p) => {
      // every event of the partition up to the position must be acknowledged before the position moves
      for (let q = 0; q <= (p.position as number); q++)
        if (!acked.has(eventId('hub1', p.partition, q))) early.push(`${p.partition}/${q}`);
      return commit(p);
    };
    const c = start(s, eventHubSource(sim), [dest]);
    await until('the first events', () => acked.size === 60);
    sim.send(Array.from({ length: 10 }, (_, i) => ({ late: i })));
    await until('events sent while running', () => acked.size === 70);
    c.stop();
    const res = await c.done;
    assert.equal(res.status, 'succeeded');
    assert.equal(res.events, 70);
    assert.deepEqual(early, [], 'no position committed before its events were acknowledged');
    const parts = await s.listPartitions('c-st', 'hub');
    assert.deepEqual(
      parts.map((p) => [p.partition, p.position, p.owner]),
      [
        ['0', 23, undefined],
        ['1', 22, undefined],
        ['2', 22, undefined],
      ],
      'positions at the last sequence number of each partition; released on stop',
    );
    const [run] = await s.listRuns('c-st');
    assert.equal(run.status, 'succeeded');
    assert.equal(run.events, 70);
  });

  it('a crash between delivery and commit: the next consumer redelivers the batch in flight with the same ids, nothing lost', async () => {
    // 2 partitions of 20 events, read 7 at a time: 6 batches, and a crash at each
    for (let k = 1; k <= 6; k++) {
      for (const written of [false, true]) {
        const s = await store();
        const sim = new EventHubSim({ partitions: 2 });
        sim.send(Array.from({ length: 40 }, (_, i) => ({ n: i })));
        const dest = new MemoryDestination();
        let inFlight: string[] = [];
        let c: ReturnType<typeof start>;
        let sends = 0;
        const crashing: Destination = {
          name: 'crashing',
          kind: 'memory',
          send: async (events) => {
            if (++sends === k) {
              if (written) await dest.send(events);
              inFlight = events.map((e) => e.id);
              c.kill();
              throw new Error('process killed');
            }
            return dest.send(events);
          },
          close: async () => {},
        };
        c = start(s, eventHubSource(sim), [crashing], { owner: 'first' });
        const first = await c.done;
        assert.equal(first.status, 'cancelled');
        // A second process takes the partitions over once the killed one's leases lapse.
        const next = start(s, eventHubSource(sim), [crashing], { owner: 'second' });
        await until('a full drain', () => new Set(dest.ids()).size === 40);
        next.stop();
        await next.done;
        assert.deepEqual(
          sorted([...new Set(dest.ids())]),
          sorted(hubIds(sim)),
          `crash at batch ${k}: no loss`,
        );
        const dups = duplicates(dest.ids());
        if (!written) assert.deepEqual(dups, [], `crash at batch ${k} before the write: no duplicates`);
        else
          for (const d of dups) assert.ok(inFlight.includes(d), `duplicate ${d} is from the batch in flight`);
      }
    }
  });

  it('a destination outage holds the positions; everything arrives once it is back', async () => {
    const s = await store();
    const sim = new EventHubSim({ partitions: 2 });
    sim.send(Array.from({ length: 20 }, (_, i) => ({ n: i })));
    const dest = new MemoryDestination();
    let down = true;
    let failures = 0;
    const flaky: Destination = {
      name: 'flaky',
      kind: 'memory',
      send: async (events) => {
        if (down) {
          failures++;
          throw new Error('connection refused');
        }
        return dest.send(events);
      },
      close: async () => {},
    };
    const c = start(s, eventHubSource(sim), [flaky], { destinationMaxWaitMs: 20 });
    await until('several failed deliveries', () => failures >= 10);
    const during = await s.listPartitions('c-st', 'hub');
    assert.ok(
      during.every((p) => p.position === undefined),
      'no position moved while the destination was down',
    );
    assert.ok((await s.listDeliveryFailures('c-st')).length > 0, 'health sees the failing destination');
    down = false;
    await until('the drain after the outage', () => dest.ids().length >= 20);
    c.stop();
    await c.done;
    assert.deepEqual(sorted(dest.ids()), sorted(hubIds(sim)));
  });

  it('a position past the retention is a gap warning, and reading goes on from the oldest event kept', async () => {
    const s = await store();
    const sim = new EventHubSim({ partitions: 1 });
    sim.send(Array.from({ length: 5 }, (_, i) => ({ n: i })));
    const dest = new MemoryDestination();
    let c = start(s, eventHubSource(sim), [dest]);
    await until('the first events', () => dest.ids().length === 5);
    c.stop();
    await c.done;
    sim.send(Array.from({ length: 10 }, (_, i) => ({ m: i })));
    sim.trim('0', 9); // sequence numbers 0-8 are gone; 5-8 were never read
    c = start(s, eventHubSource(sim), [dest]);
    await until('the events kept', () => dest.ids().length === 11);
    c.stop();
    await c.done;
    const errors = await s.listErrors('c-st');
    assert.deepEqual(
      errors.map((e) => [e.type, e.code]),
      [['gap', 'partition_gap']],
    );
    assert.match(errors[0].message, /sequence numbers 5 to 8/);
  });

  it('a failing partition list is retried, not the end of the consumer', async () => {
    const s = await store();
    const sim = new EventHubSim({ partitions: 2 });
    sim.send(Array.from({ length: 4 }, (_, i) => ({ n: i })));
    const source = eventHubSource(sim);
    let listFailures = 2;
    const flaky = {
      ...source,
      partitions: async (o: { signal: AbortSignal }) => {
        if (listFailures-- > 0) throw new Error('getaddrinfo EAI_AGAIN');
        return source.partitions(o);
      },
    };
    const dest = new MemoryDestination();
    const c = start(s, flaky, [dest]);
    await until('delivery after the failures', () => dest.ids().length === 4);
    c.stop();
    assert.equal((await c.done).status, 'succeeded');
    assert.ok((await s.listErrors('c-st')).some((e) => /EAI_AGAIN/.test(e.message) || e.code === 'internal'));
  });

  it('a failing read is retried; credentials refused (config) stop the consumer with the error recorded', async () => {
    const s = await store();
    const sim = new EventHubSim({ partitions: 1 });
    sim.send([{ n: 1 }]);
    sim.fail(3);
    const dest = new MemoryDestination();
    const c = start(s, eventHubSource(sim), [dest]);
    await until('delivery after the failures', () => dest.ids().length === 1);
    const { configError } = await import('../../src/core/errors.ts');
    sim.fail(
      1,
      configError('unauthorized', 'The hub refused the credentials.', 'Check the shared access key.', 401),
    );
    sim.send([{ n: 2 }]);
    const res = await c.done;
    assert.equal(res.status, 'failed');
    assert.equal(res.error?.code, 'unauthorized');
    assert.deepEqual(
      (await s.listPartitions('c-st', 'hub')).map((p) => p.owner),
      [undefined],
      'released',
    );
  });
});

describe('conformance: stream consumer, persistent read failures', () => {
  it('reads failing for failingMaxMs end the consumer failed (health sees the run), the error recorded', async () => {
    const s = await store();
    const sim = new EventHubSim({ partitions: 1 });
    sim.send([{ n: 1 }]);
    sim.fail(1_000_000, new Error('connect ECONNREFUSED'));
    const c = start(s, eventHubSource(sim), [new MemoryDestination()], { failingMaxMs: 50 });
    const res = await c.done;
    assert.equal(res.status, 'failed');
    const [run] = await s.listRuns('c-st');
    assert.equal(run.status, 'failed');
    assert.equal(run.error?.type, 'transient');
    assert.ok((sim.reads['0'] ?? 0) > 1, 'retried before giving up');
  });
});

describe('conformance: stream consumer, acks (SQS simulator, embedded store)', () => {
  it('acknowledges only after delivery; a crash before the ack redelivers the same ids; nothing lost', async () => {
    const s = await store();
    const clock = new ManualClock();
    const sim = new ObjectStoreSim({ clock: clock.now, visibilityTimeoutMs: 30_000 });
    const ids = Array.from({ length: 25 }, (_, i) => sim.send(JSON.stringify({ n: i })));
    const dest = new MemoryDestination();
    const early: string[] = [];
    const del = sim.queue.delete;
    sim.queue.delete = async (receipt, o) => {
      const id = receipt.split('/')[0];
      if (!dest.ids().includes(id)) early.push(id);
      return del(receipt, o);
    };
    let c: ReturnType<typeof start>;
    let sends = 0;
    const crashing: Destination = {
      name: 'crashing',
      kind: 'memory',
      send: async (events) => {
        await dest.send(events);
        if (++sends === 2) {
          c.kill(); // written, but the process dies before the ack
          throw new Error('process killed');
        }
      },
      close: async () => {},
    };
    c = start(s, sqsSource(sim), [crashing]);
    assert.equal((await c.done).status, 'cancelled');
    assert.equal(sim.pending(), 18, 'the batch in flight (7 messages) was not acknowledged');
    clock.advance(30_001); // the visibility timeout passes: SQS redelivers
    const next = start(s, sqsSource(sim), [crashing]);
    await until('the queue drained', () => sim.pending() === 0);
    next.stop();
    await next.done;
    assert.deepEqual(sorted([...new Set(dest.ids())]), sorted(ids));
    assert.deepEqual(
      sorted(duplicates(dest.ids())),
      sorted(ids.slice(7, 14)),
      'only the batch in flight, same ids',
    );
    assert.deepEqual(early, [], 'no message acknowledged before its delivery');
  });

  it('a destination outage holds the acks', async () => {
    const s = await store();
    const clock = new ManualClock();
    const sim = new ObjectStoreSim({ clock: clock.now, visibilityTimeoutMs: 30_000 });
    for (let i = 0; i < 5; i++) sim.send(JSON.stringify({ n: i }));
    let failures = 0;
    const down: Destination = {
      name: 'down',
      kind: 'memory',
      send: async () => {
        failures++;
        throw new Error('connection refused');
      },
      close: async () => {},
    };
    const c = start(s, sqsSource(sim), [down], { destinationMaxWaitMs: 10 });
    await until('the consumer giving up on the destination', async () =>
      (await s.listDeliveryFailures('c-st')).some((f) => f.gaveUpAt !== undefined),
    );
    assert.ok(failures >= 1);
    c.stop();
    await c.done;
    assert.equal(sim.pending(), 5, 'nothing acknowledged');
    assert.equal(sim.deleted.length, 0);
  });
});

describe('stream consumer under the embedded scheduler (serve)', () => {
  it('consumes while the collector is enabled, never as a bounded run; stopping the collector hands its partitions over', async (t) => {
    const sim = new EventHubSim({ partitions: 2 });
    sim.send(Array.from({ length: 30 }, (_, i) => ({ n: i })));
    // A TEST source registered for this test only: one long-running stream and one that is never read.
    let bounded = 0;
    sources['stream-test'] = defineSource({
      id: 'stream-test',
      title: 'Stream test',
      account: 'none',
      stability: 'ga',
      family: 'queue',
      description: 'test only',
      setupGuide: '',
      settings: (await import('zod')).z.object({}),
      test: async () => {},
      streams: {
        hub: consumerStream({ title: 'Hub', consume: () => eventHubSource(sim) }),
      },
    });
    t.after(() => {
      delete sources['stream-test'];
    });
    const dir = fresh();
    const s = await SqliteStore.open(dir);
    stores.push(s);
    await s.migrate();
    const runtime = new Runtime(s, await SecretBox.open(dir, {}), silentLogger, dir);
    await new Control(runtime).apply(
      CONFIG_FILE,
      parseConfig(
        JSON.stringify({
          accounts: { open: { kind: 'none' } },
          destinations: { f: { kind: 'file', path: 'events.ndjson' } },
          collectors: { hub: { source: 'stream-test', account: 'open', destinations: ['f'] } },
        }),
        { baseDir: dir, env: {} },
      ),
    );
    const scheduler = new Scheduler(runtime);
    scheduler.onRun = () => {
      bounded++;
    };
    await scheduler.start();
    const lines = () => {
      try {
        return readFileSync(join(dir, 'events.ndjson'), 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    };
    await until('the hub drained to the file', () => lines().length === 30);
    sim.send(Array.from({ length: 4 }, (_, i) => ({ later: i })));
    await until('events sent while it runs', () => lines().length === 34);
    const record = (await s.getCollector('hub'))!;
    const parts = await s.listPartitions(record.id, 'hub');
    assert.deepEqual(
      parts.map((p) => p.owner !== undefined),
      [true, true],
      'owned while enabled',
    );
    // stopping the collector (API: stop) hands its partitions over
    await s.putCollector({ ...record, enabled: false });
    scheduler.sync('hub');
    await until('partitions released', async () =>
      (await s.listPartitions(record.id, 'hub')).every((p) => p.owner === undefined),
    );
    await scheduler.stop(1000);
    assert.equal(bounded, 0, 'no bounded run of a collector whose streams are all long-running');
    const runs = await s.listRuns(record.id);
    assert.deepEqual(
      runs.map((r) => [r.status, r.events]),
      [['succeeded', 34]],
      'one consumer session, its counters committed with each batch',
    );
    assert.deepEqual(
      lines()
        .map((l) => JSON.parse(l).id)
        .sort(),
      hubIds(sim).sort(),
    );
  });
});
