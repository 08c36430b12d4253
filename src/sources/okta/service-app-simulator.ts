/**
 * An Okta OAuth 2.0 service app ("API Services" app integration) and the org authorization server's
 * token endpoint, `POST /oauth2/v1/token`, for the Okta simulator. Okta's documentation it follows:
 *
 * - developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/ — the Client Credentials
 *   grant is the only grant for Okta-scoped tokens; `private_key_jwt` is "the only supported method" of
 *   client authentication; the client assertion's header `alg` is one of RS256, RS384, RS512, ES256,
 *   ES384, ES512 and claims `aud` = the token endpoint URL, `iss` = `sub` = the client ID, `exp` ("a
 *   maximum of only an hour in the future"), optional `jti` and `iat`; the request carries
 *   `grant_type=client_credentials`, `scope`, `client_assertion_type=urn:ietf:params:oauth:
 *   client-assertion-type:jwt-bearer`, `client_assertion`; requested scopes are validated against the
 *   app's grants collection; the answer is `{token_type, expires_in: 3600, access_token, scope}` ("The
 *   lifetime for this token is fixed at one hour"); API requests send `Authorization: Bearer <token>`.
 * - developer.okta.com/docs/api/resources/oidc/ (Possible errors: `invalid_client`, `invalid_scope`
 *   "The requested scope is invalid, unknown, or malformed", `unsupported_grant_type`, …); the
 *   `jti` of a JWT "already processed" is refused.
 * - developer.okta.com/docs/guides/dpop/oktaresourceserver/main/ — with "Require Demonstrating Proof of
 *   Possession (DPoP) header in token requests" on, the token request carries a `DPoP` proof (header
 *   `typ: dpop+jwt`, `alg`, `jwk`; claims `htm: POST`, `htu` the token URL, `iat`); the first answer is
 *   400 `use_dpop_nonce` "Authorization server requires nonce in DPoP proof." with a `dpop-nonce`
 *   header, and the retry carries `nonce` and `jti`; the token comes back with `token_type: DPoP`
 *   bound to the key (`cnf.jkt`). Requests to Okta resources send `Authorization: DPoP <token>` and a
 *   new proof with `htm`, `htu`, `iat`, `jti` and `ath` (SHA-256 of the token); "The `nonce` parameter
 *   isn't currently required in this DPoP JWT". support.okta.com "The DPoP Proof JWT Header Is
 *   Missing": a token request without the proof to such an app gets 400 `invalid_dpop_proof` "The
 *   DPoP proof JWT header is missing."
 * - The checkbox is on for a new API Services app (setup guides of Okta integrations tell admins to
 *   clear it when their client cannot do DPoP), so `dpop` defaults to true here.
 * - Service apps get no admin role automatically ("you must assign a role before you use the service
 *   app"): a missing role is the simulator's `permission: false` (403 E0000006).
 *
 * Not documented, decided here: access tokens are opaque random strings (Okta's are JWTs, which a client
 * does not read); invalid_client answers are 401 and the other errors 400; the wording of the
 * invalid_client descriptions and of a known scope that is not granted ("… not granted to the client:
 * okta.logs.read"); a proof sent to an app that does not require DPoP is ignored (a Bearer token);
 * a proof's `iat` may be 5 minutes off; the nonce does not rotate unless `rotateNonce()` is called;
 * an invalid or expired token on an API request gets 401 E0000011 with a `WWW-Authenticate` naming
 * `invalid_token`, and a token without the scope 403 E0000006 with `insufficient_scope`.
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject, randomBytes } from 'node:crypto';
import { checkDpopProof, decodeJws, verifySignature } from '../../sim/jws.ts';
import { json, type SimReply, type SimRequest } from '../../sim/kit.ts';

export interface OktaServiceAppOptions {
  /** The app's client ID (default: a random `0oa…`). */
  clientId?: string;
  /** Key type of the generated key pair whose public key is registered on the app (default rsa). */
  keyType?: 'rsa' | 'ec';
  /** Okta API scopes granted to the app (default `okta.logs.read`). */
  grants?: string[];
  /** "Require Demonstrating Proof of Possession (DPoP) header in token requests" (default true). */
  dpop?: boolean;
  /** Access token lifetime in seconds (default 3600). */
  tokenTtlSeconds?: number;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const CLIENT_ASSERTION_ALGS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'];
/** A few of Okta's OAuth 2.0 scopes for its management APIs (developer.okta.com/docs/api/oauth2/). */
const OKTA_SCOPES = new Set([
  'okta.logs.read',
  'okta.users.read',
  'okta.users.manage',
  'okta.groups.read',
  'okta.groups.manage',
  'okta.apps.read',
  'okta.apps.manage',
  'okta.roles.read',
  'okta.policies.read',
]);

interface IssuedToken {
  expiresAt: number;
  scopes: string[];
  /** Thumbprint of the DPoP key a token is bound to. */
  jkt?: string;
}

const b64 = (n: number) => randomBytes(n).toString('base64url');

export class OktaServiceApp {
  readonly clientId: string;
  /** KID of the registered public key. */
  readonly keyId: string;
  /** The private key, PKCS#8 PEM, and as a private JWK (with `kid`), as Okta's console offers them. */
  readonly privateKeyPem: string;
  readonly privateJwk: JsonWebKey & { kid: string };
  readonly grants: Set<string>;
  /** Whether the app requires DPoP-bound tokens. */
  dpop: boolean;
  tokenTtlSeconds: number;
  /** Token requests answered with a token, and refused. */
  readonly issued: { token: string; type: 'Bearer' | 'DPoP'; at: number }[] = [];
  readonly refusals: { error: string; at: number }[] = [];
  private readonly publicKey: KeyObject;
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly assertionJtis = new Set<string>();
  private readonly proofJtis = new Set<string>();
  private nonce_ = b64(24);
  private expireAfter?: number;

  constructor(o: OktaServiceAppOptions = {}) {
    this.clientId = o.clientId ?? `0oa${b64(13).replace(/[-_]/g, 'x').slice(0, 17)}`;
    this.keyId = b64(32);
    const pair =
      o.keyType === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.publicKey = pair.publicKey;
    this.privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.privateJwk = { ...pair.privateKey.export({ format: 'jwk' }), kid: this.keyId, use: 'sig' };
    this.grants = new Set(o.grants ?? ['okta.logs.read']);
    this.dpop = o.dpop ?? true;
    this.tokenTtlSeconds = o.tokenTtlSeconds ?? 3600;
  }

  /** The current `DPoP-Nonce`. */
  get nonce(): string {
    return this.nonce_;
  }

  rotateNonce(): string {
    this.nonce_ = b64(24);
    return this.nonce_;
  }

  /** Every issued token expires now: the next API request with one gets 401. */
  expireTokens(now: number): void {
    for (const t of this.tokens.values()) t.expiresAt = Math.min(t.expiresAt, now);
  }

  /** After `requests` more API requests authorised with a token, every issued token expires. */
  expireTokensAfter(requests: number): void {
    this.expireAfter = requests;
  }

  // -------------------------------------------------------------------------------------------
  // POST /oauth2/v1/token

  token(req: SimRequest, now: number): SimReply {
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials')
      return this.refuse(
        400,
        'unsupported_grant_type',
        'The authorization grant type is not supported by the authorization server.',
        now,
      );
    if (form.get('client_assertion_type') !== ASSERTION_TYPE || !form.get('client_assertion'))
      return this.refuse(
        401,
        'invalid_client',
        'Client authentication failed. Either the client or the client credentials are invalid.',
        now,
      );
    const assertion = decodeJws(form.get('client_assertion')!);
    if (!assertion)
      return this.refuse(401, 'invalid_client', 'The client_assertion is not a valid JWT.', now);
    const { iss, sub, aud, exp, jti } = assertion.claims;
    const formClient = form.get('client_id');
    if (iss !== this.clientId || sub !== this.clientId || (formClient && formClient !== this.clientId))
      return this.refuse(401, 'invalid_client', "Invalid value for 'client_id' parameter.", now);
    const kid = assertion.header.kid;
    if (kid !== undefined && kid !== this.keyId)
      return this.refuse(
        401,
        'invalid_client',
        'The client_assertion kid does not match a key registered on the client.',
        now,
      );
    if (!verifySignature(assertion, this.publicKey, CLIENT_ASSERTION_ALGS))
      return this.refuse(401, 'invalid_client', 'The client_assertion signature is invalid.', now);
    if (aud !== `${req.origin}/oauth2/v1/token`)
      return this.refuse(
        401,
        'invalid_client',
        'The audience claim for client_assertion must be the endpoint invoked for the request.',
        now,
      );
    const nowS = Math.floor(now / 1000);
    if (typeof exp !== 'number' || exp <= nowS)
      return this.refuse(401, 'invalid_client', 'The client_assertion token is expired.', now);
    if (exp > nowS + 3600)
      return this.refuse(
        401,
        'invalid_client',
        'The client_assertion token has an expiration too far into the future.',
        now,
      );
    if (typeof jti === 'string') {
      if (this.assertionJtis.has(jti))
        return this.refuse(401, 'invalid_client', 'The client_assertion token has already been used.', now);
      this.assertionJtis.add(jti);
    }

    let jkt: string | undefined;
    if (this.dpop) {
      const proof = req.headers.dpop;
      if (typeof proof !== 'string')
        return this.refuse(400, 'invalid_dpop_proof', 'The DPoP proof JWT header is missing.', now);
      const checked = checkDpopProof(proof, {
        method: 'POST',
        url: new URL('/oauth2/v1/token', req.origin),
        nowS,
        seen: this.proofJtis,
        nonce: this.nonce_,
      });
      if (!checked.ok) {
        if (checked.nonce) {
          const reply = this.refuse(
            400,
            'use_dpop_nonce',
            'Authorization server requires nonce in DPoP proof.',
            now,
          );
          reply.headers = { ...reply.headers, 'dpop-nonce': this.nonce_ };
          return reply;
        }
        return this.refuse(
          400,
          'invalid_dpop_proof',
          `The DPoP proof JWT is invalid: ${checked.reason}.`,
          now,
        );
      }
      jkt = checked.jkt;
    }

    const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
    if (!scopes.length || scopes.some((s) => !OKTA_SCOPES.has(s)))
      return this.refuse(400, 'invalid_scope', 'The requested scope is invalid, unknown, or malformed.', now);
    const missing = scopes.filter((s) => !this.grants.has(s));
    if (missing.length)
      return this.refuse(
        400,
        'invalid_scope',
        `One or more requested scopes are not granted to the client: ${missing.join(' ')}.`,
        now,
      );

    const token = b64(48);
    const type = jkt ? 'DPoP' : 'Bearer';
    this.tokens.set(token, { expiresAt: now + this.tokenTtlSeconds * 1000, scopes, jkt });
    this.issued.push({ token, type, at: now });
    return json(
      200,
      { token_type: type, expires_in: this.tokenTtlSeconds, access_token: token, scope: scopes.join(' ') },
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  }

  private refuse(status: number, error: string, description: string, now: number): SimReply {
    this.refusals.push({ error, at: now });
    return json(
      status,
      { error, error_description: description },
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  }

  // -------------------------------------------------------------------------------------------
  // API requests

  /**
   * Checks an API request's `Authorization: Bearer|DPoP <token>` (and DPoP proof) needing `scope`.
   * Undefined when it may proceed; otherwise what Okta answers.
   */
  authorize(
    req: SimRequest,
    now: number,
    scope: string,
  ): { status: 401 | 403; wwwAuthenticate: string } | undefined {
    const m = /^(Bearer|DPoP) (\S+)$/i.exec(String(req.headers.authorization ?? ''));
    const scheme = m?.[1]?.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    const challenge = (error: string, description: string) =>
      `${scheme} authorization_uri="${req.origin}/oauth2/v1/authorize", realm="${req.origin}", scope="${scope}", error="${error}", error_description="${description}", resource="${req.path}"`;
    const invalid = (description: string) => ({
      status: 401 as const,
      wwwAuthenticate: challenge('invalid_token', description),
    });
    if (!m) return invalid('The access token is missing.');
    const token = m[2]!;
    const t = this.tokens.get(token);
    if (!t) return invalid('The access token is invalid.');
    if (t.expiresAt <= now) return invalid('The access token is expired.');
    if (t.jkt) {
      if (scheme !== 'DPoP') return invalid('The access token is bound to a DPoP key: use the DPoP scheme.');
      const checked = checkDpopProof(typeof req.headers.dpop === 'string' ? req.headers.dpop : undefined, {
        method: req.method,
        url: req.url,
        nowS: Math.floor(now / 1000),
        seen: this.proofJtis,
        accessToken: token,
      });
      if (!checked.ok)
        return {
          status: 401,
          wwwAuthenticate: challenge('invalid_dpop_proof', `The DPoP proof is invalid: ${checked.reason}.`),
        };
      if (checked.jkt !== t.jkt)
        return {
          status: 401,
          wwwAuthenticate: challenge(
            'invalid_dpop_proof',
            'The DPoP proof key is not the one the token is bound to.',
          ),
        };
    } else if (scheme === 'DPoP')
      return invalid('The access token is not DPoP-bound: use the Bearer scheme.');
    if (!t.scopes.includes(scope))
      return {
        status: 403,
        wwwAuthenticate: challenge(
          'insufficient_scope',
          'The access token provided does not contain the required scopes.',
        ),
      };
    if (this.expireAfter !== undefined && --this.expireAfter <= 0) {
      this.expireAfter = undefined;
      this.expireTokens(now);
    }
    return undefined;
  }
}
