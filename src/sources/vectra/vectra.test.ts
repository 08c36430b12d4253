import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type VectraAccount, vectra as vectraAccount, vectraFields } from '../../accounts/vectra.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { tokenCache } from '../../engine/oauth.ts';
import type { OpaqueCheckpoint } from '../../engine/opaque-cursor.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import vectra from './index.ts';
import { VectraSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('vectra', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: VectraSimulator,
  stream: string,
  o: { now: () => number; checkpoint?: OpaqueCheckpoint },
) {
  const account = sim.account() as unknown as VectraAccount;
  const http: Http = new Http({
    vendor: 'Vectra',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => vectraAccount.authorize(account, h, { refresh, http, url }),
    explain: vectra.explain,
  });
  const ctx = readContext(http, {
    stream,
    settings: settingsOf({ pageSize: 10 }),
    account,
    checkpoint: o.checkpoint,
    now: o.now,
    window: { lookbackMs: 3_600_000 },
  });
  const batches: Batch<OpaqueCheckpoint>[] = [];
  for await (const b of vectra.streams[stream].read(ctx) as AsyncIterable<Batch<OpaqueCheckpoint>>)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint,
  };
}

describe('vectra account and settings', () => {
  it('keeps the secret, sends it only to the portal, and checks the fields', () => {
    const a = vectraFields.parse({
      portalUrl: 'https://123456789012.uw2.portal.vectra.ai/',
      clientId: 'client-0001',
      clientSecret: 'secret-00000001',
    });
    assert.deepEqual(vectraAccount.origins?.(a as VectraAccount), [
      'https://123456789012.uw2.portal.vectra.ai',
    ]);
    assert.ok(vectraAccount.secrets.includes('clientSecret'));
    const bad = vectraFields.safeParse({ portalUrl: 'portal', clientId: 'a b', clientSecret: 'short' });
    const issues = formatIssues(bad.error!).join('\n');
    assert.match(issues, /portalUrl: expected an absolute URL/);
    assert.doesNotMatch(issues, /short/);
    assert.ok(!validateSettings('vectra', { apiVersion: '2.2' }).ok);
  });
});

describe('vectra event streams', () => {
  it('begins at the lookback, follows next_checkpoint until remaining_count is 0, and resumes from it', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new VectraSimulator({ clock: clock.now, events: 25 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'detections', { now: clock.now });
    assert.deepEqual(
      first.ids,
      sim.ids(['detections']).map((id) => `detections:${id}`),
    );
    assert.equal(first.batches.length, 3);
    const asked = sim.requests().filter((r) => r.path === '/api/v3.4/events/detections');
    assert.equal(asked[0].query.get('event_timestamp_gte'), '2026-11-25T11:00:00Z');
    assert.equal(asked[0].query.get('from'), null);
    assert.deepEqual([asked[1].query.get('from'), asked[2].query.get('from')], ['10', '20']);
    assert.equal(asked[1].query.get('event_timestamp_gte'), null, 'the checkpoint alone');
    assert.equal(first.checkpoint?.next.query?.from, '25', 'the checkpoint after the last event');
    clock.advance(60_000);
    const fresh = sim.addEvents('detections', 2, { spacingMs: 1000 });
    const second = await drain(sim, 'detections', { now: clock.now, checkpoint: first.checkpoint });
    assert.deepEqual(
      second.ids,
      fresh.map((id) => `detections:${id}`),
    );
  });
});

describe('vectra test connection', () => {
  it('proves the API client and its role for each stream collected', async (t) => {
    const ok = new VectraSimulator({ clock: () => T0, events: 2 });
    const noAudits = new VectraSimulator({ clock: () => T0, events: 2, auditsAllowed: false, seed: 2 });
    await ok.start();
    await noAudits.start();
    t.after(() => Promise.all([ok.stop(), noAudits.stop()]));
    tokenCache.clear();
    const test = (sim: VectraSimulator, streams: string[], over: Record<string, string> = {}) =>
      testConnection(vectra, vectraAccount, { ...sim.account(), ...over }, settingsOf(), streams);
    assert.deepEqual(await test(ok, ['detections', 'audits', 'entity-scoring']), { ok: true });
    const wrong = await test(ok, ['detections'], { clientSecret: 'wrong-secret-0000' });
    assert.equal(!wrong.ok && wrong.error.code, 'vectra_invalid_client');
    assert.doesNotMatch(JSON.stringify(wrong), /wrong-secret/);
    assert.deepEqual(await test(noAudits, ['detections']), { ok: true });
    const denied = await test(noAudits, ['detections', 'audits']);
    assert.equal(!denied.ok && denied.error.code, 'vectra_forbidden');
    if (!denied.ok) assert.match(denied.error.action, /audits/);
    assert.deepEqual([...ok.writeCalls(), ...noAudits.writeCalls()], []);
  });
});
