import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';
import { basicAuthorization, basicFields } from './basic.ts';

/**
 * The `servicenow` account kind: an integration user of a ServiceNow instance, by HTTP Basic or by OAuth.
 * Vendor facts (ServiceNow REST API reference, "Table API" and "REST API security"; Platform Security, "OAuth
 * inbound integrations", "Client Credentials" and "Add the OAuth Application User"):
 *
 * - Requests go to the instance, `https://<instance>.service-now.com/api/now/table/<table>`, with
 *   `Authorization: Basic base64(user:password)`; a wrong user or password is 401 `{"error": {"message":
 *   "User Not Authenticated", "detail": "Required to provide Auth information"}, "status": "failure"}`.
 * - OAuth: an OAuth API endpoint for external clients (System OAuth → Application Registry) gives a client ID
 *   and secret; tokens come from `POST https://<instance>/oauth_token.do` (form-encoded): the password grant
 *   (`grant_type=password`, client ID and secret, the user's name and password) or, from the Washington DC
 *   release, the client credentials grant (`grant_type=client_credentials`, client ID and secret), which the
 *   system property `glide.oauth.inbound.client.credential.grant_type.enabled` must allow ("By default the
 *   system property is false") and which acts as the client's **OAuth Application User** ("If the OAuth
 *   Application User isn't selected on the OAuth client record or the Client Credentials property is set to
 *   false, then the token request will fail"). Tokens are sent as `Authorization: Bearer`; they last 30
 *   minutes by default (the client's Access Token Lifespan).
 * - Rate limits are the instance's own "REST API rate limit" rules (System Web Services → REST → Rate Limit
 *   Rules), per user or role, answered with 429 and `X-RateLimit-Limit`, `X-RateLimit-Reset`, `Retry-After`.
 *   An instance has none by default; the budget below (5 requests/s) is an assumption that keeps a
 *   collector from loading the instance; the HTTP client honours 429 and Retry-After.
 *
 * Which: a client ID and secret make it OAuth (with the user's name and password, the password grant;
 * without, client credentials); a user name and password alone, Basic. The instance URL is the only origin
 * the credentials may go to.
 */

export interface ServiceNowAccount {
  instanceUrl: string;
  username?: string;
  password?: string;
  clientId?: string;
  clientSecret?: string;
}

export const servicenowFields = z
  .object({
    instanceUrl: serviceUrl()
      .meta({ title: 'Instance URL' })
      .meta(ORIGIN)
      .describe('The instance, e.g. https://acme.service-now.com'),
    username: basicFields.shape.username
      .optional()
      .describe('User ID of the integration user (Basic, or OAuth with the password grant)'),
    password: basicFields.shape.password
      .optional()
      .describe('Password of the integration user (Basic, or OAuth with the password grant)'),
    clientId: z
      .string()
      .trim()
      .regex(/^\S+$/, 'expected the Client ID of the OAuth application (System OAuth → Application Registry)')
      .optional()
      .meta({ title: 'OAuth client ID' })
      .describe('OAuth: the Client ID of the OAuth API endpoint for external clients'),
    clientSecret: z
      .string()
      .min(1)
      .optional()
      .meta({ ...SECRET, title: 'OAuth client secret' })
      .describe('OAuth: the Client Secret of the same application'),
  })
  .strict()
  .superRefine((a, ctx) => {
    const need = (path: keyof ServiceNowAccount, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    if (a.clientId && !a.clientSecret)
      need('clientSecret', 'expected the client secret that goes with clientId');
    if (a.clientSecret && !a.clientId) need('clientId', 'expected the client ID that goes with clientSecret');
    if (a.username && !a.password) need('password', 'expected the password of the integration user');
    if (a.password && !a.username) need('username', 'expected the user ID the password belongs to');
    if (!a.clientId && !a.clientSecret && !a.username && !a.password)
      need('username', 'expected a user name and password (Basic), or an OAuth clientId and clientSecret');
  });

export const servicenowInstance = (a: Pick<ServiceNowAccount, 'instanceUrl'>) =>
  new URL(a.instanceUrl).origin;

function refusalAction(a: ServiceNowAccount, r: TokenRefusal): string {
  if (r.error === 'invalid_client' || (r.status === 401 && !a.username))
    return a.username
      ? "ServiceNow refused the OAuth client: check the account's clientId and clientSecret (System OAuth → Application Registry) and the instance URL."
      : 'ServiceNow refused the client credentials grant: check clientId and clientSecret, that the system property glide.oauth.inbound.client.credential.grant_type.enabled is true, and that the OAuth client record names an OAuth Application User (the integration user).';
  if (r.error === 'invalid_grant' || r.error === 'access_denied')
    return "ServiceNow refused the user's name or password for the password grant: check username and password, and that the user is active and not locked out.";
  return "Check the OAuth application in ServiceNow (System OAuth → Application Registry) and the account's instance URL; if they are right, report this with the logs.";
}

export const servicenow = defineAccountKind<ServiceNowAccount>({
  id: 'servicenow',
  title: 'ServiceNow',
  fields: servicenowFields as unknown as z.ZodType<ServiceNowAccount>,
  origins: (a) => [servicenowInstance(a)],
  async authorize(a, headers, { refresh, http }) {
    if (!a.clientId || !a.clientSecret) {
      headers.set('authorization', basicAuthorization(a.username ?? '', a.password ?? ''));
      return;
    }
    const tokenUrl = `${servicenowInstance(a)}/oauth_token.do`;
    const grant: Record<string, string> = a.username
      ? { grant_type: 'password', username: a.username, password: a.password ?? '' }
      : { grant_type: 'client_credentials' };
    const key = tokenKey(
      'servicenow',
      tokenUrl,
      a.clientId,
      a.clientSecret,
      a.username ?? '',
      a.password ?? '',
    );
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'ServiceNow',
        tokenUrl,
        form: { ...grant, client_id: a.clientId!, client_secret: a.clientSecret! },
        code: (r) => (r.error ? `servicenow_oauth_${r.error}` : 'servicenow_oauth_refused'),
        action: (r) => refusalAction(a, r),
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 5, burst: 10 },
});
