import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `symantec-endpoint-security` account kind: a client application of Symantec Endpoint Security
 * (the ICDm cloud console). Vendor facts (techdocs.broadcom.com, Symantec Endpoint Security, "Adding a
 * client application"; apidocs.symantec.com "Symantec Integrated Cyber Defense Manager (ICDm): API
 * reference", 2.1 Authentication):
 *
 * - Client applications are added in the console under **Integration → Client Applications**; each has a
 *   Client ID, a Client Secret and an "OAuth Credentials" value, with privileges chosen in its flyout.
 * - "OAuth Credentials value is used in the Authentication API to generate a bearer token that is used in
 *   all API calls": `POST {api}/v1/oauth2/tokens` with `authorization: Basic {OAuth Credentials}` and
 *   `content-type: application/x-www-form-urlencoded` → `{access_token, …}`; requests carry
 *   `Authorization: Bearer <token>`. The API host is `https://api.sep.securitycloud.symantec.com`
 *   (Cortex XSIAM's Symantec Endpoint Security collector, its default server URL).
 *
 * Assumed where the public pages are silent: the OAuth Credentials value is base64(clientId:clientSecret)
 * (what HTTP Basic means; the collector builds it from the two, which the console also shows); the token's
 * `expires_in` (the engine renews 5 minutes before it and after any 401); rate limits (none published: the
 * budget below, 2 requests/s, is an assumption).
 */

export const SES_API_URL = 'https://api.sep.securitycloud.symantec.com';

export interface SymantecEndpointSecurityAccount {
  clientId: string;
  clientSecret: string;
  apiUrl?: string;
}

export const symantecEndpointSecurityFields = z
  .object({
    clientId: z
      .string()
      .trim()
      .regex(
        /^\S{8,200}$/,
        'expected the Client ID of the client application (Integration → Client Applications)',
      )
      .meta({ title: 'Client ID' })
      .describe('Client ID of the client application (Integration → Client Applications)'),
    clientSecret: z
      .string()
      .trim()
      .min(8, 'expected the Client Secret of the same client application (its menu → Client Secret)')
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Client Secret of the same client application'),
    apiUrl: serviceUrl()
      .optional()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe(`The Symantec Endpoint Security API host (default ${SES_API_URL})`),
  })
  .strict();

export const sesApiUrl = (a: Pick<SymantecEndpointSecurityAccount, 'apiUrl'>) =>
  (a.apiUrl ?? SES_API_URL).replace(/\/+$/, '');

function refusalAction(r: TokenRefusal): string {
  if (r.status === 401 || r.status === 403 || r.error === 'invalid_client')
    return "Symantec Endpoint Security refused the client application: check the account's Client ID and Client Secret (Integration → Client Applications → the application's menu → Client Secret), and that the application was not deleted.";
  return "Check the client application in the Symantec Endpoint Security console and the account's API URL; if they are right, report this with the logs.";
}

export const symantecEndpointSecurity = defineAccountKind<SymantecEndpointSecurityAccount>({
  id: 'symantec-endpoint-security',
  title: 'Symantec Endpoint Security',
  fields: symantecEndpointSecurityFields as unknown as z.ZodType<SymantecEndpointSecurityAccount>,
  origins: (a) => [new URL(sesApiUrl(a)).origin],
  async authorize(a, headers, { refresh, http }) {
    const tokenUrl = `${sesApiUrl(a)}/v1/oauth2/tokens`;
    const key = tokenKey('symantec-endpoint-security', tokenUrl, a.clientId, a.clientSecret);
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'Symantec Endpoint Security',
        tokenUrl,
        form: {},
        headers: {
          accept: 'application/json',
          authorization: `Basic ${Buffer.from(`${a.clientId}:${a.clientSecret}`).toString('base64')}`,
        },
        code: (r) => (r.error ? `ses_${r.error}` : r.status === 401 ? 'ses_invalid_client' : undefined),
        action: refusalAction,
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 2, burst: 10 },
});
