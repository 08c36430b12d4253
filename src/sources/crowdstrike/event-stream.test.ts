import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { duplicates, sorted } from '../../../test/support/ids.ts';
import { MemoryDestination } from '../../../test/support/memory-destination.ts';
import { readContext } from '../../../test/support/read-context.ts';
import { tempDirs } from '../../../test/support/temp-dirs.ts';
import { type CrowdStrikeAccount, crowdstrike as crowdstrikeAccount } from '../../accounts/crowdstrike.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Destination } from '../../core/destination.ts';
import { Http } from '../../engine/http.ts';
import { silentLogger } from '../../engine/log.ts';
import { tokenCache } from '../../engine/oauth.ts';
import { type ConsumerSource, consumeStream } from '../../engine/stream-consumer.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import { SqliteStore } from '../../store/sqlite/sqlite-store.ts';
import { appIdOf } from './event-stream.ts';
import crowdstrike from './index.ts';
import { CrowdStrikeSimulator } from './simulator.ts';

const fresh = tempDirs('tributary-cs-stream');
const stores: SqliteStore[] = [];
after(() => Promise.all(stores.map((s) => s.close())));

async function store(): Promise<SqliteStore> {
  const s = await SqliteStore.open(fresh());
  stores.push(s);
  await s.migrate();
  const at = new Date().toISOString();
  await s.putCollector({
    id: 'c-cs',
    name: 'falcon',
    source: 'crowdstrike',
    config: {},
    enabled: true,
    secrets: {},
    createdAt: at,
    updatedAt: at,
  });
  return s;
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function sourceOf(sim: CrowdStrikeSimulator, clock: ManualClock): ConsumerSource {
  const account = sim.account() as CrowdStrikeAccount;
  const http: Http = new Http({
    vendor: 'CrowdStrike',
    backoffBaseMs: 1,
    now: clock.now,
    authorize: (h, refresh, url) => crowdstrikeAccount.authorize(account, h, { refresh, http, url }),
    explain: crowdstrike.explain,
  });
  const r = validateSettings('crowdstrike', { appId: 'tributarytest' });
  if (!r.ok) throw new Error(r.issues.join());
  const ctx = readContext(http, { stream: 'event-stream', settings: r.settings, account, now: clock.now });
  return crowdstrike.streams['event-stream'].consume!(ctx as never);
}

function run(s: SqliteStore, source: ConsumerSource, destinations: Destination[], owner = 'w1') {
  const stop = new AbortController();
  const kill = new AbortController();
  const done = consumeStream({
    target: { id: 'c-cs', name: 'falcon', source: 'crowdstrike', stream: 'event-stream', destinations },
    source,
    store: s,
    owner,
    log: silentLogger,
    stop: stop.signal,
    signal: kill.signal,
    leaseTtlMs: 1000,
    idleMs: 10,
    errorBackoffMs: 10,
    maxRecords: 7,
    destinationBackoff: { baseMs: 1, maxMs: 5 },
  });
  return { stop: () => stop.abort(), kill: () => kill.abort(), done };
}

describe('crowdstrike event stream', () => {
  it('reads every partition from offset 0 with the session token, and keeps reading what arrives', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock('2026-11-25T12:00:00.000Z');
    const sim = new CrowdStrikeSimulator({ clock: clock.now, alerts: 0, feed: { partitions: 3 } });
    await sim.start();
    t.after(() => sim.stop());
    sim.feed.add(30);
    const dest = new MemoryDestination();
    const c = run(await store(), sourceOf(sim, clock), [dest]);
    await until('the first events', () => dest.ids().length === 30);
    sim.feed.add(9);
    await until('events that arrived on the open feeds', () => dest.ids().length === 39);
    c.stop();
    assert.equal((await c.done).status, 'succeeded');
    assert.deepEqual(sorted(dest.ids()), sorted(sim.feed.ids()));
    assert.deepEqual(duplicates(dest.ids()), []);
    assert.deepEqual(
      sim.feed.connections.map((x) => x.offset),
      [0, 0, 0],
      'one connection per partition, kept open for new events',
    );
    const e = dest.events[0];
    assert.match(e.id, /^\d+:\d+$/);
    assert.equal(e.time, new Date((e.raw as any).metadata.eventCreationTime).toISOString());
    await until('the feeds closed when the consumer ended', () => sim.feed.openConnections() === 0);
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('a feed cut mid-line is opened again at the offset reached: nothing lost, nothing repeated, no half event', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock('2026-11-25T12:00:00.000Z');
    const sim = new CrowdStrikeSimulator({ clock: clock.now, alerts: 0, feed: { partitions: 2 } });
    await sim.start();
    t.after(() => sim.stop());
    sim.feed.add(20);
    const dest = new MemoryDestination();
    const c = run(await store(), sourceOf(sim, clock), [dest]);
    await until('the first events', () => dest.ids().length === 20);
    sim.feed.drop({ midLine: true }); // each feed cut in the middle of its next event's line
    sim.feed.add(10);
    await until('events after the drop', () => dest.ids().length === 30);
    c.stop();
    await c.done;
    assert.deepEqual(sorted(dest.ids()), sorted(sim.feed.ids()));
    assert.deepEqual(duplicates(dest.ids()), []);
    assert.ok(
      dest.ids().every((id) => /^\d+:\d+$/.test(id)),
      'no cut-off line delivered as an event',
    );
    assert.deepEqual(
      [...new Set(sim.feed.connections.slice(2).map((x) => x.offset))],
      [10],
      'reconnected at the next offset of each partition',
    );
  });

  it('refreshes the session before its interval runs out; a session that ended is discovered again', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock('2026-11-25T12:00:00.000Z');
    const sim = new CrowdStrikeSimulator({
      clock: clock.now,
      alerts: 0,
      feed: { partitions: 1, sessionSeconds: 600 },
    });
    await sim.start();
    t.after(() => sim.stop());
    sim.feed.add(5);
    const dest = new MemoryDestination();
    const c = run(await store(), sourceOf(sim, clock), [dest]);
    await until('the first events', () => dest.ids().length === 5);
    clock.advance(9.5 * 60_000); // past nine tenths of the 10-minute interval
    sim.feed.add(1);
    await until('a refresh', () => (sim.feed.refreshes[0] ?? 0) >= 1);
    await until('the event after the refresh', () => dest.ids().length === 6);
    clock.advance(11 * 60_000); // no read in between refreshed it: the session ends
    sim.feed.expire();
    sim.feed.add(2);
    await until('events on a new session', () => dest.ids().length === 8, 20_000);
    c.stop();
    await c.done;
    assert.deepEqual(sorted(dest.ids()), sorted(sim.feed.ids()));
    assert.deepEqual(duplicates(dest.ids()), []);
    assert.ok(sim.requests().filter((r) => r.path === '/sensors/entities/datafeed/v2').length >= 2);
  });

  it('a consumer killed mid-feed: the next resumes at the committed offset, repeating at most the batch in flight', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock('2026-11-25T12:00:00.000Z');
    const sim = new CrowdStrikeSimulator({ clock: clock.now, alerts: 0, feed: { partitions: 2 } });
    await sim.start();
    t.after(() => sim.stop());
    sim.feed.add(40);
    const s = await store();
    const dest = new MemoryDestination();
    let sends = 0;
    let inFlight: string[] = [];
    let c: ReturnType<typeof run>;
    const crashing: Destination = {
      name: 'crashing',
      kind: 'memory',
      send: async (events) => {
        if (++sends === 3) {
          await dest.send(events); // written, but the process dies before the commit
          inFlight = events.map((e) => e.id);
          c.kill();
          throw new Error('process killed');
        }
        return dest.send(events);
      },
      close: async () => {},
    };
    c = run(s, sourceOf(sim, clock), [crashing], 'first');
    assert.equal((await c.done).status, 'cancelled');
    const next = run(s, sourceOf(sim, clock), [crashing], 'second');
    await until('a full drain', () => new Set(dest.ids()).size === 40);
    next.stop();
    await next.done;
    assert.deepEqual(sorted([...new Set(dest.ids())]), sorted(sim.feed.ids()));
    for (const d of duplicates(dest.ids()))
      assert.ok(inFlight.includes(d), `${d} repeated from the batch in flight`);
    const resumed = sim.feed.connections.slice(-2).map((x) => x.offset);
    assert.ok(
      resumed.some((o) => o > 0),
      `resumed at committed offsets ${resumed}`,
    );
  });

  it('the app ID: the setting, else tributary and the collector name; Test Connection checks the scope', async (t) => {
    assert.equal(appIdOf(undefined, 'falcon-prod_1'), 'tributaryfalconprod1');
    assert.equal(appIdOf(undefined, 'x'.repeat(40)).length, 32);
    assert.equal(appIdOf('mine', 'falcon'), 'mine');
    const bad = validateSettings('crowdstrike', { appId: 'has spaces' });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.issues.join(), /appId: expected 1 to 32 letters and digits/);
    const sim = new CrowdStrikeSimulator({ alerts: 1, scopes: ['alerts:read'] });
    await sim.start();
    t.after(() => sim.stop());
    tokenCache.clear();
    const r = validateSettings('crowdstrike', {});
    if (!r.ok) throw new Error(r.issues.join());
    const res = await testConnection(crowdstrike, crowdstrikeAccount, sim.account(), r.settings, [
      'alerts',
      'event-stream',
    ]);
    assert.equal(!res.ok && res.error.code, 'crowdstrike_scope_missing');
    if (!res.ok) assert.match(res.error.action, /Event streams: Read/);
    assert.deepEqual(
      await testConnection(crowdstrike, crowdstrikeAccount, sim.account(), r.settings, ['alerts']),
      {
        ok: true,
      },
    );
  });
});
