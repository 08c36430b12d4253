import { z } from 'zod';
import { ORIGIN, SECRET } from '../../core/secret-spec.ts';
import { deliverySettings, destinationUrl } from '../http-delivery.ts';
import { defineDestinationKind } from '../kind.ts';
import { SplunkHecDestination } from './splunk-hec-destination.ts';

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Splunk index names: lowercase letters, digits, '_' and '-', not starting with '_' or '-'. */
const INDEX = /^[a-z0-9][a-z0-9_-]*$/;

export const splunkHecConfigSchema = z
  .object({
    kind: z.literal('splunk-hec'),
    url: destinationUrl()
      .meta({ ...ORIGIN, title: 'HEC URL' })
      .describe(
        'Base URL of the HTTP Event Collector, e.g. https://splunk.example.com:8088 (Splunk Cloud: https://http-inputs-STACK.splunkcloud.com); /services/collector/… is added',
      ),
    token: z
      .string()
      .trim()
      .min(1)
      .meta({ ...SECRET, title: 'HEC token' })
      .describe(
        'The HEC token (Settings → Data inputs → HTTP Event Collector); sent as Authorization: Splunk TOKEN',
      ),
    endpoint: z
      .enum(['event', 'raw'])
      .default('event')
      .meta({ title: 'Endpoint' })
      .describe(
        'event: /services/collector/event, one JSON event per envelope with time and metadata; raw: /services/collector/raw, one envelope per line',
      ),
    index: z
      .string()
      .regex(INDEX, 'expected a Splunk index name such as main or security')
      .optional()
      .meta({ title: 'Index' })
      .describe(
        "Index to write to; empty: the token's default index. It must be among the token's allowed indexes",
      ),
    sourcetype: z
      .string()
      .min(1)
      .default('_json')
      .meta({ title: 'Source type' })
      .describe('Source type of every event (default _json)'),
    source: z
      .string()
      .min(1)
      .optional()
      .meta({ title: 'Source' })
      .describe("Source of every event; empty: the envelope's source and stream, e.g. okta:system-log"),
    host: z
      .string()
      .min(1)
      .optional()
      .meta({ title: 'Host' })
      .describe("Host of every event; empty: the envelope's collector name"),
    gzip: z
      .boolean()
      .default(true)
      .meta({ title: 'Compress (gzip)' })
      .describe('Compress request bodies (Content-Encoding: gzip)'),
    ack: z
      .boolean()
      .default(false)
      .meta({ title: 'Indexer acknowledgement' })
      .describe(
        'Wait until Splunk confirms the events are indexed (the token must have indexer acknowledgement enabled; Splunk Enterprise)',
      ),
    channel: z
      .string()
      .regex(GUID, 'expected a GUID such as 0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba')
      .optional()
      .meta({ title: 'Channel' })
      .describe(
        'Request channel (X-Splunk-Request-Channel); empty: a GUID derived from the destination name, stable across restarts',
      ),
    ackTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .default(60_000)
      .meta({ title: 'Acknowledgement wait (ms)' })
      .describe(
        'How long to wait for indexer acknowledgement before sending the batch again (default 60000)',
      ),
    ackPollMs: z
      .number()
      .int()
      .min(10)
      .default(1000)
      .meta({ title: 'Acknowledgement poll (ms)' })
      .describe('Interval between two acknowledgement queries (default 1000)'),
    ...deliverySettings({ maxBatchBytes: 1024 * 1024, maxBatchEvents: 5_000 }),
  })
  .strict()
  .describe('Splunk HTTP Event Collector');

export type SplunkHecDestinationConfig = z.infer<typeof splunkHecConfigSchema>;

export const splunkHecKind = defineDestinationKind({
  kind: 'splunk-hec',
  title: 'Splunk HTTP Event Collector',
  description:
    'Sends events to Splunk HEC (/services/collector/event or /raw). A 200 acknowledges; with indexer acknowledgement, only the indexer confirming every request does.',
  schema: splunkHecConfigSchema,
  create: (name, config) => new SplunkHecDestination(name, config),
});
