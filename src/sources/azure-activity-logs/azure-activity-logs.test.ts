import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainMicrosoft } from '../../../test/support/microsoft-drain.ts';
import { type MicrosoftAccount, microsoft, microsoftToken } from '../../accounts/microsoft.ts';
import { Http } from '../../engine/http.ts';
import { tokenCache } from '../../engine/oauth.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import source from './index.ts';
import { ActivityLogSimulator } from './simulator.ts';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');

const accountOf = (sim: ActivityLogSimulator): MicrosoftAccount => ({
  tenantId: sim.tenantId,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  cloud: 'global',
  authorityHost: sim.url,
});

function drain(
  sim: ActivityLogSimulator,
  clock: ManualClock,
  o: { checkpoint?: unknown; subs?: string[]; lookbackMs?: number; maxBatches?: number } = {},
) {
  return drainMicrosoft(
    source,
    accountOf(sim),
    {
      stream: 'activity-log',
      settings: { subscriptionIds: o.subs ?? sim.subscriptionIds, baseUrl: sim.url },
      checkpoint: o.checkpoint,
      now: clock.now,
      window: { lookbackMs: o.lookbackMs ?? 6 * 3_600_000 },
    },
    o.maxBatches,
  );
}

describe('azure-activity-logs', () => {
  it('reads every subscription through nextLink pages, with the documented filter and api-version', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock(T0);
    const sim = new ActivityLogSimulator({ clock: clock.now, pageSize: 7 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, clock);
    assert.equal(r.error, undefined);
    assert.deepEqual([...r.ids].sort(), sim.eventIds().sort());
    assert.equal(new Set(r.ids).size, r.ids.length, 'no duplicates');
    const pages = sim.requests().filter((q) => /eventtypes\/management\/values/.test(q.path));
    assert.ok(
      pages.some((q) => q.query.has('$skipToken')),
      'followed nextLink',
    );
    for (const q of pages.filter((q) => !q.query.has('$skipToken'))) {
      assert.equal(q.query.get('api-version'), '2015-04-01');
      assert.match(
        q.query.get('$filter') ?? '',
        /^eventTimestamp ge '\S+Z' and eventTimestamp le '\S+9999Z'$/,
      );
    }
    const parts = (r.checkpoint as any).parts;
    assert.deepEqual(
      Object.keys(parts).sort(),
      [...sim.subscriptionIds].sort(),
      'a position per subscription',
    );
    const tokens = sim.identity.tokenRequests.map((q) => q.scope);
    assert.deepEqual([...new Set(tokens)], ['https://management.azure.com/.default']);
    assert.equal(sim.writeCalls().length, 0);
  });

  it('resumes each subscription from its checkpoint, and delivers events indexed within the lag', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock(T0);
    const sim = new ActivityLogSimulator({ clock: clock.now, pageSize: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, clock, { maxBatches: 3 });
    const rest = await drain(sim, clock, { checkpoint: first.checkpoint });
    const all = [...first.ids, ...rest.ids];
    assert.deepEqual([...new Set(all)].sort(), sim.eventIds().sort());
    clock.advance(10 * 60_000);
    const [sub] = sim.subscriptionIds;
    const late = sim.add(sub, 3, {
      from: clock.now() - 25 * 60_000,
      spacingMs: 1000,
      visibleDelayMs: 5 * 60_000,
    });
    clock.advance(40 * 60_000);
    const more = await drain(sim, clock, { checkpoint: rest.checkpoint });
    assert.deepEqual(more.ids.sort(), [...late].sort(), 'late events inside the overlap, nothing repeated');
  });

  it('names the missing Reader role per subscription, and keeps reading the others', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock(T0);
    const sim = new ActivityLogSimulator({ clock: clock.now });
    await sim.start();
    t.after(() => sim.stop());
    const [denied, allowed] = sim.subscriptionIds;
    sim.denied.add(denied);
    const r = await drain(sim, clock);
    assert.deepEqual(r.ids.sort(), sim.eventIds([allowed]).sort());
    assert.equal(r.error?.code, 'azure_role_missing');
    assert.equal(r.error?.type, 'config');
    assert.match(r.error?.action, /Reader role/);
    assert.doesNotMatch(JSON.stringify(r.error), new RegExp(sim.clientSecret.replace(/[^\w]/g, '.')));
    const settings = { subscriptionIds: sim.subscriptionIds, baseUrl: sim.url };
    const tc = await testConnection(source, microsoft, accountOf(sim), settings);
    assert.ok(!tc.ok);
    assert.equal(tc.error.code, 'azure_role_missing');
    assert.match(tc.error.message, new RegExp(denied));
    sim.denied.clear();
    assert.deepEqual(await testConnection(source, microsoft, accountOf(sim), settings), { ok: true });
    const missing = { subscriptionIds: ['0f0f0f0f-0000-4000-8000-000000000000'], baseUrl: sim.url };
    const nf = await testConnection(source, microsoft, accountOf(sim), missing);
    assert.ok(!nf.ok);
    assert.equal(nf.error.code, 'azure_subscription_not_found');
  });

  it('waits out a 429 with Retry-After and goes on', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock(T0);
    const sim = new ActivityLogSimulator({ clock: clock.now, pageSize: 5 });
    await sim.start();
    t.after(() => sim.stop());
    sim.inject({ kind: 'rate-limit', retryAfter: 1, path: /eventtypes/, afterRequests: 2 });
    const r = await drain(sim, clock);
    assert.equal(r.error, undefined);
    assert.deepEqual([...r.ids].sort(), sim.eventIds().sort());
    const asked = sim
      .requests()
      .filter((q) => /eventtypes/.test(q.path))
      .map((q) => q.query.toString());
    assert.equal(asked[2], asked[3], 'the throttled request was asked again');
  });

  it('simulates ARM subscription-read throttling with its headers and error body', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock(T0);
    const sim = new ActivityLogSimulator({ clock: clock.now, throttle: { size: 2, perSecond: 1 } });
    await sim.start();
    t.after(() => sim.stop());
    const token = (
      await microsoftToken(new Http({ vendor: 'x' }), accountOf(sim), 'https://management.azure.com')
    ).token;
    const url = `${sim.url}/subscriptions/${sim.subscriptionIds[0]}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=${encodeURIComponent(`eventTimestamp ge '2026-12-01T10:00:00Z' and eventTimestamp le '2026-12-01T11:00:00Z'`)}`;
    const get = () => fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const a = await get();
    assert.equal(a.headers.get('x-ms-ratelimit-remaining-subscription-reads'), '1');
    await get();
    const c = await get();
    assert.equal(c.status, 429);
    assert.equal(c.headers.get('retry-after'), '1');
    assert.equal(((await c.json()) as any).error.code, 'SubscriptionRequestsThrottled');
    clock.advance(1000);
    assert.equal((await get()).status, 200, 'the bucket refills');
    clock.advance(1000);
    const bad = await fetch(url.replace(/&\$filter=.*/, ''), {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as any).code, 'BadRequest');
  });

  it('refuses bad settings naming the field', () => {
    const r = source.settings.safeParse({ subscriptionIds: ['not-a-guid'] });
    assert.ok(!r.success);
    assert.deepEqual(r.error.issues[0].path, ['subscriptionIds', 0]);
    assert.ok(!source.settings.safeParse({ subscriptionIds: [] }).success);
  });
});
