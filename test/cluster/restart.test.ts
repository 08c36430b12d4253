import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Runtime } from '../../src/app/runtime.ts';
import { Control } from '../../src/control/service.ts';
import type { RunRecord } from '../../src/core/store.ts';
import { isConnectionError, PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import {
  PrivatePostgres,
  privatePostgresUnavailable,
  requirePrivatePostgres,
} from '../support/private-postgres.ts';
import { tempDirs } from '../support/temp-dirs.ts';
import {
  applyOktaCollectors,
  memoryLogger,
  overlaps,
  randomKey,
  Sink,
  spawnWorker,
  startOrgs,
  until,
  type WorkerProcess,
} from './support.ts';

/**
 * Issue 5: "Postgres restarted during a run: workers reconnect and continue; nothing lost". A real
 * server restart (`pg_ctl stop -m fast`: every session terminated, the port refusing connections;
 * then start), twice while two `tributary worker` processes run collectors on Okta simulators. The
 * server is this file's own (test/support/private-postgres.ts): the shared one on 5432 serves other
 * test files at the same time and must not be restarted.
 */
const UNREACHABLE = 'postgres: the database is unreachable; retrying until it is back';
const REACHABLE = 'postgres: the database is reachable again';

const unavailable = privatePostgresUnavailable();
if (unavailable) requirePrivatePostgres(unavailable);
else
  describe('Postgres restarted under the cluster', () => {
    const fresh = tempDirs('tributary-restart');
    const workers: WorkerProcess[] = [];
    let server: PrivatePostgres;
    before(async () => {
      server = await PrivatePostgres.create();
    });
    after(async () => {
      for (const w of workers)
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      await server?.destroy();
    });

    it('a store call made while the server is down waits for it and succeeds; the outage is logged once', async () => {
      const log = memoryLogger();
      const open = (reconnectWindowMs?: number) =>
        PostgresStore.open({
          connectionString: server.url({ schema: 'store_restart' }),
          poolSize: 2,
          log,
          applicationName: 'tributary-restart-store',
          reconnectWindowMs,
        });
      const store = await open();
      after(() => store.close());
      await store.migrate();
      await store.setSetting('k', 'before');

      await server.stop('fast'); // its pooled connections are terminated; the port refuses
      const write = store.setSetting('k', 'during'); // one statement
      const audit = store.appendAudit({
        at: new Date().toISOString(),
        actor: 't',
        action: 'x',
        targetType: 'x',
      });
      await until('the store to notice the outage', () => store.outages.started === 1, 10_000);
      await server.start();
      await Promise.all([write, audit]); // the transaction too: nothing had been sent
      assert.equal(await store.getSetting('k'), 'during');
      assert.equal((await store.listAudit()).length, 1, 'the audit entry written once');
      assert.deepEqual(store.outages, { started: 1, ended: 1 });
      assert.deepEqual(
        log.lines.filter((l) => l.msg.startsWith('postgres: the database')).map((l) => [l.level, l.msg]),
        [
          ['warn', UNREACHABLE],
          ['info', REACHABLE],
        ],
      );

      // A window that runs out fails with the connection error, in bounded time, rather than waiting on.
      const short = await open(500);
      after(() => short.close());
      await server.stop('fast');
      const asked = Date.now();
      await assert.rejects(short.getSetting('k'), (err) => isConnectionError(err));
      const took = Date.now() - asked;
      assert.ok(took < 5000, `failed after ${took} ms`);
      assert.equal(short.outages.started, 1, 'it did retry');
      await server.start();
      assert.equal(await short.getSetting('k'), 'during');
    });

    it('workers reconnect and carry their runs on through two restarts; nothing is lost', async () => {
      const url = server.url({ schema: 'tributary' });
      const key = randomKey();
      const log = memoryLogger();
      const store = await PostgresStore.open({
        connectionString: url,
        poolSize: 4,
        log,
        applicationName: 'tributary-restart-test',
      });
      const orgs = await startOrgs(20, 600, 'restart');
      const sink = new Sink();
      await sink.start();
      after(async () => {
        await store.close();
        await sink.stop();
        await Promise.all(orgs.map((o) => o.sim.stop()));
      });
      await store.migrate();
      const dataDir = fresh();
      const secrets = await SecretBox.open(dataDir, { TRIBUTARY_MASTER_KEY: key });
      // 20 collectors of 600 events, 20 a page at two pages a second after a burst of 12: runs of ~12 s,
      // 10 at once on each worker.
      const limit = 20;
      await applyOktaCollectors(
        new Control(new Runtime(store, secrets, log, dataDir)),
        orgs,
        sink.destination(),
        {
          limit,
          requestsPerMinute: 120,
        },
      );
      const expected = new Map(orgs.map((o) => [o.name, o.sim.eventIds()]));
      const ids = new Map<string, string>();
      for (const o of orgs) ids.set(o.name, (await store.getCollector(o.name))!.id);

      const started = Date.now();
      const args = ['--lease-ttl', '5s', '--concurrency', '10'];
      const live = await Promise.all([
        spawnWorker(url, fresh(), key, args),
        spawnWorker(url, fresh(), key, args),
      ]);
      workers.push(...live);
      const logged = (w: WorkerProcess, msg: string) => w.logs.filter((l) => l.msg === msg).length;
      const latestRuns = async () => {
        const out: RunRecord[] = [];
        for (const id of ids.values()) out.push(...(await store.listRuns(id, 1)));
        return out;
      };

      const restarts: Array<{ downMs: number; backMs: number; inFlight: Map<string, number> }> = [];
      for (let round = 0; round < 2; round++) {
        // runs in progress that have committed batches (since the last restart, for the second)
        const inFlight = await until(
          'runs in progress committing batches',
          async () => {
            const prev = restarts.at(-1)?.inFlight;
            const going = (await latestRuns()).filter(
              (r) =>
                r.status === 'running' && r.events > 0 && (!prev?.has(r.id) || r.events > prev.get(r.id)!),
            );
            return going.length >= 10 && new Map(going.map((r) => [r.id, r.events]));
          },
          30_000,
          100,
        );
        const away = live.map((w) => logged(w, UNREACHABLE));
        const back = live.map((w) => logged(w, REACHABLE));
        await server.stop('fast');
        const down = Date.now();
        // down until every worker has run into it (each has runs going: it notices within moments)
        await until(
          'every worker to find the database unreachable',
          () => live.every((w, i) => logged(w, UNREACHABLE) > away[i]!),
          15_000,
          20,
        );
        await server.start();
        const up = Date.now();
        await until(
          'every worker back on the database',
          () => live.every((w, i) => logged(w, REACHABLE) > back[i]!),
          20_000,
          20,
        );
        restarts.push({ downMs: up - down, backMs: Date.now() - up, inFlight });
      }
      const drained = () =>
        orgs.every((o) => {
          const got = new Set(sink.ids.get(o.name));
          return expected.get(o.name)!.every((id) => got.has(id));
        });
      await until('20 collectors drained after the restarts', drained, 45_000, 250);
      const drainMs = Date.now() - started;

      // The workers lived through both restarts: neither exited, both stop cleanly now.
      for (const w of live)
        assert.deepEqual(
          { code: w.child.exitCode, signal: w.child.signalCode },
          { code: null, signal: null },
          `worker ${w.id} is still running`,
        );
      for (const w of live) w.child.kill('SIGTERM');
      for (const w of live) assert.equal((await w.exited).code, 0, `worker ${w.id} stopped cleanly`);

      // Nothing missing, nothing foreign; every duplicate explained by a run that did not end normally
      // (at most its batch in flight); every run ended; never two runners at once.
      const problems: string[] = [];
      let duplicates = 0;
      let interrupted = 0;
      const runs = new Map<string, RunRecord>();
      for (const o of orgs) {
        const got = sink.ids.get(o.name) ?? [];
        const unique = new Set(got);
        const want = expected.get(o.name)!;
        const missing = want.filter((id) => !unique.has(id));
        if (missing.length) problems.push(`${o.name}: ${missing.length} event(s) missing`);
        const known = new Set(want);
        const foreign = [...unique].filter((id) => !known.has(id));
        if (foreign.length) problems.push(`${o.name}: ${foreign.length} event(s) not from its org`);
        const list = await store.listRuns(ids.get(o.name)!, 1000);
        for (const r of list) {
          runs.set(r.id, r);
          if (!r.endedAt) problems.push(`${o.name}: run ${r.id} never ended`);
        }
        const broken = list.filter((r) => r.status !== 'succeeded').length;
        const dups = got.length - unique.size;
        if (dups > broken * limit)
          problems.push(
            `${o.name}: ${dups} duplicate(s) from ${broken} interrupted run(s) of ${limit}-event batches`,
          );
        problems.push(...overlaps(list).map((p) => `${o.name}: ${p}`));
        duplicates += dups;
        interrupted += broken;
      }
      assert.deepEqual(problems, []);

      // Runs did not merely start over: runs caught mid-run by each restart went on committing under the
      // same run afterwards, and ended well.
      const carriedOn = restarts.map(
        (r) =>
          [...r.inFlight].filter(([id, events]) => {
            const end = runs.get(id);
            return end?.status === 'succeeded' && end.events > events;
          }).length,
      );
      for (const [i, n] of carriedOn.entries())
        assert.ok(n > 0, `restart ${i + 1}: none of ${restarts[i]!.inFlight.size} runs in flight carried on`);

      // Each worker reported every outage and its end.
      for (const w of live) {
        assert.ok(logged(w, UNREACHABLE) >= 2, `worker ${w.id} logged ${logged(w, UNREACHABLE)} outages`);
        assert.ok(logged(w, REACHABLE) >= 2, `worker ${w.id} logged ${logged(w, REACHABLE)} reconnections`);
      }
      const errors = live.flatMap((w) => w.logs).filter((l) => l.level >= 50);
      const endings = new Map<string, number>();
      for (const r of runs.values())
        if (r.status !== 'succeeded') {
          const k = `${r.status}${r.error ? ` ${r.error.code}` : ''}`;
          endings.set(k, (endings.get(k) ?? 0) + 1);
        }
      process.stdout.write(
        `# 2 restarts: down ${restarts.map((r) => `${r.downMs} ms`).join(', ')}, workers back ${restarts.map((r) => `${r.backMs} ms`).join(', ')} after start; ` +
          `runs in flight carried on ${carriedOn.map((n, i) => `${n}/${restarts[i]!.inFlight.size}`).join(', ')}; ` +
          `drained in ${(drainMs / 1000).toFixed(1)} s; ${interrupted} interrupted runs${endings.size ? ` (${[...endings].map(([k, n]) => `${n} ${k}`).join(', ')})` : ''}, ${duplicates} duplicates, ${errors.length} errors logged${errors.length ? ` (${[...new Set(errors.map((e) => e.message ?? e.msg))].join('; ')})` : ''}\n`,
      );
    });
  });
