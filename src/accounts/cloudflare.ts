import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `cloudflare` account kind: a Cloudflare API token, sent as `Authorization: Bearer <token>` to
 * `https://api.cloudflare.com/client/v4` (developers.cloudflare.com/fundamentals/api/get-started/create-token;
 * the v4 API's base URL). Tokens carry permission groups: the audit log needs the account permission
 * **Access: Audit Logs — Read** on the account it reads.
 *
 * Budget: the Cloudflare API allows 1,200 requests per five minutes per user (API token), answering 429
 * with `Retry-After` past it (developers.cloudflare.com/fundamentals/api/reference/limits): 3.5 requests/s
 * with a burst of 10 stays under it.
 */

export const CLOUDFLARE_API = 'https://api.cloudflare.com';

export interface CloudflareAccount {
  apiToken: string;
  url?: string;
}

export const cloudflareFields = z
  .object({
    apiToken: z
      .string()
      .trim()
      .transform((v) => v.replace(/^Bearer\s+/i, ''))
      .pipe(
        z
          .string()
          .regex(
            /^[A-Za-z0-9_-]{20,}$/,
            'expected a Cloudflare API token (My Profile → API Tokens, or Manage Account → Account API Tokens), not a Global API Key',
          ),
      )
      .meta({ ...SECRET, title: 'API token' })
      .describe('API token with the account permission Access: Audit Logs — Read'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API host' })
      .meta(ORIGIN)
      .describe(`Another API host, such as a proxy (default ${CLOUDFLARE_API})`),
  })
  .strict();

export const cloudflareUrl = (a: Pick<CloudflareAccount, 'url'>) =>
  (a.url ?? CLOUDFLARE_API).replace(/\/+$/, '');

export const cloudflare = defineAccountKind<CloudflareAccount>({
  id: 'cloudflare',
  title: 'Cloudflare',
  fields: cloudflareFields as unknown as z.ZodType<CloudflareAccount>,
  origins: (a) => [cloudflareUrl(a)],
  async authorize(a, headers) {
    headers.set('authorization', `Bearer ${a.apiToken}`);
  },
  rateLimit: { perSecond: 3.5, burst: 10 },
});
