import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainSource as drainStream, settingsFor } from '../../../test/support/drain.ts';
import { type SplunkAccount, splunk as splunkAccount } from '../../accounts/splunk.ts';
import { validateSettings } from '../../config/config-file.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import splunk, { exportForm, searchText } from './index.ts';
import { SplunkSimulator } from './simulator.ts';

const T0 = Date.parse('2026-12-07T05:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) =>
  settingsFor('splunk', { search: 'index=main sourcetype=linux_secure', ...raw });
const issues = (raw: Record<string, unknown>) => {
  const r = validateSettings('splunk', raw);
  return r.ok ? [] : r.issues;
};

const drain = (
  sim: SplunkSimulator,
  o: {
    now: () => number;
    checkpoint?: TimeWindowCheckpoint;
    settings?: Record<string, unknown>;
    account?: SplunkAccount;
    stopAfter?: number;
  },
) =>
  drainStream<TimeWindowCheckpoint>({
    ...o,
    source: splunk,
    stream: 'search',
    kind: splunkAccount,
    account: o.account ?? { url: sim.url, token: sim.token },
    settings: { search: 'index=main sourcetype=linux_secure', ...o.settings },
    lookbackMs: 2 * 3_600_000,
  });

describe('splunk settings', () => {
  it('refuses searches that would escape their window or write, naming what to remove', () => {
    assert.match(
      issues({ search: 'index=main earliest=-30d' }).join(),
      /search: remove the time modifier earliest=/,
    );
    assert.match(issues({ search: 'index=main _index_latest=now' }).join(), /_index_latest=/);
    assert.match(
      issues({ search: 'index=main [search index=x latest=now | head 1]' }).join(),
      /remove the time modifier latest=/,
    );
    assert.match(issues({ search: 'index=main | outputlookup x.csv' }).join(), /outputlookup changes data/);
    assert.match(issues({ search: 'index=main | delete' }).join(), /delete changes data/);
    assert.match(issues({ lag: 'soon', search: 'x' }).join(), /lag: expected a duration/);
    assert.deepEqual(issues({ search: 'index=main | stats count by user' }), []);
    assert.equal(searchText('index=main'), 'search index=main');
    assert.equal(searchText('| tstats count'), '| tstats count');
  });

  it('bounds each search by index time, start inclusive and end exclusive, event time a skew wider', () => {
    const f = exportForm(settingsOf() as never, { start: new Date(T0 - 3_600_000), end: new Date(T0) });
    assert.deepEqual(Object.fromEntries(f), {
      search: 'search index=main sourcetype=linux_secure',
      output_mode: 'json',
      index_earliest: String((T0 - 3_600_000) / 1000),
      index_latest: String(T0 / 1000),
      earliest_time: String((T0 - 3_600_000 - 86_400_000) / 1000),
      latest_time: String((T0 + 86_400_000) / 1000),
    });
  });
});

describe('splunk reading', () => {
  it('streams the export results of each index-time window, ids _bkt:_cd, times _time', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SplunkSimulator({ clock: clock.now, events: 30, seed: 'read' });
    await sim.start();
    t.after(() => sim.stop());
    const res = await drain(sim, { now: clock.now, settings: { batchSize: 7 } });
    // Indexed up to 5 minutes (the lag) before now.
    assert.deepEqual([...res.ids].sort(), [...sim.ids(T0 - 5 * 60_000 - 1)].sort());
    assert.equal(new Set(res.ids).size, res.ids.length);
    const first = res.batches.flatMap((b) => b.events)[0];
    assert.match(first.time ?? '', /^2026-12-07T0[34]:\d\d:\d\d\.000Z$/);
    const asked = sim.requests().filter((r) => r.path === '/services/search/v2/jobs/export');
    assert.equal(
      asked.length,
      2,
      'windows of at most an hour over the 1 h 55 min from the lookback to 5 minutes behind now',
    );
    assert.deepEqual(sim.writeCalls(), []);
    clock.advance(10 * 60_000);
    sim.add([[T0 - 60_000, T0 + 60_000]]); // an event indexed two minutes after its time
    const next = await drain(sim, { now: clock.now, checkpoint: res.checkpoint });
    const before = new Set(res.ids);
    assert.deepEqual(
      [...next.ids].sort(),
      sim
        .ids(clock.now() - 5 * 60_000 - 1)
        .filter((id) => !before.has(id))
        .sort(),
    );
    assert.ok(next.ids.includes(sim.ids().at(-1) as string), 'the late-indexed event');
  });

  it('resumes inside a window after a crash, skipping the results delivered', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SplunkSimulator({ clock: clock.now, events: 20, spacingMs: 60_000, seed: 'crash' });
    await sim.start();
    t.after(() => sim.stop());
    const crashed = await drain(sim, {
      now: clock.now,
      settings: { batchSize: 5, maxWindow: '1d', lag: '1m' },
      stopAfter: 2,
    });
    assert.equal(crashed.ids.length, 10);
    assert.equal(crashed.checkpoint?.next?.state?.offset, 10);
    const rest = await drain(sim, {
      now: clock.now,
      settings: { batchSize: 5, maxWindow: '1d', lag: '1m' },
      checkpoint: crashed.checkpoint,
    });
    assert.deepEqual([...crashed.ids, ...rest.ids].sort(), [...sim.ids()].sort());
    assert.equal(rest.ids.length, 10, 'nothing twice');
  });

  it('waits out the concurrent-search quota (503) and reads on', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SplunkSimulator({ clock: clock.now, events: 5, seed: 'busy' });
    await sim.start();
    t.after(() => sim.stop());
    sim.inject({
      kind: 'status',
      status: 503,
      path: '/services/search/v2/jobs/export',
      headers: { 'retry-after': '0' },
      body: {
        messages: [
          {
            type: 'WARN',
            text: 'Search not executed: The maximum number of concurrent historical searches for this user based on their role quota has been reached.',
          },
        ],
      },
    });
    const res = await drain(sim, { now: clock.now, settings: { maxWindow: '1d', lag: '1m' } });
    assert.deepEqual([...res.ids].sort(), [...sim.ids()].sort());
    assert.equal(sim.requests().length, 2, 'the refused search, then the same again');
  });

  it('asks a stream cut off mid-way again, without repeating what it read', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SplunkSimulator({ clock: clock.now, events: 40, eventBytes: 3000, seed: 'cut' });
    await sim.start();
    t.after(() => sim.stop());
    sim.inject({ kind: 'truncate', path: '/services/search/v2/jobs/export' });
    const res = await drain(sim, { now: clock.now, settings: { maxWindow: '1d', lag: '1m' } });
    assert.deepEqual([...res.ids].sort(), [...sim.ids()].sort());
    assert.equal(new Set(res.ids).size, res.ids.length);
  });
});

describe('splunk test connection', () => {
  it('proves the credentials, the search capability and the search itself', async (t) => {
    const ok = new SplunkSimulator({ clock: () => T0, events: 3, seed: 'tc' });
    const weak = new SplunkSimulator({ clock: () => T0, events: 3, noSearchCapability: true, seed: 'tc2' });
    await ok.start();
    await weak.start();
    t.after(() => Promise.all([ok.stop(), weak.stop()]));
    const test = (account: SplunkAccount, search = 'index=main') =>
      testConnection(splunk, splunkAccount, account, settingsOf({ search }), ['search']);
    assert.deepEqual(await test({ url: ok.url, token: ok.token }), { ok: true });
    assert.deepEqual(await test({ url: ok.url, username: ok.username, password: ok.password }), {
      ok: true,
    });
    const wrong = await test({ url: ok.url, username: ok.username, password: 'not-the-password-42' });
    assert.equal(!wrong.ok && wrong.error.code, 'splunk_not_authenticated');
    assert.doesNotMatch(JSON.stringify(wrong), /not-the-password-42/);
    const bad = await test({ url: ok.url, token: ok.token }, 'index=main | bogus');
    assert.equal(!bad.ok && bad.error.code, 'splunk_search_invalid');
    if (!bad.ok) assert.match(bad.error.action, /Unknown search command 'bogus'/);
    const noCap = await test({ url: weak.url, token: weak.token });
    assert.equal(!noCap.ok && noCap.error.code, 'splunk_no_search_capability');
    assert.deepEqual([...ok.writeCalls(), ...weak.writeCalls()], []);
  });
});
