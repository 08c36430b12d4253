import { z } from 'zod';
import { ORIGIN } from '../../core/secret-spec.ts';
import { defineDestinationKind } from '../kind.ts';
import { endpointUrl, objectStoreFields } from '../object-store/objects.ts';
import { GcsDestination } from './gcs-destination.ts';

/** Bucket names (cloud.google.com/storage/docs/buckets#naming): 3–63 characters without dots, up to 222 with. */
const BUCKET = /^(?=.{3,222}$)[a-z0-9][a-z0-9._-]*[a-z0-9]$/;

export const gcsConfigSchema = z
  .object({
    kind: z.literal('gcs'),
    bucket: z
      .string()
      .trim()
      .regex(BUCKET, 'expected a Cloud Storage bucket name: lowercase letters, digits, -, _ and .')
      .refine((b) => !b.startsWith('goog'), 'bucket names cannot start with "goog"')
      .meta({ ...ORIGIN, title: 'Bucket' })
      .describe('Bucket the objects are written to'),
    account: z
      .string()
      .trim()
      .min(1)
      .meta({ ...ORIGIN, title: 'Google account' })
      .describe(
        'Name of a google account (service-account key) whose service account has roles/storage.objectUser on the bucket (create, and overwrite when a batch is re-sent)',
      ),
    endpoint: endpointUrl()
      .default('https://storage.googleapis.com')
      .meta({ ...ORIGIN, title: 'API endpoint' })
      .describe(
        'The Cloud Storage JSON API root (default https://storage.googleapis.com), e.g. a Private Service Connect endpoint',
      ),
    ...objectStoreFields,
  })
  .strict()
  .describe('Writes gzip NDJSON objects to a Google Cloud Storage bucket');

export type GcsDestinationConfig = z.infer<typeof gcsConfigSchema>;

export const gcsKind = defineDestinationKind({
  kind: 'gcs',
  title: 'Google Cloud Storage',
  description:
    'Writes each batch as time-partitioned gzip NDJSON objects to a bucket (JSON API multipart upload); a batch is acknowledged once every upload answered 200.',
  schema: gcsConfigSchema,
  accountKinds: ['google'],
  create: (name, config, ctx) => new GcsDestination(name, config, ctx),
});
