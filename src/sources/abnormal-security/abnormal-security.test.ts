import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type AbnormalAccount, abnormalFields, abnormalSecurity } from '../../accounts/abnormal-security.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import abnormal from './index.ts';
import { AbnormalSimulator, caseEventId } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('abnormal-security', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: AbnormalSimulator,
  stream: 'threats' | 'cases',
  o: {
    now: number;
    checkpoint?: TimeWindowCheckpoint;
    lookbackMs?: number;
    settings?: Record<string, unknown>;
  },
) {
  const account: AbnormalAccount = { url: sim.url, token: sim.token };
  const http: Http = new Http({
    vendor: 'Abnormal Security',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => abnormalSecurity.authorize(account, h, { refresh, http, url }),
    explain: abnormal.explain,
  });
  const ctx = readContext(http, {
    stream,
    settings: settingsOf({ baseUrl: sim.url, ...o.settings }),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: o.lookbackMs ?? 2 * 3_600_000, lagMs: 0 },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of abnormal.streams[stream].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

describe('abnormal-security account and settings', () => {
  it('picks the regional host, keeps the token secret, and refuses region with url', () => {
    const a = abnormalFields.parse({ token: 'Bearer abcdefghijklmnop1234', region: 'eu' });
    assert.equal(a.token, 'abcdefghijklmnop1234');
    assert.deepEqual(abnormalSecurity.origins?.(a as AbnormalAccount), [
      'https://eu.rest.abnormalsecurity.com',
    ]);
    assert.deepEqual(abnormalSecurity.origins?.({ token: 'x' }), ['https://api.abnormalplatform.com']);
    assert.deepEqual(
      abnormalSecurity.secrets,
      ['token', 'region', 'url'].filter((f) => f === 'token'),
    );
    const both = abnormalFields.safeParse({
      token: 'abcdefghijklmnop1234',
      region: 'us',
      url: 'https://p.example',
    });
    assert.match(formatIssues(both.error!).join(), /url: set either region or url/);
    const short = abnormalFields.safeParse({ token: 'secret' });
    assert.match(formatIssues(short.error!).join(), /^token: expected the Abnormal REST API token/);
    assert.doesNotMatch(formatIssues(short.error!).join(), /secret/);
  });

  it('validates settings with the field named', () => {
    assert.deepEqual(settingsOf(), { pageSize: 100, threatSource: 'all', messagesPerThreat: 2000 });
    const r = validateSettings('abnormal-security', { threatSource: 'phish', pageSize: 0 });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.issues.join(), /threatSource/);
      assert.match(r.issues.join(), /pageSize/);
    }
  });
});

describe('abnormal-security Test Connection', () => {
  it('passes with a valid token; explains a bad token, an address off the allowlist and no Account Takeover', async (t) => {
    const ok = new AbnormalSimulator({ threats: 2, cases: 1 });
    const offList = new AbnormalSimulator({ threats: 1, allowlisted: false });
    const noAto = new AbnormalSimulator({ threats: 1, accountTakeover: false });
    for (const s of [ok, offList, noAto]) {
      await s.start();
      t.after(() => s.stop());
    }
    const test = (sim: AbnormalSimulator, token = sim.token, streams: string[] = []) =>
      testConnection(abnormal, abnormalSecurity, { url: sim.url, token }, settingsOf(), streams);
    assert.deepEqual(await test(ok), { ok: true });
    const bad = await test(ok, 'wrong-token-0123456789');
    assert.equal(!bad.ok && bad.error.code, 'abnormal_invalid_token');
    assert.doesNotMatch(JSON.stringify(bad), /wrong-token/);
    const ip = await test(offList);
    assert.equal(!ip.ok && ip.error.code, 'abnormal_ip_not_allowlisted');
    if (!ip.ok) assert.match(ip.error.action, /allowlist/);
    const ato = await test(noAto);
    assert.equal(!ato.ok && ato.error.code, 'abnormal_cases_forbidden');
    if (!ato.ok) assert.match(ato.error.action, /Account Takeover/);
    assert.deepEqual(await test(noAto, noAto.token, ['threats']), { ok: true }, 'threats alone need no ATO');
    for (const s of [ok, offList, noAto]) assert.deepEqual(s.writeCalls(), []);
  });
});

describe('abnormal-security reading', () => {
  it('asks with whole-second inclusive filters, pages by number, and fetches each threat once a window', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new AbnormalSimulator({
      clock: clock.now,
      threats: 25,
      cases: 0,
      spacingMs: 60_000,
      seed: 3,
    });
    await sim.start();
    t.after(() => sim.stop());
    const { ids, batches } = await drain(sim, 'threats', { now: T0 + 456, settings: { pageSize: 10 } });
    assert.deepEqual([...ids].sort(), sim.expectedIds(['threats']).sort());
    assert.equal(batches.length, 3);
    const lists = sim.requests().filter((r) => r.path === '/v1/threats');
    assert.equal(
      lists[0].query.get('filter'),
      'receivedTime gte 2026-11-25T10:00:00Z lte 2026-11-25T12:00:00Z',
      'the start (09:59:59.456 with the 1 s overlap) rounded up; the end rounded down',
    );
    assert.deepEqual(
      lists.map((r) => r.query.get('pageNumber')),
      ['1', '2', '3'],
    );
    assert.equal(lists[0].headers.authorization, `Bearer ${sim.token}`);
    const details = sim.requests().filter((r) => r.path.startsWith('/v1/threats/'));
    assert.equal(details.length, 25, 'one detail call per threat');
    assert.equal(details[0].query.get('pageSize'), '2000');
    const e = batches[0].events[0];
    assert.match(
      String((e.raw as Record<string, unknown>).receivedTime),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    assert.equal(
      e.time,
      new Date(Date.parse(String((e.raw as Record<string, unknown>).receivedTime))).toISOString(),
    );
  });

  it('delivers each message of a campaign once, in the window it arrived in, across runs', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new AbnormalSimulator({
      clock: clock.now,
      threats: 40,
      cases: 0,
      spacingMs: 30_000,
      secondMessageMs: 45_000, // the second message of a campaign lands in another run's window
      seed: 5,
    });
    await sim.start();
    t.after(() => sim.stop());
    const all: string[] = [];
    let checkpoint: TimeWindowCheckpoint | undefined;
    for (const now of [T0 - 20 * 60_000 + 333, T0 - 10 * 60_000, T0 - 9 * 60_000 - 500, T0]) {
      const r = await drain(sim, 'threats', { now, checkpoint, lookbackMs: 40 * 60_000 });
      all.push(...r.ids);
      checkpoint = r.checkpoint;
    }
    assert.deepEqual(
      all.filter((id, i) => all.indexOf(id) !== i),
      [],
      'no duplicates',
    );
    assert.deepEqual([...all].sort(), sim.expectedIds(['threats']).sort(), 'nothing lost');
  });

  it('delivers every version of a case, keyed by caseId@last_modified', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new AbnormalSimulator({ clock: clock.now, threats: 1, cases: 3, spacingMs: 60_000, seed: 9 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'cases', { now: T0 });
    assert.equal(first.ids.length, 3);
    assert.ok(first.ids.every((id) => /^\d+@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(id)));
    const caseId = first.ids[0].split('@')[0];
    clock.advance(5 * 60_000);
    const [updated] = sim.addCases(1, { caseId, from: clock.now() - 60_000 });
    const second = await drain(sim, 'cases', { now: clock.now(), checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [updated]);
    assert.notEqual(updated, first.ids[0]);
    assert.equal(updated.split('@')[0], caseId);
    assert.equal(caseEventId(caseId, updated.split('@')[1]), updated);
    const raw = second.batches[0].events[0].raw as Record<string, unknown>;
    assert.equal(raw.caseId, caseId, 'the raw record is the case details');
    assert.ok('case_status' in raw && 'affectedEmployee' in raw);
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('a crash mid-window resumes at the saved page; the position moves only when the window is complete', async (t) => {
    const sim = new AbnormalSimulator({
      threats: 30,
      cases: 0,
      spacingMs: 60_000,
      seed: 11,
      clock: () => T0,
    });
    await sim.start();
    t.after(() => sim.stop());
    const full = await drain(sim, 'threats', { now: T0, settings: { pageSize: 10 } });
    const mid = full.batches[0].checkpoint;
    assert.equal(mid.since, full.batches[1].checkpoint.since, 'since stays at the window start');
    assert.equal(mid.next?.query?.pageNumber, '2');
    const rest = await drain(sim, 'threats', { now: T0, checkpoint: mid, settings: { pageSize: 10 } });
    const ids = [...full.batches[0].events.map((e) => e.id as string), ...rest.ids];
    assert.deepEqual([...ids].sort(), sim.expectedIds(['threats']).sort());
    assert.equal(rest.checkpoint?.since, new Date(T0).toISOString());
  });
});
