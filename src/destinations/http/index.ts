import { z } from 'zod';
import { ORIGIN, SECRET } from '../../core/secret-spec.ts';
import { httpHeaderName } from '../../core/validation.ts';
import { deliverySettings, destinationUrl } from '../http-delivery.ts';
import { defineDestinationKind } from '../kind.ts';
import { HttpDestination } from './http-destination.ts';

const headerName = httpHeaderName('X-Api-Key');
/** Set by Tributary or by the HTTP client itself; a configured value would corrupt the request. */
const RESERVED_HEADERS = ['content-encoding', 'content-length', 'transfer-encoding', 'host', 'connection'];

export const httpAuthSchema = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('bearer'),
        token: z
          .string()
          .min(1)
          .meta({ ...SECRET, title: 'Token' })
          .describe('Sent as Authorization: Bearer TOKEN'),
      })
      .strict()
      .meta({ title: 'Bearer token' }),
    z
      .object({
        type: z.literal('basic'),
        username: z.string().min(1).meta({ title: 'User' }).describe('Basic auth user name'),
        password: z
          .string()
          .meta({ ...SECRET, title: 'Password' })
          .describe('Basic auth password'),
      })
      .strict()
      .meta({ title: 'Basic (user and password)' }),
    z
      .object({
        type: z.literal('header'),
        name: headerName
          .meta({ title: 'Header name' })
          .describe('Header carrying the credential, e.g. X-Api-Key'),
        value: z
          .string()
          .min(1)
          .meta({ ...SECRET, title: 'Header value' })
          .describe('The credential'),
      })
      .strict()
      .meta({ title: 'Header (e.g. X-Api-Key)' }),
  ])
  .meta({ title: 'Authentication' })
  .describe('How requests authenticate; the secret is never logged or shown in errors');

export const httpConfigSchema = z
  .object({
    kind: z.literal('http'),
    url: destinationUrl()
      .meta({ ...ORIGIN, title: 'URL' })
      .describe('Endpoint receiving POSTed batches; https, or http only to a loopback host'),
    format: z
      .enum(['ndjson', 'json'])
      .default('ndjson')
      .meta({ title: 'Body format' })
      .describe('Request body: NDJSON lines (application/x-ndjson) or one JSON array (application/json)'),
    gzip: z
      .boolean()
      .default(false)
      .meta({ title: 'Compress (gzip)' })
      .describe('Compress request bodies (Content-Encoding: gzip)'),
    auth: httpAuthSchema.optional(),
    headers: z
      .record(headerName, z.string())
      .superRefine((headers, ctx) => {
        for (const name of Object.keys(headers))
          if (RESERVED_HEADERS.includes(name.toLowerCase()))
            ctx.addIssue({ code: 'custom', path: [name], message: `${name} is set by Tributary` });
      })
      .default({})
      .meta({ title: 'Extra headers' })
      .describe('Extra headers sent with every request'),
    ...deliverySettings({ maxBatchBytes: 5 * 1024 * 1024, maxBatchEvents: 10_000 }),
  })
  .strict()
  .describe('POSTs batches of events to an HTTP endpoint; only a 2xx acknowledges');

export type HttpDestinationConfig = z.infer<typeof httpConfigSchema>;
export type HttpAuthConfig = z.infer<typeof httpAuthSchema>;

export const httpKind = defineDestinationKind({
  kind: 'http',
  title: 'HTTP',
  description: 'POSTs batches as NDJSON or a JSON array to an HTTP endpoint; only a 2xx acknowledges.',
  schema: httpConfigSchema,
  create: (name, config) => {
    const { kind: _, ...options } = config;
    return new HttpDestination(name, options);
  },
});
