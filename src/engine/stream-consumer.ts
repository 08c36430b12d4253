import type { Destination } from '../core/destination.ts';
import { type Envelope, lineBytes, makeEnvelope } from '../core/envelope.ts';
import { gapWarning, type TributaryError, toTributaryError } from '../core/errors.ts';
import { type Logger, type ReadContext, type SourceDef, type StreamDef, streamsOf } from '../core/source.ts';
import { isLeaseLost, type PartitionRecord, type Store } from '../core/store.ts';
import type {
  AckedMessage,
  AckSource,
  ConsumerSource,
  PartitionedSource,
  StreamRecord,
} from '../core/stream-source.ts';
import { withFields } from './log.ts';
import { metrics } from './metrics.ts';
import type { RateLimits } from './rate-limit.ts';
import { DeliveryOutcomes, deliver, type ResolvedCollector, type RunOptions, streamHttp } from './runner.ts';
import { sleep } from './sleep.ts';

/**
 * The stream consumer (docs/architecture.md, "Stream consumers"): a long-running reader — not a bounded
 * run — of a vendor stream that never ends. Two kinds, as the vendors have them:
 *
 * - `partitions` (Event Hubs, Kafka, Kinesis): the stream is split into partitions, each read from a
 *   position the consumer keeps. Each partition has one owner at a time, under a lease in the store with a
 *   fencing token; its position moves only after every destination acknowledged the records before it,
 *   and only while the token is current (a stale owner's commit is refused). Consumers of the same stream
 *   — in cluster mode, on several workers — announce themselves and split the partitions evenly; one that
 *   stops (or joins) hands partitions over after the batch in flight is committed.
 * - `acks` (Pub/Sub, SQS): the vendor holds the position and spreads messages among consumers; a message
 *   is acknowledged only after every destination acknowledged it. A crash before the ack makes the vendor
 *   redeliver it, with the same id.
 *
 * The source declares the vendor facts (how to list partitions, read after a position, pull and ack);
 * this file owns ownership, delivery, commits and hand-over.
 */

export type { AckedMessage, AckSource, ConsumerSource, PartitionedSource, StreamRecord };

/** What the consumer delivers for: a collector's stream and its destinations. */
export interface ConsumerTarget {
  /** The collector's id (store keys). */
  id: string;
  name: string;
  /** The source's id, stamped on envelopes. */
  source: string;
  stream: string;
  destinations: Destination[];
  sitename?: string;
  timezone?: string;
}

export interface StreamConsumerOptions {
  target: ConsumerTarget;
  source: ConsumerSource;
  store: Store;
  /** This consumer's id, unique among the processes sharing the stream (a worker id and pid). */
  owner: string;
  log: Logger;
  /** Hard stop: the batch in flight is abandoned uncommitted; leases lapse on their own. */
  signal?: AbortSignal;
  /** Graceful stop: the batch in flight is delivered and committed, partitions are released (handed over). */
  stop?: AbortSignal;
  /** How long a partition lease (and the consumer's announcement) lasts unless renewed (default 30 s). */
  leaseTtlMs?: number;
  /** The wait after a pass that found nothing new (default 1 s). */
  idleMs?: number;
  /** Records read at once (default 500). */
  maxRecords?: number;
  /** The wait after a failed read or delivery before trying again (default 5 s). */
  errorBackoffMs?: number;
  /**
   * How long reads may keep failing (nothing read in between) before the consumer ends `failed`, so that
   * health sees it (default 15 min); the scheduler or worker starts it again.
   */
  failingMaxMs?: number;
  destinationBackoff?: { baseMs: number; maxMs: number };
  /** How long a destination that is down is retried before the batch is read again later (default 15 min). */
  destinationMaxWaitMs?: number;
  now?: () => number;
  /** After each commit (tests and callers wait on this instead of sleeping). */
  onCommit?: (c: { partition?: string; events: number; position?: unknown }) => void;
  /** After the partitions owned changed. */
  onOwnership?: (partitions: string[]) => void;
}

export interface ConsumerResult {
  runId: string;
  events: number;
  status: 'succeeded' | 'failed' | 'cancelled';
  error?: TributaryError;
}

interface Owned {
  token: number;
  position: unknown;
}

/**
 * Runs until `stop` or `signal`: a run record (status `running`) stays open while it consumes, its counters
 * growing with every commit; it ends `succeeded` after a graceful stop, `cancelled` after a hard one,
 * `failed` on a config error (credentials refused), which also ends consuming.
 */
export async function consumeStream(o: StreamConsumerOptions): Promise<ConsumerResult> {
  const c = new Consumer(o);
  return c.run();
}

class Consumer {
  private readonly o: StreamConsumerOptions;
  private readonly t: ConsumerTarget;
  private readonly log: Logger;
  private readonly ttl: number;
  private readonly now: () => number;
  private readonly signal: AbortSignal;
  /** Either stop: ends waits early. */
  private readonly anyStop: AbortSignal;
  private readonly owned = new Map<string, Owned>();
  private readonly outcomes: DeliveryOutcomes;
  private readonly runId = crypto.randomUUID();
  private events = 0;
  private keepAlive?: ReturnType<typeof setInterval>;
  private lastBalance = Number.NEGATIVE_INFINITY;
  /** Since when reads have failed with nothing read in between. */
  private failingSince?: number;

  constructor(o: StreamConsumerOptions) {
    this.o = o;
    this.t = o.target;
    this.ttl = o.leaseTtlMs ?? 30_000;
    this.now = o.now ?? Date.now;
    this.signal = o.signal ?? new AbortController().signal;
    this.anyStop = o.stop ? AbortSignal.any([this.signal, o.stop]) : this.signal;
    this.log = withFields(o.log, {
      collector: this.t.name,
      source: this.t.source,
      stream: this.t.stream,
      run: this.runId,
      consumer: o.owner,
    });
    this.outcomes = new DeliveryOutcomes(o.store, this.t.id, this.now);
  }

  private get stopping(): boolean {
    return this.anyStop.aborted;
  }

  async run(): Promise<ConsumerResult> {
    const { store } = this.o;
    await store.startRun({
      id: this.runId,
      collectorId: this.t.id,
      startedAt: new Date(this.now()).toISOString(),
      status: 'running',
      events: 0,
      pages: 0,
      bytes: 0,
      deadLetters: 0,
      runner: this.o.owner,
    });
    let error: TributaryError | undefined;
    try {
      if (this.o.source.kind === 'partitions') {
        await store.joinStream(this.t.id, this.t.stream, this.o.owner, this.ttl);
        // Leases and the announcement are kept alive apart from the loop, which may wait long on a destination.
        this.keepAlive = setInterval(() => void this.renew(), Math.max(10, Math.floor(this.ttl / 3)));
        await this.consumePartitions(this.o.source);
      } else await this.consumeAcks(this.o.source);
    } catch (err) {
      if (!this.signal.aborted) {
        error = toTributaryError(err);
        this.log.error('stream consumer stopped', { code: error.code, message: error.message });
        await store.recordError(this.t.id, this.t.stream, error.toJSON()).catch(() => {});
      }
    } finally {
      clearInterval(this.keepAlive);
      await this.handOverAll();
      await this.o.source
        .close?.()
        .catch((err: Error) => this.log.warn('could not close the stream source', { message: err.message }));
    }
    const status = error ? 'failed' : this.signal.aborted ? 'cancelled' : 'succeeded';
    await store.finishRun(this.runId, status, error?.toJSON());
    metrics.runs.inc({ collector: this.t.name, result: status });
    return { runId: this.runId, events: this.events, status, error };
  }

  // -- ownership ----------------------------------------------------------------------------------

  private async renew(): Promise<void> {
    const { store } = this.o;
    try {
      await store.joinStream(this.t.id, this.t.stream, this.o.owner, this.ttl);
      for (const [p, own] of this.owned) {
        const r = await store.renewPartition(this.t.id, this.t.stream, p, own.token, this.ttl);
        if (!r && this.owned.get(p) === own) this.lose(p, 'its lease expired');
      }
    } catch (err) {
      this.log.warn('could not renew partition leases', { message: (err as Error).message });
    }
  }

  private lose(partition: string, why: string): void {
    this.owned.delete(partition);
    this.forget(partition);
    this.log.warn('partition lost', { partition, reason: why });
    this.o.onOwnership?.([...this.owned.keys()].sort());
  }

  /**
   * Takes or gives up partitions so that each live consumer owns its share: with P partitions and M
   * consumers (sorted by id), the first P mod M own ⌈P/M⌉ and the others ⌊P/M⌋. A consumer above its share
   * releases the extra partitions between batches (nothing in flight); one below takes free or expired ones.
   */
  private async balance(source: PartitionedSource): Promise<void> {
    const { store } = this.o;
    this.lastBalance = this.now();
    const partitions = [...(await source.partitions({ signal: this.signal }))].sort();
    let members = await store.listStreamMembers(this.t.id, this.t.stream);
    if (!members.includes(this.o.owner)) {
      await store.joinStream(this.t.id, this.t.stream, this.o.owner, this.ttl);
      members = [...members, this.o.owner].sort();
    }
    const i = members.indexOf(this.o.owner);
    const share =
      Math.floor(partitions.length / members.length) + (i < partitions.length % members.length ? 1 : 0);
    let changed = false;
    for (const p of [...this.owned.keys()]) {
      if (!partitions.includes(p)) {
        this.owned.delete(p);
        this.forget(p);
        changed = true;
      }
    }
    const extra = [...this.owned.keys()].sort().slice(share);
    for (const p of extra) {
      await this.release(p);
      changed = true;
    }
    if (this.owned.size < share) {
      const rows = new Map(
        (await store.listPartitions(this.t.id, this.t.stream)).map((r) => [r.partition, r]),
      );
      const at = new Date(this.now()).toISOString();
      const free = (r: PartitionRecord | undefined) =>
        !r?.owner || (r.expiresAt !== undefined && r.expiresAt <= at);
      // Free partitions first; then expired ones (the store decides, on its clock, whether they are).
      const candidates = partitions
        .filter((p) => !this.owned.has(p))
        .sort((a, b) => Number(!free(rows.get(a))) - Number(!free(rows.get(b))));
      for (const p of candidates) {
        if (this.owned.size >= share) break;
        const got = await store.acquirePartition(this.t.id, this.t.stream, p, this.o.owner, this.ttl);
        if (got) {
          this.owned.set(p, { token: got.token, position: got.position });
          this.log.info('partition acquired', { partition: p, token: got.token });
          changed = true;
        }
      }
    }
    if (changed) this.o.onOwnership?.([...this.owned.keys()].sort());
  }

  /** The source may stop reading a partition no longer owned. */
  private forget(p: string): void {
    if (this.o.source.kind === 'partitions')
      void this.o.source
        .release?.(p)
        .catch((err: Error) =>
          this.log.warn('could not stop reading a partition', { partition: p, message: err.message }),
        );
  }

  private async release(p: string): Promise<void> {
    const own = this.owned.get(p);
    if (!own) return;
    this.owned.delete(p);
    this.forget(p);
    try {
      await this.o.store.releasePartition(this.t.id, this.t.stream, p, own.token);
      this.log.info('partition handed over', { partition: p });
    } catch (err) {
      this.log.warn('could not release a partition; its lease lapses instead', {
        partition: p,
        message: (err as Error).message,
      });
    }
  }

  private async handOverAll(): Promise<void> {
    if (this.o.source.kind !== 'partitions') return;
    // After a hard stop the store may be what failed; the leases then lapse on their own.
    for (const p of [...this.owned.keys()]) await this.release(p);
    await this.o.store.leaveStream(this.t.id, this.t.stream, this.o.owner).catch(() => {});
    this.o.onOwnership?.([]);
  }

  // -- consuming ----------------------------------------------------------------------------------

  private async consumePartitions(source: PartitionedSource): Promise<void> {
    const max = this.o.maxRecords ?? 500;
    while (!this.stopping) {
      if (this.now() - this.lastBalance >= this.ttl / 3) {
        try {
          await this.balance(source);
        } catch (err) {
          // The store or the vendor's partition list failed: the partitions owned stay (their leases are
          // renewed apart), and balancing is tried again after the pause.
          await this.failed(err, {});
        }
      }
      let found = 0;
      for (const [p, own] of [...this.owned]) {
        if (this.stopping) break;
        if (this.owned.get(p) !== own) continue;
        let read: Awaited<ReturnType<PartitionedSource['read']>>;
        try {
          read = await source.read(p, own.position, { max, signal: this.signal });
          this.failingSince = undefined;
        } catch (err) {
          await this.failed(err, { partition: p });
          continue;
        }
        if (read.gap)
          await this.o.store.recordError(
            this.t.id,
            this.t.stream,
            gapWarning(
              'partition_gap',
              `Partition ${p}: ${read.gap}`,
              'Records past the vendor retention are lost: keep the consumer running, or raise the retention.',
            ).toJSON(),
          );
        if (!read.records.length && samePosition(read.position, own.position)) continue;
        // A read that moved the position found something even when it kept no record (a table filter, an
        // empty body): the consumer reads on at once instead of idling behind a busy partition.
        found++;
        await this.deliverAndCommit(read.records, async (counts) => {
          await this.o.store.commitPartition({
            collectorId: this.t.id,
            stream: this.t.stream,
            partition: p,
            position: read.position ?? null,
            token: own.token,
            runId: this.runId,
            ...counts,
          });
          own.position = read.position;
          this.o.onCommit?.({ partition: p, events: counts.events, position: read.position });
        }).catch(async (err) => {
          if (isLeaseLost(err)) {
            // Another consumer owns it now and re-reads from the last committed position: the records just
            // delivered go again, with the same ids.
            if (this.owned.get(p) === own) this.lose(p, 'a commit was refused (fenced)');
            return;
          }
          await this.failed(err, { partition: p });
        });
      }
      if (!found && !this.stopping) await this.idle(this.o.idleMs ?? 1000);
    }
  }

  private async consumeAcks(source: AckSource): Promise<void> {
    const max = this.o.maxRecords ?? 500;
    while (!this.stopping) {
      let messages: AckedMessage[];
      try {
        // Either stop ends a waiting pull: messages it had leased come back after their deadline.
        messages = await source.pull({ max, signal: this.anyStop });
        this.failingSince = undefined;
      } catch (err) {
        if (this.stopping) break; // the stop ended the pull: nothing to report
        await this.failed(err, {});
        continue;
      }
      if (!messages.length) {
        await this.idle(this.o.idleMs ?? 1000);
        continue;
      }
      const release = this.keepLeased(source, messages);
      await this.deliverAndCommit(messages, async (counts) => {
        await release();
        // The counts first, then the ack: a crash between them redelivers (same ids), never loses.
        await this.o.store.commitBatch({
          collectorId: this.t.id,
          stream: this.t.stream,
          checkpoint: null, // the vendor holds the position
          runId: this.runId,
          pages: 1,
          ...counts,
        });
        try {
          await source.ack(
            messages.map((m) => m.ackId),
            { signal: this.signal },
          );
        } catch (err) {
          this.log.warn(
            'could not acknowledge delivered messages; the vendor will redeliver them (same ids)',
            {
              message: (err as Error).message,
            },
          );
        }
        this.o.onCommit?.({ events: counts.events });
      })
        .catch((err) => this.failed(err, {}))
        .finally(release);
    }
  }

  /**
   * While a pulled batch is delivered, its messages' lease is extended to `extendSeconds` at once — the
   * vendor's own deadline (Pub/Sub's subscription default is 10 s) may be shorter than a delivery — and
   * again every half `extendSeconds` (at most for MAX_LEASE_MS), so a slow destination does not hand them
   * to another reader. Returns the stop, which also waits for an extension in flight, so that none
   * follows the acknowledge. A failed extension is logged: the vendor may then redeliver the messages
   * (same ids), which loses nothing.
   */
  private keepLeased(source: AckSource, messages: AckedMessage[]): () => Promise<void> {
    const seconds = source.extendSeconds;
    const extend = source.extend?.bind(source);
    if (!extend || !seconds) return async () => {};
    const ackIds = messages.map((m) => m.ackId);
    const started = this.now();
    let inFlight: Promise<void> = Promise.resolve();
    const renew = () => {
      inFlight = extend(ackIds, seconds, { signal: this.signal }).catch((err) =>
        this.log.warn('could not extend the lease of messages being delivered', {
          message: (err as Error).message,
        }),
      );
    };
    renew();
    const timer = setInterval(
      () => {
        if (this.signal.aborted || this.now() - started > MAX_LEASE_MS) {
          clearInterval(timer);
          return;
        }
        renew();
      },
      Math.max(1000, (seconds * 1000) / 2),
    );
    timer.unref();
    return () => {
      clearInterval(timer);
      return inFlight;
    };
  }

  /** Wraps, delivers to every destination, then commits; nothing is committed unless all acknowledged. */
  private async deliverAndCommit(
    records: StreamRecord[],
    commit: (counts: {
      events: number;
      bytes: number;
      hourly: Record<string, number>;
      lastEventTime?: string;
      deadLetters: Array<{ reason: string; raw: string }>;
    }) => Promise<void>,
  ): Promise<void> {
    const ingestedAt = new Date(this.now()).toISOString();
    const ctx = {
      source: this.t.source,
      stream: this.t.stream,
      collector: this.t.name,
      sitename: this.t.sitename,
      timezone: this.t.timezone,
    };
    const envelopes: Envelope[] = records.map((r) =>
      makeEnvelope(r.stream ? { ...ctx, stream: r.stream } : ctx, r.raw, r.id, r.time, ingestedAt),
    );
    let bytes = 0;
    for (const e of envelopes) bytes += lineBytes(e) + 1;
    const labels = { collector: this.t.name, source: this.t.source, stream: this.t.stream };
    const refused = envelopes.length
      ? await deliver(
          this.t,
          envelopes,
          bytes,
          labels,
          {
            store: this.o.store,
            log: this.log,
            destinationBackoff: this.o.destinationBackoff,
            destinationMaxWaitMs: this.o.destinationMaxWaitMs ?? 15 * 60_000,
          },
          this.signal,
          this.now,
          this.outcomes,
        )
      : [];
    // A hard stop during delivery still commits (the destinations have the events); after, nothing more.
    await commit({
      events: envelopes.length,
      bytes,
      hourly: envelopes.length ? { [`${ingestedAt.slice(0, 13)}:00:00.000Z`]: envelopes.length } : {},
      lastEventTime: envelopes.length ? ingestedAt : undefined,
      deadLetters: refused,
    });
    metrics.deadLettered(this.t.name, refused);
    this.events += envelopes.length;
  }

  /**
   * A failed read or delivery: a config error ends consuming, and so do reads failing for `failingMaxMs`;
   * anything else is recorded and retried after a pause.
   */
  private async failed(err: unknown, where: { partition?: string }): Promise<void> {
    if (this.signal.aborted) throw err;
    const e = toTributaryError(err);
    if (e.type === 'config') throw e;
    const now = this.now();
    this.failingSince ??= now;
    if (!e.destination && now - this.failingSince >= (this.o.failingMaxMs ?? 15 * 60_000)) throw e;
    this.log.warn('stream consumer: will try again', { ...where, code: e.code, message: e.message });
    await this.o.store.recordError(this.t.id, this.t.stream, e.toJSON()).catch(() => {});
    await this.idle(this.o.errorBackoffMs ?? 5000);
  }

  private async idle(ms: number): Promise<void> {
    try {
      await sleep(ms, this.anyStop);
    } catch {
      // stopped while waiting
    }
  }
}

/** A long-running stream's definition: what the source declares is how to reach the vendor's stream. */
export function consumerStream<S, A>(d: {
  title: string;
  description?: string;
  consume(ctx: ReadContext<S, A, undefined>): ConsumerSource;
}): StreamDef<S, A> {
  return {
    ...d,
    // Bounded runs skip a consumer stream (runner.ts); this is never called by them.
    read: async function* () {},
  };
}

/** The collector's streams that a stream consumer reads (declared with `consume`). */
export const consumerStreamsOf = (source: SourceDef, streams: string[]): string[] =>
  streams.filter((s) => source.streams[s]?.consume !== undefined);

/**
 * Of a stored collector's streams (its definition's `streams`, else its source's defaults), those a stream
 * consumer reads, and whether that is all of them (then the collector has no bounded runs).
 */
export function consumedStreams(
  source: SourceDef | undefined,
  config: Record<string, unknown>,
): { consumed: string[]; all: boolean } {
  if (!source) return { consumed: [], all: false };
  const c = config as { settings?: unknown; streams?: string[] };
  const streams = streamsOf(source, c.settings, c.streams);
  const consumed = consumerStreamsOf(source, streams);
  return { consumed, all: consumed.length > 0 && consumed.length === streams.length };
}

/**
 * Consumes every long-running stream of a collector until `stop` (graceful: partitions handed over) or
 * `signal`, one consumer per stream, each with the HTTP client of the collector's account.
 */
export async function consumeCollector(
  c: ResolvedCollector,
  o: Pick<RunOptions, 'store' | 'log' | 'http' | 'destinationBackoff' | 'destinationMaxWaitMs' | 'now'> & {
    rateLimits: RateLimits;
    owner: string;
    signal?: AbortSignal;
    stop?: AbortSignal;
    consumer?: Partial<StreamConsumerOptions>;
  },
): Promise<ConsumerResult[]> {
  const signal = o.signal ?? new AbortController().signal;
  const now = o.now ?? Date.now;
  return Promise.all(
    consumerStreamsOf(c.source, c.streams).map((stream) => {
      const log = withFields(o.log, { collector: c.name, source: c.source.id, stream });
      const ctx: ReadContext<unknown, unknown, undefined> = {
        collector: c.name,
        stream,
        settings: c.settings,
        account: c.account,
        checkpoint: undefined,
        http: streamHttp(c, o, signal, log, now),
        window: c.window,
        signal,
        log,
        now,
        warn: (w) => {
          log.warn(w.message, { code: w.code });
          void o.store.recordError(c.id, stream, w.toJSON());
        },
      };
      return consumeStream({
        target: {
          id: c.id,
          name: c.name,
          source: c.source.id,
          stream,
          destinations: c.destinations,
          sitename: c.sitename,
          timezone: c.timezone,
        },
        source: c.source.streams[stream]!.consume!(ctx),
        store: o.store,
        owner: o.owner,
        log: o.log,
        signal,
        stop: o.stop,
        now: o.now,
        destinationBackoff: o.destinationBackoff,
        destinationMaxWaitMs: o.destinationMaxWaitMs,
        ...o.consumer,
      });
    }),
  );
}

/** How long a batch's lease is extended at most: a delivery that takes longer lets the vendor redeliver. */
const MAX_LEASE_MS = 15 * 60_000;

const samePosition = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
