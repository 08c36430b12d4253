import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `trellix` account kind: Trellix IAM client credentials for the ePO – SaaS Events API. Vendor facts
 * (docs.trellix.com):
 *
 * - "Generating an API access token": client credentials (client ID and secret, Trellix IAM Guide, "Managing
 *   client credentials"; https://auth.ui.trellix.com), `POST
 *   https://auth.trellix.com/auth/realms/IAM/protocol/openid-connect/token` with `grant_type=client_credentials`
 *   and the `scope` wanted, the client in HTTP Basic; the answer is an OAuth 2.0 token with `expires_in`, cached
 *   and renewed before it expires and after a 401 (engine/oauth.ts).
 * - ePolicy Orchestrator – SaaS, Events API, "Request parameters": the token "must include one of these
 *   combinations of scopes": `epo.admin`, `epo.evt.r` ("threat events only"), `dp.im.r`, `epo.evt.r dp.im.r`.
 * - "Response codes": regional hosts — United States `arevents.manage.trellix.com`, Singapore
 *   `areventssgp…`, Frankfurt `areventsfrk…`, Sydney `areventssyd…`, India `areventsind…`.
 * - The older password grant (`iam.cloud.trellix.com/iam/v1.0/token` with a console user) does not work for
 *   accounts with multi-factor authentication; this kind uses client credentials only.
 * - Rate limits are not published in numbers: the budget below (1 request/s, burst 5) is an assumption.
 */

export const TRELLIX_TOKEN_URL = 'https://auth.trellix.com/auth/realms/IAM/protocol/openid-connect/token';

export const TRELLIX_REGIONS = {
  us: { title: 'United States', url: 'https://arevents.manage.trellix.com' },
  sg: { title: 'Singapore', url: 'https://areventssgp.manage.trellix.com' },
  eu: { title: 'Frankfurt (EU)', url: 'https://areventsfrk.manage.trellix.com' },
  au: { title: 'Sydney', url: 'https://areventssyd.manage.trellix.com' },
  in: { title: 'India', url: 'https://areventsind.manage.trellix.com' },
} as const;

export type TrellixRegion = keyof typeof TRELLIX_REGIONS;

export interface TrellixAccount {
  region?: TrellixRegion;
  url?: string;
  tokenUrl?: string;
  clientId: string;
  clientSecret: string;
  scope: string;
}

const regions = Object.keys(TRELLIX_REGIONS) as [TrellixRegion, ...TrellixRegion[]];

export const trellixFields = z
  .object({
    region: z
      .enum(regions, {
        error: () => `expected one of ${regions.join(', ')} (the region of the ePO – SaaS tenant)`,
      })
      .optional()
      .meta({ title: 'Region' })
      .meta(ORIGIN)
      .describe('Region of the ePO – SaaS tenant: us (default), sg, eu (Frankfurt), au (Sydney) or in'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'Events API host (instead of a region)' })
      .meta(ORIGIN)
      .describe('Another Events API host, such as a proxy'),
    tokenUrl: serviceUrl()
      .optional()
      .meta({ title: 'Token URL' })
      .meta(ORIGIN)
      .describe(`The IAM token endpoint (default ${TRELLIX_TOKEN_URL})`),
    clientId: z
      .string()
      .trim()
      .min(4, 'expected the client ID from the Trellix IAM dashboard (auth.ui.trellix.com)')
      .meta({ title: 'Client ID' })
      .describe('Client ID of the client credentials (Trellix IAM → Client Credentials)'),
    clientSecret: z
      .string()
      .trim()
      .min(8, 'expected the client secret shown when the credentials were created')
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Client secret of the same credentials'),
    scope: z
      .string()
      .trim()
      .regex(/^[\w.]+( [\w.]+)*$/, 'expected scopes separated by single spaces, e.g. epo.evt.r')
      .default('epo.evt.r')
      .meta({ title: 'Scope' })
      .describe('Scopes to request: epo.evt.r reads threat events'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.region && a.url)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'set either region or url, not both' });
  });

export const trellixHost = (a: Pick<TrellixAccount, 'region' | 'url'>) =>
  (a.url ?? TRELLIX_REGIONS[a.region ?? 'us'].url).replace(/\/+$/, '');
export const trellixTokenUrl = (a: Pick<TrellixAccount, 'tokenUrl'>) => a.tokenUrl ?? TRELLIX_TOKEN_URL;

export const trellix = defineAccountKind<TrellixAccount>({
  id: 'trellix',
  title: 'Trellix',
  fields: trellixFields as unknown as z.ZodType<TrellixAccount>,
  origins: (a) => [trellixTokenUrl(a), trellixHost(a)],
  async authorize(a, headers, { refresh, http }) {
    const tokenUrl = trellixTokenUrl(a);
    const key = tokenKey('trellix', tokenUrl, a.clientId, a.clientSecret, a.scope ?? 'epo.evt.r');
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'Trellix IAM',
        tokenUrl,
        form: { grant_type: 'client_credentials', scope: a.scope ?? 'epo.evt.r' },
        headers: {
          authorization: `Basic ${Buffer.from(`${a.clientId}:${a.clientSecret}`).toString('base64')}`,
        },
        code: () => 'trellix_token_refused',
        action: (r) =>
          r.error === 'invalid_scope'
            ? "The client credentials were not granted the requested scope: add the ePO events entitlement (epo.evt.r) to them in the Trellix IAM dashboard, or fix the account's scope."
            : "Check the account's client ID and secret (Trellix IAM dashboard → Client Credentials) and that they are not expired.",
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 1, burst: 5 },
});
