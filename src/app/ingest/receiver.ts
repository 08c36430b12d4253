import { createHmac, type Hmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { CollectorConfig } from '../../config/config-file.ts';
import type { Destination, SendResult } from '../../core/destination.ts';
import { type Envelope, hashId, lineBytes, makeEnvelope, RawJson, toIsoTime } from '../../core/envelope.ts';
import { TributaryError, toTributaryError, transientError } from '../../core/errors.ts';
import {
  type DeadLetter,
  type IngestOptions,
  isPushSource,
  type Logger,
  type ReceiveDef,
} from '../../core/source.ts';
import type { CollectorRecord } from '../../core/store.ts';
import {
  BodyError,
  decodedChunks,
  type RecordSink,
  readRecords,
  requestChunks,
} from '../../engine/ingest/body.ts';
import { metrics } from '../../engine/metrics.ts';
import { destinationDeadLetters } from '../../engine/runner.ts';
import { sources } from '../../sources/index.ts';
import type { Runtime } from '../runtime.ts';
import { IngestAnswers } from './answers.ts';
import { loadCredentials, presentedToken, signatureMatches, verifyToken } from './credentials.ts';

/**
 * `POST /ingest/{collector}` on `tributary serve` (docs/architecture.md, "Push sources"): a vendor pushes a batch,
 * and the answer is 200 only after every destination of the collector acknowledged its events and
 * the counts were committed. When that cannot happen — a destination down, the collector stopped or
 * over its rate — the answer is 503 or 429 with Retry-After, so the sender keeps the batch and sends
 * it again: nothing is lost, and a retry re-delivers that one request with the same ids.
 *
 * Requests of one collector that arrive while a delivery is in flight are delivered together next
 * (one destination write and one store commit for all of them), and each is answered when that
 * delivery is: an fsync per batch of requests instead of per request.
 *
 * No checkpoint moves for pushed events: durability comes from the sender's retries. The store's
 * commit gets a null checkpoint under the collector's stream and no run (pushes have no runs).
 */

export interface ReceiverOptions {
  log: Logger;
  /** How long a request waits for its destinations before it is answered 503 (default 30 s). */
  ackTimeoutMs?: number;
  /** Events delivered together at most when concurrent requests are coalesced (default 20,000). */
  maxBatchEvents?: number;
  /** How often the counts of answers are written to the store (default 1 s; see answers.ts). */
  answersFlushMs?: number;
  now?: () => number;
}

type DeliveryOptions = Required<Omit<ReceiverOptions, 'now' | 'answersFlushMs'>>;

/** How long a sender is asked to wait after a failure that says nothing itself. */
const RETRY_AFTER_S = { stopped: 60, destination: 10, commit: 5 };
/** The longest wait passed on from a destination's own Retry-After (as the HTTP destination's default). */
const MAX_RETRY_AFTER_S = 300;

/** A destination's Retry-After (seconds, maybe fractional) as the sender's: whole seconds, 1 to 300. */
export const passedRetryAfter = (seconds: number | undefined): string =>
  String(
    seconds === undefined || !Number.isFinite(seconds)
      ? RETRY_AFTER_S.destination
      : Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(seconds))),
  );
/** The most of a refused request's unread body that is read and dropped before the connection is cut. */
const MAX_DRAIN_BYTES = 100 * 1024 * 1024;
/** Envelopes handed to destinations at once, at most: characters of their lines (see `deliver`). */
const SLICE_CHARS = 4 * 1024 * 1024;
/** A collector id no collector has: what credentials are looked up under for a name that is not one. */
const NO_COLLECTOR = '-';
/** The run id pushes commit under: no run has it (pushes have no runs). */
const PUSH_RUN = 'push';

class Refusal extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const hourOf = (iso: string) => `${iso.slice(0, 13)}:00:00.000Z`;

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res
    .writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' })
    .end(JSON.stringify(body));
}

/** Over-rate accounting per collector: a second's worth of burst; a large batch is admitted and repaid. */
class EventRate {
  readonly perSecond: number;
  private allowance: number;
  private last: number;
  constructor(perSecond: number, now: number) {
    this.perSecond = perSecond;
    this.allowance = perSecond;
    this.last = now;
  }
  /** Seconds to wait while the collector is over its rate, else undefined. */
  check(now: number): number | undefined {
    this.allowance = Math.min(this.perSecond, this.allowance + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    return this.allowance < 0 ? Math.max(1, Math.ceil(-this.allowance / this.perSecond)) : undefined;
  }
  charge(events: number): void {
    this.allowance -= events;
  }
}

interface Pending {
  envelopes: Envelope[];
  deadLetters: Array<{ reason: string; raw: string }>;
  ingestedAt: string;
  done(err?: unknown): void;
}

/**
 * One collector's deliveries, in order: what is queued while a delivery runs goes out together next.
 * Replaced (the old one finishing its queue) when the collector's definition changes.
 */
class Delivery {
  readonly version: string;
  private readonly record: CollectorRecord;
  private readonly stream: string;
  private readonly runtime: Runtime;
  private readonly o: DeliveryOptions;
  private queue: Pending[] = [];
  private running = false;
  /** Settles when the last batch's commit has (successfully or not). */
  private commits: Promise<void> = Promise.resolve();
  /** Destinations with a failure streak on record (health), as read at `failingReadAt`. */
  private failing = new Set<string>();
  private failingReadAt = Number.NEGATIVE_INFINITY;

  constructor(runtime: Runtime, record: CollectorRecord, stream: string, o: DeliveryOptions) {
    this.runtime = runtime;
    this.record = record;
    this.version = `${record.updatedAt}|${stream}`;
    this.stream = stream;
    this.o = o;
  }

  submit(p: Omit<Pending, 'done'>): Promise<void> {
    return new Promise((ok, fail) => {
      this.queue.push({ ...p, done: (err) => (err ? fail(err) : ok()) });
      if (!this.running) void this.pump();
    });
  }

  /**
   * Delivers the queue batch after batch. Once a batch's destinations acknowledged, its commit starts
   * and the next batch goes to the destinations while it runs (the two syncs overlap); commits run one
   * after the other, in order, and each request is answered when its batch's commit is done.
   */
  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        let events = 0;
        let n = 0;
        while (
          n < this.queue.length &&
          (n === 0 || events + this.queue[n]!.envelopes.length <= this.o.maxBatchEvents)
        )
          events += this.queue[n++]!.envelopes.length;
        const batch = this.queue.splice(0, n);
        const answer = (err?: unknown) => {
          for (const p of batch) p.done(err);
        };
        try {
          const { commit } = await this.deliver(batch);
          this.commits = this.commits.then(commit).then(() => answer(), answer);
        } catch (err) {
          answer(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Health (docs/control-plane.md): a destination that failed gets the refused requests added to its
   * failure streak (WARNING; ERROR after 10 in a row or 15 minutes), one that acknowledged ends its
   * streak. Costs nothing while no destination is failing, beyond a read every 10 seconds; never
   * changes the answer.
   */
  private async recordOutcomes(
    destinations: Destination[],
    results: PromiseSettledResult<unknown>[],
    signal: AbortSignal,
    requests: number,
  ): Promise<void> {
    const store = this.runtime.store;
    const collectorId = this.record.id;
    try {
      const now = Date.now();
      if (now - this.failingReadAt > FAILING_FRESH_MS) {
        this.failing = new Set((await store.listDeliveryFailures(collectorId)).map((f) => f.destination));
        this.failingReadAt = now;
      }
      for (const [i, r] of results.entries()) {
        const d = destinations[i]!;
        if (r.status === 'fulfilled') {
          if (this.failing.delete(d.name)) await store.clearDeliveryFailures(collectorId, d.name);
          continue;
        }
        this.failing.add(d.name);
        await store.recordDeliveryFailure({
          collectorId,
          destination: d.name,
          error: { ...destinationError(d, r.reason, signal).toJSON(), destination: d.name },
          at: new Date(now).toISOString(),
          count: requests,
        });
      }
    } catch (err) {
      this.failingReadAt = Number.NEGATIVE_INFINITY;
      this.o.log.warn('push: could not record delivery outcomes', {
        collector: this.record.name,
        message: (err as Error)?.message,
      });
    }
  }

  /** Sends a batch to every destination; resolves once all acknowledged, with its commit still to run. */
  private async deliver(batch: Pending[]): Promise<{ commit: () => Promise<void> }> {
    const store = this.runtime.store;
    const envelopes = batch.length === 1 ? batch[0]!.envelopes : batch.flatMap((p) => p.envelopes);
    const refused: Array<{ reason: string; raw: string }> = [];
    // Slices of at most SLICE_CHARS of lines: a destination encodes what it is sent at once, so one
    // large request must not hold the event loop for its whole encoding. A slice failing after others
    // were acknowledged fails the batch: its retry re-delivers them with the same ids (at-least-once).
    let bytes = 0;
    let sliceChars = 0;
    let from = 0;
    const slices: Envelope[][] = [];
    for (let i = 0; i < envelopes.length; i++) {
      const chars = lineBytes(envelopes[i]!) + 1;
      bytes += chars;
      sliceChars += chars;
      if (sliceChars >= SLICE_CHARS || i === envelopes.length - 1) {
        slices.push(from === 0 && i === envelopes.length - 1 ? envelopes : envelopes.slice(from, i + 1));
        from = i + 1;
        sliceChars = 0;
      }
    }
    const destinations = envelopes.length ? await this.runtime.destinationsOf(this.record) : [];
    const signal = AbortSignal.timeout(this.o.ackTimeoutMs);
    for (const slice of slices) {
      const results = await Promise.allSettled(destinations.map((d) => d.send(slice, signal)));
      await this.recordOutcomes(destinations, results, signal, batch.length);
      const failed = results.findIndex((r) => r.status === 'rejected');
      if (failed >= 0) {
        const d = destinations[failed]!;
        const e = destinationError(d, (results[failed] as PromiseRejectedResult).reason, signal);
        this.o.log.warn('push: destination unavailable, asking the sender to retry', {
          collector: this.record.name,
          destination: d.name,
          code: e.code,
        });
        await store.recordError(this.record.id, this.stream, e.toJSON()).catch(() => {});
        throw new Refusal(
          503,
          'destination_unavailable',
          `Destination ${d.name} is unavailable; retry later.`,
          { 'retry-after': passedRetryAfter(e.retryAfter) },
        );
      }
      // Events a destination refused for good are the batch's dead letters, committed with it.
      results.forEach((r, i) => {
        if (r.status === 'fulfilled')
          refused.push(...destinationDeadLetters(destinations[i]!, r.value as SendResult | undefined));
      });
    }
    const hourly: Record<string, number> = {};
    let last: string | undefined;
    for (const p of batch) {
      if (!p.envelopes.length) continue;
      const h = hourOf(p.ingestedAt);
      hourly[h] = (hourly[h] ?? 0) + p.envelopes.length;
      if (!last || p.ingestedAt > last) last = p.ingestedAt;
    }
    // Many dead letters are stored ahead, a chunk per transaction with the event loop served between
    // (the SQLite store writes synchronously): the counts and the last chunk commit together at the
    // end. A failure asks the sender to retry; dead letters stored before it are then stored again.
    const chunks = deadLetterChunks([...batch.flatMap((p) => p.deadLetters), ...refused]);
    const lastChunk = chunks.pop() ?? [];
    const commit = { collectorId: this.record.id, stream: this.stream, checkpoint: null, runId: PUSH_RUN };
    return {
      commit: () => this.commit(batch, commit, envelopes.length, bytes, last, hourly, chunks, lastChunk),
    };
  }

  /** Commits a delivered batch's counts and dead letters; a failure is a 503 for its requests. */
  private async commit(
    batch: Pending[],
    commit: { collectorId: string; stream: string; checkpoint: null; runId: string },
    events: number,
    bytes: number,
    last: string | undefined,
    hourly: Record<string, number>,
    chunks: Array<Array<{ reason: string; raw: string }>>,
    lastChunk: Array<{ reason: string; raw: string }>,
  ): Promise<void> {
    const store = this.runtime.store;
    try {
      for (const deadLetters of chunks) {
        await store.commitBatch({ ...commit, events: 0, pages: 0, bytes: 0, hourly: {}, deadLetters });
        await nextTurn();
      }
      await store.commitBatch({
        ...commit,
        events,
        pages: 0,
        bytes,
        lastEventTime: last,
        hourly,
        deadLetters: lastChunk,
      });
      const labels = { collector: this.record.name, source: this.record.source, stream: this.stream };
      metrics.delivered(labels, events ? (this.record.config.destinations as string[]) : [], events, bytes);
      metrics.deadLettered(
        this.record.name,
        batch.flatMap((p) => p.deadLetters),
      );
    } catch (err) {
      this.o.log.error('push: could not commit counts, asking the sender to retry', {
        collector: this.record.name,
        message: (err as Error)?.message,
      });
      throw new Refusal(503, 'commit_failed', 'The events could not be recorded; retry later.', {
        'retry-after': String(RETRY_AFTER_S.commit),
      });
    }
  }
}

/** How long a Delivery trusts its view of the failing destinations (other replicas change them too). */
const FAILING_FRESH_MS = 10_000;

/** Dead letters in chunks of at most 1,000, or of about 4 M characters of text. */
function deadLetterChunks(all: Array<{ reason: string; raw: string }>): Array<typeof all> {
  const chunks: Array<typeof all> = [];
  let chunk: typeof all = [];
  let chars = 0;
  for (const d of all) {
    chunk.push(d);
    chars += d.raw.length;
    if (chunk.length >= 1000 || chars >= 4 * 1024 * 1024) {
      chunks.push(chunk);
      chunk = [];
      chars = 0;
    }
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}

function destinationError(d: Destination, err: unknown, signal: AbortSignal): TributaryError {
  if (signal.aborted)
    return transientError(
      'destination_timeout',
      `Destination ${d.name} did not acknowledge pushed events in time.`,
      `Check destination ${d.name}; senders retry the requests.`,
    );
  return err instanceof TributaryError
    ? err
    : transientError(
        'destination_error',
        `Destination ${d.name} failed: ${toTributaryError(err).message}`,
        `Check destination ${d.name}; senders retry the requests.`,
      );
}

/** What a request proved about itself while it was received. */
interface Seen {
  /** It names a push collector. */
  collectorId?: string;
  /** Its ingest token was valid. */
  authenticated: boolean;
}

export class IngestReceiver {
  private readonly runtime: Runtime;
  private readonly o: DeliveryOptions;
  private readonly now: () => number;
  private readonly deliveries = new Map<string, Delivery>();
  private readonly rates = new Map<string, EventRate>();
  /** What was answered, per collector: its page and health (answers.ts). */
  private readonly answers: IngestAnswers;

  constructor(runtime: Runtime, o: ReceiverOptions) {
    this.runtime = runtime;
    this.o = {
      log: o.log,
      ackTimeoutMs: o.ackTimeoutMs ?? 30_000,
      maxBatchEvents: o.maxBatchEvents ?? 20_000,
    };
    this.now = o.now ?? Date.now;
    this.answers = new IngestAnswers(runtime.store, { log: o.log, flushMs: o.answersFlushMs, now: this.now });
  }

  /** Writes the answers counted so far. */
  async close(): Promise<void> {
    await this.answers.close();
  }

  /** Answers one request to `/ingest/{name}`; only internal failures throw. */
  async handle(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const started = performance.now();
    let accepted = 0;
    // `collectorId` once the request names a push collector: its answer is counted for the collector's
    // page. `authenticated` once its token was valid: only then does a metric carry the collector's name.
    const seen: Seen = { authenticated: false };
    const count = (a: Parameters<IngestAnswers['count']>[1]) => {
      if (seen.collectorId) this.answers.count(seen.collectorId, a);
    };
    try {
      const result = await this.receive(req, name, seen);
      accepted = result.accepted;
      reply(res, 200, result);
      count({ status: 200, code: 'accepted', events: result.accepted });
    } catch (err) {
      if (err instanceof Refusal || err instanceof BodyError) {
        const headers = err instanceof Refusal ? err.headers : {};
        reply(res, err.status, { error: { code: err.code, message: err.message } }, headers);
        const retryAfter = Number(headers['retry-after']);
        count({
          status: err.status,
          code: err.code,
          message: err.message,
          ...(Number.isFinite(retryAfter) && headers['retry-after'] ? { retryAfter } : {}),
        });
      } else {
        count({ status: 500, code: 'internal', message: 'Internal error; see the server log.' });
        throw err;
      }
      // Refused before the body was read to its end: the rest is read and dropped, so that the sender
      // gets the answer once it has sent the body and the connection stays usable; past 100 MB (the
      // largest maxBodyMB), a body that does not end is cut off.
      if (!req.complete && !req.destroyed) {
        let drained = 0;
        req.on('data', (chunk: Buffer) => {
          drained += chunk.length;
          if (drained > MAX_DRAIN_BYTES) req.destroy();
        });
        req.resume();
      }
    } finally {
      // Labelled by collector only once the request proved it is the collector's sender (a valid
      // token): names made up by anyone else cannot create series (docs/operations.md).
      const status = res.headersSent ? res.statusCode : 500; // a throw is answered 500 by the server
      metrics.ingested(name, seen.authenticated, status, (performance.now() - started) / 1000, accepted);
    }
  }

  private async receive(
    req: IncomingMessage,
    name: string,
    seen: Seen,
  ): Promise<{ accepted: number; deadLettered: number }> {
    if (req.method !== 'POST')
      throw new Refusal(405, 'method_not_allowed', 'Send events with POST.', { allow: 'POST' });
    const store = this.runtime.store;
    const challenge = { 'www-authenticate': 'Bearer realm="tributary-ingest"' };
    const token = presentedToken(req.headers.authorization);
    if (!token)
      throw new Refusal(
        401,
        'missing_token',
        "Send the collector's ingest token as Authorization: Bearer TOKEN.",
        challenge,
      );
    const found = await store.getCollector(name);
    const source = found ? sources[found.source] : undefined;
    const record = found && isPushSource(source) ? found : undefined;
    seen.collectorId = record?.id;
    // A name that is not a push collector gets the answer a wrong token gets, after the same work (a
    // credentials read and the token's hash): the endpoint does not tell which collectors exist.
    const credentials = await loadCredentials(store, record?.id ?? NO_COLLECTOR);
    const valid = verifyToken(record && credentials, token, this.now());
    if (!record || !credentials || !valid || !isPushSource(source))
      throw new Refusal(401, 'invalid_token', 'The ingest token is not valid for this collector.', challenge);
    seen.authenticated = true;
    if (!record.enabled)
      throw new Refusal(503, 'collector_stopped', `Collector "${name}" is stopped; retry later.`, {
        'retry-after': String(RETRY_AFTER_S.stopped),
      });

    const receive = source.receive as ReceiveDef;
    const config = record.config as unknown as CollectorConfig;
    const settings = config.settings;
    const opts = receive.options(settings);
    const rate = this.rate(record.id, opts.maxEventsPerSecond);
    const wait = rate?.check(this.now());
    if (wait !== undefined)
      throw new Refusal(
        429,
        'rate_limited',
        `Collector "${name}" is over its configured rate; retry later.`,
        {
          'retry-after': String(wait),
        },
      );

    const ingestedAt = new Date(this.now()).toISOString();
    const ctx = {
      source: source.id,
      stream: opts.stream,
      collector: record.name,
      sitename: config.site,
      timezone: config.timezone,
    };
    const envelopes: Envelope[] = [];
    const sink: RecordSink = {
      // A JSON record comes with its text: the envelope keeps that (the sender's bytes), and the parsed
      // value, read for its id and time, dies young.
      record: (r, text) =>
        envelopes.push(
          makeEnvelope(
            ctx,
            text === undefined ? r : new RawJson(text),
            receive.eventId(r, settings) ?? hashId(r),
            toIsoTime(receive.eventTime(r, settings)),
            ingestedAt,
          ),
        ),
      // A scanned record is its bytes, with the keys its id and time are read from.
      scanned: (raw, fields) =>
        envelopes.push(
          makeEnvelope(
            ctx,
            raw,
            receive.eventId(fields, settings),
            toIsoTime(receive.eventTime(fields, settings)),
            ingestedAt,
          ),
        ),
    };
    // The HMAC secret is a sealed setting of the collector (before, it was kept beside the token hashes).
    const hmacSecret = record.secrets?.['settings.hmac.secret'] ?? credentials.hmacSecret;
    const deadLetters = await this.readRecords(req, name, opts, hmacSecret, sink, receive.fields?.(settings));
    rate?.charge(envelopes.length);
    if (envelopes.length || deadLetters.length)
      await this.delivery(record, opts.stream).submit({
        envelopes,
        deadLetters: deadLetters.map((d) => ({
          reason: d.reason,
          raw: typeof d.raw === 'string' ? d.raw : JSON.stringify(d.raw),
        })),
        ingestedAt,
      });
    return { accepted: envelopes.length, deadLettered: deadLetters.length };
  }

  /**
   * Reads the body within the collector's limits into `sink`'s records (engine/ingest/body.ts
   * `readRecords`: a body of up to 1 MB decoded is scanned whole, a larger one split as it arrives, never
   * held whole). Its signature (HMAC of the body
   * as sent) is computed along the way and checked at the end, before anything is delivered. Refusals
   * are BodyErrors and Refusals (4xx): nothing of a refused request is delivered.
   */
  private async readRecords(
    req: IncomingMessage,
    name: string,
    opts: IngestOptions,
    hmacSecret: string | undefined,
    sink: RecordSink,
    fields: string[] | undefined,
  ): Promise<DeadLetter[]> {
    let mac: Hmac | undefined;
    let signature: string | undefined;
    if (opts.signatureHeader) {
      const header = req.headers[opts.signatureHeader.toLowerCase()];
      signature = Array.isArray(header) ? header[0] : header;
      if (!signature)
        throw new Refusal(401, 'missing_signature', `Sign the body in the ${opts.signatureHeader} header.`);
      if (!hmacSecret) {
        this.o.log.error('push: signed requests are required but no secret is stored', { collector: name });
        throw new Refusal(401, 'invalid_signature', `The ${opts.signatureHeader} signature is not valid.`);
      }
      mac = createHmac('sha256', this.runtime.secrets.decrypt(hmacSecret));
    }
    const sent = requestChunks(req, opts.maxBodyBytes, mac && ((chunk) => mac.update(chunk)));
    const deadLetters = await readRecords(
      decodedChunks(sent, req.headers['content-encoding'], opts.maxDecompressedBytes),
      opts.format,
      opts,
      sink,
      fields,
    );
    if (mac && !signatureMatches(mac.digest(), signature))
      throw new Refusal(401, 'invalid_signature', `The ${opts.signatureHeader} signature is not valid.`);
    return deadLetters;
  }

  private rate(collectorId: string, perSecond: number | undefined): EventRate | undefined {
    if (!perSecond) {
      this.rates.delete(collectorId);
      return undefined;
    }
    let r = this.rates.get(collectorId);
    if (!r || r.perSecond !== perSecond) {
      r = new EventRate(perSecond, this.now());
      this.rates.set(collectorId, r);
    }
    return r;
  }

  private delivery(record: CollectorRecord, stream: string): Delivery {
    let d = this.deliveries.get(record.id);
    if (!d || d.version !== `${record.updatedAt}|${stream}`) {
      d = new Delivery(this.runtime, record, stream, this.o);
      this.deliveries.set(record.id, d);
    }
    return d;
  }
}
