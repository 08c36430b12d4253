import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `zoom` account kind: a Server-to-Server OAuth app of the Zoom account (an internal app built in
 * the Zoom App Marketplace), whose account ID, client ID and client secret are exchanged for an access
 * token. Vendor facts (developers.zoom.us/docs/internal-apps/s2s-oauth/, "Server-to-Server OAuth"):
 *
 * - "Use the account_credentials grant type to generate an access token":
 *   `POST https://zoom.us/oauth/token?grant_type=account_credentials&account_id={accountId}` with HTTP
 *   Basic client authentication, `Authorization: Basic base64(clientId:clientSecret)`; the answer has
 *   `access_token`, `token_type: bearer`, `expires_in` and `scope`.
 * - "The token's time to live is one hour (3600 seconds). There is no refresh token. You can generate and
 *   use multiple access tokens." The token is cached per account and renewed 5 minutes before it
 *   expires, and after a 401 (engine/oauth.ts).
 * - API requests go to `https://api.zoom.us/v2/…` with `Authorization: Bearer <token>`.
 * - Refusals (developers.zoom.us/docs/integrations/oauth-error-messages/) name a wrong client ID or
 *   secret (4702, 4704: "Invalid client", "Invalid client secret"), missing credentials (4706) and an
 *   unsupported grant type (4705); tokens "stop working when the app is deactivated". The refusal's
 *   OAuth `error` (invalid_client, invalid_request, unsupported_grant_type) picks the action below.
 *
 * Rate limits (developers.zoom.us/docs/api/rate-limits/): per Zoom account, shared by every app
 * installed on it. The report APIs are "Heavy": 10 requests/s and 30,000 a day on Pro (the daily
 * budget shared with Resource-intensive APIs), 40/s and 60,000 a day on Business and above. The budget
 * below, 0.3 requests/s with a burst of 10, stays under Pro's per-second limit and, over a day
 * (10 + 0.3 × 86,400 = 25,930), under its daily one, leaving room for the account's other apps;
 * Business+ accounts may raise it with the account's `requestsPerMinute`.
 */

export const ZOOM_TOKEN_URL = 'https://zoom.us/oauth/token';
export const ZOOM_API_URL = 'https://api.zoom.us/v2';

export interface ZoomAccount {
  accountId: string;
  clientId: string;
  clientSecret: string;
  /** The OAuth token endpoint (default https://zoom.us/oauth/token). */
  tokenUrl?: string;
  /** The REST API root (default https://api.zoom.us/v2). */
  apiUrl?: string;
}

/** The identifiers Zoom shows on the app's App Credentials page: letters, digits, `-` and `_`. */
const credentialId = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{8,64}$/, `expected the ${what} shown on the app's App Credentials page`);

export const zoomFields = z
  .object({
    accountId: credentialId('Account ID')
      .meta({ title: 'Account ID' })
      .describe('Account ID of the Server-to-Server OAuth app (App Credentials page)'),
    clientId: credentialId('Client ID').meta({ title: 'Client ID' }).describe('Client ID of the same app'),
    clientSecret: z
      .string()
      .trim()
      .min(1, "required: the Client secret shown on the app's App Credentials page")
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Client secret of the same app'),
    tokenUrl: serviceUrl()
      .optional()
      .meta({ title: 'Token URL' })
      .meta(ORIGIN)
      .describe(`OAuth token endpoint (default ${ZOOM_TOKEN_URL})`),
    apiUrl: serviceUrl()
      .optional()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe(`REST API root (default ${ZOOM_API_URL})`),
  })
  .strict();

export const zoomTokenUrl = (a: Pick<ZoomAccount, 'tokenUrl'>) => a.tokenUrl ?? ZOOM_TOKEN_URL;
export const zoomApiUrl = (a: Pick<ZoomAccount, 'apiUrl'>) => (a.apiUrl ?? ZOOM_API_URL).replace(/\/+$/, '');

/** The token request as Zoom documents it: grant and account in the query, the client in Basic auth. */
export function zoomTokenRequest(a: ZoomAccount): { url: string; headers: Record<string, string> } {
  const u = new URL(zoomTokenUrl(a));
  u.searchParams.set('grant_type', 'account_credentials');
  u.searchParams.set('account_id', a.accountId);
  const basic = Buffer.from(`${a.clientId}:${a.clientSecret}`).toString('base64');
  return { url: u.toString(), headers: { authorization: `Basic ${basic}` } };
}

function refusalAction(r: TokenRefusal): string {
  if (r.error === 'invalid_client' || r.status === 401)
    return "Check the account's clientId and clientSecret against the app's App Credentials page (a regenerated secret replaces the old one), and that the Server-to-Server OAuth app is activated.";
  if (r.error === 'invalid_request' || r.error === 'invalid_grant')
    return "Check the account's accountId: it must be the Account ID shown on the same app's App Credentials page.";
  if (r.error === 'unsupported_grant_type')
    return 'The app is not a Server-to-Server OAuth app: create one (Marketplace → Develop → Build App → Server-to-Server OAuth) and use its credentials.';
  return "Check the Server-to-Server OAuth app (activated, not deleted) and the account's tokenUrl; if they are right, report this with the logs.";
}

export const zoom = defineAccountKind<ZoomAccount>({
  id: 'zoom',
  title: 'Zoom',
  fields: zoomFields as unknown as z.ZodType<ZoomAccount>,
  origins: (a) => [zoomTokenUrl(a), zoomApiUrl(a)],
  async authorize(a, headers, { refresh, http }) {
    // One token per (token endpoint, account, app), shared by every collector of the account.
    const key = tokenKey('zoom-s2s', zoomTokenUrl(a), a.accountId, a.clientId, a.clientSecret);
    const token = await tokenCache.get(key, refresh, () => {
      const req = zoomTokenRequest(a);
      return requestToken(http, {
        vendor: 'Zoom',
        tokenUrl: req.url,
        form: {},
        headers: req.headers,
        action: refusalAction,
      });
    });
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 0.3, burst: 10 },
});
