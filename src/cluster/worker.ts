import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Job, PgBoss } from 'pg-boss';
import type { Runtime } from '../app/runtime.ts';
import { DESTINATION_MAX_WAIT_MS } from '../app/scheduler.ts';
import { parseDuration } from '../core/duration.ts';
import { toTributaryError } from '../core/errors.ts';
import { isPushSource, type Logger } from '../core/source.ts';
import { metrics } from '../engine/metrics.ts';
import { type RunResult, runCollector } from '../engine/runner.ts';
import { consumedStreams } from '../engine/stream-consumer.ts';
import { isVendorWait } from '../engine/vendor-wait.ts';
import { sources } from '../sources/index.ts';
import { PostgresStore } from '../store/postgres/postgres-store.ts';
import { RUN_QUEUE, type RunJob } from './boss.ts';
import { HeldLease } from './lease.ts';
import { SharedRateLimits } from './rate-limits.ts';
import { adoptCollectors, claimDue, enqueue, releaseAndSchedule, scheduleIn } from './schedule.ts';

export interface WorkerOptions {
  /** Runs at once in this process (default 10). */
  concurrency?: number;
  /** A run's lease lives this long without renewal (default 30 s); renewed every third of it. */
  leaseTtlMs?: number;
  /** How often an idle worker asks the queue for runs (default 1 s). */
  pollMs?: number;
  /** How often due collectors are claimed and queued (default 1 s). */
  tickMs?: number;
  /** A claimed collector whose job went missing is claimed again after this (default 2 × leaseTtl). */
  recheckMs?: number;
  /** A run that failed because the database did is retried after this (default 5 s). */
  retryMs?: number;
  /** Claims per statement (default 500). */
  claimBatch?: number;
  /** This worker's id in leases and run records (default host:pid:random). */
  id?: string;
  /** How long a run retries a destination that is down before it fails (default 15 minutes). */
  destinationMaxWaitMs?: number;
  /** How often the collectors with long-running streams are looked up, to start or stop consumers (default 5 s). */
  consumerSyncMs?: number;
  /** Options of the stream consumers this worker runs (tests: shorter partition leases). */
  consumer?: { leaseTtlMs?: number; idleMs?: number };
}

/** A collector whose long-running streams this worker consumes (engine/stream-consumer.ts). */
interface Consuming {
  collectorId: string;
  stop: AbortController;
  abort: AbortController;
  done: Promise<void>;
}

interface Slot {
  job: Job<RunJob>;
  /** When this worker took the job from the queue. */
  taken: number;
  lease?: HeldLease;
  done: Promise<void>;
}

/**
 * `tributary worker` (docs/deployment.md, Topology): takes collector runs from the pg-boss queue, up to `concurrency` at
 * once, and runs each under a lease; also claims due collectors into the queue (every worker does;
 * claims never overlap, see schedule.ts). Any number of workers on any number of machines share one
 * database. Stopping is graceful: no new runs, every run finishes and commits its batch in flight,
 * runs still going after the grace period are aborted (their batch in flight is read again by whoever
 * runs the collector next), and every lease is released with its collector due at once, so another
 * worker carries on without waiting for the lease to expire.
 */
export class Worker {
  readonly id: string;
  readonly runtime: Runtime;
  readonly store: PostgresStore;
  readonly boss: PgBoss;
  readonly log: Logger;
  readonly concurrency: number;
  readonly leaseTtlMs: number;
  private readonly pollMs: number;
  private readonly tickMs: number;
  private readonly recheckMs: number;
  private readonly retryMs: number;
  private readonly claimBatch: number;
  private readonly destinationMaxWaitMs: number;
  private readonly consumerSyncMs: number;
  private readonly consumerOptions: WorkerOptions['consumer'];
  private readonly consumers = new Map<string, Consuming>();
  /** When a collector's consumer last ended failed (a config error): not started again for a minute. */
  private readonly consumerFailedAt = new Map<string, number>();
  private wakeConsumers?: () => void;
  private readonly rateLimits: SharedRateLimits;
  private readonly slots = new Map<string, Slot>();
  private readonly finished: string[] = [];
  private stopping = false;
  private loops: Promise<void>[] = [];
  private wakeFetch?: () => void;
  private wakeTick?: () => void;
  /** Called after every run (tests, metrics). */
  onRun?: (r: RunResult, delayMs: number | undefined) => void;
  readonly stats = { runs: 0, skipped: 0, claimed: 0, leaseLost: 0 };

  constructor(runtime: Runtime, boss: PgBoss, o: WorkerOptions = {}) {
    if (!(runtime.store instanceof PostgresStore))
      throw new Error(
        'tributary worker needs the Postgres store: set --database-url or TRIBUTARY_DATABASE_URL',
      );
    this.runtime = runtime;
    this.store = runtime.store;
    this.boss = boss;
    this.log = runtime.log;
    this.id = o.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.concurrency = positive('concurrency', o.concurrency ?? 10);
    this.leaseTtlMs = positive('leaseTtlMs', o.leaseTtlMs ?? 30_000);
    this.pollMs = positive('pollMs', o.pollMs ?? 1000);
    this.tickMs = positive('tickMs', o.tickMs ?? 1000);
    this.recheckMs = positive('recheckMs', o.recheckMs ?? 2 * this.leaseTtlMs);
    this.retryMs = positive('retryMs', o.retryMs ?? 5000);
    this.claimBatch = positive('claimBatch', o.claimBatch ?? 500);
    this.destinationMaxWaitMs = positive(
      'destinationMaxWaitMs',
      o.destinationMaxWaitMs ?? DESTINATION_MAX_WAIT_MS,
    );
    this.consumerSyncMs = positive('consumerSyncMs', o.consumerSyncMs ?? 5000);
    this.consumerOptions = o.consumer;
    this.rateLimits = new SharedRateLimits(this.store, this.log);
  }

  start(): void {
    this.loops = [this.tickLoop(), this.fetchLoop(), this.consumerLoop()];
    this.log.info('worker started', { worker: this.id, concurrency: this.concurrency });
  }

  /** Collectors whose long-running streams this worker consumes now. */
  consuming(): string[] {
    return [...this.consumers.keys()].sort();
  }

  /** Collectors this worker is running now. */
  running(): string[] {
    return [...this.slots.values()].flatMap((s) => (s.lease ? [s.lease.collectorId] : []));
  }

  /**
   * Graceful stop: no new runs; runs finish their batch in flight within `graceMs`, then are aborted;
   * every lease is released. Resolves when all runs ended.
   */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wakeFetch?.();
    this.wakeTick?.();
    this.wakeConsumers?.();
    for (const s of this.slots.values()) s.lease?.stop.abort();
    // Consumers commit their batch in flight and hand their partitions to the other workers.
    for (const c of this.consumers.values()) c.stop.abort();
    const grace = setTimeout(() => {
      for (const s of this.slots.values()) s.lease?.abandon();
      for (const c of this.consumers.values()) c.abort.abort();
    }, graceMs);
    // Jobs fetched but not started yet see `stopping` and give their collector back.
    await Promise.allSettled(this.loops);
    while (this.slots.size) await Promise.allSettled([...this.slots.values()].map((s) => s.done));
    await Promise.allSettled([...this.consumers.values()].map((c) => c.done));
    clearTimeout(grace);
    await this.completeFinished();
    this.log.info('worker stopped', { worker: this.id, runs: this.stats.runs });
  }

  // --- claiming due collectors into the queue ---

  private async tickLoop(): Promise<void> {
    for (let n = 0; !this.stopping; n++) {
      try {
        if (n % 10 === 0) await adoptCollectors(this.store);
        for (;;) {
          const claimed = await claimDue(this.store, this.claimBatch, this.recheckMs);
          if (claimed.length) {
            await enqueue(this.boss, claimed);
            this.stats.claimed += claimed.length;
            this.wakeFetch?.();
          }
          if (claimed.length < this.claimBatch || this.stopping) break;
        }
      } catch (err) {
        this.log.warn('scheduling: could not claim due collectors; retrying', {
          error: (err as Error).message,
        });
      }
      await this.pause(this.tickMs, (wake) => (this.wakeTick = wake));
    }
  }

  // --- long-running streams: every worker consumes each, and they split its partitions ---

  private async consumerLoop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.syncConsumers();
      } catch (err) {
        this.log.warn('stream consumers: could not look up collectors; retrying', {
          error: (err as Error).message,
        });
      }
      await this.pause(this.consumerSyncMs, (wake) => (this.wakeConsumers = wake));
    }
  }

  /** Starts a consumer for each enabled collector with long-running streams; stops those of the others. */
  private async syncConsumers(): Promise<void> {
    const want = new Map<string, string>();
    for (const r of await this.store.listCollectors())
      if (r.enabled && consumedStreams(sources[r.source], r.config).consumed.length) want.set(r.name, r.id);
    for (const [name, c] of this.consumers) if (want.get(name) !== c.collectorId) c.stop.abort();
    for (const [name, id] of want) {
      if (this.consumers.has(name) || this.stopping) continue;
      if (Date.now() - (this.consumerFailedAt.get(name) ?? Number.NEGATIVE_INFINITY) < 60_000) continue;
      const c: Consuming = {
        collectorId: id,
        stop: new AbortController(),
        abort: new AbortController(),
      } as Consuming;
      this.consumers.set(name, c);
      c.done = this.runtime
        .consume(name, {
          owner: this.id,
          stop: c.stop.signal,
          signal: c.abort.signal,
          destinationMaxWaitMs: this.destinationMaxWaitMs,
          consumer: this.consumerOptions,
        })
        .then((results) => {
          if (results.some((r) => r.status === 'failed')) this.consumerFailedAt.set(name, Date.now());
          for (const r of results)
            this.log.info('stream consumer finished', {
              collector: name,
              run: r.runId,
              status: r.status,
              worker: this.id,
            });
        })
        .catch((err) => {
          const e = toTributaryError(err);
          this.consumerFailedAt.set(name, Date.now());
          this.log.error('stream consumer could not start', {
            collector: name,
            code: e.code,
            message: e.message,
          });
        })
        .finally(() => {
          // started again at the next sync while the collector is enabled
          if (this.consumers.get(name) === c) this.consumers.delete(name);
        });
    }
  }

  // --- taking runs from the queue ---

  private async fetchLoop(): Promise<void> {
    while (!this.stopping) {
      const free = this.concurrency - this.slots.size;
      let fetched = 0;
      await this.completeFinished();
      if (free > 0) {
        try {
          const jobs = await this.boss.fetch<RunJob>(RUN_QUEUE, { batchSize: free });
          fetched = jobs.length;
          for (const job of jobs) this.begin(job);
        } catch (err) {
          this.log.warn('queue: could not fetch runs; retrying', { error: (err as Error).message });
        }
      }
      if (fetched > 0 && fetched === free) continue; // maybe more waiting: ask again as slots free up
      if (!this.stopping) await this.pause(this.pollMs, (wake) => (this.wakeFetch = wake));
    }
  }

  /** Waits `ms`, or less when `register`'s wake function is called (or the worker stops). */
  private pause(ms: number, register: (wake: () => void) => void): Promise<void> {
    return new Promise((done) => {
      const t = setTimeout(done, ms);
      register(() => {
        clearTimeout(t);
        done();
      });
    });
  }

  private begin(job: Job<RunJob>): void {
    const slot = { job, taken: Date.now() } as Slot;
    this.slots.set(job.id, slot);
    slot.done = this.process(job, slot)
      .catch((err) => this.log.error('run job failed', { job: job.id, error: (err as Error).message }))
      .finally(() => {
        this.slots.delete(job.id);
        this.wakeFetch?.();
      });
  }

  private async process(job: Job<RunJob>, slot: Slot): Promise<void> {
    try {
      await this.runJob(job.data, slot);
    } finally {
      this.finished.push(job.id); // completed in bulk with the next fetch
    }
  }

  /**
   * Marks finished jobs completed, in one statement. Bookkeeping only: a job that cannot be completed
   * (the database is away, the worker dies) expires on its own, harmlessly.
   */
  private async completeFinished(): Promise<void> {
    if (!this.finished.length) return;
    const ids = this.finished.splice(0);
    await this.boss.complete(RUN_QUEUE, ids).catch(() => {});
  }

  private async runJob(data: RunJob, slot: Slot): Promise<void> {
    const record = await this.store.getCollector(data.name);
    if (!record || record.id !== data.id || !record.enabled || isPushSource(sources[record.source])) {
      this.stats.skipped++; // deleted, replaced, stopped or made a push collector since it was queued
      return;
    }
    if (this.stopping) {
      await scheduleIn(this.store, record.id, 0); // not started: give it back at once
      return;
    }
    if (consumedStreams(sources[record.source], record.config).all) {
      // Only long-running streams: consumed (consumerLoop), never run. Looked at again in an hour.
      this.stats.skipped++;
      await scheduleIn(this.store, record.id, 3_600_000);
      return;
    }
    const sentAt = Date.now();
    const acquired = await this.store.acquireLease(record.id, this.id, this.leaseTtlMs);
    if (!acquired) {
      this.stats.skipped++; // running elsewhere: its holder schedules the next run
      return;
    }
    const lease = new HeldLease(this.store, acquired, this.leaseTtlMs, this.log, sentAt);
    slot.lease = lease;
    metrics.leasesHeld.inc();
    if (acquired.takenOver) metrics.failovers.inc();
    lease.startRenewing();
    if (this.stopping) lease.stop.abort();
    const started = Date.now();
    let result: RunResult | undefined;
    // If this worker dies during the run, the collector is due again as soon as its lease expires.
    const marked = scheduleIn(this.store, record.id, 0).catch(() => {}); // else the recheck covers it
    try {
      result = await runCollector(await this.runtime.resolve(record), {
        store: lease.fencedStore(),
        log: this.log,
        rateLimits: this.rateLimits,
        stop: lease.stop.signal,
        signal: lease.abort.signal,
        runner: this.id,
        destinationMaxWaitMs: this.destinationMaxWaitMs,
      });
      const delayMs = data.due ? started - Date.parse(data.due) : undefined;
      this.stats.runs++;
      this.log.info('run finished', {
        collector: record.name,
        source: result.source,
        run: result.runId,
        status: result.status,
        events: result.events,
        pages: result.pages,
        ms: result.durationMs,
        // from due to started (queueing), and from taken off the queue to started (lease, resolve)
        delayMs,
        setupMs: started - slot.taken,
        worker: this.id,
      });
      this.onRun?.(result, delayMs);
    } catch (err) {
      const e = toTributaryError(err);
      // It could not start, or failed in a way the runner could not record (the database was away):
      // releasing the lease below records the run's end. A vendor wait (queued before another collector
      // of the account was told to wait) is no failure: claims hold the collector back until then.
      if (isVendorWait(e))
        this.log.info('run not started: waiting for the vendor', {
          collector: record.name,
          until: e.waitUntil,
        });
      else if (!lease.lost)
        this.log.error('run failed', { collector: record.name, code: e.code, message: e.message });
    } finally {
      await marked;
      await lease.stopRenewing();
      metrics.leasesHeld.dec();
      if (lease.lost) {
        this.stats.leaseLost++;
        metrics.leasesLost.inc();
      } else await this.release(record.config, lease, started, result);
    }
  }

  /** Releases the lease with the collector's next due time; if that fails, the lease simply expires. */
  private async release(
    config: Record<string, unknown>,
    lease: HeldLease,
    started: number,
    result: RunResult | undefined,
  ): Promise<void> {
    let delay: number;
    try {
      delay = Math.max(0, started + parseDuration(String(config.interval ?? '5m')) - Date.now());
    } catch {
      delay = 5 * 60_000;
    }
    const unfinished = result?.status !== 'succeeded';
    if (this.stopping && unfinished) delay = 0; // stopped by this worker's shutdown: hand over at once
    if (lease.storeTrouble && unfinished) delay = Math.min(delay, this.retryMs);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await releaseAndSchedule(this.store, lease.collectorId, lease.token, delay);
        return;
      } catch (err) {
        this.log.warn('could not release a lease; retrying', {
          collectorId: lease.collectorId,
          error: (err as Error).message,
        });
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
  }
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}: expected a positive number, got ${v}`);
  return v;
}
