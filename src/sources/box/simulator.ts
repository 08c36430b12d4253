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
 * - JWT apps (guides/authentication/jwt/without-sdk): `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
 *   with `assertion`, `client_id`, `client_secret`; the assertion signed with the app's registered key pair
 *   (header `kid` = the public key ID), claims `iss` = client ID, `sub` = enterprise ID, `box_sub_type` =
 *   `enterprise`, `aud` = the token URL, a unique `jti`, `exp` at most 60 seconds ahead; a refused assertion is
 *   400 `invalid_grant`. Its times are checked on the wall clock (the signer's), not the simulated one.
 * - `GET /2.0/events?stream_type=admin_logs&created_after=…&created_before=…&stream_position=…` (same guide,
 *   "Historical Querying"): "historical events across the enterprise up to one year old … in chronological
 *   order and without duplicates"; RFC 3339 times; pages by `next_stream_position` like the stream.
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
import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { decodeJws, verifySignature } from '../../sim/jws.ts';
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

export const BOX_RETENTION_MS = 14 * 86_400_000;
/** The Event History API (`admin_logs`) keeps a year. */
export const BOX_HISTORY_MS = 365 * 86_400_000;

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
  /** A JWT app: a key pair is made, its private key encrypted with a passphrase as in config.json. */
  jwt?: boolean;
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

export class BoxSimulator extends SimHost {
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
  /** A JWT app's key pair (config.json's appAuth), when `jwt`. */
  readonly appAuth: { publicKeyId: string; privateKey: string; passphrase: string } | undefined;
  private readonly publicKey: KeyObject | undefined;
  private readonly jtis = new Set<string>();
  private chunks = 0;
  private loopChunks = 0;
  /** Positions handed out, and where each points in the log. */
  private readonly positions = new Map<string, { vis: number; seq: number }>();

  constructor(o: BoxSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(this.seed);
    this.clientId = rng.chars('abcdefghijklmnopqrstuvwxyz0123456789', 32);
    this.clientSecret = rng.base62(32);
    if (o.jwt) {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const passphrase = rng.base62(32);
      this.publicKey = pair.publicKey;
      this.appAuth = {
        publicKeyId: rng.chars('abcdefghijklmnopqrstuvwxyz0123456789', 8),
        privateKey: pair.privateKey
          .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
          .toString(),
        passphrase,
      };
    }
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

  /** The account fields that point Tributary at this simulator (with the key pair for a JWT app). */
  account(): Record<string, string> {
    return {
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      enterpriseId: this.enterpriseId,
      ...this.appAuth,
      tokenUrl: `${this.url}/oauth2/token`,
      apiUrl: `${this.url}/2.0`,
    };
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
  /** Ids of the events the stream still keeps (two weeks), or, with `since`, every event from then on. */
  expectedIds(since?: number): string[] {
    const oldest = since ?? this.clock() - BOX_RETENTION_MS;
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
    const grant = f.get('grant_type');
    const jwt = grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer';
    if (jwt ? !this.appAuth : grant !== 'client_credentials')
      return json(400, { error: 'unsupported_grant_type', error_description: 'Grant type is not supported' });
    if (f.get('client_id') !== this.clientId || f.get('client_secret') !== this.clientSecret)
      return json(400, { error: 'invalid_client', error_description: 'The client credentials are invalid' });
    if (jwt) {
      const refused = this.refuseAssertion(f.get('assertion') ?? '', `${req.origin}${req.path}`);
      if (refused) return json(400, { error: 'invalid_grant', error_description: refused });
    } else if (f.get('box_subject_type') !== 'enterprise')
      return json(400, {
        error: 'unauthorized_client',
        error_description: 'The "box_subject_type" value is unauthorized for this client_id',
      });
    else if (f.get('box_subject_id') !== this.enterpriseId)
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

  /** Why a JWT assertion is refused (Box's wording where known), or undefined when it is good. */
  private refuseAssertion(assertion: string, tokenUrl: string): string | undefined {
    const d = decodeJws(assertion);
    if (!d) return 'Invalid JWT';
    if (d.header.kid !== this.appAuth!.publicKeyId) return "Please check the 'kid' value in the JWT header";
    if (!verifySignature(d, this.publicKey!, ['RS256', 'RS384', 'RS512']))
      return 'Signature verification error';
    const c = d.claims;
    const now = Math.floor(Date.now() / 1000);
    if (c.iss !== this.clientId || c.sub !== this.enterpriseId || c.box_sub_type !== 'enterprise')
      return 'Grant credentials are invalid';
    if (c.aud !== tokenUrl) return "Please check the 'aud' claim";
    if (typeof c.exp !== 'number' || c.exp <= now || c.exp > now + 60)
      return "Please check the 'exp' claim: at most 60 seconds in the future";
    if (typeof c.jti !== 'string' || c.jti.length < 16 || c.jti.length > 128 || this.jtis.has(c.jti))
      return "Please check the 'jti' claim: unique, 16 to 128 characters";
    this.jtis.add(c.jti);
    return undefined;
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
    if (type !== 'admin_logs_streaming' && type !== 'admin_logs')
      return clientError(
        400,
        'bad_request',
        `This simulator serves stream_type=admin_logs_streaming and admin_logs, not ${type}`,
      );
    const limit = Number(q.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      return clientError(400, 'bad_request', 'Invalid value for limit: expected 1 to 500');
    const now = this.clock();
    this.log = this.log.filter((e) => e.t >= now - BOX_HISTORY_MS); // a year kept
    if (type === 'admin_logs') return this.history(req, limit);
    const oldest = now - BOX_RETENTION_MS;
    const visible = this.log.filter((e) => e.vis <= now && e.t >= oldest); // two weeks in the stream
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

  /** The Event History API: the events created in [created_after, created_before), oldest first, once each. */
  private history(req: SimRequest, limit: number): SimReply {
    const q = req.query;
    const now = this.clock();
    const time = (name: string, dflt: number) => {
      const v = q.get(name);
      return v === null ? dflt : Date.parse(v);
    };
    const after = time('created_after', now - BOX_HISTORY_MS);
    const before = time('created_before', now);
    if (!Number.isFinite(after) || !Number.isFinite(before))
      return clientError(400, 'invalid_parameter', 'Invalid value for created_after or created_before');
    const rows = this.log
      .filter((e) => e.vis <= now && e.t >= after && e.t < before)
      .sort((a, b) => a.t - b.t || a.seq - b.seq);
    const raw = q.get('stream_position') ?? '0';
    let from = 0;
    if (raw !== '0') {
      const at = this.positions.get(raw);
      if (!at) return clientError(400, 'invalid_parameter', 'Invalid value for stream_position');
      from = rows.findIndex((e) => e.t > at.vis || (e.t === at.vis && e.seq > at.seq));
      if (from < 0) from = rows.length;
    }
    const page = req.empty ? [] : rows.slice(from, from + limit);
    const last = page.at(-1) ?? rows[from - 1];
    let next = last ? this.position({ vis: last.t, seq: last.seq }) : this.position({ vis: 0, seq: -1 });
    if (this.loopChunks > 0 && page.length > 0) {
      this.loopChunks--;
      next = raw;
    }
    return json(200, {
      chunk_size: page.length,
      next_stream_position: next,
      entries: page.map((e) => this.event(e)),
    });
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
