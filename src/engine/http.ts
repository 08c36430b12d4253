import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { fetch, type Response } from 'undici';
import { configError, type ErrorInfo, TributaryError, transientError } from '../core/errors.ts';
import type {
  HttpClient,
  HttpRequest,
  HttpResponse,
  JsonReader,
  Logger,
  VendorErrorContext,
} from '../core/source.ts';
import { isLoopbackHost } from '../core/validation.ts';
import type { OriginSet } from './credential-origins.ts';
import { egressPolicy } from './egress.ts';
import { egressLookup } from './egress-agents.ts';
import { readJson, UnexpectedBodyError } from './json-stream.ts';
import { metrics, statusLabel } from './metrics.ts';
import { networkProblem } from './network-error.ts';
import type { TokenBucket } from './rate-limit.ts';
import { backoff, sleep } from './sleep.ts';

/**
 * The one HTTP client every source uses (docs/architecture.md, HTTP): timeouts, retries with backoff and jitter for
 * network errors, 5xx and 429, Retry-After and vendor rate headers, the account's token bucket,
 * one forced credential refresh on 401, and errors classified with a code and a recommended action.
 * It only reads: DELETE/PUT/PATCH do not exist here and POST must be declared read-only (or a write the
 * source declares, `vendorWrite`).
 */

export interface HttpClientOptions {
  /** Vendor name for messages ("Okta answered 401: …"). */
  vendor: string;
  /**
   * Adds credentials; `url` is the request's target (an OAuth kind picks its token's audience from it).
   * A kind whose vendor wants the credentials in the JSON body (LastPass) returns the body to send: it
   * replaces the request's body for this one attempt only, after any checkpoint kept the body without them.
   */
  authorize?: (
    headers: Headers,
    refresh: boolean,
    url: URL,
    req: { method: string; body?: string },
    // biome-ignore lint/suspicious/noConfusingVoidType: most kinds only set headers and return nothing (async, void)
  ) => Promise<void | AuthorizedRequest>;
  /**
   * Where `authorize` may send the account's credentials (engine/credential-origins.ts): a request to any
   * other origin, a redirect hop included, is refused before anything is sent.
   */
  credentialOrigins?: { set: OriginSet; account: string };
  limiter?: TokenBucket;
  /** The bucket of a request's endpoint, for vendors that limit endpoints separately (Duo's logs). */
  endpointLimiter?: (url: URL) => TokenBucket | undefined;
  /** Attempts for one request, including the first (network errors, 5xx, 429). */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** The longest Retry-After we honour before giving up on this run (ms). */
  maxRetryAfterMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: Logger;
  /** Vendor-specific mapping of an error response to what the user should do. */
  explain?: (ctx: VendorErrorContext) => Partial<ErrorInfo> | undefined;
  /** A vendor's non-429 answer that means "slow down" (GitHub's 403 rate limits): retried like a 429. */
  rateLimited?: RateLimitedHook;
  /** A non-401 answer that means the credentials expired (AccountKind.credentialsExpired): refreshed once like a 401. */
  credentialsExpired?: (ctx: VendorErrorContext) => boolean;
  /** A rate limit told in a 200 answer's JSON body (GraphQL `errors`): retried like a 429 (requestJson only). */
  rateLimitedBody?: (body: unknown) => { waitMs: number; message: string } | undefined;
  now?: () => number;
  userAgent?: string;
  /**
   * Counts this client's requests in the vendor-request metrics (docs/operations.md) under the source's
   * id and the account's name; unset, nothing is counted (Test Connection, previews).
   */
  metricLabels?: { source: string; account: string };
  /**
   * Certificate authorities (PEM) trusted besides the process's for connections to `origins` only, made by
   * SDKs through `httpsAgent` (a test's emulator with a certificate made at test time). Certificates are
   * always verified; nothing else is trusted more.
   */
  tlsTrust?: { ca: string[]; origins: string[] };
}

/**
 * Recognises a rate-limit answer sent with another status than 429. Returns undefined when the answer
 * is not a rate limit; otherwise how long to wait when the response says neither `Retry-After` nor an
 * exhausted rate header with its reset time.
 */
export type RateLimitedHook = (
  ctx: VendorErrorContext,
  headers: Headers,
) => { defaultWaitMs: number } | undefined;

/** What `authorize` may change besides headers: the body sent (credentials a vendor wants in it). */
export interface AuthorizedRequest {
  body?: string;
}

const MAX_ERROR_BODY = 64 * 1024;
/** The longest a vendor's Retry-After holds an account's runs back (docs/architecture.md). */
export const MAX_VENDOR_WAIT_MS = 24 * 3_600_000;
const MAX_REDIRECTS = 5;

class Response_ implements HttpResponse {
  readonly status: number;
  readonly url: string;
  readonly headers: Headers;
  private readonly res: Response;
  private readonly deadline: Deadline;
  private stream: ReadableStream<Uint8Array> | null | undefined;
  constructor(res: Response, url: string, deadline: Deadline) {
    this.res = res;
    this.status = res.status;
    this.url = url;
    this.headers = res.headers;
    this.deadline = deadline;
  }
  /** The body as a stream: each chunk that arrives pushes the request's deadline back (a large download). */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.stream === undefined) {
      const touch = this.deadline.touch;
      this.stream =
        this.res.body?.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, out) {
              touch();
              out.enqueue(chunk);
            },
          }),
        ) ?? null;
    }
    return this.stream;
  }
  text() {
    return this.res.text();
  }
  json<T>() {
    return this.res.json() as Promise<T>;
  }
}

/**
 * A request's timeout: the answer must start within it, and a body read as a stream must not stall for
 * longer (each chunk re-arms it), so a large object that keeps arriving is never cut off at a fixed total.
 */
interface Deadline {
  signal: AbortSignal;
  touch: () => void;
  clear: () => void;
}

function deadline(ms: number): Deadline {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  timer.unref();
  return { signal: ac.signal, touch: () => timer.refresh(), clear: () => clearTimeout(timer) };
}

/** Pulls a human message out of common vendor error bodies, never echoing the whole body. */
export function vendorMessage(body: string): string {
  try {
    const j = JSON.parse(body);
    const m =
      j?.errorSummary ??
      j?.error?.message ??
      j?.error_description ??
      j?.message ??
      (typeof j?.error === 'string' ? j.error : undefined) ??
      j?.errors?.[0]?.message ??
      // A top-level array of errors (Salesforce: [{"message", "errorCode"}]).
      (Array.isArray(j) ? j[0]?.message : undefined) ??
      // Splunk: {"messages":[{"type","text"}]}.
      j?.messages?.[0]?.text ??
      j?.detail;
    if (typeof m === 'string') return snippet(m);
  } catch {
    /* not JSON */
  }
  return snippet(body);
}

/**
 * Vendor text that may reach a user (Test Connection, errors): one line, at most 200 characters, and no
 * user:password@ in the URLs it mentions.
 */
export function snippet(text: string, max = 200): string {
  const line = text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Retry-After as seconds or an HTTP date; returns ms to wait, or undefined. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** Common vendor rate headers: when the budget is spent, the time (epoch ms) it resets. */
export function rateResetAt(headers: Headers, now: number): number | undefined {
  const remaining = headers.get('x-rate-limit-remaining') ?? headers.get('x-ratelimit-remaining');
  const reset = headers.get('x-rate-limit-reset') ?? headers.get('x-ratelimit-reset');
  if (remaining === null || reset === null || Number(remaining) > 0) return undefined;
  const r = Number(reset);
  if (!Number.isFinite(r)) return undefined;
  return r > 1e9 ? r * 1000 : now + r * 1000; // epoch seconds, or seconds from now
}

function buildUrl(url: string, query: HttpRequest['query']): URL {
  const u = new URL(url);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) u.searchParams.append(k, String(item));
      else u.searchParams.set(k, String(v));
    }
  }
  return u;
}

/** Only the path goes into messages: query strings can carry tokens (signed URLs). */
const where = (u: URL) => `${u.origin}${u.pathname}`;

function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'TimeoutError') return true;
  // undici: TypeError('fetch failed') with a cause, or 'terminated' when the body stream breaks.
  return err.name === 'TypeError' || /terminated|socket|ECONN|EPIPE/i.test(err.message);
}

export class Http implements HttpClient {
  private readonly o: Required<
    Pick<
      HttpClientOptions,
      'maxAttempts' | 'backoffBaseMs' | 'backoffMaxMs' | 'maxRetryAfterMs' | 'timeoutMs'
    >
  > &
    HttpClientOptions;
  private readonly now: () => number;

  constructor(options: HttpClientOptions) {
    this.o = {
      maxAttempts: 6,
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      maxRetryAfterMs: 15 * 60_000,
      timeoutMs: 60_000,
      ...options,
    };
    this.now = options.now ?? Date.now;
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    return this.send(req, async (r) => r);
  }

  getJson<T = any>(url: string, query?: HttpRequest['query'], headers?: Record<string, string>) {
    return this.requestJson<T>({ url, query, headers });
  }

  async requestJson<T = any>(req: HttpRequest, reader?: JsonReader<T>) {
    let response!: HttpResponse;
    const body = await this.send(req, async (r) => {
      response = r;
      // a truncated body fails here and is retried (see attempt)
      const value = reader ? await reader.read(r) : ((await readJson(r)) as T);
      const limited = this.o.rateLimitedBody?.(reader ? reader.json(value) : value);
      if (limited) throw new RateLimitedBody(limited.waitMs, limited.message);
      return value;
    });
    return { body, response };
  }

  private trustAgent?: HttpsAgent;

  httpsAgent(url: URL): HttpsAgent | undefined {
    const t = this.o.tlsTrust;
    if (!t || url.protocol !== 'https:' || !t.origins.includes(url.origin)) return undefined;
    this.trustAgent ??= new HttpsAgent({
      keepAlive: true,
      lookup: egressLookup,
      ca: [...rootCertificates, ...t.ca],
    });
    return this.trustAgent;
  }

  checkConnection(url: URL): void {
    egressPolicy().checkUrl(url, `a connection to ${this.o.vendor}`);
    if (this.o.authorize) this.o.credentialOrigins?.set.check(url, this.o.credentialOrigins.account);
  }

  async authorizeConnection(url: URL, refresh = false): Promise<Headers> {
    const asHttp = new URL(url);
    if (asHttp.protocol === 'wss:') asHttp.protocol = 'https:';
    else if (asHttp.protocol === 'ws:') asHttp.protocol = 'http:';
    this.checkConnection(asHttp);
    const headers = new Headers();
    if (this.o.authorize) await this.o.authorize(headers, refresh, asHttp, { method: 'GET' });
    if (this.o.userAgent) headers.set('user-agent', this.o.userAgent);
    return headers;
  }

  async requestBytes(req: HttpRequest, maxBytes: number) {
    let response!: HttpResponse;
    const bytes = await this.send(req, async (r) => {
      response = r;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of (r.body ?? []) as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > maxBytes) {
          await r.body?.cancel().catch(() => {});
          throw configError(
            'response_too_large',
            `${this.o.vendor} sent more than ${Math.round(maxBytes / 1048576)} MB at ${where(new URL(r.url))}.`,
            'Report this with the logs: the file is larger than Tributary reads whole.',
          );
        }
        chunks.push(Buffer.from(chunk));
      }
      return Buffer.concat(chunks);
    });
    return { bytes, response };
  }

  /**
   * Sends `req`, following redirects itself (credentials never cross to another origin), and runs
   * `consume` on a successful response inside the retry loop, so a body cut off mid-stream is retried.
   */
  async send<T>(req: HttpRequest, consume: (r: HttpResponse) => Promise<T>): Promise<T> {
    const method = req.method ?? 'GET';
    if (method === 'POST' && !req.readOnly && !req.vendorWrite) {
      throw new Error('refusing a POST that is not declared read-only: collectors never change vendor data');
    }
    if (req.vendorWrite) this.o.log?.info('vendor write', { vendor: this.o.vendor, reason: req.vendorWrite });
    if (!['GET', 'HEAD', 'POST'].includes(method))
      throw new Error(`refusing HTTP ${method}: collectors only read`);
    const state = { refreshed: false };
    let last: { retry: TributaryError; waitMs?: number } | undefined;
    // After a failed attempt (not a credential refresh) the vendor may have acted on the request already.
    let current = req;
    for (let attempt = 0; attempt < this.o.maxAttempts; attempt++) {
      if (last) {
        const ms = last.waitMs ?? backoff(attempt - 1, this.o.backoffBaseMs, this.o.backoffMaxMs);
        this.o.log?.debug('http retry', {
          vendor: this.o.vendor,
          attempt,
          waitMs: ms,
          code: last.retry.code,
        });
        await sleep(
          ms,
          req.signal && this.o.signal
            ? AbortSignal.any([this.o.signal, req.signal])
            : (req.signal ?? this.o.signal),
        );
        if (last.retry.code === 'rate_limited') this.waited(ms);
      }
      const outcome = await this.attempt(current, method, state, consume);
      if ('ok' in outcome) return outcome.ok;
      if ('again' in outcome) {
        attempt--; // a refreshed credential is not a retry
        last = undefined;
        continue;
      }
      last = outcome;
      if (req.retryAs) current = { ...req, ...req.retryAs, query: { ...req.query, ...req.retryAs.query } };
    }
    throw last?.retry ?? transientError('unknown', `${this.o.vendor} request failed.`, 'Retry later.');
  }

  /**
   * One attempt: a result, a retryable failure (with the wait the vendor asked for), `again` after a
   * credential refresh, or a thrown error that ends the request (config errors, cancellation).
   */
  private async attempt<T>(
    req: HttpRequest,
    method: string,
    state: { refreshed: boolean },
    consume: (r: HttpResponse) => Promise<T>,
  ): Promise<{ ok: T } | { retry: TributaryError; waitMs?: number } | { again: true }> {
    const signal =
      req.signal && this.o.signal
        ? AbortSignal.any([this.o.signal, req.signal])
        : (req.signal ?? this.o.signal);
    signal?.throwIfAborted();
    let url = buildUrl(req.url, req.query);
    const endpoint = this.o.endpointLimiter?.(url);
    let sent: number | undefined;
    let status: number | undefined;
    let timer: Deadline | undefined;
    try {
      this.waited((await this.o.limiter?.take(signal)) ?? 0);
      this.waited((await endpoint?.take(signal)) ?? 0);
      let res: Response;
      let sendAuth = !req.noAuth;
      const origin = url.origin;
      const egress = egressPolicy();
      for (let hop = 0; ; hop++) {
        egress.checkUrl(url, `a request to ${this.o.vendor}`);
        const headers = new Headers(req.headers);
        if (this.o.userAgent && !headers.has('user-agent')) headers.set('user-agent', this.o.userAgent);
        // The body sent on this hop: the request's, or the one `authorize` completed with credentials.
        // Never kept: the request (and a checkpoint holding it) stays without them.
        let body = req.body;
        if (sendAuth && this.o.authorize) {
          this.o.credentialOrigins?.set.check(url, this.o.credentialOrigins.account);
          const authorized = await this.o.authorize(headers, state.refreshed, url, {
            method,
            body: req.body,
          });
          if (authorized && authorized.body !== undefined) body = authorized.body;
        }
        timer?.clear();
        timer = deadline(req.timeoutMs ?? this.o.timeoutMs);
        const timeout = timer.signal;
        sent = performance.now();
        status = undefined;
        res = await fetch(url, {
          method,
          headers: [...headers],
          body,
          redirect: 'manual',
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          dispatcher: egress.dispatcher(),
        });
        status = this.counted(sent, res.status);
        const location = res.headers.get('location');
        if (req.manualRedirect || res.status < 300 || res.status >= 400 || !location || res.status === 304)
          break;
        await res.body?.cancel();
        if (hop >= MAX_REDIRECTS) {
          throw configError(
            'too_many_redirects',
            `${this.o.vendor} redirected more than ${MAX_REDIRECTS} times at ${where(url)}.`,
            'Check the base URL.',
          );
        }
        url = new URL(location, url);
        if (!(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))))
          throw configError(
            'insecure_redirect',
            `${this.o.vendor} redirected to a ${url.protocol} URL that is not https.`,
            'Check the base URL; Tributary follows redirects only to https.',
          );
        if (url.origin !== origin) sendAuth = false; // signed URLs must not receive our credentials
      }
      const now = this.now();
      const resetAt = rateResetAt(res.headers, now);
      if (resetAt && resetAt > now)
        this.o.limiter?.pauseUntil(Math.min(resetAt, now + this.o.maxRetryAfterMs));

      if ((res.status >= 200 && res.status < 400) || req.accept?.includes(res.status)) {
        return { ok: await consume(new Response_(res, url.toString(), timer)) };
      }
      const body = (await res.text()).slice(0, MAX_ERROR_BODY);
      const vendorCtx = { status: res.status, message: vendorMessage(body), body, url, headers: res.headers };
      const expired = res.status === 401 || (this.o.credentialsExpired?.(vendorCtx) ?? false);
      if (expired && !state.refreshed && this.o.authorize && !req.noAuth) {
        state.refreshed = true; // a token may have expired mid-pagination: refresh once, then it is a config error
        return { again: true };
      }
      const limited = res.status === 429 ? undefined : this.o.rateLimited?.(vendorCtx, res.headers);
      const err = this.classify(vendorCtx, res.headers, now, limited);
      const waitMs = err.retryAfter !== undefined ? err.retryAfter * 1000 : undefined;
      if (err.type === 'config') throw err;
      if (waitMs !== undefined && waitMs > this.o.maxRetryAfterMs)
        // Longer than a run waits: the run ends, and the runner holds back every run of the account
        // until the vendor's time (capped: a proxy's absurd Retry-After must not stop it for weeks).
        throw err.with({ waitUntil: new Date(now + Math.min(waitMs, MAX_VENDOR_WAIT_MS)).toISOString() });
      if (res.status === 429 || limited) {
        this.o.limiter?.pauseUntil(now + (waitMs ?? 1000));
        // A limited endpoint that names no wait is left alone for one refill of its bucket.
        endpoint?.pauseUntil(now + (waitMs ?? 1000 / endpoint.perSecond));
      }
      return { retry: err, waitMs };
    } catch (err) {
      if (sent !== undefined && status === undefined) this.counted(sent, undefined); // no answer came
      if (err instanceof RateLimitedBody && !signal?.aborted) {
        this.o.limiter?.pauseUntil(this.now() + err.waitMs);
        endpoint?.pauseUntil(this.now() + err.waitMs);
        return {
          retry: transientError(
            'rate_limited',
            `${this.o.vendor} rate limit reached: ${snippet(err.message)}.`,
            "Tributary waits and retries; if it persists, lower the collector's frequency or share fewer collectors on this account.",
            { status: 200, retryAfter: err.waitMs / 1000 },
          ),
          waitMs: err.waitMs,
        };
      }
      if (err instanceof UnexpectedBodyError && !signal?.aborted) return this.unexpectedBody(err, url);
      if (err instanceof TributaryError) throw err;
      // A connection the egress policy refused surfaces as undici's "fetch failed" with it as the cause.
      const cause = (err as { cause?: unknown })?.cause;
      if (cause instanceof TributaryError) throw cause;
      if (signal?.aborted || !isNetworkError(err)) throw err;
      if (err instanceof Error && err.name === 'TimeoutError')
        return {
          retry: transientError(
            'timeout',
            `${this.o.vendor} did not answer within ${Math.round((req.timeoutMs ?? this.o.timeoutMs) / 1000)}s at ${where(url)}.`,
            'Check connectivity to the vendor (DNS, proxy, firewall); Tributary retries automatically.',
          ),
        };
      // The cause (refused, name not found, certificate, …) decides the message and what to do.
      const problem = networkProblem(err, url);
      return {
        retry: transientError(
          problem?.code ?? 'network',
          `Network error talking to ${this.o.vendor} at ${where(url)}: ${problem?.problem ?? (err as Error).message}.`,
          problem?.action ??
            'Check connectivity to the vendor (DNS, proxy, firewall); Tributary retries automatically.',
        ),
      };
    } finally {
      timer?.clear();
    }
  }

  /** Counts one request in the vendor-request metrics; returns its status. */
  private counted(sent: number, status: number | undefined): number | undefined {
    const labels = this.o.metricLabels;
    if (labels) {
      metrics.vendorRequests.inc({ ...labels, status: statusLabel(status) });
      metrics.vendorDuration.observe(labels, (performance.now() - sent) / 1000);
    }
    return status;
  }

  /** Adds a wait for the account's budget or the vendor's Retry-After to the rate-limit metrics. */
  private waited(ms: number): void {
    if (ms > 0 && this.o.metricLabels)
      metrics.rateLimitWait.inc({ account: this.o.metricLabels.account }, ms / 1000);
  }

  /**
   * A successful answer whose body is not JSON. Cut off on the way (it starts like JSON): retried, as a
   * broken connection is. Anything else — an HTML sign-in or error page from a portal, a proxy or a
   * wrong base URL — is not the vendor's API answering: a config error showing what came instead.
   */
  private unexpectedBody(err: UnexpectedBodyError, url: URL): { retry: TributaryError } {
    if (err.truncated)
      return {
        retry: transientError(
          'truncated_response',
          `${this.o.vendor} sent an incomplete JSON body (${err.bytes} bytes) at ${where(url)}: ${err.message}.`,
          'Usually a connection cut mid-answer; Tributary retries automatically. If it persists, check the proxies between Tributary and the vendor.',
          { status: err.status },
        ),
      };
    throw configError(
      'unexpected_response',
      `${this.o.vendor} answered ${err.status} with ${err.contentType || 'no content type'} where JSON was expected at ${where(url)}; the body starts: "${err.head}".`,
      "Check the collector's base URL and any proxy between Tributary and the vendor: an HTML page usually comes from a sign-in portal, a proxy or a web page, not the vendor's API.",
      err.status,
    );
  }

  private classify(
    ctx: VendorErrorContext,
    headers: Headers,
    now: number,
    limited?: { defaultWaitMs: number },
  ): TributaryError {
    const { status } = ctx;
    const said = ctx.message ? `: ${ctx.message}` : '';
    if (limited) {
      // A rate limit in another status: wait as the vendor says (Retry-After, else the reset of an
      // exhausted budget, else its documented default), and never report it as a permission problem.
      const reset = rateResetAt(headers, now);
      const waitMs =
        retryAfterMs(headers.get('retry-after'), now) ??
        (reset !== undefined && reset > now ? reset - now : limited.defaultWaitMs);
      return new TributaryError({
        type: 'transient',
        code: 'rate_limited',
        message: `${this.o.vendor} rate limit reached (${status})${said}.`,
        action:
          "Tributary waits and retries; if it persists, lower the collector's frequency or share fewer collectors on this account.",
        status,
        retryAfter: waitMs / 1000,
      });
    }
    const base: ErrorInfo =
      status === 401
        ? {
            type: 'config',
            code: 'unauthorized',
            message: `${this.o.vendor} rejected the credentials (401)${said}.`,
            action: "Check the account's credentials (wrong, expired or revoked) and update the account.",
          }
        : status === 403
          ? {
              type: 'config',
              code: 'forbidden',
              message: `${this.o.vendor} denied access (403)${said}.`,
              action: "Grant the account the permissions listed in the source's setup guide.",
            }
          : status === 404
            ? {
                type: 'config',
                code: 'not_found',
                message: `${this.o.vendor} has no such resource at ${where(ctx.url)} (404)${said}.`,
                action: "Check the base URL and the IDs in the collector's settings.",
              }
            : status === 429
              ? {
                  type: 'transient',
                  code: 'rate_limited',
                  message: `${this.o.vendor} rate limit reached (429)${said}.`,
                  action:
                    "Tributary waits and retries; if it persists, lower the collector's frequency or share fewer collectors on this account.",
                }
              : status >= 500 || status === 408
                ? {
                    type: 'transient',
                    code: 'vendor_unavailable',
                    message: `${this.o.vendor} answered ${status}${said}.`,
                    action: 'A vendor-side problem; Tributary retries automatically.',
                  }
                : {
                    type: 'config',
                    code: 'bad_request',
                    message: `${this.o.vendor} refused the request (${status})${said}.`,
                    action: "Check the collector's settings; if they are right, report this with the logs.",
                  };
    // A 429 without Retry-After whose rate headers say the budget is spent waits for their reset (Cisco
    // Secure Endpoint's hourly budget: X-Rate-Limit-Remaining 0, X-Rate-Limit-Reset seconds).
    const reset = status === 429 ? rateResetAt(headers, now) : undefined;
    const retryAfter =
      retryAfterMs(headers.get('retry-after'), now) ??
      (reset !== undefined && reset > now ? reset - now : undefined);
    const info: ErrorInfo = { ...base, status, ...this.o.explain?.(ctx) };
    if (retryAfter !== undefined) info.retryAfter = retryAfter / 1000;
    return new TributaryError(info);
  }
}

/** A successful answer whose body says "rate limited" (see HttpClientOptions.rateLimitedBody). */
class RateLimitedBody extends Error {
  readonly waitMs: number;
  constructor(waitMs: number, message: string) {
    super(message);
    this.name = 'RateLimitedBody';
    this.waitMs = waitMs;
  }
}

/**
 * Guards a page loop: a next-page request seen before means the vendor is looping. An empty page that
 * points at the same position again is the vendor saying "nothing yet, ask again": tolerated a few times.
 */
export class LoopGuard {
  private readonly seen = new Map<string, number>();
  check(key: string, vendor: string, emptyPage = false): void {
    const times = this.seen.get(key) ?? 0;
    if (times > 0 && (!emptyPage || times >= 3)) {
      throw transientError(
        'pagination_loop',
        `${vendor} returned the same next-page cursor again; stopped to avoid an endless loop.`,
        'A vendor-side pagination fault; the run resumes from the last checkpoint next time. Report it if it repeats.',
      );
    }
    this.seen.set(key, times + 1);
  }
}
