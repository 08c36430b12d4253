import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainMicrosoft } from '../../../test/support/microsoft-drain.ts';
import { type MicrosoftAccount, microsoft } from '../../accounts/microsoft.ts';
import { hashId } from '../../core/envelope.ts';
import { tokenCache } from '../../engine/oauth.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import source from './index.ts';
import { LogAnalyticsSimulator } from './simulator.ts';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');

const accountOf = (sim: LogAnalyticsSimulator): MicrosoftAccount => ({
  tenantId: sim.tenantId,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  cloud: 'global',
  authorityHost: sim.url,
});

const expected = (sim: LogAnalyticsSimulator) =>
  sim
    .records()
    .map((r) => hashId({ table: r.Type, ...r }))
    .sort();

function drain(sim: LogAnalyticsSimulator, clock: ManualClock, checkpoint?: unknown, maxBatches?: number) {
  return drainMicrosoft(
    source,
    accountOf(sim),
    {
      stream: 'tables',
      settings: source.settings.parse({
        workspaceId: sim.workspaceId,
        tables: sim.tables(),
        baseUrl: sim.url,
      }),
      checkpoint,
      now: clock.now,
      window: { lookbackMs: 2 * 3_600_000 },
    },
    maxBatches,
  );
}

describe('azure-log-analytics', () => {
  it('queries each table by ingestion time with a timespan, and delivers every row once', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock(T0);
    const sim = new LogAnalyticsSimulator({ clock: clock.now });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, clock);
    assert.equal(r.error, undefined);
    assert.deepEqual([...r.ids].sort(), expected(sim));
    assert.equal(new Set(r.ids).size, r.ids.length);
    assert.deepEqual(Object.keys((r.checkpoint as any).parts).sort(), ['SecurityEvent', 'SigninLogs']);
    assert.equal(sim.writeCalls(/\/query$/).length, 0);
    assert.deepEqual(
      [...new Set(sim.identity.tokenRequests.map((x) => x.scope))],
      ['https://api.loganalytics.io/.default'],
    );
  });

  it('splits a window whose answer hits the row cap (PartialError), delivering nothing twice', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock(T0);
    const sim = new LogAnalyticsSimulator({
      clock: clock.now,
      tables: { SecurityEvent: 40 },
      maxRows: 6,
      requestsPer30s: 100_000,
    });
    sim.add('SecurityEvent', 30, { from: T0 - 40 * 60_000, spacingMs: 1000 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, clock);
    assert.equal(r.error, undefined);
    assert.deepEqual([...r.ids].sort(), expected(sim));
    assert.equal(new Set(r.ids).size, r.ids.length);
  });

  it('resumes each table at its position, and picks up rows ingested late', async (t) => {
    tokenCache.clear();
    const clock = new ManualClock(T0);
    const sim = new LogAnalyticsSimulator({ clock: clock.now });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, clock, undefined, 1);
    const rest = await drain(sim, clock, first.checkpoint);
    assert.deepEqual([...new Set([...first.ids, ...rest.ids])].sort(), expected(sim));
    // Generated long ago, ingested just now: inside the timespan slack, found by ingestion time.
    sim.add('SigninLogs', 3, {
      from: T0 - 6 * 3_600_000,
      spacingMs: 1000,
      ingestDelayMs: 6 * 3_600_000 - 60_000,
    });
    clock.advance(10 * 60_000);
    const late = await drain(sim, clock, rest.checkpoint);
    assert.equal(late.ids.length, 3);
  });

  it('names Log Analytics Reader on 403, a missing table on 400, and refuses table names that are not names', async (t) => {
    tokenCache.clear();
    const sim = new LogAnalyticsSimulator();
    await sim.start();
    t.after(() => sim.stop());
    const settings = { workspaceId: sim.workspaceId, tables: ['SigninLogs'], baseUrl: sim.url };
    assert.deepEqual(await testConnection(source, microsoft, accountOf(sim), settings), { ok: true });
    const missing = await testConnection(source, microsoft, accountOf(sim), {
      ...settings,
      tables: ['Nope_CL'],
    });
    assert.ok(!missing.ok);
    assert.equal(missing.error.code, 'log_analytics_table_unknown');
    sim.denied = true;
    const denied = await testConnection(source, microsoft, accountOf(sim), settings);
    assert.ok(!denied.ok);
    assert.equal(denied.error.code, 'azure_role_missing');
    assert.match(denied.error.action, /Log Analytics Reader/);
    for (const bad of ['SigninLogs | take 10', 'T; drop', 'a b', '1Table']) {
      const r = source.settings.safeParse({ workspaceId: sim.workspaceId, tables: [bad] });
      assert.ok(!r.success, bad);
      assert.deepEqual(r.error.issues[0].path, ['tables', 0]);
    }
  });
});
