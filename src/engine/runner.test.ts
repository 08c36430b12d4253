import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryDestination } from '../../test/support/memory-destination.ts';
import { accountKinds } from '../accounts/index.ts';
import type { Destination } from '../core/destination.ts';
import { configError, TributaryError, transientError } from '../core/errors.ts';
import { defineSource, type SourceDef } from '../core/source.ts';
import { json, SimServer } from '../sim/kit.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { silentLogger } from './log.ts';
import { RateLimits } from './rate-limit.ts';
import { type ResolvedCollector, runCollector } from './runner.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A code-level source (the `read(ctx)` escape hatch): three batches, a repeat and a bad record. */
const fake: SourceDef = defineSource({
  id: 'fake',
  title: 'Fake',
  account: 'okta',
  stability: 'ga',
  family: 'rest-cursor',
  description: 'test',
  setupGuide: '',
  settings: { safeParse: (v: unknown) => ({ success: true, data: v }) } as never,
  async test() {},
  streams: {
    main: {
      title: 'main',
      async *read(ctx) {
        const start = (ctx.checkpoint as number | undefined) ?? 0;
        for (let page = start; page < 3; page++) {
          yield {
            events: [
              { raw: { page, n: 1 }, id: `p${page}-1`, time: '2026-11-25T10:00:00.000Z' },
              { raw: { page, n: 2 }, id: `p${page}-2` },
              { raw: { page, n: 1 }, id: `p${page}-1` }, // the vendor repeats itself
            ],
            deadLetters: page === 1 ? [{ raw: { broken: true }, reason: 'no id' }] : [],
            checkpoint: page + 1,
            pages: 1,
          };
        }
      },
    },
  },
});

async function setup(destinations: Destination[], overrides: Partial<ResolvedCollector> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-runner-'));
  dirs.push(dir);
  const store = await SqliteStore.open(dir);
  await store.migrate();
  const at = new Date().toISOString();
  await store.putCollector({
    id: 'c',
    name: 'c',
    source: 'fake',
    config: {},
    enabled: true,
    secrets: {},
    createdAt: at,
    updatedAt: at,
  });
  const collector: ResolvedCollector = {
    id: 'c',
    name: 'demo',
    source: fake,
    accountKind: accountKinds.okta,
    account: {},
    accountKey: 'a',
    settings: {},
    streams: ['main'],
    destinations,
    sitename: 'hq',
    timezone: 'Europe/Berlin',
    window: { lookbackMs: 0 },
    ...overrides,
  };
  const run = (o: Partial<Parameters<typeof runCollector>[1]> = {}) =>
    runCollector(collector, {
      store,
      log: silentLogger,
      rateLimits: new RateLimits(null),
      destinationBackoff: { baseMs: 1, maxMs: 2 },
      ...o,
    });
  return { store, run };
}

describe('runner', () => {
  it('wraps events in the envelope with site and timezone, drops in-run repeats, dead-letters bad records', async () => {
    const dest = new MemoryDestination();
    const { store, run } = await setup([dest]);
    const r = await run();
    assert.equal(r.status, 'succeeded');
    assert.equal(r.events, 6);
    assert.equal(r.deadLetters, 1);
    assert.deepEqual(dest.ids(), ['p0-1', 'p0-2', 'p1-1', 'p1-2', 'p2-1', 'p2-2']);
    const e = dest.events[0];
    assert.deepEqual(Object.keys(e), [
      'id',
      'time',
      'source',
      'stream',
      'collector',
      'sitename',
      'timezone',
      'ingested_at',
      'raw',
    ]);
    assert.equal(e.sitename, 'hq');
    assert.equal(e.timezone, 'Europe/Berlin');
    assert.equal(e.time, '2026-11-25T10:00:00.000Z');
    assert.equal(dest.events[1].time, dest.events[1].ingested_at, 'ingest time when the record has none');
    assert.equal((await store.getCheckpoint('c', 'main'))?.value, 3);
    const [dl] = await store.listDeadLetters('c');
    assert.equal(dl.reason, 'no id');
    assert.equal(dl.raw, '{"broken":true}');
    const [run1] = await store.listRuns('c');
    assert.deepEqual([run1.status, run1.events, run1.pages, run1.deadLetters], ['succeeded', 6, 3, 1]);
    assert.ok(await store.lastEventTime('c'));
    assert.equal(
      (await store.volume('c', '2000-01-01T00:00:00.000Z')).reduce((n, v) => n + v.count, 0),
      6,
    );
  });

  it('remembers at least the last 25,000 ids of a run; ids made from a place are not remembered', async () => {
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `e${from + i}`);
    const batches = [
      ids(0, 1000).map((id) => ({ raw: { id }, id })),
      [...ids(500, 10), ...ids(1000, 60_000)].map((id) => ({ raw: { id }, id })), // 10 repeats, then new ids
      [
        { raw: { id: 'e1000' }, id: 'e1000' }, // 60,000 ids back: forgotten, delivered again (same id)
        { raw: { id: 'e36000' }, id: 'e36000' }, // 25,000 back: a repeat
        { raw: { id: 'e60999' }, id: 'e60999' }, // the last one: a repeat
        { raw: { n: 1 }, id: 'obj:1', positional: true as const },
        { raw: { n: 1 }, id: 'obj:1', positional: true as const }, // not remembered: goes again
      ],
    ];
    const source = defineSource({
      ...fake,
      streams: {
        main: {
          title: 'main',
          async *read() {
            for (const [i, events] of batches.entries()) yield { events, checkpoint: i + 1, pages: 1 };
          },
        },
      },
    });
    const dest = new MemoryDestination();
    const { run } = await setup([dest], { source });
    const r = await run();
    assert.equal(r.status, 'succeeded');
    assert.equal(r.events, 1000 + 60_000 + 3);
    assert.deepEqual(dest.ids().slice(-3), ['e1000', 'obj:1', 'obj:1']);
  });

  it("records the events a destination refused for good as the batch's dead letters, committed with it", async () => {
    const dest = new MemoryDestination();
    const picky: Destination = {
      name: 'picky',
      kind: 'memory',
      send: async (events) => ({
        rejected: events
          .filter((e) => e.id.endsWith('-2'))
          .map((event) => ({ event, reason: 'mapper_parsing_exception: failed to parse field [raw.n]' })),
      }),
      close: async () => {},
    };
    const { store, run } = await setup([dest, picky]);
    const r = await run();
    assert.equal(r.status, 'succeeded');
    assert.equal(r.events, 6, 'every event counts as handled: delivered or dead-lettered');
    assert.equal(r.deadLetters, 1 + 3, "the source's bad record and the three refused events");
    assert.equal(dest.ids().length, 6, 'the other destination got everything');
    assert.equal((await store.getCheckpoint('c', 'main'))?.value, 3);
    const refused = (await store.listDeadLetters('c')).filter((d) =>
      d.reason.startsWith('destination picky:'),
    );
    assert.deepEqual(
      refused.map((d) => JSON.parse(d.raw).id).sort(),
      ['p0-2', 'p1-2', 'p2-2'],
      'the raw is the envelope as it was sent',
    );
    assert.match(refused[0]!.reason, /^destination picky: mapper_parsing_exception: failed to parse field/);
    const [run1] = await store.listRuns('c');
    assert.equal(run1.deadLetters, 4);
  });

  it('waits for a destination that is down: nothing lost, the checkpoint does not move until it is back', async () => {
    const dest = new MemoryDestination();
    const other = new MemoryDestination('other');
    let down = 3;
    const checkpointsWhileDown: unknown[] = [];
    let store: SqliteStore | undefined;
    const flaky: Destination = {
      name: 'flaky',
      kind: 'memory',
      send: async (events) => {
        if (dest.batches.length === 1 && down > 0) {
          down--;
          checkpointsWhileDown.push((await store!.getCheckpoint('c', 'main'))?.value);
          throw transientError('destination_unavailable', 'down', 'wait');
        }
        await dest.send(events);
      },
      close: async () => {},
    };
    // One commit per batch: the batches read ahead while the destination is down go out one by one.
    const rig = await setup([flaky, other], { batchesPerCommit: 1 });
    store = rig.store;
    const r = await rig.run();
    assert.equal(r.status, 'succeeded');
    assert.equal(down, 0);
    assert.deepEqual(checkpointsWhileDown, [1, 1, 1], 'held at the last acknowledged batch while down');
    assert.deepEqual(dest.ids(), other.ids(), 'both destinations got everything');
    assert.equal(other.batches.length, 3, 'the healthy destination was not sent a batch twice');
    assert.equal((await store.getCheckpoint('c', 'main'))?.value, 3);
    assert.ok((await store.listErrors('c')).some((e) => e.code === 'destination_unavailable'));
  });

  it('group commit: batches read ahead during a slow delivery go out together, committed after the acknowledgement', async () => {
    const dest = new MemoryDestination();
    let release!: () => void;
    const held = new Promise<void>((ok) => {
      release = ok;
    });
    const commits: unknown[] = [];
    let store: SqliteStore | undefined;
    const slow: Destination = {
      name: 'slow',
      kind: 'memory',
      send: async (events) => {
        // The first batch is held until the other two were read ahead; the checkpoint has not moved.
        if (dest.batches.length === 0) await held;
        commits.push((await store!.getCheckpoint('c', 'main'))?.value);
        await dest.send(events);
      },
      close: async () => {},
    };
    // The source's batches, counted as they are read; each one's vendor-side acknowledgement records
    // the checkpoint stored when it is called.
    let read = 0;
    const acks: Array<{ batch: unknown; stored: unknown }> = [];
    const main = fake.streams.main!;
    const counted: SourceDef = {
      ...fake,
      streams: {
        main: {
          ...main,
          async *read(ctx) {
            for await (const b of main.read(ctx)) {
              read++;
              yield {
                ...b,
                committed: async () => {
                  acks.push({
                    batch: b.checkpoint,
                    stored: (await store!.getCheckpoint('c', 'main'))?.value,
                  });
                },
              };
            }
          },
        },
      },
    };
    const rig = await setup([slow], { batchesPerCommit: 2, source: counted });
    store = rig.store;
    const running = rig.run();
    // Read ahead: the later batches are read and wrapped while the first delivery waits.
    const deadline = Date.now() + 10_000;
    while (read < 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    release();
    const r = await running;
    assert.equal(r.status, 'succeeded');
    assert.deepEqual(
      dest.batches.map((b) => b.map((e) => e.id)),
      [
        ['p0-1', 'p0-2'],
        ['p1-1', 'p1-2', 'p2-1', 'p2-2'],
      ],
      'the two batches read meanwhile were sent as one',
    );
    assert.deepEqual(commits, [undefined, 1], 'each send saw only what was acknowledged before it committed');
    assert.equal((await store.getCheckpoint('c', 'main'))?.value, 3, "the group's last checkpoint");
    assert.equal(r.events, 6);
    assert.equal(r.pages, 3);
    assert.equal(r.deadLetters, 1, "the group's dead letters are committed with it");
    assert.deepEqual(
      acks,
      [
        { batch: 1, stored: 1 },
        { batch: 2, stored: 3 },
        { batch: 3, stored: 3 },
      ],
      "every batch of a group is acknowledged to the vendor, in order, after the group's commit",
    );
  });

  it("believes a destination's Retry-After over its own backoff", async () => {
    const dest = new MemoryDestination();
    const attempts: number[] = [];
    const throttled: Destination = {
      name: 'throttled',
      kind: 'memory',
      send: async (events) => {
        attempts.push(performance.now());
        if (attempts.length === 1) {
          throw new TributaryError({
            type: 'transient',
            code: 'destination_throttled',
            message: '429',
            action: 'wait',
            retryAfter: 0.05,
          });
        }
        await dest.send(events);
      },
      close: async () => {},
    };
    const { run } = await setup([throttled]);
    // Backoff alone would wait ≥ 60 s and time the test out.
    const r = await run({ destinationBackoff: { baseMs: 60_000, maxMs: 60_000 } });
    assert.equal(r.status, 'succeeded');
    assert.ok(attempts[1]! - attempts[0]! >= 45, `retried after ${attempts[1]! - attempts[0]!} ms`);
    assert.equal(dest.ids().length, 6);
  });

  it('gives up on a destination after destinationMaxWaitMs, leaving the checkpoint at the last acknowledged batch', async () => {
    let sends = 0;
    const broken: Destination = {
      name: 'broken',
      kind: 'memory',
      send: async () => {
        sends++;
        if (sends > 1) throw transientError('destination_unavailable', 'down', 'wait');
      },
      close: async () => {},
    };
    const { store, run } = await setup([broken]);
    const r = await run({ destinationMaxWaitMs: 20 });
    assert.equal(r.status, 'failed');
    assert.equal(r.error?.code, 'destination_unavailable');
    assert.equal((await store.getCheckpoint('c', 'main'))?.value, 1);
  });

  it('records a failing destination as it happens, gives up on the injected clock, and clears it at the next acknowledgement', async () => {
    let clock = Date.parse('2026-11-25T12:00:00.000Z');
    let down = true;
    let failures = 0;
    /** Resolved by the test to let the runner try again (no sleeping: the backoff is 1-2 ms). */
    let onFailure: (() => void) | undefined;
    const dest = new MemoryDestination('siem');
    const siem: Destination = {
      name: 'siem',
      kind: 'memory',
      send: async (events) => {
        if (down) {
          failures++;
          onFailure?.();
          throw transientError(
            'destination_unavailable',
            'Destination siem is unavailable (HTTP 503).',
            'Check siem.',
          );
        }
        await dest.send(events);
      },
      close: async () => {},
    };
    const { store, run } = await setup([siem]);
    const running = run({ now: () => clock, destinationMaxWaitMs: 60_000 });
    // While the run still retries, the streak is on record, naming the destination.
    await new Promise<void>((seen) => {
      onFailure = () => failures >= 3 && seen();
    });
    const [streak] = await store.listDeliveryFailures('c');
    assert.equal(streak?.destination, 'siem');
    assert.ok(streak!.failures >= 2, `${streak!.failures} failures recorded while retrying`);
    assert.equal(streak!.gaveUpAt, undefined, 'still retrying');
    assert.equal(streak!.error.code, 'destination_unavailable');
    assert.equal(streak!.since, new Date(clock).toISOString());
    assert.equal((await store.listRuns('c'))[0]!.status, 'running');
    clock += 61_000; // past destinationMaxWaitMs on the run's clock: the next failure gives up
    const failed = await running;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error?.destination, 'siem', 'the run failed because of the destination');
    const [gaveUp] = await store.listDeliveryFailures('c');
    assert.equal(gaveUp!.gaveUpAt, new Date(clock).toISOString());
    assert.equal((await store.listRuns('c'))[0]!.error?.destination, 'siem', 'stored with the run');

    down = false;
    const ok = await run({ now: () => clock });
    assert.equal(ok.status, 'succeeded');
    assert.deepEqual(await store.listDeliveryFailures('c'), [], 'the acknowledgement ended the streak');
  });

  it('a soft stop commits the batch in flight and ends the run', async () => {
    const stop = new AbortController();
    const dest = new MemoryDestination();
    dest.failOn(1, () => stop.abort()); // does not throw: stop requested while delivering batch 1
    const { store, run } = await setup([dest]);
    const r = await run({ stop: stop.signal });
    assert.equal(r.events, 2);
    assert.equal(r.status, 'cancelled');
    assert.equal((await store.getCheckpoint('c', 'main'))?.value, 1);
    const again = await run();
    assert.equal(again.events, 4, 'resumes after the committed batch');
  });
});

describe('runner with several streams', () => {
  const twoStreams = (status: number): SourceDef =>
    defineSource({
      ...fake,
      streams: {
        broken: {
          title: 'broken',
          // biome-ignore lint/correctness/useYield: fails before yielding, like a stream whose first request is refused
          async *read() {
            throw configError('refused', 'refused', 'act', status);
          },
        },
        main: fake.streams.main,
      },
    });

  for (const [status, expectMain] of [
    [404, 6],
    [401, 0],
  ] as const) {
    it(`a ${status} on one stream ${expectMain ? 'leaves the others running' : 'stops every stream'}`, async () => {
      const dest = new MemoryDestination();
      const { store } = await setup([dest]);
      const r = await runCollector(
        {
          id: 'c',
          name: 'demo',
          source: twoStreams(status),
          accountKind: accountKinds.okta,
          account: {},
          accountKey: 'a',
          settings: {},
          streams: ['broken', 'main'],
          destinations: [dest],
          window: { lookbackMs: 0 },
        },
        { store, log: silentLogger, rateLimits: new RateLimits(null) },
      );
      assert.equal(r.status, 'failed');
      assert.equal(r.error?.status, status);
      assert.equal(dest.ids().length, expectMain);
      assert.equal((await store.listErrors('c'))[0].stream, 'broken');
    });
  }
});

describe('runner and vendor waits', () => {
  it("a Retry-After beyond what a run waits ends the run and holds back the account's next runs until then", async () => {
    let limited = true;
    const vendor = new SimServer({ name: 'vendor' }).route('GET', '/logs', () =>
      limited
        ? json(429, { message: 'slow down' }, { 'retry-after': '3600' })
        : json(200, [{ id: 'e1' }, { id: 'e2' }]),
    );
    await vendor.start();
    after(() => vendor.stop());
    const polled = defineSource({
      ...fake,
      streams: {
        main: {
          title: 'main',
          async *read(ctx) {
            const { body } = await ctx.http.getJson<Array<{ id: string }>>(`${vendor.url}/logs`);
            yield { events: body.map((e) => ({ raw: e, id: e.id })), checkpoint: 1, pages: 1 };
          },
        },
      },
    });
    const dest = new MemoryDestination();
    const dir = mkdtempSync(join(tmpdir(), 'tributary-runner-'));
    dirs.push(dir);
    const store = await SqliteStore.open(dir);
    await store.migrate();
    const at = '2026-11-25T12:00:00.000Z';
    await store.putAccount({
      id: 'acc',
      name: 'vendor',
      kind: 'okta',
      config: {},
      secrets: {},
      createdAt: at,
      updatedAt: at,
    });
    for (const id of ['c', 'sibling'])
      await store.putCollector({
        id,
        name: id,
        source: 'fake',
        account: 'vendor',
        config: {},
        secrets: {},
        enabled: true,
        createdAt: at,
        updatedAt: at,
      });
    const collector = (id: string): ResolvedCollector => ({
      id,
      name: id,
      source: polled,
      accountKind: accountKinds.okta,
      account: {},
      accountKey: 'acc',
      settings: {},
      streams: ['main'],
      destinations: [dest],
      window: { lookbackMs: 0 },
    });
    let clock = Date.parse(at);
    const run = (id: string) =>
      runCollector(collector(id), {
        store,
        log: silentLogger,
        rateLimits: new RateLimits(null),
        now: () => clock,
      });

    const first = await run('c');
    assert.equal(first.status, 'failed');
    const until = new Date(clock + 3_600_000).toISOString();
    assert.equal(first.error?.waitUntil, until);
    assert.equal(vendor.requests.all().length, 1, 'the wait was not slept through nor retried');
    const wait = await store.getVendorWait('acc');
    assert.equal(wait?.until, until);
    assert.equal(wait?.collector, 'c');
    assert.match(wait!.error.message, /429.*slow down/);
    assert.equal((await store.listRuns('c'))[0]!.error?.waitUntil, until, 'the run says why it ended');

    // Until then no run of the account's collectors asks the vendor, nor is recorded as a run.
    limited = false;
    clock += 3_599_000;
    for (const id of ['c', 'sibling'])
      await assert.rejects(
        run(id),
        (e: TributaryError) => e.code === 'vendor_wait' && e.message.includes(until),
      );
    assert.equal(vendor.requests.all().length, 1);
    assert.equal((await store.listRuns('sibling')).length, 0);

    clock += 2000;
    const resumed = await run('sibling');
    assert.equal(resumed.status, 'succeeded');
    assert.equal(resumed.events, 2);
  });
});

describe('runner and sequential streams (a vendor-held position), or streams that read nothing ahead', () => {
  /**
   * Records, per batch asked of the stream, how many batches had been committed by then; and per batch
   * released (`Batch.release`), how many were committed when it was.
   */
  function probe(o: { sequential?: boolean; readAhead?: number }) {
    const asked: number[] = [];
    const released: number[] = [];
    const sent: string[] = [];
    let committed = 0;
    const source: SourceDef = {
      ...fake,
      streams: {
        main: {
          title: 'main',
          ...o,
          async *read() {
            for (let page = 0; page < 5; page++) {
              asked.push(committed);
              const events = [{ raw: { page }, id: `p${page}` }];
              yield {
                events,
                checkpoint: page + 1,
                pages: 1,
                release: () => {
                  released.push(committed);
                  events.length = 0;
                },
              };
            }
          },
        },
      },
    };
    const counting: Destination = {
      name: 'count',
      kind: 'memory',
      send: async (envelopes) => {
        await new Promise((r) => setTimeout(r, 5)); // delivery takes a while: read-ahead would run now
        sent.push(...envelopes.map((e) => e.id));
      },
      close: async () => {},
    };
    return { source, asked, released, sent, counting, onCommit: () => committed++ };
  }

  for (const o of [{ sequential: true }, { readAhead: 0 }, {}]) {
    const ahead = !o.sequential && o.readAhead === undefined;
    it(
      ahead
        ? 'reads ahead otherwise; releases each batch once it is committed'
        : `${JSON.stringify(o)}: asks for the next batch only after the previous one was committed`,
      async () => {
        const p = probe(o);
        const { store } = await setup([p.counting]);
        const commit = store.commitBatch.bind(store);
        store.commitBatch = async (b) => {
          await commit(b);
          p.onCommit();
        };
        const r = await runCollector(
          {
            id: 'c',
            name: 'demo',
            source: p.source,
            accountKind: accountKinds.okta,
            account: {},
            accountKey: 'a',
            settings: {},
            streams: ['main'],
            destinations: [p.counting],
            window: { lookbackMs: 0 },
          },
          { store, log: silentLogger, rateLimits: new RateLimits(null) },
        );
        assert.equal(r.status, 'succeeded');
        if (!ahead) assert.deepEqual(p.asked, [0, 1, 2, 3, 4]);
        else
          assert.ok(
            p.asked.some((c, i) => c < i),
            `read ahead: ${p.asked}`,
          );
        assert.deepEqual(p.released, [1, 2, 3, 4, 5], 'each batch released right after its own commit');
        assert.deepEqual(
          p.sent,
          ['p0', 'p1', 'p2', 'p3', 'p4'],
          'releasing does not touch what was delivered',
        );
      },
    );
  }
});
