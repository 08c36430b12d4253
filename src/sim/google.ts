/**
 * Google's OAuth 2.0 token endpoint for service accounts, simulated as Google documents it in
 * "Using OAuth 2.0 for Server to Server Applications" (developers.google.com/identity/protocols/oauth2/service-account),
 * plus the bearer-token check every Google API makes. API simulators (Reports API, Cloud Logging) mount
 * the token route on their own server and call `authenticate` on each request.
 *
 * Token endpoint (`POST /token`, form-encoded), per that page's sections "Forming the JWT claim set",
 * "Making the access token request", "Handling the response" and "Delegating domain-wide authority to the
 * service account":
 * - `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and `assertion=<JWT>`; another grant type is
 *   400 unsupported_grant_type.
 * - The JWT must be RS256 and signed by the service account's private key: it is verified with the
 *   account's public key (found by `iss`, and `kid` when present = private_key_id); otherwise
 *   400 invalid_grant "Invalid JWT Signature.". An unknown `iss` is 400 invalid_grant "Invalid grant:
 *   account not found".
 * - `aud` must be https://oauth2.googleapis.com/token (Google: "this value is always …").
 * - `exp` at most one hour after `iat`, not in the past, `iat` not in the future (a few minutes of
 *   skew allowed): otherwise 400 invalid_grant "Invalid JWT: Token must be a short-lived token (60
 *   minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.".
 * - `scope`: space-delimited Google scopes; missing or malformed is 400 invalid_scope.
 * - `sub` (domain-wide delegation): must be a user of the domain (else 400 invalid_grant "Invalid email
 *   or User ID") and every requested scope must be authorised for the client ID in the Admin console
 *   (else 401 unauthorized_client "Client is unauthorized to retrieve access tokens using this method, or
 *   client not authorized for any of the scopes requested.").
 * - Success: 200 {"access_token":"ya29.…","expires_in":3599,"token_type":"Bearer"}.
 *
 * API side: a missing, unknown or expired bearer token is 401 UNAUTHENTICATED ("Request had invalid
 * authentication credentials…"); a token without an accepted scope is 403 PERMISSION_DENIED
 * ("Request had insufficient authentication scopes.", reason ACCESS_TOKEN_SCOPE_INSUFFICIENT). Error
 * bodies follow Google's JSON error format {"error":{"code","message","errors":[…],"status"}}.
 *
 * Time: JWT `iat`/`exp` and token lifetimes are checked against the wall clock (token lifetimes are
 * real whatever a test's simulated data clock says); `now` can be injected.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, verify } from 'node:crypto';
import { type Clock, json, Rng, SimHost, type SimReply, type SimRequest, SimServer, seedOf } from './kit.ts';

export const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const SKEW_S = 300;

export interface GoogleTokenSimulatorOptions {
  projectId?: string;
  /** Service-account email; unique per simulator by default, so token caches never mix simulators. */
  clientEmail?: string;
  /** Users of the Workspace domain, valid as `sub`. */
  users?: string[];
  /** Scopes the Admin console authorises for this client ID (domain-wide delegation). Default none. */
  delegatedScopes?: string[];
  /** Access-token lifetime in seconds (Google: 3599). */
  tokenLifetimeS?: number;
  /** Wall clock for JWT and token expiry. */
  now?: () => number;
  seed?: number;
}

interface Issued {
  iss: string;
  sub?: string;
  scopes: Set<string>;
  expiresAt: number;
}

export type AuthResult =
  | { ok: true; iss: string; sub?: string; scopes: Set<string> }
  | { ok: false; reply: SimReply };

let keyPair: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
/** One RSA key pair per process: generating 2048-bit keys costs tens of milliseconds per simulator. */
function sharedKeyPair() {
  keyPair ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
  return keyPair;
}

/** Google's JSON error body for API responses. */
export function googleError(code: number, message: string, status: string, reason = 'forbidden'): SimReply {
  return json(code, {
    error: { code, message, errors: [{ message, domain: 'global', reason }], status },
  });
}

const CANONICAL: Record<number, [string, string, string]> = {
  400: ['Request contains an invalid argument.', 'INVALID_ARGUMENT', 'badRequest'],
  401: [
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
    'UNAUTHENTICATED',
    'authError',
  ],
  403: ['The caller does not have permission', 'PERMISSION_DENIED', 'forbidden'],
  404: ['Requested entity was not found.', 'NOT_FOUND', 'notFound'],
  429: ['Resource has been exhausted (e.g. check quota).', 'RESOURCE_EXHAUSTED', 'rateLimitExceeded'],
  503: ['The service is currently unavailable.', 'UNAVAILABLE', 'backendError'],
};

/**
 * A Google API's error answer for an injected status (cloud.google.com/apis/design/errors, "Error
 * mapping"): the canonical status and reason, with the API's own wording where a simulator gives it.
 */
export function googleStatusError(status: number, messages: Partial<Record<number, string>> = {}): SimReply {
  const [message, canonical, reason] = CANONICAL[status] ?? [
    'Internal error encountered.',
    'INTERNAL',
    'backendError',
  ];
  return googleError(status, messages[status] ?? message, canonical, reason);
}

export class GoogleTokenSimulator {
  readonly projectId: string;
  readonly clientEmail: string;
  readonly clientId: string;
  readonly privateKeyId: string;
  users: Set<string>;
  delegatedScopes: Set<string>;
  private readonly privatePem: string;
  private publicKey: KeyObject;
  private readonly lifetimeS: number;
  private readonly now: () => number;
  private readonly issued = new Map<string, Issued>();
  private tokenRequests = 0;
  private server: SimServer | undefined;

  constructor(o: GoogleTokenSimulatorOptions = {}) {
    const rng = new Rng(seedOf(o.seed ?? 1, 'google-sa'));
    this.projectId = o.projectId ?? 'acme-security-prod';
    this.clientEmail =
      o.clientEmail ??
      `tributary-${randomBytes(4).toString('hex')}@${this.projectId}.iam.gserviceaccount.com`;
    this.clientId = `1${rng.chars('0123456789', 20)}`;
    this.privateKeyId = rng.hex(40);
    this.users = new Set(o.users ?? []);
    this.delegatedScopes = new Set(o.delegatedScopes ?? []);
    const { privateKey, publicKey } = sharedKeyPair();
    this.privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    this.publicKey = publicKey;
    this.lifetimeS = o.tokenLifetimeS ?? 3599;
    this.now = o.now ?? Date.now;
  }

  /** The JSON key file Google lets you download for this service account. */
  keyJson(): string {
    return JSON.stringify(
      {
        type: 'service_account',
        project_id: this.projectId,
        private_key_id: this.privateKeyId,
        private_key: this.privatePem,
        client_email: this.clientEmail,
        client_id: this.clientId,
        auth_uri: 'https://accounts.google.com/o/oauth2/auth',
        token_uri: GOOGLE_TOKEN_AUDIENCE,
        auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
        client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(this.clientEmail)}`,
        universe_domain: 'googleapis.com',
      },
      null,
      2,
    );
  }

  /** Serves the token endpoint at `path` on `server`. */
  mount(server: SimServer, path = '/token'): void {
    this.server = server;
    server.route('POST', path, (req) => this.token(req));
  }

  get tokenUrl(): string {
    if (!this.server) throw new Error('token simulator not mounted');
    return `${this.server.url}/token`;
  }

  /** How many token requests were made (successful or not). */
  get tokenRequestCount(): number {
    return this.tokenRequests;
  }

  /** Deletes the key (Google then refuses its signatures): a new key pair is in use from now on. */
  rotateKey(): void {
    this.publicKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  }

  /** Every access token issued so far stops working (as if expired). */
  expireTokens(): void {
    this.issued.clear();
  }

  /** The bearer-token check of a Google API accepting any of `accepts` scopes. */
  authenticate(req: SimRequest, accepts: string[]): AuthResult {
    const m = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    const t = m ? this.issued.get(m[1]) : undefined;
    if (!t || t.expiresAt <= this.now()) {
      if (t && m) this.issued.delete(m[1]);
      return {
        ok: false,
        reply: googleError(
          401,
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
          'UNAUTHENTICATED',
          'authError',
        ),
      };
    }
    if (!accepts.some((s) => t.scopes.has(s))) {
      return {
        ok: false,
        reply: googleError(
          403,
          'Request had insufficient authentication scopes.',
          'PERMISSION_DENIED',
          'ACCESS_TOKEN_SCOPE_INSUFFICIENT',
        ),
      };
    }
    return { ok: true, iss: t.iss, sub: t.sub, scopes: t.scopes };
  }

  // -------------------------------------------------------------------------------------------

  private token(req: SimRequest): SimReply {
    this.tokenRequests++;
    const form = new URLSearchParams(req.body.toString('utf8'));
    const refuse = (status: number, error: string, description: string) =>
      json(status, { error, error_description: description });
    if (form.get('grant_type') !== JWT_BEARER)
      return refuse(400, 'unsupported_grant_type', `Invalid grant_type: ${form.get('grant_type') ?? ''}`);
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return refuse(400, 'invalid_request', 'Invalid JWT: malformed assertion.');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return refuse(400, 'invalid_request', 'Invalid JWT: malformed assertion.');
    }
    if (claims.iss !== this.clientEmail)
      return refuse(400, 'invalid_grant', 'Invalid grant: account not found');
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2], 'base64url');
    if (
      header.alg !== 'RS256' ||
      (header.kid !== undefined && header.kid !== this.privateKeyId) ||
      !verify('sha256', signed, this.publicKey, signature)
    ) {
      return refuse(400, 'invalid_grant', 'Invalid JWT Signature.');
    }
    if (claims.aud !== GOOGLE_TOKEN_AUDIENCE) {
      return refuse(
        400,
        'invalid_grant',
        `Invalid JWT: Failed audience check. The right audience is ${GOOGLE_TOKEN_AUDIENCE}`,
      );
    }
    const now = Math.floor(this.now() / 1000);
    const iat = claims.iat;
    const exp = claims.exp;
    if (
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      exp - iat > 3600 ||
      exp <= now ||
      iat > now + SKEW_S
    ) {
      return refuse(
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    if (!scopes.length || !scopes.every((s) => /^https:\/\/www\.googleapis\.com\/auth\/[\w.-]+$/.test(s)))
      return refuse(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
    if (sub !== undefined) {
      if (!this.users.has(sub)) return refuse(400, 'invalid_grant', 'Invalid email or User ID');
      if (!scopes.every((s) => this.delegatedScopes.has(s))) {
        return refuse(
          401,
          'unauthorized_client',
          'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
        );
      }
    }
    const token = `ya29.${randomBytes(90).toString('base64url')}`;
    this.issued.set(token, {
      iss: this.clientEmail,
      sub,
      scopes: new Set(scopes),
      expiresAt: this.now() + this.lifetimeS * 1000,
    });
    return json(200, { access_token: token, expires_in: this.lifetimeS, token_type: 'Bearer' });
  }
}

/**
 * What the simulators of Google Cloud APIs share: one server with the service-account token endpoint
 * (`/token`), errors in Google's shape for injected faults (`statusError`), and the kit's controls.
 */
export abstract class GoogleApiSimulator extends SimHost {
  readonly server: SimServer;
  readonly tokens: GoogleTokenSimulator;
  readonly clock: Clock;

  constructor(o: { name: string; clock?: Clock; seed: number; projectId: string; quota?: () => SimReply }) {
    super();
    this.clock = o.clock ?? Date.now;
    this.tokens = new GoogleTokenSimulator({ seed: o.seed, projectId: o.projectId });
    this.server = new SimServer({
      name: o.name,
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => this.statusError(status),
        ...(o.quota ? { rateLimitReply: o.quota } : {}),
      },
    });
    this.tokens.mount(this.server);
  }

  /** The API's error answer for an injected status. */
  protected abstract statusError(status: number): SimReply;
}
