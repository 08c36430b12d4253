import { z } from 'zod';
import { ORIGIN, SECRET } from '../../core/secret-spec.ts';
import { deliverySettings, destinationUrl } from '../http-delivery.ts';
import { defineDestinationKind } from '../kind.ts';
import { BulkDestination } from './bulk-destination.ts';

/** Index and data stream names (Elasticsearch and OpenSearch alike): lowercase, no \ / * ? " < > | , # : or space. */
export const indexName = () =>
  z
    .string()
    .min(1)
    .max(255)
    .regex(
      /^[a-z0-9][^A-Z\\/*?"<>|,# :]*$/,
      'expected a lowercase index or data stream name such as logs-tributary-default (no \\ / * ? " < > | , # : or spaces)',
    );

const apiKeyAuth = z
  .object({
    type: z.literal('apiKey'),
    apiKey: z
      .string()
      .trim()
      .min(1)
      .meta({ ...SECRET, title: 'API key (encoded)' })
      .describe('The "encoded" API key Elasticsearch shows once created; sent as Authorization: ApiKey KEY'),
  })
  .strict()
  .meta({ title: 'API key' });
const basicAuth = z
  .object({
    type: z.literal('basic'),
    username: z
      .string()
      .min(1)
      .meta({ title: 'User name' })
      .describe('User with the create_doc privilege on the index'),
    password: z
      .string()
      .meta({ ...SECRET, title: 'Password' })
      .describe("The user's password"),
  })
  .strict()
  .meta({ title: 'User and password' });
const bearerAuth = z
  .object({
    type: z.literal('bearer'),
    token: z
      .string()
      .trim()
      .min(1)
      .meta({ ...SECRET, title: 'Token' })
      .describe('Sent as Authorization: Bearer TOKEN (a token service or JWT token)'),
  })
  .strict()
  .meta({ title: 'Bearer token' });

/** The settings Elasticsearch and OpenSearch share; `auth` and the default index differ. */
export function bulkSettings(defaultIndex: string) {
  return {
    url: destinationUrl()
      .meta({ ...ORIGIN, title: 'Cluster URL' })
      .describe('Address of the cluster, e.g. https://es.example.com:9200; _bulk is added'),
    index: indexName()
      .default(defaultIndex)
      .meta({ title: 'Index or data stream' })
      .describe(
        `Where documents are created (default ${defaultIndex}); a data stream needs a matching index template (docs/destinations.md)`,
      ),
    pipeline: z
      .string()
      .min(1)
      .optional()
      .meta({ title: 'Ingest pipeline' })
      .describe('Ingest pipeline every document goes through (?pipeline=); empty: the index default'),
    gzip: z
      .boolean()
      .default(true)
      .meta({ title: 'Compress (gzip)' })
      .describe('Compress request bodies (Content-Encoding: gzip)'),
    ...deliverySettings({
      maxBatchBytes: 5 * 1024 * 1024,
      maxBatchBytesLimit: 100 * 1024 * 1024,
      maxBatchEvents: 5_000,
    }),
  };
}

export const elasticsearchConfigSchema = z
  .object({
    kind: z.literal('elasticsearch'),
    ...bulkSettings('logs-tributary-default'),
    auth: z
      .discriminatedUnion('type', [apiKeyAuth, basicAuth, bearerAuth])
      .optional()
      .meta({ title: 'Authentication' })
      .describe('API key (recommended), user and password, or bearer token; the secret is never logged'),
  })
  .strict()
  .describe('Elasticsearch _bulk');

export const opensearchConfigSchema = z
  .object({
    kind: z.literal('opensearch'),
    ...bulkSettings('tributary-events'),
    auth: z
      .discriminatedUnion('type', [basicAuth, bearerAuth])
      .optional()
      .meta({ title: 'Authentication' })
      .describe(
        'User and password (internal users or LDAP), or a bearer (JWT) token; the secret is never logged',
      ),
  })
  .strict()
  .describe('OpenSearch _bulk');

export type ElasticsearchDestinationConfig = z.infer<typeof elasticsearchConfigSchema>;
export type OpensearchDestinationConfig = z.infer<typeof opensearchConfigSchema>;

export const elasticsearchKind = defineDestinationKind({
  kind: 'elasticsearch',
  title: 'Elasticsearch',
  description:
    'Creates one document per event with _bulk (the event id as _id: a re-delivery is a no-op). Created or already there acknowledges; mapping errors are dead-lettered.',
  schema: elasticsearchConfigSchema,
  create: (name, config) => {
    const { kind, ...o } = config;
    return new BulkDestination(kind, name, o);
  },
});
