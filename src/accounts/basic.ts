import { z } from 'zod';
import { SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';

/**
 * The generic `basic` account kind: HTTP Basic authentication (RFC 7617), `Authorization: Basic
 * base64(username ":" password)` with both encoded as UTF-8 (§2.1 charset="UTF-8"). The user-id cannot
 * contain a colon (§2). Only ever sent over https (or to loopback): the source URLs are validated so.
 * No rate limit: a generic kind cannot know the vendor's (an account's requestsPerMinute sets one).
 */

export interface BasicAccount {
  username: string;
  password: string;
}

/** No C0 control characters or DEL (they cannot travel in a header). */
const noControl = (v: string) => ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export const basicFields = z
  .object({
    username: z
      .string()
      .min(1, 'required: the user name')
      .refine((v) => !v.includes(':'), { message: 'a Basic user name cannot contain ":" (RFC 7617)' })
      .refine(noControl, { message: 'expected a user name without control characters' })
      .meta({ title: 'User name' })
      .describe('User name (or API client ID) of the service account'),
    password: z
      .string()
      .min(1, 'required: the password')
      .refine(noControl, { message: 'expected a password without control characters (line breaks, tabs)' })
      .meta({ ...SECRET, title: 'Password' })
      .describe('Password (or API secret) of the same account'),
  })
  .strict();

export const basicAuthorization = (username: string, password: string) =>
  `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;

export const basic = defineAccountKind<BasicAccount>({
  id: 'basic',
  title: 'Basic authentication (generic)',
  fields: basicFields as unknown as z.ZodType<BasicAccount>,
  async authorize(a, headers) {
    headers.set('authorization', basicAuthorization(a.username, a.password));
  },
});
