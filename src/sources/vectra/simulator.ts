/**
 * Vectra AI platform (RUX) simulator: the client-credentials token and the event streams. Vendor behaviour,
 * with where it is documented: Vectra's published RUX v3 OpenAPI document
 * (https://vectranetworks.github.io/openapi-rux/, source https://github.com/vectranetworks/openapi-rux):
 * security scheme `oauth2` (client credentials at `/oauth2/token`, no scope parameter: the API client's role
 * decides), paths
 * `/api/v3.x/events/{detections,audits,entity_scoring}` as checkpoint streams (`from`, `limit`,
 * `event_timestamp_gte`); and Cortex XSOAR's Vectra RUX integration, "tested with Vectra API v3.5"
 * (https://xsoar.pan.dev/docs/reference/integrations/vectra-rux-events-detections; its code and samples in
 * https://github.com/demisto/content/tree/master/Packs/VectraRUX). The OpenAPI document itself could not be
 * opened for this review: the facts below are as those two describe them, and the source ships as early
 * access.
 *
 * - `POST /oauth2/token` with HTTP Basic client authentication and `grant_type=client_credentials` →
 *   `{access_token, token_type: "Bearer", expires_in, refresh_token, refresh_expires_in}`.
 * - `GET /api/v3.4/events/{kind}?from=<checkpoint>&limit=<n>` or, without a checkpoint,
 *   `event_timestamp_gte=<ISO>` → `{events, next_checkpoint, remaining_count}`: callers keep
 *   `next_checkpoint` and poll from it; `remaining_count` says how many events are still after it.
 * - Errors in Django REST framework's shape, `{"detail": "…"}`: 401 "Authentication credentials were not
 *   provided." or an invalid token, 403 "You do not have permission to perform this action."
 *
 * Decided by the simulator where Vectra is silent: the checkpoint is the count of events before the
 * position (an integer, in the order Vectra recorded them); `limit` at most 1000; 429 with Retry-After and a `detail`; event
 * fields follow the XSOAR integration's samples (detections: `id`, `detection_id`, `event_timestamp`,
 * `type`, `category`, `entity_id`, `entity_name`, `entity_type`, `threat`, `certainty`, `url`; audits:
 * `id`, `event_timestamp`, `user_id`, `username`, `user_role`, `message`, `result`, `source_ip`; entity
 * scoring: `id`, `entity_id`, `name`, `type`, `urgency_score`, `importance`, `is_prioritized`).
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

export const VECTRA_KINDS = ['detections', 'audits', 'entity_scoring'] as const;
export type VectraKind = (typeof VECTRA_KINDS)[number];

export interface VectraSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Events per kind generated up front (default 30), `spacingMs` apart, the last a minute before now. */
  events?: number;
  spacingMs?: number;
  eventBytes?: number;
  tokenTtlS?: number;
  /** false: the API client's role may not read audits (403). */
  auditsAllowed?: boolean;
}

interface Ev {
  seq: number;
  t: number;
  vis: number;
}

export class VectraSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly clientId: string;
  readonly clientSecret: string;
  private readonly o: VectraSimulatorOptions & { spacingMs: number; tokenTtlMs: number };
  private readonly logs: Record<VectraKind, Ev[]> = { detections: [], audits: [], entity_scoring: [] };
  private seq = 0;
  private readonly tokens = new Map<string, number>();
  private tokenCount = 0;
  private loopPages = 0;

  constructor(o: VectraSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(this.seed);
    this.clientId = rng.base62(32);
    this.clientSecret = rng.base62(40);
    this.o = { spacingMs: 60_000, ...o, tokenTtlMs: (o.tokenTtlS ?? 21_600) * 1000 };
    this.server = new SimServer({
      name: 'portal',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) =>
          json(status, { detail: status >= 500 ? 'A server error occurred.' : `Error ${status}` }),
        rateLimitReply: () => json(429, { detail: 'Request was throttled.' }),
      },
    });
    this.server.route('POST', '/oauth2/token', (r) => this.token(r));
    this.server.route('GET', '/api/:version/events/:kind', (r) => this.events(r));
    // Changing detections (mark fixed, assign): routed so a test that sees one fails on writeCalls().
    this.server.route('PATCH', '/api/:version/detections', () => json(200, {}));
    const n = o.events ?? 30;
    for (const kind of VECTRA_KINDS)
      this.addEvents(kind, n, { from: this.clock() - 60_000 - (n - 1) * this.o.spacingMs });
  }

  account(): Record<string, string> {
    return { portalUrl: this.url, clientId: this.clientId, clientSecret: this.clientSecret };
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/oauth2/token');
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  tokensIssued(): number {
    return this.tokenCount;
  }

  loopNextCheckpoints(pages = 1): void {
    this.loopPages = pages;
  }

  ids(kinds: readonly VectraKind[] = VECTRA_KINDS): string[] {
    return kinds.flatMap((k) => this.logs[k].map((e) => this.eventId(k, e)));
  }

  addEvents(kind: VectraKind, n: number, o: SpacedEvents = {}): string[] {
    const added = spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      const e = { seq: this.seq++, t, vis };
      this.logs[kind].push(e);
      return e;
    });
    this.logs[kind].sort((a, b) => a.vis - b.vis || a.seq - b.seq);
    return added.map((e) => this.eventId(kind, e));
  }

  // -------------------------------------------------------------------------------------------

  private token(req: SimRequest): SimReply {
    const basic = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
    if (req.headers.authorization !== basic) return json(401, { error: 'invalid_client' });
    if (new URLSearchParams(req.body.toString('utf8')).get('grant_type') !== 'client_credentials')
      return json(400, { error: 'unsupported_grant_type' });
    const token = randomBytes(24).toString('hex');
    this.tokens.set(token, this.clock() + this.o.tokenTtlMs);
    this.tokenCount++;
    return json(200, {
      access_token: token,
      token_type: 'Bearer',
      expires_in: Math.round(this.o.tokenTtlMs / 1000),
      refresh_token: randomBytes(24).toString('hex'),
      refresh_expires_in: 86_400,
    });
  }

  private events(req: SimRequest): SimReply {
    const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const expires = auth ? this.tokens.get(auth[1]) : undefined;
    if (!auth) return json(401, { detail: 'Authentication credentials were not provided.' });
    if (expires === undefined || expires <= this.clock()) return json(401, { detail: 'Invalid token.' });
    const kind = req.params.kind as VectraKind;
    if (!VECTRA_KINDS.includes(kind)) return json(404, { detail: 'Not found.' });
    if (kind === 'audits' && this.o.auditsAllowed === false)
      return json(403, { detail: 'You do not have permission to perform this action.' });
    const q = req.query;
    const limit = Number(q.get('limit') ?? 500);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      return json(400, { detail: 'limit: Ensure this value is between 1 and 1000.' });
    const now = this.clock();
    const visible = this.logs[kind].filter((e) => e.vis <= now);
    let from: number;
    if (q.has('from')) {
      from = Number(q.get('from'));
      if (!Number.isInteger(from) || from < 0)
        return json(400, { detail: 'from: A valid integer is required.' });
    } else {
      const gte = Date.parse(q.get('event_timestamp_gte') ?? '');
      if (q.has('event_timestamp_gte') && !Number.isFinite(gte))
        return json(400, { detail: 'event_timestamp_gte: Datetime has wrong format.' });
      from = Number.isFinite(gte) ? visible.filter((e) => e.t < gte).length : 0;
    }
    const page = req.empty ? [] : visible.slice(from, from + limit);
    let next = from + page.length;
    let remaining = req.empty ? Math.max(0, visible.length - from) : visible.length - next;
    if (this.loopPages > 0 && q.has('from') && page.length > 0) {
      this.loopPages--;
      next = from;
      remaining = Math.max(remaining, 1);
    }
    return json(200, {
      events: page.map((e) => this.event(kind, e)),
      next_checkpoint: next,
      remaining_count: remaining,
    });
  }

  private eventId(kind: VectraKind, e: Ev): string {
    return String(VECTRA_KINDS.indexOf(kind) * 10_000_000 + 1_000_000 + e.seq);
  }

  private event(kind: VectraKind, e: Ev): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, kind, e.seq));
    const who = person(rng, 'acme.example');
    const id = Number(this.eventId(kind, e));
    const ts = `${new Date(e.t).toISOString().slice(0, 19)}Z`;
    let ev: Record<string, unknown>;
    if (kind === 'detections') {
      const detectionId = rng.int(1, 5000);
      ev = {
        id,
        detection_id: detectionId,
        event_timestamp: ts,
        type: 'detection',
        category: rng.pick(['command_and_control', 'lateral_movement', 'exfiltration', 'reconnaissance']),
        detection_type: rng.pick(['Hidden HTTPS Tunnel', 'Suspicious Remote Execution', 'Port Scan']),
        entity_id: rng.int(1, 900),
        entity_name: `${who.login}-laptop`,
        entity_type: 'host',
        threat: rng.int(0, 99),
        certainty: rng.int(0, 99),
        src_ip: ipv4(rng),
        url: `${this.url}/detections/${detectionId}`,
      };
    } else if (kind === 'audits') {
      ev = {
        id,
        event_timestamp: ts,
        user_id: rng.int(1, 50),
        username: who.email,
        user_role: rng.pick(['Global Analyst', 'Security Analyst', 'Super Admin']),
        user_type: 'USER',
        api_client_id: null,
        event_object: 'detection',
        event_action: rng.pick(['updated', 'deleted', 'created']),
        message: `User ${who.email} marked detection as fixed`,
        result: 'success',
        source_ip: ipv4(rng),
        version: '2024.1.0',
      };
    } else {
      ev = {
        id,
        entity_id: rng.int(1, 900),
        name: `${who.login}-laptop`,
        type: 'host',
        event_timestamp: ts,
        urgency_score: rng.int(0, 100),
        importance: rng.int(0, 3),
        is_prioritized: rng.bool(0.3),
        active_detection_types: ['Port Scan'],
        breadth_contrib: 0,
        last_detection: null,
      };
    }
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(ev).length;
      if (left > 0) ev.detail = 'x'.repeat(left);
    }
    return ev;
  }
}
