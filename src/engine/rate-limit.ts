import { sleep } from './sleep.ts';

/**
 * A token bucket shared by every collector that uses one account (docs/architecture.md, HTTP): the vendor's limits
 * belong to the credential, not to a collector. `pauseUntil` lets a 429/Retry-After or an exhausted
 * vendor rate header stop every user of the account, not just the request that saw it.
 */
export class TokenBucket {
  readonly perSecond: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private pausedUntil = 0;
  private readonly now: () => number;
  private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void>;

  /** `now` and `wait` are the clock and the sleep (a test drives both on simulated time). */
  constructor(
    perSecond: number,
    burst = Math.max(1, Math.ceil(perSecond)),
    now: () => number = Date.now,
    wait: (ms: number, signal?: AbortSignal) => Promise<void> = sleep,
  ) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.tokens = burst;
    this.now = now;
    this.wait = wait;
    this.last = now();
  }

  pauseUntil(epochMs: number): void {
    if (epochMs > this.pausedUntil) this.pausedUntil = epochMs;
  }

  /**
   * Waits for a token (and any account-wide pause), then takes it. Returns how long it waited (ms), for
   * the rate-limit metrics.
   */
  async take(signal?: AbortSignal): Promise<number> {
    let waited = 0;
    for (;;) {
      const now = this.now();
      if (now < this.pausedUntil) {
        await this.wait(this.pausedUntil - now, signal);
        waited += this.pausedUntil - now;
        continue;
      }
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return waited;
      }
      const ms = Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
      await this.wait(ms, signal);
      waited += ms;
    }
  }
}

/** One bucket per account key, created on first use. */
export class RateLimits {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly override?: { perSecond: number; burst: number } | null;

  /** `override` replaces every account kind's limit (null: no client-side limit, for tests and benchmarks). */
  constructor(override?: { perSecond: number; burst: number } | null) {
    this.override = override;
  }

  for(key: string, kindLimit: { perSecond: number; burst: number } | undefined): TokenBucket | undefined {
    const limit = this.override === undefined ? kindLimit : this.override;
    if (!limit) return undefined;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(limit.perSecond, limit.burst);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /**
   * The bucket of one endpoint of an account (`AccountKind.endpointRateLimit`), shared like the
   * account's own by every collector using the account; undefined without a limit.
   */
  forEndpoint(
    accountKey: string,
    limit: { key: string; perSecond: number; burst: number } | undefined,
  ): TokenBucket | undefined {
    if (!limit) return undefined;
    return this.for(`${accountKey}\u0000${limit.key}`, { perSecond: limit.perSecond, burst: limit.burst });
  }
}
