import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `netskope` account kind: a Netskope REST API v2 token of a tenant. Vendor facts (docs.netskope.com,
 * "REST API v2 Overview" and "Data Export API"):
 *
 * - Tokens are created under Settings → Tools → REST API v2 → New Token, and are **scoped per endpoint**: each
 *   endpoint the token may call (e.g. `/api/v2/events/dataexport/events/audit`) is added to it with Read
 *   privilege; a call to any other endpoint is refused with 403. Tokens have an expiry chosen at creation.
 * - Requests go to the tenant, `https://<tenant>.goskope.com` (regional tenants `<tenant>.<region>.goskope.com`),
 *   with the header `Netskope-Api-Token: <token>`.
 * - Rate limits are per tenant and endpoint and answered with 429 and `Retry-After` / `RateLimit-Reset`; we could
 *   not read their numbers. The budget, 2 requests/s with a burst of 4, is an assumption; the iterator also
 *   paces itself by the `wait_time` Netskope sends.
 */

export interface NetskopeAccount {
  url: string;
  token: string;
}

export const netskopeFields = z
  .object({
    url: serviceUrl()
      .meta({ title: 'Tenant URL' })
      .meta(ORIGIN)
      .describe('The tenant, e.g. https://acme.goskope.com'),
    token: z
      .string()
      .trim()
      .min(16, 'expected the REST API v2 token (Settings → Tools → REST API v2)')
      .refine((v) => !/\s/.test(v), { message: 'expected the token alone, on one line' })
      .meta({ ...SECRET, title: 'REST API v2 token' })
      .describe('REST API v2 token with Read on each data export endpoint the collectors read'),
  })
  .strict();

export const netskope = defineAccountKind<NetskopeAccount>({
  id: 'netskope',
  title: 'Netskope',
  fields: netskopeFields as unknown as z.ZodType<NetskopeAccount>,
  origins: (a) => [a.url],
  async authorize(a, headers) {
    headers.set('netskope-api-token', a.token);
  },
  rateLimit: { perSecond: 2, burst: 4 },
});
