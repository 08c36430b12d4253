import { z } from 'zod';
import { ORIGIN } from '../../core/secret-spec.ts';
import { deliverySettings, destinationUrl } from '../http-delivery.ts';
import { defineDestinationKind } from '../kind.ts';
import { AzureMonitorLogsDestination, MAX_CALL_BYTES } from './azure-monitor-logs-destination.ts';

/** The account setting of kinds that send with an account's token; it decides where the token goes. */
export const accountName = (kind: string) =>
  z
    .string()
    .min(1)
    .meta({ ...ORIGIN, title: 'Account' })
    .describe(
      `Name of the ${kind} account whose token is sent (Accounts); it must allow the endpoint's origin`,
    );

export const azureMonitorLogsConfigSchema = z
  .object({
    kind: z.literal('azure-monitor-logs'),
    account: accountName('microsoft'),
    endpoint: destinationUrl()
      .meta({ ...ORIGIN, title: 'Logs ingestion endpoint' })
      .describe(
        "The DCR's logs ingestion endpoint, or its data collection endpoint's, e.g. https://my-dcr-a1b2.eastus-1.ingest.monitor.azure.com",
      ),
    dcrImmutableId: z
      .string()
      .trim()
      .regex(
        /^dcr-[0-9a-f]{32}$/i,
        'expected the immutable ID of the data collection rule, e.g. dcr-0123456789abcdef0123456789abcdef',
      )
      .meta({ title: 'DCR immutable ID' })
      .describe('Immutable ID of the data collection rule (its JSON view: properties.immutableId)'),
    stream: z
      .string()
      .trim()
      .regex(
        /^(Custom|Microsoft)-[A-Za-z0-9_]+$/,
        'expected a stream of the DCR such as Custom-TributaryEvents',
      )
      .meta({ title: 'Stream' })
      .describe('The DCR stream declared for these events, e.g. Custom-TributaryEvents (streamDeclarations)'),
    gzip: z
      .boolean()
      .default(true)
      .meta({ title: 'Compress (gzip)' })
      .describe('Compress request bodies (Content-Encoding: gzip)'),
    ...deliverySettings({
      maxBatchBytes: MAX_CALL_BYTES,
      maxBatchBytesLimit: MAX_CALL_BYTES,
      maxBatchEvents: 10_000,
    }),
  })
  .strict()
  .describe('Azure Monitor Logs Ingestion API (Microsoft Sentinel)');

export type AzureMonitorLogsDestinationConfig = z.infer<typeof azureMonitorLogsConfigSchema>;

export const azureMonitorLogsKind = defineDestinationKind({
  kind: 'azure-monitor-logs',
  title: 'Azure Monitor Logs / Microsoft Sentinel',
  description:
    "Sends events to a Log Analytics workspace through a data collection rule (Logs Ingestion API) with a Microsoft account's token; a 204 acknowledges.",
  schema: azureMonitorLogsConfigSchema,
  accountKinds: ['microsoft'],
  create: (name, config, ctx) => new AzureMonitorLogsDestination(name, config, ctx),
});
