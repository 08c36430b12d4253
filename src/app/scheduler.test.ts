import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDirs } from '../../test/support/temp-dirs.ts';
import { parseConfig } from '../config/config-file.ts';
import { CONFIG_FILE, Control } from '../control/service.ts';
import { silentLogger } from '../engine/log.ts';
import type { RunResult } from '../engine/runner.ts';
import { OktaSimulator } from '../sources/okta/simulator.ts';
import { SecretBox } from '../store/secrets.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { Runtime } from './runtime.ts';
import { Scheduler } from './scheduler.ts';

const fresh = tempDirs('tributary-sched');

async function runtimeFor(sim: OktaSimulator, interval: string, enabled = true) {
  const dir = fresh();
  const store = await SqliteStore.open(dir);
  await store.migrate();
  const runtime = new Runtime(store, await SecretBox.open(dir, {}), silentLogger);
  await new Control(runtime).apply(
    CONFIG_FILE,
    parseConfig(
      JSON.stringify({
        accounts: { o: { kind: 'okta', url: sim.url, token: sim.token, requestsPerMinute: 100000 } },
        destinations: { f: { kind: 'file', path: 'events.ndjson' } },
        collectors: {
          a: {
            source: 'okta',
            account: 'o',
            destinations: ['f'],
            lookback: '1h',
            settings: { limit: 50 },
          },
          off: { source: 'okta', account: 'o', destinations: ['f'], enabled },
        },
      }),
      { baseDir: dir, env: {} },
    ),
  );
  // Written to the store directly: the control plane refuses intervals under 10s, the scheduler
  // runs whatever interval a record holds, and a test cannot wait 10s for a second run.
  for (const name of ['a', 'off']) {
    const record = (await store.getCollector(name))!;
    await store.putCollector({ ...record, config: { ...record.config, interval } });
  }
  return runtime;
}

describe('scheduler', () => {
  it('runs enabled collectors on their interval, one run at a time each', async (t) => {
    const sim = new OktaSimulator({ events: 200 });
    await sim.start();
    t.after(() => sim.stop());
    const runtime = await runtimeFor(sim, '1s', false);
    const scheduler = new Scheduler(runtime);
    const runs: string[] = [];
    const twoRuns = new Promise<void>((done) => {
      scheduler.onRun = (r) => {
        runs.push(r.collector);
        if (runs.filter((c) => c === 'a').length === 2) done();
      };
    });
    await scheduler.start();
    t.after(() => scheduler.stop(1000));
    const [x, y] = [scheduler.runNow('a'), scheduler.runNow('a')];
    assert.equal(x, y, 'a second request joins the run in progress');
    await twoRuns;
    await scheduler.stop(1000);
    assert.ok(!runs.includes('off'), 'disabled collectors are not scheduled');
    const history = await runtime.store.listRuns((await runtime.store.getCollector('a'))!.id);
    assert.ok(history.length >= 2);
    for (let i = 1; i < history.length; i++) {
      assert.ok(history[i].endedAt! <= history[i - 1].startedAt, 'runs of one collector never overlap');
    }
    assert.equal(
      history.reduce((n, r) => n + r.events, 0),
      200,
    );
    await runtime.close();
    await sim.stop();
  });

  it('stops gracefully: the batch in flight is committed, then nothing more runs', async (t) => {
    const sim = new OktaSimulator({ events: 2000 });
    await sim.start();
    t.after(() => sim.stop());
    const runtime = await runtimeFor(sim, '1h');
    const scheduler = new Scheduler(runtime);
    sim.inject({ kind: 'delay', ms: 300, path: '/api/v1/logs', afterRequests: 1, times: 1000 });
    await scheduler.start();
    t.after(() => scheduler.stop(1000));
    const id = (await runtime.store.getCollector('a'))!.id;
    const deadline = Date.now() + 20_000;
    while (!(await runtime.store.getCheckpoint(id, 'system-log')) && Date.now() < deadline) {
      await new Promise((r) => setImmediate(r)); // poll until the first page is committed
    }
    await scheduler.stop(5000); // requested while the next page is on its way
    const c = (await runtime.store.getCollector('a'))!;
    const [run] = await runtime.store.listRuns(c.id);
    assert.ok(run.events > 0 && run.events < 2000, `stopped part-way (${run.events} events)`);
    assert.equal(run.status, 'cancelled');
    assert.ok(await runtime.store.getCheckpoint(c.id, 'system-log'), 'what was delivered is committed');
    await runtime.close();
    await sim.stop();
  });

  it('sync starts a collector enabled through the API, and stops one disabled; remove cancels it', async (t) => {
    const sim = new OktaSimulator({ events: 50 });
    await sim.start();
    t.after(() => sim.stop());
    const runtime = await runtimeFor(sim, '1h', false);
    const scheduler = new Scheduler(runtime);
    const runs: string[] = [];
    let ran: () => void = () => {};
    scheduler.onRun = (r) => {
      runs.push(r.collector);
      ran();
    };
    const nextRun = () => new Promise<void>((done) => (ran = done));
    let first = nextRun();
    await scheduler.start();
    t.after(() => scheduler.stop(1000));
    await first;
    assert.deepEqual(runs, ['a']);
    const off = (await runtime.store.getCollector('off'))!;
    await runtime.store.putCollector({ ...off, enabled: true });
    first = nextRun();
    scheduler.sync('off');
    await first;
    assert.deepEqual(runs, ['a', 'off'], 'an enabled collector is scheduled at once');
    const a = (await runtime.store.getCollector('a'))!;
    await runtime.store.putCollector({ ...a, enabled: false });
    scheduler.sync('a');
    await scheduler.remove('off');
    first = nextRun();
    const again = scheduler.runNow('a'); // an explicit run still works; the timer is gone
    await first;
    await again;
    await scheduler.stop(1000);
    assert.deepEqual(runs, ['a', 'off', 'a']);
    await runtime.close();
    await sim.stop();
  });

  it("holds back every collector of an account until the vendor's time after a long Retry-After", async () => {
    const sim = new OktaSimulator({ events: 20 });
    await sim.start();
    // The first request of either collector (both use account o) is told to come back in an hour.
    sim.inject({ kind: 'status', status: 429, headers: { 'retry-after': '3600' }, path: '/api/v1/logs' });
    const runtime = await runtimeFor(sim, '1s', true);
    const accountId = (await runtime.store.getAccount('o'))!.id;
    const scheduler = new Scheduler(runtime);
    await scheduler.start();
    // Both collectors run every second; once the wait is on record each is due at its end, not before.
    const deadline = Date.now() + 20_000;
    let until = Number.POSITIVE_INFINITY;
    for (;;) {
      const w = await runtime.store.getVendorWait(accountId);
      if (w) until = Date.parse(w.until);
      if (['a', 'off'].every((n) => (scheduler.nextRunAt(n) ?? 0) >= until)) break;
      assert.ok(Date.now() < deadline, 'both collectors scheduled at the end of the wait');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(until - Date.now() > 3_500_000, 'an hour away');
    await scheduler.stop(1000);
    const runs = [
      ...(await runtime.store.listRuns((await runtime.store.getCollector('a'))!.id)),
      ...(await runtime.store.listRuns((await runtime.store.getCollector('off'))!.id)),
    ];
    assert.equal(runs.length, 2, 'one run each: none started while waiting');
    assert.deepEqual(runs.map((r) => r.status).sort(), ['failed', 'succeeded']);
    assert.equal(runs.find((r) => r.status === 'failed')!.error?.waitUntil, new Date(until).toISOString());

    // A scheduler whose clock is past the vendor's time runs them again.
    const later = new Scheduler(runtime, { now: () => until + 1000 });
    const done: RunResult[] = [];
    const both = new Promise<void>((ok) => {
      later.onRun = (r) => done.push(r) === 2 && ok();
    });
    await later.start();
    await both;
    await later.stop(1000);
    assert.deepEqual(
      done.map((r) => r.status),
      ['succeeded', 'succeeded'],
    );
    await runtime.close();
    await sim.stop();
  });
});
