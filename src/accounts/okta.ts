import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind, type HttpClient } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { DpopSession } from '../engine/dpop.ts';
import { defaultAlg, jwkKeyId, newJti, privateKey, signJwt } from '../engine/jwt.ts';
import { type AccessToken, requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `okta` account kind: an Okta org, authenticated either with an API token (SSWS) or as an OAuth 2.0
 * service app. Vendor facts:
 *
 * - API tokens: `Authorization: SSWS <token>`; a token acts with its creator's admin role
 *   (developer.okta.com/docs/guides/create-an-api-token/).
 * - Service apps, developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/: an "API
 *   Services" app with client authentication "Public key / Private key" (`private_key_jwt`, the only
 *   method for Okta-scoped tokens); the Client Credentials grant at the org authorization server,
 *   `POST https://{org}/oauth2/v1/token` with `grant_type=client_credentials`, `scope=okta.logs.read`,
 *   `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and the
 *   `client_assertion`: a JWT signed with the app's key (RS256/384/512 or ES256/384/512) with `aud` =
 *   the token URL, `iss` = `sub` = the client ID, `exp` at most an hour ahead, optional `jti` and
 *   `iat`. The scope must be granted to the app (Okta API Scopes tab) and the app needs an admin role
 *   that can read the System Log (Admin roles tab). Tokens last one hour.
 * - DPoP, developer.okta.com/docs/guides/dpop/oktaresourceserver/main/: an app with "Require
 *   Demonstrating Proof of Possession (DPoP) header in token requests" (on for new API Services apps)
 *   gets DPoP-bound tokens only (engine/dpop.ts): the token request carries a proof and is answered
 *   400 `use_dpop_nonce` with a `dpop-nonce` to put in the next proof; API requests send
 *   `Authorization: DPoP <token>` and a proof with `ath`. Tributary starts without a proof and turns
 *   DPoP on when Okta answers `invalid_dpop_proof` ("The DPoP proof JWT header is missing."), so both
 *   settings of the checkbox work. The DPoP key is separate from the client key ("The JWK that's used
 *   for DPoP authentication is separate from the JWK used for client authentication"): one P-256 key
 *   per account, made in memory.
 * - Rate limits: the System Log endpoint allows 60–120 requests a minute per org depending on the plan
 *   (more with DynamicScale); a service app has its own share, 50 % of the org's by default
 *   ("Application rate limits" tab); the X-Rate-Limit-* headers refine it at run time.
 */

export const OKTA_LOGS_SCOPE = 'okta.logs.read';
/** Assertion lifetime: well inside Okta's one hour, long enough for a slow clock. */
const ASSERTION_LIFETIME_S = 300;

export interface OktaAccount {
  url: string;
  token?: string;
  clientId?: string;
  privateKey?: string;
  keyId?: string;
  /** The Okta API scopes a service app asks for (default okta.logs.read); every one must be granted. */
  scopes?: string[];
}

const SERVICE_APP_FIELDS = ['clientId', 'privateKey'] as const;

export const oktaFields = z
  .object({
    url: serviceUrl()
      .meta({ title: 'Okta org URL' })
      .meta(ORIGIN)
      .describe('Okta org URL, e.g. https://acme.okta.com'),
    token: z
      .string()
      .min(1)
      .optional()
      .meta({ ...SECRET, title: 'API token' })
      .describe(
        'API token (SSWS) of an admin with the Read-Only Administrator role; leave empty to use a service app',
      ),
    clientId: z
      .string()
      .trim()
      .regex(/^\S+$/, 'expected the Client ID of the API Services app, such as 0oa1b2c3d4e5f6g7h8i9')
      .optional()
      .meta({ title: 'Client ID (service app)' })
      .describe('Client ID of an API Services app (Applications → the app → General → Client Credentials)'),
    privateKey: z
      .string()
      .optional()
      .superRefine((text, ctx) => {
        if (text === undefined) return;
        try {
          privateKey(text, 'rsa-or-ec');
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .meta({ ...SECRET, title: 'Private key (service app)' })
      .describe(
        "The service app's private key, PEM or JWK (RSA or EC), whose public key is registered under Public keys",
      ),
    keyId: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ title: 'Key ID (service app)' })
      .describe("KID of the app's public key (Public keys table); default: the JWK's kid, else none"),
    scopes: z
      .array(
        z.string().regex(/^okta\.[a-zA-Z]+\.[a-z]+$/, 'expected an Okta API scope such as okta.users.read'),
      )
      .optional()
      .meta({ title: 'Scopes (service app)' })
      .describe(
        'Okta API scopes the service app asks for, each granted on its Okta API Scopes tab (default okta.logs.read; okta-context needs okta.users.read and okta.groups.read)',
      ),
  })
  .strict()
  .superRefine((a, ctx) => {
    const app = SERVICE_APP_FIELDS.filter((f) => a[f] !== undefined);
    if (a.token && app.length) {
      ctx.addIssue({
        code: 'custom',
        path: [app[0]],
        message: 'set either token (an API token) or clientId and privateKey (a service app), not both',
      });
    } else if (!a.token && app.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: 'required: an API token, or clientId and privateKey of an OAuth service app',
      });
    } else if (!a.token) {
      for (const f of SERVICE_APP_FIELDS.filter((x) => a[x] === undefined))
        ctx.addIssue({
          code: 'custom',
          path: [f],
          message: 'required with a service app (clientId and privateKey go together)',
        });
    }
    // An empty list (a form's untouched array field) means the default.
    if (a.scopes?.length && a.privateKey === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['scopes'],
        message: 'only used with a service app (an API token acts with its admin role)',
      });
    if (a.keyId !== undefined && a.privateKey === undefined)
      ctx.addIssue({ code: 'custom', path: ['keyId'], message: 'only used with a service app privateKey' });
  });

const orgUrl = (a: Pick<OktaAccount, 'url'>) => a.url.replace(/\/+$/, '');
export const oktaTokenUrl = (a: Pick<OktaAccount, 'url'>) => `${orgUrl(a)}/oauth2/v1/token`;

/** The service app's client assertion (`private_key_jwt`): signed with its key, for the token URL. */
export function clientAssertion(a: OktaAccount, now = Date.now()): Promise<string> {
  const key = privateKey(a.privateKey ?? '', 'rsa-or-ec');
  const kid = a.keyId ?? jwkKeyId(a.privateKey ?? '');
  const iat = Math.floor(now / 1000);
  return signJwt(
    {
      aud: oktaTokenUrl(a),
      iss: a.clientId,
      sub: a.clientId,
      iat,
      exp: iat + ASSERTION_LIFETIME_S,
      jti: newJti(),
    },
    key,
    { alg: defaultAlg(key), header: kid ? { kid } : {} },
  );
}

const GRANT_SCOPE = `Grant ${OKTA_LOGS_SCOPE} to the service app: Okta Admin Console → Applications → the app → Okta API Scopes → Grant next to ${OKTA_LOGS_SCOPE} (a Super Administrator can grant scopes).`;

/** A refused token request, as a stable code and what to do. */
export function tokenRefusal(r: TokenRefusal): { code: string; action: string } {
  const d = r.description ?? '';
  switch (r.error) {
    case 'invalid_client':
      return {
        code: 'okta_invalid_client',
        action:
          "Okta did not accept the service app's client assertion. Check clientId is the Client ID of an API Services app, that its Client authentication is Public key / Private key, that the public key of privateKey is listed under Public keys (and keyId, if set, is that key's KID), and that this machine's clock is right (NTP).",
      };
    case 'invalid_scope':
      return new RegExp(`${OKTA_LOGS_SCOPE.replace(/\./g, '\\.')}|grant|allowed`, 'i').test(d)
        ? { code: 'okta_scope_not_granted', action: GRANT_SCOPE }
        : {
            code: 'okta_invalid_scope',
            action: `Okta does not offer the scope ${OKTA_LOGS_SCOPE} here. The account URL must be the org itself (https://acme.okta.com), not a custom authorization server or the -admin URL, and the app an API Services app. ${GRANT_SCOPE}`,
          };
    case 'unauthorized_client':
    case 'unsupported_grant_type':
      return {
        code: 'okta_grant_not_allowed',
        action:
          'The app may not use the Client Credentials grant: create an API Services app (Applications → Create App Integration → API Services) and use its Client ID.',
      };
    case 'invalid_dpop_proof':
    case 'use_dpop_nonce':
      return {
        code: 'okta_dpop_refused',
        action:
          "Okta refused Tributary's DPoP proof. Check this machine's clock (NTP). If it persists, clear “Require Demonstrating Proof of Possession (DPoP) header in token requests” in the app's General Settings, and report it.",
      };
    default:
      return {
        code: 'okta_token_refused',
        action:
          "Check the service app (API Services, Public key / Private key, okta.logs.read granted, an admin role assigned) and the account's clientId and privateKey.",
      };
  }
}

/** A DPoP session per service app credential: whether the app requires DPoP, Okta's nonce, the key. */
const dpopSessions = new Map<string, DpopSession>();

const cacheKey = (a: OktaAccount) =>
  tokenKey('okta', oktaTokenUrl(a), a.clientId ?? '', a.privateKey ?? '', a.keyId ?? '', scopeOf(a));

/** The scopes a service app asks for, space-separated as the token request wants them. */
const scopeOf = (a: OktaAccount) => (a.scopes?.length ? a.scopes : [OKTA_LOGS_SCOPE]).join(' ');

function fetchToken(http: HttpClient, a: OktaAccount, key: string): Promise<AccessToken> {
  let dpop = dpopSessions.get(key);
  if (!dpop) {
    if (dpopSessions.size > 256) dpopSessions.clear();
    dpop = new DpopSession();
    dpopSessions.set(key, dpop);
  }
  return requestToken(http, {
    vendor: 'Okta',
    tokenUrl: oktaTokenUrl(a),
    form: async () => ({
      grant_type: 'client_credentials',
      scope: scopeOf(a),
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(a),
    }),
    dpop,
    code: (r) => tokenRefusal(r).code,
    action: (r) => tokenRefusal(r).action,
  });
}

export const okta = defineAccountKind<OktaAccount>({
  id: 'okta',
  title: 'Okta',
  fields: oktaFields as unknown as z.ZodType<OktaAccount>,
  // The org: its API and its authorization server's token endpoint.
  origins: (a) => [a.url],
  async authorize(a, headers, { refresh, http, url, method }) {
    if (!a.clientId || !a.privateKey) {
      headers.set('authorization', `SSWS ${a.token}`);
      return;
    }
    // One token per service app credential, shared by every collector of the account, renewed before
    // its hour is up and fetched again after a 401 (engine/oauth.ts).
    const key = cacheKey(a);
    const t = await tokenCache.entry(key, refresh, () => fetchToken(http, a, key));
    if (t.type === 'DPoP' && t.dpop) {
      headers.set('authorization', `DPoP ${t.token}`);
      headers.set('dpop', await t.dpop.proof(method ?? 'GET', url, { accessToken: t.token, nonce: null }));
    } else headers.set('authorization', `Bearer ${t.token}`);
  },
  // Okta's System Log endpoint allows 60–120 requests a minute per org depending on the plan (more with
  // DynamicScale: set the account's requestsPerMinute); the X-Rate-Limit-* headers refine it at run time.
  rateLimit: { perSecond: 2, burst: 20 },
});
