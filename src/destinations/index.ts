import { z } from 'zod';
import type { Destination } from '../core/destination.ts';
import { lazyRecord, lazyValue, type Manifest } from '../core/lazy.ts';
import { own } from '../core/names.ts';
import { type SecretSpec, secretSpecOf } from '../core/secret-spec.ts';
import type { azureBlobConfigSchema } from './azure-blob/index.ts';
import type { azureMonitorLogsConfigSchema } from './azure-monitor-logs/index.ts';
import { withBuffer } from './buffer.ts';
import type { elasticsearchConfigSchema } from './elasticsearch/index.ts';
import type { exabeamConfigSchema } from './exabeam/index.ts';
import type { fileConfigSchema } from './file/index.ts';
import type { gcsConfigSchema } from './gcs/index.ts';
import type { googleSecOpsConfigSchema } from './google-secops/index.ts';
import type { httpConfigSchema } from './http/index.ts';
import type { DestinationContext, DestinationKind } from './kind.ts';
import type { natsConfigSchema } from './nats/index.ts';
import type { opensearchConfigSchema } from './opensearch/index.ts';
import type { s3ConfigSchema } from './s3/index.ts';
import type { splunkHecConfigSchema } from './splunk-hec/index.ts';
import type { stdoutConfigSchema } from './stdout/index.ts';
import type { syslogConfigSchema } from './syslog/index.ts';

export type { AzureBlobDestinationConfig } from './azure-blob/index.ts';
export type { AzureMonitorLogsDestinationConfig } from './azure-monitor-logs/index.ts';
export { type DestinationBufferConfig, destinationBufferSchema } from './buffer.ts';
export type {
  ElasticsearchDestinationConfig,
  OpensearchDestinationConfig,
} from './elasticsearch/index.ts';
export type { FileDestinationConfig } from './file/index.ts';
export type { GcsDestinationConfig } from './gcs/index.ts';
export type { HttpAuthConfig, HttpDestinationConfig } from './http/index.ts';
export type { DestinationAccount, DestinationContext, DestinationKind } from './kind.ts';
export type { NatsDestinationConfig } from './nats/index.ts';
export type { S3DestinationConfig } from './s3/index.ts';
export type { SplunkHecDestinationConfig } from './splunk-hec/index.ts';
export type { StdoutDestinationConfig } from './stdout/index.ts';
export type { SyslogDestinationConfig } from './syslog/index.ts';

/**
 * Where each destination kind is: its `kind` → its module and export (destinations/<kind>/index.ts
 * defines each). A run loads only the kinds of its destinations (core/lazy.ts);
 * src/destinations/index.test.ts checks each entry's own `kind`.
 */
export const destinationKindManifest = {
  file: ['./file/index.ts', 'fileKind'],
  stdout: ['./stdout/index.ts', 'stdoutKind'],
  http: ['./http/index.ts', 'httpKind'],
  s3: ['./s3/index.ts', 's3Kind'],
  'azure-blob': ['./azure-blob/index.ts', 'azureBlobKind'],
  gcs: ['./gcs/index.ts', 'gcsKind'],
  nats: ['./nats/index.ts', 'natsKind'],
  syslog: ['./syslog/index.ts', 'syslogKind'],
  'splunk-hec': ['./splunk-hec/index.ts', 'splunkHecKind'],
  elasticsearch: ['./elasticsearch/index.ts', 'elasticsearchKind'],
  opensearch: ['./opensearch/index.ts', 'opensearchKind'],
  'azure-monitor-logs': ['./azure-monitor-logs/index.ts', 'azureMonitorLogsKind'],
  'google-secops': ['./google-secops/index.ts', 'googleSecOpsKind'],
  exabeam: ['./exabeam/index.ts', 'exabeamKind'],
} as const satisfies Manifest;

/** Each kind's own schema (without `buffer`), as its module defines it. */
const kindSchemas = new Map<string, z.ZodObject>();

/**
 * Every destination kind, by its `kind`, each loaded on first access (core/lazy.ts); its schema with
 * the `buffer` setting every kind takes.
 */
export const destinationKinds: Record<string, DestinationKind> = lazyRecord<DestinationKind>(
  import.meta.url,
  destinationKindManifest,
  (value, id) => {
    const k = value as DestinationKind;
    kindSchemas.set(id, k.schema as unknown as z.ZodObject);
    return { ...k, schema: withBuffer(k.schema as unknown as z.ZodObject) } as unknown as DestinationKind;
  },
);

/** A kind's own schema, typed as its module's (loads that kind). */
function kindSchema<S>(kind: keyof typeof destinationKindManifest): S {
  void destinationKinds[kind];
  return kindSchemas.get(kind) as S;
}

// The union over every kind (loads them all). Each kind's schema is typed from its module by a
// type-only import, so the union's type — DestinationConfig — is what it was with every kind imported.
const unionOfEveryKind = () =>
  z.discriminatedUnion('kind', [
    withBuffer(kindSchema<typeof fileConfigSchema>('file')),
    withBuffer(kindSchema<typeof stdoutConfigSchema>('stdout')),
    withBuffer(kindSchema<typeof httpConfigSchema>('http')),
    withBuffer(kindSchema<typeof s3ConfigSchema>('s3')),
    withBuffer(kindSchema<typeof azureBlobConfigSchema>('azure-blob')),
    withBuffer(kindSchema<typeof gcsConfigSchema>('gcs')),
    withBuffer(kindSchema<typeof natsConfigSchema>('nats')),
    withBuffer(kindSchema<typeof syslogConfigSchema>('syslog')),
    withBuffer(kindSchema<typeof splunkHecConfigSchema>('splunk-hec')),
    withBuffer(kindSchema<typeof elasticsearchConfigSchema>('elasticsearch')),
    withBuffer(kindSchema<typeof opensearchConfigSchema>('opensearch')),
    withBuffer(kindSchema<typeof azureMonitorLogsConfigSchema>('azure-monitor-logs')),
    withBuffer(kindSchema<typeof googleSecOpsConfigSchema>('google-secops')),
    withBuffer(kindSchema<typeof exabeamConfigSchema>('exabeam')),
  ]);

/**
 * Destination kinds and their settings: one schema for the API's documents and the docs. Built, with
 * every kind loaded, when first used: a config file's or a request's destination is checked against
 * its own kind's schema (`parseDestinationConfig`), which gives the same result for a known kind.
 */
export const destinationConfigSchema: ReturnType<typeof unionOfEveryKind> = lazyValue(unionOfEveryKind);

/**
 * Secret fields of every destination kind (encrypted at rest, write-only through the API) and the
 * fields that decide where they are sent, from the schema's SECRET and ORIGIN marks. Loads every
 * kind: for one config, `destinationSpecOf(config.kind)`.
 */
export const destinationSpec: SecretSpec = lazyValue(() => secretSpecOf(destinationConfigSchema));

const NO_SECRETS: SecretSpec = Object.freeze({ secrets: [], origins: [] }) as unknown as SecretSpec;

/** The secret and origin fields of one kind (none for an unknown kind, whose config is refused anyway). */
export function destinationSpecOf(kind: unknown): SecretSpec {
  const k = typeof kind === 'string' ? own(destinationKinds, kind) : undefined;
  return k ? secretSpecOf(k.schema) : NO_SECRETS;
}

/**
 * A destination config checked against its kind's schema, loading only that kind; what is not an
 * object of a known kind is checked against the union, whose issues say which kinds there are.
 */
export function parseDestinationConfig(raw: unknown): z.ZodSafeParseResult<DestinationConfig> {
  const kind = raw && typeof raw === 'object' ? (raw as { kind?: unknown }).kind : undefined;
  const k = typeof kind === 'string' ? own(destinationKinds, kind) : undefined;
  if (k) return k.schema.safeParse(raw) as z.ZodSafeParseResult<DestinationConfig>;
  return destinationConfigSchema.safeParse(raw);
}

/** A validated destination config, defaults filled in. */
export type DestinationConfig = z.infer<typeof destinationConfigSchema>;
/** A destination config as written by a user, before defaults. */
export type DestinationConfigInput = z.input<typeof destinationConfigSchema>;

/** The kinds as the API (`GET /api/destination-kinds`) and `tributary destinations --json` list them. */
export function destinationCatalog() {
  return Object.values(destinationKinds).map((k) => ({
    kind: k.kind,
    title: k.title,
    description: k.description,
    stability: k.stability ?? 'ga',
    /** Account kinds whose credentials it sends with, named in its `account` setting. */
    accountKinds: k.accountKinds ?? [],
    /** Paths of its write-only fields. */
    secrets: secretSpecOf(k.schema).secrets,
    settings: z.toJSONSchema(k.schema, { io: 'input', unrepresentable: 'any' }),
  }));
}

/**
 * Builds a destination from a validated config. Throws a config TributaryError for settings only
 * checkable here.
 */
export function createDestination(
  name: string,
  config: DestinationConfig,
  ctx: DestinationContext,
): Destination {
  const kind = own(destinationKinds, config.kind);
  if (!kind) throw new Error(`unknown destination kind ${config.kind}`);
  return kind.create(name, config, ctx);
}
