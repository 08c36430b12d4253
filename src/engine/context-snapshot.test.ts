import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryDestination } from '../../test/support/memory-destination.ts';
import { accountKinds } from '../accounts/index.ts';
import { defineSource } from '../core/source.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { type ContextCheckpoint, contextStream } from './context-snapshot.ts';
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
            yield { events: page.map((e) => ({ raw: { ...e }, id: e.id })), checkpoint: at + 3, pages: 1 };
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
  };
}

async function setup(dir: ReturnType<typeof directory>, dest: MemoryDestination) {
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
  return { run, checkpoint };
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
});
