/**
 * Proofpoint on Demand Log API simulator: a WebSocket server (the `ws` package) at `/v1/stream`. Proofpoint
 * gives the Log API's document ("Proofpoint on Demand (PoD) Log API", Revision C, November 2020) to customers;
 * the simulator follows the public copies of it and what integrations state:
 *
 * - https://fdocuments.in/document/proofpoint-on-demand-pod-log-api-connection-notes-the-pod-log-api-does-not-allow.html
 *   (the document's "Connection Notes"; the same notes on https://docs.cyderes.cloud/integrations/proofpoint-ondemand/,
 *   "Caveats / Known Limitations") — "does not allow use of the same token for more than one session at the
 *   same time": a second handshake while one is open is refused with 409; a client back within one hour gets
 *   the data from the moment it dropped, one away longer gets "the accumulated data starting from the last one
 *   hour": `sinceTime` replays the records with `ts` at or after it, up to one hour back, oldest first; then
 *   records are sent as they happen (`publish`); each WebSocket text message is one JSON record.
 * - https://vdocs.virtualmetric.com/configuration/devices/other/proofpoint-on-demand ("Connection", "WebSocket
 *   Connection") — `wss://logstream.proofpoint.com:443/v1/stream` with the cluster id and `type` (`message` or
 *   `maillog`) as query parameters and the token as `Authorization: Bearer`: here `GET
 *   /v1/stream?cid=<cluster>&type=message|maillog&sinceTime=<ISO>` upgraded to a WebSocket.
 * - Records shaped after the document's field tables and samples (Google SecOps' PoD feed guide, Cortex
 *   XSOAR's Proofpoint Email Security Event Collector and node-proofpoint-podclient use the same): `message`
 *   (`guid`, `id`, `ts`, `connection`, `envelope`, `msg`, `filter`, `msgParts`, `metadata`) and `maillog` (`id`,
 *   `ts`, `data`, `sm`, `tls`, `pps`, `metadata`), `ts` as `YYYY-MM-DDTHH:MM:SS.ffffff+0000`.
 *
 * Not modelled: the document's summary also describes querying archived logs by date range, in hourly
 * intervals, up to 30 days back (`sinceTime` with an end time); the simulator replays one hour at most, as the
 * source assumes.
 *
 * Decided by the simulator (the public copies leave it open): a wrong key is refused with 401, an unknown
 * cluster with 403. Faults (the shared kit's kinds, at the handshake): `status` and `rate-limit` answer the
 * handshake with that status (`Retry-After` for 429); `reset` destroys the socket; `truncate` accepts, replays
 * half, then drops the connection; `empty` accepts and replays nothing; `dropAfter(n)` drops a session after it
 * sent `n` records.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import {
  type Clock,
  type Fault,
  FaultQueue,
  person,
  Rng,
  type SpacedEvents,
  seedOf,
  spacedEvents,
} from '../../sim/kit.ts';

export interface PodSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Records per type generated up front (default 50), `spacingMs` apart, the last 2 minutes before now. */
  records?: number;
  spacingMs?: number;
  eventBytes?: number;
  apiKey?: string;
  clusterId?: string;
}

interface Rec {
  type: 'message' | 'maillog';
  t: number;
  vis: number;
  seq: number;
}

export interface Handshake {
  type: string | null;
  sinceTime: string | null;
  authorization?: string;
  status: number;
}

const REPLAY_MS = 3_600_000;

export class PodSimulator {
  readonly clock: Clock;
  readonly seed: number;
  readonly apiKey: string;
  readonly clusterId: string;
  readonly handshakes: Handshake[] = [];
  private readonly o: PodSimulatorOptions & { spacingMs: number };
  private readonly recs: Rec[] = [];
  private readonly faults = new FaultQueue();
  private readonly sessions = new Map<WebSocket, { type: string; sent: number; dropAfter?: number }>();
  private server?: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private base?: string;
  private dropAfterN?: number;

  constructor(o: PodSimulatorOptions = {}) {
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.apiKey = o.apiKey ?? new Rng(this.seed).base62(40);
    this.clusterId = o.clusterId ?? 'acme_hosted';
    this.o = { spacingMs: 30_000, ...o };
    const n = o.records ?? 50;
    for (const type of ['message', 'maillog'] as const) {
      const first = this.clock() - 2 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
      for (let i = 0; i < n; i++) this.add(type, first + i * this.o.spacingMs, first + i * this.o.spacingMs);
    }
  }

  /** `http://127.0.0.1:PORT` (the account's `url`; the client connects with ws://). */
  get url(): string {
    if (!this.base) throw new Error('PoD simulator not started');
    return this.base;
  }

  async start(): Promise<string> {
    const server = createServer((_req, res) =>
      res.writeHead(426, { 'content-type': 'text/plain' }).end('Upgrade Required'),
    );
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    for (const ws of this.sessions.keys()) ws.terminate();
    this.sessions.clear();
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
    this.wss.close();
  }

  inject(fault: Fault): void {
    this.faults.inject(fault);
  }

  /** Drops every session after it has sent `n` more records (undefined: never). */
  dropAfter(n: number | undefined): void {
    this.dropAfterN = n;
  }

  /** Sessions open now. */
  openSessions(): number {
    return this.sessions.size;
  }

  /** Adds records and sends them to the open sessions of their type when visible now. */
  publish(type: 'message' | 'maillog', n: number, o: SpacedEvents = {}): void {
    for (const [t, vis] of spacedEvents(n, this.clock(), this.o.spacingMs, o)) {
      const r = this.add(type, t, vis);
      if (r.vis <= this.clock())
        for (const [ws, s] of this.sessions) if (s.type === type) this.send(ws, s, r);
    }
  }

  /** Every record id of `type` (or both). */
  ids(type?: 'message' | 'maillog'): string[] {
    return this.recs.filter((r) => !type || r.type === type).map((r) => this.idOf(r));
  }

  // -------------------------------------------------------------------------------------------

  private add(type: 'message' | 'maillog', t: number, vis: number): Rec {
    const r = { type, t: Math.floor(t), vis, seq: this.recs.length };
    this.recs.push(r);
    return r;
  }

  private idOf(r: Rec): string {
    return `${r.type === 'message' ? 'm' : 'l'}${new Rng(seedOf(this.seed, 'id', r.seq)).base62(22)}`;
  }

  private refuse(socket: Duplex, status: number, headers: Record<string, string> = {}): void {
    const text =
      { 401: 'Unauthorized', 403: 'Forbidden', 409: 'Conflict', 429: 'Too Many Requests' }[status] ?? 'Error';
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\n${extra}content-type: text/plain\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`,
    );
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): undefined {
    const url = new URL(req.url ?? '/', 'http://x');
    const hs: Handshake = {
      type: url.searchParams.get('type'),
      sinceTime: url.searchParams.get('sinceTime'),
      authorization: req.headers.authorization,
      status: 101,
    };
    this.handshakes.push(hs);
    const done = (status: number, headers?: Record<string, string>): undefined => {
      hs.status = status;
      this.refuse(socket, status, headers);
    };
    if (url.pathname !== '/v1/stream') return done(404);
    const fault = this.faults.take('GET', url.pathname);
    if (fault?.kind === 'reset') {
      hs.status = 0;
      socket.destroy();
      return;
    }
    if (fault?.kind === 'status') return done(fault.status, fault.headers);
    if (fault?.kind === 'rate-limit') return done(429, { 'retry-after': String(fault.retryAfter) });
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return done(401);
    if (url.searchParams.get('cid') !== this.clusterId) return done(403);
    const type = url.searchParams.get('type');
    if (type !== 'message' && type !== 'maillog') return done(400);
    if (this.sessions.size > 0) return done(409); // one session per key
    const since = Date.parse((url.searchParams.get('sinceTime') ?? '').replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const s: { type: string; sent: number; dropAfter?: number } = {
        type,
        sent: 0,
        dropAfter: this.dropAfterN,
      };
      this.sessions.set(ws, s);
      ws.on('close', () => this.sessions.delete(ws));
      if (fault?.kind === 'empty') return;
      const now = this.clock();
      const from = Math.max(Number.isFinite(since) ? since : now, now - REPLAY_MS);
      const replay = this.recs
        .filter((r) => r.type === type && r.vis <= now && r.t >= from)
        .sort((a, b) => a.t - b.t || a.seq - b.seq);
      const upTo = fault?.kind === 'truncate' ? Math.floor(replay.length / 2) : replay.length;
      for (const r of replay.slice(0, upTo)) if (!this.send(ws, s, r)) return;
      if (fault?.kind === 'truncate') ws.terminate();
    });
  }

  /** Sends one record; false once the session was dropped. */
  private send(ws: WebSocket, s: { sent: number; dropAfter?: number }, r: Rec): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (s.dropAfter !== undefined && s.sent >= s.dropAfter) {
      ws.terminate();
      return false;
    }
    ws.send(this.json(r));
    s.sent++;
    return true;
  }

  private json(r: Rec): string {
    const rng = new Rng(seedOf(this.seed, r.type, r.seq));
    const ts = `${new Date(r.t).toISOString().slice(0, 23)}${String(rng.int(0, 999)).padStart(3, '0')}+0000`;
    const from = person(rng, rng.pick(['partner.example', 'vendor.example']));
    const to = person(rng, 'acme.example');
    const meta = {
      origin: { data: { agent: 'm0201234.ppops.net', cid: this.clusterId, version: '8.21.0.1358' } },
    };
    let rec: Record<string, unknown>;
    if (r.type === 'message') {
      rec = {
        guid: rng.base62(32),
        id: this.idOf(r),
        ts,
        connection: {
          ip: `203.0.113.${rng.int(1, 254)}`,
          host: 'mail.partner.example',
          protocol: 'smtp:smtp',
          tls: { inbound: { version: 'TLSv1.3' } },
        },
        envelope: { from: from.email, rcpts: [to.email] },
        msg: {
          header: {
            from: [`"${from.displayName}" <${from.email}>`],
            subject: [rng.pick(['Invoice 4471', 'Meeting', 'Shared file'])],
          },
          sizeBytes: rng.int(2000, 90_000),
        },
        filter: {
          disposition: rng.pick(['continue', 'quarantine', 'reject']),
          routeDirection: 'inbound',
          modules: {
            spam: { scores: { overall: rng.int(0, 100) } },
            urldefense: { counts: { rewritten: rng.int(0, 4) } },
          },
          actions: [{ module: 'access', rule: 'default_inbound', action: 'continue', isFinal: true }],
        },
        msgParts: [],
        metadata: meta,
      };
    } else {
      rec = {
        id: this.idOf(r),
        ts,
        data: `${ts.slice(0, 19)} m0201234 sendmail[${rng.int(1000, 99999)}]: 3b8f${rng.hex(8)}: from=<${from.email}>, size=${rng.int(2000, 90_000)}, nrcpts=1, proto=ESMTPS, relay=mail.partner.example`,
        sm: {
          qid: `3b8f${rng.hex(8)}`,
          from: from.email,
          sizeBytes: rng.int(2000, 90_000),
          proto: 'ESMTPS',
          relay: 'mail.partner.example',
        },
        tls: { verify: 'NONE' },
        pps: { agent: 'm0201234.ppops.net', cid: this.clusterId },
        metadata: meta,
      };
    }
    if (this.o.eventBytes) {
      const left = this.o.eventBytes - JSON.stringify(rec).length;
      if (left > 0) rec.msgParts = [{ detectedName: 'x'.repeat(left) }];
    }
    return JSON.stringify(rec);
  }
}
