import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream } from '../../../test/support/drain.ts';
import { recordedFuture } from '../../accounts/recorded-future.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import { RecordedFutureSimulator } from '../recorded-future-context/simulator.ts';
import source from './index.ts';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');

describe('recorded-future', () => {
  it('reads alerts by triggered time, oldest first, in offset pages counted against the total; resumes', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new RecordedFutureSimulator({ rows: 0 });
    await sim.start();
    t.after(() => sim.stop());
    sim.addAlerts(Array.from({ length: 230 }, (_, i) => T0 - 3_000_000 + i * 10_000));
    const o = { account: { token: sim.token, url: sim.url }, settings: { limit: 100 }, now: clock.now };
    const part = await drainStream(source, recordedFuture, 'alerts', { ...o, stopAfter: 1 });
    const rest = await drainStream(source, recordedFuture, 'alerts', { ...o, checkpoint: part.checkpoint });
    assert.deepEqual([...part.ids, ...rest.ids], sim.alertIds(), 'every alert once, across the resume');
    assert.equal(part.records[0].time, new Date(T0 - 3_000_000).toISOString(), 'time is log.triggered');
    const pages = sim.requests.all().filter((r) => r.path === '/v3/alerts');
    assert.match(
      pages[0].query.get('triggered')!,
      /^\[2026-12-01T1\d:\d\d:\d\d\.\d{3}Z,2026-12-01T1\d:\d\d:\d\d\.\d{3}Z\]$/,
    );
    assert.equal(pages[0].query.get('orderby'), 'triggered');
    assert.equal(pages[0].query.get('direction'), 'asc');
    // The resumed run starts a window at the last alert delivered (ascending order), then pages by offset.
    assert.deepEqual(
      pages.map((p) => p.query.get('from')),
      ['0', '0', '100'],
    );
    assert.ok(pages[1].query.get('triggered')! > pages[0].query.get('triggered')!);
    clock.advance(10 * 60_000);
    const [late] = sim.addAlerts([T0 + 60_000]);
    const more = await drainStream(source, recordedFuture, 'alerts', { ...o, checkpoint: rest.checkpoint });
    assert.deepEqual(more.ids, [late]);
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('an empty page before the total is asked again rather than ending the window', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new RecordedFutureSimulator({ rows: 0 });
    await sim.start();
    t.after(() => sim.stop());
    sim.addAlerts(Array.from({ length: 150 }, (_, i) => T0 - 3_000_000 + i * 10_000));
    sim.inject({ kind: 'empty', path: '/v3/alerts', afterRequests: 1 });
    const r = await drainStream(source, recordedFuture, 'alerts', {
      account: { token: sim.token, url: sim.url },
      settings: { limit: 100 },
      now: clock.now,
    });
    assert.deepEqual(r.ids, sim.alertIds());
  });

  it('Test Connection; a wrong token names the fix and not the token', async (t) => {
    const sim = new RecordedFutureSimulator({ rows: 0 });
    await sim.start();
    t.after(() => sim.stop());
    assert.deepEqual(await testConnection(source, recordedFuture, { token: sim.token, url: sim.url }, {}), {
      ok: true,
    });
    const r = await testConnection(
      source,
      recordedFuture,
      { token: 'wrong-token-999999999', url: sim.url },
      {},
    );
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'recorded_future_invalid_token');
    assert.ok(!JSON.stringify(r.error).includes('wrong-token-999999999'));
  });
});
