import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import type { Destination } from '../../src/core/destination.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { silentLogger } from '../../src/engine/log.ts';
import {
  type ObjectCheckpoint,
  type ObjectReaderDef,
  objectId,
} from '../../src/engine/object-notification.ts';
import { RateLimits } from '../../src/engine/rate-limit.ts';
import { type ResolvedCollector, type RunOptions, runCollector } from '../../src/engine/runner.ts';
import { ManualClock } from '../../src/sim/kit.ts';
import { ObjectStoreSim } from '../../src/sim/object-store.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { noneAccount, objectTestSource } from '../sources/object-test.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Conformance of the object-notification reader (docs/architecture.md, "Object notifications"), with a
 * TEST source on the S3 + SQS simulator and the real runner and store: the exact record set, a message
 * deleted only after every record of its objects was delivered and committed, a crash at every boundary
 * (before and after the write, between commit and delete), redelivery repeating nothing, destination
 * outages holding the deletes, each format, bounded memory on a huge object, the listing fallback and
 * append-aware objects resuming where they stopped.
 */

const fresh = tempDirs('tributary-objects');
const VISIBILITY = 30_000;

interface Rig {
  sim: ObjectStoreSim;
  clock: ManualClock;
  store: SqliteStore;
  dest: MemoryDestination;
  run(
    stream: string,
    extra?: Partial<RunOptions>,
    destinations?: Destination[],
  ): ReturnType<typeof runCollector>;
  /** Lets every message in flight become visible again (the visibility timeout passes). */
  expireVisibility(): void;
}

const stores: SqliteStore[] = [];
after(() => Promise.all(stores.map((s) => s.close())));

async function rig(
  o: { over?: Partial<ObjectReaderDef>; chunkBytes?: number; pageSize?: number } = {},
): Promise<Rig> {
  const clock = new ManualClock('2026-11-25T12:00:00.000Z');
  const sim = new ObjectStoreSim({
    clock: clock.now,
    visibilityTimeoutMs: VISIBILITY,
    chunkBytes: o.chunkBytes ?? 4096,
    pageSize: o.pageSize,
  });
  const store = await SqliteStore.open(fresh());
  stores.push(store);
  await store.migrate();
  const at = new Date(clock.now()).toISOString();
  await store.putCollector({
    id: 'c-obj',
    name: 'obj',
    source: 'object-test',
    config: {},
    enabled: true,
    secrets: {},
    createdAt: at,
    updatedAt: at,
  });
  const source = objectTestSource(sim, o.over);
  const dest = new MemoryDestination();
  const collector = (stream: string, destinations: Destination[]): ResolvedCollector => ({
    id: 'c-obj',
    name: 'obj',
    source,
    accountKind: noneAccount,
    account: {},
    accountKey: 'acc',
    settings: {},
    streams: [stream],
    destinations,
    window: { lookbackMs: 3_600_000 },
  });
  return {
    sim,
    clock,
    store,
    dest,
    run: (stream, extra = {}, destinations = [dest]) =>
      runCollector(collector(stream, destinations), {
        store,
        log: silentLogger,
        rateLimits: new RateLimits(null),
        now: clock.now,
        destinationBackoff: { baseMs: 1, maxMs: 5 },
        ...extra,
      }),
    expireVisibility: () => clock.advance(VISIBILITY + 1),
  };
}

/**
 * A bucket of mixed objects, each format once (CloudTrail gzip, NDJSON, a JSON array, CSV, plain lines),
 * named by notifications of one or two objects, plus S3's test event. Returns the ids a drain must
 * deliver and, per message, the ids of the objects it names.
 */
function fill(sim: ObjectStoreSim, scale = 1): { expected: string[]; byMessage: Map<string, string[]> } {
  const expected: string[] = [];
  const idsOf = new Map<string, string[]>();
  const trail = (n: number, tag: string) => {
    const recs = Array.from({ length: n }, (_, i) => ({
      eventID: `${tag}-${i}`,
      eventTime: '2026-11-25T11:00:00Z',
      eventName: 'GetObject',
    }));
    idsOf.set(
      `AWSLogs/ct/${tag}.json.gz`,
      recs.map((r) => r.eventID),
    );
    sim.put(`AWSLogs/ct/${tag}.json.gz`, gzipSync(JSON.stringify({ Records: recs })));
  };
  trail(120 * scale, 'ct1');
  trail(7, 'ct2');
  const nd = Array.from({ length: 80 * scale }, (_, i) => JSON.stringify({ id: `nd-${i}`, n: i }));
  sim.put('AWSLogs/app/a b.ndjson', `${nd.join('\n')}\n`);
  idsOf.set(
    'AWSLogs/app/a b.ndjson',
    nd.map((_, i) => `nd-${i}`),
  );
  const arr = Array.from({ length: 60 }, (_, i) => ({ id: `arr-${i}` }));
  sim.put('AWSLogs/app/list.array.json', JSON.stringify(arr));
  idsOf.set(
    'AWSLogs/app/list.array.json',
    arr.map((r) => r.id),
  );
  const rows = Array.from({ length: 70 }, (_, i) => `2026-11-25,user${i},"said, ""${i}"""`);
  const csv = sim.put('AWSLogs/flow/rows.csv', `time,user,msg\n${rows.join('\n')}\n`);
  idsOf.set(
    'AWSLogs/flow/rows.csv',
    rows.map((_, i) => `${objectId(csv)}:${i}`),
  );
  const logLines = Array.from({ length: 55 }, (_, i) => `<13>Nov 25 12:00:00 host app: line ${i}`);
  const log = sim.put('AWSLogs/sys/messages.log', `${logLines.join('\n')}\n`);
  idsOf.set(
    'AWSLogs/sys/messages.log',
    logLines.map((_, i) => `${objectId(log)}:${i}`),
  );
  const byMessage = new Map<string, string[]>();
  const note = (keys: string[]) => {
    const id = sim.notify(keys);
    byMessage.set(
      id,
      keys.flatMap((k) => idsOf.get(k)!),
    );
  };
  byMessage.set(sim.sendTestEvent(), []);
  note(['AWSLogs/ct/ct1.json.gz']);
  note(['AWSLogs/app/a b.ndjson', 'AWSLogs/ct/ct2.json.gz']);
  note(['AWSLogs/app/list.array.json']);
  note(['AWSLogs/flow/rows.csv', 'AWSLogs/sys/messages.log']);
  note(['AWSLogs/ct/ct2.json.gz']); // the same object named again: delivered once
  for (const ids of idsOf.values()) expected.push(...ids);
  return { expected, byMessage };
}

describe('conformance: object-notification reader (S3 + SQS simulator)', () => {
  it('delivers every record of every object once, each format, and deletes every message', async () => {
    const r = await rig();
    const { expected } = fill(r.sim);
    const res = await r.run('notifications');
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(expected));
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal(r.sim.pending(), 0, 'every message deleted, the test event too');
    const ct = r.dest.events.find((e) => e.id === 'ct1-3')!;
    assert.equal(ct.time, '2026-11-25T11:00:00.000Z', 'the record time');
    assert.deepEqual(JSON.parse(JSON.stringify(ct.raw)), {
      eventID: 'ct1-3',
      eventTime: '2026-11-25T11:00:00Z',
      eventName: 'GetObject',
    });
    const row = r.dest.events.find((e) => (e.raw as Record<string, string>).user === 'user5')!;
    assert.equal((row.raw as Record<string, string>).msg, 'said, "5"');
    r.expireVisibility();
    const again = await r.run('notifications');
    assert.equal(again.events, 0);
    assert.equal(r.sim.calls.filter((c) => c.op === 'get').length, 6, 'each object fetched once');
  });

  it('deletes a message only after every record of every object it names was acknowledged', async () => {
    const r = await rig();
    const { byMessage } = fill(r.sim);
    const acked = new Set<string>();
    const checking: Destination = {
      name: 'checking',
      kind: 'memory',
      send: async (events: Envelope[]) => {
        // the destination answers after a turn of the event loop, as a real one does
        await new Promise((res) => setImmediate(res));
        for (const e of events) acked.add(e.id);
      },
      close: async () => {},
    };
    const deleteBefore = r.sim.queue.delete;
    const early: string[] = [];
    r.sim.queue.delete = async (receipt, o) => {
      const id = receipt.split('/')[0];
      for (const want of byMessage.get(id) ?? []) if (!acked.has(want)) early.push(`${id}: ${want}`);
      return deleteBefore(receipt, o);
    };
    const res = await r.run('notifications', {}, [checking]);
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(early, [], 'no message deleted before its records were acknowledged');
    assert.equal(r.sim.deleted.length, byMessage.size);
  });

  it('resumes after a crash at every batch boundary (before and after the write) without loss; duplicates only from the batch in flight', async () => {
    const probe = await rig();
    fill(probe.sim);
    await probe.run('notifications');
    const batches = probe.dest.batches.length;
    assert.ok(batches >= 8, `several batches (${batches})`);
    for (let k = 1; k <= batches; k++) {
      for (const written of [false, true]) {
        const r = await rig();
        const { expected } = fill(r.sim);
        const crash = new AbortController();
        let inFlight: string[] = [];
        const dest = new MemoryDestination();
        const crashing: Destination = {
          name: 'crashing',
          kind: 'memory',
          send: async (events) => {
            if (!crash.signal.aborted && dest.batches.length + 1 === k) {
              if (written) await dest.send(events);
              inFlight = events.map((e) => e.id);
              crash.abort();
              throw new Error('process killed');
            }
            return dest.send(events);
          },
          close: async () => {},
        };
        const first = await r.run('notifications', { signal: crash.signal }, [crashing]);
        assert.equal(first.status, 'cancelled');
        r.expireVisibility(); // the killed process's messages reappear
        const second = await r.run('notifications', {}, [crashing]);
        assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
        const ids = dest.ids();
        assert.deepEqual(sorted([...new Set(ids)]), sorted(expected), `crash at batch ${k}: no loss`);
        const dups = duplicates(ids);
        if (!written) assert.deepEqual(dups, [], `crash at batch ${k} before the write: no duplicates`);
        else
          for (const d of dups) assert.ok(inFlight.includes(d), `duplicate ${d} is from the batch in flight`);
        assert.equal(r.sim.pending(), 0, `crash at batch ${k}: every message deleted in the end`);
      }
    }
  });

  it('a crash between the commit and the delete: the redelivered message repeats nothing and is deleted', async () => {
    const probe = await rig();
    const { byMessage } = fill(probe.sim);
    for (let k = 1; k <= byMessage.size; k++) {
      const r = await rig();
      const { expected } = fill(r.sim);
      // the k-th delete never reaches the queue: the process died after committing
      r.sim.fail('delete', 0);
      let deletes = 0;
      const del = r.sim.queue.delete;
      r.sim.queue.delete = async (receipt, o) => {
        if (++deletes === k) throw new Error('process killed before the delete');
        return del(receipt, o);
      };
      const first = await r.run('notifications');
      assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
      assert.equal(r.sim.pending(), 1, `the message of delete ${k} is still queued`);
      const delivered = r.dest.ids().length;
      r.expireVisibility();
      const second = await r.run('notifications');
      assert.equal(second.status, 'succeeded');
      assert.equal(second.events, 0, 'the redelivered message repeats nothing');
      assert.equal(r.dest.ids().length, delivered);
      assert.deepEqual(sorted(r.dest.ids()), sorted(expected));
      assert.equal(r.sim.pending(), 0, 'and is deleted this time');
    }
  });

  it('a destination outage holds the deletes; nothing is lost once it is back', async () => {
    const r = await rig();
    const { expected } = fill(r.sim);
    // the destination goes down at the third batch (the last of the first message's object) and stays down
    let sends = 0;
    let down = false;
    const flaky: Destination = {
      name: 'memory',
      kind: 'memory',
      send: async (events) => {
        if (++sends === 3) down = true;
        if (down) throw new Error('connection refused');
        return r.dest.send(events);
      },
      close: async () => {},
    };
    let t = 0;
    const res = await r.run(
      'notifications',
      { destinationMaxWaitMs: 10, now: () => r.clock.now() + (t += 5) },
      [flaky],
    );
    assert.equal(res.status, 'failed');
    assert.equal(res.error?.destination, 'memory');
    const deletedDuringOutage = r.sim.deleted.length;
    // the third batch is the last of the first message's object: only the test event could be deleted
    assert.equal(deletedDuringOutage, 1, 'no message whose records were not all acknowledged was deleted');
    assert.equal(r.sim.pending(), 5, 'the five notifications wait');
    r.expireVisibility();
    down = false; // back
    const back = await r.run('notifications', {}, [flaky]);
    assert.equal(back.status, 'succeeded', JSON.stringify(back.error));
    assert.deepEqual(sorted([...new Set(r.dest.ids())]), sorted(expected));
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal(r.sim.pending(), 0);
  });

  it('a message that reappears mid-run (its visibility timeout passed) is received again, repeats nothing, and is deleted by its latest receipt', async () => {
    const r = await rig({ over: { maxMessages: 1 } });
    const { expected } = fill(r.sim);
    let sends = 0;
    const slow: Destination = {
      name: 'memory',
      kind: 'memory',
      send: async (events) => {
        // delivering takes longer than the queue's visibility timeout: every message in flight reappears
        if (++sends % 2 === 0) r.expireVisibility();
        return r.dest.send(events);
      },
      close: async () => {},
    };
    const res = await r.run('notifications', {}, [slow]);
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    const deletes = r.sim.calls.filter((c) => c.op === 'delete').length;
    assert.ok(
      deletes > r.sim.deleted.length,
      `some deletes carried a receipt that was no longer the latest (${deletes} deletes, ${r.sim.deleted.length} deleted)`,
    );
    assert.equal(r.sim.pending(), 0, 'each message deleted by its latest receipt');
    const received = r.sim.calls.filter((c) => c.op === 'receive').length;
    assert.ok(received > 7, `messages were received again (${received} receives for 6 messages)`);
    assert.deepEqual(sorted(r.dest.ids()), sorted(expected));
    assert.deepEqual(duplicates(r.dest.ids()), [], 'nothing delivered twice');
    r.expireVisibility();
    const again = await r.run('notifications', {}, [slow]);
    assert.equal(again.events, 0);
    assert.equal(r.sim.pending(), 0, 'every message deleted in the end');
  });

  it('an object cut off mid-body fails the run; the next resumes after the records delivered', async () => {
    const r = await rig();
    const { expected } = fill(r.sim, 4);
    r.sim.cutBodiesNext(1, 'AWSLogs/app/a b.ndjson');
    const first = await r.run('notifications');
    assert.equal(first.status, 'failed');
    assert.equal(first.error?.code, 'object_read_failed');
    const cp = (await r.store.getCheckpoint('c-obj', 'notifications'))?.value as ObjectCheckpoint;
    assert.ok(Object.values(cp.partial ?? {})[0]! > 0, 'the position inside the object is committed');
    r.expireVisibility();
    const second = await r.run('notifications');
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(expected));
    assert.deepEqual(duplicates(r.dest.ids()), [], 'no record delivered twice');
  });

  it('a message that is not a notification is a dead letter, and deleted', async () => {
    const r = await rig();
    r.sim.send('{"hello":"world"}');
    const res = await r.run('notifications');
    assert.equal(res.status, 'succeeded');
    assert.equal(res.deadLetters, 1);
    const [dl] = await r.store.listDeadLetters('c-obj');
    assert.match(dl.reason, /not a notification this source reads: expected Records/);
    assert.equal(r.sim.pending(), 0);
  });

  it('an object deleted before it was read is a gap warning, and its message is deleted', async () => {
    const r = await rig();
    r.sim.put('AWSLogs/x.ndjson', '{"id":"x1"}\n');
    r.sim.notify(['AWSLogs/x.ndjson']);
    r.sim.remove('AWSLogs/x.ndjson');
    const res = await r.run('notifications');
    assert.equal(res.status, 'succeeded');
    assert.equal(r.sim.pending(), 0);
    const errors = await r.store.listErrors('c-obj');
    assert.deepEqual(
      errors.map((e) => [e.type, e.code]),
      [['gap', 'object_missing']],
    );
  });

  it('keeps memory bounded on a huge object (streamed, never held whole)', async () => {
    const r = await rig({ over: { maxEvents: 1000 } });
    const line = (i: number) => `${JSON.stringify({ id: `h-${i}`, pad: 'x'.repeat(480) })}\n`;
    const records = 200_000; // ≈ 100 MB
    const size = records * line(0).length;
    r.sim.putGenerated('AWSLogs/huge.ndjson', size, async function* () {
      let buf: string[] = [];
      for (let i = 0; i < records; i++) {
        buf.push(line(i));
        if (buf.length === 128) {
          yield Buffer.from(buf.join(''));
          buf = [];
        }
      }
      if (buf.length) yield Buffer.from(buf.join(''));
    });
    r.sim.notify(['AWSLogs/huge.ndjson']);
    // Live memory, measured after a full collection (the heap of a busy run is mostly garbage waiting for
    // the collector, which says nothing about what the reader holds).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const base = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    let count = 0;
    let peak = 0;
    let measured = 0;
    const counting: Destination = {
      name: 'count',
      kind: 'memory',
      send: async (events) => {
        count += events.length;
        if (count % 25_000 === 0) {
          gc();
          const m = process.memoryUsage();
          peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base); // may stay 0: less live than at the start
          measured++;
        }
      },
      close: async () => {},
    };
    const res = await r.run('notifications', {}, [counting]);
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(count, records);
    assert.ok(res.bytes > size, `moved ${res.bytes} bytes`);
    assert.equal(measured, records / 25_000, 'measured at every 25,000 records');
    assert.ok(
      peak < 24 * 1048576,
      `live memory growth ${Math.round(peak / 1048576)} MB while reading a ${Math.round(size / 1048576)} MB object`,
    );
    assert.equal(r.sim.pending(), 0);
  });

  it('listing fallback: resumes after the last key delivered, crash at every object boundary, and picks up new keys', async () => {
    const keys = Array.from(
      { length: 12 },
      (_, i) => `AWSLogs/2026/11/25/${String(i).padStart(3, '0')}.ndjson`,
    );
    const setup = (sim: ObjectStoreSim) => {
      const ids: string[] = [];
      for (const k of keys) {
        const recs = Array.from({ length: 30 }, (_, i) => `${k}#${i}`);
        ids.push(...recs);
        sim.put(k, recs.map((id) => JSON.stringify({ id })).join('\n'));
      }
      sim.put('other/ignored.ndjson', '{"id":"nope"}');
      return ids;
    };
    for (let k = 1; k <= keys.length; k++) {
      const r = await rig({ pageSize: 5 });
      const expected = setup(r.sim);
      const crash = new AbortController();
      const dest = new MemoryDestination();
      const crashing: Destination = {
        name: 'crashing',
        kind: 'memory',
        send: async (events) => {
          if (!crash.signal.aborted && dest.batches.length + 1 === k) {
            crash.abort();
            throw new Error('process killed');
          }
          return dest.send(events);
        },
        close: async () => {},
      };
      await r.run('listing', { signal: crash.signal }, [crashing]);
      const cp = (await r.store.getCheckpoint('c-obj', 'listing'))?.value as ObjectCheckpoint | undefined;
      assert.equal(cp?.after, k > 1 ? keys[k - 2] : undefined, 'the last key done is the position');
      r.sim.calls.length = 0;
      const second = await r.run('listing', {}, [crashing]);
      assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
      assert.equal(
        r.sim.calls.find((c) => c.op === 'list')?.detail,
        `AWSLogs/>${cp?.after ?? ''}`,
        'listing starts after it',
      );
      assert.deepEqual(sorted(dest.ids()), sorted(expected), `crash at object ${k}: no loss`);
      assert.deepEqual(duplicates(dest.ids()), []);
    }
    const r = await rig({ pageSize: 5 });
    setup(r.sim);
    await r.run('listing');
    r.sim.put('AWSLogs/2026/11/26/000.ndjson', '{"id":"new-1"}\n{"id":"new-2"}');
    const next = await r.run('listing');
    assert.equal(next.events, 2, 'only the new object');
  });

  it('append-aware: a growing object resumes at its last complete line; an unfinished line waits', async () => {
    const r = await rig({ over: { maxEvents: 3 } });
    const key = 'append/2026-11-25.log.ndjson';
    r.sim.append(key, '{"n":1}\n{"n":2}\n');
    r.sim.append('append/other.log', 'plain one\n');
    let res = await r.run('append');
    assert.equal(res.events, 3);
    r.sim.append(key, '{"n":3}\n{"n":4');
    res = await r.run('append');
    assert.equal(res.events, 1, 'the unfinished line waits');
    const cp = (await r.store.getCheckpoint('c-obj', 'append'))?.value as ObjectCheckpoint;
    assert.equal(cp.offsets?.[key], '{"n":1}\n{"n":2}\n{"n":3}\n'.length);
    r.sim.calls.length = 0;
    r.sim.append(key, '}\n');
    res = await r.run('append');
    assert.equal(res.events, 1);
    assert.deepEqual(
      r.sim.calls.filter((c) => c.op === 'get').map((c) => c.detail),
      [`${key}@${cp.offsets![key]}`],
      'a ranged read from the saved offset; the unchanged object is not read',
    );
    const ns = r.dest.events
      .filter((e) => e.stream === 'append')
      .map((e) => (e.raw as { n?: number }).n ?? e.raw);
    assert.deepEqual(ns.sort(), [1, 2, 3, 4, 'plain one'].sort());
    assert.deepEqual(duplicates(r.dest.ids()), []);
    // the ids are the key and the line's byte offset: the same after a reset and a full re-read
    const before = r.dest.ids();
    await r.store.resetCheckpoint('c-obj', 'append');
    await r.run('append');
    assert.deepEqual(sorted(r.dest.ids().slice(before.length)), sorted(before));
  });

  it('append-aware: a crash mid-object resumes at the last committed byte without loss', async () => {
    const r = await rig({ over: { maxEvents: 4 } });
    const key = 'append/big.log';
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    r.sim.append(key, `${lines.join('\n')}\n`);
    const crash = new AbortController();
    const dest = new MemoryDestination();
    const crashing: Destination = {
      name: 'crashing',
      kind: 'memory',
      send: async (events) => {
        if (!crash.signal.aborted && dest.batches.length === 3) {
          crash.abort();
          throw new Error('process killed');
        }
        return dest.send(events);
      },
      close: async () => {},
    };
    await r.run('append', { signal: crash.signal }, [crashing]);
    assert.equal(dest.ids().length, 12);
    await r.run('append', {}, [crashing]);
    assert.deepEqual(
      dest.events.map((e) => e.raw),
      lines,
    );
    assert.deepEqual(duplicates(dest.ids()), []);
  });
});
