/**
 * Box simulator: the Client Credentials Grant token endpoint and the Enterprise Event Stream. Vendor
 * behaviour, with where Box documents it:
 *
 * - `POST /oauth2/token` (developer.box.com/guides/authentication/client-credentials/, "How to use"): a form
 *   with `grant_type=client_credentials`, `client_id`, `client_secret`, `box_subject_type=enterprise`,
 *   `box_subject_id=<enterprise ID>`; answers `{access_token, expires_in, restricted_to: [], token_type:
 *   "bearer"}`. Refusals as Box's community answers quote them: 400 `invalid_client` "The client credentials
 *   are invalid", 400 `invalid_grant` "Grant credentials are invalid", 400 `unauthorized_client` for a
 *   subject type the app may not use.
 * - `GET /2.0/events?stream_type=admin_logs_streaming&stream_position=…&limit=…` (reference "List user and
 *   enterprise events", and guides/events/enterprise-events/for-enterprise, "Live Monitoring"): positions
 *   are opaque numeric strings; `0` starts at the oldest event kept, `now` answers no events and the latest
 *   position; `limit` defaults to 100, at most 500; the answer is `{chunk_size, next_stream_position,
 *   entries}`. "Box may return events more than once and out of chronological order … A small
 *   delay/buffer ensures that new events are not written after your cursor position. Only two weeks of
 *   events are available via this stream_type." Events follow the reference's Event schema: `type`,
 *   `event_id`, `created_by` (a mini user), `created_at`, `recorded_at`, `event_type`, `session_id`,
 *   `source`, `ip_address`, `additional_details`.
 * - The caller must be an admin or co-admin with "Run new reports and access existing reports" (the same
 *   guide); otherwise 403. Errors use the ClientError body `{type: "error", status, code, message,
 *   request_id}` (reference, "Client error"); an expired or invalid token is 401 with `WWW-Authenticate:
 *   Bearer realm="Service", error="invalid_token"`.
 * - Rate limits (guides/api-calls/permissions-and-errors/rate-limits, "Rate limit error"): 429 with
 *   `retry-after` and a ClientError `rate_limit_exceeded`.
 *
 * Assumed where Box is silent: a repeat is the previous chunk's last event sent again at the head of the
 * next chunk (`repeatEvery` chunks); "out of chronological order" is modelled by positions in the order
 * Box indexed the events (`recorded_at`), not their `created_at`; a position older than two weeks answers
 * from the oldest event kept; a position that is not one Box handed out is 400 `invalid_parameter`.
 */
import { randomBytes } from 'node:crypto';
import {
  type Clock,
  type Fault,
  ipv4,
  json,
  person,
  type RecordedRequest,
  Rng,
  type SimReply,
  type SimRequest,
  SimServer,
  type SpacedEvents,
  seedOf,
  spacedEvents,
} from '../../sim/kit.ts';

export const BOX_RETENTION_MS = 14 * 86_400_000;

export interface BoxSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Events generated up front (default 60), `spacingMs` apart, the last a minute before now. */
  events?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** Every this many chunks, the chunk starts with the previous chunk's last event again (default 3; 0: never). */
  repeatEvery?: number;
  /** Access token lifetime (default 3600 s; Box answers about an hour). */
  tokenTtlS?: number;
  /** false: the Service Account is not an admin with reporting permission (403 on events). */
  reportsPermission?: boolean;
}

interface Ev {
  seq: number;
  t: number;
  vis: number;
}

const EVENT_TYPES = [
  'LOGIN',
  'FAILED_LOGIN',
  'UPLOAD',
  'DOWNLOAD',
  'PREVIEW',
  'SHARE',
  'COLLABORATION_INVITE',
  'ITEM_SHARED_UPDATE',
  'DELETE',
  'ADMIN_LOGIN',
] as const;

/** Box's `created_at` form: seconds with the enterprise's offset (the reference examples use -08:00). */
function pacific(ms: number): string {
  return `${new Date(ms - 8 * 3_600_000).toISOString().slice(0, 19)}-08:00`;
}

export class BoxSimulator {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly enterpriseId = '1234567';
  private readonly o: BoxSimulatorOptions & { spacingMs: number; repeatEvery: number; tokenTtlMs: number };
  /** Events in the order Box indexed them (`vis`, then arrival): the stream's order. */
  private log: Ev[] = [];
  private seq = 0;
  private readonly tokens = new Map<string, number>();
  private tokenCount = 0;
  private chunks = 0;
  private loopChunks = 0;
  /** Positions handed out, and where each points in the log. */
  private readonly positions = new Map<string, { vis: number; seq: number }>();

  constructor(o: BoxSimulatorOptions = {}) {
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(this.seed);
    this.clientId = rng.chars('abcdefghijklmnopqrstuvwxyz0123456789', 32);
    this.clientSecret = rng.base62(32);
    this.o = {
      spacingMs: 60_000,
      repeatEvery: 3,
      ...o,
      tokenTtlMs: (o.tokenTtlS ?? 3600) * 1000,
    };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) =>
          clientError(status, status === 404 ? 'not_found' : 'internal_server_error'),
        rateLimitReply: () =>
          clientError(429, 'rate_limit_exceeded', 'Request rate limit exceeded, please try again later'),
      },
    });
    this.server.route('POST', '/oauth2/token', (r) => this.token(r));
    this.server.route('GET', '/2.0/events', (r) => this.events(r));
    // Box's write endpoints (deleting a user, a file): routed so a test that sees one fails on writeCalls().
    this.server.route('DELETE', '/2.0/users/:id', () => ({ status: 204 }));
    this.server.route('DELETE', '/2.0/files/:id', () => ({ status: 204 }));
    const n = o.events ?? 60;
    this.addEvents(n, { from: this.clock() - 60_000 - (n - 1) * this.o.spacingMs });
  }

  get url(): string {
    return this.server.url;
  }

  /** The account fields that point Tributary at this simulator. */
  account(): Record<string, string> {
    return {
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      enterpriseId: this.enterpriseId,
      tokenUrl: `${this.url}/oauth2/token`,
      apiUrl: `${this.url}/2.0`,
    };
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

  /** Calls that could change Box data; minting a token does not. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/oauth2/token');
  }

  /** Every access token issued so far is refused from now on, as an expired one. */
  expireTokens(): void {
    this.tokens.clear();
  }

  tokensIssued(): number {
    return this.tokenCount;
  }

  /** The next `chunks` answers hand out the request's own position again (a looping vendor). */
  loopNextPositions(chunks = 1): void {
    this.loopChunks = chunks;
  }

  /** Every event id Box still keeps (what a complete drain delivers). */
  expectedIds(): string[] {
    const oldest = this.clock() - BOX_RETENTION_MS;
    return this.log.filter((e) => e.t >= oldest).map((e) => this.eventId(e));
  }

  addEvents(n: number, o: SpacedEvents = {}): string[] {
    const added = spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      const e = { seq: this.seq++, t, vis };
      this.log.push(e);
      return e;
    });
    this.log.sort((a, b) => a.vis - b.vis || a.seq - b.seq);
    return added.map((e) => this.eventId(e));
  }

  // -------------------------------------------------------------------------------------------

  private token(req: SimRequest): SimReply {
    const f = new URLSearchParams(req.body.toString('utf8'));
    if (f.get('grant_type') !== 'client_credentials')
      return json(400, { error: 'unsupported_grant_type', error_description: 'Grant type is not supported' });
    if (f.get('client_id') !== this.clientId || f.get('client_secret') !== this.clientSecret)
      return json(400, { error: 'invalid_client', error_description: 'The client credentials are invalid' });
    if (f.get('box_subject_type') !== 'enterprise')
      return json(400, {
        error: 'unauthorized_client',
        error_description: 'The "box_subject_type" value is unauthorized for this client_id',
      });
    if (f.get('box_subject_id') !== this.enterpriseId)
      return json(400, { error: 'invalid_grant', error_description: 'Grant credentials are invalid' });
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, this.clock() + this.o.tokenTtlMs);
    this.tokenCount++;
    return json(200, {
      access_token: token,
      expires_in: Math.round(this.o.tokenTtlMs / 1000),
      restricted_to: [],
      token_type: 'bearer',
    });
  }

  private events(req: SimRequest): SimReply {
    const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const expires = auth ? this.tokens.get(auth[1]) : undefined;
    if (expires === undefined || expires <= this.clock())
      return {
        status: 401,
        headers: {
          'www-authenticate':
            'Bearer realm="Service", error="invalid_token", error_description="The access token provided is invalid."',
        },
      };
    if (this.o.reportsPermission === false)
      return clientError(
        403,
        'access_denied_insufficient_permissions',
        'Access denied - insufficient permission',
      );
    const q = req.query;
    const type = q.get('stream_type') ?? 'all';
    if (type !== 'admin_logs_streaming')
      return clientError(
        400,
        'bad_request',
        `This simulator serves stream_type=admin_logs_streaming, not ${type}`,
      );
    const limit = Number(q.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      return clientError(400, 'bad_request', 'Invalid value for limit: expected 1 to 500');
    const now = this.clock();
    const oldest = now - BOX_RETENTION_MS;
    this.log = this.log.filter((e) => e.t >= oldest); // two weeks kept
    const visible = this.log.filter((e) => e.vis <= now);
    const raw = q.get('stream_position') ?? '0';
    let from: number; // index of the first event after the position
    if (raw === 'now') from = visible.length;
    else if (raw === '0') from = 0;
    else {
      const at = this.positions.get(raw);
      if (!at) return clientError(400, 'invalid_parameter', 'Invalid value for stream_position');
      from = visible.findIndex((e) => e.vis > at.vis || (e.vis === at.vis && e.seq > at.seq));
      if (from < 0) from = visible.length;
    }
    const page = req.empty || raw === 'now' ? [] : visible.slice(from, from + limit);
    const lastEv = page.at(-1) ?? visible[from - 1];
    let next = lastEv ? this.position(lastEv) : this.position({ vis: 0, seq: -1 });
    if (this.loopChunks > 0 && page.length > 0) {
      this.loopChunks--;
      next = raw;
    }
    const entries = page.map((e) => this.event(e));
    this.chunks++;
    if (this.o.repeatEvery > 0 && this.chunks % this.o.repeatEvery === 0 && from > 0 && page.length > 0)
      entries.unshift(this.event(visible[from - 1])); // Box sends an event again
    return json(200, { chunk_size: entries.length, next_stream_position: next, entries });
  }

  private position(at: { vis: number; seq: number }): string {
    // A long numeric string, like Box's, unique per point of the stream.
    const p = String(
      BigInt(Math.max(0, at.vis)) * 1_000_000n + BigInt(at.seq + 1) + 1_152_922_976_000_000_000n,
    );
    this.positions.set(p, at);
    return p;
  }

  private eventId(e: Ev): string {
    return new Rng(seedOf(this.seed, e.seq)).hex(40);
  }

  private event(e: Ev): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'event', e.seq));
    const who = person(rng, 'example.com');
    const type = rng.pick(EVENT_TYPES);
    const fileId = String(rng.int(100_000_000, 999_999_999));
    const ev: Record<string, unknown> = {
      type: 'event',
      event_id: this.eventId(e),
      created_by: {
        type: 'user',
        id: String(rng.int(10_000_000, 99_999_999)),
        name: who.displayName,
        login: who.email,
      },
      created_at: pacific(e.t),
      recorded_at: pacific(Math.max(e.t, e.vis)),
      event_type: type,
      session_id: rng.base62(24).toLowerCase(),
      ip_address: ipv4(rng),
      source:
        type === 'LOGIN' || type === 'FAILED_LOGIN' || type === 'ADMIN_LOGIN'
          ? {
              type: 'user',
              id: String(rng.int(10_000_000, 99_999_999)),
              name: who.displayName,
              login: who.email,
            }
          : {
              item_type: 'file',
              item_id: fileId,
              item_name: `${rng.pick(['Q3 plan', 'Board deck', 'Payroll', 'Roadmap'])}.${rng.pick(['pdf', 'xlsx', 'docx'])}`,
              parent: { type: 'folder', name: 'Finance', id: String(rng.int(10_000_000, 99_999_999)) },
              owned_by: {
                type: 'user',
                id: String(rng.int(10_000_000, 99_999_999)),
                name: who.displayName,
                login: who.email,
              },
            },
      additional_details: type === 'SHARE' ? { shared_link_id: rng.base62(12), access: 'open' } : null,
    };
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(ev).length;
      if (left > 0) ev.additional_details = { note: 'x'.repeat(left) };
    }
    return ev;
  }
}

function clientError(status: number, code: string, message = `Error ${status}`): SimReply {
  return json(status, {
    type: 'error',
    status,
    code,
    message,
    request_id: randomBytes(6).toString('hex'),
    help_url: 'http://developers.box.com/docs/#errors',
  });
}
