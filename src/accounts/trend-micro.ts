import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `trend-micro` account kind: a Trend Vision One API key (Administration → API Keys) and the
 * regional API domain of the tenant. Vendor facts this follows:
 *
 * - Regional domains, automation.trendmicro.com/xdr/Guides/Regional-domains: "You must specify the
 *   correct domain name for your region": Australia api.au.xdr.trendmicro.com, Germany
 *   api.eu.xdr.trendmicro.com, India api.in.xdr.trendmicro.com, Japan api.xdr.trendmicro.co.jp,
 *   Singapore api.sg.xdr.trendmicro.com, United Arab Emirates api.mea.xdr.trendmicro.com, United Kingdom
 *   api.uk.xdr.trendmicro.com, United States api.xdr.trendmicro.com, United States (for Government)
 *   api.usgov.xdr.trendmicro.com. Newer sites (Canada, South Africa: success.trendmicro.com KA-0015959)
 *   are not on that list yet: give their API URL as `url`.
 * - Requests carry `Authorization: Bearer <API key>` (Automation Center API reference, v3.0).
 * - API request limits, automation.trendmicro.com/xdr/Guides/API-Request-Limits: rate limits are set "on
 *   API endpoints" over 60 seconds, answered with 429 "Too many API requests"; no per-key number is
 *   published, so the kind sets no rateLimit and the HTTP client honours the 429s.
 */

export const VISION_ONE_REGIONS = {
  us: { title: 'United States', url: 'https://api.xdr.trendmicro.com' },
  eu: { title: 'Germany (EU)', url: 'https://api.eu.xdr.trendmicro.com' },
  uk: { title: 'United Kingdom', url: 'https://api.uk.xdr.trendmicro.com' },
  jp: { title: 'Japan', url: 'https://api.xdr.trendmicro.co.jp' },
  sg: { title: 'Singapore', url: 'https://api.sg.xdr.trendmicro.com' },
  au: { title: 'Australia', url: 'https://api.au.xdr.trendmicro.com' },
  in: { title: 'India', url: 'https://api.in.xdr.trendmicro.com' },
  mea: { title: 'United Arab Emirates (MEA)', url: 'https://api.mea.xdr.trendmicro.com' },
  usgov: { title: 'United States (for Government)', url: 'https://api.usgov.xdr.trendmicro.com' },
} as const;

export type VisionOneRegion = keyof typeof VISION_ONE_REGIONS;

export interface TrendMicroAccount {
  region?: VisionOneRegion;
  url?: string;
  apiKey: string;
}

const regions = Object.keys(VISION_ONE_REGIONS) as [VisionOneRegion, ...VisionOneRegion[]];

export const trendMicroFields = z
  .object({
    region: z
      .enum(regions, {
        error: () =>
          `expected one of ${regions.join(', ')} (${regions.map((r) => VISION_ONE_REGIONS[r].title).join(', ')})`,
      })
      .optional()
      .meta({ title: 'Region' })
      .meta(ORIGIN)
      .describe(
        `Data center of the Vision One tenant (the portal URL shows it: portal.eu.xdr… is eu); default us. One of: ${regions.map((r) => `${r} = ${VISION_ONE_REGIONS[r].title}`).join(', ')}`,
      ),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API base URL (instead of a region)' })
      .meta(ORIGIN)
      .describe(
        'API base URL for a site not in the region list, or a proxy, e.g. https://api.ca.xdr.trendmicro.com',
      ),
    apiKey: z
      .string()
      .trim()
      .min(20, 'expected the API key shown when it was created (Administration → API Keys)')
      .refine((v) => !/\s/.test(v), { message: 'expected the API key alone, without "Bearer " or spaces' })
      .meta({ ...SECRET, title: 'API key' })
      .describe(
        'API key of a role allowed to read the data the collectors fetch (Administration → API Keys)',
      ),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.region && a.url)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'set either region or url (a URL for a site not in the list), not both',
      });
  });

/** The API base URL: the account's URL, else its region's (United States by default). */
export const visionOneUrl = (a: Pick<TrendMicroAccount, 'region' | 'url'>) =>
  (a.url ?? VISION_ONE_REGIONS[a.region ?? 'us'].url).replace(/\/+$/, '');

export const trendMicro = defineAccountKind<TrendMicroAccount>({
  id: 'trend-micro',
  title: 'Trend Micro Vision One',
  fields: trendMicroFields as unknown as z.ZodType<TrendMicroAccount>,
  origins: (a) => [visionOneUrl(a)],
  async authorize(a, headers) {
    headers.set('authorization', `Bearer ${a.apiKey}`);
  },
});
