import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import type { Store } from '../../src/core/store.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { adminClient, freshSchemas, postgresUnavailable, requirePostgres } from '../support/postgres.ts';
import { tempDirs } from '../support/temp-dirs.ts';
import {
  applyOktaCollectors,
  CLI,
  memoryLogger,
  openControl,
  overlaps,
  randomKey,
  Sink,
  spawnWorker,
  startOrgs,
  until,
  urlWithSchema,
  WORKER_APP,
  type WorkerProcess,
} from './support.ts';

/**
 * Cluster mode with real processes (docs/deployment.md): `tributary worker` processes against one
 * Postgres schema, collectors on Okta simulators in this process, an HTTP destination (the Sink)
 * recording every event id it acknowledged. Leases live 5 s here (30 s by default), so failover is
 * quick; every wait is a poll with a deadline.
 */
const LEASE = ['--lease-ttl', '5s'];
const ADMIN_PASSWORD = 'cluster sign-in phrase 4';

const unavailable = await postgresUnavailable();
if (unavailable) requirePostgres(unavailable);
else {
  const schemas = freshSchemas();
  const fresh = tempDirs('tributary-cluster');
  const workers: WorkerProcess[] = [];
  after(() => {
    for (const w of workers)
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  });

  async function scenario(
    prefix: string,
    n: number,
    events: number,
    o: { limit: number; requestsPerMinute: number },
  ) {
    const key = randomKey();
    const log = memoryLogger();
    const c = await openControl(schemas(), fresh(), key, log);
    const orgs = await startOrgs(n, events, prefix);
    const sink = new Sink();
    await sink.start();
    after(async () => {
      await c.runtime.close();
      await sink.stop();
      await Promise.all(orgs.map((x) => x.sim.stop()));
    });
    // Written by the control plane without a scheduler (as `tributary apply` does): workers adopt them.
    await applyOktaCollectors(c.control, orgs, sink.destination(), o);
    const expected = new Map(orgs.map((x) => [x.name, x.sim.eventIds()]));
    const ids = new Map<string, string>();
    for (const x of orgs) ids.set(x.name, (await c.store.getCollector(x.name))!.id);
    const start = async (args: string[] = []) => {
      const w = await spawnWorker(c.url, fresh(), key, [...LEASE, ...args]);
      workers.push(w);
      return w;
    };
    /** Collectors whose every event reached the sink. */
    const drainedCount = () =>
      orgs.filter((x) => {
        const got = new Set(sink.ids.get(x.name));
        return expected.get(x.name)!.every((id) => got.has(id));
      }).length;
    return { c, store: c.store as Store, orgs, sink, expected, ids, start, drainedCount, limit: o.limit };
  }

  type Scenario = Awaited<ReturnType<typeof scenario>>;

  /**
   * Exactly once per collector but for re-deliveries: nothing missing, nothing foreign, and every
   * duplicate explained by a run that did not end normally (at most its batch in flight).
   */
  async function assertDrainedExactly(s: Scenario): Promise<{ duplicates: number; interrupted: number }> {
    let duplicates = 0;
    let interrupted = 0;
    const problems: string[] = [];
    for (const org of s.orgs) {
      const got = s.sink.ids.get(org.name) ?? [];
      const unique = new Set(got);
      const expected = s.expected.get(org.name)!;
      const missing = expected.filter((id) => !unique.has(id));
      if (missing.length) problems.push(`${org.name}: ${missing.length} event(s) missing`);
      const known = new Set(expected);
      const foreign = [...unique].filter((id) => !known.has(id));
      if (foreign.length) problems.push(`${org.name}: ${foreign.length} event(s) not from its org`);
      const runs = await s.store.listRuns(s.ids.get(org.name)!, 1000);
      const broken = runs.filter((r) => r.status !== 'succeeded').length;
      const dups = got.length - unique.size;
      if (dups > broken * s.limit)
        problems.push(
          `${org.name}: ${dups} duplicate(s) from ${broken} interrupted run(s) of ${s.limit}-event batches`,
        );
      problems.push(...overlaps(runs).map((p) => `${org.name}: ${p}`));
      duplicates += dups;
      interrupted += broken;
    }
    assert.deepEqual(problems, []);
    return { duplicates, interrupted };
  }

  async function stopAll(list: WorkerProcess[]): Promise<void> {
    for (const w of list) if (w.child.exitCode === null) w.child.kill('SIGTERM');
    for (const w of list) {
      const r = await w.exited;
      if (r.signal !== 'SIGKILL') assert.equal(r.code, 0, `worker ${w.id} exited cleanly`);
    }
  }

  /** The live leases a worker holds, by collector id → token. */
  async function leasesOf(store: Store, worker: WorkerProcess): Promise<Map<string, number>> {
    const now = Date.now();
    return new Map(
      (await store.listLeases())
        .filter((l) => l.owner === worker.id && Date.parse(l.expiresAt) > now)
        .map((l) => [l.collectorId, l.token]),
    );
  }

  /** The worker's live leases whose run has committed something already (mid-run, not starting). */
  async function midRun(store: Store, worker: WorkerProcess): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [id, token] of await leasesOf(store, worker)) {
      const [run] = await store.listRuns(id, 1);
      if (run?.fence === token && run.events > 0 && run.status === 'running') out.set(id, token);
    }
    return out;
  }

  /** `tributary serve` on the cluster's store; resolves with its base URL once it listens. */
  async function spawnServe(url: string, dataDir: string, key: string, config: string) {
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--database-url', url, '--config', config, '--port', '0'],
      {
        env: {
          ...process.env,
          TRIBUTARY_DATABASE_URL: undefined,
          TRIBUTARY_MASTER_KEY: key,
          TRIBUTARY_DATA_DIR: dataDir,
          TRIBUTARY_ADMIN_PASSWORD: ADMIN_PASSWORD,
          TRIBUTARY_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((ok) => child.on('exit', ok));
    const base = await new Promise<string>((ok, fail) => {
      createInterface({ input: child.stdout }).on('line', (l) => {
        const m = /^Tributary is running: (\S+?)\/? /.exec(l);
        if (m) ok(m[1]!);
      });
      void exited.then((code) => fail(new Error(`serve exited ${code}: ${err}`)));
    });
    return { child, base, exited };
  }

  async function login(base: string) {
    const r = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    assert.equal(r.status, 200);
    const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = ((await r.json()) as { csrfToken: string }).csrfToken;
    return (path: string) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
  }

  describe('cluster mode: worker processes', () => {
    it('3 workers, 200 collectors: every collector drained exactly, never on two workers at once', async () => {
      const s = await scenario('many', 200, 300, { limit: 25, requestsPerMinute: 600 });
      const started = await Promise.all([s.start(), s.start(), s.start()]);
      await until('200 collectors drained', () => s.drainedCount() === 200, 100_000, 250);
      await stopAll(started);
      const { duplicates } = await assertDrainedExactly(s);
      // The work was shared: every worker ran collectors.
      const runners = new Set<string>();
      for (const id of s.ids.values())
        for (const r of await s.store.listRuns(id)) runners.add(r.runner ?? '');
      for (const w of started) assert.ok(runners.has(w.id), `worker ${w.id} ran collectors`);
      assert.equal(duplicates, 0, 'no fault, no re-delivery');
      // Released on shutdown: no live lease is left behind.
      const live = (await s.store.listLeases()).filter((l) => l.owner);
      assert.deepEqual(live, []);
    });

    it('kill -9 of a worker mid-run, repeatedly: its collectors resume elsewhere within 60 s, nothing lost', async () => {
      // 100 collectors of 600 events, 20 a page at one page a second after a burst of 6: runs of
      // ~25 s. Enough slots that two workers can take a third one's collectors at once: the resume
      // time measures failover, not a queue of runs waiting for a free slot.
      const s = await scenario('kill', 100, 600, { limit: 20, requestsPerMinute: 60 });
      const wide = ['--concurrency', '60'];
      const live = await Promise.all([s.start(wide), s.start(wide), s.start(wide)]);
      const resumeTimes: number[] = [];
      for (let kill = 0; kill < 3; kill++) {
        // the victim: the worker with most runs in progress, mid-run (each has committed a batch)
        const [victim, held] = await until(
          'a worker mid-run',
          async () => {
            let best: [WorkerProcess, Map<string, number>] | undefined;
            for (const w of live) {
              const m = await midRun(s.store, w);
              if (m.size >= 3 && (!best || m.size > best[1].size)) best = [w, await leasesOf(s.store, w)];
            }
            return best;
          },
          60_000,
          100,
        );
        victim.child.kill('SIGKILL');
        const killedAt = Date.now();
        await victim.exited;
        live[live.indexOf(victim)] = await s.start(wide); // keep three
        // every collector it held is taken over (a larger token) within 60 s; one whose run ended
        // just before the kill was released instead, and needs none
        await until(
          `the ${held.size} collectors of the killed worker resumed`,
          async () => {
            for (const [id, token] of held) {
              const l = await s.store.getLease(id);
              if (!l || (l.token <= token && l.owner !== undefined)) return false;
            }
            return true;
          },
          60_000,
          100,
        );
        resumeTimes.push(Date.now() - killedAt);
      }
      await until('100 collectors drained', () => s.drainedCount() === 100, 100_000, 250);
      await stopAll(live);
      const { duplicates, interrupted } = await assertDrainedExactly(s);
      assert.ok(interrupted >= 3, `${interrupted} runs were interrupted`);
      for (const t of resumeTimes) assert.ok(t < 60_000, `resumed after ${t} ms`);
      // the killed runs were ended by their takeover, at their lease's expiry
      let expired = 0;
      for (const id of s.ids.values())
        expired += (await s.store.listRuns(id, 100)).filter((r) => r.error?.code === 'lease_expired').length;
      assert.ok(expired >= 3, `${expired} runs ended as lease_expired`);
      process.stdout.write(
        `# kill -9: resumed after ${resumeTimes.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ')}; ${duplicates} duplicates from ${interrupted} interrupted runs\n`,
      );
    });

    it('a worker paused past its lease (SIGSTOP) cannot commit when it resumes (SIGCONT)', async () => {
      const s = await scenario('pause', 30, 600, { limit: 20, requestsPerMinute: 120 });
      const [a, b] = await Promise.all([s.start(['--concurrency', '10']), s.start(['--concurrency', '10'])]);
      const held = await until(
        'worker a mid-run',
        async () => {
          const l = await midRun(s.store, a!);
          return l.size >= 3 && l;
        },
        60_000,
        100,
      );
      a!.child.kill('SIGSTOP');
      // What the stale runs had committed when they lost their leases: nothing may be added.
      const stale = new Map<string, { events: number; status: string }>();
      try {
        // its lease runs out and worker b takes its collectors over
        await until(
          'the paused worker’s collectors taken over',
          async () => {
            for (const [id, token] of held) {
              const l = await s.store.getLease(id);
              if (!l || l.token <= token || l.owner === a!.id) return false;
            }
            return true;
          },
          60_000,
          100,
        );
        for (const [id, token] of held)
          for (const r of await s.store.listRuns(id, 100))
            if (r.fence === token) stale.set(r.id, { events: r.events, status: r.status });
      } finally {
        a!.child.kill('SIGCONT');
      }
      assert.equal(stale.size, held.size);
      // Resumed, it finds out: every one of those runs is abandoned without committing.
      await until(
        'the resumed worker to notice it lost its leases',
        () =>
          a!.logs.filter((l) => l.msg === 'lease lost: abandoning the batch in flight').length >= held.size,
        30_000,
        100,
      );
      await until('30 collectors drained', () => s.drainedCount() === 30, 100_000, 250);
      await stopAll([a!, b!]);
      for (const [id, token] of held)
        for (const r of await s.store.listRuns(id, 100))
          if (r.fence === token) {
            assert.equal(
              r.events,
              stale.get(r.id)!.events,
              `run ${r.id} committed nothing after losing its lease`,
            );
            assert.equal(r.status, 'failed');
            assert.equal(r.error?.code, 'lease_expired');
          }
      const reasons = a!.logs
        .filter((l) => l.msg === 'lease lost: abandoning the batch in flight')
        .map((l) => l.reason);
      process.stdout.write(
        `# SIGSTOP: ${held.size} leases lost on resume (${[...new Set(reasons)].join('; ')})\n`,
      );
      await assertDrainedExactly(s);
    });

    it('Postgres connections terminated during runs: workers reconnect and continue, nothing lost', async () => {
      const s = await scenario('term', 60, 600, { limit: 20, requestsPerMinute: 120 });
      const started = await Promise.all([s.start(), s.start(), s.start()]);
      const admin = await adminClient();
      after(() => admin.end());
      let terminated = 0;
      for (let round = 0; round < 3; round++) {
        await until(
          'runs in progress with commits',
          async () => {
            const leases = (await s.store.listLeases()).filter((l) => l.owner);
            return leases.length >= 10;
          },
          60_000,
          100,
        );
        // only this test's workers (their application_name), never the server or other clients
        const { rows } = await admin.query(
          'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t',
          [WORKER_APP],
        );
        terminated += rows[0].n;
        await until(
          'the workers back on the database',
          async () =>
            (
              await admin.query(
                'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
                [WORKER_APP],
              )
            ).rows[0].n > 0,
          30_000,
          100,
        );
      }
      assert.ok(terminated >= 3, `${terminated} backends terminated`);
      await until('60 collectors drained', () => s.drainedCount() === 60, 100_000, 250);
      await stopAll(started);
      const { duplicates, interrupted } = await assertDrainedExactly(s);
      const warnings = started.flatMap((w) => w.logs).filter((l) => l.level >= 40).length;
      process.stdout.write(
        `# terminated ${terminated} backends in 3 rounds: ${interrupted} interrupted runs, ${duplicates} duplicates, ${warnings} warnings logged\n`,
      );
    });

    it('serve replicas schedule but never run collectors; run-now on two replicas at once queues one run', async () => {
      const key = randomKey();
      const dir = fresh();
      const orgs = await startOrgs(5, 100, 'serve');
      const sink = new Sink();
      await sink.start();
      const schema = schemas();
      const url = urlWithSchema(schema);
      const config = join(dir, 'tributary.json');
      writeFileSync(
        config,
        JSON.stringify({
          accounts: Object.fromEntries(
            orgs.map((o) => [`acct-${o.name}`, { kind: 'okta', url: o.sim.url, token: o.sim.token }]),
          ),
          destinations: { sink: sink.destination() },
          collectors: Object.fromEntries(
            orgs.map((o) => [
              o.name,
              { source: 'okta', account: `acct-${o.name}`, destinations: ['sink'], interval: '1h' },
            ]),
          ),
        }),
      );
      const a = await spawnServe(url, fresh(), key, config);
      const b = await spawnServe(url, fresh(), key, config); // after a: it finds the records a applied
      const store = await PostgresStore.open({
        connectionString: url,
        applicationName: 'tributary-cluster-test',
      });
      after(async () => {
        for (const p of [a, b]) if (p.child.exitCode === null) p.child.kill('SIGKILL');
        await store.close();
        await sink.stop();
        await Promise.all(orgs.map((o) => o.sim.stop()));
      });
      const worker = await spawnWorker(url, fresh(), key, LEASE);
      workers.push(worker);
      const ids = await Promise.all(orgs.map(async (o) => (await store.getCollector(o.name))!.id));
      const runs = async () => Promise.all(ids.map((id) => store.listRuns(id, 100)));
      const settled = async (n: number) => {
        const all = await runs();
        if (!all.every((r) => r.length >= n && r.every((x) => x.status !== 'running'))) return false;
        const queued = await store.query(
          `SELECT count(*)::int AS n FROM "${schema}_pgboss".job WHERE state IN ('created', 'retry', 'active')`,
        );
        return queued.rows[0].n === 0 && all;
      };
      const first = await until('one run of each collector', () => settled(1), 60_000, 100);
      assert.deepEqual(
        first.map((r) => r.length),
        [1, 1, 1, 1, 1],
      );
      // both replicas asked at the same moment, for every collector
      const [postA, postB] = await Promise.all([login(a.base), login(b.base)]);
      const answers = await Promise.all(
        orgs.flatMap((o) => [postA(`/api/collectors/${o.name}/run`), postB(`/api/collectors/${o.name}/run`)]),
      );
      for (const r of answers) assert.equal(r.status, 202);
      const second = await until('the runs asked for', () => settled(2), 60_000, 100);
      assert.deepEqual(
        second.map((r) => r.length),
        [2, 2, 2, 2, 2],
        'one run per collector, not one per replica',
      );
      for (const r of second.flat()) assert.equal(r.runner, worker.id, 'only the worker runs collectors');
      for (const p of [a, b]) p.child.kill('SIGTERM');
      assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
      await stopAll([worker]);
    });

    it('graceful stop: the batch in flight is committed, leases are released and another worker carries on at once', async () => {
      const s = await scenario('grace', 20, 600, { limit: 20, requestsPerMinute: 120 });
      const a = await s.start(['--concurrency', '20']);
      const held = await until(
        'worker a mid-run',
        async () => {
          const l = await leasesOf(s.store, a);
          if (l.size < 20) return undefined;
          for (const id of l.keys()) if (!(await s.store.listRuns(id, 1))[0]?.events) return undefined;
          return l;
        },
        60_000,
        100,
      );
      a.child.kill('SIGTERM');
      const exit = await a.exited;
      assert.equal(exit.code, 0);
      assert.ok(a.out.includes('worker stopped'));
      // every lease given back, every run ended as stopped (not failed), the collectors due now
      for (const [id, token] of held) {
        const l = await s.store.getLease(id);
        assert.equal(l?.owner, undefined, 'released');
        assert.equal(l?.token, token);
        const [run] = await s.store.listRuns(id, 1);
        assert.equal(run!.status, 'cancelled');
        assert.equal(run!.runner, a.id);
      }
      const due = await s.c.store.query(
        'SELECT count(*)::int AS n FROM collector_schedule WHERE next_run_at <= clock_timestamp()',
      );
      assert.equal(due.rows[0].n, 20, 'handed over: due at once');
      // nothing was delivered twice: the batches in flight were committed before the runs ended
      for (const org of s.orgs) {
        const got = s.sink.ids.get(org.name) ?? [];
        assert.equal(new Set(got).size, got.length, `${org.name}: no duplicate`);
      }
      const b = await s.start();
      await until('20 collectors drained by the next worker', () => s.drainedCount() === 20, 100_000, 250);
      await stopAll([b]);
      const { duplicates } = await assertDrainedExactly(s);
      assert.equal(duplicates, 0);
    });

    it('stop without grace: the batch in flight is abandoned uncommitted, the leases are still released', async () => {
      const s = await scenario('abandon', 10, 600, { limit: 20, requestsPerMinute: 120 });
      const a = await s.start(['--grace', '0s']);
      const held = await until(
        'worker a mid-run',
        async () => {
          const l = await midRun(s.store, a);
          return l.size === 10 && l;
        },
        60_000,
        100,
      );
      a.child.kill('SIGTERM');
      assert.equal((await a.exited).code, 0);
      assert.ok(a.logs.some((l) => l.msg === 'abandoning the batch in flight: the worker is stopping'));
      for (const [id, token] of held) {
        const l = await s.store.getLease(id);
        assert.equal(l?.owner, undefined, 'released, not left to expire');
        assert.equal(l?.token, token);
        assert.equal((await s.store.listRuns(id, 1))[0]!.status, 'cancelled');
      }
      const b = await s.start();
      await until('10 collectors drained by the next worker', () => s.drainedCount() === 10, 100_000, 250);
      await stopAll([b]);
      await assertDrainedExactly(s); // any duplicate is an abandoned batch in flight
    });
  });
}
