import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export * from './data.ts';
export * from './random.ts';

/**
 * The simulator kit: a small node:http server with a router, a request log (so tests can prove a
 * collector never wrote to a vendor), a controllable clock and injectable faults. Vendor simulators
 * (src/sources/<id>/simulator.ts) build on it and add the vendor's documented behaviour, citing it.
 *
 * The kit follows no vendor; its generic behaviour is HTTP's:
 * - `rate-limit` faults answer 429 "Too Many Requests" (RFC 6585 §4) with `Retry-After` in seconds
 *   (RFC 9110 §10.2.3); the vendor simulator supplies its own body (`rateLimitReply`).
 * - `status` faults answer the status with the vendor's error body (`errorReply`); an unknown path is 404
 *   and a known path with another method 405 (RFC 9110 §15.5.5, §15.5.6).
 * - `truncate` sends the status and headers, then about half the body and closes the connection (a body
 *   shorter than its Content-Length, or a chunked body without its last chunk: RFC 9112 §6.3, §7.1);
 *   `reset` closes the connection without an answer; `delay` holds the real answer back.
 * - `empty` asks the vendor simulator for "a valid empty page" in that vendor's own sense (each simulator
 *   says what that is; assumed where its vendor does not document empty pages).
 * - Request bodies over 16 MB are refused with 413 (RFC 9110 §15.5.14; assumed: vendors cap bodies).
 */

// ---------------------------------------------------------------------------------------------
// Clock

/** Milliseconds since the epoch. The same function is given to the engine under test. */
export type Clock = () => number;

/** A clock that only moves when told to, so tests make time pass without sleeping. */
/**
 * A simulated vendor log kept as arrays: each record's time and the time it becomes visible (a vendor
 * that indexes late), by arrival, with the arrivals in time order on demand. Times are truncated to
 * `resolutionMs` (1000 for vendors that keep whole seconds).
 */
export class TimedLog {
  readonly t: number[] = [];
  readonly vis: number[] = [];
  private readonly order: number[] = [];
  private sorted = true;
  private readonly resolutionMs: number;

  constructor(resolutionMs = 1) {
    this.resolutionMs = resolutionMs;
  }

  /** Records an arrival; returns its sequence number. */
  add(t: number, visible: number): number {
    const seq = this.t.length;
    this.t.push(this.resolutionMs === 1 ? t : Math.floor(t / this.resolutionMs) * this.resolutionMs);
    this.vis.push(visible);
    const last = this.order[this.order.length - 1];
    if (last !== undefined && this.t[last] > this.t[seq]) this.sorted = false;
    this.order.push(seq);
    return seq;
  }

  /** Arrivals oldest first (arrival order among equal times). */
  ascending(): number[] {
    if (!this.sorted) {
      this.order.sort((a, b) => this.t[a] - this.t[b] || a - b);
      this.sorted = true;
    }
    return this.order;
  }
}

/** How a test adds events to a simulator: spacing, start, and how late each becomes visible. */
export interface SpacedEvents {
  spacingMs?: number;
  /** The first event's time (default: `n` spacings before now, so the last is just before now). */
  from?: number;
  /** Each event becomes visible this long after its own time (never before now). */
  visibleDelayMs?: number;
}

/** `[time, visibleAt]` of `n` events `spacingMs` apart, as SpacedEvents says. */
export function spacedEvents(
  n: number,
  now: number,
  spacingMs: number,
  o: SpacedEvents = {},
): Array<[number, number]> {
  const spacing = o.spacingMs ?? spacingMs;
  const from = o.from ?? now - n * spacing;
  return Array.from({ length: n }, (_, i) => {
    const t = from + i * spacing;
    return [t, Math.max(t + (o.visibleDelayMs ?? 0), now)];
  });
}

export class ManualClock {
  private t: number;
  constructor(start: number | string = Date.now()) {
    this.t = typeof start === 'string' ? Date.parse(start) : start;
  }
  /** Bound, so it can be handed around as a `Clock`. */
  readonly now: Clock = () => this.t;
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
  set(at: number | string): number {
    this.t = typeof at === 'string' ? Date.parse(at) : at;
    return this.t;
  }
}

// ---------------------------------------------------------------------------------------------
// Request log

export interface RecordedRequest {
  /** Which server of a simulator answered (`api`, `files`, …). */
  server: string;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Simulator clock time of arrival. */
  at: number;
}

/** Every request a simulator received; shareable between the servers of one simulator. */
export class RequestLog {
  readonly entries: RecordedRequest[] = [];
  add(r: RecordedRequest): void {
    this.entries.push(r);
  }
  all(): RecordedRequest[] {
    return [...this.entries];
  }
  /** Requests that could change vendor data: every method but GET and HEAD. Tests assert it is empty. */
  writeCalls(): RecordedRequest[] {
    return this.entries.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
  }
  matching(path: RegExp | string, method?: string): RecordedRequest[] {
    return this.entries.filter((r) => matchPath(path, r.path) && (!method || r.method === method));
  }
  clear(): void {
    this.entries.length = 0;
  }
}

const matchPath = (p: RegExp | string, path: string) => {
  if (typeof p === 'string') return path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`);
  p.lastIndex = 0;
  return p.test(path);
};

// ---------------------------------------------------------------------------------------------
// Faults

export interface FaultMatch {
  /** Only requests whose path matches (a RegExp, or a path prefix). Default: every request. */
  path?: RegExp | string;
  method?: string;
  /** How many matching requests fire this fault (default 1). */
  times?: number;
  /** Let the first N matching requests through before firing. */
  afterRequests?: number;
}

export type FaultKind =
  /** Answer with this status (e.g. 500/502/503 bursts, 401); the vendor sim supplies its error body. */
  | { kind: 'status'; status: number; body?: string | object; headers?: Record<string, string> }
  /** 429 with `Retry-After: <retryAfter seconds>`; the vendor sim adds its rate headers and body. */
  | { kind: 'rate-limit'; retryAfter: number }
  /** Status 200 and headers, about half of the real body, then the socket is destroyed. */
  | { kind: 'truncate' }
  /** The socket is destroyed without an answer. */
  | { kind: 'reset' }
  /** The real answer, held back this many (real) milliseconds, for client timeouts. */
  | { kind: 'delay'; ms: number }
  /** A valid empty page, in the vendor's own sense. */
  | { kind: 'empty' };

export type Fault = FaultMatch & FaultKind;

interface QueuedFault {
  fault: Fault;
  times: number;
  skip: number;
}

/** Faults waiting to fire, in injection order; shareable between the servers of one simulator. */
export class FaultQueue {
  private queue: QueuedFault[] = [];

  inject(fault: Fault): void {
    this.queue.push({ fault, times: fault.times ?? 1, skip: fault.afterRequests ?? 0 });
  }

  clear(): void {
    this.queue = [];
  }

  /** How many firings are still due. */
  pending(): number {
    return this.queue.reduce((n, q) => n + q.times, 0);
  }

  /**
   * The fault for this request, if any. Every matching fault still skipping counts the request;
   * the first matching fault that is no longer skipping fires.
   */
  take(method: string, path: string): Fault | undefined {
    let chosen: QueuedFault | undefined;
    for (const q of this.queue) {
      const f = q.fault;
      if (f.method && f.method.toUpperCase() !== method) continue;
      if (f.path !== undefined && !matchPath(f.path, path)) continue;
      if (q.skip > 0) {
        q.skip--;
        continue;
      }
      chosen ??= q;
    }
    if (!chosen) return undefined;
    chosen.times--;
    if (chosen.times <= 0) this.queue = this.queue.filter((q) => q !== chosen);
    return chosen.fault;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests, replies, routes

export interface SimRequest {
  server: string;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Named `:params` of the matched route, URI-decoded. */
  params: Record<string, string>;
  /** Simulator clock time of arrival. */
  at: number;
  /** `http(s)://host:port` as the client addressed this server (from the Host header). */
  origin: string;
  /** The full request URL as the client addressed it. */
  url: URL;
  /** An injected `empty` fault matched: serve a valid empty page. */
  empty: boolean;
  /** The request body (POST token endpoints and query APIs); empty for GET and HEAD. */
  body: Buffer;
  raw: IncomingMessage;
}

export type SimBody = string | Uint8Array | Readable | (() => Readable);

export interface SimReply {
  status: number;
  headers?: OutgoingHttpHeaders;
  body?: SimBody;
}

export type Handler = (req: SimRequest) => SimReply | Promise<SimReply>;

/** Vendor-specific shapes for the kit's generic answers. */
export interface SimHooks {
  /** The vendor's error for `status` (injected status faults without a body, 404, 405, 500). */
  errorReply?(req: SimRequest, status: number): SimReply;
  /** The vendor's 429 for an injected rate-limit fault; the kit adds `Retry-After`. */
  rateLimitReply?(req: SimRequest, retryAfterSeconds: number): SimReply;
  /** Called on every reply just before it is sent, e.g. to add rate-limit headers. */
  decorate?(req: SimRequest, reply: SimReply): void;
}

export function json(status: number, body: unknown, headers: OutgoingHttpHeaders = {}): SimReply {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

export function text(status: number, body: string, headers: OutgoingHttpHeaders = {}): SimReply {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body };
}

export function redirect(
  status: 301 | 302 | 303 | 307 | 308,
  location: string,
  headers: OutgoingHttpHeaders = {},
): SimReply {
  return { status, headers: { location, ...headers } };
}

interface Route {
  method: string;
  pattern: string;
  re: RegExp;
  names: string[];
  handler: Handler;
}

function compile(pattern: string): { re: RegExp; names: string[] } {
  const names: string[] = [];
  const src = pattern
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        names.push(seg.slice(1));
        return '([^/]+)';
      }
      if (seg === '*') {
        names.push('*');
        return '(.*)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { re: new RegExp(`^${src}/?$`), names };
}

// ---------------------------------------------------------------------------------------------
// Server

export interface SimServerOptions {
  /** Label in the request log (`api`, `files`). */
  name?: string;
  clock?: Clock;
  host?: string;
  port?: number;
  /** Share one fault queue / request log between the servers of one simulator. */
  faults?: FaultQueue;
  requests?: RequestLog;
  hooks?: SimHooks;
  /** Serve HTTPS with this key and certificate (PEM), for tests of TLS paths (CONNECT through a proxy). */
  tls?: { key: string; cert: string };
}

export class SimServer {
  readonly name: string;
  readonly clock: Clock;
  readonly faults: FaultQueue;
  readonly requests: RequestLog;
  hooks: SimHooks;
  /** Handler exceptions (answered with 500), for debugging simulators. */
  readonly errors: unknown[] = [];
  private readonly routes: Route[] = [];
  private readonly host: string;
  private readonly port: number;
  private readonly tls?: { key: string; cert: string };
  private server: Server | undefined;
  private base: string | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(opts: SimServerOptions = {}) {
    this.name = opts.name ?? 'api';
    this.clock = opts.clock ?? Date.now;
    this.faults = opts.faults ?? new FaultQueue();
    this.requests = opts.requests ?? new RequestLog();
    this.hooks = opts.hooks ?? {};
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 0;
    this.tls = opts.tls;
  }

  /** `http://127.0.0.1:PORT` (`https://` with `tls`) once started. */
  get url(): string {
    if (!this.base) throw new Error(`simulator server "${this.name}" is not started`);
    return this.base;
  }

  private get scheme(): 'http' | 'https' {
    return this.tls ? 'https' : 'http';
  }

  get started(): boolean {
    return this.base !== undefined;
  }

  now(): number {
    return this.clock();
  }

  /** `pattern` is a path such as `/api/v1/logs` or `/v1/compliance/:kind/:id/logs/:fileId`. */
  route(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), pattern, ...compile(pattern), handler });
    return this;
  }

  async start(): Promise<string> {
    if (this.base) return this.base;
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err) => {
        this.errors.push(err);
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end();
        } else res.destroy();
      });
    };
    const server: Server = this.tls
      ? createHttpsServer({ keepAliveTimeout: 10_000, ...this.tls }, listener)
      : createServer({ keepAliveTimeout: 10_000 }, listener);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const addr = server.address() as AddressInfo;
    this.base = `${this.scheme}://${this.host}:${addr.port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.base = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  inject(fault: Fault): void {
    this.faults.inject(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  faultsPending(): number {
    return this.faults.pending();
  }

  writeCalls(): RecordedRequest[] {
    return this.requests.writeCalls();
  }

  // -------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const host = req.headers.host ?? `${this.host}:${(this.server?.address() as AddressInfo | null)?.port}`;
    const origin = `${this.scheme}://${host}`;
    const url = new URL(req.url ?? '/', origin);
    const at = this.clock();
    const path = url.pathname;
    this.requests.add({ server: this.name, method, path, query: url.searchParams, headers: req.headers, at });
    // GET and HEAD bodies are drained; other methods' bodies are read for the handler (bounded).
    let body = EMPTY;
    if (method === 'GET' || method === 'HEAD') req.resume();
    else {
      const read = await readBody(req);
      if (read === undefined) {
        res.writeHead(413, { 'content-type': 'text/plain' }).end('request body too large');
        return;
      }
      body = read;
    }

    const sreq: SimRequest = {
      server: this.name,
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      params: {},
      at,
      origin,
      url,
      empty: false,
      body,
      raw: req,
    };

    const fault = this.faults.take(method, path);
    let truncate = false;
    if (fault) {
      switch (fault.kind) {
        case 'reset':
          req.socket.destroy();
          return;
        case 'delay':
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              this.timers.delete(t);
              resolve();
            }, fault.ms);
            this.timers.add(t);
          });
          if (res.destroyed || !this.server) return;
          break;
        case 'status':
          return this.send(sreq, res, this.statusFault(sreq, fault), false);
        case 'rate-limit': {
          const reply =
            this.hooks.rateLimitReply?.(sreq, fault.retryAfter) ??
            json(429, { error: 'rate limited (simulated)' });
          reply.headers = { ...reply.headers, 'retry-after': String(fault.retryAfter) };
          return this.send(sreq, res, reply, false);
        }
        case 'truncate':
          truncate = true;
          break;
        case 'empty':
          sreq.empty = true;
          break;
      }
    }

    let reply: SimReply;
    const lookupMethod = method === 'HEAD' ? 'GET' : method;
    let pathMatched = false;
    let route: Route | undefined;
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== lookupMethod && r.method !== '*') continue;
      route = r;
      r.names.forEach((n, i) => {
        sreq.params[n] = safeDecode(m[i + 1]);
      });
      break;
    }
    if (route) {
      try {
        reply = await route.handler(sreq);
      } catch (err) {
        this.errors.push(err);
        reply = this.errorReply(sreq, 500);
      }
    } else reply = this.errorReply(sreq, pathMatched ? 405 : 404);
    return this.send(sreq, res, reply, truncate);
  }

  private statusFault(req: SimRequest, fault: Extract<Fault, { kind: 'status' }>): SimReply {
    if (fault.body === undefined) {
      const reply = this.errorReply(req, fault.status);
      if (fault.headers) reply.headers = { ...reply.headers, ...fault.headers };
      return reply;
    }
    const isText = typeof fault.body === 'string';
    return {
      status: fault.status,
      headers: {
        'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json',
        ...fault.headers,
      },
      body: isText ? (fault.body as string) : JSON.stringify(fault.body),
    };
  }

  private errorReply(req: SimRequest, status: number): SimReply {
    return this.hooks.errorReply?.(req, status) ?? json(status, { error: `simulated ${status}` });
  }

  private send(req: SimRequest, res: ServerResponse, reply: SimReply, truncate: boolean): void {
    this.hooks.decorate?.(req, reply);
    const headers: OutgoingHttpHeaders = { ...reply.headers };
    let body = reply.body;
    if (typeof body === 'function') body = body();
    const head = req.method === 'HEAD';

    if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
      const buf = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
      headers['content-length'] = String(buf?.byteLength ?? 0);
      res.writeHead(reply.status, headers);
      if (head || !buf) return void res.end();
      if (truncate) {
        res.write(buf.subarray(0, Math.max(1, Math.floor(buf.byteLength / 2))), () => res.socket?.destroy());
        return;
      }
      res.end(buf);
      return;
    }

    // A stream: chunked unless the handler declared a length.
    const stream = body;
    res.writeHead(reply.status, headers);
    if (head) {
      stream.destroy();
      return void res.end();
    }
    const declared = Number(headers['content-length'] ?? Number.NaN);
    const cutAt = truncate ? (Number.isFinite(declared) ? Math.floor(declared / 2) : 64 * 1024) : Infinity;
    let sent = 0;
    res.on('close', () => stream.destroy());
    stream.on('error', (err) => {
      this.errors.push(err);
      res.destroy();
    });
    stream.on('data', (chunk: Buffer) => {
      if (sent + chunk.byteLength >= cutAt) {
        const part = chunk.subarray(0, Math.max(0, cutAt - sent));
        sent = cutAt;
        stream.destroy();
        res.write(part, () => res.socket?.destroy());
        return;
      }
      sent += chunk.byteLength;
      if (!res.write(chunk)) {
        stream.pause();
        res.once('drain', () => stream.resume());
      }
    });
    // A truncated stream that ended early still loses its end: no final chunk, the socket just closes.
    stream.on('end', () => (truncate ? res.socket?.end() : res.end()));
  }
}

const EMPTY: Buffer = Buffer.alloc(0);
const MAX_BODY = 16 * 1024 * 1024;

/** The whole request body, or undefined past MAX_BODY. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * What a simulator serving one SimServer offers its tests: its URL, start and stop, injected faults and the
 * request log. A simulator extends it and creates `server` in its constructor.
 */
export abstract class SimHost {
  abstract readonly server: SimServer;

  get url(): string {
    return this.server.url;
  }

  async start(): Promise<string> {
    await this.server.start();
    return this.url;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  inject(fault: Fault): void {
    this.server.inject(fault);
  }

  requests(): RecordedRequest[] {
    return this.server.requests.all();
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A Readable over a generator of chunks, pulled only as fast as the client reads. */
export function streamOf(chunks: () => Iterable<Uint8Array | string>): () => Readable {
  return () => Readable.from(chunks(), { objectMode: false });
}
