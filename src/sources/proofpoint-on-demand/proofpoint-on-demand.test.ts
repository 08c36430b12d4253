import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { readContext } from '../../../test/support/read-context.ts';
import { type PodAccount, proofpointOnDemand } from '../../accounts/proofpoint-on-demand.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { OriginSet } from '../../engine/credential-origins.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import pod, { type PodCheckpoint } from './index.ts';
import { PodSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown>) => {
  const r = validateSettings('proofpoint-on-demand', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

function reader(sim: PodSimulator, clock: ManualClock, o: { origins?: string[] } = {}) {
  const account: PodAccount = { apiKey: sim.apiKey, url: sim.url };
  return async (checkpoint?: PodCheckpoint, warn: (e: TributaryError) => void = () => {}) => {
    const http: Http = new Http({
      vendor: 'Proofpoint on Demand',
      authorize: (h, refresh, url) => proofpointOnDemand.authorize(account, h, { refresh, http, url }),
      credentialOrigins: o.origins ? { set: new OriginSet(o.origins), account: 'pod' } : undefined,
    });
    const ctx = readContext(http, {
      stream: 'message',
      settings: settingsOf({ clusterId: sim.clusterId, batchSize: 10, idleMs: 150 }),
      account,
      checkpoint,
      now: clock.now,
      warn,
      window: { lookbackMs: 30 * 60_000 },
    });
    const out: Batch<PodCheckpoint>[] = [];
    for await (const b of pod.streams.message.read(ctx) as AsyncIterable<Batch<PodCheckpoint>>) out.push(b);
    return {
      out,
      ids: out.flatMap((b) => b.events.map((e) => e.id as string)),
      checkpoint: out.at(-1)?.checkpoint ?? checkpoint,
    };
  };
}

describe('proofpoint-on-demand stream', () => {
  it('connects with the key, the cluster and sinceTime; the next run replays from the last record, suppressing it', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new PodSimulator({ clock: clock.now, records: 20, spacingMs: 60_000, seed: 1 });
    await sim.start();
    t.after(() => sim.stop());
    const read = reader(sim, clock);
    const a = await read();
    assert.equal(sim.handshakes[0].authorization, `Bearer ${sim.apiKey}`);
    assert.equal(sim.handshakes[0].type, 'message');
    assert.equal(
      sim.handshakes[0].sinceTime,
      '2026-11-25T11:30:00.000000+0000',
      'the lookback, as PoD prints times',
    );
    assert.ok(a.ids.length > 0);
    clock.advance(5 * 60_000);
    sim.publish('message', 3, { from: clock.now() - 60_000, spacingMs: 1000 });
    const b = await read(a.checkpoint);
    assert.equal(
      sim.handshakes[1].sinceTime?.slice(0, 19),
      a.checkpoint?.since.slice(0, 19),
      'replay from the position',
    );
    const all = [...a.ids, ...b.ids];
    assert.equal(new Set(all).size, all.length, 'the record at the position is not delivered again');
    const inLookback = sim.ids('message').slice(-all.length);
    assert.deepEqual([...all].sort(), [...inLookback].sort());
    assert.equal(sim.openSessions(), 0, 'the session is closed when caught up');
  });

  it('a dropped connection is reopened from the position within the run; nothing lost', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new PodSimulator({ clock: clock.now, records: 25, spacingMs: 60_000, seed: 2 });
    await sim.start();
    t.after(() => sim.stop());
    sim.dropAfter(7);
    const r = await reader(sim, clock)();
    assert.ok(sim.handshakes.length >= 3, 'reconnected');
    assert.deepEqual(
      [...new Set(r.ids)].sort(),
      sim
        .ids('message')
        .slice(-25)
        .filter((_, i, a) => i >= a.length - r.ids.length)
        .sort(),
    );
    assert.equal(new Set(r.ids).size, r.ids.length);
  });

  it('a position older than the replay hour moves up with a gap warning', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new PodSimulator({ clock: clock.now, records: 5, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const warnings: TributaryError[] = [];
    await reader(sim, clock)({ since: new Date(T0 - 3 * 3_600_000).toISOString() }, (w) => warnings.push(w));
    assert.equal(warnings[0]?.code, 'checkpoint_beyond_replay');
    assert.equal(sim.handshakes[0].sinceTime, '2026-11-25T11:01:00.000000+0000');
  });

  it('never sends the key to a host outside the account’s origins', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new PodSimulator({ clock: clock.now, records: 5, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    await assert.rejects(reader(sim, clock, { origins: ['https://logstream.proofpoint.com'] })(), {
      code: 'credential_origin_refused',
    });
    assert.equal(sim.handshakes.length, 0);
  });
});

describe('proofpoint-on-demand Test Connection', () => {
  it('passes; explains a wrong key, a wrong cluster and a key already in a session', async (t) => {
    const sim = new PodSimulator({ records: 3, seed: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const test = (apiKey = sim.apiKey, clusterId = sim.clusterId) =>
      testConnection(pod, proofpointOnDemand, { apiKey, url: sim.url }, settingsOf({ clusterId }));
    assert.deepEqual(await test(), { ok: true });
    const bad = await test('not-the-key-0123456789');
    assert.equal(!bad.ok && bad.error.code, 'pod_invalid_key');
    assert.doesNotMatch(JSON.stringify(bad), /not-the-key/);
    const cluster = await test(sim.apiKey, 'other_hosted');
    assert.equal(!cluster.ok && cluster.error.code, 'pod_forbidden');
    // Another consumer holds the key's one session.
    const other = new WebSocket(
      `${sim.url.replace('http', 'ws')}/v1/stream?cid=${sim.clusterId}&type=maillog`,
      {
        headers: { authorization: `Bearer ${sim.apiKey}` },
      },
    );
    await new Promise((ok) => other.once('open', ok));
    t.after(() => other.terminate());
    const busy = await test();
    assert.equal(!busy.ok && busy.error.code, 'pod_session_in_use');
    if (!busy.ok) assert.match(busy.error.action, /one session per key/);
  });
});
