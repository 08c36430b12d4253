import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainMicrosoft } from '../../../test/support/microsoft-drain.ts';
import { type MicrosoftAccount, microsoft } from '../../accounts/microsoft.ts';
import { tokenCache } from '../../engine/oauth.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import source from './index.ts';
import { MessageTraceSimulator } from './simulator.ts';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');
const fast = { requests: 100_000, windowMs: 1000 };

const accountOf = (sim: MessageTraceSimulator): MicrosoftAccount => ({
  tenantId: sim.tenantId,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  cloud: 'global',
  authorityHost: sim.url,
});

const drain = (sim: MessageTraceSimulator, clock: ManualClock, checkpoint?: unknown, maxBatches?: number) =>
  drainMicrosoft(
    source,
    accountOf(sim),
    {
      stream: 'message-trace',
      settings: { pageSize: 7, baseUrl: sim.url },
      checkpoint,
      now: clock.now,
      window: { lookbackMs: 3 * 3_600_000 },
    },
    maxBatches,
  );

describe('microsoft-365-exchange-admin-reports', () => {
  it('filters on receivedDateTime ge/le, pages by @odata.nextLink and delivers every trace once', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock(T0);
    const sim = new MessageTraceSimulator({ clock: clock.now, rateLimit: fast, events: 40 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, clock);
    assert.equal(r.error, undefined);
    assert.deepEqual([...r.ids].sort(), sim.eventIds().sort());
    assert.equal(new Set(r.ids).size, r.ids.length);
    const asked = sim.requests().filter((q) => /messageTraces$/.test(q.path));
    assert.ok(
      asked.some((q) => q.query.has('$skiptoken')),
      'followed @odata.nextLink',
    );
    assert.match(
      asked[0].query.get('$filter') ?? '',
      /^receivedDateTime ge \S+ and receivedDateTime le \S+9999Z$/,
    );
    assert.equal(sim.writeCalls().length, 0);
  });

  it('resumes from its checkpoint and picks up traces reported late, within the overlap', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock(T0);
    const sim = new MessageTraceSimulator({ clock: clock.now, rateLimit: fast, events: 30 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, clock, undefined, 2);
    const rest = await drain(sim, clock, first.checkpoint);
    assert.deepEqual([...new Set([...first.ids, ...rest.ids])].sort(), sim.eventIds().sort());
    const before = new Set(sim.eventIds());
    sim.add(3, { from: clock.now() - 20 * 60_000, spacingMs: 1000, visibleDelayMs: 10 * 60_000 });
    clock.advance(30 * 60_000);
    const late = await drain(sim, clock, rest.checkpoint);
    assert.deepEqual(
      late.ids.sort(),
      sim
        .eventIds()
        .filter((id) => !before.has(id))
        .sort(),
    );
  });

  it('Test Connection names ExchangeMessageTrace.Read.All when the permission is missing', async (t) => {
    tokenCache.clear();
    const sim = new MessageTraceSimulator({ rateLimit: fast });
    await sim.start();
    t.after(() => sim.stop());
    const settings = { pageSize: 10, baseUrl: sim.url };
    assert.deepEqual(await testConnection(source, microsoft, accountOf(sim), settings), { ok: true });
    sim.permissions = new Set();
    const r = await testConnection(source, microsoft, accountOf(sim), settings);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'graph_permission_missing');
    assert.match(r.error.action, /ExchangeMessageTrace\.Read\.All/);
    assert.doesNotMatch(JSON.stringify(r.error), new RegExp(sim.clientSecret.replace(/\W/g, '.')));
  });
});
