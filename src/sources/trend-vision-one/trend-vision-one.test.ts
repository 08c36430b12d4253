import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type TrendMicroAccount, trendMicro } from '../../accounts/trend-micro.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import v1, { endBound, startBound } from './index.ts';
import { VisionOneSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('trend-vision-one', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: VisionOneSimulator,
  stream: string,
  o: { now: number; checkpoint?: TimeWindowCheckpoint; pageSize?: number },
) {
  const account: TrendMicroAccount = { url: sim.url, apiKey: sim.apiKey };
  const http: Http = new Http({
    vendor: 'Trend Vision One',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => trendMicro.authorize(account, h, { refresh, http, url }),
    explain: v1.explain,
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
  for await (const b of v1.streams[stream].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

describe('trend-vision-one', () => {
  it('asks whole-second bounds that cover the window: start rounded down, end rounded up', () => {
    const w = { start: new Date('2026-11-25T10:00:00.400Z'), end: new Date('2026-11-25T11:00:00.400Z') };
    assert.equal(startBound(w), '2026-11-25T10:00:00Z');
    assert.equal(endBound(w), '2026-11-25T11:00:01Z');
    assert.deepEqual(settingsOf(), { pageSize: 200 });
    assert.equal(validateSettings('trend-vision-one', { pageSize: 500 }).ok, false);
  });

  it('Test Connection proves the key and the role for each stream collected', async (t) => {
    const ok = new VisionOneSimulator({ records: 2 });
    const noAudit = new VisionOneSimulator({ records: 2, forbidden: ['audit'] });
    for (const s of [ok, noAudit]) {
      await s.start();
      t.after(() => s.stop());
    }
    const test = (sim: VisionOneSimulator, apiKey = sim.apiKey, streams: string[] = []) =>
      testConnection(v1, trendMicro, { url: sim.url, apiKey }, settingsOf(), streams);
    assert.deepEqual(await test(ok), { ok: true });
    const bad = await test(ok, 'not-the-key-0123456789abcdef');
    assert.equal(!bad.ok && bad.error.code, 'vision_one_invalid_key');
    assert.doesNotMatch(JSON.stringify(bad), /not-the-key/);
    const audit = await test(noAudit);
    assert.equal(!audit.ok && audit.error.code, 'vision_one_forbidden');
    if (!audit.ok) assert.match(audit.error.action, /Audit Logs/);
    assert.deepEqual(await test(noAudit, noAudit.apiKey, ['workbench-alerts', 'oat-detections']), {
      ok: true,
    });
    for (const s of [ok, noAudit]) assert.deepEqual(s.writeCalls(), []);
  });

  it('delivers each version of a workbench alert, by updatedDateTime, following nextLink', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new VisionOneSimulator({ clock: clock.now, records: 25, spacingMs: 60_000, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'workbench-alerts', { now: clock.now(), pageSize: 10 });
    assert.deepEqual([...first.ids].sort(), sim.expectedIds('workbench').sort());
    const lists = sim.requests().filter((q) => q.path === '/v3.0/workbench/alerts');
    assert.equal(lists[0].query.get('dateTimeTarget'), 'updatedDateTime');
    assert.equal(
      lists[0].query.get('startDateTime'),
      '2026-11-25T09:59:59Z',
      'the start less the 1 s overlap',
    );
    assert.equal(lists[1].query.get('skip'), '10', 'the second page is the nextLink');
    clock.advance(5 * 60_000);
    const [closed] = sim.addRecords('workbench', 1, { seq: 2, from: clock.now() - 60_000, status: 'Closed' });
    const second = await drain(sim, 'workbench-alerts', { now: clock.now(), checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [closed]);
    assert.equal((second.batches[0].events[0].raw as Record<string, unknown>).status, 'Closed');
  });

  it('reads OAT detections by detection time (id uuid) and audit logs (hashed ids)', async (t) => {
    const sim = new VisionOneSimulator({ clock: () => T0, records: 12, spacingMs: 60_000, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    const oat = await drain(sim, 'oat-detections', { now: T0, pageSize: 5 });
    assert.deepEqual([...oat.ids].sort(), sim.expectedIds('oat').sort());
    const q = sim.requests().find((r) => r.path === '/v3.0/oat/detections');
    assert.equal(q?.query.get('detectedStartDateTime'), '2026-11-25T09:59:59Z');
    const audit = await drain(sim, 'audit-logs', { now: T0 });
    assert.deepEqual([...audit.ids].sort(), sim.expectedIds('audit').sort());
    assert.ok(
      audit.ids.every((id) => /^h:[0-9a-f]{40}$/.test(id)),
      'hashed ids',
    );
  });

  it('answers past the rate limit as the API Request Limits guide says: 429, "Too many API requests"', async (t) => {
    const sim = new VisionOneSimulator({ clock: () => T0, records: 2, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    sim.inject({ kind: 'rate-limit', retryAfter: 1 });
    const res = await fetch(new URL('/v3.0/oat/detections?top=5', sim.url), {
      headers: { authorization: `Bearer ${sim.apiKey}` },
    });
    assert.equal(res.status, 429);
    assert.equal(
      ((await res.json()) as { error: { message: string } }).error.message,
      'Too many API requests',
    );
  });
});
