import { z } from 'zod';
import type { Destination } from '../core/destination.ts';
import { byName, own } from '../core/names.ts';
import { type SecretSpec, secretSpecOf } from '../core/secret-spec.ts';
import { azureBlobConfigSchema, azureBlobKind } from './azure-blob/index.ts';
import { azureMonitorLogsConfigSchema, azureMonitorLogsKind } from './azure-monitor-logs/index.ts';
import { withBuffer } from './buffer.ts';
import { elasticsearchConfigSchema, elasticsearchKind } from './elasticsearch/index.ts';
import { exabeamConfigSchema, exabeamKind } from './exabeam/index.ts';
import { fileConfigSchema, fileKind } from './file/index.ts';
import { gcsConfigSchema, gcsKind } from './gcs/index.ts';
import { googleSecOpsConfigSchema, googleSecOpsKind } from './google-secops/index.ts';
import { httpConfigSchema, httpKind } from './http/index.ts';
import type { DestinationContext, DestinationKind } from './kind.ts';
import { natsConfigSchema, natsKind } from './nats/index.ts';
import { opensearchConfigSchema, opensearchKind } from './opensearch/index.ts';
import { s3ConfigSchema, s3Kind } from './s3/index.ts';
import { splunkHecConfigSchema, splunkHecKind } from './splunk-hec/index.ts';
import { stdoutConfigSchema, stdoutKind } from './stdout/index.ts';
import { syslogConfigSchema, syslogKind } from './syslog/index.ts';

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

/** Every destination kind, by its `kind` (destinations/<kind>/index.ts defines each). */
export const destinationKinds: Record<string, DestinationKind> = byName(
  [
    fileKind,
    stdoutKind,
    httpKind,
    s3Kind,
    azureBlobKind,
    gcsKind,
    natsKind,
    syslogKind,
    splunkHecKind,
    elasticsearchKind,
    opensearchKind,
    azureMonitorLogsKind,
    googleSecOpsKind,
    exabeamKind,
  ].map((k) => [
    k.kind,
    { ...k, schema: withBuffer(k.schema as unknown as z.ZodObject) } as unknown as DestinationKind,
  ]),
);

/**
 * Destination kinds and their settings: one schema for the config file, the API and the docs. Each
 * kind's schema, again, is listed here for the union's types.
 */
export const destinationConfigSchema = z.discriminatedUnion('kind', [
  withBuffer(fileConfigSchema),
  withBuffer(stdoutConfigSchema),
  withBuffer(httpConfigSchema),
  withBuffer(s3ConfigSchema),
  withBuffer(azureBlobConfigSchema),
  withBuffer(gcsConfigSchema),
  withBuffer(natsConfigSchema),
  withBuffer(syslogConfigSchema),
  withBuffer(splunkHecConfigSchema),
  withBuffer(elasticsearchConfigSchema),
  withBuffer(opensearchConfigSchema),
  withBuffer(azureMonitorLogsConfigSchema),
  withBuffer(googleSecOpsConfigSchema),
  withBuffer(exabeamConfigSchema),
]);

/**
 * Secret fields of every destination kind (encrypted at rest, write-only through the API) and the
 * fields that decide where they are sent, from the schema's SECRET and ORIGIN marks.
 */
export const destinationSpec: SecretSpec = secretSpecOf(destinationConfigSchema);

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
