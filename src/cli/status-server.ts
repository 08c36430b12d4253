import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../engine/runtime.ts';

/**
 * A minimal read-only status surface for `serve` until the full control plane lands: /healthz,
 * /readyz, /api/status (JSON) and / (an HTML table). Binds to loopback only.
 */
export async function startStatusServer(runtime: Runtime, port: number) {
  const status = async () => {
    const since = new Date(Date.now() - 86_400_000).toISOString();
    return Promise.all(
      (await runtime.store.listCollectors()).map(async (c) => {
        const [runs, volume, last, errors] = await Promise.all([
          runtime.store.listRuns(c.id, 3),
          runtime.store.volume(c.id, since),
          runtime.store.lastEventTime(c.id),
          runtime.store.listErrors(c.id),
        ]);
        const lastRun = runs[0];
        return {
          name: c.name,
          source: c.source,
          enabled: c.enabled,
          status: !c.enabled ? 'stopped' : lastRun?.status === 'failed' ? 'error' : 'running',
          volumeLastDay: volume.reduce((n, v) => n + v.count, 0),
          lastEventReceived: last ?? null,
          lastRun: lastRun ?? null,
          errors: errors.map(({ type, code, message, action, count, lastSeen }) => ({
            type,
            code,
            message,
            action,
            count,
            lastSeen,
          })),
        };
      }),
    );
  };
  const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const server = createServer(async (req, res) => {
    try {
      if (req.url === '/healthz' || req.url === '/readyz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else if (req.url === '/api/status') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ collectors: await status() }));
      } else if (req.url === '/') {
        const rows = (await status())
          .map(
            (c) =>
              `<tr><td>${esc(c.source)}</td><td>${esc(c.name)}</td><td>${c.volumeLastDay}</td><td>${esc(c.lastEventReceived ?? '—')}</td><td>${esc(c.status)}</td><td>${esc(c.errors[0]?.message ?? '')}</td></tr>`,
          )
          .join('');
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(
            `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="10"><title>Tributary</title><style>body{font:14px system-ui;margin:2em}td,th{padding:4px 12px;text-align:left;border-bottom:1px solid #ddd}</style><h1>Tributary</h1><table><tr><th>Type</th><th>Name</th><th>Volume (last day)</th><th>Last event received</th><th>Status</th><th>Last error</th></tr>${rows}</table>`,
          );
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found"}}');
      }
    } catch {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"internal"}}');
    }
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
