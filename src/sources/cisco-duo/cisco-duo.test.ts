import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { ciscoDuo, type DuoAccount } from '../../accounts/cisco-duo.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import duo, { v2Range } from './index.ts';
import { DUO_LOG_PATHS, type DuoLog, DuoSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('cisco-duo', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

const clientFor = (account: DuoAccount) => {
  const http: Http = new Http({
    vendor: duo.title,
    backoffBaseMs: 1,
    maxAttempts: 2,
    authorize: (h, refresh, url, req) => ciscoDuo.authorize(account, h, { refresh, http, url, ...req }),
    explain: duo.explain,
  });
  return http;
};

async function run(
  sim: DuoSimulator,
  o: {
    log: DuoLog;
    now: number;
    checkpoint?: TimeWindowCheckpoint;
    settings?: Record<string, unknown>;
    stopAfter?: number;
    lookbackMs?: number;
    lagMs?: number;
  },
) {
  const account = sim.account();
  const ctx = readContext(clientFor(account), {
    stream: o.log,
    settings: settingsOf({ baseUrl: sim.url, ...o.settings }),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: o.lookbackMs ?? 2 * 3_600_000, lagMs: o.lagMs },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of duo.streams[o.log].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>) {
    batches.push(b);
    if (o.stopAfter !== undefined && batches.length >= o.stopAfter) break;
  }
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

const dupes = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
const logRequests = (sim: DuoSimulator, log: DuoLog) =>
  sim.requests().filter((r) => r.path === DUO_LOG_PATHS[log]);

describe('cisco-duo source: settings and Test Connection', () => {
  it('validates settings with the field in every message; activity is not a default stream', () => {
    const issues = (raw: Record<string, unknown>) => {
      const r = validateSettings('cisco-duo', raw);
      return r.ok ? [] : r.issues;
    };
    assert.deepEqual(settingsOf(), { limit: 1000 });
    assert.match(issues({ limit: 1001 }).join(), /limit/);
    assert.match(issues({ baseUrl: 'ftp://x' }).join(), /baseUrl/);
    assert.deepEqual(duo.defaultStreams?.({ limit: 1000 }), ['authentication', 'administrator', 'telephony']);
  });

  it('passes with "Grant read log"; explains a wrong secret key, a wrong integration key, a missing permission and 429, without echoing secrets', async (t) => {
    const sim = new DuoSimulator({ events: { authentication: 3 }, logRequestsPerMinute: 100 });
    await sim.start();
    t.after(() => sim.stop());
    const s = settingsOf({ baseUrl: sim.url });
    assert.deepEqual(await testConnection(duo, ciscoDuo, sim.account(), s), { ok: true });
    assert.deepEqual(
      sim.requests().map((r) => r.path),
      [DUO_LOG_PATHS.authentication, DUO_LOG_PATHS.administrator, DUO_LOG_PATHS.telephony],
    );
    const badSecret = { ...sim.account(), secretKey: 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep' };
    const r1 = await testConnection(duo, ciscoDuo, badSecret, s);
    assert.equal(!r1.ok && r1.error.code, 'duo_invalid_signature');
    assert.equal(!r1.ok && r1.error.status, 401);
    assert.doesNotMatch(JSON.stringify(r1), /Zh5eGmUq9z/);
    const r2 = await testConnection(
      duo,
      ciscoDuo,
      { ...sim.account(), integrationKey: 'DIWJ8X6AEYOR5OMC6TQ1' },
      s,
    );
    assert.equal(!r2.ok && r2.error.code, 'duo_invalid_integration_key');

    const noLog = new DuoSimulator({ readLog: false });
    await noLog.start();
    t.after(() => noLog.stop());
    const r3 = await testConnection(duo, ciscoDuo, noLog.account(), settingsOf({ baseUrl: noLog.url }), [
      'activity',
    ]);
    assert.equal(!r3.ok && r3.error.code, 'duo_missing_permission');
    if (!r3.ok) assert.match(r3.error.action, /Grant read log/);
    assert.deepEqual(
      noLog.requests().map((r) => r.path),
      [DUO_LOG_PATHS.activity],
      'only the enabled stream',
    );

    const paced = new DuoSimulator({ logRequestsPerMinute: 1 });
    await paced.start();
    t.after(() => paced.stop());
    const ps = settingsOf({ baseUrl: paced.url });
    assert.deepEqual(await testConnection(duo, ciscoDuo, paced.account(), ps, ['telephony']), { ok: true });
    const r4 = await testConnection(duo, ciscoDuo, paced.account(), ps, ['telephony']);
    assert.equal(!r4.ok && r4.error.code, 'duo_rate_limited');
    assert.deepEqual(sim.writeCalls(), []);
  });
});

describe('cisco-duo source: reading', () => {
  it('v2 logs: inclusive mintime/maxtime in ms, oldest first, limit, next_offset sent back comma-joined', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new DuoSimulator({
      clock: clock.now,
      events: { authentication: 25, telephony: 25, activity: 25 },
      logRequestsPerMinute: 1000,
      seed: 3,
    });
    await sim.start();
    t.after(() => sim.stop());
    for (const log of ['authentication', 'telephony', 'activity'] as const) {
      const { ids } = await run(sim, { log, now: T0, settings: { limit: 10 } });
      assert.deepEqual(ids, sim.eventIds(log), `${log}: every record once, oldest first`);
      const [first, second] = logRequests(sim, log);
      // lookback 2 h + 1 min overlap; the end is now - 3 min (lag), inclusive, hence - 1 ms.
      assert.equal(first.query.get('mintime'), String(T0 - 2 * 3_600_000 - 60_000));
      assert.equal(first.query.get('maxtime'), String(T0 - 180_000 - 1));
      assert.equal(first.query.get('sort'), 'ts:asc');
      assert.equal(first.query.get('limit'), '10');
      assert.match(String(second.query.get('next_offset')), /^\d{13},[0-9a-f-]{36}$/);
      assert.match(String(first.headers.authorization), /^Basic /);
      assert.ok(first.headers['x-duo-date']);
    }
    assert.deepEqual(v2Range({ start: new Date(1000), end: new Date(1001) }), {
      mintime: 1000,
      maxtime: 1001,
    });
  });

  it('waits out the two minutes Duo withholds new records, and repeats and loses nothing across runs', async (t) => {
    const clock = new ManualClock(T0 - 25 * 60_000); // the records happen after this: each visible from its time
    const sim = new DuoSimulator({
      clock: clock.now,
      events: { authentication: 0 },
      logRequestsPerMinute: 1000,
      seed: 8,
    });
    sim.addEvents('authentication', 240, { from: T0 - 20 * 60_000, spacingMs: 5_000 });
    await sim.start();
    t.after(() => sim.stop());
    const all: string[] = [];
    let checkpoint: TimeWindowCheckpoint | undefined;
    for (const now of [T0 - 12 * 60_000 + 7, T0 - 6 * 60_000, T0 - 5 * 60_000 - 1, T0, T0 + 5 * 60_000]) {
      clock.set(now);
      // lag 0 would ask for records Duo still withholds: the source's default lag (3 min) is what keeps them.
      const r = await run(sim, {
        log: 'authentication',
        now,
        checkpoint,
        lookbackMs: 30 * 60_000,
        settings: { limit: 7 },
      });
      all.push(...r.ids);
      checkpoint = r.checkpoint;
    }
    assert.deepEqual(dupes(all), []);
    assert.deepEqual([...all].sort(), [...sim.eventIds('authentication')].sort());
    // Without the lag the last two minutes would be read while Duo still withholds them, and skipped.
    clock.set(T0);
    const eager = await run(sim, { log: 'authentication', now: T0, lagMs: 0, lookbackMs: 30 * 60_000 });
    assert.equal(eager.checkpoint?.since, new Date(T0).toISOString());
    assert.equal(
      eager.ids.length,
      sim.eventIds('authentication').length - 23,
      'the 23 records of the last 2 min',
    );
  });

  it('a crash after any page of an oldest-first log loses nothing and repeats only from the saved position', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new DuoSimulator({
      clock: clock.now,
      events: { telephony: 95 },
      logRequestsPerMinute: 1000,
      seed: 4,
    });
    await sim.start();
    t.after(() => sim.stop());
    const settings = { limit: 10 };
    const full = await run(sim, { log: 'telephony', now: T0, settings });
    assert.equal(full.batches.length, 10);
    for (let k = 1; k < 10; k++) {
      const first = await run(sim, { log: 'telephony', now: T0, settings, stopAfter: k });
      assert.equal(
        first.checkpoint?.next,
        undefined,
        'oldest first: no cursor is saved, the position is the time',
      );
      const rest = await run(sim, { log: 'telephony', now: T0, checkpoint: first.checkpoint, settings });
      const ids = [...first.ids, ...rest.ids];
      assert.deepEqual(dupes(ids), [], `crash after page ${k}`);
      assert.deepEqual(ids, sim.eventIds('telephony'), `crash after page ${k}: nothing lost`);
    }
  });

  it('administrator log: seconds, 1000 earliest per call, paged by the last second, kept to the window, hashed ids', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new DuoSimulator({
      clock: clock.now,
      events: { administrator: 0 },
      logRequestsPerMinute: 1000,
      seed: 6,
    });
    // 2,500 actions, five a second: pages of 1000 end mid-second.
    sim.addEvents('administrator', 2500, { from: T0 - 30 * 60_000, spacingMs: 200 });
    await sim.start();
    t.after(() => sim.stop());
    const end = T0 - 30 * 60_000 + 400_000; // a run whose window ends after 2,000 of them (minus the lag)
    const r1 = await run(sim, { log: 'administrator', now: end, lookbackMs: 3_600_000 });
    const reqs = logRequests(sim, 'administrator');
    assert.equal(reqs[0].query.get('mintime'), String(Math.floor((end - 3_600_000 - 60_000) / 1000) - 1));
    assert.equal(reqs.length, 2, 'the second page holds records past the window: no third call');
    const expectedFirst = sim
      .records('administrator')
      .filter((r) => r.timestamp * 1000 < end - 180_000).length;
    assert.equal(r1.ids.length, expectedFirst);
    assert.match(r1.ids[0], /^h:[0-9a-f]{40}$/);
    const r2 = await run(sim, { log: 'administrator', now: T0, checkpoint: r1.checkpoint });
    const ids = [...r1.ids, ...r2.ids];
    assert.deepEqual(dupes(ids), []);
    assert.deepEqual([...ids].sort(), [...sim.eventIds('administrator')].sort());
  });

  it('the simulator verifies the signature of exactly what was sent', async (t) => {
    const sim = new DuoSimulator({ logRequestsPerMinute: 100 });
    await sim.start();
    t.after(() => sim.stop());
    const http = clientFor(sim.account());
    const path = `${sim.url}${DUO_LOG_PATHS.telephony}`;
    const q = {
      mintime: Date.now() - 3_600_000,
      maxtime: Date.now() - 180_000,
      next_offset: undefined,
      limit: 5,
    };
    const { body } = await http.getJson(path, q);
    assert.equal(body.stat, 'OK');
    // A proxy that rewrites the query after signing breaks the signature.
    const tampered = new Http({
      vendor: 'Cisco Duo',
      maxAttempts: 1,
      authorize: async (h, refresh, url, req) => {
        await ciscoDuo.authorize(sim.account(), h, { refresh, http, url, ...req });
        url.searchParams.set('limit', '6');
      },
    });
    const err = await tampered.getJson(path, q).catch((e) => e);
    assert.equal(err.status, 401);
    assert.match(err.message, /Invalid signature/);
  });
});
