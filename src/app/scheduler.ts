import { parseDuration } from '../core/duration.ts';
import { toTributaryError } from '../core/errors.ts';
import { isPushSource } from '../core/source.ts';
import type { RunOptions, RunResult } from '../engine/runner.ts';
import { consumedStreams } from '../engine/stream-consumer.ts';
import { activeVendorWait, isVendorWait } from '../engine/vendor-wait.ts';
import { sources } from '../sources/index.ts';
import type { Runtime } from './runtime.ts';

/** How long a scheduled run retries a destination that is down before it fails (health turns ERROR). */
export const DESTINATION_MAX_WAIT_MS = 15 * 60_000;
/** setTimeout's longest delay; a due time further away is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SchedulerOptions {
  /** The clock of schedule decisions and runs (tests move it). */
  now?: () => number;
  /** How long a run retries a destination that is down before it fails (default 15 minutes). */
  destinationMaxWaitMs?: number;
  destinationBackoff?: RunOptions['destinationBackoff'];
}

interface Slot {
  timer?: NodeJS.Timeout;
  /** When the timer fires (the scheduler's clock). */
  due?: number;
  running?: Promise<RunResult | undefined>;
  stop?: AbortController;
  abort?: AbortController;
  /** The collector's long-running streams being consumed (engine/stream-consumer.ts), while it is enabled. */
  consuming?: Promise<unknown>;
  consumerStop?: AbortController;
  consumerAbort?: AbortController;
}

/**
 * The embedded scheduler behind `tributary serve`: runs each enabled collector every `interval`
 * (measured from the start of its previous run), never two runs of one collector at once, and never
 * before a vendor wait of its account has passed (vendor-wait.ts). Stopping is graceful: runs finish
 * the batch in flight and commit it; after the grace period they are aborted and the batch in flight
 * is abandoned uncommitted (it will be read again).
 */
export class Scheduler {
  private readonly slots = new Map<string, Slot>();
  private stopped = false;
  private readonly runtime: Runtime;
  private readonly now: () => number;
  private readonly runOptions: Partial<RunOptions>;
  onRun?: (r: RunResult) => void;

  constructor(runtime: Runtime, o: SchedulerOptions = {}) {
    this.runtime = runtime;
    this.now = o.now ?? Date.now;
    this.runOptions = {
      now: o.now,
      destinationMaxWaitMs: o.destinationMaxWaitMs ?? DESTINATION_MAX_WAIT_MS,
      destinationBackoff: o.destinationBackoff,
    };
  }

  /** When the collector's next run is due (the scheduler's clock), if it is scheduled. */
  nextRunAt(name: string): number | undefined {
    const slot = this.slots.get(name);
    return slot?.timer ? slot.due : undefined;
  }

  async start(): Promise<void> {
    for (const c of await this.runtime.store.listCollectors()) if (c.enabled) this.schedule(c.name, 0);
  }

  private schedule(name: string, delayMs: number): void {
    if (this.stopped) return;
    const slot = this.slots.get(name) ?? {};
    this.slots.set(name, slot);
    clearTimeout(slot.timer);
    slot.due = this.now() + delayMs;
    slot.timer = setTimeout(() => void this.fire(name), Math.min(delayMs, MAX_TIMER_MS));
  }

  /** When the vendor lets the collector's account be asked again, if that is later than now. */
  private async vendorWaitUntil(account: string | undefined): Promise<number | undefined> {
    if (!account) return undefined;
    const a = await this.runtime.store.getAccount(account);
    const w = a ? await activeVendorWait(this.runtime.store, a.id, this.now()) : undefined;
    return w ? Date.parse(w.until) : undefined;
  }

  private async fire(name: string): Promise<void> {
    const record = await this.runtime.store.getCollector(name);
    if (!record?.enabled || this.stopped) return;
    if (isPushSource(sources[record.source])) {
      // Never run: their events arrive on the ingest endpoint (engine/ingest). A later change of source syncs.
      const slot = this.slots.get(name);
      if (slot) slot.timer = undefined;
      return;
    }
    // Long-running streams are consumed, not run: one consumer while the collector is enabled; a collector
    // with no other streams has no runs.
    const { consumed, all } = consumedStreams(sources[record.source], record.config);
    if (consumed.length) {
      this.startConsuming(name);
      if (all) {
        const slot = this.slots.get(name);
        if (slot) slot.timer = undefined;
        return;
      }
    }
    const waiting = await this.vendorWaitUntil(record.account);
    if (waiting !== undefined) {
      // The vendor told this collector's account (maybe through another collector) to wait.
      if (this.slots.has(name) && !this.stopped) this.schedule(name, waiting - this.now());
      return;
    }
    const started = this.now();
    const result = await this.runNow(name);
    if (!this.slots.has(name)) return; // removed while it ran
    const interval = parseDuration(String((record.config as { interval?: string }).interval ?? '5m'));
    // A run the vendor told to wait is next due at the vendor's time (a wait told to another collector
    // of the account meanwhile is found when the timer fires).
    const told = result?.error?.waitUntil ? Date.parse(result.error.waitUntil) : 0;
    this.schedule(name, Math.max(0, Math.max(started + interval, told) - this.now()));
  }

  /**
   * Starts consuming the collector's long-running streams unless it already is. A consumer that ends on
   * its own (credentials refused) is started again after the collector's interval.
   */
  private startConsuming(name: string): void {
    const slot = this.slots.get(name) ?? {};
    this.slots.set(name, slot);
    if (slot.consuming || this.stopped) return;
    const stop = new AbortController();
    const abort = new AbortController();
    slot.consumerStop = stop;
    slot.consumerAbort = abort;
    slot.consuming = this.runtime
      .consume(name, {
        stop: stop.signal,
        signal: abort.signal,
        now: this.runOptions.now,
        destinationMaxWaitMs: this.runOptions.destinationMaxWaitMs,
        destinationBackoff: this.runOptions.destinationBackoff,
      })
      .then((results) => {
        for (const r of results)
          this.runtime.log.info('stream consumer finished', {
            collector: name,
            run: r.runId,
            status: r.status,
          });
      })
      .catch((err) => {
        const e = toTributaryError(err);
        this.runtime.log.error('stream consumer could not start', {
          collector: name,
          code: e.code,
          message: e.message,
        });
      })
      .finally(() => {
        slot.consuming = undefined;
        if (!stop.signal.aborted && this.slots.get(name) === slot && !this.stopped) {
          const record = this.runtime.store.getCollector(name);
          void record.then((r) => {
            const interval = parseDuration(String((r?.config as { interval?: string })?.interval ?? '5m'));
            if (!slot.timer) this.schedule(name, interval);
          });
        }
      });
  }

  /**
   * The collector was created or changed (API, apply): schedule it now if it is enabled and idle;
   * if it was stopped, cancel its timer and ask its run to stop after the batch in flight.
   */
  sync(name: string): void {
    if (this.stopped) return;
    void this.runtime.store.getCollector(name).then((record) => {
      const slot = this.slots.get(name);
      if (!record?.enabled) {
        if (slot) {
          clearTimeout(slot.timer);
          slot.timer = undefined;
          slot.stop?.abort();
          slot.consumerStop?.abort(); // hands its partitions over after the batch in flight
        }
        return;
      }
      if (!slot?.timer && !slot?.running && !slot?.consuming) this.schedule(name, 0);
    });
  }

  /** The collector is being deleted: cancel its timer and wait for its run to stop. */
  async remove(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) return;
    this.slots.delete(name);
    clearTimeout(slot.timer);
    slot.stop?.abort();
    slot.consumerStop?.abort();
    await Promise.all([slot.running, slot.consuming]);
  }

  /** Starts a run now unless one is in progress; resolves with its result. */
  runNow(name: string): Promise<RunResult | undefined> {
    const slot = this.slots.get(name) ?? {};
    this.slots.set(name, slot);
    if (slot.running) return slot.running;
    slot.stop = new AbortController();
    slot.abort = new AbortController();
    slot.running = this.runtime
      .run(name, { ...this.runOptions, stop: slot.stop.signal, signal: slot.abort.signal })
      .then((r) => {
        this.runtime.log.info('run finished', {
          collector: name,
          source: r.source,
          run: r.runId,
          status: r.status,
          events: r.events,
          pages: r.pages,
          ms: r.durationMs,
        });
        this.onRun?.(r);
        return r;
      })
      .catch((err) => {
        const e = toTributaryError(err);
        if (isVendorWait(e))
          this.runtime.log.info('run not started: waiting for the vendor', {
            collector: name,
            until: e.waitUntil,
          });
        else
          this.runtime.log.error('run could not start', {
            collector: name,
            code: e.code,
            message: e.message,
          });
        return undefined;
      })
      .finally(() => {
        slot.running = undefined;
      });
    return slot.running;
  }

  /** Graceful stop: finish batches in flight within `graceMs`, then abandon them. */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopped = true;
    const running: Promise<unknown>[] = [];
    for (const slot of this.slots.values()) {
      clearTimeout(slot.timer);
      slot.stop?.abort();
      slot.consumerStop?.abort();
      if (slot.running) running.push(slot.running);
      if (slot.consuming) running.push(slot.consuming);
    }
    const grace = setTimeout(() => {
      for (const slot of this.slots.values()) {
        slot.abort?.abort();
        slot.consumerAbort?.abort();
      }
    }, graceMs);
    await Promise.allSettled(running);
    clearTimeout(grace);
  }
}
