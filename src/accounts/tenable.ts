import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `tenable` account kind: an API key pair of a Tenable Vulnerability Management (Tenable.io) user.
 * Vendor facts (developer.tenable.com, "Authorization"; docs.tenable.com, "Generate API Keys"):
 *
 * - Every request carries `X-ApiKeys: accessKey={access key};secretKey={secret key};`.
 * - The API host is `https://cloud.tenable.com` (FedRAMP: `https://fedcloud.tenable.com`).
 * - Keys are generated per user (Settings → My Account → API Keys, or by an administrator for another user);
 *   generating new keys invalidates the old pair. A user has one valid pair at a time.
 * - Rate limits are per user, computed from the current processing load (developer.tenable.com, "Rate
 *   Limiting"): no number is published; a 429 carries `retry-after`, which the HTTP client honours.
 */

export const TENABLE_URL = 'https://cloud.tenable.com';

export interface TenableAccount {
  accessKey: string;
  secretKey: string;
  url?: string;
}

const key = (what: string) =>
  z
    .string()
    .trim()
    .regex(
      /^[0-9a-f]{64}$/i,
      `expected the ${what} Tenable shows once when the keys are generated (64 hex characters)`,
    );

export const tenableFields = z
  .object({
    accessKey: key('access key')
      .meta({ title: 'Access key' })
      .describe('The API access key of the Tenable user'),
    secretKey: key('secret key')
      .meta({ ...SECRET, title: 'Secret key' })
      .describe('The API secret key generated with the access key'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe(
        `Tenable Vulnerability Management API host (default ${TENABLE_URL}; FedRAMP: https://fedcloud.tenable.com)`,
      ),
  })
  .strict();

export const tenableUrl = (a: Pick<TenableAccount, 'url'>) => (a.url ?? TENABLE_URL).replace(/\/+$/, '');

export const tenable = defineAccountKind<TenableAccount>({
  id: 'tenable',
  title: 'Tenable Vulnerability Management',
  fields: tenableFields as unknown as z.ZodType<TenableAccount>,
  origins: (a) => [tenableUrl(a)],
  async authorize(a, headers) {
    headers.set('x-apikeys', `accessKey=${a.accessKey};secretKey=${a.secretKey};`);
  },
});
