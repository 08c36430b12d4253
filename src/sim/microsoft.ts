/**
 * Shared pieces of the Microsoft simulators: the Entra ID v2.0 token endpoint, Microsoft Graph's
 * response conventions (OData collections, `@odata.nextLink`, error bodies, 429 + Retry-After), OData
 * `$filter` time comparisons at DateTimeOffset precision, and keyset paging over a time-indexed
 * collection. Each Graph source's simulator builds on `GraphSim`.
 *
 * Microsoft's documented behaviour followed here:
 * - Token endpoint, client credentials (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow,
 *   "Get a token", "Successful response", "Error response"):
 *   POST `/{tenant}/oauth2/v2.0/token`, form `client_id`, `scope={resource}/.default`, `grant_type=client_credentials`
 *   and `client_secret` or `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` +
 *   `client_assertion`; success `{token_type, expires_in, ext_expires_in, access_token}`; errors
 *   `{error, error_description: "AADSTSnnnn: …", error_codes, timestamp, trace_id, correlation_id, error_uri}`.
 *   AADSTS7000215 (invalid client secret), AADSTS7000222 (expired secret), AADSTS700016 (application not
 *   found in the directory), AADSTS90002 (tenant not found), AADSTS1002012 ("Client credential flows must
 *   have a scope value with /.default suffixed"), AADSTS500011 (resource principal not found).
 * - Certificate credentials (learn.microsoft.com/entra/identity-platform/certificate-credentials): the
 *   assertion's header names the certificate by `x5t#S256` (PS256, current page) or `x5t` (RS256, earlier
 *   page); claims `aud` = token endpoint, `iss` = `sub` = client ID, `exp`, `nbf`, `jti`. Both forms are
 *   accepted here, as the two page versions describe them.
 * - Graph paging (learn.microsoft.com/graph/paging): follow `@odata.nextLink` (carrying `$skiptoken`, or
 *   `$skip` where an API documents `$skip` paging instead) until it is absent. `$count=true` adds
 *   `@odata.count` (learn.microsoft.com/graph/query-parameters, "count parameter"). Throttling
 *   (learn.microsoft.com/graph/throttling): 429 with `Retry-After` seconds.
 * - Graph error body `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
 *
 * - Access tokens are JWTs (learn.microsoft.com/entra/identity-platform/access-token-claims-reference,
 *   "Payload claims"): `aud` the resource, `iss` `https://sts.windows.net/{tenant}/` for v1.0 tokens (those
 *   Azure resources such as Storage accept), `iat`/`nbf`/`exp` in epoch seconds, `appid`, `tid`, `oid`,
 *   `ver` "1.0". Clients treat them as opaque; an emulator that reads them (Azurite's `--oauth basic` checks
 *   `iss`, `aud`, `nbf`, `exp`, not the signature) gets these claims. The signature here is random.
 *
 * Assumed (not documented), decided here: AADSTS700027 for an assertion whose signature or thumbprint does not
 * verify, AADSTS700024 for one outside its time range, AADSTS50012 for a wrong audience; an injected
 * `empty` fault is a valid page with no items whose `@odata.nextLink` points at the same position.
 */
import {
  constants,
  createHash,
  createPublicKey,
  type KeyObject,
  randomBytes,
  randomUUID,
  verify,
  X509Certificate,
} from 'node:crypto';
import {
  type Clock,
  type Fault,
  json,
  type RecordedRequest,
  type SimHooks,
  type SimReply,
  type SimRequest,
  SimServer,
  seedOf,
  stableUuid,
} from './kit.ts';

export const TOKEN_PATH = /^\/[^/]+\/oauth2\/v2\.0\/token$/;

// ---------------------------------------------------------------------------------------------
// Entra ID token endpoint

export interface EntraIdentityOptions {
  tenantId?: string;
  clientId?: string;
  /** Accepted client secret (random by default); `null` accepts none (certificate only). */
  clientSecret?: string | null;
  /** PEM certificate registered on the app: enables certificate credentials. */
  certificatePem?: string;
  /** The resources (e.g. `https://graph.microsoft.com`) this tenant issues tokens for. */
  resources?: string[];
  /** Access token lifetime in seconds (Entra: about an hour). */
  tokenLifetimeSec?: number;
  clock?: Clock;
}

interface Issued {
  resource: string;
  expiresAt: number;
}

export class EntraIdentitySim {
  readonly tenantId: string;
  readonly clientId: string;
  clientSecret: string | null;
  /** The secret exists but has expired (AADSTS7000222). */
  secretExpired = false;
  private certificate: X509Certificate | undefined;
  private readonly resources: string[];
  private readonly lifetime: number;
  private readonly clock: Clock;
  private readonly issued = new Map<string, Issued>();
  /** Every token request: the scope asked and how the client authenticated. */
  readonly tokenRequests: Array<{ scope: string; credential: 'secret' | 'assertion' | 'none' }> = [];

  constructor(server: SimServer, o: EntraIdentityOptions = {}) {
    const seed = seedOf('entra', o.tenantId ?? '', o.clientId ?? '');
    this.tenantId = o.tenantId ?? stableUuid(1, seed);
    this.clientId = o.clientId ?? stableUuid(2, seed);
    this.clientSecret = o.clientSecret === undefined ? randomSecret() : o.clientSecret;
    this.certificate = o.certificatePem ? new X509Certificate(o.certificatePem) : undefined;
    this.resources = o.resources ?? ['https://graph.microsoft.com'];
    this.lifetime = o.tokenLifetimeSec ?? 3599;
    this.clock = o.clock ?? Date.now;
    server.route('POST', '/:tenant/oauth2/v2.0/token', (req) => this.token(req));
  }

  /** Registers (or replaces) the app's certificate. */
  setCertificate(pem: string | undefined): void {
    this.certificate = pem ? new X509Certificate(pem) : undefined;
  }

  /** Invalidates every access token issued so far (as a revoked or expired token would be). */
  revokeTokens(): void {
    this.issued.clear();
  }

  /** What an access token is (the app, resource and expiry it was issued with), or undefined if not issued here. */
  inspect(token: string): { appId: string; resource: string; expiresAt: number } | undefined {
    const t = this.issued.get(token);
    return t && { appId: this.clientId, resource: t.resource, expiresAt: t.expiresAt };
  }

  /**
   * Checks the bearer token of an API request for `resource`: undefined when valid, otherwise Graph's
   * 401 answer.
   */
  check(req: SimRequest, resource: string): SimReply | undefined {
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/i.exec(auth)?.[1];
    if (!token) return graphError(req, 401, 'InvalidAuthenticationToken', 'Access token is empty.');
    const t = this.issued.get(token);
    if (!t || t.expiresAt <= this.clock())
      return graphError(
        req,
        401,
        'InvalidAuthenticationToken',
        'Access token has expired or is not yet valid.',
      );
    if (t.resource !== resource)
      return graphError(
        req,
        401,
        'InvalidAuthenticationToken',
        'Access token validation failure. Invalid audience.',
      );
    return undefined;
  }

  private token(req: SimRequest): SimReply {
    const form = new URLSearchParams(req.body.toString('utf8'));
    const tenant = req.params.tenant;
    if (tenant !== this.tenantId)
      return aadError(
        req,
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    if (form.get('grant_type') !== 'client_credentials')
      return aadError(
        req,
        400,
        'unsupported_grant_type',
        70003,
        'The app requested an unsupported grant type.',
      );
    const clientId = form.get('client_id') ?? '';
    const scope = form.get('scope') ?? '';
    const assertion = form.get('client_assertion');
    this.tokenRequests.push({
      scope,
      credential: form.has('client_secret') ? 'secret' : assertion ? 'assertion' : 'none',
    });
    if (clientId !== this.clientId)
      return aadError(
        req,
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${this.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    if (!scope.endsWith('/.default'))
      return aadError(
        req,
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    const resource = scope.slice(0, -'/.default'.length).replace(/\/+$/, '');
    if (!this.resources.includes(resource))
      return aadError(
        req,
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${this.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    const secret = form.get('client_secret');
    if (secret !== null) {
      if (this.clientSecret === null || secret !== this.clientSecret)
        return aadError(
          req,
          401,
          'invalid_client',
          7000215,
          `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${this.clientId}'.`,
        );
      if (this.secretExpired)
        return aadError(
          req,
          401,
          'invalid_client',
          7000222,
          `The provided client secret keys for app '${this.clientId}' are expired. Visit the Azure portal to create new keys for your app.`,
        );
    } else if (assertion) {
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
        return aadError(
          req,
          400,
          'invalid_request',
          90014,
          "The request body must contain the 'client_assertion_type' parameter.",
        );
      const problem = this.verifyAssertion(assertion, `${req.origin}${req.path}`);
      if (problem) return aadError(req, 401, 'invalid_client', problem.code, problem.message);
    } else {
      return aadError(
        req,
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    const now = Math.floor(this.clock() / 1000);
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = [
      part({ typ: 'JWT', alg: 'RS256' }),
      part({
        aud: resource,
        iss: `https://sts.windows.net/${this.tenantId}/`,
        iat: now,
        nbf: now,
        exp: now + this.lifetime,
        appid: this.clientId,
        appidacr: secret !== null ? '1' : '2',
        idtyp: 'app',
        oid: stableUuid(3, seedOf('entra-sp', this.tenantId, this.clientId)),
        tid: this.tenantId,
        uti: randomBytes(16).toString('base64url'),
        ver: '1.0',
      }),
      randomBytes(32).toString('base64url'),
    ].join('.');
    this.issued.set(token, { resource, expiresAt: this.clock() + this.lifetime * 1000 });
    return json(200, {
      token_type: 'Bearer',
      expires_in: this.lifetime,
      ext_expires_in: this.lifetime,
      access_token: token,
    });
  }

  private verifyAssertion(jwt: string, audience: string): { code: number; message: string } | undefined {
    const bad = (message: string) => ({ code: 700027, message });
    const parts = jwt.split('.');
    if (parts.length !== 3) return bad('Client assertion contains an invalid signature.');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    } catch {
      return bad('Client assertion is not a valid JWT.');
    }
    const cert = this.certificate;
    if (!cert)
      return bad(
        `Client assertion failed signature validation. No certificate is registered for app '${this.clientId}'.`,
      );
    const sha256 = createHash('sha256').update(cert.raw).digest('base64url');
    const sha1 = createHash('sha1').update(cert.raw).digest('base64url');
    const named = header['x5t#S256'] === sha256 || header.x5t === sha1;
    if (!named)
      return bad(
        `Client assertion failed signature validation. Key was not found. Thumbprint of key used by client: '${String(header['x5t#S256'] ?? header.x5t)}'.`,
      );
    const alg = header.alg;
    if (alg !== 'PS256' && alg !== 'RS256')
      return bad(`Client assertion uses an unsupported algorithm '${String(alg)}'.`);
    const key: KeyObject = createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' }));
    const ok = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      alg === 'PS256'
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
        : key,
      Buffer.from(parts[2], 'base64url'),
    );
    if (!ok) return bad('Client assertion failed signature validation.');
    if (claims.aud !== audience)
      return {
        code: 50012,
        message: `Client assertion audience claim does not match Realm issuer '${audience}'.`,
      };
    if (claims.iss !== this.clientId || claims.sub !== this.clientId)
      return {
        code: 700021,
        message: 'Client assertion application identifier does not match client_id parameter.',
      };
    // The assertion is signed with the client's wall clock: checked against real time with 5 minutes' skew.
    const now = Date.now() / 1000;
    if (
      typeof claims.exp !== 'number' ||
      claims.exp < now - 300 ||
      (typeof claims.nbf === 'number' && claims.nbf > now + 300)
    )
      return { code: 700024, message: 'Client assertion is not within its valid time range.' };
    if (typeof claims.jti !== 'string' || !claims.jti) return bad('Client assertion has no jti claim.');
    return undefined;
  }
}

function randomSecret(): string {
  return `${randomBytes(3).toString('hex').slice(0, 3)}8Q~${randomBytes(27).toString('base64url').slice(0, 34)}`;
}

function aadError(req: SimRequest, status: number, error: string, code: number, message: string): SimReply {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return json(status, {
    error,
    error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${req.origin}/error?code=${code}`,
  });
}

// ---------------------------------------------------------------------------------------------
// Graph responses

export function graphError(
  req: SimRequest,
  status: number,
  code: string,
  message: string,
  headers = {},
): SimReply {
  const requestId = randomUUID();
  return json(
    status,
    {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d+Z$/, ''),
          'request-id': requestId,
          'client-request-id': String(req.headers['client-request-id'] ?? requestId),
        },
      },
    },
    { 'request-id': requestId, ...headers },
  );
}

/** Graph's answer for a status the kit produces (injected faults, 404, 405, 500). */
export function graphStatusReply(req: SimRequest, status: number): SimReply {
  switch (status) {
    case 400:
      return graphError(req, 400, 'BadRequest', 'Invalid request.');
    case 401:
      return graphError(
        req,
        401,
        'InvalidAuthenticationToken',
        'Access token has expired or is not yet valid.',
      );
    case 403:
      return graphError(
        req,
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
    case 404:
      return graphError(
        req,
        404,
        'Request_ResourceNotFound',
        `Resource not found for the segment '${req.path.split('/').pop()}'.`,
      );
    case 405:
      return graphError(req, 405, 'Request_BadRequest', 'The HTTP method is not allowed on this resource.');
    case 429:
      return graphError(req, 429, 'TooManyRequests', 'Too many requests.');
    case 503:
      return graphError(
        req,
        503,
        'serviceNotAvailable',
        'The service is temporarily unavailable. Try again later.',
      );
    case 504:
      return graphError(req, 504, 'UnknownError', 'The gateway did not receive a response in time.');
    default:
      return graphError(req, status, status >= 500 ? 'UnknownError' : 'BadRequest', `HTTP ${status}`);
  }
}

// ---------------------------------------------------------------------------------------------
// OData time values (DateTimeOffset: 100 ns ticks)

/** Ticks (100 ns) since the epoch of an ISO date-time with a zone, or undefined. */
export function parseODataTime(s: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d)?)?)(?:\.(\d{1,7}))?(Z|[+-]\d\d:\d\d)?$/i.exec(s.trim());
  if (!m) return undefined;
  const base = Date.parse(m[1].length === 10 ? `${m[1]}T00:00:00Z` : `${m[1]}${m[3] ?? 'Z'}`);
  if (!Number.isFinite(base)) return undefined;
  return BigInt(base) * 10_000n + BigInt((m[2] ?? '').padEnd(7, '0'));
}

/** An ISO date-time with 7 fractional digits, as Graph prints DateTimeOffset values. */
export function formatODataTime(ticks: bigint): string {
  const ms = Number(ticks / 10_000n);
  const frac = String(ticks % 10_000_000n).padStart(7, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

export const msToTicks = (ms: number) => BigInt(ms) * 10_000n;

export type ComparisonOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export class ODataError extends Error {}

/**
 * A `$filter` made of comparisons on one time property joined by `and` (optionally parenthesised), e.g.
 * `activityDateTime ge 2026-11-25T10:00:00Z and activityDateTime le 2026-11-25T10:59:59.9999999Z`.
 * Returns a predicate on ticks. Another property, an operator not in `ops`, `or`, or a malformed value is
 * an ODataError with the message the simulator answers with.
 */
export function timeFilter(
  filter: string,
  property: string,
  ops: ComparisonOp[],
): (ticks: bigint) => boolean {
  const clauses = filter
    .trim()
    .replace(/^\((.*)\)$/, '$1')
    .split(/\s+and\s+/i)
    .map((c) =>
      c
        .trim()
        .replace(/^\((.*)\)$/, '$1')
        .trim(),
    );
  const tests: Array<(t: bigint) => boolean> = [];
  for (const clause of clauses) {
    const m = /^([A-Za-z/]+)\s+(eq|ne|gt|ge|lt|le)\s+(\S+)$/i.exec(clause);
    if (!m) throw new ODataError(`Invalid filter clause: '${clause}'.`);
    const [, prop, rawOp, value] = m;
    const op = rawOp.toLowerCase() as ComparisonOp;
    if (prop !== property) throw new ODataError(`Filtering on property '${prop}' is not supported.`);
    if (!ops.includes(op)) throw new ODataError(`Operator '${op}' is not supported on property '${prop}'.`);
    const v = parseODataTime(value.replace(/^'(.*)'$/, '$1'));
    if (v === undefined) throw new ODataError(`Invalid DateTimeOffset literal '${value}'.`);
    tests.push(
      op === 'eq'
        ? (t) => t === v
        : op === 'ne'
          ? (t) => t !== v
          : op === 'gt'
            ? (t) => t > v
            : op === 'ge'
              ? (t) => t >= v
              : op === 'lt'
                ? (t) => t < v
                : (t) => t <= v,
    );
  }
  return (t) => tests.every((f) => f(t));
}

// ---------------------------------------------------------------------------------------------
// A time-indexed collection with keyset paging

export interface Indexed {
  /** Position key: the time the collection is filtered and ordered on. */
  t: bigint;
  seq: number;
}

/** Items kept sorted by (t, seq); pages walk it from a keyset cursor, oldest or newest first. */
export class TimeIndex<T extends Indexed> {
  private items: T[] = [];
  private sorted = true;

  add(item: T): void {
    const last = this.items[this.items.length - 1];
    if (last && (last.t > item.t || (last.t === item.t && last.seq > item.seq))) this.sorted = false;
    this.items.push(item);
  }

  remove(pred: (item: T) => boolean): void {
    this.items = this.items.filter((i) => !pred(i));
  }

  all(): T[] {
    this.sort();
    return this.items;
  }

  get size(): number {
    return this.items.length;
  }

  private sort(): void {
    if (this.sorted) return;
    this.items.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.seq - b.seq));
    this.sorted = true;
  }

  /**
   * Up to `top` items matching `include`, after the cursor `after` in `order`; `more` when another
   * matching item follows the page.
   */
  page(o: {
    order: 'asc' | 'desc';
    top: number;
    after?: { t: bigint; seq: number };
    include: (item: T) => boolean;
  }): { items: T[]; more: boolean } {
    this.sort();
    const items = this.items;
    const out: T[] = [];
    const a = o.after;
    const beyond = (i: T) =>
      !a ||
      (o.order === 'asc'
        ? i.t > a.t || (i.t === a.t && i.seq > a.seq)
        : i.t < a.t || (i.t === a.t && i.seq < a.seq));
    // Binary search to the cursor, then walk.
    let idx: number;
    if (o.order === 'asc') {
      let lo = 0;
      let hi = items.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (beyond(items[mid])) hi = mid;
        else lo = mid + 1;
      }
      idx = lo;
      for (; idx < items.length; idx++) {
        if (!o.include(items[idx])) continue;
        if (out.length >= o.top) return { items: out, more: true };
        out.push(items[idx]);
      }
    } else {
      let lo = 0;
      let hi = items.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (beyond(items[mid])) lo = mid + 1;
        else hi = mid;
      }
      idx = lo - 1;
      for (; idx >= 0; idx--) {
        if (!o.include(items[idx])) continue;
        if (out.length >= o.top) return { items: out, more: true };
        out.push(items[idx]);
      }
    }
    return { items: out, more: false };
  }
}

export function encodeSkipToken(o: object): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

export function decodeSkipToken<T>(s: string | null): T | undefined {
  if (!s) return undefined;
  try {
    return JSON.parse(Buffer.from(s, 'base64url').toString()) as T;
  } catch {
    return undefined;
  }
}

/** The request's own URL with `$skiptoken` replaced: Graph's nextLinks keep every original parameter. */
export function withSkipToken(req: SimRequest, token: string): string {
  const q = new URLSearchParams(req.query);
  q.set('$skiptoken', token);
  return `${req.origin}${req.path}?${q.toString()}`;
}

/**
 * Brings a record's JSON text to about `target` bytes by filling the array property `field` with entries
 * from `pool` (JSON texts of realistic detail entries: conditional access policies, evidence, …). The
 * filler is built once per length and spliced into the text, so huge pages cost the simulator no
 * per-record objects.
 */
export class Padding {
  private readonly cache = new Map<number, string>();
  private readonly pool: string[];
  constructor(pool: unknown[]) {
    this.pool = pool.map((e) => JSON.stringify(e));
  }

  fill(json: string, field: string, target: number | undefined): string {
    if (!target || json.length >= target) return json;
    const marker = `"${field}":[`;
    const at = json.indexOf(marker);
    if (at < 0) return json;
    const need = target - json.length;
    const bucket = Math.ceil(need / 256);
    let filler = this.cache.get(bucket);
    if (filler === undefined) {
      const parts: string[] = [];
      let len = 0;
      for (let i = 0; len < bucket * 256; i++) {
        const e = this.pool[i % this.pool.length];
        parts.push(e);
        len += e.length + 1;
      }
      filler = parts.join(',');
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(bucket, filler);
    }
    const after = at + marker.length;
    return `${json.slice(0, after)}${filler}${json[after] === ']' ? '' : ','}${json.slice(after)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The Graph simulator base

export interface ListSpec<T extends Indexed> {
  /** The `@odata.context` tail, e.g. `auditLogs/signIns`. */
  context: string;
  /** The time property `$filter` and `$orderby` apply to. */
  property: string;
  ops: ComparisonOp[];
  /** `$orderby` on the property is supported (else a 400). */
  orderBy: boolean;
  /** Order without `$orderby`. */
  defaultOrder: 'asc' | 'desc';
  maxTop: number;
  defaultTop: number;
  index: TimeIndex<T>;
  visible: (item: T, now: number) => boolean;
  render: (item: T) => string;
  /**
   * How `@odata.nextLink` pages: a keyset `$skiptoken` (the default; the audit logs), or `$skip` offsets
   * into the filtered collection as it is when each page is asked (the security APIs, which document
   * `$skip` and `$top`, e.g. `GET /security/alerts_V2?$top=100&$skip=200`, and no `$skiptoken`).
   */
  paging?: 'skiptoken' | 'skip';
  /** `$count=true` is answered with `@odata.count`, the size of the filtered collection on every page. */
  count?: boolean;
  /** Added to `@odata.count` (a count computed apart from the list, for tests of clients that check it). */
  countSkew?: number;
  /** Called after each page is built (the items it holds, whether more follow): a simulator's changes between pages. */
  afterPage?: (items: T[], more: boolean) => void;
}

export interface GraphSimOptions {
  clock?: Clock;
  seed?: number | string;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string | null;
  certificatePem?: string;
  /** Application permissions granted with admin consent (default: all the simulator knows). */
  permissions?: string[];
  /** Graph's per-app-per-tenant limit for the simulated service: requests per window. */
  rateLimit?: { requests: number; windowMs: number };
  /** The resource Graph's tokens must be issued for. */
  resource?: string;
  host?: string;
  port?: number;
}

export class GraphSim {
  readonly server: SimServer;
  readonly identity: EntraIdentitySim;
  readonly clock: Clock;
  readonly seed: number;
  permissions: Set<string>;
  protected readonly resource: string;
  private readonly rateLimit: { requests: number; windowMs: number };
  /** Arrival times of the requests inside the current rate-limit window, oldest first. */
  private readonly recent: number[] = [];
  /** How many requests were answered 429 by the service's own limit (not by injected faults). */
  throttled = 0;
  protected loopPages = 0;

  constructor(
    o: GraphSimOptions,
    defaults: {
      permissions: string[];
      rateLimit: { requests: number; windowMs: number };
      /** Another service behind the same token endpoint (Azure REST APIs): its name and error answers. */
      name?: string;
      hooks?: SimHooks;
    },
  ) {
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.resource = o.resource ?? 'https://graph.microsoft.com';
    this.rateLimit = o.rateLimit ?? defaults.rateLimit;
    this.permissions = new Set(o.permissions ?? defaults.permissions);
    this.server = new SimServer({
      name: defaults.name ?? 'graph',
      clock: this.clock,
      host: o.host,
      port: o.port,
      hooks: defaults.hooks ?? {
        errorReply: (req, status) => graphStatusReply(req, status),
        rateLimitReply: (req) => graphError(req, 429, 'TooManyRequests', 'Too many requests.'),
      },
    });
    this.identity = new EntraIdentitySim(this.server, {
      tenantId: o.tenantId,
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      certificatePem: o.certificatePem,
      resources: [this.resource],
      clock: this.clock,
    });
  }

  get url(): string {
    return this.server.url;
  }

  get tenantId(): string {
    return this.identity.tenantId;
  }

  get clientId(): string {
    return this.identity.clientId;
  }

  get clientSecret(): string {
    return this.identity.clientSecret ?? '';
  }

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  inject(fault: Fault): void {
    this.server.inject(fault);
  }

  clearFaults(): void {
    this.server.clearFaults();
  }

  requests(): RecordedRequest[] {
    return this.server.requests.all();
  }

  /** Requests that could change data. Token requests are POSTs that only read: they are not counted. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => !(r.method === 'POST' && TOKEN_PATH.test(r.path)));
  }

  /** The next `pages` answers carry an `@odata.nextLink` identical to the request (a misbehaving vendor). */
  loopNextLinks(pages = 1): void {
    this.loopPages = pages;
  }

  /**
   * A Graph GET route: bearer token for Graph, one of `permissions` granted (else `denied`), the
   * service's rate limit, then the handler.
   */
  protected get(
    path: string,
    permissions: string[],
    handler: (req: SimRequest) => SimReply,
    denied?: (req: SimRequest) => SimReply,
  ): void {
    this.server.route('GET', path, (req) => {
      const unauthorised = this.identity.check(req, this.resource);
      if (unauthorised) return unauthorised;
      if (!permissions.some((p) => this.permissions.has(p)))
        return (
          denied?.(req) ??
          graphError(
            req,
            403,
            'Authorization_RequestDenied',
            'Insufficient privileges to complete the operation.',
          )
        );
      // "N requests per W seconds" (learn.microsoft.com/graph/throttling-limits), read as a sliding window
      // (assumed: the page does not say; a sliding window is the strictest reading — a fixed one would let
      // 2N through across a boundary). Throttled requests do not count.
      const now = this.clock();
      while (this.recent.length && this.recent[0] <= now - this.rateLimit.windowMs) this.recent.shift();
      if (this.recent.length >= this.rateLimit.requests) {
        this.throttled++;
        const wait = Math.max(1, Math.ceil((this.recent[0] + this.rateLimit.windowMs - now) / 1000));
        return graphError(req, 429, 'TooManyRequests', 'Too many requests.', { 'retry-after': String(wait) });
      }
      this.recent.push(now);
      return handler(req);
    });
  }

  /**
   * A time-indexed Graph list (audit logs, alerts): `$filter` comparisons on one time property, `$orderby`
   * on it when the API supports it, `$top`, keyset `$skiptoken` in `@odata.nextLink`.
   */
  protected list<T extends Indexed>(req: SimRequest, spec: ListSpec<T>): SimReply {
    const q = req.query;
    const bad = (message: string, code = 'BadRequest') => graphError(req, 400, code, message);
    let top = spec.defaultTop;
    const topRaw = q.get('$top');
    if (topRaw !== null) {
      if (!/^\d+$/.test(topRaw) || Number(topRaw) < 1 || Number(topRaw) > spec.maxTop)
        return bad(`Invalid value '${topRaw}' for $top: expected 1 to ${spec.maxTop}.`);
      top = Number(topRaw);
    }
    let order = spec.defaultOrder;
    const orderRaw = q.get('$orderby');
    if (orderRaw !== null) {
      const m = new RegExp(`^${spec.property}(?:\\s+(asc|desc))?$`, 'i').exec(orderRaw.trim());
      if (!spec.orderBy || !m)
        return bad(`$orderby '${orderRaw}' is not supported on this resource.`, 'Request_UnsupportedQuery');
      order = (m[1]?.toLowerCase() as 'asc' | 'desc' | undefined) ?? 'asc';
    }
    let pred: (t: bigint) => boolean = () => true;
    const filterRaw = q.get('$filter');
    if (filterRaw) {
      try {
        pred = timeFilter(filterRaw, spec.property, spec.ops);
      } catch (err) {
        if (err instanceof ODataError) return bad(err.message, 'Request_UnsupportedQuery');
        throw err;
      }
    }
    if (spec.paging === 'skip') return this.offsetList(req, spec, { top, order, pred });
    const skip = q.get('$skiptoken');
    const cursor = decodeSkipToken<{ o: string; t: string; s: number }>(skip);
    if (skip !== null && (!cursor || cursor.o !== order)) return bad('Invalid $skiptoken.');
    const after = cursor ? { t: BigInt(cursor.t), seq: cursor.s } : undefined;
    const now = this.clock();
    if (req.empty) {
      // A valid page with no items that points at the same position again.
      return this.collection(
        req,
        spec.context,
        [],
        skip
          ? `${req.origin}${req.path}${req.url.search}`
          : withSkipToken(
              req,
              encodeSkipToken({ o: order, t: String(order === 'asc' ? -1n : 1n << 80n), s: 0 }),
            ),
      );
    }
    const page = spec.index.page({ order, top, after, include: (i) => spec.visible(i, now) && pred(i.t) });
    const last = page.items[page.items.length - 1];
    const next =
      page.more && last
        ? withSkipToken(req, encodeSkipToken({ o: order, t: String(last.t), s: last.seq }))
        : undefined;
    return this.collection(req, spec.context, page.items.map(spec.render), next);
  }

  /**
   * `$skip` paging: the page at that offset of the collection as it is now (an item that leaves or enters
   * the filter between two requests moves every later offset), `@odata.nextLink` with the next offset.
   * Assumed (not documented): `$skiptoken` is refused as ASP.NET OData refuses an option it does not
   * allow (the wording reported in microsoftgraph/msgraph-sdk-dotnet#2566 for a security list).
   */
  private offsetList<T extends Indexed>(
    req: SimRequest,
    spec: ListSpec<T>,
    o: { top: number; order: 'asc' | 'desc'; pred: (t: bigint) => boolean },
  ): SimReply {
    const q = req.query;
    const bad = (message: string) => graphError(req, 400, 'BadRequest', message);
    if (q.get('$skiptoken') !== null)
      return bad(
        "The query specified in the URI is not valid. Query option 'SkipToken' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.",
      );
    const skipRaw = q.get('$skip');
    if (skipRaw !== null && !/^\d+$/.test(skipRaw)) return bad(`Invalid value '${skipRaw}' for $skip.`);
    const skip = Number(skipRaw ?? 0);
    const countRaw = q.get('$count');
    if (countRaw !== null && !/^(true|false)$/i.test(countRaw))
      return bad(`Invalid value '${countRaw}' for $count.`);
    const now = this.clock();
    const matching = spec.index.all().filter((i) => spec.visible(i, now) && o.pred(i.t));
    if (o.order === 'desc') matching.reverse();
    const extra =
      spec.count && countRaw?.toLowerCase() === 'true'
        ? `,"@odata.count":${matching.length + (spec.countSkew ?? 0)}`
        : '';
    const at = (offset: number) => {
      const next = new URLSearchParams(q);
      next.set('$skip', String(offset));
      return `${req.origin}${req.path}?${next.toString()}`;
    };
    // An injected `empty` fault: a valid page with no items that asks for the same offset again.
    if (req.empty) return this.collection(req, spec.context, [], at(skip), extra);
    const items = matching.slice(skip, skip + o.top);
    const more = skip + items.length < matching.length;
    const reply = this.collection(
      req,
      spec.context,
      items.map(spec.render),
      more ? at(skip + items.length) : undefined,
      extra,
    );
    spec.afterPage?.(items, more);
    return reply;
  }

  /** An OData collection page: `value` from record JSON texts, `@odata.nextLink` when there is more. */
  protected collection(
    req: SimRequest,
    context: string,
    values: string[],
    nextLink?: string,
    extra = '',
  ): SimReply {
    let link = nextLink;
    if (this.loopPages > 0) {
      this.loopPages--;
      link = `${req.origin}${req.path}${req.url.search}`;
    }
    const head = `{"@odata.context":${JSON.stringify(`${req.origin}/v1.0/$metadata#${context}`)}${
      link ? `,"@odata.nextLink":${JSON.stringify(link)}` : ''
    }${extra},"value":[`;
    return {
      status: 200,
      headers: {
        'content-type':
          'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8',
      },
      body: `${head}${values.join(',')}]}`,
    };
  }
}
