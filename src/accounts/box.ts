import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `box` account kind: a Box Platform app using Server Authentication with the **Client Credentials
 * Grant**, authorised in the Box Admin Console, whose token is the app's Service Account in the
 * enterprise. Vendor facts:
 *
 * - developer.box.com/guides/authentication/client-credentials/ ("How to use"): `POST
 *   https://api.box.com/oauth2/token` with `grant_type=client_credentials`, `client_id`, `client_secret`
 *   and, to authenticate as the application's Service Account, `box_subject_type=enterprise` and
 *   `box_subject_id=<enterprise ID>`. Prerequisites: a Platform App with "Server Authentication (with
 *   Client Credentials Grant)", 2FA on the developer's account to copy the secret, the app authorised in
 *   the Admin Console. The answer carries `access_token`, `expires_in` (about an hour) and
 *   `token_type: bearer`; there is no refresh token: a new one is asked for (engine/oauth.ts caches it
 *   per account and renews it 5 minutes before it runs out, and after a 401).
 * - Refusals use OAuth errors: `invalid_client` ("The client credentials are invalid"), `invalid_grant`
 *   ("Grant credentials are invalid": a wrong enterprise ID, or the app not authorised), and
 *   `unauthorized_client` ("The "box_subject_type" value is unauthorized for this client_id": the app is
 *   not a Client Credentials Grant app, or its access level is App Access Only).
 * - developer.box.com/guides/api-calls/permissions-and-errors/rate-limits/ ("Per API rate limits"):
 *   general API calls, 1000 requests a minute per user; over it, 429 with `retry-after`. The Service
 *   Account is one user, so the budget below (16 a second) is that limit for every collector of the
 *   account together.
 *
 * JWT apps (a public key pair) are not supported yet: create a Client Credentials Grant app instead.
 */

export const BOX_TOKEN_URL = 'https://api.box.com/oauth2/token';
export const BOX_API_URL = 'https://api.box.com/2.0';

export interface BoxAccount {
  clientId: string;
  clientSecret: string;
  enterpriseId: string;
  tokenUrl?: string;
  apiUrl?: string;
}

export const boxFields = z
  .object({
    clientId: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9]{16,64}$/,
        "expected the app's Client ID (Developer Console → the app → Configuration)",
      )
      .meta({ title: 'Client ID' })
      .describe(
        'Client ID of the Box app (Developer Console → the app → Configuration → OAuth 2.0 Credentials)',
      ),
    clientSecret: z
      .string()
      .trim()
      .min(16, "expected the app's Client Secret (Developer Console → the app → Configuration)")
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Client Secret of the same app (shown after 2FA)'),
    enterpriseId: z
      .string()
      .trim()
      .regex(
        /^\d{1,20}$/,
        'expected the numeric Enterprise ID (Admin Console → Account & Billing, or the app’s General Settings)',
      )
      .meta({ title: 'Enterprise ID' })
      .describe('The Box Enterprise ID the app is authorised in (the token is its Service Account)'),
    tokenUrl: serviceUrl()
      .optional()
      .meta({ title: 'Token URL' })
      .meta(ORIGIN)
      .describe(`OAuth token endpoint (default ${BOX_TOKEN_URL})`),
    apiUrl: serviceUrl()
      .optional()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe(`API root (default ${BOX_API_URL})`),
  })
  .strict();

export const boxTokenUrl = (a: Pick<BoxAccount, 'tokenUrl'>) => a.tokenUrl ?? BOX_TOKEN_URL;
export const boxApiUrl = (a: Pick<BoxAccount, 'apiUrl'>) => (a.apiUrl ?? BOX_API_URL).replace(/\/+$/, '');

function refusalAction(r: TokenRefusal): string {
  if (r.error === 'invalid_client')
    return "Box refused the client: check the account's clientId and clientSecret against the app's Configuration page in the Box Developer Console (a reset secret replaces the old one).";
  if (r.error === 'invalid_grant')
    return "Box refused the grant: check the account's enterpriseId, and that an admin authorised the app in the Box Admin Console (Apps → Platform Apps Manager → Add Platform App, with its Client ID).";
  if (r.error === 'unauthorized_client')
    return "The app cannot act as the enterprise's Service Account: in the Developer Console it must use Server Authentication (Client Credentials Grant) with App Access Level 'App + Enterprise Access', and be authorised again in the Admin Console after the change.";
  return "Check the Box app (Client Credentials Grant, authorised in the Admin Console) and the account's tokenUrl; if they are right, report this with the logs.";
}

export const box = defineAccountKind<BoxAccount>({
  id: 'box',
  title: 'Box',
  fields: boxFields as unknown as z.ZodType<BoxAccount>,
  origins: (a) => [boxTokenUrl(a), boxApiUrl(a)],
  async authorize(a, headers, { refresh, http }) {
    const key = tokenKey('box-ccg', boxTokenUrl(a), a.enterpriseId, a.clientId, a.clientSecret);
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'Box',
        tokenUrl: boxTokenUrl(a),
        form: {
          grant_type: 'client_credentials',
          client_id: a.clientId,
          client_secret: a.clientSecret,
          box_subject_type: 'enterprise',
          box_subject_id: a.enterpriseId,
        },
        code: (r) => (r.error ? `box_${r.error}` : undefined),
        action: refusalAction,
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 16, burst: 16 },
});
