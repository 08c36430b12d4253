import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `sophos-central` account kind: Sophos Central API credentials (a client ID and secret) of a tenant,
 * a partner or an organization. Vendor facts (developer.sophos.com "Getting started" and Sophos's own SIEM
 * integration script, github.com/sophos/Sophos-Central-SIEM-Integration, api_client.py):
 *
 * - Credentials are made in Sophos Central: Global Settings → API Credentials Management → Add Credential,
 *   with a role (the SIEM APIs need "Service Principal Read-Only" at least).
 * - `POST https://id.sophos.com/api/v2/oauth2/token` with `grant_type=client_credentials`, `client_id`,
 *   `client_secret`, `scope=token` → `{access_token, expires_in, …}`; the token is cached and renewed 5
 *   minutes before `expires_in` runs out (engine/oauth.ts), and after a 401.
 * - `GET https://api.central.sophos.com/whoami/v1` says who the credentials belong to (`id`, `idType`:
 *   tenant, partner or organization) and where its data lives (`apiHosts.global`, `apiHosts.dataRegion`, a
 *   regional host such as `https://api-eu01.central.sophos.com`).
 *
 * The token may go to the token endpoint, the global API and Sophos's regional hosts
 * (`https://*.central.sophos.com`), nowhere else: a `dataRegion` elsewhere is refused before anything is
 * sent. Rate limits: not confirmed in public documentation; the budget below (2 requests/s) is an
 * assumption, and 429 with Retry-After is honoured.
 */

export const SOPHOS_TOKEN_URL = 'https://id.sophos.com/api/v2/oauth2/token';
export const SOPHOS_GLOBAL_URL = 'https://api.central.sophos.com';

export interface SophosAccount {
  clientId: string;
  clientSecret: string;
  tokenUrl?: string;
  globalUrl?: string;
}

export const sophosFields = z
  .object({
    clientId: z
      .string()
      .trim()
      .regex(
        /^[0-9a-fA-F-]{36}$/,
        'expected the Client ID shown when the credential was added (Global Settings → API Credentials Management)',
      )
      .meta({ title: 'Client ID' })
      .describe('Client ID of the API credential'),
    clientSecret: z
      .string()
      .trim()
      .min(16, 'expected the Client Secret shown once when the credential was added')
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Client Secret of the same credential'),
    tokenUrl: serviceUrl()
      .optional()
      .meta({ title: 'Token URL' })
      .meta(ORIGIN)
      .describe(`OAuth token endpoint (default ${SOPHOS_TOKEN_URL})`),
    globalUrl: serviceUrl()
      .optional()
      .meta({ title: 'Global API URL' })
      .meta(ORIGIN)
      .describe(`Global API, where whoami/v1 answers (default ${SOPHOS_GLOBAL_URL})`),
  })
  .strict();

export const sophosTokenUrl = (a: Pick<SophosAccount, 'tokenUrl'>) => a.tokenUrl ?? SOPHOS_TOKEN_URL;
export const sophosGlobalUrl = (a: Pick<SophosAccount, 'globalUrl'>) =>
  (a.globalUrl ?? SOPHOS_GLOBAL_URL).replace(/\/+$/, '');

function refusalAction(r: TokenRefusal): string {
  if (r.error === 'invalid_client' || r.status === 401)
    return "Sophos refused the credential: check the account's clientId and clientSecret (Global Settings → API Credentials Management; a secret is shown only once: renew it there if it is lost).";
  return "Check the API credential in Sophos Central and the account's tokenUrl; if they are right, report this with the logs.";
}

export const sophosCentral = defineAccountKind<SophosAccount>({
  id: 'sophos-central',
  title: 'Sophos Central',
  fields: sophosFields as unknown as z.ZodType<SophosAccount>,
  origins: (a) => [sophosTokenUrl(a), sophosGlobalUrl(a), 'https://*.central.sophos.com'],
  async authorize(a, headers, { refresh, http }) {
    const key = tokenKey('sophos', sophosTokenUrl(a), a.clientId, a.clientSecret);
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'Sophos Central',
        tokenUrl: sophosTokenUrl(a),
        form: {
          grant_type: 'client_credentials',
          client_id: a.clientId,
          client_secret: a.clientSecret,
          scope: 'token',
        },
        code: (r) => (r.error ? `sophos_${r.error}` : undefined),
        action: refusalAction,
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 2, burst: 10 },
});
