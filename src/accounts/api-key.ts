import { z } from 'zod';
import { SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { HTTP_HEADER_NAME } from '../core/validation.ts';

/**
 * The generic `api-key` account kind: a static key sent in a request header of the vendor's choosing
 * (`X-API-Key` by default), optionally after a prefix (`Token `, `ApiKey `, `GenieKey `, …).
 *
 * Header only: an account's `authorize` adds headers to a request and cannot rewrite its URL (see
 * AccountKind in core/source.ts), and a key in a query string ends up in proxy and server logs. A vendor
 * that accepts the key only as a query parameter needs a source that adds it from its own settings.
 * No rate limit: a generic kind cannot know the vendor's (an account's requestsPerMinute sets one).
 */

/** Header names the HTTP stack owns: a credential there would break the request or be dropped. */
const RESERVED = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'accept-encoding',
  'proxy-authorization',
]);

export interface ApiKeyAccount {
  key: string;
  headerName: string;
  prefix?: string;
}

export const apiKeyFields = z
  .object({
    key: z
      .string()
      .trim()
      .min(1, 'required: the API key')
      .refine((v) => !/[\r\n]/.test(v), { message: 'expected the key on one line' })
      .meta({ ...SECRET, title: 'API key' })
      .describe('The API key issued by the vendor'),
    headerName: z
      .string()
      .trim()
      .regex(HTTP_HEADER_NAME, 'expected an HTTP header name such as X-API-Key (letters, digits and - only)')
      .refine((v) => !RESERVED.has(v.toLowerCase()), {
        message: 'this header is set by the HTTP client itself; use the one the vendor names for its key',
      })
      .default('X-API-Key')
      .meta({ title: 'Header name' })
      .describe('Request header that carries the key, as the vendor documents it (default X-API-Key)'),
    prefix: z
      .string()
      .refine((v) => !/[\r\n]/.test(v) && v.trim().length > 0, {
        message: 'expected text such as "Token " or "ApiKey "',
      })
      .optional()
      .meta({ title: 'Value prefix' })
      .describe(
        'Text sent before the key in the header, with its trailing space, e.g. "Token " (default: none)',
      ),
  })
  .strict();

export const apiKey = defineAccountKind<ApiKeyAccount>({
  id: 'api-key',
  title: 'API key (generic)',
  fields: apiKeyFields as unknown as z.ZodType<ApiKeyAccount>,
  async authorize(a, headers) {
    headers.set(a.headerName, `${a.prefix ?? ''}${a.key}`);
  },
});
