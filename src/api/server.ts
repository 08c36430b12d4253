import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { IngestReceiver } from '../app/ingest/receiver.ts';
import { ApiError, forbidden } from '../control/errors.ts';
import { StateMetrics } from '../control/metrics-state.ts';
import type { Control } from '../control/service.ts';
import { RESERVED_KEY_PROBLEM, reservedKeyPaths } from '../core/names.ts';
import type { Logger } from '../core/source.ts';
import { formatIssues } from '../core/validation.ts';
import { metrics } from '../engine/metrics.ts';
import type { Auth, Caller } from './auth.ts';
import { ClientAddress } from './client-address.ts';
import { openApiDocument } from './openapi.ts';
import { handleOps, loopbackOnly } from './ops.ts';
import { permits, type Route, routes } from './routes.ts';
import { DEFAULT_UI_DIR, serveConsole } from './static.ts';

/**
 * `tributary serve`'s HTTP surface: the JSON API of routes.ts with authentication, CSRF protection
 * for cookie sessions, strict validation, and errors with stable codes and no internals;
 * /api/openapi.json; /healthz, /readyz and /metrics (ops.ts); push collectors' ingest endpoints at /ingest/{collector}
 * (their own token auth, no cookies or CSRF: app/ingest/receiver.ts); and the web console at /.
 */

const MAX_BODY = 1024 * 1024;
const UNSAFE = new Set(['POST', 'PUT', 'DELETE']);

interface Compiled {
  route: Route;
  pattern: RegExp;
  names: string[];
}

const compiled: Compiled[] = routes.map((route) => {
  const names: string[] = [];
  const pattern = new RegExp(
    `^${route.path.replace(/\{(\w+)\}/g, (_m, n: string) => {
      names.push(n);
      return '([^/]+)';
    })}$`,
  );
  return { route, pattern, names };
});

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status === 200 ? 204 : status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY)
      throw new ApiError(413, 'body_too_large', `Request bodies are limited to ${MAX_BODY} bytes.`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new ApiError(415, 'unsupported_media_type', 'Send the body as application/json.');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_request', 'The body is not valid JSON.', [
      { path: '', message: 'expected JSON' },
    ]);
  }
  const reserved = reservedKeyPaths(body);
  if (reserved.length)
    throw new ApiError(
      400,
      'invalid_request',
      'The request is invalid.',
      reserved.map((path) => ({ path, message: RESERVED_KEY_PROBLEM })),
    );
  return body;
}

function parse(schema: z.ZodType | undefined, value: unknown, where: 'body' | 'query'): unknown {
  if (!schema) {
    const keys = value && typeof value === 'object' ? Object.keys(value) : [];
    if (keys.length)
      throw new ApiError(
        400,
        'invalid_request',
        `This request takes no ${where}.`,
        keys.map((k) => ({ path: k, message: 'unknown field' })),
      );
    return {};
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new ApiError(
    400,
    'invalid_request',
    `The request ${where} is invalid.`,
    formatIssues(r.error).map((i) => {
      const at = i.indexOf(': ');
      return at > 0 ? { path: i.slice(0, at), message: i.slice(at + 2) } : { path: '', message: i };
    }),
  );
}

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export interface ApiServerOptions {
  port: number;
  host?: string;
  log: Logger;
  version?: string;
  /** Mark cookies Secure (behind an HTTPS reverse proxy). */
  secureCookies?: boolean;
  /** The built web console (default dist/ui). */
  uiDir?: string;
  /** Reverse proxies whose X-Forwarded-For names the client (addresses or CIDR networks). */
  trustedProxies?: string[];
  /** Cluster mode: runs waiting in the queue, for tributary_cluster_jobs_queued. */
  queued?: () => Promise<number>;
  /** Readiness checks beyond the store's (cluster mode: pg-boss). */
  readiness?: Array<() => Promise<string | undefined>>;
}

export async function startApiServer(control: Control, auth: Auth, o: ApiServerOptions) {
  // Built on first request: the document describes every destination kind, and loading them all
  // (destinations/index.ts loads a kind on first use) is not a cost of starting the server.
  let openapi: string | undefined;
  const server = createServer((req, res) => void handle(req, res));
  const ingest = new IngestReceiver(control.runtime, { log: o.log });
  const clientAddress = new ClientAddress(o.trustedProxies);
  const host = o.host ?? '127.0.0.1';
  const ops = {
    store: control.runtime.store,
    auth,
    open: loopbackOnly(host),
    state: new StateMetrics(control, { queued: o.queued }),
    readiness: o.readiness,
    log: o.log,
  };
  metrics.processDefaults();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const ip = clientAddress.of(req);
    let caller: Caller | undefined;
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-store');
    try {
      if (await handleOps(req, res, url.pathname, ip, ops)) return;
      const pushed = /^\/ingest\/([^/]+)$/.exec(url.pathname);
      if (pushed) return await ingest.handle(req, res, decodeURIComponent(pushed[1]!));
      if (url.pathname === '/api/openapi.json' && method === 'GET') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end((openapi ??= JSON.stringify(openApiDocument(routes, o.version ?? '0.1.0'))));
        return;
      }
      if (!url.pathname.startsWith('/api/')) {
        if (method !== 'GET' && method !== 'HEAD')
          throw new ApiError(405, 'method_not_allowed', 'Method not allowed.');
        if (!(await serveConsole(o.uiDir ?? DEFAULT_UI_DIR, url.pathname, res, method === 'HEAD')))
          throw new ApiError(404, 'not_found', 'No such page.');
        return;
      }
      let match: { route: Route; params: Record<string, string> } | undefined;
      let pathKnown = false;
      for (const c of compiled) {
        const m = c.pattern.exec(url.pathname);
        if (!m) continue;
        pathKnown = true;
        if (c.route.method !== method) continue;
        const params: Record<string, string> = {};
        c.names.forEach((n, i) => {
          params[n] = decodeURIComponent(m[i + 1]!);
        });
        match = { route: c.route, params };
        break;
      }
      if (!match) {
        if (pathKnown) throw new ApiError(405, 'method_not_allowed', `${method} is not allowed here.`);
        throw new ApiError(404, 'not_found', 'No such endpoint.');
      }
      const { route, params } = match;
      caller = await auth.identify(req, ip);
      if (caller?.scopes)
        throw new ApiError(403, 'token_scope', `This API token is limited to: ${caller.scopes.join(', ')}.`);
      if (route.access !== 'public' && !caller)
        throw new ApiError(401, 'unauthenticated', 'Sign in or send an API token.');
      if (!permits(route.access, caller)) throw forbidden(`This needs the ${route.access} role.`);
      if (caller?.via === 'session' && UNSAFE.has(method)) {
        const sent = req.headers['x-csrf-token'];
        if (typeof sent !== 'string' || !sameSecret(sent, caller.csrfToken ?? ''))
          throw new ApiError(403, 'csrf_failed', 'Missing or wrong X-CSRF-Token header.');
      }
      const query = parse(route.query, Object.fromEntries(url.searchParams), 'query');
      const body = UNSAFE.has(method)
        ? parse(route.body, await readJson(req), 'body')
        : parse(undefined, {}, 'body');
      const result = await route.handler({
        caller,
        params,
        body,
        query,
        req,
        res,
        ip,
        secure: Boolean(o.secureCookies),
        control,
        auth,
      });
      if (result !== res) send(res, result === undefined ? 204 : (route.status ?? 200), result);
    } catch (err) {
      if (err instanceof ApiError) {
        if (!res.headersSent) for (const [k, v] of Object.entries(err.headers ?? {})) res.setHeader(k, v);
        send(res, err.status, err.toJSON());
      } else {
        o.log.error('request failed', { method, path: url.pathname, message: (err as Error)?.message });
        send(res, 500, { error: { code: 'internal', message: 'Internal error; see the server log.' } });
      }
    } finally {
      o.log.debug('request', {
        method,
        path: url.pathname,
        status: res.statusCode,
        ms: Date.now() - started,
        actor: caller?.name,
      });
    }
  }

  // A port in use (EADDRINUSE) or not permitted (EACCES) rejects, for the caller to explain.
  await new Promise<void>((ok, ko) => {
    server.once('error', ko);
    server.listen(o.port, host, () => {
      server.off('error', ko);
      ok();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      });
      await ingest.close();
    },
  };
}
