import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `cato-networks` account kind: a Cato API key, sent in the `x-api-key` header to the GraphQL endpoint
 * `https://api.catonetworks.com/api/v1/graphql2` (api.catonetworks.com/documentation; Cato's own clients,
 * catonetworks/cato-cli and cato-go-sdk, call it so). Keys are generated in the Cato Management Application
 * under Resources → API Keys by an administrator with Editor rights; a View-only key is enough to read.
 * Accounts on a regional API host (api.us1…, api.jp1…, api.in1.catonetworks.com) set `url`.
 *
 * Rate limits: Cato limits each query per account and answers over the limit with HTTP 200 and a GraphQL
 * error "rate limit for operation: …" (Cato's sample scripts wait 5 s and retry). The numbers are not on a
 * page we could read: the budget, 1 request/s with a burst of 5, is an assumption; the source retries those
 * answers (SourceDef.rateLimitedBody).
 */

export const CATO_API = 'https://api.catonetworks.com';

export interface CatoAccount {
  apiKey: string;
  url?: string;
}

export const catoFields = z
  .object({
    apiKey: z
      .string()
      .trim()
      .min(16, 'expected the API key generated under Resources → API Keys')
      .refine((v) => !/\s/.test(v), { message: 'expected the API key alone, on one line' })
      .meta({ ...SECRET, title: 'API key' })
      .describe('Cato API key (Resources → API Keys; View permission is enough)'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API host' })
      .meta(ORIGIN)
      .describe(`Regional API host such as https://api.us1.catonetworks.com (default ${CATO_API})`),
  })
  .strict();

export const catoUrl = (a: Pick<CatoAccount, 'url'>) => (a.url ?? CATO_API).replace(/\/+$/, '');

export const catoNetworks = defineAccountKind<CatoAccount>({
  id: 'cato-networks',
  title: 'Cato Networks',
  fields: catoFields as unknown as z.ZodType<CatoAccount>,
  origins: (a) => [catoUrl(a)],
  async authorize(a, headers) {
    headers.set('x-api-key', a.apiKey);
  },
  rateLimit: { perSecond: 1, burst: 5 },
});
