/**
 * Symantec Endpoint Security (ICDm) simulator: the token endpoint and the event export stream. Vendor
 * behaviour, with where it is published: "Symantec Integrated Cyber Defense Manager (ICDm): API reference"
 * (https://apidocs.symantec.com/home/sep_15), 1.1.1 Required components (bearer token, JSON) and 2.1
 * Authentication (2.1.1 Overview and prerequisites: the client application's Client ID and Secret from
 * Integration > Client Applications; 2.1.2 API command details: the token request). The event export
 * stream is not in that reference: its request and answer shapes are those Cortex XSIAM's Symantec
 * Endpoint Security collector uses
 * (https://github.com/demisto/content/tree/master/Packs/SymantecEndpointSecurity, the integration's
 * SymantecEndpointSecurity.py), so the source ships as early access.
 *
 * - `POST /v1/oauth2/tokens`, `authorization: Basic <OAuth Credentials>`, form content type →
 *   `{access_token, token_type, expires_in}`; 401 for a wrong client.
 * - `POST /v1/event-export/stream/{streamId}/{channelId}?connectionTimeout=<s>` with the bearer token and a
 *   JSON body `{}` or `{"next": "<opaque>"}` → `{events: [...], next}`; an unknown stream or channel is 404;
 *   a `next` Symantec no longer keeps is 410; an expired token 401.
 * - Events carry `uuid` and `time` (ISO 8601 with milliseconds, UTC); the collector must expect an event again
 *   at the newest time it read (the XSIAM collector drops those by uuid).
 *
 * Decided by the simulator where Symantec is silent: one JSON object per answer (the XSIAM collector asks
 * `application/x-ndjson`; the source asks `application/json`, noted as unconfirmed in its guide); `next`
 * is opaque base64 of the position; answers of at most `batch` events (default 100); the event after a full batch starts the next answer
 * with the batch's last event again (a repeat); a position-less request starts at the oldest event held;
 * token lifetime 3600 s; 429 with Retry-After; error bodies `{"error": "…", "message": "…"}`. Event fields follow
 * Symantec's ICD event schema names as the XSIAM collector's samples show them (`type_id`, `severity_id`,
 * `feature_name`, `product_name`, `device_name`, `user_name`, `message`).
 */
import { randomBytes } from 'node:crypto';
import {
  type Clock,
  ipv4,
  json,
  person,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  type SpacedEvents,
  seedOf,
  spacedEvents,
} from '../../sim/kit.ts';

export interface SesSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  events?: number;
  spacingMs?: number;
  eventBytes?: number;
  batch?: number;
  tokenTtlS?: number;
}

interface Ev {
  seq: number;
  t: number;
  vis: number;
}

export class SesSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly streamId: string;
  readonly channelId: string;
  private readonly o: SesSimulatorOptions & { spacingMs: number; batch: number; tokenTtlMs: number };
  private readonly log: Ev[] = [];
  private seq = 0;
  private readonly tokens = new Map<string, number>();
  private tokenCount = 0;
  private loopPages = 0;
  /** Positions handed out before this generation are refused with 410. */
  private generation = 0;

  constructor(o: SesSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(this.seed);
    this.clientId = `O2ID.${rng.base62(30)}`;
    this.clientSecret = rng.base62(40);
    this.streamId = rng.base62(22);
    this.channelId = rng.base62(22);
    this.o = { spacingMs: 60_000, batch: 100, ...o, tokenTtlMs: (o.tokenTtlS ?? 3600) * 1000 };
    this.server = new SimServer({
      name: 'ses',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) =>
          json(status, {
            error: status >= 500 ? 'Internal Server Error' : `HTTP ${status}`,
            message: 'error',
          }),
        rateLimitReply: () => json(429, { error: 'Too Many Requests', message: 'Rate limit exceeded' }),
      },
    });
    this.server.route('POST', '/v1/oauth2/tokens', (r) => this.token(r));
    this.server.route('POST', '/v1/event-export/stream/:stream/:channel', (r) => this.stream(r));
    // Device commands (quarantine, full scan): routed so a test that sees one fails on writeCalls().
    this.server.route('POST', '/v1/commands/:command', () => json(200, {}));
    const n = o.events ?? 30;
    this.addEvents(n, { from: this.clock() - 60_000 - (n - 1) * this.o.spacingMs });
  }

  account(): Record<string, string> {
    return { clientId: this.clientId, clientSecret: this.clientSecret, apiUrl: this.url };
  }

  settings(): Record<string, unknown> {
    return { streamId: this.streamId, channelId: this.channelId };
  }

  /** Anything but the token and the event export stream (both POSTs that only read). */
  writeCalls(): RecordedRequest[] {
    return this.server
      .writeCalls()
      .filter((r) => r.path !== '/v1/oauth2/tokens' && !r.path.startsWith('/v1/event-export/stream/'));
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  tokensIssued(): number {
    return this.tokenCount;
  }

  /** Every `next` handed out so far is refused with 410 from now on. */
  expirePositions(): void {
    this.generation++;
  }

  loopNext(pages = 1): void {
    this.loopPages = pages;
  }

  ids(): string[] {
    return this.log.map((e) => this.uuid(e));
  }

  addEvents(n: number, o: SpacedEvents = {}): string[] {
    const added = spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      const e = { seq: this.seq++, t, vis };
      this.log.push(e);
      return e;
    });
    // The stream's order: when events became visible (arrival), then their order of recording.
    this.log.sort((a, b) => a.vis - b.vis || a.seq - b.seq);
    return added.map((e) => this.uuid(e));
  }

  // -------------------------------------------------------------------------------------------

  private token(req: SimRequest): SimReply {
    const basic = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
    if (req.headers.authorization !== basic)
      return json(401, { error: 'invalid_client', message: 'Unauthorized' });
    const token = randomBytes(24).toString('hex');
    this.tokens.set(token, this.clock() + this.o.tokenTtlMs);
    this.tokenCount++;
    return json(200, {
      access_token: token,
      token_type: 'Bearer',
      expires_in: Math.round(this.o.tokenTtlMs / 1000),
    });
  }

  private stream(req: SimRequest): SimReply {
    const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const expires = auth ? this.tokens.get(auth[1]) : undefined;
    if (expires === undefined || expires <= this.clock())
      return json(401, { error: 'Unauthorized', message: 'Invalid or expired token' });
    if (req.params.stream !== this.streamId || req.params.channel !== this.channelId)
      return json(404, { error: 'Not Found', message: 'Stream or channel not found' });
    let body: any;
    try {
      body = JSON.parse(req.body.toString('utf8') || '{}');
    } catch {
      return json(400, { error: 'Bad Request', message: 'Malformed JSON body' });
    }
    let from = 0;
    if (body?.next !== undefined) {
      const pos = decode(String(body.next));
      if (!pos) return json(400, { error: 'Bad Request', message: 'Invalid next' });
      if (pos.g < this.generation)
        return json(410, { error: 'Gone', message: 'The requested position is no longer available' });
      from = pos.p;
    }
    const now = this.clock();
    const visible = this.log.filter((e) => e.vis <= now);
    const page = req.empty ? [] : visible.slice(from, from + this.o.batch);
    let to = from + page.length;
    // A full batch with more after it: the next answer starts with this batch's last event again.
    if (page.length === this.o.batch && visible.length > to) to -= 1;
    let next = encode({ p: to, g: this.generation });
    if (this.loopPages > 0 && body?.next !== undefined && page.length > 0) {
      this.loopPages--;
      next = String(body.next);
    }
    return json(200, { events: page.map((e) => this.event(e)), next });
  }

  private uuid(e: Ev): string {
    const r = new Rng(seedOf(this.seed, 'uuid', e.seq));
    return `${r.hex(8)}-${r.hex(4)}-11ef-${r.hex(4)}-${r.hex(12)}`;
  }

  private event(e: Ev): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, e.seq));
    const who = person(rng, 'acme.example');
    const kind = rng.pick([
      { type_id: 8031, feature_name: 'MALWARE_PROTECTION', message: 'Threat detected and quarantined' },
      { type_id: 8001, feature_name: 'AGENT_FRAMEWORK', message: 'Policy applied' },
      { type_id: 8002, feature_name: 'FIREWALL', message: 'Blocked inbound connection' },
      { type_id: 20, feature_name: 'MANAGEMENT', message: `Admin ${who.email} changed a policy` },
    ]);
    const ev: Record<string, unknown> = {
      uuid: this.uuid(e),
      time: new Date(e.t).toISOString(),
      log_time: new Date(e.vis).toISOString(),
      type_id: kind.type_id,
      severity_id: rng.int(1, 5),
      feature_name: kind.feature_name,
      product_name: 'Symantec Endpoint Security',
      product_ver: '14.3.10148.8000',
      device_name: `${who.login}-laptop`,
      device_ip: ipv4(rng),
      user_name: who.email,
      message: kind.message,
    };
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(ev).length;
      if (left > 0) ev.detail = 'x'.repeat(left);
    }
    return ev;
  }
}

const encode = (pos: { p: number; g: number }) => Buffer.from(JSON.stringify(pos)).toString('base64url');

function decode(next: string): { p: number; g: number } | undefined {
  try {
    const v = JSON.parse(Buffer.from(next, 'base64url').toString('utf8'));
    return Number.isInteger(v?.p) && v.p >= 0 && Number.isInteger(v?.g) ? v : undefined;
  } catch {
    return undefined;
  }
}
