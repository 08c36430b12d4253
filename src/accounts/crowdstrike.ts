import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `crowdstrike` account kind: a Falcon API client (OAuth2 client credentials). Vendor facts:
 *
 * - CrowdStrike API specification (`info.description`, as published with the Falcon SDKs, e.g. the
 *   rusty_falcon and falconpy model headers): "Your first API request should retrieve an OAuth2 token using
 *   the `oauth2/token` endpoint, such as `https://api.crowdstrike.com/oauth2/token`. For subsequent requests,
 *   include the OAuth2 token in an HTTP authorization header. Tokens expire after 30 minutes". The token
 *   request (`POST /oauth2/token`, application/x-www-form-urlencoded) takes `client_id`, `client_secret`
 *   and, in multi-CID (Flight Control) parents, `member_cid`; the answer is 201 with `access_token` and
 *   `expires_in`. The token is cached until 5 minutes before it expires and renewed after a 401
 *   (engine/oauth.ts).
 * - Clouds (CrowdStrike PSFalcon, `Request-FalconToken`, parameters Cloud and Hostname): us-1
 *   `https://api.crowdstrike.com`, us-2 `https://api.us-2.crowdstrike.com`, eu-1
 *   `https://api.eu-1.crowdstrike.com`, us-gov-1 `https://api.laggar.gcw.crowdstrike.com`. An API client
 *   exists in one cloud only; the token endpoint of another cloud refuses it or redirects, and Tributary
 *   never posts the secret after a redirect (oauth_token_redirect names the target: set that cloud).
 * - Client ids are 32 hexadecimal characters, secrets 40 letters and digits (PSFalcon's `ClientId`
 *   `^[a-fA-F0-9]{32}$`, `ClientSecret` `^\w{40}$`).
 * - Scopes are chosen per API client (Falcon console → Support and resources → API clients and keys): the
 *   `alerts` stream needs **Alerts: Read** (developer.crowdstrike.com, Alerts service collection, "Scope
 *   Alerts: READ").
 *
 * Rate limits: CrowdStrike does not publish numbers; answers carry `X-RateLimit-Limit` and
 * `X-RateLimit-Remaining`, and a 429 `X-RateLimit-RetryAfter` (epoch seconds), which the source reads. The
 * budget below (10 requests/s, burst 20) is an assumption well under the per-minute limits seen in those
 * headers; raise it with the account's requestsPerMinute.
 */

export const CROWDSTRIKE_CLOUDS = {
  'us-1': { title: 'US-1 (api.crowdstrike.com)', url: 'https://api.crowdstrike.com' },
  'us-2': { title: 'US-2 (api.us-2.crowdstrike.com)', url: 'https://api.us-2.crowdstrike.com' },
  'eu-1': { title: 'EU-1 (api.eu-1.crowdstrike.com)', url: 'https://api.eu-1.crowdstrike.com' },
  'us-gov-1': {
    title: 'US-GOV-1 (api.laggar.gcw.crowdstrike.com)',
    url: 'https://api.laggar.gcw.crowdstrike.com',
  },
} as const;

export type CrowdStrikeCloud = keyof typeof CROWDSTRIKE_CLOUDS;

export interface CrowdStrikeAccount {
  cloud?: CrowdStrikeCloud;
  url?: string;
  clientId: string;
  clientSecret: string;
  memberCid?: string;
}

const clouds = Object.keys(CROWDSTRIKE_CLOUDS) as [CrowdStrikeCloud, ...CrowdStrikeCloud[]];

export const crowdstrikeFields = z
  .object({
    cloud: z
      .enum(clouds, { error: () => `expected one of ${clouds.join(', ')} (the cloud of the Falcon console)` })
      .optional()
      .meta({ title: 'Cloud' })
      .meta(ORIGIN)
      .describe('The Falcon cloud of the tenant: us-1 (default), us-2, eu-1 or us-gov-1'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API host (instead of a cloud)' })
      .meta(ORIGIN)
      .describe('Another API base URL, such as a proxy in front of the Falcon API'),
    clientId: z
      .string()
      .trim()
      .regex(/^[a-fA-F0-9]{32}$/, 'expected the 32-character client ID shown when the API client was created')
      .meta({ title: 'Client ID' })
      .describe('Client ID of the Falcon API client'),
    clientSecret: z
      .string()
      .trim()
      .regex(/^\w{40}$/, 'expected the 40-character secret shown once when the API client was created')
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Secret of the same API client (shown once, at creation or reset)'),
    memberCid: z
      .string()
      .trim()
      .regex(
        /^[a-fA-F0-9]{32}(-[a-fA-F0-9]{2})?$/,
        'expected a 32-character CID (the -XX checksum may follow)',
      )
      .optional()
      .meta({ title: 'Member CID' })
      .describe('Flight Control parents only: the child CID to read'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.cloud && a.url)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'set either cloud or url, not both' });
  });

/** The API base URL: the account's URL, else its cloud's (us-1 by default). */
export const crowdstrikeBase = (a: Pick<CrowdStrikeAccount, 'cloud' | 'url'>) =>
  (a.url ?? CROWDSTRIKE_CLOUDS[a.cloud ?? 'us-1'].url).replace(/\/+$/, '');

function refusalAction(r: TokenRefusal, a: CrowdStrikeAccount): string {
  if (r.status === 400 && a.memberCid)
    return "Check the account's memberCid: it must be a child CID of this API client's parent tenant.";
  return `Check the account's clientId and clientSecret (Falcon console → Support and resources → API clients and keys; a reset secret replaces the old one) and that the API client belongs to the ${a.url ? 'host in url' : `${a.cloud ?? 'us-1'} cloud`}.`;
}

export const crowdstrike = defineAccountKind<CrowdStrikeAccount>({
  id: 'crowdstrike',
  title: 'CrowdStrike Falcon',
  fields: crowdstrikeFields as unknown as z.ZodType<CrowdStrikeAccount>,
  origins: (a) => [crowdstrikeBase(a)],
  async authorize(a, headers, { refresh, http }) {
    const base = crowdstrikeBase(a);
    const key = tokenKey('crowdstrike', base, a.clientId, a.clientSecret, a.memberCid ?? '');
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'CrowdStrike',
        tokenUrl: `${base}/oauth2/token`,
        form: {
          client_id: a.clientId,
          client_secret: a.clientSecret,
          ...(a.memberCid ? { member_cid: a.memberCid } : {}),
        },
        code: () => 'crowdstrike_token_refused',
        action: (r) => refusalAction(r, a),
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 10, burst: 20 },
});
