import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `dropbox` account kind: a scoped Dropbox app with team scopes, authorised once by a team admin
 * with offline access, whose **refresh token** is exchanged for short-lived access tokens. Vendor facts:
 *
 * - dropbox.tech/developers/using-oauth-2-0-with-offline-access ("Using OAuth 2.0 with offline access"):
 *   the authorization URL with `token_access_type=offline` yields a `refresh_token`; `POST
 *   https://api.dropbox.com/oauth2/token` with `grant_type=refresh_token`, `refresh_token`, `client_id` (the
 *   app key) and `client_secret` (the app secret) answers `{access_token, token_type: "bearer",
 *   expires_in}`: short-lived tokens, four hours (`expires_in: 14400`). Engine/oauth.ts caches one per
 *   account and renews it 5 minutes before it runs out, and after a 401 (`expired_access_token`).
 * - developers/documentation/http/documentation ("Request and response formats"): RPC endpoints are POSTs
 *   with JSON arguments on `api.dropboxapi.com`; errors: 400 bad input, 401 bad or expired token (and
 *   `missing_scope`), 403 no access, 409 an endpoint-specific error `{error_summary, error}`, 429 too many
 *   requests (with `Retry-After`), 5xx.
 * - team_log/get_events needs the **Team Auditing** permission, the scope `events.read` (the SDKs'
 *   route documentation).
 *
 * Rate limits: Dropbox publishes none in numbers (429 with `Retry-After` only). The budget below, 5
 * requests a second, is an assumption; the HTTP client honours 429 and Retry-After.
 */

export const DROPBOX_TOKEN_URL = 'https://api.dropbox.com/oauth2/token';
export const DROPBOX_API_URL = 'https://api.dropboxapi.com';

export interface DropboxAccount {
  appKey: string;
  appSecret: string;
  refreshToken: string;
  tokenUrl?: string;
  apiUrl?: string;
}

export const dropboxFields = z
  .object({
    appKey: z
      .string()
      .trim()
      .regex(/^[a-z0-9]{10,32}$/, "expected the app's App key (App Console → the app → Settings)")
      .meta({ title: 'App key' })
      .describe('App key of the Dropbox app (App Console → the app → Settings)'),
    appSecret: z
      .string()
      .trim()
      .regex(/^[a-z0-9]{10,32}$/, "expected the app's App secret (App Console → the app → Settings)")
      .meta({ ...SECRET, title: 'App secret' })
      .describe('App secret of the same app'),
    refreshToken: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9_-]{20,}$/,
        'expected the refresh_token a team admin obtained with token_access_type=offline (see the setup guide)',
      )
      .meta({ ...SECRET, title: 'Refresh token' })
      .describe('Refresh token from the offline authorization of a team admin'),
    tokenUrl: serviceUrl()
      .optional()
      .meta({ title: 'Token URL' })
      .meta(ORIGIN)
      .describe(`OAuth token endpoint (default ${DROPBOX_TOKEN_URL})`),
    apiUrl: serviceUrl()
      .optional()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe(`RPC API root (default ${DROPBOX_API_URL})`),
  })
  .strict();

export const dropboxTokenUrl = (a: Pick<DropboxAccount, 'tokenUrl'>) => a.tokenUrl ?? DROPBOX_TOKEN_URL;
export const dropboxApiUrl = (a: Pick<DropboxAccount, 'apiUrl'>) =>
  (a.apiUrl ?? DROPBOX_API_URL).replace(/\/+$/, '');

function refusalAction(r: TokenRefusal): string {
  if (r.error === 'invalid_grant')
    return 'Dropbox refused the refresh token (revoked, or the app was removed from the team): have a team admin authorise the app again with token_access_type=offline, as in the setup guide, and update the account with the new refresh token.';
  if (r.error?.startsWith('invalid_client') || r.status === 401)
    return "Dropbox refused the app: check the account's appKey and appSecret against the app's Settings page in the Dropbox App Console.";
  return "Check the Dropbox app and the account's tokenUrl; if they are right, report this with the logs.";
}

export const dropbox = defineAccountKind<DropboxAccount>({
  id: 'dropbox',
  title: 'Dropbox',
  fields: dropboxFields as unknown as z.ZodType<DropboxAccount>,
  origins: (a) => [dropboxTokenUrl(a), dropboxApiUrl(a)],
  async authorize(a, headers, { refresh, http }) {
    const key = tokenKey('dropbox-refresh', dropboxTokenUrl(a), a.appKey, a.appSecret, a.refreshToken);
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'Dropbox',
        tokenUrl: dropboxTokenUrl(a),
        form: {
          grant_type: 'refresh_token',
          refresh_token: a.refreshToken,
          client_id: a.appKey,
          client_secret: a.appSecret,
        },
        code: (r) => (r.error ? `dropbox_${r.error.split(/[:\s]/)[0]}` : undefined),
        action: refusalAction,
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 5, burst: 10 },
});
