import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import pg from 'pg';
import { describeError, describeTarget } from '../../src/store/postgres/postgres-store.ts';

/**
 * The Postgres that store tests run against: 127.0.0.1:5432, database test, user PGUSER or postgres,
 * unless TRIBUTARY_TEST_DATABASE_URL says otherwise.
 */
export const testDatabaseUrl =
  process.env.TRIBUTARY_TEST_DATABASE_URL ||
  `postgres://${encodeURIComponent(process.env.PGUSER || 'postgres')}@127.0.0.1:5432/test`;

/** Why Postgres cannot be used (undefined if it can). */
export async function postgresUnavailable(url = testDatabaseUrl): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `Postgres is not reachable at ${describeTarget(url)} (${describeError(err)}); start it or set TRIBUTARY_TEST_DATABASE_URL`;
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * When Postgres is unreachable: under CI a failing test (a suite that needs Postgres must never pass by
 * skipping there); elsewhere one skipped test carrying the reason.
 */
export function requirePostgres(reason: string): void {
  if (process.env.CI === 'true')
    it('Postgres is reachable (required under CI=true)', () => {
      throw new Error(reason);
    });
  else it('Postgres store tests', { skip: reason }, () => {});
}

/** An admin connection for assertions the Store interface cannot make (pg_stat_activity, raw rows). */
export async function adminClient(url = testDatabaseUrl): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/**
 * Schema names unique to this test run (tributary_test_<random>_<n>); every one handed out is dropped
 * when the test file ends, with its pg-boss schema (<name>_pgboss).
 */
export function freshSchemas(url = testDatabaseUrl): () => string {
  const run = `tributary_test_${randomBytes(4).toString('hex')}`;
  const made: string[] = [];
  after(async () => {
    if (!made.length) return;
    const c = await adminClient(url);
    try {
      // and the job queue's schema beside it (cluster mode: src/cluster/boss.ts)
      for (const s of made) await c.query(`DROP SCHEMA IF EXISTS "${s}", "${s}_pgboss" CASCADE`);
    } finally {
      await c.end();
    }
  });
  return () => {
    const s = `${run}_${made.length}`;
    made.push(s);
    return s;
  };
}
