import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream, settingsFor } from '../../../test/support/drain.ts';
import { recordedFuture } from '../../accounts/recorded-future.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import { RecordedFutureSimulator } from '../recorded-future-context/simulator.ts';
import source from './index.ts';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');
const STREAM = 'playbook-alerts';

async function started(t: { after: (fn: () => unknown) => void }) {
  const sim = new RecordedFutureSimulator({ rows: 0 });
  await sim.start();
  t.after(() => sim.stop());
  return sim;
}

const searches = (sim: RecordedFutureSimulator) => sim.searchBodies;

describe('recorded-future playbook alerts', () => {
  it('searches by update time in offset pages, fetches each page whole per category, versions by update; resumes', async (t) => {
    const clock = new ManualClock(T0);
    const sim = await started(t);
    sim.addPlaybookAlerts(Array.from({ length: 120 }, (_, i) => T0 - 3_000_000 + i * 20_000));
    sim.addPlaybookAlerts([T0 - 2_000_000, T0 - 1_000_000], 'cyber_vulnerability');
    const o = {
      account: { token: sim.token, url: sim.url },
      settings: settingsFor('recorded-future', { playbookPageSize: 50 }),
      now: clock.now,
    };
    const part = await drainStream(source, recordedFuture, STREAM, { ...o, stopAfter: 1 });
    const rest = await drainStream(source, recordedFuture, STREAM, { ...o, checkpoint: part.checkpoint });
    assert.deepEqual(
      [...part.ids, ...rest.ids].sort(),
      sim.playbookIds().sort(),
      'every alert once, across the resume',
    );

    const bodies = searches(sim);
    assert.deepEqual(Object.keys(bodies[0]).sort(), [
      'direction',
      'from',
      'limit',
      'order_by',
      'updated_range',
    ]);
    assert.equal(bodies[0].order_by, 'updated');
    assert.equal(bodies[0].direction, 'asc');
    assert.equal(bodies[0].limit, 50);
    assert.match(bodies[0].updated_range.from, /^2026-12-01T1\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(
      bodies[0].updated_range.until.endsWith('.999Z'),
      'the window end is exclusive: until is 1 ms before it',
    );
    // The first run stopped after its first page; the resumed run reads the window again from its first page
    // (the position of a settled window is its first request), the delivered ids suppressed.
    assert.deepEqual(
      bodies.map((b) => b.from),
      [0, 0, 50, 100],
    );
    const lookups = sim.requests.all().filter((r) => r.path !== '/playbook-alert/search');
    assert.ok(
      lookups.every((r) => r.method === 'POST'),
      'whole alerts come from the category lookups',
    );
    assert.ok(
      lookups.some((r) => r.path === '/playbook-alert/vulnerability'),
      'cyber_vulnerability → /vulnerability',
    );
    assert.ok(lookups.some((r) => r.path === '/playbook-alert/domain_abuse'));
    // Pages: 0 (run 1), then 0, 50, 100 (run 2); the two cyber_vulnerability alerts lie on pages 50 and 100.
    assert.equal(lookups.length, 6, 'one lookup per category per page');

    const e = part.records[0];
    const raw = e.raw as any;
    assert.equal(e.id, `${raw.playbook_alert_id}@${raw.panel_status.updated}`);
    assert.equal(e.time, raw.panel_status.updated);
    assert.ok(raw.panel_evidence_summary, 'the alert whole, not the search summary');

    // An analyst changes an alert: its new version is delivered; nothing else again.
    clock.advance(10 * 60_000);
    const changed = sim.updatePlaybookAlert(raw.playbook_alert_id, clock.now() - 5 * 60_000, 'Resolved');
    const more = await drainStream(source, recordedFuture, STREAM, { ...o, checkpoint: rest.checkpoint });
    assert.deepEqual(more.ids, [changed]);
    assert.notEqual(changed, e.id);
    assert.equal((more.records[0].raw as any).panel_status.status, 'Resolved');
    assert.deepEqual(sim.writeCalls(), [], 'searches and lookups are reads; nothing changes an alert');
  });

  it('an alert updated while its window is paged does not hide another: the window is read again', async (t) => {
    const clock = new ManualClock(T0);
    const sim = await started(t);
    const ids = sim.addPlaybookAlerts(Array.from({ length: 30 }, (_, i) => T0 - 3_000_000 + i * 60_000));
    const first = ids[0].split('@')[0];
    // After the first page: the first alert is updated, moving to the end of the list; the rest move up one place.
    sim.beforeSearch = (n) => {
      if (n === 1) sim.updatePlaybookAlert(first, T0 - 5 * 60_000, 'InProgress');
    };
    const r = await drainStream(source, recordedFuture, STREAM, {
      account: { token: sim.token, url: sim.url },
      settings: settingsFor('recorded-future', { playbookPageSize: 10 }),
      now: clock.now,
    });
    // Every alert (the one at the first page's edge was hidden by the move in the first pass), plus the new
    // version of the moved one.
    const delivered = new Set(r.ids);
    for (const id of ids.slice(1)) assert.ok(delivered.has(id), `${id} delivered`);
    assert.ok(delivered.has(sim.playbookIds().at(-1)!), 'the new version too');
    assert.equal(r.ids.length, delivered.size, 'no repeats');
    assert.ok(searches(sim).length > 3, 'the window was read again');
  });

  it('reads alerts of other categories from /playbook-alert/common/{id}; honours playbookCategories', async (t) => {
    const clock = new ManualClock(T0);
    const sim = await started(t);
    const [other] = sim.addPlaybookAlerts([T0 - 600_000], 'dark_web_brand');
    const account = { token: sim.token, url: sim.url };
    const r = await drainStream(source, recordedFuture, STREAM, {
      account,
      settings: settingsFor('recorded-future'),
      now: clock.now,
    });
    assert.deepEqual(r.ids, [other]);
    assert.ok(
      sim.requests.all().some((x) => x.method === 'GET' && x.path.startsWith('/playbook-alert/common/')),
    );
    await drainStream(source, recordedFuture, STREAM, {
      account,
      settings: settingsFor('recorded-future', { playbookCategories: ['domain_abuse'] }),
      now: clock.now,
    });
    assert.deepEqual(searches(sim).at(-1).category, ['domain_abuse']);
    assert.throws(
      () => settingsFor('recorded-future', { playbookCategories: ['Domain Abuse'] }),
      /playbookCategories/,
    );
  });

  it('Test Connection searches playbook alerts; a token without the Playbook Alert API is named, not shown', async (t) => {
    const sim = await started(t);
    const account = { token: sim.token, url: sim.url };
    assert.deepEqual(await testConnection(source, recordedFuture, account, {}, [STREAM]), { ok: true });
    assert.ok(sim.requests.all().some((r) => r.path === '/playbook-alert/search'));
    assert.ok(!sim.requests.all().some((r) => r.path === '/v3/alerts'), 'only the enabled stream is tried');
    sim.inject({ kind: 'status', status: 403, path: '/playbook-alert/search', times: 1 });
    const r = await testConnection(source, recordedFuture, account, {}, [STREAM]);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'recorded_future_not_licensed');
    assert.match(r.error.action ?? '', /Playbook Alert API/);
    assert.ok(!JSON.stringify(r.error).includes(sim.token));
    const bad = await testConnection(
      source,
      recordedFuture,
      { ...account, token: 'wrong-token-999999999' },
      {},
      [STREAM],
    );
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, 'recorded_future_invalid_token');
    assert.deepEqual(sim.writeCalls(), []);
    const lookup = (status: number) =>
      source.explain?.({
        status,
        message: '',
        body: '',
        url: new URL(`${sim.url}/playbook-alert/domain_abuse`),
      });
    assert.equal(lookup(404)?.code, 'recorded_future_playbook_category_unknown');
    assert.match(lookup(404)?.action ?? '', /playbookCategories/);
  });
});
