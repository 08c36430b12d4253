import { hostname } from 'node:os';
import type { Runtime } from '../app/runtime.ts';
import { configError, type ErrorInfo, transientError } from '../core/errors.ts';
import type { Logger } from '../core/source.ts';
import { isLeaseLost, type LeaseRecord, leaseLost, type RunStatus, type Store } from '../core/store.ts';
import type { RunOptions, RunResult } from '../engine/runner.ts';
import { isConnectionError, PostgresStore } from '../store/postgres/postgres-store.ts';
import { SharedRateLimits } from './rate-limits.ts';

/**
 * A lease a run holds (docs/deployment.md, "Leases and fencing"): renewed every third of its time to live, and given up when the run
 * ends. When it is lost (a renewal finds it expired or taken over, or renewals failed for as long as
 * it lived, or a fenced commit was refused) the run is aborted at once: its batch in flight is
 * abandoned uncommitted, as after a crash. When the control plane asks the holder to stop (collector
 * stopped or deleted), the run is asked to stop after its batch in flight.
 */
export class HeldLease {
  readonly collectorId: string;
  readonly token: number;
  /** Hard stop: the lease is gone, nothing more can be committed. */
  readonly abort = new AbortController();
  /** Soft stop: finish and commit the batch in flight, then end. */
  readonly stop = new AbortController();
  /** Why the lease was lost, once it was. */
  lost?: string;
  /** A store call of this run failed because the database connection did. */
  storeTrouble = false;
  private readonly store: Store;
  private readonly ttlMs: number;
  private readonly log: Logger;
  private timer?: NodeJS.Timeout;
  /** Local time by which the lease has surely run out if no renewal succeeds before. */
  private deadline: number;
  private renewing?: Promise<void>;

  constructor(store: Store, lease: LeaseRecord, ttlMs: number, log: Logger, sentAt: number) {
    this.store = store;
    this.collectorId = lease.collectorId;
    this.token = lease.token;
    this.ttlMs = ttlMs;
    this.log = log;
    // The server set the expiry after we asked, so it is no earlier than this.
    this.deadline = sentAt + ttlMs;
  }

  startRenewing(): void {
    const every = Math.max(50, Math.floor(this.ttlMs / 3));
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => {
        this.renewing = undefined;
      });
    }, every);
    this.timer.unref();
  }

  async stopRenewing(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    if (Date.now() >= this.deadline) return this.markLost('its renewals failed until it ran out');
    const sentAt = Date.now();
    try {
      const l = await this.store.renewLease(this.collectorId, this.token, this.ttlMs);
      if (!l) return this.markLost('it expired or another runner took it over');
      this.deadline = sentAt + this.ttlMs;
      if (l.stopRequested && !this.stop.signal.aborted) {
        this.log.info('stop requested: finishing the batch in flight', { collectorId: this.collectorId });
        this.stop.abort();
      }
    } catch (err) {
      this.log.warn('lease renewal failed; retrying', {
        collectorId: this.collectorId,
        error: (err as Error).message,
      });
      if (Date.now() >= this.deadline) this.markLost('its renewals failed until it ran out');
    }
  }

  /**
   * The holder gives up the run (shutdown grace over): aborted like a lost lease, its batch in flight
   * abandoned, but the lease is still its own to release.
   */
  abandon(): void {
    if (this.abort.signal.aborted) return;
    this.log.warn('abandoning the batch in flight: the worker is stopping', {
      collectorId: this.collectorId,
    });
    this.abort.abort();
  }

  markLost(reason: string): void {
    if (this.lost) return;
    this.lost = reason;
    this.log.warn('lease lost: abandoning the batch in flight', {
      collectorId: this.collectorId,
      token: this.token,
      reason,
    });
    this.abort.abort(leaseLost(this.collectorId, this.token));
  }

  /**
   * The store as this run sees it: starting the run and committing batches carry the lease's fencing
   * token, so the store refuses them once the lease is gone; a run whose lease was lost is recorded as
   * failed with lease_lost (unless the new holder already ended it as lease_expired).
   */
  fencedStore(): Store {
    const lease = this;
    const overrides: Partial<Store> = {
      startRun: async (r) => {
        try {
          await lease.store.startRun({ ...r, fence: lease.token });
        } catch (err) {
          if (isLeaseLost(err)) lease.markLost('the run could not start: the lease is no longer current');
          throw err;
        }
      },
      commitBatch: async (b) => {
        try {
          await lease.store.commitBatch({ ...b, fence: lease.token });
        } catch (err) {
          if (isLeaseLost(err)) lease.markLost('a commit was refused: the lease is no longer current');
          throw err;
        }
      },
      finishRun: (id: string, status: RunStatus, error?: ErrorInfo) =>
        lease.lost
          ? lease.store.finishRun(id, 'failed', leaseLost(lease.collectorId, lease.token).toJSON())
          : lease.store.finishRun(id, status, error),
    };
    return new Proxy(this.store, {
      get(target, prop, receiver) {
        const own = overrides[prop as keyof Store];
        const value = own ?? Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const out = own ? (own as (...a: unknown[]) => unknown)(...args) : value.apply(target, args);
          if (out instanceof Promise)
            return out.catch((err: unknown) => {
              if (isConnectionError(err)) lease.storeTrouble = true;
              throw err;
            });
          return out;
        };
      },
    });
  }
}

/**
 * One run outside a worker (`tributary run --once` against the cluster's store), under the collector's
 * lease like a worker's run: refused while a worker runs the collector, fenced the same way.
 */
export async function runWithLease(
  runtime: Runtime,
  name: string,
  opts: Partial<RunOptions>,
  ttlMs: number,
): Promise<RunResult> {
  const store = runtime.store;
  const record = await store.getCollector(name);
  if (!record) throw configError('collector_missing', `No collector named "${name}".`, 'Check the name.');
  const sentAt = Date.now();
  const acquired = await store.acquireLease(record.id, `cli:${hostname()}:${process.pid}`, ttlMs);
  if (!acquired) {
    const holder = (await store.getLease(record.id))?.owner ?? 'another runner';
    throw transientError(
      'collector_busy',
      `Collector ${name} is running on ${holder}.`,
      'Wait for that run to end, or stop the collector first.',
    );
  }
  const lease = new HeldLease(store, acquired, ttlMs, runtime.log, sentAt);
  lease.startRenewing();
  const any = (a: AbortSignal, b?: AbortSignal) => (b ? AbortSignal.any([a, b]) : a);
  try {
    return await runtime.run(name, {
      ...opts,
      ...(store instanceof PostgresStore ? { rateLimits: new SharedRateLimits(store, runtime.log) } : {}),
      store: lease.fencedStore(),
      stop: any(lease.stop.signal, opts.stop),
      signal: any(lease.abort.signal, opts.signal),
    });
  } finally {
    await lease.stopRenewing();
    if (!lease.lost) await store.releaseLease(record.id, lease.token).catch(() => {});
  }
}
