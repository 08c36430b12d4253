import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { drainSource } from '../../../test/support/drain.ts';
import { snowflake as kind, publicKeyFingerprint } from '../../accounts/snowflake.ts';
import { validateSettings } from '../../config/config-file.ts';
import { toTributaryError } from '../../core/errors.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';

import snowflakeSource, { epochTime, rowObject } from './index.ts';

import { SnowflakeSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const HOUR = 3_600_000;

async function withSim<T>(
  o: ConstructorParameters<typeof SnowflakeSimulator>[0],
  fn: (sim: SnowflakeSimulator) => Promise<T>,
): Promise<T> {
  const sim = new SnowflakeSimulator(o);
  await sim.start();
  try {
    return await fn(sim);
  } finally {
    await sim.stop();
  }
}

const drain = (
  sim: SnowflakeSimulator,
  stream: string,
  clock: ManualClock,
  o: { account?: Record<string, unknown>; checkpoint?: unknown; stopAfter?: number } = {},
) =>
  drainSource({
    source: snowflakeSource,
    stream,
    kind,
    account: o.account ?? sim.accountFields(),
    settings: { warehouse: sim.warehouse },
    checkpoint: o.checkpoint,
    now: clock.now,
    lookbackMs: 8 * HOUR,
    stopAfter: o.stopAfter,
    maxRetryAfterMs: 10,
  });

const failure = (p: Promise<unknown>) =>
  p.then(
    () => assert.fail('expected the run to fail'),
    (e) => toTributaryError(e),
  );
const sorted = (a: string[]) => [...a].sort();

describe('snowflake source', () => {
  it('validates settings and the account, and turns rows into objects by rowType', () => {
    const bad = validateSettings('snowflake', { warehouse: 'my wh; DROP' });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.ok(bad.issues.some((i) => i.startsWith('warehouse: expected a warehouse name')));
    const acct = kind.fields.safeParse({ account: 'https://x', user: 'a', privateKey: 'nope' });
    assert.equal(acct.success, false);
    const row = rowObject(
      [
        { name: 'QUERY_ID', type: 'text' },
        { name: 'DIRECT_OBJECTS_ACCESSED', type: 'array' },
        { name: 'ERROR_CODE', type: 'fixed' },
      ],
      ['01b-1', '[{"objectName":"DB.S.T"}]', null],
    );
    assert.deepEqual(row, {
      QUERY_ID: '01b-1',
      DIRECT_OBJECTS_ACCESSED: [{ objectName: 'DB.S.T' }],
      ERROR_CODE: null,
    });
    assert.equal(epochTime('1764072000.123000000'), '2025-11-25T12:00:00.123Z');
    assert.equal(epochTime('not a time'), undefined);
  });

  it('polls a running statement (202), pages its partitions, binds the window and resumes from a checkpoint', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 2, pollsToComplete: 2, partitionRows: 5 }, async (sim) => {
      sim.add('LOGIN_HISTORY', 23, { from: T0 - 5 * HOUR, spacingMs: 60_000 });
      sim.add('LOGIN_HISTORY', 3, { from: T0 - 30 * 60_000 }); // inside the 2 h lag: not yet read
      const all = await drain(sim, 'login-history', clock);
      const want = sim.ids('LOGIN_HISTORY').slice(0, 23);
      assert.deepEqual(sorted(all.ids), sorted(want));
      assert.equal(new Set(all.ids).size, 23);
      const times = all.events.map((e) => e.time!);
      assert.deepEqual(times, [...times].sort(), 'oldest first');
      const raw = all.events[0].raw as Record<string, unknown>;
      assert.equal(typeof raw.USER_NAME, 'string', 'rows are objects by column name');
      assert.equal(all.events[0].time, epochTime(raw.EVENT_TIMESTAMP));
      const gets = sim.requests().filter((r) => r.method === 'GET');
      assert.ok(gets.filter((r) => !r.query.get('partition')).length >= 2, 'polled while 202');
      assert.deepEqual(
        [...new Set(gets.map((r) => r.query.get('partition')).filter(Boolean))],
        ['1', '2', '3', '4'],
        'partitions 1…4 fetched',
      );
      const body = sim.statements[0];
      assert.doesNotMatch(body.statement, /\d{4}-\d\d-\d\d/, 'no time written into the SQL');
      assert.match(body.statement, /EVENT_TIMESTAMP >= TO_TIMESTAMP_LTZ\(\?\)/);
      assert.equal(body.bindings['1'].type, 'TEXT');
      assert.equal(body.warehouse, sim.warehouse);
      assert.equal(body.role, sim.role);
      assert.ok(sim.tokensIssued() >= 1, 'the simulator verified the key-pair JWT');
      assert.deepEqual(sim.writeCalls(), [], 'no call but the declared statement POST');
      // A crash after the second partition: the next run delivers the rest, nothing twice.
      const first = await drain(sim, 'login-history', clock, { stopAfter: 2 });
      const rest = await drain(sim, 'login-history', clock, { checkpoint: first.checkpoint });
      const got = [...first.ids, ...rest.ids];
      assert.deepEqual(sorted(got), sorted(want));
      assert.equal(new Set(got).size, got.length);
    });
  });

  it('reads query and access history with their own time columns and lags', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 3 }, async (sim) => {
      sim.add('QUERY_HISTORY', 6, { from: T0 - 3 * HOUR, spacingMs: 60_000 });
      sim.add('QUERY_HISTORY', 2, { from: T0 - 20 * 60_000 }); // within 45 minutes
      sim.add('ACCESS_HISTORY', 4, { from: T0 - 5 * HOUR, spacingMs: 60_000 });
      sim.add('ACCESS_HISTORY', 2, { from: T0 - 2 * HOUR }); // within 3 hours
      const q = await drain(sim, 'query-history', clock);
      assert.deepEqual(sorted(q.ids), sorted(sim.ids('QUERY_HISTORY').slice(0, 6)));
      assert.match(sim.statements.at(-1)?.statement, /QUERY_HISTORY WHERE END_TIME >= /);
      const a = await drain(sim, 'access-history', clock);
      assert.deepEqual(sorted(a.ids), sorted(sim.ids('ACCESS_HISTORY').slice(0, 4)));
      assert.match(sim.statements.at(-1)?.statement, /ACCESS_HISTORY WHERE QUERY_START_TIME >= /);
      const objects = (a.events[0].raw as { DIRECT_OBJECTS_ACCESSED: unknown }).DIRECT_OBJECTS_ACCESSED;
      assert.ok(Array.isArray(objects), 'ARRAY columns parsed');
    });
  });

  it('names the warehouse to fix on 000606, and the grant on 002003, without any secret', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 4 }, async (sim) => {
      sim.add('LOGIN_HISTORY', 5, { from: T0 - 4 * HOUR });
      sim.warehouses.clear();
      const wh = await failure(drain(sim, 'login-history', clock));
      assert.equal(wh.code, 'snowflake_no_warehouse');
      assert.match(wh.action ?? '', /GRANT USAGE ON WAREHOUSE/);
      assert.match(wh.action ?? '', /X-Small/);
      const text = JSON.stringify({ m: wh.message, a: wh.action });
      assert.doesNotMatch(text, /PRIVATE KEY|Bearer |eyJ/);
      sim.warehouses.add(sim.warehouse);
      sim.importedPrivileges.clear();
      const grant = await failure(drain(sim, 'login-history', clock));
      assert.equal(grant.code, 'snowflake_account_usage_denied');
      assert.match(grant.action ?? '', /GRANT IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE/);
    });
  });

  it('key-pair JWT: an encrypted key with its passphrase works, a key Snowflake does not know is refused, a refused JWT is signed again', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 5 }, async (sim) => {
      sim.add('LOGIN_HISTORY', 4, { from: T0 - 4 * HOUR });
      const encrypted = createPrivateKey(sim.privateKeyPem)
        .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'hunter2-s3cr3t' })
        .toString();
      const account = { ...sim.accountFields(), privateKey: encrypted, passphrase: 'hunter2-s3cr3t' };
      assert.equal(
        publicKeyFingerprint(account),
        publicKeyFingerprint({ privateKey: sim.privateKeyPem }),
        'RSA_PUBLIC_KEY_FP of the same key',
      );
      assert.equal((await drain(sim, 'login-history', clock, { account })).ids.length, 4);
      // Snowflake refuses the JWTs it has seen (as expired ones): the account signs a new one after the 401.
      const before = sim.tokensIssued();
      sim.expireTokens();
      assert.equal((await drain(sim, 'login-history', clock, { account })).ids.length, 4);
      assert.ok(sim.tokensIssued() > before, 'a new JWT was signed');
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
      const err = await failure(
        drain(sim, 'login-history', clock, { account: { ...sim.accountFields(), privateKey: other } }),
      );
      assert.equal(err.code, 'snowflake_jwt_refused');
      assert.match(err.action ?? '', /RSA_PUBLIC_KEY/);
      assert.doesNotMatch(JSON.stringify({ m: err.message, a: err.action }), /PRIVATE KEY|eyJ|s3cr3t/);
    });
  });

  it('waits out 429, halves a window on 408, and Test Connection proves the JWT, the warehouse and the grant', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 6 }, async (sim) => {
      sim.add('LOGIN_HISTORY', 5, { from: T0 - 4 * HOUR });
      sim.inject({ kind: 'rate-limit', retryAfter: 0, path: '/api/v2/statements' });
      assert.equal((await drain(sim, 'login-history', clock)).ids.length, 5);
      // 408: the statement ran past its timeout and was cancelled. Retried like any transient answer (6
      // attempts); when every attempt times out, the window is halved and read again.
      sim.inject({
        kind: 'status',
        status: 408,
        times: 6,
        method: 'POST',
        path: '/api/v2/statements',
        body: {
          code: '000630',
          message: 'Statement reached its statement or warehouse timeout of 600 second(s) and was canceled.',
        },
      });
      const split = await drain(sim, 'login-history', clock);
      assert.equal(split.ids.length, 5);
      assert.ok(
        sim.statements
          .slice(-2)
          .every((b) => Date.parse(b.bindings['2'].value) - Date.parse(b.bindings['1'].value) < 4 * HOUR),
        'the window was halved',
      );
      const settings = { warehouse: sim.warehouse };
      assert.deepEqual(await testConnection(snowflakeSource, kind, sim.accountFields(), settings), {
        ok: true,
      });
      sim.importedPrivileges.clear();
      const denied = await testConnection(snowflakeSource, kind, sim.accountFields(), settings);
      assert.equal(denied.ok, false);
      if (!denied.ok) assert.equal(denied.error.code, 'snowflake_account_usage_denied');
      const wh = await testConnection(snowflakeSource, kind, sim.accountFields(), { warehouse: 'NOPE_WH' });
      assert.equal(wh.ok, false);
      if (!wh.ok) assert.equal(wh.error.code, 'snowflake_no_warehouse');
    });
  });
});
