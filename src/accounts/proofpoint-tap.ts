import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { basicAuthorization } from './basic.ts';

/**
 * The `proofpoint-tap` account kind: TAP service credentials. Vendor facts (help.proofpoint.com,
 * Threat_Insight_Dashboard/API_Documentation/SIEM_API, "Security"): every request uses SSL, "service
 * credentials to authenticate to the API", "the HTTP Basic Authorization method" and GET. The credentials
 * are a service principal and its secret, created in the TAP dashboard under Settings → Connected
 * Applications → Create New Credential. The API host is `https://tap-api-v2.proofpoint.com`.
 *
 * Budget: the SIEM endpoints allow 1,800 requests in 24 hours per set of credentials (as integrations
 * quote Proofpoint, e.g. Kestra's Proofpoint plugin: "the SIEM endpoints share 1800 calls per rolling 24
 * hours"; the public page we could read says only that requests "may be throttled"). The bucket refills
 * 1,700 a day with a burst of 30, under that allowance whatever the collectors sharing the account do.
 */

export const PROOFPOINT_TAP_URL = 'https://tap-api-v2.proofpoint.com';

export interface ProofpointTapAccount {
  principal: string;
  secret: string;
  url?: string;
}

const oneLine = (v: string) => !/[\s:]/.test(v);

export const proofpointTapFields = z
  .object({
    principal: z
      .string()
      .trim()
      .min(1, 'required: the service principal (TAP dashboard → Settings → Connected Applications)')
      .refine(oneLine, { message: 'expected the service principal alone, without spaces or ":"' })
      .meta({ title: 'Service principal' })
      .describe('Service principal of a TAP credential (Settings → Connected Applications)'),
    secret: z
      .string()
      .trim()
      .min(1, 'required: the secret shown with the service principal')
      .refine((v) => !/\s/.test(v), { message: 'expected the secret alone, on one line' })
      .meta({ ...SECRET, title: 'Secret' })
      .describe('The secret of that service principal'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API host' })
      .meta(ORIGIN)
      .describe(`Another API host, such as a proxy (default ${PROOFPOINT_TAP_URL})`),
  })
  .strict();

export const proofpointTapUrl = (a: Pick<ProofpointTapAccount, 'url'>) =>
  (a.url ?? PROOFPOINT_TAP_URL).replace(/\/+$/, '');

export const proofpointTap = defineAccountKind<ProofpointTapAccount>({
  id: 'proofpoint-tap',
  title: 'Proofpoint TAP',
  fields: proofpointTapFields as unknown as z.ZodType<ProofpointTapAccount>,
  origins: (a) => [proofpointTapUrl(a)],
  async authorize(a, headers) {
    headers.set('authorization', basicAuthorization(a.principal, a.secret));
  },
  rateLimit: { perSecond: 1700 / 86_400, burst: 30 },
});
