import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { ApiError } from '../control/errors.ts';
import type { StateMetrics } from '../control/metrics-state.ts';
import type { Logger } from '../core/source.ts';
import type { Store } from '../core/store.ts';
import { isLoopbackHost } from '../core/validation.ts';
import { metrics } from '../engine/metrics.ts';
import type { Auth } from './auth.ts';

/**
 * The operator's endpoints (docs/operations.md), on `tributary serve` and on `tributary worker
 * --metrics-port`:
 *
 * - /healthz: liveness, 200 while the process answers at all.
 * - /readyz: 503 with the reason while the store is unreachable, does not answer within 2 s, or has
 *   schema migrations pending (and, for a worker or a cluster-mode serve, while pg-boss's queue cannot be
 *   read); 200 otherwise.
 * - /metrics: the Prometheus text format. Open while the listener is on loopback only; on any other
 *   address it needs `Authorization: Bearer` with an API token scoped to `metrics` (or an unscoped one,
 *   or a signed-in session): the numbers name every collector, destination and account.
 */

/** How long readiness waits for the store (and pg-boss) before it answers 503. */
export const READY_TIMEOUT_MS = 2000;

export interface OpsOptions {
  store: Store;
  /** Checks API tokens for /metrics when `open` is false. */
  auth: Auth;
  /** /metrics needs no credentials (the listener is on loopback only). */
  open: boolean;
  /** Store-derived gauges (serve only: one answer whatever the replica). */
  state?: StateMetrics;
  /** More readiness checks (pg-boss); each returns why it is not ready, or undefined. */
  readiness?: Array<() => Promise<string | undefined>>;
  log: Logger;
}

/** True when `host` (a listen address) accepts connections from this machine only. */
export const loopbackOnly = (host: string) => isLoopbackHost(host) || host === '::1';

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res
    .writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' })
    .end(JSON.stringify(body));
}

/** Why this process is not ready, or undefined; never throws. */
export async function unready(o: Pick<OpsOptions, 'store' | 'readiness'>): Promise<string | undefined> {
  const checks = [() => o.store.unready(READY_TIMEOUT_MS), ...(o.readiness ?? [])];
  const reasons = await Promise.all(
    checks.map((check) =>
      check().catch((err: unknown) => `a readiness check failed: ${(err as Error).message}`),
    ),
  );
  return reasons.find(Boolean);
}

/** The registries of a scrape: this process's counters and, on serve, the store's state. */
async function exposition(state?: StateMetrics): Promise<{ text: string; type: string }> {
  if (!state) return { text: await metrics.registry.metrics(), type: metrics.registry.contentType };
  await state.refresh();
  const merged = Registry.merge([metrics.registry, state.registry]);
  return { text: await merged.metrics(), type: merged.contentType };
}

/**
 * Answers /healthz, /readyz and /metrics; false for any other path (the caller goes on). Failures are
 * answered here, without internals.
 */
export async function handleOps(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  ip: string,
  o: OpsOptions,
): Promise<boolean> {
  if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') return false;
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    json(res, 405, { error: { code: 'method_not_allowed', message: 'Use GET.' } }, { allow: 'GET, HEAD' });
    return true;
  }
  if (path === '/healthz') {
    json(res, 200, { status: 'ok' });
    return true;
  }
  if (path === '/readyz') {
    const reason = await unready(o);
    if (reason) json(res, 503, { status: 'unavailable', reason });
    else json(res, 200, { status: 'ok' });
    return true;
  }
  try {
    if (!o.open) {
      const caller = await o.auth.identify(req, ip);
      if (!caller) throw new ApiError(401, 'unauthenticated', 'Send an API token with the metrics scope.');
      if (caller.scopes && !caller.scopes.includes('metrics'))
        throw new ApiError(403, 'forbidden', 'This API token is not scoped to metrics.');
    }
    const { text, type } = await exposition(o.state);
    res.writeHead(200, { 'content-type': type }).end(method === 'HEAD' ? undefined : text);
  } catch (err) {
    if (err instanceof ApiError) {
      const challenge: Record<string, string> =
        err.status === 401 ? { 'www-authenticate': 'Bearer realm="tributary-metrics"' } : {};
      json(res, err.status, err.toJSON(), challenge);
    } else {
      o.log.error('metrics: could not answer a scrape', { message: (err as Error)?.message });
      json(res, 500, { error: { code: 'internal', message: 'Internal error; see the server log.' } });
    }
  }
  return true;
}

/**
 * `tributary worker --metrics-port`: a listener with /healthz, /readyz and /metrics only (the worker has
 * no API). Protected like serve's: open on loopback, API tokens scoped to metrics elsewhere.
 */
export async function startOpsServer(o: OpsOptions & { port: number; host: string }) {
  const server = createServer((req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-store');
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    void handleOps(req, res, path, req.socket.remoteAddress ?? '', o)
      .then((handled) => {
        if (!handled)
          json(res, 404, { error: { code: 'not_found', message: 'Only /healthz, /readyz and /metrics.' } });
      })
      .catch(() => {
        if (!res.headersSent) json(res, 500, { error: { code: 'internal', message: 'Internal error.' } });
      });
  });
  metrics.processDefaults();
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port, o.host, ok);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
