import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../sim/kit.ts';
import { SlackSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const S0 = T0 / 1000;

interface Page {
  entries: Array<Record<string, any>>;
  response_metadata: { next_cursor: string };
}

describe('SlackSimulator: GET /audit/v1/logs', () => {
  const clock = new ManualClock(T0);
  // 120 entries 500 ms apart (two per second), the first at T0 - 60 s.
  const sim = new SlackSimulator({
    events: 120,
    start: T0 - 60_000,
    spacingMs: 500,
    seed: 5,
    clock: clock.now,
    rateLimitPerMinute: 10_000,
  });
  let url = '';
  const get = (query: string, token = sim.token) =>
    fetch(`${url}/logs${query}`, { headers: { authorization: `Bearer ${token}` } });
  before(async () => {
    url = await sim.start();
  });
  after(() => sim.stop());

  test('entries newest first, in the documented shape, with response_metadata.next_cursor', async () => {
    const res = await get('?limit=10');
    assert.equal(res.status, 200);
    const body = (await res.json()) as Page;
    assert.equal(body.entries.length, 10);
    assert.deepEqual(
      body.entries.map((e) => e.id),
      sim.eventIds().slice(-10).reverse(),
    );
    const e = body.entries[0];
    assert.equal(typeof e.date_create, 'number');
    assert.ok(Number.isInteger(e.date_create), 'Unix seconds');
    assert.equal(e.actor.type, 'user');
    assert.match(e.actor.user.id, /^W/);
    assert.ok(['user', 'channel', 'file', 'app', 'workspace'].includes(e.entity.type));
    assert.ok(e.context.location.type && e.context.ip_address && e.context.ua);
    assert.ok(body.response_metadata.next_cursor.length > 0);
  });

  test('cursor pages cover everything once; the last next_cursor is empty', async () => {
    const got: string[] = [];
    let cursor = '';
    for (let i = 0; i < 50; i++) {
      const res = await get(`?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      const body = (await res.json()) as Page;
      got.push(...body.entries.map((e) => e.id));
      cursor = body.response_metadata.next_cursor;
      if (!cursor) break;
    }
    assert.equal(cursor, '');
    assert.deepEqual(got, [...sim.eventIds()].reverse());
  });

  test('oldest and latest are inclusive Unix seconds', async () => {
    const body = (await (await get(`?oldest=${S0 - 50}&latest=${S0 - 41}&limit=100`)).json()) as Page;
    assert.equal(body.entries.length, 20, 'ten seconds, two entries each');
    assert.ok(body.entries.every((e) => e.date_create >= S0 - 50 && e.date_create <= S0 - 41));
    assert.equal(body.entries[0].date_create, S0 - 41);
    assert.equal(body.entries.at(-1)?.date_create, S0 - 50);
  });

  test('a page holds more than limit when entries share the last second (documented)', async () => {
    const body = (await (await get(`?oldest=${S0 - 50}&limit=3`)).json()) as Page;
    assert.equal(body.entries.length, 4, 'the 3rd entry shares its second with the 4th');
    assert.equal(body.entries[2].date_create, body.entries[3].date_create);
  });

  test('filters: action (comma-separated), actor, entity', async () => {
    const all = sim.events();
    const action = all[7].action;
    const byAction = (await (await get(`?action=${action},no_such_action&limit=500`)).json()) as Page;
    assert.ok(byAction.entries.length > 0 && byAction.entries.every((e) => e.action === action));
    const actor = all[9].actor.user.id;
    const byActor = (await (await get(`?actor=${actor}&limit=500`)).json()) as Page;
    assert.ok(byActor.entries.some((e) => e.id === all[9].id));
    assert.ok(byActor.entries.every((e) => e.actor.user.id === actor));
  });

  test('errors: not_authed, invalid_auth, invalid_arguments (limit over 9999, bad numbers), invalid_cursor', async () => {
    const none = await fetch(`${url}/logs`);
    assert.equal(none.status, 401);
    assert.deepEqual(await none.json(), { ok: false, error: 'not_authed' });
    const wrong = await get('', 'xoxp-1-2-3-wrong');
    assert.equal(wrong.status, 401);
    assert.deepEqual(await wrong.json(), { ok: false, error: 'invalid_auth' });
    for (const q of [
      '?limit=10000',
      '?oldest=yesterday',
      `?action=${Array(31).fill('user_login').join(',')}`,
    ]) {
      const r = await get(q);
      assert.equal(r.status, 400, q);
      assert.deepEqual(await r.json(), { ok: false, error: 'invalid_arguments' });
    }
    const badCursor = await get('?cursor=bm9wZQ==');
    assert.equal(badCursor.status, 400);
    assert.deepEqual(await badCursor.json(), { ok: false, error: 'invalid_cursor' });
  });

  test('late indexing: an entry is returned only from its visibility time', async () => {
    const [id] = sim.addEvents(1, { from: clock.now() - 5_000, visibleDelayMs: 30_000 });
    const seen = async () =>
      ((await (await get(`?oldest=${S0 - 5}&latest=${S0 - 5}`)).json()) as Page).entries.some(
        (e) => e.id === id,
      );
    assert.equal(await seen(), false);
    clock.advance(30_000);
    assert.equal(await seen(), true);
  });
});

describe('SlackSimulator: plan, scope and Tier 3', () => {
  test('403 missing_scope without auditlogs:read; 403 feature_not_enabled without Enterprise', async (t) => {
    const noScope = new SlackSimulator({ events: 1, scopes: ['users:read'] });
    const u1 = await noScope.start();
    t.after(() => noScope.stop());
    const r1 = await fetch(`${u1}/logs`, { headers: { authorization: `Bearer ${noScope.token}` } });
    assert.equal(r1.status, 403);
    assert.deepEqual(await r1.json(), {
      ok: false,
      error: 'missing_scope',
      needed: 'auditlogs:read',
      provided: 'users:read',
    });
    await noScope.stop();
    const pro = new SlackSimulator({ events: 1, enterprisePlan: false });
    const u2 = await pro.start();
    t.after(() => pro.stop());
    const r2 = await fetch(`${u2}/logs`, { headers: { authorization: `Bearer ${pro.token}` } });
    assert.equal(r2.status, 403);
    assert.deepEqual(await r2.json(), { ok: false, error: 'feature_not_enabled' });
    await pro.stop();
  });

  test('past 50 calls a minute (organization-wide): 429 ratelimited with Retry-After until the next minute', async (t) => {
    const clock = new ManualClock(T0 + 45_000);
    const sim = new SlackSimulator({ events: 1, clock: clock.now });
    const url = await sim.start();
    t.after(() => sim.stop());
    const get = () => fetch(`${url}/logs`, { headers: { authorization: `Bearer ${sim.token}` } });
    for (let i = 0; i < 50; i++) assert.equal((await get()).status, 200);
    const limited = await get();
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '15');
    assert.deepEqual(await limited.json(), { ok: false, error: 'ratelimited' });
    clock.advance(15_000);
    assert.equal((await get()).status, 200);
    assert.deepEqual(sim.writeCalls(), []);
    await sim.stop();
  });
});
