import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { fetch, type Response } from 'undici';
import type { Destination } from '../../core/destination.ts';
import type { Envelope } from '../../core/envelope.ts';
import { configError, TributaryError, transientError } from '../../core/errors.ts';
import { isLoopbackHost } from '../../core/validation.ts';
import { egressPolicy } from '../../engine/egress.ts';
import { retryAfterMs } from '../../engine/http.ts';
import { backoff, sleep } from '../../engine/sleep.ts';
import { envelopeLine } from '../ndjson.ts';

const gzip = promisify(gzipCallback);

export type HttpAuth =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string };

export interface HttpDestinationOptions {
  url: string;
  format: 'ndjson' | 'json';
  gzip: boolean;
  auth?: HttpAuth;
  /** Sent with every request; they may override content-type, never the auth or content-encoding. */
  headers: Record<string, string>;
  /** Milliseconds one request may take, connect to response headers. */
  timeout: number;
  /** Uncompressed body size above which a batch is split into several requests. */
  maxBatchBytes: number;
  /** Requests per chunk before `send` gives up with a transient error (the runtime retries later). */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A Retry-After longer than this is not slept through inside `send`: it ends it (default 5 min). */
  maxRetryAfterMs?: number;
  /** Test seam: how waits between attempts are slept. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Why a destination URL is unacceptable, or undefined when it is fine: https, or plain http only to
 * a loopback host (127.0.0.0/8, ::1, localhost) since anything else would send events and credentials
 * in clear text; and no user:password in the URL (credentials belong in `auth`, which is never logged).
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

/**
 * POSTs batches to an HTTP endpoint as NDJSON or a JSON array; only a 2xx acknowledges.
 *
 * - A batch above `maxBatchBytes` is sent as several requests, in order; a single larger event goes
 *   alone. If a later request fails, `send` rejects and the runtime re-sends the whole batch: the
 *   earlier requests' events arrive twice, with the same ids (at-least-once).
 * - Network errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and full jitter
 *   (Retry-After honoured on 429/503), then reported as transient `destination_unavailable`: the
 *   runtime keeps the checkpoint and retries the same batch later, so nothing is lost.
 * - Any other non-2xx (4xx, and 3xx: redirects are not followed, a POST redirected would lose its
 *   body or carry credentials elsewhere) is a config error `destination_rejected`.
 * - Credentials never appear in errors or logs; errors name the destination and the URL's origin only
 *   (paths and query strings sometimes carry tokens).
 * - Connections follow the egress policy like vendor requests (engine/egress.ts): link-local and
 *   metadata addresses are refused after DNS, and HTTPS_PROXY / HTTP_PROXY / NO_PROXY apply.
 */
export class HttpDestination implements Destination {
  readonly kind = 'http';
  readonly name: string;
  private readonly o: HttpDestinationOptions;
  private readonly origin: string;
  private readonly requestHeaders: Headers;

  constructor(name: string, options: HttpDestinationOptions) {
    const problem = destinationUrlProblem(options.url);
    if (problem) {
      throw configError(
        'destination_url_invalid',
        `Destination ${name}: ${problem}.`,
        `Fix the url of destination ${name}.`,
      );
    }
    this.name = name;
    this.o = options;
    this.origin = new URL(options.url).origin;
    this.requestHeaders = this.buildHeaders();
  }

  async send(events: Envelope[], signal: AbortSignal): Promise<void> {
    for (const lines of this.chunks(events)) await this.post(lines, signal);
  }

  /** Splits a batch so that no uncompressed request body exceeds maxBatchBytes (one event always fits). */
  private *chunks(events: Envelope[]): Generator<string[]> {
    const framing = this.o.format === 'json' ? 2 : 0; // '[' and ']'; each line adds '\n' or ','
    let lines: string[] = [];
    let size = framing;
    for (const e of events) {
      const line = envelopeLine(e);
      const bytes = Buffer.byteLength(line) + 1;
      if (lines.length && size + bytes > this.o.maxBatchBytes) {
        yield lines;
        lines = [];
        size = framing;
      }
      lines.push(line);
      size += bytes;
    }
    if (lines.length) yield lines;
  }

  private async body(lines: string[]): Promise<Buffer> {
    const text = this.o.format === 'json' ? `[${lines.join(',')}]` : lines.map((l) => `${l}\n`).join('');
    return this.o.gzip ? gzip(text) : Buffer.from(text);
  }

  /** Built once, at construction: a header the HTTP client refuses fails there, not as an outage. */
  private buildHeaders(): Headers {
    const h = new Headers({
      'content-type': this.o.format === 'json' ? 'application/json' : 'application/x-ndjson',
      ...this.o.headers,
    });
    if (this.o.gzip) h.set('content-encoding', 'gzip');
    else h.delete('content-encoding');
    const a = this.o.auth;
    if (a?.type === 'bearer') h.set('authorization', `Bearer ${a.token}`);
    else if (a?.type === 'basic')
      h.set('authorization', `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`);
    else if (a?.type === 'header') h.set(a.name, a.value);
    return h;
  }

  /** One chunk, retried until a 2xx, a config error, the caller's abort, or maxAttempts. */
  private async post(lines: string[], signal: AbortSignal): Promise<void> {
    const body = await this.body(lines);
    const wait = this.o.sleep ?? sleep;
    const maxRetryAfterMs = this.o.maxRetryAfterMs ?? 300_000;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(body, signal);
      if (outcome === 'ok') return;
      if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > maxRetryAfterMs) {
        // Not worth holding the batch here: report it, with the wait, and let the runtime come back.
        throw this.unavailable(outcome.detail, outcome.retryAfterMs / 1000);
      }
      if (attempt + 1 >= this.o.maxAttempts) throw this.unavailable(outcome.detail);
      await wait(outcome.retryAfterMs ?? backoff(attempt, this.o.backoffBaseMs, this.o.backoffMaxMs), signal);
    }
  }

  /** One request: 'ok' on a 2xx, a retryable failure, or a thrown config error / the caller's abort. */
  private async attempt(
    body: Buffer,
    signal: AbortSignal,
  ): Promise<'ok' | { detail: string; retryAfterMs?: number }> {
    signal.throwIfAborted();
    let res: Response;
    const egress = egressPolicy();
    egress.checkUrl(new URL(this.o.url), `delivery to destination ${this.name}`);
    try {
      res = await fetch(this.o.url, {
        method: 'POST',
        headers: [...this.requestHeaders],
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeout)]),
        dispatcher: egress.dispatcher(),
      });
      await discard(res);
    } catch (err) {
      signal.throwIfAborted(); // the caller's cancellation is not an outage
      // A connection the egress policy refused surfaces as "fetch failed" with it as the cause.
      const refused = (err as { cause?: unknown })?.cause;
      if (refused instanceof TributaryError) throw refused;
      const e = err as Error & { cause?: { code?: string } };
      return {
        detail:
          e.name === 'TimeoutError'
            ? `no answer within ${this.o.timeout} ms`
            : `network error${e.cause?.code ? ` ${e.cause.code}` : ''}`,
      };
    }
    if (res.ok) return 'ok';
    const s = res.status;
    if (s === 408 || s === 429 || s >= 500) {
      const retryAfter =
        s === 429 || s === 503 ? retryAfterMs(res.headers.get('retry-after'), Date.now()) : undefined;
      return { detail: `HTTP ${s}`, retryAfterMs: retryAfter };
    }
    throw configError(
      'destination_rejected',
      `Destination ${this.name} refused the batch at ${this.origin} (HTTP ${s}).`,
      s === 401 || s === 403
        ? `Check the credentials (auth) of destination ${this.name}.`
        : s === 413
          ? `Lower maxBatchBytes of destination ${this.name}.`
          : s >= 300 && s < 400
            ? `Destination ${this.name}'s url redirects: configure the final URL.`
            : `Check the url, format and headers of destination ${this.name}.`,
      s,
    );
  }

  private unavailable(detail: string, retryAfter?: number): TributaryError {
    return transientError(
      'destination_unavailable',
      `Destination ${this.name} is unavailable at ${this.origin} (${detail}).`,
      `Check that destination ${this.name} is up and reachable from Tributary; the events wait and nothing is lost.`,
      retryAfter === undefined ? undefined : { retryAfter },
    );
  }

  /**
   * Test Connection: POSTs an empty batch once. A 2xx passes; 401/403/404 and redirects fail as config
   * errors; other 4xx pass, since the endpoint answered and accepted the credentials but may refuse
   * an empty body (Splunk HEC answers 400 "No data"). Network errors and 5xx fail as transient.
   */
  async test(signal: AbortSignal): Promise<void> {
    try {
      const outcome = await this.attempt(await this.body([]), signal);
      if (outcome !== 'ok') throw this.unavailable(outcome.detail);
    } catch (err) {
      const status = err instanceof TributaryError ? err.status : undefined;
      if (status !== undefined && status >= 400 && ![401, 403, 404].includes(status)) return;
      throw err;
    }
  }

  async close(): Promise<void> {}
}

/**
 * Reads and drops a response body (up to 64 KiB, so the connection can be reused), never keeping or
 * showing it: endpoints sometimes echo the request, credentials included.
 */
async function discard(res: Response): Promise<void> {
  if (!res.body) return;
  let seen = 0;
  for await (const chunk of res.body) {
    seen += chunk.byteLength;
    if (seen > 64 * 1024) break; // leaving the loop cancels the rest
  }
}
