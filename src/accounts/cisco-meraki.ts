import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `cisco-meraki` account kind: a Meraki Dashboard API key. Vendor facts (developer.cisco.com/meraki/api-v1,
 * "Authorization", "Rate Limit" and "Base URI"):
 *
 * - The key is created by a dashboard administrator under My Profile → API access → Generate API key (after the
 *   organization enabled API access: Organization → Settings → Dashboard API access) and sent as
 *   `Authorization: Bearer <key>`; it has that administrator's access (read-only administrators' keys only read).
 * - Base URI `https://api.meraki.com/api/v1`; regional dashboards: China `api.meraki.cn`, Canada `api.meraki.ca`,
 *   India `api.meraki.in`, US FedRAMP `api.gov-meraki.com`.
 * - "Each Meraki organization has a call budget of 10 requests per second per organization regardless of the
 *   number of API applications"; past it 429 with `Retry-After`. The budget here, 8 a second with a burst of
 *   10, leaves room for other tools on the same organization.
 */

export const MERAKI_REGIONS = {
  global: { title: 'Global (api.meraki.com)', url: 'https://api.meraki.com' },
  china: { title: 'China (api.meraki.cn)', url: 'https://api.meraki.cn' },
  canada: { title: 'Canada (api.meraki.ca)', url: 'https://api.meraki.ca' },
  india: { title: 'India (api.meraki.in)', url: 'https://api.meraki.in' },
  fedramp: { title: 'US FedRAMP (api.gov-meraki.com)', url: 'https://api.gov-meraki.com' },
} as const;

export type MerakiRegion = keyof typeof MERAKI_REGIONS;

export interface MerakiAccount {
  apiKey: string;
  region?: MerakiRegion;
  url?: string;
}

const regions = Object.keys(MERAKI_REGIONS) as [MerakiRegion, ...MerakiRegion[]];

export const merakiFields = z
  .object({
    apiKey: z
      .string()
      .trim()
      .transform((v) => v.replace(/^Bearer\s+/i, ''))
      .pipe(
        z
          .string()
          .regex(/^[0-9a-fA-F]{40}$/, 'expected the 40-character Meraki API key (My Profile → API access)'),
      )
      .meta({ ...SECRET, title: 'API key' })
      .describe('Dashboard API key of a (read-only) organization administrator'),
    region: z
      .enum(regions, { error: () => `expected one of ${regions.join(', ')}` })
      .optional()
      .meta({ title: 'Dashboard region' })
      .meta(ORIGIN)
      .describe('Where the organization is hosted: global (default), china, canada, india or fedramp'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API host (instead of a region)' })
      .meta(ORIGIN)
      .describe('Another API host such as a proxy, without /api/v1'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.region && a.url)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'set either region or url, not both' });
  });

export const merakiHost = (a: Pick<MerakiAccount, 'region' | 'url'>) =>
  (a.url ?? MERAKI_REGIONS[a.region ?? 'global'].url).replace(/\/+$/, '');

export const ciscoMeraki = defineAccountKind<MerakiAccount>({
  id: 'cisco-meraki',
  title: 'Cisco Meraki',
  fields: merakiFields as unknown as z.ZodType<MerakiAccount>,
  origins: (a) => [merakiHost(a)],
  async authorize(a, headers) {
    headers.set('authorization', `Bearer ${a.apiKey}`);
  },
  rateLimit: { perSecond: 8, burst: 10 },
});
