import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { basicAuthorization } from './basic.ts';

/**
 * The `qualys` account kind: a Qualys user allowed API access, sent with HTTP Basic on every request to the
 * API server of the user's platform. Vendor facts (Qualys API (VM, PC) User Guide, "Authentication" and
 * "Qualys API server URL"; "HTTP response headers"):
 *
 * - Every request carries Basic credentials and an `X-Requested-With` header (any value; Qualys refuses
 *   requests without it).
 * - The API server depends on the platform the account is on (Help → About in the Qualys UI): US1
 *   https://qualysapi.qualys.com, US2 https://qualysapi.qg2.apps.qualys.com, US3
 *   https://qualysapi.qg3.apps.qualys.com, US4 https://qualysapi.qg4.apps.qualys.com, EU1
 *   https://qualysapi.qualys.eu, EU2 https://qualysapi.qg2.apps.qualys.eu; other platforms: the `url` field.
 * - Limits are per API function and subscription (`X-RateLimit-Limit` calls per `X-RateLimit-Window-Sec`,
 *   `X-Concurrency-Limit-Limit` calls at once); a blocked call is answered 409 with `X-RateLimit-ToWait-Sec`.
 *   The sources read these headers (there is no account-wide budget to set here).
 */

export const QUALYS_PLATFORMS = {
  us1: 'https://qualysapi.qualys.com',
  us2: 'https://qualysapi.qg2.apps.qualys.com',
  us3: 'https://qualysapi.qg3.apps.qualys.com',
  us4: 'https://qualysapi.qg4.apps.qualys.com',
  eu1: 'https://qualysapi.qualys.eu',
  eu2: 'https://qualysapi.qg2.apps.qualys.eu',
} as const;

export interface QualysAccount {
  username: string;
  password: string;
  platform?: keyof typeof QUALYS_PLATFORMS;
  url?: string;
}

export const qualysFields = z
  .object({
    username: z
      .string()
      .trim()
      .min(1, 'required: the Qualys user name')
      .refine((v) => !v.includes(':'), { message: 'a Qualys user name has no ":"' })
      .meta({ title: 'User name' })
      .describe('A Qualys user with API access (Users → edit → General Information → Allow access to API)'),
    password: z
      .string()
      .min(1, 'required: the password of the Qualys user')
      .meta({ ...SECRET, title: 'Password' })
      .describe('Password of the same user'),
    platform: z
      .enum(Object.keys(QUALYS_PLATFORMS) as [keyof typeof QUALYS_PLATFORMS])
      .optional()
      .meta({ title: 'Platform' })
      .describe(
        'The Qualys platform of the subscription (Help → About): us1 (default), us2, us3, us4, eu1, eu2',
      ),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API server URL' })
      .meta(ORIGIN)
      .describe('The API server URL for another platform (Help → About → API server), instead of platform'),
  })
  .strict()
  .refine((a) => !(a.platform && a.url), { message: 'give platform or url, not both', path: ['url'] });

export const qualysUrl = (a: Pick<QualysAccount, 'platform' | 'url'>) =>
  (a.url ?? QUALYS_PLATFORMS[a.platform ?? 'us1']).replace(/\/+$/, '');

export const qualys = defineAccountKind<QualysAccount>({
  id: 'qualys',
  title: 'Qualys',
  fields: qualysFields as unknown as z.ZodType<QualysAccount>,
  origins: (a) => [qualysUrl(a)],
  async authorize(a, headers) {
    headers.set('authorization', basicAuthorization(a.username, a.password));
    headers.set('x-requested-with', 'Tributary');
  },
});
