import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryDestination } from '../../test/support/memory-destination.ts';
import { accountKinds } from '../accounts/index.ts';
import type { Destination, SendResult } from '../core/destination.ts';
import type { Envelope } from '../core/envelope.ts';
import { defineSource } from '../core/source.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import {
  type ContextCheckpoint,
  contextStream,
  restartSnapshot,
  snapshotLedger,
} from './context-snapshot.ts';
import { silentLogger } from './log.ts';
import { RateLimits } from './rate-limit.ts';
import { type ResolvedCollector, runCollector } from './runner.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * A directory of entities in memory: the full reader pages through it (position = next index), the
 * delta reader returns what changed since its start (position = change sequence).
 */
function directory() {
  const entities = new Map<string, { id: string; v: number; gone?: boolean }>();
  for (let i = 0; i < 9; i++) entities.set(`u${i}`, { id: `u${i}`, v: 0 });
  const changes: Array<{ at: number; id: string }> = [];
  let clock = Date.parse('2026-12-01T00:00:00Z');
  const fullStarts: number[] = [];
  /** Entities the full reader finds malformed: dead letters instead of records. */
  const malformed = new Set<string>();
  const source = defineSource({
    id: 'fake-context',
    title: 'Fake context',
    account: 'okta',
    stability: 'ga',
    family: 'context',
    description: 'test',
    setupGuide: '',
    settings: { safeParse: (v: unknown) => ({ success: true, data: v }) } as never,
    async test() {},
    streams: {
      users: contextStream({
        title: 'Users',
        entity: 'user',
        op: (r) => (r.gone ? 'delete' : 'upsert'),
        refreshEvery: () => 86_400_000,
        async *full(ctx) {
          let at = (ctx.checkpoint as number | undefined) ?? 0;
          fullStarts.push(at);
          const live = [...entities.values()].filter((e) => !e.gone);
          for (; at < live.length; at += 3) {
            const page = live.slice(at, at + 3);
            yield {
              events: page.filter((e) => !malformed.has(e.id)).map((e) => ({ raw: { ...e }, id: e.id })),
              deadLetters: page
                .filter((e) => malformed.has(e.id))
                .map((e) => ({ raw: e, reason: 'malformed' })),
              checkpoint: at + 3,
              pages: 1,
            };
          }
        },
        async *delta(ctx) {
          const since = ctx.checkpoint === undefined ? Date.parse(ctx.window.start!) : -1;
          let seq = (ctx.checkpoint as number | undefined) ?? changes.findIndex((c) => c.at >= since);
          if (seq < 0) seq = changes.length;
          const page = changes.slice(seq).map((c) => ({ raw: { ...entities.get(c.id)! }, id: c.id }));
          yield { events: page, checkpoint: changes.length, pages: 1 };
        },
      }),
    },
  });
  return {
    source,
    now: () => clock,
    advance: (ms: number) => {
      clock += ms;
    },
    change(id: string, gone = false) {
      const e = entities.get(id)!;
      entities.set(id, { id, v: e.v + 1, gone });
      changes.push({ at: clock, id });
    },
    fullStarts,
    malformed,
  };
}

async function setup(dir: ReturnType<typeof directory>, dest: Destination, batchesPerCommit?: number) {
  const path = mkdtempSync(join(tmpdir(), 'tributary-context-'));
  dirs.push(path);
  const store = await SqliteStore.open(path);
  await store.migrate();
  const at = new Date().toISOString();
  await store.putCollector({
    id: 'c',
    name: 'c',
    source: 'fake-context',
    config: {},
    enabled: true,
    secrets: {},
    createdAt: at,
    updatedAt: at,
  });
  const collector: ResolvedCollector = {
    id: 'c',
    name: 'ctx',
    source: dir.source,
    accountKind: accountKinds.okta,
    account: {},
    accountKey: 'a',
    settings: {},
    streams: ['users'],
    destinations: [dest],
    window: { lookbackMs: 0 },
    batchesPerCommit,
  };
  const run = (signal?: AbortSignal) =>
    runCollector(collector, {
      store,
      log: silentLogger,
      rateLimits: new RateLimits(null),
      destinationBackoff: { baseMs: 1, maxMs: 2 },
      now: dir.now,
      signal,
    });
  const checkpoint = async () => (await store.getCheckpoint('c', 'users'))?.value as ContextCheckpoint;
  return { run, checkpoint, store };
}

describe('context streams (engine)', () => {
  it('a refresh killed half-way is not marked complete; the next run finishes it under the same snapshot, then deltas follow', async () => {
    const dir = directory();
    const dest = new MemoryDestination();
    const { run, checkpoint } = await setup(dir, dest);
    // The crash: the process dies while the second page is being delivered (nothing after it commits).
    const crash = new AbortController();
    dest.failOn(2, () => {
      crash.abort();
      throw new Error('killed');
    });
    const killed = await run(crash.signal);
    assert.notEqual(killed.status, 'succeeded');
    const half = await checkpoint();
    assert.equal(half.phase, 'refresh', 'not marked complete');
    assert.equal(half.position, 3, 'the first page committed');
    assert.ok(!dest.events.some((e) => e.op === 'end'), 'no end-of-snapshot marker');

    const resumed = await run();
    assert.equal(resumed.status, 'succeeded');
    assert.deepEqual(dir.fullStarts, [0, 3], 'resumed at the uncommitted page');
    const done = await checkpoint();
    assert.equal(done.phase, 'delta');
    assert.equal(done.snapshot, half.snapshot);
    assert.equal(done.count, 9);
    const records = dest.events.filter((e) => e.op !== 'end');
    assert.deepEqual(
      [...new Set(records.map((e) => e.id))].sort(),
      ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'],
      'every entity once the refresh completes',
    );
    assert.ok(
      records.every((e) => e.kind === 'context' && e.entity === 'user' && e.snapshot === half.snapshot),
    );
    const [marker] = dest.events.filter((e) => e.op === 'end');
    assert.equal(marker.snapshot, half.snapshot);
    assert.equal(marker.id, `end:users:${half.snapshot}`);
    assert.equal(dest.events.at(-1), marker, 'the marker comes after every record of its refresh');

    // Between refreshes: deltas, deletions as `delete`, tagged with the last complete snapshot.
    dest.batches.length = 0;
    dir.advance(60_000);
    dir.change('u1');
    dir.change('u4', true);
    const delta = await run();
    assert.equal(delta.status, 'succeeded');
    assert.deepEqual(
      dest.events.map((e) => [e.id, e.op, e.snapshot]),
      [
        ['u1', 'upsert', half.snapshot],
        ['u4', 'delete', half.snapshot],
      ],
    );

    // A day later the refresh is due: the full state under a new snapshot id, u4 no longer in it.
    dest.batches.length = 0;
    dir.advance(86_400_000);
    await run();
    const next = await checkpoint();
    assert.notEqual(next.snapshot, half.snapshot);
    assert.equal(next.phase, 'delta');
    assert.deepEqual(
      dest.events.filter((e) => e.op !== 'end').map((e) => e.id),
      ['u0', 'u1', 'u2', 'u3', 'u5', 'u6', 'u7', 'u8'],
    );
    assert.equal(dest.events.at(-1)?.op, 'end');
    assert.equal(dest.events.at(-1)?.snapshot, next.snapshot);
  });

  it('delivers the same entity twice in a run when it changed twice (no in-run de-duplication of states)', async () => {
    const dir = directory();
    const dest = new MemoryDestination();
    const { run } = await setup(dir, dest);
    await run();
    dest.batches.length = 0;
    dir.advance(1000);
    dir.change('u2');
    dir.change('u2', true);
    await run();
    assert.deepEqual(
      dest.events.map((e) => [e.id, e.op]),
      [
        ['u2', 'delete'],
        ['u2', 'delete'],
      ],
      'both changes arrive (the reader sees the latest state twice)',
    );
  });

  it('withholds the end-of-snapshot marker when a destination refused records of the refresh; a later clean refresh completes', async () => {
    const dir = directory();
    const dest = new MemoryDestination();
    /** Refuses (for good) the records whose ids it holds, like a destination rejecting a mapping. */
    const refuse = new Set(['u4']);
    const refusing: Destination = {
      name: 'refusing',
      kind: 'memory',
      async send(events: Envelope[]): Promise<SendResult> {
        const rejected = events
          .filter((e) => refuse.has(e.id))
          .map((event) => ({ event, reason: 'mapping' }));
        await dest.send(events.filter((e) => !refuse.has(e.id)));
        return { rejected };
      },
      close: async () => {},
    };
    const { run, checkpoint, store } = await setup(dir, refusing);
    const first = await run();
    assert.equal(first.status, 'succeeded');
    assert.equal(first.deadLetters, 1);
    assert.deepEqual(dest.markers(), [], 'no marker: u4 was only dead-lettered, a destination must keep it');
    const cp = await checkpoint();
    assert.equal(cp.phase, 'delta', 'the refresh was read whole; deltas follow');
    assert.equal(cp.deadLetters, 1, 'and it is recorded as incomplete');
    const errors = await store.listErrors('c');
    const warning = errors.find((e) => e.code === 'snapshot_incomplete');
    assert.ok(warning, 'a warning on the collector');
    assert.match(warning.message, /1 of its records/);
    assert.match(warning.message, new RegExp(cp.snapshot));

    // The next refresh is delivered whole: its marker goes out.
    refuse.clear();
    dir.advance(86_400_000);
    assert.equal((await run()).status, 'succeeded');
    const next = await checkpoint();
    assert.notEqual(next.snapshot, cp.snapshot);
    assert.equal(next.deadLetters, undefined);
    assert.deepEqual(
      dest.markers().map((m) => m.snapshot),
      [next.snapshot],
    );
  });

  it('counts dead letters of a refresh across a crash: the resumed refresh still withholds its marker', async () => {
    const dir = directory();
    dir.malformed.add('u1'); // page 1 (u0–u2): a record the source could not read
    const dest = new MemoryDestination();
    const { run, checkpoint } = await setup(dir, dest);
    const crash = new AbortController();
    dest.failOn(2, () => {
      crash.abort();
      throw new Error('killed');
    });
    await run(crash.signal);
    const half = await checkpoint();
    assert.equal(half.phase, 'refresh');
    assert.equal(half.deadLetters, 1, 'committed with the page that had it');
    assert.equal((await run()).status, 'succeeded');
    const done = await checkpoint();
    assert.equal(done.snapshot, half.snapshot);
    assert.equal(done.deadLetters, 1);
    assert.deepEqual(dest.markers(), []);
    assert.equal(dest.recordIds().length, 8);
  });

  it('group commit never joins a marker with the records before it', async () => {
    const dir = directory();
    const dest = new MemoryDestination();
    // A slow destination: the batches after the first are read while it writes, ready to go together.
    const slow: Destination = {
      name: 'slow',
      kind: 'memory',
      async send(events) {
        for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
        return dest.send(events);
      },
      close: async () => {},
    };
    const { run } = await setup(dir, slow, 10);
    assert.equal((await run()).status, 'succeeded');
    assert.ok(dest.batches.length < 4, `batches went together (${dest.batches.length} sends)`);
    const last = dest.batches.at(-1)!;
    assert.deepEqual(
      last.map((e) => e.op),
      ['end'],
    );
  });

  it('a full reader that finds its list changed restarts the refresh under a new snapshot; the interrupted one never completes', async () => {
    let version = 1;
    let names = ['a', 'b', 'c', 'd', 'e', 'f'];
    let clock = Date.parse('2026-12-01T00:00:00Z');
    const source = defineSource({
      id: 'fake-context',
      title: 'Fake list',
      account: 'okta',
      stability: 'ga',
      family: 'context',
      description: 'test',
      setupGuide: '',
      settings: { safeParse: (v: unknown) => ({ success: true, data: v }) } as never,
      async test() {},
      streams: {
        users: contextStream({
          title: 'List',
          entity: 'ip',
          refreshEvery: () => 86_400_000,
          async *full(ctx) {
            const saved = ctx.checkpoint as { at: number; v: number } | undefined;
            let at = saved?.at ?? 0;
            if (saved && saved.v !== version) {
              at = 0;
              yield restartSnapshot({ at, v: version });
            }
            const list = [...names];
            for (; at < list.length; at += 2)
              yield {
                events: list.slice(at, at + 2).map((id) => ({ raw: { id }, id })),
                checkpoint: { at: at + 2, v: version },
              };
          },
        }),
      },
    });
    const dir = { source, now: () => clock } as unknown as ReturnType<typeof directory>;
    const dest = new MemoryDestination();
    const { run, checkpoint } = await setup(dir, dest);
    const crash = new AbortController();
    dest.failOn(3, () => {
      crash.abort();
      throw new Error('killed');
    });
    await run(crash.signal); // sends a–b and c–d, then is killed delivering e–f
    const first = await checkpoint();
    assert.equal(first.phase, 'refresh');
    // The vendor's list changes before the next run: b left, g came in.
    version = 2;
    names = ['a', 'c', 'd', 'e', 'f', 'g'];
    clock += 60_000;
    assert.equal((await run()).status, 'succeeded');
    const done = await checkpoint();
    assert.notEqual(done.snapshot, first.snapshot, 'a new snapshot id');
    assert.equal(done.snapshot, new Date(clock).toISOString());
    assert.equal(done.count, 6);
    assert.deepEqual(
      dest.markers().map((m) => m.snapshot),
      [done.snapshot],
      'the interrupted refresh is never marked complete',
    );
    const after = dest.events.filter((e) => e.snapshot === done.snapshot && e.op !== 'end');
    assert.deepEqual(
      after.map((e) => e.id),
      names,
      'the new refresh delivers the new list from its first row',
    );
  });

  it("the ledger counts a refresh's dead letters while its snapshot id stays, and only the refresh's", () => {
    const S1 = '2026-12-01T00:00:00.000Z';
    const S2 = '2026-12-02T00:00:00.000Z';
    const r = (snapshot: string, deadLetters?: number): ContextCheckpoint => ({
      snapshot,
      phase: 'refresh',
      count: 0,
      ...(deadLetters ? { deadLetters } : {}),
    });
    const d = (snapshot: string): ContextCheckpoint => ({ snapshot, phase: 'delta', count: 0 });
    assert.equal(snapshotLedger.count(r(S1), undefined, 2).deadLetters, 2);
    assert.equal(snapshotLedger.count(r(S1), r(S1, 2), 1).deadLetters, 3, 'adds up');
    assert.equal(snapshotLedger.count(d(S1), r(S1, 3), 0).deadLetters, 3, 'kept as the refresh ends');
    assert.equal(
      snapshotLedger.count(d(S1), { ...d(S1), deadLetters: 3 }, 5).deadLetters,
      3,
      'deltas add none',
    );
    assert.equal(
      snapshotLedger.count(r(S2), { ...d(S1), deadLetters: 3 }, 0).deadLetters,
      undefined,
      'a new refresh starts at 0',
    );
    assert.equal(snapshotLedger.deadLetters(r(S1, 3), S1), 3);
    assert.equal(snapshotLedger.deadLetters(r(S1, 3), S2), 0);
    assert.equal(snapshotLedger.deadLetters(undefined, S1), 0);
  });
});
