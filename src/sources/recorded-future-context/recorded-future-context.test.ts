import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream } from '../../../test/support/drain.ts';
import { type RecordedFutureAccount, recordedFuture } from '../../accounts/recorded-future.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import source from './index.ts';
import { RecordedFutureSimulator } from './simulator.ts';

const T0 = '2026-12-01T12:00:00.000Z';

function read(
  sim: RecordedFutureSimulator,
  stream: string,
  o: { clock: ManualClock; checkpoint?: unknown; stopAfter?: number },
) {
  return drainStream(source, recordedFuture, stream, {
    account: { token: sim.token, url: sim.url } satisfies RecordedFutureAccount,
    settings: {},
    now: o.clock.now,
    checkpoint: o.checkpoint,
    stopAfter: o.stopAfter,
  });
}

describe('recorded-future-context', () => {
  it('downloads a risk list (gzip CSV, X-RFToken) as context records of its entity, then the marker', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new RecordedFutureSimulator({ rows: 2500 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await read(sim, 'hash', { clock });
    assert.deepEqual(r.ids, sim.ids(['hash']));
    const row = r.records[0].raw as Record<string, string>;
    assert.deepEqual(Object.keys(row), ['Name', 'Algorithm', 'Risk', 'RiskString', 'EvidenceDetails']);
    assert.equal(row.Algorithm, 'SHA-256');
    assert.ok(JSON.parse(row.EvidenceDetails).EvidenceDetails.length > 0);
    assert.deepEqual(r.records[0].context, { op: 'upsert', entity: 'hash', snapshot: T0 });
    assert.equal(r.markers.length, 1);
    const [req] = sim.requests.all();
    assert.equal(req.path, '/v2/hash/risklist');
    assert.equal(req.query.get('format'), 'csv/splunk');
    assert.equal(req.query.get('gzip'), 'true');
    assert.equal(req.headers['x-rftoken'], sim.token);
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('a refresh stopped part-way resumes after the rows delivered; a later refresh drops entities that left the list', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new RecordedFutureSimulator({ rows: 2500 });
    await sim.start();
    t.after(() => sim.stop());
    const part = await read(sim, 'ip', { clock, stopAfter: 2 });
    assert.equal(part.ids.length, 1000, 'parts of 1,000 rows');
    assert.equal((part.checkpoint as { phase: string }).phase, 'refresh');
    const rest = await read(sim, 'ip', { clock, checkpoint: part.checkpoint });
    assert.deepEqual([...part.ids, ...rest.ids], sim.ids(['ip']));
    assert.equal(rest.markers[0].context?.snapshot, T0);
    const between = await read(sim, 'ip', { clock, checkpoint: rest.checkpoint });
    assert.deepEqual(between.ids, [], 'no deltas: nothing until the next refresh');
    const gone = sim.ids(['ip'])[3].slice(3);
    sim.drop('ip', gone);
    clock.advance(6 * 3_600_000);
    const next = await read(sim, 'ip', { clock, checkpoint: between.checkpoint });
    assert.ok(!next.ids.includes(`ip:${gone}`));
    assert.equal(next.ids.length, 2499);
    assert.notEqual(next.markers[0].context?.snapshot, T0);
  });

  it('a refresh interrupted part-way starts again from the first row, under a new snapshot, when the list changed in between', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new RecordedFutureSimulator({ rows: 2500 });
    await sim.start();
    t.after(() => sim.stop());
    // Recorded Future regenerates the list between the two downloads: an entity at its top leaves, two
    // new ones come in.
    const gone = sim.ids(['ip'])[0].slice(3);
    let added: string[] = [];
    sim.beforeRiskList = (type, answered) => {
      if (type !== 'ip' || answered !== 1) return;
      sim.drop('ip', gone);
      added = sim.add('ip', 2);
    };
    const part = await read(sim, 'ip', { clock, stopAfter: 2 });
    assert.equal(part.ids.length, 1000);
    assert.ok(part.ids.includes(`ip:${gone}`));
    clock.advance(60_000);
    const rest = await read(sim, 'ip', { clock, checkpoint: part.checkpoint });
    // Skipping 1,000 rows of the new list would have missed the 1,001st row of the old one (now 1,000th).
    assert.deepEqual(rest.ids, sim.ids(['ip']), 'every row of the new list, from the first');
    assert.ok(!rest.ids.includes(`ip:${gone}`));
    assert.equal(added.length, 2);
    for (const name of added) assert.ok(rest.ids.includes(`ip:${name}`));
    assert.equal(rest.markers.length, 1);
    const snapshot = rest.markers[0].context?.snapshot;
    assert.notEqual(snapshot, T0, 'a new snapshot: the interrupted one is never marked complete');
    assert.equal(snapshot, new Date(clock.now()).toISOString());
    assert.ok(rest.records.every((r) => r.context?.snapshot === snapshot));
    assert.equal((rest.markers[0].raw as { records: number }).records, 2501);
  });

  it('a list downloaded again unchanged resumes after the rows delivered (no row twice)', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new RecordedFutureSimulator({ rows: 2500 });
    await sim.start();
    t.after(() => sim.stop());
    const part = await read(sim, 'domain', { clock, stopAfter: 3 });
    assert.equal(part.ids.length, 2000);
    const rest = await read(sim, 'domain', { clock, checkpoint: part.checkpoint });
    assert.equal(rest.ids.length, 500);
    assert.deepEqual([...part.ids, ...rest.ids], sim.ids(['domain']));
    assert.equal(rest.markers[0].context?.snapshot, T0, 'the same refresh completes');
    assert.equal(sim.requests.all().filter((r) => r.path === '/v2/domain/risklist').length, 2);
  });

  it('Test Connection checks each enabled type; errors name the action, never the token', async (t) => {
    const sim = new RecordedFutureSimulator({ rows: 1 });
    await sim.start();
    t.after(() => sim.stop());
    const account = { token: sim.token, url: sim.url };
    assert.deepEqual(await testConnection(source, recordedFuture, account, {}), { ok: true });
    sim.licensed.delete('vulnerability');
    const r = await testConnection(source, recordedFuture, account, {}, ['ip', 'vulnerability']);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'recorded_future_not_licensed');
    const wrong = await testConnection(
      source,
      recordedFuture,
      { token: 'wrong-token-000000000', url: sim.url },
      {},
    );
    assert.ok(!wrong.ok);
    assert.equal(wrong.error.code, 'recorded_future_invalid_token');
    assert.ok(!JSON.stringify(wrong.error).includes('wrong-token-000000000'));
  });
});
