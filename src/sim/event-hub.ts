import type { Clock } from './kit.ts';

/**
 * A partitioned event stream in memory with Azure Event Hubs semantics, for the stream consumer's tests
 * (src/engine/stream-consumer.ts) and the sources built on it. Tests append events, move time, trim by
 * retention and inject faults.
 *
 * What it follows (Azure Event Hubs documentation, "Features and terminology in Azure Event Hubs"):
 * - a hub has a fixed set of partitions named "0" … "n-1"; events in a partition are ordered and each
 *   gets a sequence number, increasing by one from 0, and an enqueued time (sections "Partitions",
 *   "Event consumers");
 * - a reader states where to start by sequence number (section "Checkpointing": the consumer stores
 *   the offset or sequence number it has processed; reading resumes after it) or from the earliest event
 *   still retained;
 * - events older than the retention period are removed (section "Event retention"), so a position older
 *   than the earliest retained event has lost what lay between.
 * Where the docs leave it open: a read returns at most `max` events at once, oldest first, and returns
 * at once with none when nothing is new (the SDK's receive with a short wait).
 */

export interface HubEvent {
  partition: string;
  sequenceNumber: number;
  enqueuedTime: string;
  /** Event Hubs' offset: the event's byte position in the partition (an opaque string to readers). */
  offset: number;
  body: unknown;
}

export class EventHubSim {
  private readonly clock: Clock;
  private readonly logs: HubEvent[][];
  private readonly next: number[];
  private readonly bytes: number[];
  /** The partition the next event without one goes to (round robin, as senders without a key spread). */
  private rr = 0;
  private readonly faults: Array<{ times: number; error: Error; partition?: string }> = [];
  /** Reads served, by partition. */
  readonly reads: Record<string, number> = {};

  constructor(o: { partitions: number; clock?: Clock }) {
    this.clock = o.clock ?? Date.now;
    this.logs = Array.from({ length: o.partitions }, () => []);
    this.next = Array.from({ length: o.partitions }, () => 0);
    this.bytes = Array.from({ length: o.partitions }, () => 0);
  }

  partitionIds(): string[] {
    return this.logs.map((_, i) => String(i));
  }

  /** Appends events to a partition (round robin over all when `partition` is not given). */
  send(bodies: unknown[], partition?: string): HubEvent[] {
    const out: HubEvent[] = [];
    bodies.forEach((body) => {
      const p = partition === undefined ? this.rr++ % this.logs.length : Number(partition);
      const e: HubEvent = {
        partition: String(p),
        sequenceNumber: this.next[p]++,
        enqueuedTime: new Date(this.clock()).toISOString(),
        offset: this.bytes[p],
        body,
      };
      this.bytes[p] += Buffer.byteLength(typeof body === 'string' ? body : (JSON.stringify(body) ?? ''));
      this.logs[p].push(e);
      out.push(e);
    });
    return out;
  }

  /** Drops every event enqueued before `beforeIso` (retention). */
  expire(beforeIso: string): void {
    for (let i = 0; i < this.logs.length; i++)
      this.logs[i] = this.logs[i].filter((e) => e.enqueuedTime >= beforeIso);
  }

  /** Drops the first `n` events of a partition (retention, without moving time). */
  trim(partition: string, n: number): void {
    this.logs[Number(partition)].splice(0, n);
  }

  /** The next `times` reads (of `partition`, or any) fail with `error`. */
  fail(times = 1, error: Error = new Error('simulated receive failure'), partition?: string): void {
    this.faults.push({ times, error, partition });
  }

  /** Events after sequence number `after` (all retained when undefined), at most `max`, oldest first. */
  read(partition: string, after: number | undefined, max: number): { events: HubEvent[]; earliest?: number } {
    this.reads[partition] = (this.reads[partition] ?? 0) + 1;
    const f = this.faults.find(
      (x) => x.times > 0 && (x.partition === undefined || x.partition === partition),
    );
    if (f) {
      f.times--;
      throw f.error;
    }
    const log = this.logs[Number(partition)];
    if (!log) throw new Error(`no partition ${partition}`);
    const events = log.filter((e) => after === undefined || e.sequenceNumber > after).slice(0, max);
    return { events, earliest: log[0]?.sequenceNumber };
  }

  /** The events a partition retains, oldest first (no fault, not counted as a read). */
  retained(partition: string): HubEvent[] {
    return this.logs[Number(partition)] ?? [];
  }

  /** Every event still retained, across partitions. */
  all(): HubEvent[] {
    return this.logs.flat();
  }
}
