import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type MicrosoftAccount, microsoft } from '../../accounts/microsoft.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';

import msSource, { versionId } from './index.ts';

import { SecuritySimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const fast = { requests: 1000, windowMs: 1000 };

const accountOf = (sim: SecuritySimulator): MicrosoftAccount => ({
  tenantId: sim.tenantId,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  cloud: 'global',
  authorityHost: sim.url,
});

async function drain(
  sim: SecuritySimulator,
  stream: string,
  clock: ManualClock,
  checkpoint?: unknown,
  o: { lookbackMs?: number; warnings?: unknown[] } = {},
) {
  const account = accountOf(sim);
  const http: Http = new Http({
    vendor: msSource.title,
    backoffBaseMs: 1,
    explain: msSource.explain,
    authorize: (h, refresh, url) => microsoft.authorize(account, h, { refresh, http, url }),
  });
  const batches: Batch[] = [];
  const ctx = readContext(http, {
    stream,
    settings: { pageSize: 7, baseUrl: sim.url },
    account,
    checkpoint,
    now: clock.now,
    window: { lookbackMs: o.lookbackMs ?? 3_600_000 },
    warn: (w) => o.warnings?.push(w),
  });
  for await (const b of msSource.streams[stream].read(ctx)) batches.push(b);
  return { events: batches.flatMap((b) => b.events), checkpoint: batches.at(-1)?.checkpoint };
}

describe('microsoft-security-alerts', () => {
  it('Test Connection passes, and names the missing permission per stream', async (t) => {
    const sim = new SecuritySimulator({ rateLimit: fast });
    await sim.start();
    t.after(() => sim.stop());
    const settings = { pageSize: 50, baseUrl: sim.url };
    assert.deepEqual(await testConnection(msSource, microsoft, accountOf(sim), settings), { ok: true });
    sim.permissions = new Set(['SecurityAlert.Read.All']);
    const r = await testConnection(msSource, microsoft, accountOf(sim), settings, ['alerts', 'incidents']);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'graph_permission_missing');
    assert.match(r.error.action, /SecurityIncident\.Read\.All/);
    assert.deepEqual(await testConnection(msSource, microsoft, accountOf(sim), settings, ['alerts']), {
      ok: true,
    });
    await sim.stop();
  });

  it('filters on lastUpdateDateTime without $orderby and pages by @odata.nextLink', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SecuritySimulator({
      clock: clock.now,
      rateLimit: fast,
      events: { alerts: 20, incidents: 9 },
    });
    await sim.start();
    t.after(() => sim.stop());
    const alerts = await drain(sim, 'alerts', clock);
    assert.deepEqual(alerts.events.map((e) => e.id).sort(), sim.eventIds(['alerts']).sort());
    const incidents = await drain(sim, 'incidents', clock);
    assert.deepEqual(incidents.events.map((e) => e.id).sort(), sim.eventIds(['incidents']).sort());
    const q = sim.requests().find((r) => r.path === '/v1.0/security/alerts_v2')!.query;
    assert.match(q.get('$filter')!, /^lastUpdateDateTime ge \S+ and lastUpdateDateTime le \S+9999Z$/);
    assert.equal(q.get('$orderby'), null);
    assert.equal(q.get('$top'), '7');
    assert.ok(
      sim.requests().filter((r) => r.path === '/v1.0/security/alerts_v2').length >= 3,
      'several pages',
    );
    await sim.stop();
  });

  it('delivers an updated alert again as a new version: same raw.id, new lastUpdateDateTime and envelope id', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SecuritySimulator({
      clock: clock.now,
      rateLimit: fast,
      events: { alerts: 5, incidents: 0 },
    });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'alerts', clock);
    assert.equal(first.events.length, 5);
    const before = first.events.find((e) => (e.raw as any).id === sim.idOf('alerts', 2))!;
    assert.equal((before.raw as any).status, 'new');

    clock.advance(4 * 60_000);
    const newId = sim.update('alerts', 2, clock.now() - 3 * 60_000); // updated 3 minutes ago
    clock.advance(60_000);
    const second = await drain(sim, 'alerts', clock, first.checkpoint);
    assert.equal(second.events.length, 1, 'only the new version; the overlap re-read repeats nothing');
    const after = second.events[0];
    assert.equal(after.id, newId);
    assert.notEqual(after.id, before.id);
    assert.equal((after.raw as any).id, (before.raw as any).id);
    assert.ok((after.raw as any).lastUpdateDateTime > (before.raw as any).lastUpdateDateTime);
    assert.equal((after.raw as any).status, 'inProgress');
    assert.equal(after.time, new Date(Date.parse((after.raw as any).lastUpdateDateTime)).toISOString());
    await sim.stop();
  });

  for (const [stream, odataCount] of [
    ['alerts', true],
    ['incidents', true],
    ['alerts', false],
  ] as const) {
    it(`${stream}: an update between two $skip pages does not make the neighbour vanish${odataCount ? '' : ' (no @odata.count: passes compared)'}`, async () => {
      const clock = new ManualClock(T0);
      const sim = new SecuritySimulator({
        odataCount,
        clock: clock.now,
        rateLimit: fast,
        events: { alerts: stream === 'alerts' ? 30 : 0, incidents: stream === 'incidents' ? 30 : 0 },
        start: T0 - 4 * 3_600_000, // older than the 10-minute overlap: a miss would be for good
        spacingMs: 60_000,
      });
      await sim.start();
      const original = sim.eventIds([stream]);
      sim.updateWhilePaging(stream, 2);
      const warnings: unknown[] = [];
      const first = await drain(sim, stream, clock, undefined, { lookbackMs: 6 * 3_600_000, warnings });
      const ids = first.events.map((e) => e.id!);
      assert.deepEqual([...new Set(ids)].sort(), [...original].sort(), 'every alert of the window, once');
      assert.equal(ids.length, new Set(ids).size, 'no duplicates from the re-read');
      assert.deepEqual(warnings, []);
      const pages = sim.requests().filter((r) => r.path.startsWith('/v1.0/security/'));
      assert.ok(pages.every((r) => r.query.get('$count') === 'true'));
      assert.ok(pages.length <= 3 * Math.ceil(30 / 7), `the re-read is bounded (${pages.length} requests)`);
      // The updated ones come back as new versions once their update is behind the lag.
      clock.advance(3 * 60_000);
      const second = await drain(sim, stream, clock, first.checkpoint);
      assert.deepEqual(
        [...new Set([...ids, ...second.events.map((e) => e.id!)])].sort(),
        [...new Set([...original, ...sim.eventIds([stream])])].sort(),
      );
      await sim.stop();
    });
  }

  it('a count that disagrees with the list costs one more pass per window, not four, and no warning', async () => {
    const clock = new ManualClock(T0);
    const sim = new SecuritySimulator({
      clock: clock.now,
      rateLimit: fast,
      events: { alerts: 20, incidents: 0 },
      odataCountSkew: 1,
    });
    await sim.start();
    try {
      const warnings: unknown[] = [];
      const r = await drain(sim, 'alerts', clock, undefined, { warnings });
      assert.deepEqual(r.events.map((e) => e.id).sort(), sim.eventIds(['alerts']).sort());
      assert.deepEqual(warnings, []);
      const pages = sim.requests().filter((q) => q.path === '/v1.0/security/alerts_v2').length;
      assert.equal(pages, 2 * Math.ceil(20 / 7), 'two passes that agree');
    } finally {
      await sim.stop();
    }
  });

  it('derives the version id from id and lastUpdateDateTime, and none without them', () => {
    assert.equal(
      versionId({ id: 'da1_2', lastUpdateDateTime: '2026-11-25T10:00:00.1234567Z' }),
      'da1_2@2026-11-25T10:00:00.1234567Z',
    );
    assert.equal(versionId({ id: 'da1_2' }), undefined);
    assert.equal(versionId(null), undefined);
  });
});
