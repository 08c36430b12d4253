import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of a local server (Azurite, a simulator) that injects the faults a real
 * service shows: `failNext(n, status)` answers the next n requests itself, without forwarding them
 * (an outage, throttling); `failAfterForward(n, status)` forwards the request — the server stores
 * it — and then answers `status` instead of the server's answer (a failure after receiving, which
 * the client must not take as an acknowledgement). Everything else passes through unchanged.
 */
export class FaultProxy {
  private readonly upstream: URL;
  private server?: Server;
  private before = { n: 0, status: 503 };
  private afterward = { n: 0, status: 500 };
  /** Requests forwarded to the server, and requests answered by a fault. */
  readonly stats = { forwarded: 0, faulted: 0 };
  url = '';

  constructor(upstream: string) {
    this.upstream = new URL(upstream);
  }

  failNext(n: number, status = 503): void {
    this.before = { n, status };
  }

  failAfterForward(n: number, status = 500): void {
    this.afterward = { n, status };
  }

  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      if (this.before.n > 0) {
        this.before.n--;
        this.stats.faulted++;
        res.writeHead(this.before.status, { 'content-length': 0, 'retry-after': '0' });
        return res.end();
      }
      const headers = { ...req.headers, host: this.upstream.host };
      const up = httpRequest(
        {
          host: this.upstream.hostname,
          port: this.upstream.port,
          method: req.method,
          path: req.url,
          headers,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c) => parts.push(c));
          answer.on('end', () => {
            this.stats.forwarded++;
            if (this.afterward.n > 0) {
              this.afterward.n--;
              this.stats.faulted++;
              res.writeHead(this.afterward.status, { 'content-length': 0 });
              return res.end();
            }
            const out = Buffer.concat(parts);
            const h = { ...answer.headers, 'content-length': String(out.length) };
            delete h['transfer-encoding'];
            res.writeHead(answer.statusCode ?? 502, h);
            res.end(out);
          });
        },
      );
      up.on('error', () => {
        res.writeHead(502, { 'content-length': 0 });
        res.end();
      });
      up.end(body);
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }
}
