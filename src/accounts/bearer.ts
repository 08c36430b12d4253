import { z } from 'zod';
import { SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';

/**
 * The generic `bearer` account kind: a static token sent as `Authorization: Bearer <token>` (RFC 6750
 * §2.1). The token is taken as issued; one that expires must be replaced on the account (its optional
 * expiry date makes health warn 14 days before). No rate limit: a generic kind cannot know the
 * vendor's (an account's requestsPerMinute sets one).
 */

export interface BearerAccount {
  token: string;
}

export const bearerFields = z
  .object({
    token: z
      .string()
      .trim()
      .transform((v) => v.replace(/^Bearer\s+/i, ''))
      .pipe(
        z
          .string()
          // RFC 6750 §2.1 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding.
          .regex(
            /^[A-Za-z0-9\-._~+/]+=*$/,
            'expected a bearer token: letters, digits and -._~+/ (and = at the end) only',
          ),
      )
      .meta({ ...SECRET, title: 'Token' })
      .describe('Access token or API token the vendor accepts as "Authorization: Bearer …"'),
  })
  .strict();

export const bearer = defineAccountKind<BearerAccount>({
  id: 'bearer',
  title: 'Bearer token (generic)',
  fields: bearerFields as unknown as z.ZodType<BearerAccount>,
  async authorize(a, headers) {
    headers.set('authorization', `Bearer ${a.token}`);
  },
});
