import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { fetch } from 'undici';
import { z } from 'zod';
import { configError, TributaryError, transientError } from '../core/errors.ts';
import { isLoopbackHost } from '../core/validation.ts';
import { egressPolicy } from '../engine/egress.ts';
import { retryAfterMs, snippet } from '../engine/http.ts';
import { backoff, sleep } from '../engine/sleep.ts';

/**
 * How every HTTP destination kind talks to its target (docs/destinations.md, "How HTTP destinations
 * deliver"): one request is retried here and nowhere else.
 *
 * - Network errors, timeouts and the answers a kind calls retryable (by default 408, 429 and 5xx) are
 *   retried with exponential backoff and full jitter; a `Retry-After` (seconds or an HTTP date) is
 *   honoured instead of the backoff, and one longer than `maxRetryAfterMs` ends `send` at once with a
 *   transient error carrying it, so the runtime waits that long without holding the batch here.
 * - After `maxAttempts` requests the kind's `send` rejects with a transient `destination_unavailable`:
 *   the runtime keeps the checkpoint and offers the same batch again later (same ids).
 * - Any other answer is the kind's to judge; a refusal is a config error `destination_rejected`.
 * - Requests go through undici with the egress policy's dispatcher (link-local and metadata addresses
 *   refused after DNS, docs/security.md); redirects are never followed (a POST redirected loses its
 *   body or carries credentials elsewhere).
 * - At most `concurrency` requests of one destination are in flight at once, across every collector
 *   sharing it; waits between attempts do not hold a slot.
 * - Errors name the destination and the URL's origin only (paths and query strings sometimes carry
 *   tokens); credentials never appear in them, and response bodies only as a vendor's short message.
 */

const gzip = promisify(gzipCallback);

/**
 * Why a destination URL is unacceptable, or undefined when it is fine: https, or plain http only to
 * a loopback host (127.0.0.0/8, ::1, localhost) since anything else would send events and credentials
 * in clear text; and no user:password in the URL (credentials belong in the kind's auth settings,
 * which are never logged).
 */
export function destinationUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'expected an absolute URL such as https://siem.example.com/ingest';
  }
  if (u.username || u.password) return 'put credentials in auth, not in the URL';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:') {
    return isLoopbackHost(u.hostname)
      ? undefined
      : `plain http:// is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost), not ${u.hostname}; use https://`;
  }
  return `expected an https:// URL, got ${u.protocol}`;
}

/** A destination URL setting (https, or http to loopback), checked with `destinationUrlProblem`. */
export const destinationUrl = () =>
  z
    .string()
    .trim()
    .superRefine((url, ctx) => {
      const problem = destinationUrlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/**
 * The delivery settings every HTTP kind has, with the kind's own defaults: spread into its schema so
 * the console, the API and the docs describe them the same way everywhere.
 */
export function deliverySettings(d: {
  maxBatchBytes: number;
  /** The target's hard request limit: maxBatchBytes may not exceed it. */
  maxBatchBytesLimit?: number;
  maxBatchEvents: number;
  timeout?: number;
  concurrency?: number;
}) {
  const mb = (n: number) => (n >= 1024 * 1024 ? `${n / 1024 / 1024} MB` : `${n} bytes`);
  return {
    timeout: z
      .number()
      .int()
      .positive()
      .default(d.timeout ?? 30_000)
      .meta({ title: 'Request timeout (ms)' })
      .describe(
        `Milliseconds one request may take before it counts as failed and is retried (default ${d.timeout ?? 30_000})`,
      ),
    maxBatchBytes: z
      .number()
      .int()
      .positive()
      .max(d.maxBatchBytesLimit ?? Number.MAX_SAFE_INTEGER)
      .default(d.maxBatchBytes)
      .meta({ title: 'Largest request (bytes)' })
      .describe(
        `Uncompressed request body size above which a batch is split into several requests (default ${mb(d.maxBatchBytes)}${d.maxBatchBytesLimit ? `, at most ${mb(d.maxBatchBytesLimit)}: the target's limit` : ''})`,
      ),
    maxBatchEvents: z
      .number()
      .int()
      .positive()
      .default(d.maxBatchEvents)
      .meta({ title: 'Most events per request' })
      .describe(`Events per request above which a batch is split (default ${d.maxBatchEvents})`),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(d.concurrency ?? 4)
      .meta({ title: 'Requests in flight' })
      .describe(
        `Requests this destination has in flight at once, across every collector using it (default ${d.concurrency ?? 4})`,
      ),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(5)
      .meta({ title: 'Attempts per request' })
      .describe(
        'Requests per batch before reporting the destination unavailable; delivery resumes later with the same events',
      ),
    backoffBaseMs: z
      .number()
      .int()
      .min(0)
      .default(500)
      .meta({ title: 'First retry wait (ms)' })
      .describe('First retry waits up to this many ms, doubling per attempt (full jitter)'),
    backoffMaxMs: z
      .number()
      .int()
      .min(0)
      .default(15_000)
      .meta({ title: 'Longest retry wait (ms)' })
      .describe('Longest wait between two attempts, unless Retry-After asks for more'),
  };
}

export interface DeliveryOptions {
  /** Milliseconds one request may take, connect to the last byte of the answer. */
  timeout: number;
  /** Requests per exchange before giving up with a transient error (the runtime retries later). */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Requests in flight at once for this destination (default 4). */
  concurrency?: number;
  /** A Retry-After longer than this is not slept through here: it ends the exchange (default 5 min). */
  maxRetryAfterMs?: number;
  /** Answers are read up to this many bytes (default 1 MiB); the rest is dropped (`truncated`). */
  maxResponseBytes?: number;
  /** Test seam: how waits between attempts are slept. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface Outgoing {
  url: string;
  method?: 'GET' | 'POST' | 'HEAD';
  headers: Headers;
  body?: Uint8Array;
}

/** An answer, its body read (bounded). */
export interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The body was longer than `maxResponseBytes`: `body` holds its beginning only. */
  truncated: boolean;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json<T = any>(): T | undefined;
}

/**
 * What a kind makes of an answer: a result, or a retryable failure (with the wait the target asked
 * for; `reauthorize` to fetch a fresh token first, once). A refusal is thrown (`rejected`).
 */
export type Verdict<T> = { ok: T } | { retry: string; retryAfterMs?: number; reauthorize?: boolean };

/** What an item-wise round (`partial`) left to do. */
export interface Round<I> {
  /** Items to send again. */
  again: I[];
  /** The items failed retryably (429, 5xx): the next round waits and counts as an attempt. Otherwise it follows at once. */
  retryable: boolean;
  detail?: string;
  retryAfterMs?: number;
}

class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(n: number) {
    this.free = n;
  }
  async take(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((ok, fail) => {
      const go = () => {
        signal.removeEventListener('abort', abort);
        ok();
      };
      const abort = () => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        fail(signal.reason);
      };
      this.waiting.push(go);
      signal.addEventListener('abort', abort, { once: true });
    });
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

export class HttpDelivery {
  readonly name: string;
  /** The target's origin, the only part of its URL errors show. */
  readonly origin: string;
  readonly o: DeliveryOptions;
  private readonly slots: Slots;

  constructor(name: string, url: string, options: DeliveryOptions) {
    const problem = destinationUrlProblem(url);
    if (problem) {
      throw configError(
        'destination_url_invalid',
        `Destination ${name}: ${problem}.`,
        `Fix the URL of destination ${name}.`,
      );
    }
    this.name = name;
    this.origin = new URL(url).origin;
    this.o = options;
    this.slots = new Slots(options.concurrency ?? 4);
  }

  /**
   * One request, retried until `classify` accepts an answer, a refusal is thrown, the caller aborts, or
   * `maxAttempts` (then a transient `destination_unavailable`). `build` makes the request for each
   * attempt (`refresh`: the credential was refused once, fetch a fresh token); `classify` learns
   * whether a fresh token was already tried (`refreshed`), so a second refusal is its to reject.
   */
  async exchange<T>(
    build: (o: { attempt: number; refresh: boolean }) => Outgoing | Promise<Outgoing>,
    classify: (a: Answer, o: { refreshed: boolean }) => Verdict<T> | Promise<Verdict<T>>,
    signal: AbortSignal,
  ): Promise<T> {
    const maxRetryAfterMs = this.o.maxRetryAfterMs ?? 300_000;
    let refresh = false;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      await this.slots.take(signal);
      let verdict: Verdict<T>;
      try {
        const seen = { refreshed };
        verdict = await this.once(await build({ attempt, refresh }), (a) => classify(a, seen), signal);
      } finally {
        this.slots.give();
      }
      if ('ok' in verdict) return verdict.ok;
      refresh = false;
      if (verdict.reauthorize && !refreshed) {
        refresh = refreshed = true; // a token may have expired: once with a fresh one, not counted
        attempt--;
        continue;
      }
      const after = verdict.retryAfterMs;
      if (after !== undefined && after > maxRetryAfterMs) throw this.unavailable(verdict.retry, after / 1000);
      if (attempt + 1 >= this.o.maxAttempts)
        throw this.unavailable(verdict.retry, after === undefined ? undefined : after / 1000);
      await this.wait(attempt, after, signal);
    }
  }

  /**
   * Items sent in rounds, for targets that answer item by item (Elasticsearch's `_bulk`, Splunk's
   * invalid event): `round` sends what is left (each request through `exchange`) and says what must go
   * again. A round whose failures are retryable is an attempt, waited for with backoff; one that only
   * set items aside (dead letters) is followed at once. After `maxAttempts` retryable rounds, a
   * transient `destination_unavailable`.
   */
  async partial<I>(items: I[], round: (items: I[]) => Promise<Round<I>>, signal: AbortSignal): Promise<void> {
    let left = items;
    for (let attempt = 0; left.length; ) {
      const r = await round(left);
      left = r.again;
      if (!left.length) return;
      if (!r.retryable) continue;
      const detail = r.detail ?? `${left.length} events not accepted`;
      if (r.retryAfterMs !== undefined && r.retryAfterMs > (this.o.maxRetryAfterMs ?? 300_000))
        throw this.unavailable(detail, r.retryAfterMs / 1000);
      if (++attempt >= this.o.maxAttempts) throw this.unavailable(detail);
      await this.wait(attempt - 1, r.retryAfterMs, signal);
    }
  }

  /** Sleeps before the next attempt: the target's Retry-After, or the jittered backoff. */
  wait(attempt: number, retryAfterMs: number | undefined, signal: AbortSignal): Promise<void> {
    return (this.o.sleep ?? sleep)(
      retryAfterMs ?? backoff(attempt, this.o.backoffBaseMs, this.o.backoffMaxMs),
      signal,
    );
  }

  /** One attempt: the classifier's verdict, a retryable network failure, or a thrown error. */
  private async once<T>(
    req: Outgoing,
    classify: (a: Answer) => Verdict<T> | Promise<Verdict<T>>,
    signal: AbortSignal,
  ): Promise<Verdict<T>> {
    let answer: Answer;
    try {
      const egress = egressPolicy();
      egress.checkUrl(new URL(req.url), `destination ${this.name}`);
      const res = await fetch(req.url, {
        method: req.method ?? 'POST',
        headers: [...req.headers],
        body: req.body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeout)]),
        dispatcher: egress.dispatcher(),
      });
      const { body, truncated } = await readBounded(res.body, this.o.maxResponseBytes ?? 1024 * 1024);
      answer = {
        status: res.status,
        headers: res.headers as unknown as Headers,
        body,
        truncated,
        json: () => parseJson(body),
      };
    } catch (err) {
      signal.throwIfAborted(); // the caller's cancellation is not an outage
      // A connection the egress policy refused surfaces as undici's "fetch failed" with it as the cause.
      const cause = (err as { cause?: unknown })?.cause;
      if (cause instanceof TributaryError) throw cause;
      if (err instanceof TributaryError) throw err;
      const e = err as Error & { cause?: { code?: string } };
      return {
        retry:
          e.name === 'TimeoutError'
            ? `no answer within ${this.o.timeout} ms`
            : `network error${e.cause?.code ? ` ${e.cause.code}` : ''}`,
      };
    }
    return classify(answer);
  }

  /**
   * The default judgement: 2xx accepts; 408, 429 and 5xx are retried (Retry-After honoured on 429 and
   * 503); anything else (4xx, and 3xx: redirects are not followed) is refused. `actions` words the
   * recommended action per status; `message` pulls the target's own short message out of the body.
   */
  statusVerdict(
    a: Answer,
    o: { actions?: Partial<Record<number, string>>; message?: (a: Answer) => string | undefined } = {},
  ): Verdict<Answer> {
    const s = a.status;
    if (s >= 200 && s < 300) return { ok: a };
    const said = o.message?.(a);
    if (s === 408 || s === 429 || s >= 500) {
      const after =
        s === 429 || s === 503 ? retryAfterMs(a.headers.get('retry-after'), Date.now()) : undefined;
      return { retry: `HTTP ${s}${said ? `: ${said}` : ''}`, retryAfterMs: after };
    }
    throw this.rejected(s, o.actions?.[s], said);
  }

  /** The config error for a refused request (`destination_rejected`), with the status and action. */
  rejected(status: number, action?: string, said?: string): TributaryError {
    return configError(
      'destination_rejected',
      `Destination ${this.name} refused the batch at ${this.origin} (HTTP ${status}${said ? `: ${snippet(said)}` : ''}).`,
      action ??
        (status === 401 || status === 403
          ? `Check the credentials of destination ${this.name} and their permissions.`
          : status === 413
            ? `Lower maxBatchBytes of destination ${this.name}.`
            : status >= 300 && status < 400
              ? `Destination ${this.name}'s URL redirects: configure the final URL.`
              : `Check the settings of destination ${this.name}.`),
      status,
    );
  }

  /** The transient error that makes the runtime keep the batch and come back later. */
  unavailable(detail: string, retryAfter?: number): TributaryError {
    return transientError(
      'destination_unavailable',
      `Destination ${this.name} is unavailable at ${this.origin} (${detail}).`,
      `Check that destination ${this.name} is up and reachable from Tributary; the events wait and nothing is lost.`,
      retryAfter === undefined ? undefined : { retryAfter },
    );
  }
}

async function readBounded(
  stream: AsyncIterable<Uint8Array> | null,
  max: number,
): Promise<{ body: Buffer; truncated: boolean }> {
  if (!stream) return { body: Buffer.alloc(0), truncated: false };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const room = max - size;
    if (chunk.byteLength > room) {
      if (room > 0) chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, room));
      return { body: Buffer.concat(chunks), truncated: true }; // leaving the loop cancels the rest
    }
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    size += chunk.byteLength;
  }
  return { body: Buffer.concat(chunks), truncated: false };
}

function parseJson<T>(body: Buffer): T | undefined {
  if (!body.length) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A request body, gzipped when asked (Content-Encoding: gzip is the caller's to set). */
export async function encodeBody(text: string | Buffer, compress: boolean): Promise<Buffer> {
  const raw = typeof text === 'string' ? Buffer.from(text) : text;
  return compress ? gzip(raw) : raw;
}

/**
 * Splits items into requests of at most `maxBytes` (each item's `size` plus `framing` per request and
 * `separator` between items) and `maxItems`. An item that alone exceeds `maxBytes` goes alone, or, with
 * `oversize`, is handed back instead (for targets that refuse any larger request).
 */
export function chunk<T>(
  items: readonly T[],
  size: (item: T) => number,
  o: { maxBytes: number; maxItems: number; framing?: number; separator?: number; oversize?: boolean },
): { chunks: T[][]; oversize: T[] } {
  const framing = o.framing ?? 0;
  const sep = o.separator ?? 0;
  const chunks: T[][] = [];
  const oversize: T[] = [];
  let current: T[] = [];
  let bytes = framing;
  for (const item of items) {
    const n = size(item);
    if (o.oversize && framing + n > o.maxBytes) {
      oversize.push(item);
      continue;
    }
    const add = current.length ? n + sep : n;
    if (current.length && (bytes + add > o.maxBytes || current.length >= o.maxItems)) {
      chunks.push(current);
      current = [];
      bytes = framing;
    }
    current.push(item);
    bytes += current.length > 1 ? n + sep : n;
  }
  if (current.length) chunks.push(current);
  return { chunks, oversize };
}

/**
 * Runs `fn` on every chunk at once (the destination's slots bound what is in flight) and settles them
 * all before failing, so no request outlives the `send` that made it; a refusal wins over an outage.
 */
export async function eachChunk<T>(chunks: readonly T[], fn: (c: T) => Promise<void>): Promise<void> {
  if (chunks.length === 1) return fn(chunks[0]!);
  const results = await Promise.allSettled(chunks.map(fn));
  const failures = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason);
  if (!failures.length) return;
  throw (
    failures.find((e) => e instanceof TributaryError && e.type === 'config') ??
    failures.find((e) => !(e instanceof TributaryError)) ??
    failures[0]
  );
}

/** The size of `s` in UTF-8 bytes. */
export const utf8Bytes = (s: string) => Buffer.byteLength(s);
