import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `progress-sharefile` account kind: an API client (client ID and secret) and a ShareFile user whose
 * rights the collector uses. Vendor facts (api.sharefile.com, "Authentication" and "Get an API Key";
 * "API Base URL"):
 *
 * - API keys (client ID and secret) are requested at api.sharefile.com → Get an API Key.
 * - Tokens: `POST https://{subdomain}.sharefile.com/oauth/token` (form) with `grant_type=password`,
 *   `client_id`, `client_secret`, `username`, `password` → `{access_token, refresh_token, token_type,
 *   expires_in, subdomain, apicp, appcp}`; API calls go to `https://{subdomain}.{apicp}/sf/v3/` (apicp
 *   `sf-api.com`) with `Authorization: Bearer <token>`.
 *
 * Low public confidence, assumed: the password grant is still enabled for new API keys (ShareFile
 * documents the authorization-code grant first); the token lifetime (renewed 5 minutes before
 * `expires_in` and after a 401, with the password grant again rather than the refresh token); users with
 * two-step verification cannot use it. Rate limits: none published; the budget below (2 requests/s) is an
 * assumption.
 */

export interface ShareFileAccount {
  subdomain: string;
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  tokenUrl?: string;
  apiUrl?: string;
}

export const shareFileFields = z
  .object({
    subdomain: z
      .string()
      .trim()
      .regex(
        /^[a-z0-9][a-z0-9-]{0,62}$/i,
        'expected the account subdomain, e.g. acme for https://acme.sharefile.com',
      )
      .meta({ title: 'Subdomain' })
      .describe('The ShareFile account subdomain (acme in https://acme.sharefile.com)'),
    clientId: z
      .string()
      .trim()
      .regex(
        /^\S{8,200}$/,
        'expected the Client ID of the ShareFile API key (api.sharefile.com → Get an API Key)',
      )
      .meta({ title: 'Client ID' })
      .describe('Client ID of the ShareFile API key'),
    clientSecret: z
      .string()
      .trim()
      .min(8, 'expected the Client Secret of the same API key')
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Client Secret of the same API key'),
    username: z
      .string()
      .trim()
      .email('expected the email address the ShareFile user signs in with')
      .meta({ title: 'Username' })
      .describe('Email of a ShareFile admin user allowed to see reports'),
    password: z
      .string()
      .min(1, 'expected the ShareFile user’s password')
      .meta({ ...SECRET, title: 'Password' })
      .describe('Password of the same user'),
    tokenUrl: serviceUrl()
      .optional()
      .meta({ title: 'Token URL' })
      .meta(ORIGIN)
      .describe('OAuth token endpoint (default https://{subdomain}.sharefile.com/oauth/token)'),
    apiUrl: serviceUrl()
      .optional()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe('API root (default https://{subdomain}.sf-api.com/sf/v3)'),
  })
  .strict();

export const shareFileTokenUrl = (a: Pick<ShareFileAccount, 'tokenUrl' | 'subdomain'>) =>
  a.tokenUrl ?? `https://${a.subdomain}.sharefile.com/oauth/token`;
export const shareFileApiUrl = (a: Pick<ShareFileAccount, 'apiUrl' | 'subdomain'>) =>
  (a.apiUrl ?? `https://${a.subdomain}.sf-api.com/sf/v3`).replace(/\/+$/, '');

function refusalAction(r: TokenRefusal): string {
  if (r.error === 'invalid_grant')
    return "ShareFile refused the user: check the account's username and password (a user with two-step verification cannot use the password grant: use a dedicated admin user without it).";
  if (r.error === 'invalid_client' || r.status === 401)
    return "ShareFile refused the API key: check the account's clientId and clientSecret (api.sharefile.com → Get an API Key) and the subdomain.";
  return 'Check the ShareFile API key, user and subdomain; if they are right, report this with the logs.';
}

export const progressShareFile = defineAccountKind<ShareFileAccount>({
  id: 'progress-sharefile',
  title: 'Progress ShareFile',
  fields: shareFileFields as unknown as z.ZodType<ShareFileAccount>,
  origins: (a) => [new URL(shareFileTokenUrl(a)).origin, new URL(shareFileApiUrl(a)).origin],
  async authorize(a, headers, { refresh, http }) {
    const tokenUrl = shareFileTokenUrl(a);
    const key = tokenKey('progress-sharefile', tokenUrl, a.clientId, a.clientSecret, a.username, a.password);
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'ShareFile',
        tokenUrl,
        form: {
          grant_type: 'password',
          client_id: a.clientId,
          client_secret: a.clientSecret,
          username: a.username,
          password: a.password,
        },
        code: (r) => (r.error ? `sharefile_${r.error}` : undefined),
        action: refusalAction,
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 2, burst: 10 },
});
