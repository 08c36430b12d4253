import type { PgBoss } from 'pg-boss';
import type { SchedulerHooks } from '../control/service.ts';
import type { Logger } from '../core/source.ts';
import type { RunResult } from '../engine/runner.ts';
import type { PostgresStore } from '../store/postgres/postgres-store.ts';
import { claimDue, enqueue, requestRun, scheduleIn } from './schedule.ts';

export interface ClusterSchedulerOptions {
  /** The workers' lease time to live: how long a deleted collector's run may take to notice (default 30 s). */
  leaseTtlMs?: number;
  /** As the workers' recheckMs (default 2 × leaseTtl). */
  recheckMs?: number;
}

/**
 * The control plane's scheduler in cluster mode (`tributary serve` with a Postgres URL): the same
 * hooks as the embedded scheduler, acting on the shared schedule, leases and queue instead of timers
 * in this process, so any serve replica can take the API call and any worker does the run.
 *
 * - sync: an enabled collector becomes due now (claimed and queued here at once, unless it is running
 *   or queued already); a stopped one has its running run asked to stop after the batch in flight.
 * - remove: asks the run to stop, then waits until its lease is released or expired.
 * - runNow: claimed and queued now, unless a run is in progress (as embedded: no second run). The run
 *   happens on a worker, so its result is not awaited here (resolves undefined).
 */
export class ClusterScheduler implements SchedulerHooks {
  private readonly store: PostgresStore;
  private readonly boss: PgBoss;
  private readonly log: Logger;
  private readonly leaseTtlMs: number;
  private readonly recheckMs: number;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(store: PostgresStore, boss: PgBoss, log: Logger, o: ClusterSchedulerOptions = {}) {
    this.store = store;
    this.boss = boss;
    this.log = log;
    this.leaseTtlMs = o.leaseTtlMs ?? 30_000;
    this.recheckMs = o.recheckMs ?? 2 * this.leaseTtlMs;
  }

  sync(name: string): void {
    this.track(
      (async () => {
        const record = await this.store.getCollector(name);
        if (!record) return;
        if (!record.enabled) {
          await this.store.requestLeaseStop(record.id);
          return;
        }
        await scheduleIn(this.store, record.id, 0);
        await this.enqueueNow(record.id);
      })(),
      name,
    );
  }

  async remove(name: string): Promise<void> {
    const record = await this.store.getCollector(name);
    if (!record) return;
    await this.store.requestLeaseStop(record.id);
    // The holder sees the request at its next renewal (a third of the lease's life) and stops after
    // its batch in flight; a dead holder's lease just expires. Bounded either way.
    const deadline = Date.now() + this.leaseTtlMs + 30_000;
    while (Date.now() < deadline) {
      const l = await this.store.getLease(record.id);
      if (!l?.owner || Date.parse(l.expiresAt) <= Date.now()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    this.log.warn('collector deleted while its run had not stopped', { collector: name });
  }

  async runNow(name: string): Promise<RunResult | undefined> {
    const record = await this.store.getCollector(name);
    if (!record?.enabled) return undefined;
    if (await requestRun(this.store, record.id, this.recheckMs)) await this.enqueueNow(record.id);
    return undefined;
  }

  /** Waits for the hooks still in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private async enqueueNow(collectorId: string): Promise<void> {
    await enqueue(this.boss, await claimDue(this.store, 1, this.recheckMs, collectorId));
  }

  private track(p: Promise<unknown>, name: string): void {
    const tracked = p
      .catch((err) =>
        // The workers' tickers pick the collector up from the schedule anyway.
        this.log.warn('scheduling: could not queue a collector now', {
          collector: name,
          error: (err as Error).message,
        }),
      )
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}
