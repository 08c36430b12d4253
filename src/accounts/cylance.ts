import { z } from 'zod';
import { configError, transientError } from '../core/errors.ts';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind, type HttpClient } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { newJti, signJwtHs256 } from '../engine/jwt.ts';
import { type AccessToken, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `cylance` account kind: a Cylance PROTECT (BlackBerry) API application — tenant ID, application ID and
 * application secret — whose self-signed JWT is exchanged for an access token. Vendor facts (Cylance User API
 * Guide v2, "Authentication"; the same flow in Splunk SOAR's Cylance connector, `_get_access_token`, "provided
 * by Cylance"):
 *
 * - The auth token is a JWT signed **HS256 with the application secret**, claims `exp` (at most 30 minutes
 *   after `iat`), `iat`, `iss: "http://cylance.com"`, `sub` (application ID), `tid` (tenant ID), `jti` (a fresh
 *   UUID).
 * - `POST {api}/auth/v2/token` with JSON `{"auth_token": <jwt>}` answers `{"access_token": …}`, valid until the
 *   JWT's `exp`; requests then carry `Authorization: Bearer <access token>`.
 * - Regional API hosts: `https://protectapi{region}.cylance.com` with region "" (North America), `-euc1` (Europe
 *   Central), `-apne1` (Asia-Pacific North), `-au` (Asia-Pacific Southeast), `-sae1` (South America), and
 *   `https://protectapi.us.cylance.com` (Government).
 * - Cylance refuses tokens from a host whose clock has drifted (the time-based claims): the recommended action
 *   says so.
 */

export const CYLANCE_REGIONS = {
  na: '',
  euc1: '-euc1',
  apne1: '-apne1',
  au: '-au',
  sae1: '-sae1',
  gov: '.us',
} as const;

/** The auth token's lifetime: Cylance accepts at most 30 minutes. */
export const CYLANCE_TOKEN_SECONDS = 1800;

export interface CylanceAccount {
  tenantId: string;
  appId: string;
  appSecret: string;
  region?: keyof typeof CYLANCE_REGIONS;
  url?: string;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const cylanceFields = z
  .object({
    tenantId: z
      .string()
      .trim()
      .regex(uuid, 'expected the tenant ID (a UUID) shown in Settings → Integrations')
      .meta({ title: 'Tenant ID' })
      .describe('Tenant ID (Settings → Integrations)'),
    appId: z
      .string()
      .trim()
      .regex(uuid, 'expected the application ID (a UUID) of the custom application')
      .meta({ title: 'Application ID' })
      .describe('Application ID of the custom application (Settings → Integrations → Add Application)'),
    appSecret: z
      .string()
      .trim()
      .min(16, 'expected the application secret of the same application')
      .meta({ ...SECRET, title: 'Application secret' })
      .describe('Application secret (signs the auth token; never sent)'),
    region: z
      .enum(Object.keys(CYLANCE_REGIONS) as [keyof typeof CYLANCE_REGIONS])
      .optional()
      .meta({ title: 'Region' })
      .describe('The console region: na (default), euc1, apne1, au, sae1 or gov'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe('Another API host, instead of region'),
  })
  .strict()
  .refine((a) => !(a.region && a.url), { message: 'give region or url, not both', path: ['url'] });

export function cylanceUrl(a: Pick<CylanceAccount, 'region' | 'url'>): string {
  if (a.url) return a.url.replace(/\/+$/, '');
  return `https://protectapi${CYLANCE_REGIONS[a.region ?? 'na']}.cylance.com`;
}

const REFUSED_ACTION =
  "Check the account's tenant ID, application ID, application secret and region (Settings → Integrations), and that this host's clock is right: Cylance refuses auth tokens whose times are off.";

async function accessToken(http: HttpClient, a: CylanceAccount, now: number): Promise<AccessToken> {
  const iat = Math.floor(now / 1000);
  const exp = iat + CYLANCE_TOKEN_SECONDS;
  const jwt = await signJwtHs256(
    { exp, iat, iss: 'http://cylance.com', sub: a.appId, tid: a.tenantId, jti: newJti() },
    a.appSecret,
  );
  const res = await http.request({
    method: 'POST',
    url: `${cylanceUrl(a)}/auth/v2/token`,
    readOnly: true, // exchanges a credential for a token
    noAuth: true,
    manualRedirect: true, // the body carries a signed credential
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ auth_token: jwt }),
    accept: [400, 401, 403],
  });
  const text = await res.text();
  if (res.status >= 300) {
    throw configError(
      'cylance_token_refused',
      `Cylance refused the auth token (HTTP ${res.status}).`,
      REFUSED_ACTION,
      res.status,
    );
  }
  let token: unknown;
  try {
    token = JSON.parse(text)?.access_token;
  } catch {
    token = undefined;
  }
  if (typeof token !== 'string' || !token)
    throw transientError(
      'oauth_bad_token_response',
      'Cylance answered /auth/v2/token without an access_token.',
      "Check the account's region or URL; Tributary retries on the next run.",
    );
  return { token, expiresAt: exp * 1000 };
}

export const cylance = defineAccountKind<CylanceAccount>({
  id: 'cylance',
  title: 'Cylance PROTECT',
  fields: cylanceFields as unknown as z.ZodType<CylanceAccount>,
  origins: (a) => [cylanceUrl(a)],
  async authorize(a, headers, { refresh, http }) {
    const key = tokenKey('cylance', cylanceUrl(a), a.tenantId, a.appId, a.appSecret);
    const token = await tokenCache.get(key, refresh, () => accessToken(http, a, Date.now()));
    headers.set('authorization', `Bearer ${token}`);
  },
});
