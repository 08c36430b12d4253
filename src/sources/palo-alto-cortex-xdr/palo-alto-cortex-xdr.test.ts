import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import {
  advancedKeyHeaders,
  type CortexXdrAccount,
  cortexXdr,
  cortexXdrFields,
} from '../../accounts/palo-alto-cortex-xdr.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import xdr from './index.ts';
import { CortexXdrSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const KEY = 'A'.repeat(40) + 'b1c2d3e4f5';

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('palo-alto-cortex-xdr', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: CortexXdrSimulator,
  stream: 'incidents' | 'alerts' | 'audit-logs',
  o: { now: number; checkpoint?: TimeWindowCheckpoint; pageSize?: number },
) {
  const account = sim.account();
  const http: Http = new Http({
    vendor: 'Cortex XDR',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => cortexXdr.authorize(account, h, { refresh, http, url }),
    explain: xdr.explain,
  });
  const ctx = readContext(http, {
    stream,
    settings: settingsOf(o.pageSize ? { pageSize: o.pageSize } : {}),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: 2 * 3_600_000, lagMs: 0 },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of xdr.streams[stream].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

describe('palo-alto-cortex-xdr account', () => {
  it('signs an advanced key as sha256(key + nonce + timestamp) with a fresh 64-character nonce', async () => {
    const a = { apiKeyId: 7, apiKey: KEY };
    const h = advancedKeyHeaders(a, Date.parse('2026-11-25T12:00:00.789Z'), 'n'.repeat(64));
    assert.equal(h['x-xdr-timestamp'], String(Date.parse('2026-11-25T12:00:00.000Z')));
    assert.equal(h['x-xdr-auth-id'], '7');
    assert.equal(
      h.authorization,
      createHash('sha256')
        .update(`${KEY}${'n'.repeat(64)}${h['x-xdr-timestamp']}`)
        .digest('hex'),
    );
    const one = new Headers();
    const two = new Headers();
    const acc = cortexXdrFields.parse({
      url: 'https://api-acme.xdr.us.paloaltonetworks.com/',
      apiKeyId: '7',
      apiKey: KEY,
    });
    await cortexXdr.authorize(acc as CortexXdrAccount, one, {
      refresh: false,
      http: undefined as never,
      url: new URL(acc.url),
    });
    await cortexXdr.authorize(acc as CortexXdrAccount, two, {
      refresh: false,
      http: undefined as never,
      url: new URL(acc.url),
    });
    assert.match(one.get('x-xdr-nonce') ?? '', /^[A-Za-z0-9]{64}$/);
    assert.notEqual(one.get('x-xdr-nonce'), two.get('x-xdr-nonce'), 'every request has its own nonce');
    assert.notEqual(one.get('authorization'), KEY, 'the key itself never goes on the wire');
    const std = new Headers();
    await cortexXdr.authorize({ ...(acc as CortexXdrAccount), securityLevel: 'standard' }, std, {
      refresh: false,
      http: undefined as never,
      url: new URL(acc.url),
    });
    assert.equal(std.get('authorization'), KEY);
    assert.equal(std.get('x-xdr-auth-id'), '7');
    assert.deepEqual(cortexXdr.origins?.(acc as CortexXdrAccount), [
      'https://api-acme.xdr.us.paloaltonetworks.com',
    ]);
    assert.deepEqual(cortexXdr.secrets, ['apiKey']);
    const bad = cortexXdrFields.safeParse({
      url: 'https://x.example',
      apiKeyId: 'seven',
      apiKey: 'short',
      securityLevel: 'x',
    });
    const text = formatIssues(bad.error!).join('\n');
    assert.match(text, /^apiKeyId: expected the numeric ID/m);
    assert.match(text, /^apiKey: expected the API key/m);
    assert.match(text, /^securityLevel: expected standard or advanced/m);
    assert.doesNotMatch(text, /short/);
  });
});

describe('palo-alto-cortex-xdr Test Connection', () => {
  it('passes with a signed key; explains a wrong key, a missing license and a role without rights', async (t) => {
    const ok = new CortexXdrSimulator({ records: 2 });
    const std = new CortexXdrSimulator({ records: 2, securityLevel: 'standard' });
    const unlicensed = new CortexXdrSimulator({ records: 2, licensed: false });
    const noRole = new CortexXdrSimulator({ records: 2, viewer: false });
    for (const s of [ok, std, unlicensed, noRole]) {
      await s.start();
      t.after(() => s.stop());
    }
    const test = (sim: CortexXdrSimulator, over: Partial<CortexXdrAccount> = {}) =>
      testConnection(xdr, cortexXdr, { ...sim.account(), ...over }, settingsOf());
    assert.deepEqual(await test(ok), { ok: true });
    assert.deepEqual(await test(std), { ok: true });
    const wrong = await test(ok, { apiKey: 'Z'.repeat(50) });
    assert.equal(!wrong.ok && wrong.error.code, 'cortex_xdr_unauthorized');
    const level = await test(ok, { securityLevel: 'standard' });
    assert.equal(
      !level.ok && level.error.code,
      'cortex_xdr_unauthorized',
      'an advanced key sent unsigned is refused',
    );
    assert.doesNotMatch(JSON.stringify(level), new RegExp(ok.apiKey));
    const lic = await test(unlicensed);
    assert.equal(!lic.ok && lic.error.code, 'cortex_xdr_not_licensed');
    const role = await test(noRole);
    assert.equal(!role.ok && role.error.code, 'cortex_xdr_forbidden');
    for (const s of [ok, std, unlicensed, noRole]) assert.deepEqual(s.writeCalls(), []);
  });
});

describe('palo-alto-cortex-xdr reading', () => {
  it('reads incidents by modification_time in search_from/search_to pages, one event per version', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new CortexXdrSimulator({ clock: clock.now, records: 25, spacingMs: 60_000, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'incidents', { now: clock.now(), pageSize: 10 });
    assert.deepEqual([...first.ids].sort(), sim.expectedIds('incidents').sort());
    assert.ok(first.ids.every((id) => /^\d+@\d+$/.test(id)));
    const e = first.batches[0].events[0];
    const raw = e.raw as Record<string, unknown>;
    assert.equal(e.time, new Date(raw.modification_time as number).toISOString());
    clock.advance(5 * 60_000);
    const [changed] = sim.addRecords('incidents', 1, {
      seq: 3,
      from: clock.now() - 60_000,
      status: 'resolved_true_positive',
    });
    const second = await drain(sim, 'incidents', { now: clock.now(), checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [changed]);
    assert.equal(
      (second.batches[0].events[0].raw as Record<string, unknown>).status,
      'resolved_true_positive',
    );
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('reads alerts by server time, one event per alert, id alert_id', async (t) => {
    const sim = new CortexXdrSimulator({ clock: () => T0, records: 12, spacingMs: 60_000, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, 'alerts', { now: T0, pageSize: 5 });
    assert.deepEqual(r.ids, sim.expectedIds('alerts'), 'oldest first, once each');
    const raw = r.batches[0].events[0].raw as Record<string, unknown>;
    assert.equal(r.batches[0].events[0].id, raw.alert_id);
    assert.ok(Array.isArray(raw.events));
    assert.equal(r.batches.length, 3);
  });

  it('reads the management audit log by timestamp, oldest first, id AUDIT_ID, time AUDIT_INSERT_TIME', async (t) => {
    const sim = new CortexXdrSimulator({ clock: () => T0, records: 12, spacingMs: 60_000, seed: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, 'audit-logs', { now: T0, pageSize: 5 });
    assert.deepEqual(r.ids, sim.expectedIds('audits'), 'oldest first, once each');
    const e = r.batches[0].events[0];
    const raw = e.raw as Record<string, unknown>;
    assert.equal(e.id, String(raw.AUDIT_ID));
    assert.equal(e.time, new Date(raw.AUDIT_INSERT_TIME as number).toISOString());
    // The simulator refuses any filter but gte/lte on timestamp (400): the windows are timestamp filters.
    assert.ok(sim.requests().filter((q) => q.path.endsWith('/management_logs')).length >= 3);
    assert.deepEqual(sim.writeCalls(), []);
  });
});
