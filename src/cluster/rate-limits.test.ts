import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  freshSchemas,
  postgresUnavailable,
  requirePostgres,
  testDatabaseUrl,
} from '../../test/support/postgres.ts';
import { PostgresStore } from '../store/postgres/postgres-store.ts';
import { SharedRateLimits } from './rate-limits.ts';

/**
 * The per-account budget shared by workers. Lower bounds on elapsed time only: a budget that does not
 * hold finishes early and fails; a slow machine only makes it later.
 */
const unavailable = await postgresUnavailable();
if (unavailable) requirePostgres(unavailable);
else {
  const schemas = freshSchemas();

  async function setup() {
    const schema = schemas();
    const a = await PostgresStore.open({ connectionString: testDatabaseUrl, schema, poolSize: 3 });
    await a.migrate();
    const b = await PostgresStore.open({ connectionString: testDatabaseUrl, schema, poolSize: 3 });
    after(() => Promise.all([a.close(), b.close()]));
    const at = new Date().toISOString();
    for (const id of ['acct-1', 'acct-2'])
      await a.putAccount({
        id,
        name: id,
        kind: 'okta',
        config: {},
        secrets: {},
        createdAt: at,
        updatedAt: at,
      });
    // Two workers: separate processes in production, separate pools and limiters here.
    return { a, one: new SharedRateLimits(a), two: new SharedRateLimits(b) };
  }

  describe('SharedRateLimits (the account budget in Postgres)', () => {
    it('two workers drawing on one account stay within its rate together; other accounts are separate', async () => {
      const { one, two } = await setup();
      const limit = { perSecond: 20, burst: 5 };
      const buckets = [one.for('acct-1', limit)!, two.for('acct-1', limit)!];
      const t0 = performance.now();
      await Promise.all(
        buckets.map(async (b) => {
          for (let i = 0; i < 15; i++) await b.take();
        }),
      );
      const elapsed = performance.now() - t0;
      // 30 requests, 5 at once, then 20 a second: at least 1.25 s whoever asks.
      assert.ok(elapsed >= 1200, `30 takes took ${elapsed.toFixed(0)} ms`);
      // A separate account has its own full burst: no wait.
      const t1 = performance.now();
      for (let i = 0; i < 5; i++) await two.for('acct-2', limit)!.take();
      assert.ok(performance.now() - t1 < 1000);
      assert.equal(one.for('acct-3', undefined), undefined, 'no limit, no bucket');
    });

    it("a 429's pause seen by one worker stops the other too", async () => {
      const { a, one, two } = await setup();
      const limit = { perSecond: 1000, burst: 1000 };
      one.for('acct-1', limit)!.pauseUntil(Date.now() + 1000);
      const t0 = performance.now();
      // shared asynchronously: poll until the row carries it
      for (let n = 0; ; n++) {
        const { rows } = await a.query(
          "SELECT coalesce(paused_until > clock_timestamp(), false) AS p FROM rate_buckets WHERE account_key = 'acct-1'",
        );
        if (rows[0]?.p) break;
        assert.ok(n < 100, 'the pause reached the database');
      }
      await two.for('acct-1', limit)!.take();
      const waited = performance.now() - t0;
      assert.ok(waited >= 700, `the other worker waited ${waited.toFixed(0)} ms`);
    });

    it('an aborted take stops waiting', async () => {
      const { one } = await setup();
      const b = one.for('acct-1', { perSecond: 0.1, burst: 1 })!;
      await b.take();
      const ac = new AbortController();
      const waiting = b.take(ac.signal);
      ac.abort();
      await assert.rejects(waiting, { name: 'AbortError' });
    });
  });
}
