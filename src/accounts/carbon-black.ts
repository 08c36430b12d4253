import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `carbon-black` account kind: a Carbon Black Cloud API key. Vendor facts (developer.carbonblack.com,
 * Alerts API, "Authentication", and the Carbon Black Cloud Authentication Guide it points to):
 *
 * - "Before you create your API Key, you need to create a custom Access Level": Alerts → General Information →
 *   `org.alerts` READ. "When you create your API Key, use the Access Level Type of 'Custom', then select the
 *   Access Level you created." The key has an **API ID** and an **API Secret Key**; requests carry
 *   `X-Auth-Token: {API Secret Key}/{API ID}`.
 * - "Environment: use the URL of your Carbon Black Cloud console (this is the Dashboard URL)", e.g.
 *   `https://defense.conferdeploy.net`, `https://defense-eu.conferdeploy.net`,
 *   `https://defense-prodsyd.conferdeploy.net`; the **org key** (Settings → API Access) is part of every path.
 * - Rate limits are not published in numbers; the budget below (5 requests/s, burst 10) is an assumption.
 */

export interface CarbonBlackAccount {
  url: string;
  orgKey: string;
  apiId: string;
  apiSecret: string;
}

export const carbonBlackFields = z
  .object({
    url: serviceUrl()
      .meta({ title: 'Console URL' })
      .meta(ORIGIN)
      .describe('The Carbon Black Cloud console (Dashboard) URL, e.g. https://defense.conferdeploy.net'),
    orgKey: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9]{4,16}$/,
        'expected the org key shown under Settings → API Access (letters and digits)',
      )
      .meta({ title: 'Org key' })
      .describe('The organization key (Settings → API Access → API Keys, above the list)'),
    apiId: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9]{6,32}$/, 'expected the API ID of the key (letters and digits)')
      .meta({ title: 'API ID' })
      .describe('API ID of a key whose access level is Custom with org.alerts READ'),
    apiSecret: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9]{16,64}$/, 'expected the API Secret Key shown with the key (letters and digits)')
      .meta({ ...SECRET, title: 'API Secret Key' })
      .describe('API Secret Key of the same key'),
  })
  .strict();

export const carbonBlackHost = (a: Pick<CarbonBlackAccount, 'url'>) => a.url.replace(/\/+$/, '');

export const carbonBlack = defineAccountKind<CarbonBlackAccount>({
  id: 'carbon-black',
  title: 'Carbon Black Cloud',
  fields: carbonBlackFields as unknown as z.ZodType<CarbonBlackAccount>,
  origins: (a) => [carbonBlackHost(a)],
  async authorize(a, headers) {
    headers.set('x-auth-token', `${a.apiSecret}/${a.apiId}`);
  },
  rateLimit: { perSecond: 5, burst: 10 },
});
