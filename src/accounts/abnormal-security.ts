import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `abnormal-security` account kind: an Abnormal REST API token. Vendor facts, from Abnormal's published
 * OpenAPI document (SwaggerHub abnormal-security/abx 1.4.3, info.description "Integration Steps" and
 * `servers`):
 *
 * - The token is generated in the Abnormal Portal, Settings → Integrations → **Abnormal REST API**
 *   (portal.abnormalsecurity.com/home/settings/integrations), and sent as `Authorization: Bearer <token>`;
 *   it has no scopes: it reads the organization's threats and cases (and could remediate them, which
 *   Tributary never calls).
 * - IP allowlisting ("Step 2"): requests from addresses outside the organization's allowlist are refused
 *   (403 ForbiddenError "e.g. IP not in allowlist") even with a valid token.
 * - Hosts: `https://api.abnormalplatform.com/v1`, and for EU customers `https://eu.rest.abnormalsecurity.com/v1`
 *   ("Note for EU Customers").
 * - Rate limits: only "429 … Request count exceeds allowed number of concurrent requests for this resource
 *   type" is documented, no number. The budget below (2 requests/s) is an assumption that keeps one
 *   collector's detail calls (one per threat or case) from running concurrently; the HTTP client honours
 *   429 and Retry-After. Raise it with the account's requestsPerMinute if Abnormal allows more.
 */

export const ABNORMAL_REGIONS = {
  us: { title: 'United States (default)', url: 'https://api.abnormalplatform.com' },
  eu: { title: 'European Union', url: 'https://eu.rest.abnormalsecurity.com' },
} as const;

export type AbnormalRegion = keyof typeof ABNORMAL_REGIONS;

export interface AbnormalAccount {
  region?: AbnormalRegion;
  url?: string;
  token: string;
}

const regions = Object.keys(ABNORMAL_REGIONS) as [AbnormalRegion, ...AbnormalRegion[]];

export const abnormalFields = z
  .object({
    region: z
      .enum(regions, {
        error: () => 'expected us (api.abnormalplatform.com) or eu (eu.rest.abnormalsecurity.com)',
      })
      .optional()
      .meta({ title: 'Region' })
      .meta(ORIGIN)
      .describe('Where the Abnormal tenant is hosted: us (default) or eu'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API host (instead of a region)' })
      .meta(ORIGIN)
      .describe('Another API host, such as a proxy in front of Abnormal, without /v1'),
    token: z
      .string()
      .trim()
      .transform((v) => v.replace(/^Bearer\s+/i, ''))
      .pipe(
        z
          .string()
          .min(16, 'expected the Abnormal REST API token from Settings → Integrations → Abnormal REST API')
          .regex(/^\S+$/, 'expected the token alone, on one line, without spaces'),
      )
      .meta({ ...SECRET, title: 'REST API token' })
      .describe('The Abnormal REST API token (Portal → Settings → Integrations → Abnormal REST API)'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.region && a.url)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'set either region or url, not both' });
  });

/** The API host: the account's URL, else its region's (United States by default), without /v1. */
export const abnormalHost = (a: Pick<AbnormalAccount, 'region' | 'url'>) =>
  (a.url ?? ABNORMAL_REGIONS[a.region ?? 'us'].url).replace(/\/+$/, '');

export const abnormalSecurity = defineAccountKind<AbnormalAccount>({
  id: 'abnormal-security',
  title: 'Abnormal Security',
  fields: abnormalFields as unknown as z.ZodType<AbnormalAccount>,
  origins: (a) => [abnormalHost(a)],
  async authorize(a, headers) {
    headers.set('authorization', `Bearer ${a.token}`);
  },
  rateLimit: { perSecond: 2, burst: 4 },
});
