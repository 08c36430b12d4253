import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type CarbonBlackAccount, carbonBlack, carbonBlackFields } from '../../accounts/carbon-black.ts';
import { validateSettings } from '../../config/config-file.ts';
import { hashId } from '../../core/envelope.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import cb, { MAX_ROWS } from './index.ts';
import { CarbonBlackSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('carbon-black', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: CarbonBlackSimulator,
  o: {
    now: number;
    checkpoint?: TimeWindowCheckpoint;
    settings?: Record<string, unknown>;
    lagMs?: number;
    stream?: 'alerts' | 'audit-logs';
  },
) {
  const account: CarbonBlackAccount = sim.account();
  const http: Http = new Http({
    vendor: 'Carbon Black Cloud',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => carbonBlack.authorize(account, h, { refresh, http, url }),
    explain: cb.explain,
  });
  const ctx = readContext(http, {
    stream: o.stream ?? 'alerts',
    settings: settingsOf(o.settings),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: 2 * 3_600_000, lagMs: o.lagMs },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of cb.streams[o.stream ?? 'alerts'].read(ctx) as AsyncIterable<
    Batch<TimeWindowCheckpoint>
  >)
    batches.push(b);
  return { batches, ids: batches.flatMap((b) => b.events.map((e) => e.id as string)) };
}

describe('carbon-black account and settings', () => {
  it('keeps the secret secret, sends it as secret/id, and names the field at fault', async () => {
    const a = carbonBlackFields.parse({
      url: 'https://defense-eu.conferdeploy.net/',
      orgKey: 'ABCD1234',
      apiId: 'ZYXW9876AB',
      apiSecret: 'S3CRETS3CRETS3CRETS3CRET',
    }) as CarbonBlackAccount;
    assert.deepEqual(carbonBlack.origins?.(a), ['https://defense-eu.conferdeploy.net']);
    assert.deepEqual(carbonBlack.secrets, ['apiSecret']);
    const h = new Headers();
    await carbonBlack.authorize(a, h, { refresh: false, http: undefined as never, url: new URL(a.url) });
    assert.equal(h.get('x-auth-token'), 'S3CRETS3CRETS3CRETS3CRET/ZYXW9876AB');
    const bad = carbonBlackFields.safeParse({
      url: 'https://x.example',
      orgKey: 'a b',
      apiId: '?',
      apiSecret: 'short',
    });
    const text = formatIssues(bad.error!).join('\n');
    assert.match(text, /^orgKey: expected the org key/m);
    assert.match(text, /^apiSecret: expected the API Secret Key/m);
    assert.doesNotMatch(text, /short/);
    assert.deepEqual(settingsOf(), { pageSize: 1000, waitForFinalAlerts: false });
  });
});

describe('carbon-black Test Connection', () => {
  it('passes with org.alerts READ; explains a wrong key, a missing permission and a wrong org key', async (t) => {
    const ok = new CarbonBlackSimulator({ alerts: 2 });
    const noRead = new CarbonBlackSimulator({ alerts: 2, alertsRead: false });
    for (const s of [ok, noRead]) {
      await s.start();
      t.after(() => s.stop());
    }
    const test = (sim: CarbonBlackSimulator, over: Partial<CarbonBlackAccount> = {}) =>
      testConnection(cb, carbonBlack, { ...sim.account(), ...over }, settingsOf());
    assert.deepEqual(await test(ok), { ok: true });
    const key = await test(ok, { apiSecret: 'WRONGWRONGWRONGWRONG' });
    assert.equal(!key.ok && key.error.code, 'carbon_black_invalid_key');
    assert.doesNotMatch(JSON.stringify(key), /WRONGWRONG/);
    const perm = await test(noRead);
    assert.equal(!perm.ok && perm.error.code, 'carbon_black_forbidden');
    if (!perm.ok) assert.match(perm.error.action, /org\.alerts READ/);
    const org = await test(ok, { orgKey: 'OTHER123' });
    assert.equal(!org.ok && org.error.code, 'carbon_black_not_found');
    for (const s of [ok, noRead]) assert.deepEqual(s.writeCalls(), []);
  });
});

describe('carbon-black audit logs', () => {
  it('searches create_time windows sorted ascending, paged by rows from 0; ids are entry hashes', async (t) => {
    const T = Date.parse('2026-11-25T12:00:00.000Z');
    const sim = new CarbonBlackSimulator({ clock: () => T, alerts: 23, spacingMs: 60_000, seed: 9 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, { now: T, stream: 'audit-logs', settings: { pageSize: 10 } });
    const want = sim.auditRecords().map((e) => hashId(e));
    assert.deepEqual(r.ids, want, 'oldest first, once each');
    assert.equal(r.batches.length, 3);
    assert.equal(r.batches[0].events[0].time, sim.auditRecords()[0].create_time);
    const again = await drain(sim, { now: T, stream: 'audit-logs', settings: { pageSize: 10 } });
    assert.deepEqual(again.ids, want, 'the same id on every read');
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('Test Connection names org.audits READ when the key lacks it', async (t) => {
    const sim = new CarbonBlackSimulator({ alerts: 2, auditsRead: false });
    await sim.start();
    t.after(() => sim.stop());
    const all = await testConnection(cb, carbonBlack, sim.account(), settingsOf());
    assert.equal(!all.ok && all.error.code, 'carbon_black_forbidden');
    if (!all.ok) assert.match(all.error.action, /org\.audits READ/);
    assert.deepEqual(await testConnection(cb, carbonBlack, sim.account(), settingsOf(), ['alerts']), {
      ok: true,
    });
  });
});

describe('carbon-black alerts', () => {
  it('searches time_range windows sorted by backend_timestamp, paged by rows from 1', async (t) => {
    const sim = new CarbonBlackSimulator({ clock: () => T0, alerts: 25, spacingMs: 60_000, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, { now: T0, settings: { pageSize: 10, minimumSeverity: 1 }, lagMs: 60_000 });
    assert.deepEqual(r.ids, sim.expectedIds(), 'every alert once, oldest first');
    const bodies = sim.searches;
    assert.equal(bodies.length, 3);
    assert.deepEqual(bodies[0].time_range, {
      start: '2026-11-25T10:00:00.000Z',
      end: '2026-11-25T11:59:00.000Z',
    });
    assert.deepEqual(bodies[0].sort, [{ field: 'backend_timestamp', order: 'ASC' }]);
    assert.deepEqual(bodies[0].criteria, { minimum_severity: 1 });
    assert.deepEqual(
      bodies.map((b) => [b.start, b.rows]),
      [
        [1, 10],
        [11, 10],
        [21, 10],
      ],
    );
    const e = r.batches[0].events[0];
    assert.equal(e.time, (e.raw as Record<string, unknown>).backend_timestamp);
  });

  it('waits 15 minutes for final CB Analytics alerts when asked', async (t) => {
    const sim = new CarbonBlackSimulator({ clock: () => T0, alerts: 3, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    await drain(sim, { now: T0, settings: { waitForFinalAlerts: true } });
    const body = sim.searches[0];
    assert.equal(body.time_range.end, '2026-11-25T11:45:00.000Z');
  });

  it('halves a window holding more alerts than the search pages to', async (t) => {
    const n = MAX_ROWS + 300;
    const sim = new CarbonBlackSimulator({ clock: () => T0, alerts: n, spacingMs: 500, seed: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, { now: T0, settings: { pageSize: 5000 } });
    assert.equal(r.ids.length, n);
    assert.equal(new Set(r.ids).size, n);
    const bodies = sim.searches;
    assert.ok(
      bodies.every((b) => b.start + b.rows - 1 <= MAX_ROWS),
      'no request past the cap',
    );
  });
});
