import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type ZoomAccount, zoom as zoomAccount } from '../../accounts/zoom.ts';
import { validateSettings } from '../../config/config-file.ts';
import { hashId } from '../../core/envelope.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import zoom, { reportDates } from './index.ts';
import { type ZoomReport, ZoomSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const STREAM: Record<ZoomReport, string> = { activities: 'activities', operationlogs: 'operation-logs' };

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('zoom', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function run(
  sim: ZoomSimulator,
  o: {
    now: number;
    report?: ZoomReport;
    checkpoint?: TimeWindowCheckpoint;
    settings?: Record<string, unknown>;
    stopAfter?: number;
    lookbackMs?: number;
    warn?: (e: unknown) => void;
    /** Called after each batch is taken, before the next page is asked for. */
    onBatch?: (n: number) => void;
  },
) {
  const account: ZoomAccount = sim.account();
  const http: Http = new Http({
    vendor: zoom.title,
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => zoomAccount.authorize(account, h, { refresh, http, url }),
    explain: zoom.explain,
  });
  const stream = STREAM[o.report ?? 'activities'];
  const ctx = readContext(http, {
    stream,
    settings: settingsOf(o.settings),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: o.lookbackMs ?? 2 * 3_600_000, lagMs: 0 },
    warn: o.warn ?? (() => {}),
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of zoom.streams[stream].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>) {
    batches.push(b);
    if (o.stopAfter !== undefined && batches.length >= o.stopAfter) break;
    o.onBatch?.(batches.length);
  }
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

const dupes = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
const reportRequests = (sim: ZoomSimulator) => sim.requests().filter((r) => r.path.startsWith('/v2/report/'));

describe('zoom source: settings and Test Connection', () => {
  it('validates settings with the field in every message', () => {
    const issues = (raw: Record<string, unknown>) => {
      const r = validateSettings('zoom', raw);
      return r.ok ? [] : r.issues;
    };
    assert.deepEqual(settingsOf(), { pageSize: 300, categoryType: 'all' });
    assert.match(issues({ pageSize: 301 }).join(), /pageSize/);
    assert.match(
      issues({ categoryType: 'users' }).join(),
      /categoryType: expected all or one of user, user_settings/,
    );
    assert.match(issues({ baseUrl: 'http://api.zoom.us' }).join(), /baseUrl: plain http/);
  });

  it('passes with the report scopes; explains a missing scope, a plan without reports and a spent daily budget', async (t) => {
    const sim = new ZoomSimulator({ activities: 2, operations: 2 });
    await sim.start();
    t.after(() => sim.stop());
    assert.deepEqual(await testConnection(zoom, zoomAccount, sim.account(), settingsOf()), { ok: true });
    assert.deepEqual(
      reportRequests(sim).map((r) => [r.path, r.query.get('page_size')]),
      [
        ['/v2/report/activities', '1'],
        ['/v2/report/operationlogs', '1'],
      ],
    );

    const noOps = new ZoomSimulator({ activities: 1, scopes: ['report:read:user_activities:admin'] });
    await noOps.start();
    t.after(() => noOps.stop());
    assert.deepEqual(
      await testConnection(zoom, zoomAccount, noOps.account(), settingsOf(), ['activities']),
      { ok: true },
      'only the enabled report is tried',
    );
    const r1 = await testConnection(zoom, zoomAccount, noOps.account(), settingsOf(), ['operation-logs']);
    assert.equal(!r1.ok && r1.error.code, 'zoom_missing_scope');
    if (!r1.ok) assert.match(r1.error.action, /report:read:operation_logs:admin/);

    const basic = new ZoomSimulator({ activities: 1, plan: 'basic' });
    await basic.start();
    t.after(() => basic.stop());
    const r2 = await testConnection(zoom, zoomAccount, basic.account(), settingsOf());
    assert.equal(!r2.ok && r2.error.code, 'zoom_no_permission');
    if (!r2.ok) assert.match(r2.error.action, /Pro plan/);

    const spent = new ZoomSimulator({ activities: 1, heavyPerDay: 1 });
    await spent.start();
    t.after(() => spent.stop());
    const started = Date.now();
    const r3 = await testConnection(zoom, zoomAccount, spent.account(), settingsOf());
    assert.equal(!r3.ok && r3.error.code, 'zoom_daily_rate_limit');
    assert.ok(Date.now() - started < 4000, 'a wait until midnight is reported, not slept');

    const wrong = await testConnection(
      zoom,
      zoomAccount,
      { ...sim.account(), clientSecret: 'wrong-secret' },
      settingsOf(),
    );
    assert.equal(!wrong.ok && wrong.error.code, 'oauth_token_refused');
    if (!wrong.ok) assert.doesNotMatch(JSON.stringify(wrong.error), /wrong-secret/);
    assert.deepEqual(sim.writeCalls(), []);
  });
});

describe('zoom source: reading', () => {
  it('asks for the UTC dates of the window, the page size and category, with a Bearer token', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ZoomSimulator({
      clock: clock.now,
      heavyPerSecond: 10_000,
      activities: 40,
      operations: 40,
      seed: 3,
    });
    await sim.start();
    t.after(() => sim.stop());
    const { ids } = await run(sim, { now: T0, settings: { pageSize: 10 } });
    assert.deepEqual([...ids].sort(), [...sim.eventIds('activities')].sort());
    const q = reportRequests(sim)[0].query;
    assert.equal(q.get('from'), '2026-11-25');
    assert.equal(q.get('to'), '2026-11-25');
    assert.equal(q.get('page_size'), '10');
    assert.match(String(reportRequests(sim)[0].headers.authorization), /^Bearer eyJ/);
    assert.equal(reportRequests(sim)[1].query.get('from'), '2026-11-25', 'token pages keep the dates');
    assert.ok(reportRequests(sim)[1].query.get('next_page_token'));
    await run(sim, { now: T0, report: 'operationlogs', settings: { categoryType: 'user' } });
    assert.equal(reportRequests(sim).at(-1)?.query.get('category_type'), 'user');
    assert.deepEqual(
      reportDates({ start: new Date('2026-11-24T23:30:00Z'), end: new Date('2026-11-25T00:00:00Z') }),
      { from: '2026-11-24', to: '2026-11-24' },
      'an end at midnight is exclusive',
    );
    assert.deepEqual(
      reportDates({ start: new Date('2026-11-24T23:30:00Z'), end: new Date('2026-11-25T00:30:00Z') }),
      { from: '2026-11-24', to: '2026-11-25' },
    );
  });

  it('re-reading the same days across runs (ending mid-second, across midnight) repeats and loses nothing', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ZoomSimulator({
      clock: clock.now,
      heavyPerSecond: 10_000,
      activities: 0,
      operations: 0,
      seed: 8,
    });
    const midnight = Date.parse('2026-11-25T00:00:00Z');
    sim.addEvents('activities', 240, { from: midnight - 60 * 60_000, spacingMs: 30_000 }); // 23:00 → 01:00
    await sim.start();
    t.after(() => sim.stop());
    const all: string[] = [];
    let checkpoint: TimeWindowCheckpoint | undefined;
    const ends = [
      midnight - 45 * 60_000 + 321,
      midnight - 1,
      midnight + 1_500,
      midnight + 30 * 60_000 - 500,
      midnight + 2 * 3_600_000,
    ];
    for (const now of ends) {
      const r = await run(sim, { now, checkpoint, lookbackMs: 70 * 60_000, settings: { pageSize: 7 } });
      all.push(...r.ids);
      checkpoint = r.checkpoint;
    }
    assert.deepEqual(dupes(all), []);
    assert.deepEqual([...all].sort(), [...sim.eventIds('activities')].sort());
    assert.ok(
      reportRequests(sim).some(
        (r) => r.query.get('from') === '2026-11-24' && r.query.get('to') === '2026-11-25',
      ),
      'a window across midnight asks for both days',
    );
  });

  it('newest first: a later run reads only the pages back to its window start', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ZoomSimulator({
      clock: clock.now,
      heavyPerSecond: 10_000,
      activities: 300,
      operations: 0,
      spacingMs: 10_000,
      seed: 5,
    });
    await sim.start();
    t.after(() => sim.stop());
    const first = await run(sim, { now: T0, settings: { pageSize: 20 } });
    assert.equal(first.ids.length, 300);
    const before = reportRequests(sim).length;
    clock.advance(5 * 60_000);
    sim.addEvents('activities', 30, { spacingMs: 10_000 }); // the last 5 minutes
    const second = await run(sim, {
      now: clock.now(),
      checkpoint: first.checkpoint,
      settings: { pageSize: 20 },
    });
    assert.equal(second.ids.length, 30);
    // 30 new records and the 6 of the 1-minute overlap fit in two pages of 20; the second page also holds
    // the first record older than the window, so reading stops there instead of paging the whole day (17).
    assert.equal(reportRequests(sim).length - before, 2);
  });

  it('a crash after any page resumes at the saved page token; an expired token re-reads the window', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ZoomSimulator({
      clock: clock.now,
      heavyPerSecond: 10_000,
      activities: 0,
      operations: 0,
      seed: 4,
    });
    sim.addEvents('operationlogs', 95, { from: T0 - 60 * 60_000, spacingMs: 30_000 });
    await sim.start();
    t.after(() => sim.stop());
    const settings = { pageSize: 10 };
    const full = await run(sim, { now: T0, report: 'operationlogs', settings });
    assert.equal(full.batches.length, 10);
    for (const [k, late] of [
      [1, false],
      [4, false],
      [4, true],
      [9, true],
    ] as const) {
      const first = await run(sim, { now: T0, report: 'operationlogs', settings, stopAfter: k });
      const cp = first.checkpoint as TimeWindowCheckpoint;
      assert.equal(cp.since, full.batches[0].checkpoint.since, 'since stays at the window start');
      assert.ok(cp.next?.query?.next_page_token);
      if (late) clock.advance(20 * 60_000); // beyond the token's 15 minutes
      const before = reportRequests(sim).length;
      const rest = await run(sim, { now: T0, report: 'operationlogs', checkpoint: cp, settings });
      if (late) {
        const resumed = reportRequests(sim).slice(before);
        assert.equal(resumed[0].query.get('next_page_token'), String(cp.next?.query?.next_page_token));
        assert.equal(resumed[1].query.get('next_page_token'), null, 'the window again from its first page');
      }
      const ids = [...first.ids, ...rest.ids];
      assert.deepEqual(dupes(ids), [], `crash after page ${k}${late ? ', token expired' : ''}`);
      assert.deepEqual(
        [...ids].sort(),
        [...sim.eventIds('operationlogs')].sort(),
        `crash after page ${k}: nothing lost`,
      );
      assert.equal(rest.checkpoint?.since, new Date(T0).toISOString());
      clock.set(T0);
    }
  });

  it('a page token that expires in the middle of a run re-reads the window instead of failing the stream', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ZoomSimulator({
      clock: clock.now,
      heavyPerSecond: 10_000,
      activities: 0,
      operations: 0,
      seed: 5,
    });
    sim.addEvents('operationlogs', 95, { from: T0 - 60 * 60_000, spacingMs: 30_000 });
    await sim.start();
    t.after(() => sim.stop());
    const settings = { pageSize: 10 };
    // The destination stalls 20 minutes after the third page: the token the third page gave has expired.
    const r = await run(sim, {
      now: T0,
      report: 'operationlogs',
      settings,
      onBatch: (n) => n === 3 && clock.advance(20 * 60_000),
    });
    assert.deepEqual(dupes(r.ids), [], 'what was delivered before the re-read is not repeated');
    assert.deepEqual([...r.ids].sort(), [...sim.eventIds('operationlogs')].sort(), 'nothing lost');
    const pages = reportRequests(sim);
    assert.ok(pages[3].query.get('next_page_token'), 'the fourth request carried the expired token');
    assert.equal(pages[4].query.get('next_page_token'), null, 'then the window again from its first page');
    assert.equal(r.checkpoint?.since, new Date(T0).toISOString());
  });

  it('a page token refused again and again stops the run with page_cursor_expired, not a settings error', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ZoomSimulator({ clock: clock.now, heavyPerSecond: 10_000, activities: 0, operations: 0 });
    sim.addEvents('operationlogs', 40, { from: T0 - 60 * 60_000, spacingMs: 30_000 });
    await sim.start();
    t.after(() => sim.stop());
    await assert.rejects(
      run(sim, {
        now: T0,
        report: 'operationlogs',
        settings: { pageSize: 10 },
        onBatch: () => clock.advance(20 * 60_000), // every token outlived
      }),
      (e: TributaryError) => e.code === 'page_cursor_expired' && e.type === 'transient',
    );
  });

  it('the same record always gets the same id, whatever its key order', () => {
    const sim = new ZoomSimulator({ activities: 1, operations: 0 });
    const rec = sim.records('activities')[0];
    const reordered = Object.fromEntries(Object.entries(rec).reverse());
    assert.notEqual(JSON.stringify(reordered), JSON.stringify(rec));
    assert.equal(hashId(reordered), hashId(rec));
    assert.equal(hashId(rec), sim.eventIds('activities')[0]);
  });

  it('warns of a gap when the saved position is older than Zoom keeps reports', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ZoomSimulator({ clock: clock.now, heavyPerSecond: 10_000, activities: 3, operations: 0 });
    await sim.start();
    t.after(() => sim.stop());
    const warnings: unknown[] = [];
    const old = { since: new Date(T0 - 200 * 86_400_000).toISOString() };
    const r = await run(sim, { now: T0, checkpoint: old, warn: (e) => warnings.push(e) });
    assert.equal(r.ids.length, 3);
    assert.match(JSON.stringify(warnings), /checkpoint_beyond_retention/);
    assert.ok(
      reportRequests(sim).every((q) => (q.query.get('from') ?? '') >= '2026-05-29'),
      'never older than 180 days',
    );
  });
});
