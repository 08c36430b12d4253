import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  adminClient,
  freshSchemas,
  postgresUnavailable,
  requirePostgres,
  testDatabaseUrl,
} from '../../../test/support/postgres.ts';
import { openStore } from '../../cli/open-store.ts';
import type { BatchCommit, Store } from '../../core/store.ts';
import { storeSuite } from '../store-suite.ts';
import { migrations } from './migrations.ts';
import { migrationLockKey, PostgresStore, type PostgresStoreOptions } from './postgres-store.ts';

const url = testDatabaseUrl;
const unavailable = await postgresUnavailable(url);

if (unavailable) requirePostgres(unavailable);
else {
  const schemas = freshSchemas(url);
  let apps = 0;
  /** A store in a fresh schema, with its own application_name so tests can find its connections. */
  const opened: PostgresStore[] = [];
  after(() => Promise.all(opened.map((s) => s.close()))); // those a failed test left open
  async function open(o: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
    return track({
      connectionString: url,
      schema: schemas(),
      poolSize: 4,
      applicationName: `tributary-test-${process.pid}-${apps++}`,
      ...o,
    });
  }
  async function track(o: PostgresStoreOptions): Promise<PostgresStore> {
    const s = await PostgresStore.open(o);
    opened.push(s);
    return s;
  }
  const admin = await adminClient(url);
  after(() => admin.end());

  /** Polls a condition the Store interface cannot signal (a backend waiting on a lock), bounded in time. */
  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await delay(10);
    }
  }
  const waitingOnLock = async (app: string, n = 1) =>
    (
      await admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [app],
      )
    ).rows[0].n >= n;
  const backends = async (app: string): Promise<number[]> =>
    (await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app])).rows.map(
      (r) => r.pid,
    );

  storeSuite('postgres', async () => {
    const s = await open();
    await s.migrate();
    return s;
  });

  const at = '2026-11-25T10:00:00.000Z';
  const batch = (over: Partial<BatchCommit> = {}): BatchCommit => ({
    collectorId: 'c1',
    stream: 's',
    checkpoint: { since: 'x' },
    runId: 'r1',
    events: 10,
    pages: 1,
    bytes: 1000,
    lastEventTime: '2026-11-25T10:05:00.000Z',
    hourly: { '2026-11-25T10:00:00.000Z': 10 },
    deadLetters: [],
    ...over,
  });
  async function withRun(o: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
    const s = await open(o);
    await s.migrate();
    await s.putCollector({
      id: 'c1',
      name: 'c1',
      source: 'okta',
      config: {},
      enabled: true,
      secrets: {},
      createdAt: at,
      updatedAt: at,
    });
    await s.startRun({
      id: 'r1',
      collectorId: 'c1',
      startedAt: at,
      status: 'running',
      events: 0,
      pages: 0,
      bytes: 0,
      deadLetters: 0,
    });
    return s;
  }
  /** Everything one committed batch touches, to show a failed commit changed none of it. */
  const state = async (s: Store) => ({
    checkpoint: (await s.getCheckpoint('c1', 's'))?.value,
    run: (await s.listRuns('c1')).map((r) => [r.events, r.pages, r.bytes, r.deadLetters]),
    volume: await s.volume('c1', '2000-01-01T00:00:00.000Z'),
    last: await s.lastEventTime('c1'),
    deadLetters: (await s.listDeadLetters('c1')).length,
  });

  describe('PostgresStore', () => {
    it('applies versioned migrations once, in its own schema, with timestamptz, jsonb and bytea columns', async () => {
      const s = await open();
      assert.equal(await s.schemaVersion(), 0);
      await s.migrate();
      await s.migrate();
      assert.equal(await s.schemaVersion(), migrations.at(-1)!.version);
      const versions = await admin.query(
        `SELECT version FROM "${s.schema}".schema_migrations ORDER BY version`,
      );
      assert.deepEqual(
        versions.rows.map((r) => r.version),
        migrations.map((m) => m.version),
      );
      const types = await admin.query(
        `SELECT table_name || '.' || column_name AS col, data_type FROM information_schema.columns
         WHERE table_schema = $1 AND (table_name, column_name) IN
           (('runs', 'started_at'), ('checkpoints', 'value'), ('dead_letters', 'raw'), ('runs', 'bytes'),
            ('collectors', 'config'))
         ORDER BY 1`,
        [s.schema],
      );
      assert.deepEqual(
        types.rows.map((r) => [r.col, r.data_type]),
        [
          ['checkpoints.value', 'jsonb'],
          ['collectors.config', 'json'],
          ['dead_letters.raw', 'bytea'],
          ['runs.bytes', 'bigint'],
          ['runs.started_at', 'timestamp with time zone'],
        ],
      );
      const elsewhere = await admin.query(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'collectors' AND table_schema = $1",
        [s.schema],
      );
      assert.equal(elsewhere.rows[0].n, 1);
      await s.close();
    });

    it('migrates once when several processes start together: they wait on the advisory lock', async () => {
      const schema = schemas();
      const app = `tributary-test-${process.pid}-migrate`;
      const stores = await Promise.all(
        [1, 2, 3].map(() => track({ connectionString: url, schema, applicationName: app })),
      );
      // Hold the lock, so all three are provably inside migrate() at the same time.
      await admin.query('BEGIN');
      await admin.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [migrationLockKey(schema)]);
      const migrating = Promise.all(stores.map((s) => s.migrate()));
      await until('three migrations waiting on the lock', () => waitingOnLock(app, 3));
      await admin.query('COMMIT');
      await migrating;
      const { rows } = await admin.query(
        `SELECT version, count(*)::int AS n FROM "${schema}".schema_migrations GROUP BY version ORDER BY version`,
      );
      assert.deepEqual(
        rows.map((r) => [r.version, r.n]),
        migrations.map((m) => [m.version, 1]),
      );
      // And without help: four at once on an empty schema.
      const other = schemas();
      const more = await Promise.all([1, 2, 3, 4].map(() => track({ connectionString: url, schema: other })));
      await Promise.all(more.map((s) => s.migrate()));
      assert.equal(await more[0].schemaVersion(), migrations.at(-1)!.version);
      for (const s of [...stores, ...more]) await s.close();
    });

    it('commitBatch is atomic when the server refuses its last statement', async () => {
      const s = await withRun();
      await s.commitBatch(batch({ deadLetters: [{ reason: 'r', raw: 'x' }] }));
      const before = await state(s);
      await assert.rejects(
        s.commitBatch(
          batch({
            checkpoint: { since: 'y' },
            events: 99,
            lastEventTime: '2026-11-25T12:00:00.000Z',
            hourly: { '2026-11-25T12:00:00.000Z': 99 },
            // the dead letters go in last; a missing reason violates NOT NULL there
            deadLetters: [{ reason: null as unknown as string, raw: 'bad' }],
          }),
        ),
        (err: Error & { code?: string }) => err.code === '23502',
      );
      assert.deepEqual(await state(s), before);
      await s.close();
    });

    it('a commit whose connection dies before COMMIT is run again on a new connection, counted once', async () => {
      const app = `tributary-test-${process.pid}-midtx`;
      const s = await withRun({ applicationName: app });
      await s.commitBatch(batch());
      // Block the commit's statement on the run row, then kill its connection.
      await admin.query('BEGIN');
      let settled = false;
      let commit: Promise<void> | undefined;
      try {
        await admin.query(`SELECT * FROM "${s.schema}".runs WHERE id = 'r1' FOR UPDATE`);
        commit = s.commitBatch(
          batch({ checkpoint: { since: 'retried' }, events: 7, hourly: { '2026-11-25T10:00:00.000Z': 7 } }),
        );
        commit.then(
          () => (settled = true),
          () => (settled = true),
        );
        await until('the commit to wait on the run row', () => waitingOnLock(app));
        const { rows } = await admin.query(
          "SELECT pid, pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
          [app],
        );
        const killed = rows.map((r) => r.pid);
        assert.equal(killed.length, 1);
        // Its session gone, the transaction was rolled back: it is run again from BEGIN on a new connection,
        // and waits on the row again.
        await until('the commit, run again, to wait on the run row', async () => {
          await admin.query('SELECT pg_stat_clear_snapshot()'); // else fixed for admin's whole transaction
          const { rows } = await admin.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
            [app],
          );
          return rows.some((r) => !killed.includes(r.pid));
        });
        assert.equal(settled, false);
      } finally {
        await admin.query('ROLLBACK'); // also when this test fails: the next ones use admin too
      }
      await commit;
      const after = await state(s);
      assert.deepEqual(after.checkpoint, { since: 'retried' });
      assert.deepEqual(after.run, [[17, 2, 2000, 0]], 'the batch counted once');
      assert.deepEqual(after.volume, [{ hour: '2026-11-25T10:00:00.000Z', count: 17 }]);
      await s.close();
    });

    it('a commit whose COMMIT the server answers with "terminating connection" is run again, counted once', async () => {
      const app = `tributary-test-${process.pid}-commit`;
      const s = await withRun({ applicationName: app });
      await s.commitBatch(batch());
      // A deferred trigger makes the first COMMIT (only: sequences ignore rollbacks) sleep, inside the
      // commit, until its backend is terminated: the server answers COMMIT with FATAL 57P01.
      await admin.query(`
        CREATE SEQUENCE "${s.schema}".slow_once;
        CREATE FUNCTION "${s.schema}".slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF nextval('"${s.schema}".slow_once') = 1 THEN PERFORM pg_sleep(30); END IF; RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER slow_commit AFTER UPDATE ON "${s.schema}".checkpoints
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "${s.schema}".slow_commit();`);
      const commit = s.commitBatch(
        batch({ checkpoint: { since: 'again' }, events: 7, hourly: { '2026-11-25T10:00:00.000Z': 7 } }),
      );
      commit.catch(() => {});
      await until('COMMIT to run the deferred trigger', async () => {
        const { rows } = await admin.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'PgSleep' AND query = 'COMMIT'",
          [app],
        );
        return rows.length === 1;
      });
      await admin.query(
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'PgSleep'",
        [app],
      );
      await commit;
      const after = await state(s);
      assert.deepEqual(after.checkpoint, { since: 'again' });
      assert.deepEqual(after.run, [[17, 2, 2000, 0]], 'the batch counted once');
      assert.deepEqual(after.volume, [{ hour: '2026-11-25T10:00:00.000Z', count: 17 }]);
      await s.close();
    });

    it('replaces connections the server dropped: the next calls succeed on new ones', async () => {
      const app = `tributary-test-${process.pid}-reconnect`;
      const warnings: string[] = [];
      const log = {
        debug() {},
        info() {},
        warn: (msg: string, fields?: Record<string, unknown>) => warnings.push(JSON.stringify([msg, fields])),
        error() {},
      };
      const s = await withRun({ applicationName: app, poolSize: 3, log });
      for (let round = 0; round < 5; round++) {
        await Promise.all([1, 2, 3].map(() => s.listCollectors())); // every pooled connection in use once
        const killed = await backends(app);
        assert.ok(killed.length > 0);
        const { rows } = await admin.query(
          // with a timeout, pg_terminate_backend returns once the backend is gone
          'SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000))::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [app],
        );
        assert.equal(rows[0].n, killed.length);
        // At once, without waiting for the pool to notice: reads, a transaction, a non-idempotent write.
        assert.equal((await s.listCollectors()).length, 1);
        await s.commitBatch(batch({ events: 1 }));
        await s.recordError('c1', 's', { type: 'transient', code: 'x', message: 'm', action: 'a' });
        assert.ok((await backends(app)).every((pid) => !killed.includes(pid)));
      }
      assert.equal((await s.listRuns('c1'))[0].events, 5);
      assert.equal((await s.listErrors('c1'))[0].count, 5);
      for (const w of warnings) assert.doesNotMatch(w, /postgres:\/\//);
      await s.close();
    });

    it('retries on a new connection when a pooled one died silently (the peer vanished)', async () => {
      // A TCP relay to Postgres that can drop its server side without telling the client, as a failover
      // or a NAT timeout does: the client learns only when it next writes, and gets a reset.
      const target = new URL(url);
      const links = new Set<{ client: Socket; server: Socket; dead: boolean }>();
      let resets = 0;
      const relay = createServer((client) => {
        const server = connect(Number(target.port || 5432), target.hostname || '127.0.0.1');
        const link = { client, server, dead: false };
        links.add(link);
        server.on('data', (d) => link.dead || client.write(d));
        client.on('data', (d) => {
          if (!link.dead) return server.write(d);
          resets++;
          client.resetAndDestroy();
        });
        for (const sock of [client, server]) sock.on('error', () => {});
        server.on('close', () => link.dead || client.destroy());
        client.on('close', () => server.destroy());
      });
      await new Promise<void>((ok) => relay.listen(0, '127.0.0.1', ok));
      after(() => relay.close());
      const relayed = new URL(url);
      relayed.host = `127.0.0.1:${(relay.address() as AddressInfo).port}`;
      const s = await withRun({ connectionString: relayed.toString(), poolSize: 2 });
      const dieSilently = () => {
        for (const l of links) {
          l.dead = true;
          l.server.destroy();
        }
      };
      dieSilently();
      assert.equal((await s.listCollectors()).length, 1, 'a read');
      dieSilently();
      await s.commitBatch(batch({ events: 3 })); // BEGIN fails: nothing sent, safe to retry
      dieSilently();
      await s.recordError('c1', 's', { type: 'transient', code: 'x', message: 'm', action: 'a' });
      assert.ok(resets >= 3, `${resets} dead connections were written to`);
      assert.equal((await s.listRuns('c1'))[0].events, 3, 'the batch counted once');
      assert.equal((await s.listErrors('c1'))[0].count, 1, 'the error counted once');
      await s.close();
    });

    it('startRun whose answer is lost after the server committed it: retried, recorded once, no error', async () => {
      // A relay that, once armed, lets the statement through and cuts the connection instead of
      // passing the server's answer on: the run is committed, the client only sees the connection end.
      const target = new URL(url);
      let armed = false;
      let cut = 0;
      const relay = createServer((client) => {
        const server = connect(Number(target.port || 5432), target.hostname || '127.0.0.1');
        let sent = false;
        client.on('data', (d) => {
          if (armed) sent = true;
          server.write(d);
        });
        server.on('data', (d) => {
          if (!sent) return void client.write(d);
          armed = false;
          cut++;
          client.destroy();
          server.destroy();
        });
        for (const sock of [client, server]) sock.on('error', () => {});
        server.on('close', () => client.destroy());
        client.on('close', () => server.destroy());
      });
      await new Promise<void>((ok) => relay.listen(0, '127.0.0.1', ok));
      after(() => relay.close());
      const relayed = new URL(url);
      relayed.host = `127.0.0.1:${(relay.address() as AddressInfo).port}`;
      const s = await withRun({ connectionString: relayed.toString(), poolSize: 2 });
      const lease = (await s.acquireLease('c1', 'w1', 30_000))!;
      const run = {
        id: 'r2',
        collectorId: 'c1',
        startedAt: at,
        status: 'running' as const,
        events: 0,
        pages: 0,
        bytes: 0,
        deadLetters: 0,
        fence: lease.token,
      };
      armed = true;
      await s.startRun(run);
      assert.equal(cut, 1, 'the answer to the first attempt was lost');
      const runs = (await s.listRuns('c1')).filter((r) => r.id === 'r2');
      assert.equal(runs.length, 1);
      assert.equal(runs[0]!.fence, lease.token);
      // a second start of the same run id is still refused (not a retry: the caller's mistake)
      await assert.rejects(s.startRun(run), (err: Error & { code?: string }) => err.code === '23505');
      await s.close();
    });

    it('survives a session ended in the same packet as its handshake (no unheard error event)', async () => {
      // What a backend terminated as it starts sends: the end of the handshake (ReadyForQuery) and, in
      // the same TCP packet, FATAL 57P01. A relay makes it happen to the next new connection.
      const fatal = (() => {
        const fields = Buffer.from(
          'SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0',
          'utf8',
        );
        const head = Buffer.alloc(5);
        head.write('E', 0);
        head.writeInt32BE(fields.length + 4, 1);
        return Buffer.concat([head, fields]);
      })();
      const target = new URL(url);
      let armed = false;
      let ended = 0;
      const relay = createServer((client) => {
        const server = connect(Number(target.port || 5432), target.hostname || '127.0.0.1');
        let kill = armed;
        armed = false;
        server.on('data', (d) => {
          // ReadyForQuery ('Z', length 5) ends the handshake
          if (kill && d.includes(Buffer.from([0x5a, 0, 0, 0, 5]))) {
            kill = false;
            ended++;
            client.end(Buffer.concat([d, fatal]));
            server.destroy();
            return;
          }
          client.write(d);
        });
        client.on('data', (d) => server.write(d));
        for (const sock of [client, server]) sock.on('error', () => {});
        server.on('close', () => client.destroy());
        client.on('close', () => server.destroy());
      });
      await new Promise<void>((ok) => relay.listen(0, '127.0.0.1', ok));
      after(() => relay.close());
      const relayed = new URL(url);
      relayed.host = `127.0.0.1:${(relay.address() as AddressInfo).port}`;
      const s = await withRun({ connectionString: relayed.toString(), poolSize: 2 });
      for (let round = 0; round < 3; round++) {
        armed = true;
        // two at once: the second needs a new connection, which is ended as it starts
        const [a, b] = await Promise.all([s.listCollectors(), s.listCollectors(), delay(0)]);
        assert.equal(a.length + b.length, 2);
      }
      assert.ok(ended >= 1, `${ended} connections ended during their handshake`);
      await s.close();
    });

    it('keeps to its pool size', async () => {
      const app = `tributary-test-${process.pid}-pool`;
      const s = await open({ applicationName: app, poolSize: 2 });
      await s.migrate();
      await Promise.all(Array.from({ length: 20 }, (_, i) => s.setSetting(`k${i}`, 'v')));
      const n = (await backends(app)).length;
      assert.ok(n >= 1 && n <= 2, `${n} connections`);
      await s.close();
    });

    it('stores raw dead letters byte for byte, NUL characters included', async () => {
      const s = await withRun();
      const raws = ['{"b": 2,  "a":1}\n', 'nul\u0000inside', 'ünïcødé 🚀 \r\t', '', '{not json'];
      await s.commitBatch(batch({ deadLetters: raws.map((raw) => ({ reason: 'r', raw })) }));
      const got = (await s.listDeadLetters('c1')).map((d) => d.raw).reverse();
      assert.deepEqual(got, raws);
      await assert.rejects(
        s.commitBatch(batch({ deadLetters: [{ reason: 'r', raw: 5 as unknown as string }] })),
        /deadLetters\[0\]\.raw: expected a string/,
      );
      await s.close();
    });

    it('returns times as UTC ISO strings whatever the session time zone', async () => {
      const s = await withRun({
        connectionString: `${url}${url.includes('?') ? '&' : '?'}options=-c%20TimeZone%3DAsia%2FKolkata`,
      });
      const { rows } = await admin.query("SELECT '2026-11-25T10:00:00.000Z'::timestamptz AS t"); // sanity: parser untouched here
      assert.ok(rows[0].t instanceof Date, 'the admin client keeps pg defaults: parsers are per pool');
      assert.equal((await s.getCollector('c1'))?.createdAt, at);
      await s.commitBatch(batch({ lastEventTime: '2026-11-25T11:30:00.000+01:00' }));
      assert.equal(await s.lastEventTime('c1'), '2026-11-25T10:30:00.000Z');
      assert.deepEqual(await s.volume('c1', '2026-11-25T15:00:00+05:00'), [
        { hour: '2026-11-25T10:00:00.000Z', count: 10 },
      ]);
      await s.close();
    });

    it('returns records exactly as written, key order included, also after a site rename', async () => {
      const s = await open();
      await s.migrate();
      await s.putSite('hq');
      const config = { zeta: 1, site: 'hq', nested: { y: 2, b: [3, { d: 4, c: 5 }] }, interval: '1m' };
      await s.putCollector({
        id: 'c',
        name: 'c',
        source: 'okta',
        config,
        enabled: true,
        secrets: {},
        createdAt: at,
        updatedAt: at,
      });
      const d = {
        id: 'd',
        name: 'd',
        kind: 'http',
        config: { url: 'u', auth: { type: 'b' } },
        secrets: { 'auth.token': 'v1:x' },
        createdAt: at,
        updatedAt: at,
      };
      await s.putDestination(d);
      assert.equal(JSON.stringify((await s.getCollector('c'))!.config), JSON.stringify(config));
      assert.equal(JSON.stringify(await s.getDestination('d')), JSON.stringify(d));
      await s.renameSite('hq', 'head-office');
      assert.equal(
        JSON.stringify((await s.getCollector('c'))!.config),
        JSON.stringify({ ...config, site: 'head-office' }),
      );
      await s.close();
    });

    it('refuses to change or delete audit entries even through SQL', async () => {
      const s = await open();
      await s.migrate();
      await s.appendAudit({ at, actor: 'a', action: 'x.create', targetType: 'x', before: null });
      assert.equal((await s.listAudit())[0].before, null, 'a JSON null stays null');
      for (const sql of [
        "UPDATE audit_log SET actor = 'mallory'",
        'DELETE FROM audit_log',
        'TRUNCATE audit_log',
      ])
        await assert.rejects(admin.query(sql.replace('audit_log', `"${s.schema}".audit_log`)), /append-only/);
      await s.close();
    });

    it('keeps separate schemas apart and takes the schema from the URL', async () => {
      const schema = schemas();
      const a = await track({
        connectionString: `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`,
      });
      assert.equal(a.schema, schema);
      const b = await open();
      await a.migrate();
      await b.migrate();
      await a.setSetting('k', 'a');
      assert.equal(await b.getSetting('k'), undefined);
      await a.close();
      await b.close();
    });

    it('refuses bad options with the field named, and never shows the password', async () => {
      await assert.rejects(
        open({ schema: 'x"; DROP TABLE y' }),
        /^Error: schema: expected a Postgres identifier/,
      );
      await assert.rejects(open({ poolSize: 0 }), /poolSize: expected/);
      await assert.rejects(
        PostgresStore.open({ connectionString: 'mysql://root:hunter2@db/x' }),
        (err: Error) =>
          /connectionString: expected a postgres:\/\//.test(err.message) && !/hunter2/.test(err.message),
      );
      const refused = await PostgresStore.open({
        connectionString: 'postgres://tributary:hunter2-s3cret@127.0.0.1:1/nowhere',
        connectTimeoutMs: 2000,
      }).catch((err: Error) => err);
      assert.ok(refused instanceof Error);
      assert.match(refused.message, /^cannot connect to Postgres at 127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED/);
      assert.doesNotMatch(refused.message, /hunter2|tributary:/);
    });

    it('openStore picks Postgres for postgres:// and postgresql:// URLs', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tributary-open-'));
      after(() => rmSync(dir, { recursive: true, force: true }));
      for (const scheme of ['postgres', 'postgresql']) {
        const schema = schemas();
        const u = `${url.replace(/^postgres(ql)?:/, `${scheme}:`)}${url.includes('?') ? '&' : '?'}schema=${schema}`;
        const s = await openStore({ dataDir: dir, databaseUrl: u });
        assert.ok(s instanceof PostgresStore);
        await s.migrate();
        await s.close();
      }
    });

    it('tributary migrate applies the Postgres migrations and prints the schema version', async () => {
      const CLI = join(resolve(import.meta.dirname, '../../..'), 'src/cli/main.ts');
      const dir = mkdtempSync(join(tmpdir(), 'tributary-migrate-'));
      after(() => rmSync(dir, { recursive: true, force: true }));
      const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => {
        const child = spawn(process.execPath, [CLI, ...args], {
          cwd: dir,
          env: { ...process.env, TRIBUTARY_DATABASE_URL: undefined, TRIBUTARY_DATA_DIR: undefined, ...env },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        return new Promise<{ code: number | null; out: string; err: string }>((ok) =>
          child.on('exit', (code) => ok({ code, out, err })),
        );
      };
      const schema = schemas();
      const u = `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;
      const latest = migrations.at(-1)!.version;
      const first = await cli(['migrate', '--database-url', u]);
      assert.equal(first.code, 0, first.err);
      assert.match(
        first.out,
        new RegExp(`^postgres store at .* schema ${schema}: schema version ${latest}\\n$`),
      );
      const again = await cli(['migrate'], { TRIBUTARY_DATABASE_URL: u });
      assert.equal(again.code, 0, again.err);
      assert.equal(again.out, first.out);
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
      assert.equal(rows[0].n, migrations.length);
    });
  });
}
