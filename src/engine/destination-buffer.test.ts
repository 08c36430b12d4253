import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirs } from '../../test/support/temp-dirs.ts';
import { accountKinds } from '../accounts/index.ts';
import type { Destination, SendResult } from '../core/destination.ts';
import { type Envelope, encodeLine, RawJson } from '../core/envelope.ts';
import { transientError } from '../core/errors.ts';
import { defineSource, type SourceDef } from '../core/source.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { BufferedDestination, type BufferOptions, decodeLine } from './destination-buffer.ts';
import { silentLogger } from './log.ts';
import { metrics } from './metrics.ts';
import { RateLimits } from './rate-limit.ts';
import { type ResolvedCollector, runCollector } from './runner.ts';

const temp = tempDirs('tributary-buffer');

/** A destination that can be taken down and brought back; `hold` keeps its sends pending until released. */
class Switchable implements Destination {
  readonly kind = 'memory';
  readonly name: string;
  readonly batches: Envelope[][] = [];
  up = true;
  sends = 0;
  held?: { promise: Promise<void>; release: () => void };
  reject?: (e: Envelope) => string | undefined;
  constructor(name: string) {
    this.name = name;
  }
  hold(): void {
    let release!: () => void;
    const promise = new Promise<void>((r) => {
      release = r;
    });
    this.held = { promise, release };
  }
  async send(events: Envelope[]): Promise<SendResult | undefined> {
    this.sends++;
    if (this.held) await this.held.promise;
    if (!this.up) throw transientError('destination_unavailable', `${this.name} is down`, 'Wait.');
    const rejected = this.reject
      ? events.flatMap((event) => {
          const reason = this.reject!(event);
          return reason ? [{ event, reason }] : [];
        })
      : [];
    this.batches.push(events.filter((e) => !rejected.some((r) => r.event === e)));
    return rejected.length ? { rejected } : undefined;
  }
  ids(): string[] {
    return this.batches.flat().map((e) => e.id);
  }
  async close(): Promise<void> {}
}

/** `pages` batches of `perPage` events, each event `size` bytes of vendor text; checkpoint = pages read. */
function source(pages: number, perPage = 2, size = 10): SourceDef {
  return defineSource({
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
          for (let page = (ctx.checkpoint as number | undefined) ?? 0; page < pages; page++)
            yield {
              events: Array.from({ length: perPage }, (_, n) => ({
                raw: new RawJson(
                  `{"page":${page},"n":${n},"big":12345678901234567890,"pad":"${'x'.repeat(size)}"}`,
                ),
                id: `p${page}-${n}`,
              })),
              checkpoint: page + 1,
              pages: 1,
            };
        },
      },
    },
  });
}

async function setup(src: SourceDef, destinations: Destination[]) {
  const dir = temp();
  const store = await SqliteStore.open(dir);
  await store.migrate();
  const at = new Date().toISOString();
  await store.putCollector({
    id: 'c',
    name: 'demo',
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
    source: src,
    accountKind: accountKinds.okta,
    account: {},
    accountKey: 'a',
    settings: {},
    streams: ['main'],
    destinations,
    window: { lookbackMs: 0 },
  };
  const run = (o: Partial<Parameters<typeof runCollector>[1]> = {}) =>
    runCollector(collector, {
      store,
      log: silentLogger,
      rateLimits: new RateLimits(null),
      destinationBackoff: { baseMs: 1, maxMs: 2 },
      ...o,
    });
  return { store, run, dir };
}

function buffered(inner: Destination, o: Partial<BufferOptions> = {}): BufferedDestination {
  return new BufferedDestination(inner, {
    dir: join(temp(), 'buffers', inner.name),
    maxBytes: 1 << 20,
    spillAfterMs: 60_000,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    log: silentLogger,
    ...o,
  });
}

const ALL = (pages: number, perPage = 2) =>
  Array.from({ length: pages }, (_, p) => Array.from({ length: perPage }, (_, n) => `p${p}-${n}`)).flat();

describe('destination buffer', () => {
  it('A down, B up: B receives everything, the checkpoint moves, and A drains in order once back', async () => {
    const a = new Switchable('a');
    const b = new Switchable('b');
    a.up = false;
    const buf = buffered(a);
    const { store, run } = await setup(source(3), [buf, b]);
    const r = await run();
    assert.equal(r.status, 'succeeded');
    assert.deepEqual(b.ids(), ALL(3));
    assert.equal((await store.getCheckpoint('c', 'main'))?.value, 3);
    const s = buf.status();
    assert.equal(s.batches, 3);
    assert.equal(s.events, 6);
    assert.ok(s.bytes > 0 && s.oldestAt);
    assert.equal(s.lastError?.code, 'destination_unavailable');
    assert.deepEqual(a.ids(), []);
    // Health: the buffer acknowledged, so the collector records no failing destination.
    assert.deepEqual(await store.listDeliveryFailures('c'), []);

    a.up = true;
    await buf.drained();
    assert.deepEqual(a.ids(), ALL(3), 'every event once, in order');
    // The vendor's text reaches A byte for byte, as it reached B.
    assert.deepEqual(a.batches.flat().map(encodeLine), b.batches.flat().map(encodeLine));
    assert.deepEqual(buf.status().batches, 0);
    assert.equal(buf.status().lastError, undefined);
    await buf.close();
  });

  it('writes its files 0600 in a 0700 directory', async () => {
    const a = new Switchable('a');
    a.up = false;
    const buf = buffered(a);
    const { run } = await setup(source(2), [buf]);
    await run();
    const dir = (buf as unknown as { o: BufferOptions }).o.dir;
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const files = readdirSync(dir);
    assert.equal(files.length, 2);
    for (const f of files) {
      assert.match(f, /^\d{16}\.batch$/);
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
    }
    await buf.close();
  });

  it('full: the collector waits (destination_buffer_full, recorded for health) and nothing is dropped', async () => {
    const a = new Switchable('a');
    const b = new Switchable('b');
    a.up = false;
    // One event of ~30 KB per batch: two batches fit in 64 KiB, the third does not.
    const buf = buffered(a, { maxBytes: 65_536 });
    const { store, run } = await setup(source(5, 1, 30_000), [buf, b]);
    const full =
      (await metrics.destinationBufferFull.get()).values.find((v) => v.labels.destination === 'a')?.value ??
      0;
    const r = await run({ destinationMaxWaitMs: 20 });
    assert.equal(r.status, 'failed');
    assert.equal(r.error?.code, 'destination_buffer_full');
    assert.equal(
      (await store.getCheckpoint('c', 'main'))?.value,
      2,
      'the checkpoint stops at what the buffer owns',
    );
    assert.equal(buf.status().batches, 2);
    assert.ok(buf.status().full);
    const failures = await store.listDeliveryFailures('c');
    assert.deepEqual(
      failures.map((f) => [f.destination, f.error.code]),
      [['a', 'destination_buffer_full']],
    );
    assert.ok(
      ((await metrics.destinationBufferFull.get()).values.find((v) => v.labels.destination === 'a')?.value ??
        0) > full,
    );

    a.up = true;
    await buf.drained();
    assert.equal(buf.status().full, false);
    const again = await run();
    assert.equal(again.status, 'succeeded');
    await buf.drained();
    assert.deepEqual(a.ids(), ALL(5, 1), 'A: every event once, in order');
    assert.deepEqual(
      [...new Set(b.ids())].sort(),
      ALL(5, 1),
      'B: every event (the batch in flight may repeat)',
    );
    assert.equal(b.ids().length - new Set(b.ids()).size <= 1, true);
    await buf.close();
  });

  it('a restart drains what the buffer kept, and removes a write it did not finish', async () => {
    const a = new Switchable('a');
    a.up = false;
    const first = buffered(a);
    const { run } = await setup(source(3), [first]);
    await run();
    await first.close();
    const dir = (first as unknown as { o: BufferOptions }).o.dir;
    writeFileSync(join(dir, '0000000000000099.tmp'), 'half a batch');
    assert.deepEqual(a.ids(), []);

    a.up = true;
    const again = new BufferedDestination(a, { ...(first as unknown as { o: BufferOptions }).o });
    await again.drained();
    assert.deepEqual(a.ids(), ALL(3));
    assert.deepEqual(readdirSync(dir), []);
    await again.close();
  });

  it('a slow delivery is buffered while it runs, and not sent again once it succeeds', async () => {
    const a = new Switchable('a');
    const b = new Switchable('b');
    a.hold();
    const buf = buffered(a, { spillAfterMs: 10 });
    const { store, run } = await setup(source(3), [buf, b]);
    const r = await run();
    assert.equal(r.status, 'succeeded');
    assert.equal((await store.getCheckpoint('c', 'main'))?.value, 3);
    assert.deepEqual(b.ids(), ALL(3));
    assert.equal(a.sends, 1, 'A was sent the first batch only; the others wait in the buffer behind it');
    a.held!.release();
    a.held = undefined;
    await buf.drained();
    assert.deepEqual(a.ids(), ALL(3), 'the first batch was not sent twice');
    assert.equal(a.sends, 3);
    await buf.close();
  });

  it('delivers directly while nothing is buffered', async () => {
    const a = new Switchable('a');
    const buf = buffered(a);
    const { run } = await setup(source(2), [buf]);
    await run();
    assert.deepEqual(a.ids(), ALL(2));
    assert.equal(buf.status().batches, 0);
    const dir = (buf as unknown as { o: BufferOptions }).o.dir;
    assert.deepEqual(readdirSync(dir), []);
    await buf.close();
  });

  it('events refused for good while draining become dead letters of their collector', async () => {
    const a = new Switchable('a');
    a.up = false;
    const letters: Array<{ collector: string; stream: string; reason: string; raw: string }> = [];
    const buf = buffered(a, { deadLetters: async (items) => void letters.push(...items) });
    const { run } = await setup(source(2), [buf]);
    await run();
    a.reject = (e) => (e.id === 'p1-0' ? 'mapping error' : undefined);
    a.up = true;
    await buf.drained();
    assert.deepEqual(a.ids(), ['p0-0', 'p0-1', 'p1-1']);
    assert.deepEqual(
      letters.map((l) => [l.collector, l.stream, l.reason, JSON.parse(l.raw).id]),
      [['demo', 'main', 'destination a: mapping error', 'p1-0']],
    );
    await buf.close();
  });

  it('keeps a batch until its dead letters are recorded (a store that fails once)', async () => {
    const a = new Switchable('a');
    a.up = false;
    let failures = 1;
    const letters: string[] = [];
    const buf = buffered(a, {
      backoffMaxMs: 5,
      deadLetters: async (items) => {
        if (failures-- > 0) throw new Error('database is locked');
        letters.push(...items.map((i) => JSON.parse(i.raw).id as string));
      },
    });
    const { run } = await setup(source(1), [buf]);
    await run();
    a.reject = (e) => (e.id === 'p0-1' ? 'refused' : undefined);
    a.up = true;
    await buf.drained();
    assert.deepEqual(letters, ['p0-1'], 'recorded once the store answers');
    assert.deepEqual(a.ids(), ['p0-0', 'p0-0'], 'the batch was offered again, not dropped');
    await buf.close();
  });

  it('sets a file that is not a batch aside as .corrupt, and drains the rest', async () => {
    const a = new Switchable('a');
    a.up = false;
    const first = buffered(a);
    const { run } = await setup(source(2), [first]);
    await run();
    await first.close();
    const o = (first as unknown as { o: BufferOptions }).o;
    const [oldest] = readdirSync(o.dir).sort();
    writeFileSync(join(o.dir, oldest!), 'garbage\n{"id":');
    a.up = true;
    const again = new BufferedDestination(a, o);
    await again.drained();
    assert.deepEqual(a.ids(), ['p1-0', 'p1-1']);
    assert.deepEqual(readdirSync(o.dir), [oldest!.replace('.batch', '.corrupt')]);
    await again.close();
  });

  it('two processes on one buffer both finish draining: a batch the other removed is skipped', async () => {
    const a = new Switchable('a');
    a.up = false;
    const first = buffered(a, { backoffBaseMs: 1, backoffMaxMs: 2 });
    const { run } = await setup(source(4), [first]);
    await run();
    await first.close();
    const o = (first as unknown as { o: BufferOptions }).o;
    const one = new BufferedDestination(a, o);
    // The second waits longer between attempts: the first drains everything while it waits.
    const two = new BufferedDestination(a, { ...o, backoffBaseMs: 300, backoffMaxMs: 300 });
    const end = Date.now() + 10_000;
    while (!two.status().lastError && Date.now() < end) await new Promise((r) => setImmediate(r));
    assert.ok(two.status().lastError, 'the second tried once and waits');
    a.up = true;
    await one.drained();
    await two.drained(); // its files are gone: skipped, not waited for forever
    assert.deepEqual(a.ids(), ALL(4), 'each batch once');
    assert.deepEqual(readdirSync(o.dir), []);
    await one.close();
    await two.close();
  });

  it('withholds the end marker of a context refresh whose records it refused while draining, across a restart', async () => {
    // The runner withholds the marker of a refresh with dead letters it was told of; records refused while a
    // buffer drains are dead-lettered after the runner moved on, so the buffer itself must withhold the marker,
    // or the destination would drop the entities it refused (docs/architecture.md, "Context records").
    const at = '2026-01-01T00:00:00.000Z';
    const ctx = (id: string, op: 'upsert' | 'end', snapshot: string): Envelope => ({
      id,
      time: at,
      source: 'okta-context',
      stream: 'users',
      collector: 'okta-ctx',
      ingested_at: at,
      raw: { id },
      kind: 'context',
      op,
      entity: 'user',
      snapshot,
    });
    const S1 = '2026-01-01T00:00:00.000Z';
    const S2 = '2026-01-02T00:00:00.000Z';
    const a = new Switchable('a');
    a.up = false;
    const letters: string[] = [];
    const first = buffered(a, {
      deadLetters: async (items) => void letters.push(...items.map((i) => i.stream)),
    });
    const signal = new AbortController().signal;
    await first.send([ctx('u1', 'upsert', S1), ctx('u2', 'upsert', S1)], signal); // spilled: a is down
    await first.send([ctx(`end:users:${S1}`, 'end', S1)], signal); // behind it, in order
    a.reject = (e) => (e.id === 'u2' ? 'mapping error' : undefined);
    a.up = true;
    await first.drained();
    assert.deepEqual(letters, ['users'], 'u2 became a dead letter while draining');
    assert.deepEqual(a.ids(), ['u1'], 'the refresh is not complete for a: its marker was withheld');
    await first.close();
    // The runner sends the marker again (a retry for another destination), after a restart: still withheld.
    const o = (first as unknown as { o: BufferOptions }).o;
    const again = new BufferedDestination(a, o);
    a.reject = undefined;
    await again.send([ctx(`end:users:${S1}`, 'end', S1)], signal);
    assert.deepEqual(a.ids(), ['u1']);
    // A later refresh delivered whole completes.
    await again.send([ctx('u1', 'upsert', S2), ctx('u2', 'upsert', S2)], signal);
    await again.send([ctx(`end:users:${S2}`, 'end', S2)], signal);
    assert.deepEqual(a.ids(), ['u1', 'u1', 'u2', `end:users:${S2}`]);
    await again.close();
  });

  it('reads a line back with the vendor text intact', () => {
    const line =
      '{"id":"x","time":"2026-01-01T00:00:00.000Z","source":"s","stream":"t","collector":"c","sitename":"hq","ingested_at":"2026-01-01T00:00:01.000Z","raw":{"n":12345678901234567890}}';
    const env = decodeLine(line);
    assert.ok(env.raw instanceof RawJson);
    assert.equal((env.raw as RawJson).text, '{"n":12345678901234567890}');
    assert.equal(encodeLine(env), line);
  });
});
