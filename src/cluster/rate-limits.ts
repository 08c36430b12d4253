import type { Logger } from '../core/source.ts';
import { RateLimits, TokenBucket } from '../engine/rate-limit.ts';
import { sleep } from '../engine/sleep.ts';
import type { PostgresStore } from '../store/postgres/postgres-store.ts';

/**
 * Per-account rate limits that hold across workers (docs/deployment.md, "Rate limits across workers"): the account's token bucket is a
 * row in Postgres (`rate_buckets`), refilled and taken from atomically by `take_rate_token()` on the
 * server's clock. Every worker running collectors of one account draws from the same bucket, however
 * many workers there are and however the account's collectors are spread over them.
 *
 * Chosen over partitioning the budget by worker count because a partition wastes the budget (a worker
 * with none of the account's collectors holds its share idle), changes with every worker that starts
 * or dies, and cannot pause the account on a 429. The cost is one short statement per vendor request,
 * small beside the request itself; a 429's pause (Retry-After, exhausted rate headers) is written to
 * the row too, so every worker stops using the account, not just the one that was told.
 */
export class SharedRateLimits extends RateLimits {
  private readonly store: PostgresStore;
  private readonly log?: Logger;
  private readonly shared = new Map<string, SharedBucket>();

  constructor(store: PostgresStore, log?: Logger) {
    super();
    this.store = store;
    this.log = log;
  }

  override for(
    key: string,
    kindLimit: { perSecond: number; burst: number } | undefined,
  ): TokenBucket | undefined {
    if (!kindLimit) return undefined;
    const id = `${key}\u0000${kindLimit.perSecond}\u0000${kindLimit.burst}`;
    let bucket = this.shared.get(id);
    if (!bucket) {
      bucket = new SharedBucket(this.store, key, kindLimit.perSecond, kindLimit.burst, this.log);
      this.shared.set(id, bucket);
    }
    return bucket;
  }
}

/** One account's bucket, as seen from this process: every take goes to the shared row. */
export class SharedBucket extends TokenBucket {
  private readonly store: PostgresStore;
  private readonly key: string;
  private readonly log?: Logger;
  /** A pause this process learned of, so it stops at once rather than on its next take. */
  private localPause = 0;

  constructor(store: PostgresStore, key: string, perSecond: number, burst: number, log?: Logger) {
    super(perSecond, burst);
    this.store = store;
    this.key = key;
    this.log = log;
  }

  override pauseUntil(epochMs: number): void {
    if (epochMs > this.localPause) this.localPause = epochMs;
    this.store
      .query(
        `INSERT INTO rate_buckets (account_key, tokens, updated_at, paused_until)
         VALUES ($1, 0, clock_timestamp(), clock_timestamp() + $2 * interval '1 millisecond')
         ON CONFLICT (account_key) DO UPDATE
           SET paused_until = greatest(coalesce(rate_buckets.paused_until, '-infinity'), excluded.paused_until)`,
        [this.key, Math.max(0, Math.round(epochMs - Date.now()))],
      )
      .catch((err) =>
        this.log?.warn('rate limit: could not share a pause', { error: (err as Error).message }),
      );
  }

  /** Returns how long it waited (ms): pauses and an empty budget, not the statement's own time. */
  override async take(signal?: AbortSignal): Promise<number> {
    let waited = 0;
    for (let failures = 0; ; ) {
      const paused = this.localPause - Date.now();
      if (paused > 0) {
        await sleep(paused, signal);
        waited += paused;
        continue;
      }
      signal?.throwIfAborted();
      let waitSeconds: number;
      try {
        const { rows } = await this.store.query('SELECT take_rate_token($1, $2, $3) AS wait', [
          this.key,
          this.perSecond,
          this.burst,
        ]);
        waitSeconds = Number(rows[0].wait);
        failures = 0;
      } catch (err) {
        // The database is unreachable: this run cannot commit either. Wait and ask again (a run that
        // loses its lease meanwhile is aborted through `signal`).
        if (failures++ === 0)
          this.log?.warn('rate limit: the shared budget is unreachable; waiting', {
            error: (err as Error).message,
          });
        await sleep(Math.min(5000, 250 * 2 ** Math.min(failures, 5)), signal);
        continue;
      }
      if (waitSeconds <= 0) return waited;
      await sleep(Math.ceil(waitSeconds * 1000), signal);
      waited += Math.ceil(waitSeconds * 1000);
    }
  }
}
