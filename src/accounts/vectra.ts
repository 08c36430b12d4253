import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `vectra` account kind: an API client of a Vectra AI platform (RUX) portal. Vendor facts (Vectra's
 * published RUX v3 OpenAPI document, securitySchemes; the Vectra RUX integrations of Cortex XSOAR,
 * xsoar.pan.dev "Vectra RUX"):
 *
 * - API clients are made in the portal (Manage → API Clients → Add API Client) with a role; there are no
 *   OAuth scopes: the role decides what the client may read.
 * - `POST https://{portal}/oauth2/token` with `grant_type=client_credentials`, the client authenticated with
 *   HTTP Basic (client ID and secret) → `{access_token, token_type, expires_in, …}`; requests carry
 *   `Authorization: Bearer <token>`. The token is cached per account and renewed 5 minutes before it
 *   expires, and after a 401 (engine/oauth.ts).
 *
 * Rate limits: neither Vectra's OpenAPI documents nor the integrations give numbers or 429 answers. The
 * budget below (2 requests/s) is an assumption; 429 and Retry-After are honoured if Vectra sends them.
 */

export interface VectraAccount {
  portalUrl: string;
  clientId: string;
  clientSecret: string;
}

export const vectraFields = z
  .object({
    portalUrl: serviceUrl()
      .meta({ title: 'Portal URL' })
      .meta(ORIGIN)
      .describe('The Vectra AI platform portal, e.g. https://123456789012.uw2.portal.vectra.ai'),
    clientId: z
      .string()
      .trim()
      .min(8, 'expected the Client ID shown when the API client was added (Manage → API Clients)')
      .regex(/^\S+$/, 'expected the Client ID alone, without spaces')
      .meta({ title: 'Client ID' })
      .describe('Client ID of the API client'),
    clientSecret: z
      .string()
      .trim()
      .min(8, 'expected the Secret Key shown once when the API client was added')
      .meta({ ...SECRET, title: 'Secret key' })
      .describe('Secret key of the same API client'),
  })
  .strict();

export const vectraPortal = (a: Pick<VectraAccount, 'portalUrl'>) => new URL(a.portalUrl).origin;

function refusalAction(r: TokenRefusal): string {
  if (r.error === 'invalid_client' || r.status === 401)
    return "Vectra refused the API client: check the account's clientId and clientSecret (Manage → API Clients; a lost secret cannot be shown again: regenerate it) and the portal URL.";
  return "Check the API client in the Vectra portal and the account's portal URL; if they are right, report this with the logs.";
}

export const vectra = defineAccountKind<VectraAccount>({
  id: 'vectra',
  title: 'Vectra AI',
  fields: vectraFields as unknown as z.ZodType<VectraAccount>,
  origins: (a) => [vectraPortal(a)],
  async authorize(a, headers, { refresh, http }) {
    const tokenUrl = `${vectraPortal(a)}/oauth2/token`;
    const key = tokenKey('vectra', tokenUrl, a.clientId, a.clientSecret);
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'Vectra',
        tokenUrl,
        form: { grant_type: 'client_credentials' },
        headers: {
          authorization: `Basic ${Buffer.from(`${a.clientId}:${a.clientSecret}`).toString('base64')}`,
        },
        code: (r) => (r.error ? `vectra_${r.error}` : undefined),
        action: refusalAction,
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 2, burst: 10 },
});
