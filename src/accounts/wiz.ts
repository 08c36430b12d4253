import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `wiz` account kind: a Wiz service account ("Custom Integration (GraphQL API)") whose client ID and
 * secret are exchanged for a Bearer token with the OAuth 2.0 client credentials grant. Wiz's own docs
 * (docs.wiz.io) need a login; the facts below are from public pages that quote them:
 *
 * - Token URL `https://auth.app.wiz.io/oauth/token`, form-encoded `grant_type=client_credentials`,
 *   `client_id`, `client_secret`, `audience=wiz-api` (servicenow.com/docs … sgc-cmdb-wiz-setup: "uses the
 *   following token URL: https://auth.app.wiz.io/oauth/token"; stitchflow.com/user-management/wiz/api;
 *   learn.microsoft.com/security-exposure-management/wiz-data-connector). Tenants still on the older
 *   Auth0 identity provider use `https://auth.wiz.io/oauth/token` with `audience=beyond-api` (the
 *   "Choose your IdP" step of Wiz's "Using the Wiz API"), which is the default audience for that host.
 *   The answer has `access_token`, `expires_in` (86400) and `token_type: Bearer`.
 * - The API endpoint is tenant-specific, `https://api.<region>.app.wiz.io/graphql` (user settings →
 *   Tenant → "API Endpoint URL"), called with `Authorization: Bearer <token>`.
 * - Wiz does not publish its API rate limits (they are per tenant), so the kind sets no rateLimit; the
 *   HTTP client honours 429 answers.
 */

export const WIZ_TOKEN_URL = 'https://auth.app.wiz.io/oauth/token';
const LEGACY_TOKEN_HOST = 'auth.wiz.io';

export interface WizAccount {
  clientId: string;
  clientSecret: string;
  apiUrl: string;
  tokenUrl?: string;
  audience?: string;
}

export const wizFields = z
  .object({
    clientId: z
      .string()
      .trim()
      .min(1, 'required: the client ID of the Wiz service account')
      .meta({ title: 'Client ID' })
      .describe('Client ID of the service account (Settings → Access Management → Service Accounts)'),
    clientSecret: z
      .string()
      .trim()
      .min(1, 'required: the client secret shown once when the service account was created')
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Client secret of the same service account'),
    apiUrl: serviceUrl()
      .refine((v) => new URL(v).pathname.replace(/\/+$/, '').endsWith('/graphql'), {
        message: 'expected the tenant API endpoint URL, such as https://api.us17.app.wiz.io/graphql',
      })
      .meta({ title: 'API endpoint URL' })
      .meta(ORIGIN)
      .describe(
        'Tenant API endpoint (User settings → Tenant → API Endpoint URL), e.g. https://api.us17.app.wiz.io/graphql',
      ),
    tokenUrl: serviceUrl()
      .optional()
      .meta({ title: 'Token URL' })
      .meta(ORIGIN)
      .describe(
        `Authentication endpoint (default ${WIZ_TOKEN_URL}; tenants on the older Auth0 login use https://auth.wiz.io/oauth/token)`,
      ),
    audience: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ title: 'Audience' })
      .describe('Token audience (default: wiz-api, or beyond-api with https://auth.wiz.io/oauth/token)'),
  })
  .strict();

export const wizTokenUrl = (a: Pick<WizAccount, 'tokenUrl'>) => a.tokenUrl ?? WIZ_TOKEN_URL;

export const wizAudience = (a: Pick<WizAccount, 'tokenUrl' | 'audience'>) =>
  a.audience ?? (new URL(wizTokenUrl(a)).hostname === LEGACY_TOKEN_HOST ? 'beyond-api' : 'wiz-api');

function refusalAction(r: TokenRefusal): string {
  if (r.error === 'access_denied' || r.error === 'invalid_client' || r.status === 401)
    return "Check the account's clientId and clientSecret (the service account may be deleted, expired or its secret rotated), and that tokenUrl matches the tenant's identity provider (auth.app.wiz.io, or auth.wiz.io with audience beyond-api).";
  if (r.error === 'invalid_request' || r.error === 'invalid_grant')
    return "Check the account's audience and tokenUrl: wiz-api with https://auth.app.wiz.io/oauth/token, beyond-api with https://auth.wiz.io/oauth/token.";
  return "Check the Wiz service account and the account's tokenUrl; if they are right, report this with the logs.";
}

export const wiz = defineAccountKind<WizAccount>({
  id: 'wiz',
  title: 'Wiz',
  fields: wizFields as unknown as z.ZodType<WizAccount>,
  origins: (a) => [a.apiUrl, wizTokenUrl(a)],
  async authorize(a, headers, { refresh, http }) {
    const tokenUrl = wizTokenUrl(a);
    const audience = wizAudience(a);
    const key = tokenKey('wiz', tokenUrl, a.clientId, a.clientSecret, audience);
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'Wiz',
        tokenUrl,
        form: {
          grant_type: 'client_credentials',
          client_id: a.clientId,
          client_secret: a.clientSecret,
          audience,
        },
        action: refusalAction,
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
});
