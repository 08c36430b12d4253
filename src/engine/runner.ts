import type { Destination, SendResult } from '../core/destination.ts';
import { type Envelope, encodeLine, lineBytes, makeEnvelope } from '../core/envelope.ts';
import {
  dataError,
  type ErrorInfo,
  TributaryError,
  toTributaryError,
  transientError,
} from '../core/errors.ts';
import type {
  AccountKind,
  Batch,
  Logger,
  ReadContext,
  SnapshotLedger,
  SourceDef,
  WindowOptions,
} from '../core/source.ts';
import type { Store } from '../core/store.ts';
import { Http, type HttpClientOptions } from './http.ts';
import { withFields } from './log.ts';
import { metrics } from './metrics.ts';
import type { RateLimits } from './rate-limit.ts';
import { backoff, sleep } from './sleep.ts';
import { activeVendorWait, vendorWaitError } from './vendor-wait.ts';

/** Everything a run needs, resolved and validated (config file, API or store). */
export interface ResolvedCollector {
  id: string;
  name: string;
  source: SourceDef;
  accountKind: AccountKind;
  /** The account's fields with secrets decrypted; lives only in memory. */
  account: unknown;
  /** Rate limits and token caches are per account. */
  accountKey: string;
  /** The account's name, for metrics labels (docs/operations.md). */
  accountName?: string;
  /** The account's own request budget, when it overrides its kind's. */
  rateLimit?: { perSecond: number; burst: number };
  /** Where the account's credentials may be sent (engine/credential-origins.ts); every request is checked. */
  credentialOrigins?: HttpClientOptions['credentialOrigins'];
  settings: unknown;
  streams: string[];
  destinations: Destination[];
  sitename?: string;
  timezone?: string;
  window: WindowOptions;
  /**
   * The most batches (vendor pages, file slices) delivered and committed together: batches already read
   * ahead while an earlier one was being delivered go out as one destination write and one checkpoint
   * commit, each fsynced once (group commit). 1: every batch is delivered and committed on its own. A
   * crash re-delivers at most this many batches, with the same ids; nothing acknowledged is lost either
   * way. Default `DEFAULT_BATCHES_PER_COMMIT` (1: the documented promise that a crash re-delivers at most
   * the one batch in flight holds unless a collector trades it for fewer syncs).
   */
  batchesPerCommit?: number;
}

/** Batches delivered and committed together at most, by default (docs/architecture.md, "The run"). */
export const DEFAULT_BATCHES_PER_COMMIT = 1;

export interface RunOptions {
  store: Store;
  log: Logger;
  rateLimits: RateLimits;
  /** Hard stop: abandons the batch in flight without committing it. */
  signal?: AbortSignal;
  /** Soft stop: the batch in flight is delivered and committed, then the run ends. */
  stop?: AbortSignal;
  now?: () => number;
  http?: Partial<HttpClientOptions>;
  /**
   * How long to keep retrying a destination that is down before the run fails (default: forever; the
   * schedulers of `serve` and `worker` give up after 15 minutes), measured on `now`.
   */
  destinationMaxWaitMs?: number;
  destinationBackoff?: { baseMs: number; maxMs: number };
  runner?: string;
}

export interface StreamResult {
  stream: string;
  events: number;
  pages: number;
  error?: ErrorInfo;
}

export interface RunResult {
  runId: string;
  collector: string;
  /** The source's id (logs, metrics). */
  source: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  events: number;
  pages: number;
  bytes: number;
  deadLetters: number;
  durationMs: number;
  streams: StreamResult[];
  error?: ErrorInfo;
}

/**
 * Ids delivered lately in this run: a vendor that repeats events across neighbouring pages or files
 * (offset pagination drifting as events arrive, overlapping files) has them de-duplicated. At least the
 * last 25,000 ids and at most 50,000 are remembered, in two generations: new ids go into the current one,
 * and when it is full it becomes the previous one (the one before is dropped whole). That reaches back
 * dozens of pages at ≈100 bytes an id; a repeat from further back is delivered again with the same id,
 * which at-least-once delivery allows. (Two sets that are never deleted from cost about half of one set
 * that forgets its oldest id at every add.)
 */
class RecentIds {
  private current = new Set<string>();
  private previous = new Set<string>();
  private readonly generation: number;
  constructor(max = 50_000) {
    this.generation = Math.max(1, Math.floor(max / 2));
  }
  /** True the first time an id is seen (among the last `max / 2` at least). */
  add(id: string): boolean {
    if (this.previous.has(id)) return false;
    const before = this.current.size;
    this.current.add(id); // one lookup, not has() and then add()
    if (this.current.size === before) return false;
    if (this.current.size >= this.generation) {
      this.previous = this.current;
      this.current = new Set();
    }
    return true;
  }
}

/** A batch as read and wrapped, waiting for delivery. */
interface Wrapped {
  envelopes: Envelope[];
  ingestedAt: string;
  /** The newest event time in the batch, never later than `ingestedAt` (a vendor clock ahead of ours). */
  newest?: string;
  deadLetters: Array<{ reason: string; raw: string }>;
  checkpoint: unknown;
  pages: number;
  committed?: () => Promise<void>;
  release?: () => void;
}

/** Batches read ahead of the one being delivered (each is at most one vendor page or file slice). */
const READ_AHEAD = 4;

const hourOf = (iso: string) => `${iso.slice(0, 13)}:00:00.000Z`;

/**
 * Delivery outcomes for health (docs/control-plane.md): every failed delivery to a destination is
 * recorded as it happens, while the runner still retries; the first acknowledgement after failures
 * ends the destination's streak. The streaks on record are read once, at the run's first delivery (a
 * run with nothing to deliver reads nothing); acknowledgements then cost nothing while none is failing.
 */
export class DeliveryOutcomes {
  private readonly store: Store;
  private readonly collectorId: string;
  private failing?: Promise<Set<string>>;
  private readonly now: () => number;

  constructor(store: Store, collectorId: string, now: () => number) {
    this.store = store;
    this.collectorId = collectorId;
    this.now = now;
  }

  private onRecord(): Promise<Set<string>> {
    this.failing ??= this.store
      .listDeliveryFailures(this.collectorId)
      .then((list) => new Set(list.map((f) => f.destination)));
    return this.failing;
  }

  async failed(destination: string, e: TributaryError, gaveUp: boolean): Promise<void> {
    (await this.onRecord()).add(destination);
    await this.store.recordDeliveryFailure({
      collectorId: this.collectorId,
      destination,
      error: e.toJSON(),
      at: new Date(this.now()).toISOString(),
      gaveUp,
    });
  }

  async acknowledged(destination: string): Promise<void> {
    if (!(await this.onRecord()).delete(destination)) return;
    await this.store.clearDeliveryFailures(this.collectorId, destination);
  }
}

/**
 * One run of a collector (docs/architecture.md, "The run"): for each enabled stream, read batches from the checkpoint, wrap
 * them in envelopes, deliver to every destination, and only after every destination acknowledged,
 * commit the batch's checkpoint. A crash at any point re-delivers at most the batch in flight.
 *
 * A run does not start while the vendor told the collector's account to wait (vendor-wait.ts): it
 * throws `vendor_wait` before recording anything. A vendor answer asking for a longer wait than the
 * HTTP client sleeps through ends the run and stores that wait for the account.
 */
export async function runCollector(c: ResolvedCollector, o: RunOptions): Promise<RunResult> {
  const now = o.now ?? Date.now;
  const waiting = await activeVendorWait(o.store, c.accountKey, now());
  if (waiting) throw vendorWaitError(c.name, waiting);
  const started = now();
  const runId = crypto.randomUUID();
  // Every line of the run names its collector, source and run (and, within a stream, the stream).
  const log = withFields(o.log, { collector: c.name, source: c.source.id, run: runId });
  const signal = o.signal ?? new AbortController().signal;
  const outcomes = new DeliveryOutcomes(o.store, c.id, now);
  const result: RunResult = {
    runId,
    collector: c.name,
    source: c.source.id,
    status: 'succeeded',
    events: 0,
    pages: 0,
    bytes: 0,
    deadLetters: 0,
    durationMs: 0,
    streams: [],
  };
  await o.store.startRun({
    id: runId,
    collectorId: c.id,
    startedAt: new Date(started).toISOString(),
    status: 'running',
    events: 0,
    pages: 0,
    bytes: 0,
    deadLetters: 0,
    runner: o.runner,
  });

  for (const stream of c.streams) {
    if (signal.aborted || o.stop?.aborted) break;
    // A long-running stream is the stream consumer's (stream-consumer.ts), never part of a bounded run.
    if (c.source.streams[stream]?.consume) continue;
    const sr: StreamResult = { stream, events: 0, pages: 0 };
    result.streams.push(sr);
    try {
      await runStream(
        c,
        stream,
        { ...o, log: withFields(log, { stream }) },
        runId,
        signal,
        now,
        sr,
        result,
        outcomes,
      );
    } catch (err) {
      if (signal.aborted) break;
      const e = toTributaryError(err);
      sr.error = e.toJSON();
      result.error ??= sr.error;
      result.status = 'failed';
      log.error('stream failed', {
        stream,
        type: e.type,
        code: e.code,
        message: e.message,
      });
      await o.store.recordError(c.id, stream, e.toJSON());
      if (e.status === 401) break; // rejected credentials fail every stream alike; other errors may be one stream's
      if (e.waitUntil && !e.destination) {
        // The vendor asked the account to pause beyond what a run waits: no run of its collectors
        // starts before then, this one's other streams included.
        await recordVendorWait(c, { ...o, log }, e, now);
        break;
      }
    }
  }
  if (signal.aborted && result.status === 'succeeded') result.status = 'cancelled';
  result.durationMs = now() - started;
  await o.store.finishRun(runId, result.status, result.error);
  metrics.runs.inc({ collector: c.name, result: result.status });
  return result;
}

async function recordVendorWait(
  c: ResolvedCollector,
  o: RunOptions,
  e: TributaryError,
  now: () => number,
): Promise<void> {
  o.log.warn('the vendor asked to wait; runs of the account wait until then', {
    code: e.code,
    until: e.waitUntil,
  });
  try {
    await o.store.putVendorWait({
      accountId: c.accountKey,
      until: e.waitUntil!,
      error: e.toJSON(),
      collector: c.name,
      at: new Date(now()).toISOString(),
    });
  } catch (err) {
    o.log.error('could not record a vendor wait', { message: (err as Error).message });
  }
}

/** The HTTP client of one stream of a collector: its account's credentials, budget and origins. */
export function streamHttp(
  c: ResolvedCollector,
  o: Pick<RunOptions, 'rateLimits' | 'http'>,
  signal: AbortSignal,
  log: Logger,
  now: () => number,
): Http {
  const http: Http = new Http({
    vendor: c.source.title,
    authorize: (headers, refresh, url, req) =>
      c.accountKind.authorize(c.account, headers, { refresh, http, url, ...req }),
    credentialOrigins: c.credentialOrigins,
    limiter: o.rateLimits.for(c.accountKey, c.rateLimit ?? c.accountKind.rateLimit),
    endpointLimiter: (url) => o.rateLimits.forEndpoint(c.accountKey, c.accountKind.endpointRateLimit?.(url)),
    signal,
    log,
    explain: c.source.explain,
    rateLimited: c.source.rateLimited,
    rateLimitedBody: c.source.rateLimitedBody,
    credentialsExpired: (ctx) => c.accountKind.credentialsExpired?.(ctx) ?? false,
    now,
    userAgent: 'tributary/0.1',
    metricLabels: { source: c.source.id, account: c.accountName ?? '' },
    ...o.http,
  });
  return http;
}

async function runStream(
  c: ResolvedCollector,
  stream: string,
  o: RunOptions,
  runId: string,
  signal: AbortSignal,
  now: () => number,
  sr: StreamResult,
  result: RunResult,
  outcomes: DeliveryOutcomes,
): Promise<void> {
  const def = c.source.streams[stream];
  if (!def) throw new Error(`source ${c.source.id} has no stream ${stream}`);
  const log = o.log;
  const http = streamHttp(c, o, signal, log, now);
  const saved = await o.store.getCheckpoint(c.id, stream);
  const ctx: ReadContext = {
    collector: c.name,
    stream,
    settings: c.settings,
    account: c.account,
    checkpoint: saved?.value,
    http,
    window: { ...c.window, retention: c.window.retention ?? c.source.retention },
    signal,
    log,
    now,
    warn: (w: TributaryError) => {
      log.warn(w.message, { code: w.code });
      void o.store.recordError(c.id, stream, w.toJSON());
    },
  };
  const recent = new RecentIds();
  const envCtx = {
    source: c.source.id,
    stream,
    collector: c.name,
    sitename: c.sitename,
    timezone: c.timezone,
  };

  // Read ahead: the next pages are fetched and parsed while this one is delivered and committed.
  // Commits stay strictly in order, so the checkpoint rules are unchanged; a crash loses only
  // read-ahead batches, which were never committed. Each batch is wrapped in envelopes as soon as it
  // is read, so that the vendor's parsed records (the bulk of a page) die young, while only the
  // envelopes (with the vendor text of each record) wait for their turn.
  const batches = def.read(ctx)[Symbol.asyncIterator]();
  const wrap = ({ value: batch, done }: IteratorResult<Batch>): Wrapped | undefined => {
    if (done) return undefined;
    const ingestedAt = new Date(now()).toISOString();
    const envelopes: Envelope[] = [];
    let newest = '';
    for (const e of batch.events) {
      const env = makeEnvelope(envCtx, e.raw, e.id, e.time, ingestedAt, e.context);
      // Context records are states, not occurrences: the same id twice in a run (changed, then deleted)
      // is two states, and the later one must arrive.
      // Ids the engine made from an event's place never repeat within the run: not remembered.
      if (e.context || e.positional || recent.add(env.id)) envelopes.push(env);
      if (env.time > newest) newest = env.time; // canonical ISO times compare as strings
    }
    const deadLetters = (batch.deadLetters ?? []).map((d) => ({ reason: d.reason, raw: safeJson(d.raw) }));
    const at = Date.parse(newest);
    return {
      envelopes,
      ingestedAt,
      newest: Number.isFinite(at) ? new Date(Math.min(at, Date.parse(ingestedAt))).toISOString() : undefined,
      deadLetters,
      checkpoint: batch.checkpoint,
      pages: batch.pages ?? 0,
      committed: batch.committed,
      release: batch.release,
    };
  };
  // Each batch read ahead, with its outcome once it is known (a failure stays for its turn to be awaited).
  const ahead: Array<{ next: Promise<Wrapped | undefined>; read?: { batch: Wrapped | undefined } }> = [];
  const perCommit = Math.max(1, Math.floor(c.batchesPerCommit ?? DEFAULT_BATCHES_PER_COMMIT));
  const labels = { collector: c.name, source: c.source.id, stream };
  let committed: { checkpoint: unknown } | undefined =
    saved === undefined ? undefined : { checkpoint: saved.value };
  // A vendor-held position (StreamDef.sequential) moves when a page is asked for: nothing is read ahead,
  // as with `readAhead: 0` (the next batch is asked for once this one is delivered and committed).
  const depth = def.sequential ? 0 : Math.max(0, Math.floor(def.readAhead ?? READ_AHEAD));
  const readAhead = () => {
    while (ahead.length < Math.max(1, depth)) {
      const entry: (typeof ahead)[number] = { next: batches.next().then(wrap) };
      entry.next.then(
        (batch) => {
          entry.read = { batch };
        },
        () => {}, // surfaces when awaited; never an unhandled rejection
      );
      ahead.push(entry);
    }
  };
  try {
    for (;;) {
      readAhead();
      const first = await ahead.shift()!.next;
      if (!first) {
        // The vendor has nothing more: the stream is caught up as of now, and its checkpoint lag is 0
        // (docs/operations.md). Recorded with the position already committed; nothing else changes.
        if (committed)
          await o.store.commitBatch({
            collectorId: c.id,
            stream,
            checkpoint: committed.checkpoint,
            runId,
            events: 0,
            pages: 0,
            bytes: 0,
            hourly: {},
            deadLetters: [],
            positionTime: new Date(now()).toISOString(),
          });
        break;
      }
      // Group commit: the batches already read while the previous delivery ran go with this one. An
      // end-of-snapshot marker goes on its own, once what came before it is committed (its dead letters counted).
      const group = [first];
      while (
        group.length < perCommit &&
        ahead[0]?.read?.batch &&
        !(def.snapshots && (hasMarker(first) || hasMarker(ahead[0].read.batch)))
      )
        group.push(ahead.shift()!.read!.batch!);
      const batch = group.length === 1 ? first : joined(group);
      if (depth > 0) readAhead();
      const { ingestedAt, newest, pages } = batch;
      let envelopes = def.snapshots
        ? withholdIncomplete(batch.envelopes, def.snapshots, committed?.checkpoint, ctx)
        : batch.envelopes;
      let bytes = 0;
      for (const env of envelopes) bytes += lineBytes(env) + 1;
      // Events a destination refused for good become dead letters of this batch, committed with it.
      const refused = envelopes.length
        ? await deliver(c, envelopes, bytes, labels, o, signal, now, outcomes)
        : [];
      const deadLetters = refused.length ? [...batch.deadLetters, ...refused] : batch.deadLetters;
      // A context stream counts the refresh's dead letters in its checkpoint (a marker is withheld then).
      const checkpoint = def.snapshots
        ? def.snapshots.count(batch.checkpoint, committed?.checkpoint, deadLetters.length)
        : batch.checkpoint;
      // Acknowledged: the checkpoint may move. A hard stop that arrived during delivery still commits,
      // because the destinations have the events; not committing would only cause duplicates.
      await o.store.commitBatch({
        collectorId: c.id,
        stream,
        checkpoint,
        runId,
        events: envelopes.length,
        pages,
        bytes,
        lastEventTime: envelopes.length ? ingestedAt : undefined,
        hourly: hourlyCounts(group),
        deadLetters,
        positionTime: newest,
      });
      committed = { checkpoint };
      // Each batch's vendor-side acknowledgement, in order, once the group is committed.
      for (const b of group) if (b.committed) await acknowledge(b.committed, log);
      for (const b of group) b.release?.();
      metrics.deadLettered(c.name, deadLetters);
      sr.events += envelopes.length;
      sr.pages += pages;
      result.events += envelopes.length;
      result.pages += pages;
      result.bytes += bytes;
      result.deadLetters += deadLetters.length;
      // Delivered and committed: the envelopes are let go now. The loop's variables would otherwise keep
      // them alive while the next batch is read, long enough for V8 to move a large file's records to its
      // old generation, which then grows by half before it is collected (README, Performance).
      envelopes = [];
      for (const b of group) b.envelopes = [];
      batch.envelopes = [];
      if (o.stop?.aborted) {
        if (result.status === 'succeeded') result.status = 'cancelled'; // stopped before catching up
        break; // graceful: the batch in flight is done, stop here
      }
      signal.throwIfAborted();
    }
  } finally {
    await batches.return?.(undefined).catch(() => {});
  }
}

const hasMarker = (b: Wrapped) => b.envelopes.some((e) => e.op === 'end');

/**
 * A batch's envelopes without the end-of-snapshot markers of refreshes whose records were dead-lettered
 * (docs/architecture.md, "Context records"): a destination that received such a marker would drop the
 * entities that were only dead-lettered. The refresh is not complete; a warning names the count.
 */
function withholdIncomplete(
  envelopes: Envelope[],
  ledger: SnapshotLedger,
  last: unknown,
  ctx: ReadContext,
): Envelope[] {
  return envelopes.filter((e) => {
    if (e.op !== 'end' || e.snapshot === undefined) return true;
    const n = ledger.deadLetters(last, e.snapshot);
    if (n === 0) return true;
    ctx.warn(
      dataError(
        'snapshot_incomplete',
        `The refresh ${e.snapshot} of stream ${ctx.stream} is not complete: ${n} of its records became dead letters (invalid, or refused by a destination), so its end-of-snapshot marker was withheld and destinations keep the entities it did not mention.`,
        "Inspect the collector's dead letters and fix their cause (a destination's mapping or limits, a malformed vendor record); the next refresh that delivers every record completes.",
      ),
    );
    return false;
  });
}

/** Batches read one after the other as one: their events in order, the last one's checkpoint. */
function joined(group: Wrapped[]): Wrapped {
  const last = group.at(-1)!;
  const withEvents = group.findLast((b) => b.envelopes.length > 0) ?? last;
  let newest: string | undefined;
  for (const b of group)
    if (b.newest !== undefined && (newest === undefined || b.newest > newest)) newest = b.newest;
  return {
    envelopes: group.flatMap((b) => b.envelopes),
    ingestedAt: withEvents.ingestedAt,
    newest,
    deadLetters: group.flatMap((b) => b.deadLetters),
    checkpoint: last.checkpoint,
    pages: group.reduce((n, b) => n + b.pages, 0),
  };
}

/** Events per hour of ingestion, for the collector's volume counts. */
function hourlyCounts(group: Wrapped[]): Record<string, number> {
  const hourly: Record<string, number> = {};
  for (const b of group) {
    if (!b.envelopes.length) continue;
    const hour = hourOf(b.ingestedAt);
    hourly[hour] = (hourly[hour] ?? 0) + b.envelopes.length;
  }
  return hourly;
}

/** A batch's vendor-side acknowledgement (Batch.committed), after its commit: a failure is logged, not fatal. */
async function acknowledge(fn: () => Promise<void>, log: Logger): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const e = toTributaryError(err);
    log.warn(
      'could not acknowledge a committed batch to the vendor; it will be delivered again and skipped',
      {
        code: e.code,
        message: e.message,
      },
    );
  }
}

function safeJson(raw: unknown): string {
  try {
    return typeof raw === 'string' ? raw : JSON.stringify(raw);
  } catch {
    return String(raw);
  }
}

/**
 * Delivers one batch to every destination; each is retried until it acknowledges (or, with
 * destinationMaxWaitMs, until that long has passed: the run then fails). A destination that already
 * acknowledged is not sent the batch again. Nothing is committed until all have. Every failure is
 * recorded for health as it happens, naming the destination. Returns the events a destination
 * refused for good (`SendResult.rejected`), as dead letters naming it. Runs and stream consumers
 * (stream-consumer.ts) deliver through it alike.
 */
export async function deliver(
  c: Pick<ResolvedCollector, 'id' | 'destinations'>,
  events: Envelope[],
  bytes: number,
  labels: { collector: string; source: string; stream: string },
  o: Pick<RunOptions, 'store' | 'log' | 'destinationBackoff' | 'destinationMaxWaitMs'>,
  signal: AbortSignal,
  now: () => number,
  outcomes: DeliveryOutcomes,
): Promise<Array<{ reason: string; raw: string }>> {
  const { baseMs, maxMs } = o.destinationBackoff ?? { baseMs: 1000, maxMs: 60_000 };
  const refused = await Promise.all(
    c.destinations.map(async (d: Destination) => {
      const started = now();
      for (let attempt = 0; ; attempt++) {
        const sent = await Promise.resolve()
          .then(() => d.send(events, signal) as Promise<SendResult | undefined>)
          .then(
            (result) => ({ result }),
            (thrown: unknown) => ({ err: thrown ?? new Error('rejected without a reason') }),
          );
        if (!('err' in sent)) {
          metrics.delivered(labels, [d.name], events.length, bytes);
          await outcomes.acknowledged(d.name);
          return destinationDeadLetters(d, sent.result);
        }
        const err = sent.err;
        signal.throwIfAborted();
        const base =
          err instanceof TributaryError
            ? err
            : transientError(
                'destination_error',
                `Destination ${d.name} failed: ${(err as Error)?.message ?? err}`,
                `Check destination ${d.name}.`,
              );
        const e = base.destination ? base : base.with({ destination: d.name });
        const gaveUp =
          e.type === 'config' ||
          (o.destinationMaxWaitMs !== undefined && now() - started > o.destinationMaxWaitMs);
        await outcomes.failed(d.name, e, gaveUp);
        if (e.type === 'config') throw e;
        if (attempt === 0) {
          o.log.warn('destination unavailable, retrying', {
            destination: d.name,
            code: e.code,
          });
          await o.store.recordError(c.id, undefined, e.toJSON());
        }
        if (gaveUp) throw e;
        metrics.destinationRetries.inc({ destination: d.name });
        // A destination that says when to come back (429/503 Retry-After) is believed, within maxMs.
        const wait =
          e.retryAfter !== undefined
            ? Math.min(e.retryAfter * 1000, maxMs)
            : backoff(attempt, baseMs, maxMs) + baseMs / 2;
        await sleep(wait, signal);
      }
    }),
  );
  return refused.flat();
}
/** A destination's refused events as dead letters: the reason names it, the raw is the envelope line. */
export function destinationDeadLetters(
  d: Destination,
  result: SendResult | undefined,
): Array<{ reason: string; raw: string }> {
  return (result?.rejected ?? []).map((r) => ({
    reason: `destination ${d.name}: ${r.reason}`,
    raw: encodeLine(r.event),
  }));
}
