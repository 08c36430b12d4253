import { Gauge, Registry } from 'prom-client';
import { isPushSource } from '../core/source.ts';
import { sources } from '../sources/index.ts';
import type { HealthLevel } from './health.ts';
import type { Control } from './service.ts';

const LEVELS: HealthLevel[] = ['OK', 'WARNING', 'ERROR'];

/**
 * The metrics that describe the store's state rather than this process's events (docs/operations.md),
 * read from the store when /metrics is scraped, so that every replica of `serve` answers the same:
 *
 * - tributary_collector_health{collector,level}: 1 for the collector's current health level (as the
 *   console shows it, control/health.ts), 0 for the other two.
 * - tributary_checkpoint_lag_seconds{collector,stream}: now minus the event time the stream's
 *   committed position has reached (CheckpointRecord.positionTime), for enabled pull collectors.
 * - tributary_cluster_jobs_queued: runs waiting in the queue for a worker (cluster mode).
 */
export class StateMetrics {
  readonly registry = new Registry();
  private readonly control: Control;
  private readonly queued?: () => Promise<number>;
  private readonly now: () => number;
  private readonly health = new Gauge({
    name: 'tributary_collector_health',
    help: "1 for the collector's current health level (OK, WARNING, ERROR), 0 for the others.",
    labelNames: ['collector', 'level'] as const,
    registers: [this.registry],
  });
  private readonly lag = new Gauge({
    name: 'tributary_checkpoint_lag_seconds',
    help: "Now minus the event time the stream's committed position has reached (0 right after it caught up), for enabled pull collectors.",
    labelNames: ['collector', 'stream'] as const,
    registers: [this.registry],
  });
  private readonly jobs?: Gauge;

  constructor(control: Control, o: { queued?: () => Promise<number>; now?: () => number } = {}) {
    this.control = control;
    this.queued = o.queued;
    this.now = o.now ?? Date.now;
    if (o.queued)
      this.jobs = new Gauge({
        name: 'tributary_cluster_jobs_queued',
        help: 'Collector runs queued for a worker and not started yet (cluster mode).',
        registers: [this.registry],
      });
  }

  /** Reads the store and sets every gauge anew (a deleted collector's series disappear). */
  async refresh(): Promise<void> {
    const store = this.control.runtime.store;
    const [summaries, records] = await Promise.all([this.control.listCollectors(), store.listCollectors()]);
    const now = this.now();
    const byName = new Map(records.map((r) => [r.name, r]));
    const lags: Array<{ collector: string; stream: string; seconds: number }> = [];
    await Promise.all(
      summaries
        .filter((c) => c.enabled && !isPushSource(sources[c.source]) && byName.has(c.name))
        .map(async (c) => {
          const record = byName.get(c.name)!;
          // A stream the collector no longer reads keeps its old position: it is not behind.
          const streams = (record.config as { streams?: string[] }).streams;
          for (const cp of await store.listCheckpoints(record.id)) {
            if (streams && !streams.includes(cp.stream)) continue;
            const at = cp.positionTime ? Date.parse(cp.positionTime) : Number.NaN;
            if (Number.isFinite(at))
              lags.push({ collector: c.name, stream: cp.stream, seconds: Math.max(0, (now - at) / 1000) });
          }
        }),
    );
    const queued = this.queued ? await this.queued() : undefined;
    this.health.reset();
    for (const c of summaries)
      for (const level of LEVELS)
        this.health.set({ collector: c.name, level }, c.health.level === level ? 1 : 0);
    this.lag.reset();
    for (const l of lags) this.lag.set({ collector: l.collector, stream: l.stream }, l.seconds);
    if (queued !== undefined) this.jobs?.set(queued);
  }
}
