import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `sentinelone` account kind: an API token of a SentinelOne console user (best a service user with the
 * Viewer role), shared by the `sentinelone`, `sentinelone-alerts` and `sentinelone-threats` sources.
 * Vendor facts:
 *
 * - Requests go to the console's own host under `/web/api/v2.1` with `Authorization: ApiToken <token>`
 *   (SentinelOne's Cortex XSOAR event collector, published in demisto/content, Packs/SentinelOne,
 *   `SentinelOneEventCollector.py`: `base_url = urljoin(url, 'web/api/v2.1')`, header `ApiToken`; its
 *   configuration names the console URL, e.g. `https://usea1.sentinelone.net`).
 * - API tokens expire: a user's token lasts six months from generation (Exabeam's legacy SentinelOne
 *   connector guide, "tokens expire every 6 months"); a service user's token lasts what was chosen when it
 *   was created. Tributary cannot read the expiry from the token: set the account's `expiresAt` to the
 *   date the console shows (Settings → Users → Service Users, or My User → API token) and health warns 14
 *   days before (docs/control-plane.md).
 * - Rate limits: SentinelOne documents per-endpoint limits in the console's API documentation, not
 *   publicly. The budget below (4 requests/s, burst 10) is an assumption; 429 and Retry-After are honoured.
 */

export interface SentinelOneAccount {
  url: string;
  token: string;
}

export const sentinelOneFields = z
  .object({
    url: serviceUrl()
      .meta({ title: 'Console URL' })
      .meta(ORIGIN)
      .describe('The management console address, e.g. https://usea1-acme.sentinelone.net (without /web/api)'),
    token: z
      .string()
      .trim()
      .transform((v) => v.replace(/^ApiToken\s+/i, ''))
      .pipe(
        z
          .string()
          .min(20, 'expected the API token generated for the (service) user in the console')
          .regex(/^\S+$/, 'expected the token alone, on one line, without spaces'),
      )
      .meta({ ...SECRET, title: 'API token' })
      .describe('API token of a console user (a service user with the Viewer role is enough)'),
  })
  .strict();

/** The console host without a trailing slash or an `/web/api…` path pasted with it. */
export const sentinelOneHost = (a: Pick<SentinelOneAccount, 'url'>) =>
  a.url.replace(/\/+$/, '').replace(/\/web\/api(\/v[\d.]+)?$/i, '');

export const sentinelOne = defineAccountKind<SentinelOneAccount>({
  id: 'sentinelone',
  title: 'SentinelOne',
  fields: sentinelOneFields as unknown as z.ZodType<SentinelOneAccount>,
  origins: (a) => [sentinelOneHost(a)],
  async authorize(a, headers) {
    headers.set('authorization', `ApiToken ${a.token}`);
  },
  rateLimit: { perSecond: 4, burst: 10 },
});
