import { z } from 'zod';
import { ORIGIN } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { basicAuthorization, basicFields } from './basic.ts';

/**
 * The `servicenow` account kind: an integration user of a ServiceNow instance, with HTTP Basic
 * authentication. Vendor facts (ServiceNow REST API reference, "Table API" and "REST API security"):
 *
 * - Requests go to the instance, `https://<instance>.service-now.com/api/now/table/<table>`, with
 *   `Authorization: Basic base64(user:password)`; a wrong user or password is 401 `{"error": {"message":
 *   "User Not Authenticated", "detail": "Required to provide Auth information"}, "status": "failure"}`.
 * - Rate limits are the instance's own "REST API rate limit" rules (System Web Services → REST → Rate Limit
 *   Rules), per user or role, answered with 429 and `X-RateLimit-Limit`, `X-RateLimit-Reset`, `Retry-After`.
 *   An instance has none by default; the budget below (5 requests/s) is an assumption that keeps a
 *   collector from loading the instance; the HTTP client honours 429 and Retry-After.
 *
 * The instance URL is where the password may go (its origin). OAuth (the instance's `oauth_token.do`) is not
 * supported yet.
 */

export interface ServiceNowAccount {
  instanceUrl: string;
  username: string;
  password: string;
}

export const servicenowFields = z
  .object({
    instanceUrl: serviceUrl()
      .meta({ title: 'Instance URL' })
      .meta(ORIGIN)
      .describe('The instance, e.g. https://acme.service-now.com'),
    username: basicFields.shape.username.describe('User ID of the integration user'),
    password: basicFields.shape.password.describe('Password of the integration user'),
  })
  .strict();

export const servicenowInstance = (a: Pick<ServiceNowAccount, 'instanceUrl'>) =>
  new URL(a.instanceUrl).origin;

export const servicenow = defineAccountKind<ServiceNowAccount>({
  id: 'servicenow',
  title: 'ServiceNow',
  fields: servicenowFields as unknown as z.ZodType<ServiceNowAccount>,
  origins: (a) => [servicenowInstance(a)],
  async authorize(a, headers) {
    headers.set('authorization', basicAuthorization(a.username, a.password));
  },
  rateLimit: { perSecond: 5, burst: 10 },
});
