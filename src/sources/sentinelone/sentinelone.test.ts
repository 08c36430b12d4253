import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type SentinelOneAccount, sentinelOne, sentinelOneFields } from '../../accounts/sentinelone.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch, SourceDef } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import alertsSource from '../sentinelone-alerts/index.ts';
import threatsSource from '../sentinelone-threats/index.ts';
import activitiesSource from './index.ts';
import { nextCursor } from './shared.ts';
import { SentinelOneSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (id: string, raw: Record<string, unknown> = {}) => {
  const r = validateSettings(id, raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  source: SourceDef,
  stream: string,
  sim: SentinelOneSimulator,
  o: { now: number; checkpoint?: TimeWindowCheckpoint; pageSize?: number },
) {
  const account: SentinelOneAccount = { url: sim.url, token: sim.token };
  const http: Http = new Http({
    vendor: source.title,
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => sentinelOne.authorize(account, h, { refresh, http, url }),
    explain: source.explain,
  });
  const ctx = readContext(http, {
    stream,
    settings: settingsOf(source.id, o.pageSize ? { pageSize: o.pageSize } : {}),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: 2 * 3_600_000, lagMs: 0 },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of source.streams[stream].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

describe('sentinelone account and settings', () => {
  it('keeps the token secret, takes the console URL as the origin, and names the field at fault', () => {
    const a = sentinelOneFields.parse({
      url: 'https://usea1-acme.sentinelone.net/web/api/v2.1/',
      token: 'ApiToken eyJraWQiOiJ0b2tlblNpZ25pbmciLCJhbGciOiJFUzI1NiJ9',
    });
    assert.equal(a.token, 'eyJraWQiOiJ0b2tlblNpZ25pbmciLCJhbGciOiJFUzI1NiJ9');
    assert.deepEqual(sentinelOne.origins?.(a as SentinelOneAccount), ['https://usea1-acme.sentinelone.net']);
    assert.deepEqual(sentinelOne.secrets, ['token']);
    const bad = sentinelOneFields.safeParse({ url: 'https://usea1-acme.sentinelone.net', token: 'short' });
    assert.match(formatIssues(bad.error!).join(), /^token: expected the API token/);
    assert.doesNotMatch(formatIssues(bad.error!).join(), /short/);
    assert.equal(validateSettings('sentinelone', { pageSize: 1001 }).ok, false);
    assert.deepEqual(settingsOf('sentinelone-threats'), { pageSize: 1000 });
  });

  it('treats a null, absent or "null" nextCursor as the last page', () => {
    assert.equal(nextCursor({ pagination: { nextCursor: 'null' } }), undefined);
    assert.equal(nextCursor({ pagination: { nextCursor: null } }), undefined);
    assert.equal(nextCursor({}), undefined);
    assert.equal(nextCursor({ pagination: { nextCursor: 'abc' } }), 'abc');
  });
});

describe('sentinelone Test Connection', () => {
  it('passes with a Viewer token; explains a refused token and a user without rights', async (t) => {
    const ok = new SentinelOneSimulator({ records: 2 });
    const noRole = new SentinelOneSimulator({ records: 2, viewer: false });
    for (const s of [ok, noRole]) {
      await s.start();
      t.after(() => s.stop());
    }
    for (const source of [activitiesSource, threatsSource, alertsSource]) {
      const test = (sim: SentinelOneSimulator, token = sim.token) =>
        testConnection(source, sentinelOne, { url: sim.url, token }, settingsOf(source.id));
      assert.deepEqual(await test(ok), { ok: true }, source.id);
      const bad = await test(ok, 'wrong-token-wrong-token-wrong');
      assert.equal(!bad.ok && bad.error.code, 'sentinelone_invalid_token');
      if (!bad.ok) assert.match(bad.error.action, /six months/);
      assert.doesNotMatch(JSON.stringify(bad), /wrong-token/);
      const role = await test(noRole);
      assert.equal(!role.ok && role.error.code, 'sentinelone_forbidden');
      if (!role.ok) assert.match(role.error.action, /Viewer/);
    }
    for (const s of [ok, noRole]) assert.deepEqual(s.writeCalls(), []);
  });
});

describe('sentinelone reading', () => {
  it('reads activities oldest first in cursor pages, with the window as createdAt__gte / __lt', async (t) => {
    const sim = new SentinelOneSimulator({ clock: () => T0, records: 25, spacingMs: 60_000, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(activitiesSource, 'activities', sim, { now: T0, pageSize: 10 });
    assert.deepEqual(r.ids, sim.expectedIds('activities'), 'every activity, oldest first, once');
    const lists = sim.requests().filter((q) => q.path === '/web/api/v2.1/activities');
    assert.equal(lists.length, 3);
    assert.equal(lists[0].query.get('createdAt__gte'), '2026-11-25T10:00:00.000Z');
    assert.equal(lists[0].query.get('createdAt__lt'), '2026-11-25T12:00:00.000Z');
    assert.equal(lists[0].query.get('sortBy'), 'createdAt');
    assert.equal(lists[0].query.get('sortOrder'), 'asc');
    assert.equal(lists[0].query.get('cursor'), null);
    assert.ok(lists[1].query.get('cursor'));
    assert.equal(lists[0].headers.authorization, `ApiToken ${sim.token}`);
    const e = r.batches[0].events[0];
    const raw = e.raw as Record<string, unknown>;
    assert.equal(e.id, raw.id);
    assert.equal(e.time, new Date(Date.parse(String(raw.createdAt))).toISOString());
    // The position moved page by page: a restart after the first page asks from its last activity on.
    assert.equal(
      r.batches[0].checkpoint.since,
      new Date(Date.parse(String((r.batches[0].events[9].raw as any).createdAt))).toISOString(),
    );
  });

  it('delivers every version of a threat, keyed id@threatInfo.updatedAt', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SentinelOneSimulator({ clock: clock.now, records: 5, spacingMs: 60_000, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(threatsSource, 'threats', sim, { now: clock.now() });
    assert.deepEqual(first.ids, sim.expectedIds('threats'));
    assert.ok(first.ids.every((id) => /^\d+@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(id)));
    const lists = sim.requests().filter((q) => q.path === '/web/api/v2.1/threats');
    assert.ok(lists[0].query.get('updatedAt__gte'));
    assert.equal(lists[0].query.get('sortBy'), 'updatedAt');
    clock.advance(5 * 60_000);
    const [resolved] = sim.addRecords('threats', 1, {
      seq: 2,
      from: clock.now() - 60_000,
      status: 'resolved',
    });
    const second = await drain(threatsSource, 'threats', sim, {
      now: clock.now(),
      checkpoint: first.checkpoint,
    });
    assert.deepEqual(second.ids, [resolved]);
    const raw = second.batches[0].events[0].raw as { id: string; threatInfo: Record<string, unknown> };
    assert.equal(raw.threatInfo.incidentStatus, 'resolved');
    assert.equal(resolved.split('@')[0], raw.id);
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('reads alerts by creation time, sorted by alertInfoCreatedAt, id alertInfo.alertId', async (t) => {
    const sim = new SentinelOneSimulator({ clock: () => T0, records: 12, spacingMs: 60_000, seed: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(alertsSource, 'alerts', sim, { now: T0, pageSize: 5 });
    assert.deepEqual(r.ids, sim.expectedIds('alerts'));
    const lists = sim.requests().filter((q) => q.path === '/web/api/v2.1/cloud-detection/alerts');
    assert.equal(lists[0].query.get('sortBy'), 'alertInfoCreatedAt');
    assert.ok(lists[0].query.get('createdAt__gte'));
    const raw = r.batches[0].events[0].raw as { alertInfo: Record<string, unknown> };
    assert.equal(r.batches[0].events[0].id, raw.alertInfo.alertId);
    assert.equal(
      r.batches[0].events[0].time,
      new Date(Date.parse(String(raw.alertInfo.createdAt))).toISOString(),
    );
  });
});
