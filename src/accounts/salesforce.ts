import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind, type HttpClient } from '../core/source.ts';
import { isLoopbackHost, serviceUrl } from '../core/validation.ts';
import { rsaPrivateKey, signJwt } from '../engine/jwt.ts';
import { type AccessToken, requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `salesforce` account kind: a connected app (or external client app) of the org, authenticated
 * with one of the two server-to-server OAuth 2.0 flows. Vendor facts this follows:
 *
 * - Client credentials flow: `POST https://MyDomainName.my.salesforce.com/services/oauth2/token` with
 *   `grant_type=client_credentials`, `client_id`, `client_secret`; the answer carries `access_token`,
 *   `instance_url`, `token_type: Bearer` and no `expires_in` (developer.salesforce.com/docs/atlas.en-us.chatterapi.meta/chatterapi/quickstart_connecting.htm;
 *   the app needs "Enable Client Credentials Flow" and a "Run As" user under its Client Credentials Flow
 *   policy: developer.salesforce.com/docs/industries/loyalty/guide/authorization.html and
 *   help.salesforce.com …id=xcloud.meta_configure_client_credentials_flow_for_external_client_apps.htm,
 *   "This flow requires you to specify an integration user to run the integration").
 * - JWT bearer flow (help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm): an RS256
 *   JWT with `iss` = the app's client ID (consumer key), `sub` = the user's username, `aud` = "the
 *   authorization server's URL: https://login.salesforce.com, https://test.salesforce.com, or
 *   https://site.force.com/customers if implementing for an Experience Cloud site", and `exp` "the
 *   expiration time of the assertion within 3 minutes"; posted as
 *   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`. The app must have "Use digital
 *   signatures" with the certificate of the key, and the user must be pre-authorized.
 * - Errors are OAuth bodies (`invalid_client_id`, `invalid_client`, `invalid_grant` with
 *   "user hasn't approved this consumer", `unsupported_grant_type`, …).
 * - The org's API allowance is a daily request count per org, not a per-second rate, so the kind sets no
 *   rateLimit; sources watch the `Sforce-Limit-Info` header instead.
 *
 * Instance URL: both flows post to the account's My Domain URL, which is also where the REST API
 * answers. The token response's `instance_url` is kept beside the cached token; a source that must use
 * it (an org whose My Domain URL redirects, a proxy) asks `salesforceInstanceUrl(account, http)`, which
 * fetches a token first when none is cached and falls back to the account's URL.
 */

/** `exp` 150 s ahead: inside Salesforce's 3 minutes even when our clock runs a little fast. */
const JWT_AHEAD_S = 150;

export interface SalesforceAccount {
  url: string;
  clientId: string;
  clientSecret?: string;
  username?: string;
  privateKey?: string;
  audience?: string;
}

const JWT_FIELDS = ['username', 'privateKey'] as const;

export const salesforceFields = z
  .object({
    url: serviceUrl()
      .refine((v) => new URL(v).pathname === '/' || new URL(v).pathname === '', {
        message: 'expected the My Domain URL alone, such as https://acme.my.salesforce.com (no path)',
      })
      .meta({ title: 'My Domain URL' })
      .meta(ORIGIN)
      .describe(
        'The org’s My Domain URL (Setup → My Domain), e.g. https://acme.my.salesforce.com or https://acme--dev.sandbox.my.salesforce.com',
      ),
    clientId: z
      .string()
      .trim()
      .min(1, 'required: the consumer key of the connected app')
      .meta({ title: 'Client ID (consumer key)' })
      .describe(
        'Consumer key of the connected app or external client app (App Manager → View → Manage Consumer Details)',
      ),
    clientSecret: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ ...SECRET, title: 'Client secret (client credentials flow)' })
      .describe(
        'Consumer secret, for the client credentials flow (enable it on the app and set its Run As user); leave empty for the JWT bearer flow',
      ),
    username: z
      .string()
      .trim()
      .regex(/^[^\s@]+@[^\s@]+$/, 'expected a Salesforce username, which has the form of an email address')
      .optional()
      .meta({ title: 'Username (JWT bearer flow)' })
      .describe('Username of the integration user the JWT bearer flow acts as (pre-authorized for the app)'),
    privateKey: z
      .string()
      .optional()
      .superRefine((pem, ctx) => {
        if (pem === undefined) return;
        try {
          rsaPrivateKey(pem);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .meta({ ...SECRET, title: 'Private key (JWT bearer flow)' })
      .describe(
        'RSA private key (PEM) whose certificate is uploaded to the app under “Use digital signatures”',
      ),
    audience: serviceUrl()
      .optional()
      .meta({ title: 'JWT audience' })
      .describe(
        'JWT bearer flow audience: https://login.salesforce.com (production), https://test.salesforce.com (sandbox) or an Experience Cloud site URL (default: chosen from the My Domain URL)',
      ),
  })
  .strict()
  .superRefine((a, ctx) => {
    const jwt = JWT_FIELDS.filter((f) => a[f] !== undefined);
    if (a.clientSecret && jwt.length) {
      ctx.addIssue({
        code: 'custom',
        path: [jwt[0]],
        message:
          'set either clientSecret (client credentials flow) or username and privateKey (JWT bearer flow), not both',
      });
    } else if (!a.clientSecret && jwt.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecret'],
        message:
          'required: clientSecret (client credentials flow), or username and privateKey (JWT bearer flow)',
      });
    } else if (!a.clientSecret) {
      for (const f of JWT_FIELDS.filter((x) => a[x] === undefined))
        ctx.addIssue({
          code: 'custom',
          path: [f],
          message: 'required with the JWT bearer flow (username and privateKey go together)',
        });
    }
    if (a.audience && a.clientSecret)
      ctx.addIssue({ code: 'custom', path: ['audience'], message: 'only used by the JWT bearer flow' });
  });

export const tokenUrl = (a: Pick<SalesforceAccount, 'url'>) =>
  `${a.url.replace(/\/+$/, '')}/services/oauth2/token`;

/** The JWT audience: the account's, else login or test.salesforce.com chosen from the My Domain URL. */
export function jwtAudience(a: Pick<SalesforceAccount, 'url' | 'audience'>): string {
  if (a.audience) return a.audience;
  return /\.sandbox\.my\.salesforce\.com$/i.test(new URL(a.url).hostname)
    ? 'https://test.salesforce.com'
    : 'https://login.salesforce.com';
}

/** The JWT bearer assertion: RS256, iss = client ID, sub = username, aud, exp within 3 minutes. */
export function jwtAssertion(a: SalesforceAccount, nowS = Math.floor(Date.now() / 1000)): Promise<string> {
  return signJwt(
    { iss: a.clientId, sub: a.username, aud: jwtAudience(a), exp: nowS + JWT_AHEAD_S },
    rsaPrivateKey(a.privateKey ?? ''),
    { alg: 'RS256' },
  );
}

function refusalAction(r: TokenRefusal, a: SalesforceAccount): string {
  const d = (r.description ?? '').toLowerCase();
  if (r.error === 'invalid_client_id')
    return "Check the account's clientId: it must be the consumer key of a connected app of this org.";
  if (r.error === 'invalid_client')
    return "Check the account's clientSecret (the app's consumer secret); it may have been rotated.";
  if (r.error === 'unsupported_grant_type')
    return a.clientSecret
      ? 'Enable “Client Credentials Flow” in the app’s OAuth settings, and use the org’s My Domain URL as the account URL.'
      : 'Check the account URL is the org’s My Domain URL.';
  if (d.includes('approved') || d.includes('pre-authorized'))
    return `Pre-authorize the user for the app: set its OAuth policy “Permitted Users” to “Admin approved users are pre-authorized” and add ${a.username ?? 'the user'}'s profile or a permission set.`;
  if (d.includes('client credentials user') || d.includes('run as'))
    return 'Set the “Run As” user of the app’s client credentials flow (App Manager → Manage → Edit Policies).';
  if (d.includes('audience'))
    return `The JWT audience ${jwtAudience(a)} is not accepted: use https://login.salesforce.com for production, https://test.salesforce.com for a sandbox, or set audience.`;
  if (d.includes('assertion') || d.includes('signature') || d.includes('certificate'))
    return "Upload the certificate of the account's privateKey to the app (“Use digital signatures”), check clientId and username, and that this machine's clock is right.";
  if (d.includes('user') || d.includes('inactive') || d.includes('locked'))
    return `Check that the user ${a.username ?? ''} exists in this org, is active and not locked out.`;
  return "Check the connected app's OAuth settings and the account's fields; if they are right, report this with the logs.";
}

/** Instance URLs reported with tokens, by token cache key. */
const instanceUrls = new Map<string, string>();

const cacheKey = (a: SalesforceAccount) =>
  tokenKey(
    'salesforce',
    tokenUrl(a),
    a.clientId,
    a.clientSecret ?? '',
    a.username ?? '',
    a.privateKey ?? '',
    a.audience ?? '',
  );

function fetchToken(http: HttpClient, a: SalesforceAccount, key: string): Promise<AccessToken> {
  return requestToken(http, {
    vendor: 'Salesforce',
    tokenUrl: tokenUrl(a),
    form: async (): Promise<Record<string, string>> =>
      a.clientSecret
        ? { grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.clientSecret }
        : { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await jwtAssertion(a) },
    action: (r) => refusalAction(r, a),
    onResponse: (body) => {
      const u = typeof body.instance_url === 'string' ? body.instance_url : undefined;
      if (!u) return;
      try {
        const parsed = new URL(u);
        if (parsed.protocol === 'https:' || isLoopbackHost(parsed.hostname))
          instanceUrls.set(key, parsed.origin);
      } catch {
        // not a URL: keep using the account's
      }
    },
  });
}

async function accessToken(a: SalesforceAccount, http: HttpClient, refresh: boolean): Promise<string> {
  const key = cacheKey(a);
  // No expires_in comes back: the token is kept an hour (requestToken's default) and a 401 renews it
  // sooner when the org's session timeout is shorter.
  return tokenCache.get(key, refresh, () => fetchToken(http, a, key));
}

/** The org's instance URL from the token response (see the note at the top), else the account URL. */
export async function salesforceInstanceUrl(a: SalesforceAccount, http: HttpClient): Promise<string> {
  await accessToken(a, http, false);
  return instanceUrls.get(cacheKey(a)) ?? a.url.replace(/\/+$/, '');
}

export const salesforce = defineAccountKind<SalesforceAccount>({
  id: 'salesforce',
  title: 'Salesforce',
  fields: salesforceFields as unknown as z.ZodType<SalesforceAccount>,
  // The org's My Domain (or login host), and the instance URL its token answer names, which is on one of
  // Salesforce's own domains.
  origins: (a) => [a.url, 'https://*.my.salesforce.com', 'https://*.salesforce.com', 'https://*.force.com'],
  async authorize(a, headers, { refresh, http }) {
    headers.set('authorization', `Bearer ${await accessToken(a, http, refresh)}`);
  },
});
