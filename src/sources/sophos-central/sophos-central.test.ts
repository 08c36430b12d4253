import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type SophosAccount, sophosCentral, sophosFields } from '../../accounts/sophos-central.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import type { KeyedCheckpoint } from '../../engine/keyed-stream.ts';
import { tokenCache } from '../../engine/oauth.ts';
import type { OpaqueCheckpoint } from '../../engine/opaque-cursor.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import sophos from './index.ts';
import { DAY_MS, SophosSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('sophos-central', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: SophosSimulator,
  stream: 'events' | 'alerts',
  o: {
    now: () => number;
    checkpoint?: OpaqueCheckpoint;
    settings?: Record<string, unknown>;
    lookbackMs?: number;
  },
) {
  const account = sim.account() as unknown as SophosAccount;
  const http: Http = new Http({
    vendor: 'Sophos Central',
    backoffBaseMs: 1,
    now: o.now,
    authorize: (h, refresh, url) => sophosCentral.authorize(account, h, { refresh, http, url }),
    explain: sophos.explain,
  });
  const warnings: TributaryError[] = [];
  const ctx = readContext(http, {
    stream,
    settings: settingsOf({ pageSize: 10, ...o.settings }),
    account,
    checkpoint: o.checkpoint,
    now: o.now,
    window: { lookbackMs: o.lookbackMs ?? 3_600_000, overlapMs: 0, retention: sophos.retention },
    warn: (w) => warnings.push(w),
  });
  const batches: Batch<OpaqueCheckpoint>[] = [];
  for await (const b of sophos.streams[stream].read(ctx) as AsyncIterable<Batch<OpaqueCheckpoint>>)
    batches.push(b);
  return {
    batches,
    warnings,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

describe('sophos-central account and settings', () => {
  it('validates the credential, keeps the secret, and sends the token only to Sophos hosts', () => {
    const a = sophosFields.parse({
      clientId: '0b0e4d2a-1c3f-4e5a-9b8c-7d6e5f4a3b2c',
      clientSecret: 'x'.repeat(40),
    });
    assert.deepEqual(sophosCentral.origins?.(a as SophosAccount), [
      'https://id.sophos.com/api/v2/oauth2/token',
      'https://api.central.sophos.com',
      'https://*.central.sophos.com',
    ]);
    assert.ok(sophosCentral.secrets.includes('clientSecret'));
    const bad = sophosFields.safeParse({ clientId: 'nope', clientSecret: 'short' });
    const issues = formatIssues(bad.error!).join('\n');
    assert.match(issues, /clientId: expected the Client ID/);
    assert.doesNotMatch(issues, /short/);
    assert.ok(!validateSettings('sophos-central', { tenantId: 'acme' }).ok);
  });
});

describe('sophos-central reading', () => {
  it('finds the data region with whoami, sends X-Tenant-ID, and keeps next_cursor for the next run', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SophosSimulator({ clock: clock.now, items: 25 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'events', { now: clock.now });
    assert.deepEqual(first.ids, sim.ids(['events']));
    const siem = sim.requests().filter((r) => r.path === '/siem/v1/events');
    assert.equal(siem[0].headers['x-tenant-id'], sim.tenantId);
    assert.equal(siem[0].query.get('from_date'), String((T0 - 3_600_000) / 1000));
    assert.equal(siem[1].query.get('from_date'), null, 'a cursor alone on the next pages');
    assert.ok(siem[1].query.get('cursor'));
    assert.equal(sim.requests()[1].path, '/whoami/v1');
    clock.advance(60_000);
    const fresh = sim.addItems('events', 2, { spacingMs: 1000 });
    const second = await drain(sim, 'events', { now: clock.now, checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, fresh);
    assert.deepEqual(second.warnings, []);
  });

  it('asks at most 24 hours back on a first run whatever the lookback', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SophosSimulator({ clock: clock.now, items: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const res = await drain(sim, 'alerts', { now: clock.now, lookbackMs: 7 * DAY_MS });
    assert.deepEqual(res.ids, sim.ids(['alerts']));
    const asked = Number(
      sim
        .requests()
        .find((r) => r.path === '/siem/v1/alerts')
        ?.query.get('from_date'),
    );
    assert.ok(asked * 1000 >= T0 - DAY_MS && asked * 1000 <= T0 - DAY_MS + 60_000);
  });

  it('turns a cursor older than 24 hours into gap warnings naming the hours lost, and reads what Sophos keeps', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SophosSimulator({ clock: clock.now, items: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'events', { now: clock.now });
    clock.advance(30 * 3_600_000); // the collector was stopped for 30 hours
    const kept = sim.addItems('events', 3, { spacingMs: 1000 });
    const later = await drain(sim, 'events', { now: clock.now, checkpoint: first.checkpoint });
    const codes = later.warnings.map((w) => w.code);
    assert.deepEqual(codes, ['cursor_beyond_retention', 'cursor_expired']);
    assert.ok(later.warnings.every((w) => w.type === 'gap'));
    assert.match(
      later.warnings[1].message,
      /no longer keeps events from 2026-11-25T11:5\d:\d\d\.000Z to 2026-11-25T18:0\d/,
    );
    assert.deepEqual(later.ids, kept);
  });

  it('with partner credentials and a tenant ID, reads that tenant at its own API host', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SophosSimulator({ clock: clock.now, items: 10, idType: 'partner', tenants: 2, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const res = await drain(sim, 'events', { now: clock.now, settings: { tenantId: sim.tenantId } });
    assert.deepEqual(res.ids, sim.ids(['events'], 0));
    const tenant = sim.requests().find((r) => r.path.startsWith('/partner/v1/tenants/'));
    assert.equal(tenant?.headers['x-partner-id'], sim.partnerId);
  });

  for (const idType of ['partner', 'organization'] as const)
    it(`${idType} credentials without a tenant ID read every tenant, each from its own position`, async (t) => {
      const clock = new ManualClock(T0);
      const sim = new SophosSimulator({ clock: clock.now, items: 30, idType, tenants: 3, seed: 5 });
      await sim.start();
      t.after(() => sim.stop());
      const first = await drain(sim, 'events', { now: clock.now });
      assert.deepEqual([...first.ids].sort(), sim.ids(['events']).sort());
      const cp = first.checkpoint as unknown as KeyedCheckpoint;
      assert.deepEqual(Object.keys(cp.parts).sort(), [...sim.tenantIds].sort());
      const list = sim.requests().find((r) => r.path === `/${idType}/v1/tenants`);
      assert.equal(list?.headers[`x-${idType}-id`], sim.partnerId);
      assert.equal(list?.query.get('pageTotal'), 'true');
      const tenantsAsked = new Set(
        sim
          .requests()
          .filter((r) => r.path === '/siem/v1/events')
          .map((r) => r.headers['x-tenant-id']),
      );
      assert.deepEqual([...tenantsAsked].sort(), [...sim.tenantIds].sort());
      // New items in one tenant: the next run delivers only them.
      clock.advance(60_000);
      const added = sim.addItems('events', 3, { from: clock.now() - 30_000, spacingMs: 1000 }, 2);
      const second = await drain(sim, 'events', { now: clock.now, checkpoint: first.checkpoint });
      assert.deepEqual([...second.ids].sort(), [...added].sort());
    });

  it('lists tenants page by page (pageSize at most 100)', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SophosSimulator({
      clock: clock.now,
      items: 240,
      idType: 'partner',
      tenants: 120,
      seed: 6,
    });
    await sim.start();
    t.after(() => sim.stop());
    const res = await drain(sim, 'alerts', { now: clock.now });
    assert.deepEqual([...res.ids].sort(), sim.ids(['alerts']).sort());
    const pages = sim.requests().filter((r) => r.path === '/partner/v1/tenants');
    assert.deepEqual(
      pages.map((r) => r.query.get('page')),
      ['1', '2'],
    );
  });
});

describe('sophos-central test connection', () => {
  it('proves the credential and the tenant, with the code and action of each refusal', async (t) => {
    const tenant = new SophosSimulator({ clock: () => T0, items: 2 });
    const partner = new SophosSimulator({ clock: () => T0, items: 2, idType: 'partner', seed: 4 });
    await tenant.start();
    await partner.start();
    t.after(() => Promise.all([tenant.stop(), partner.stop()]));
    tokenCache.clear();
    const test = (
      sim: SophosSimulator,
      settings: Record<string, unknown> = {},
      over: Record<string, string> = {},
    ) => testConnection(sophos, sophosCentral, { ...sim.account(), ...over }, settingsOf(settings));
    assert.deepEqual(await test(tenant), { ok: true });
    const wrong = await test(tenant, {}, { clientSecret: 'wrong-secret-000000000000' });
    assert.equal(!wrong.ok && wrong.error.code, 'sophos_invalid_client');
    assert.doesNotMatch(JSON.stringify(wrong), /wrong-secret/);
    assert.deepEqual(await test(partner), { ok: true }, 'every tenant: the first one is tried');
    const unknown = await test(partner, { tenantId: '00000000-0000-4000-8000-000000000000' });
    assert.equal(!unknown.ok && unknown.error.code, 'sophos_tenant_not_found');
    assert.deepEqual(await test(partner, { tenantId: partner.tenantId }), { ok: true });
    assert.deepEqual([...tenant.writeCalls(), ...partner.writeCalls()], []);
  });
});
