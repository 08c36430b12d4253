import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `mimecast` account kind: a Mimecast API 2.0 application (API 1.0 keys are at end of life). Vendor facts
 * (developer.services.mimecast.com, "API 2.0 — Getting started" / "Authentication"):
 *
 * - An administrator registers an API 2.0 application (Administration → Services → API and Platform
 *   Integrations → Your Application Integrations → Add API Application) with the products it may read; it has
 *   a **Client ID** and **Client Secret**.
 * - Tokens come from the OAuth 2.0 client credentials grant: `POST https://api.services.mimecast.com/oauth/token`
 *   (form `grant_type=client_credentials`, `client_id`, `client_secret`), valid about 30 minutes, sent as
 *   `Authorization: Bearer` to the same gateway. Regional gateways: `https://us-api.services.mimecast.com`,
 *   `https://uk-api.services.mimecast.com` (set as `url`).
 * - Rate limits are per application and endpoint, announced in `X-RateLimit-*` headers whose reset is in
 *   milliseconds; the numbers are not public: the budget here (2 requests/s, burst 5) is an assumption.
 */

export const MIMECAST_API = 'https://api.services.mimecast.com';

export interface MimecastAccount {
  clientId: string;
  clientSecret: string;
  url?: string;
}

export const mimecastFields = z
  .object({
    clientId: z
      .string()
      .trim()
      .min(1, 'required: the Client ID of the API 2.0 application')
      .meta({ title: 'Client ID' })
      .describe(
        'Client ID of the API 2.0 application (Administration → Services → API and Platform Integrations)',
      ),
    clientSecret: z
      .string()
      .trim()
      .min(1, 'required: the Client Secret of the API 2.0 application')
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Client Secret of the same application'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API gateway' })
      .meta(ORIGIN)
      .describe(`Regional gateway, e.g. https://us-api.services.mimecast.com (default ${MIMECAST_API})`),
  })
  .strict();

export const mimecastUrl = (a: Pick<MimecastAccount, 'url'>) => (a.url ?? MIMECAST_API).replace(/\/+$/, '');

const refusal = (r: TokenRefusal) =>
  r.error === 'invalid_client' || r.status === 401
    ? 'Mimecast refused the client ID or secret: check them on the API 2.0 application (the secret may have been regenerated or the application disabled) and the account’s gateway.'
    : 'Check the API 2.0 application (enabled, its products and permissions) and the account’s gateway; if they are right, report this with the logs.';

export const mimecast = defineAccountKind<MimecastAccount>({
  id: 'mimecast',
  title: 'Mimecast',
  fields: mimecastFields as unknown as z.ZodType<MimecastAccount>,
  origins: (a) => [mimecastUrl(a)],
  async authorize(a, headers, { refresh, http }) {
    const tokenUrl = `${mimecastUrl(a)}/oauth/token`;
    const token = await tokenCache.get(
      tokenKey('mimecast', tokenUrl, a.clientId, a.clientSecret),
      refresh,
      () =>
        requestToken(http, {
          vendor: 'Mimecast',
          tokenUrl,
          form: { grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.clientSecret },
          action: refusal,
        }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 2, burst: 5 },
});
