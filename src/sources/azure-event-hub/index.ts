import { z } from 'zod';
import type { AzureEventHubsAccount } from '../../accounts/azure-event-hubs.ts';
import { ENTRA_GUIDE_STEP } from '../../accounts/azure-event-hubs.ts';
import {
  checkEventHub,
  eventHubReader,
  hubRecords,
  startPositionField,
} from '../../accounts/azure-event-hubs-reader.ts';
import { defineSource } from '../../core/source.ts';
import { consumerStream } from '../../engine/stream-consumer.ts';

/**
 * Azure Event Hubs: every event of one hub (diagnostic settings, activity logs, applications), read by the
 * stream consumer (engine/stream-consumer.ts) through accounts/azure-event-hubs-reader.ts, positions kept in
 * Tributary's store. Vendor facts:
 *
 * - Azure Monitor streams resource logs and the activity log to a hub as JSON events of the form
 *   `{"records":[…]}`, several records per event (learn.microsoft.com/azure/azure-monitor/essentials/
 *   stream-monitoring-data-event-hubs, "Partner tools with Azure Monitor integration"; resource-logs-schema,
 *   "Top-level common schema": each record has `time`, `resourceId`, `operationName`, `category`, …). With
 *   `unwrapRecords` each entry is one event; any other body is one event as it is.
 * - Ids: an event is identified within a hub by its partition and sequence number (event-hubs-features,
 *   "Event consumers"); hubs are named within a namespace, so the id starts with the fully qualified
 *   namespace: `{namespace}/{hub}/{partition}/{sequence number}`, with `/{index}` for an entry of `records`
 *   — stable across re-reads. Time: the record's `time` (resource logs), else the event's enqueued time.
 * - Retention (event-hubs-features, "Event retention"): 1 hour to 7 days on Standard (default 1 day),
 *   up to 90 days on Premium and Dedicated; events older are gone, reported as a gap.
 * - Limits (event-hubs-quotas; event-hubs-features, "Consumer groups"): 5 concurrent readers per partition
 *   per consumer group; egress per throughput unit 2 MB/s or 4,096 events/s.
 */

export interface EventHubSettings {
  startPosition: 'earliest' | 'latest';
  unwrapRecords: boolean;
}

export const eventHubSettings = z
  .object({
    startPosition: startPositionField,
    unwrapRecords: z
      .boolean()
      .default(true)
      .meta({ title: 'Unwrap records' })
      .describe('An event {"records":[…]} (Azure Monitor diagnostic settings) becomes one event per record'),
  })
  .strict();

export default defineSource<EventHubSettings, AzureEventHubsAccount>({
  id: 'azure-event-hub',
  title: 'Azure Event Hubs',
  account: 'azure-event-hubs',
  stability: 'early-access',
  family: 'queue',
  description:
    'Every event of an Azure event hub (diagnostic settings, activity logs, applications), read continuously per partition; positions kept in Tributary and moved only after delivery.',
  retention: 'The hub’s retention: 1 hour to 7 days on Standard (default 1 day), up to 90 days on Premium',
  setupGuide: `**Prerequisites in Azure** (Event Hubs documentation, "Authorize access with shared access signatures"; "Features and terminology", "Consumer groups"):

1. The Event Hubs namespace and the hub (Azure portal → Event Hubs → the namespace → Event Hubs). Note the **hub's name**.
2. A **consumer group** for Tributary: the hub → Consumer groups → + Consumer group (e.g. \`tributary\`). \`$Default\` works, but a partition allows at most 5 readers per consumer group, shared with every other reader of that group.
3. A shared access policy with **Listen** only: the hub (or the namespace) → Settings → Shared access policies → + Add → Listen. Open it and copy **Connection string–primary key**.
   ${ENTRA_GUIDE_STEP}

Copy into Tributary: an \`azure-event-hubs\` account (the connection string, the hub name unless the string ends with \`EntityPath=…\`, the consumer group), then this collector. Settings: **Start at** (\`earliest\`: everything still retained; \`latest\`: new events only) and **Unwrap records**.

**What each event is**: the event body as JSON (text when it is not JSON); with Unwrap records, each entry of a \`{"records":[…]}\` body (Azure Monitor diagnostic settings and activity logs) is one event. Id \`{namespace}/{hub}/{partition}/{sequence number}[/{index}]\` (the namespace's host name, e.g. \`contoso.servicebus.windows.net\`), time the record's \`time\`, else the enqueued time.

**Positions**: Tributary keeps each partition's sequence number in its own store (no Azure Storage checkpoint container) and moves it only after every destination acknowledged the events before it; after a restart reading resumes right after it. In cluster mode each partition has one owner at a time, and partitions move between workers as they come and go. Events older than the hub's retention (1 day by default on Standard) are lost while the collector is stopped; that is reported as a gap.

**What the collector changes in Azure**: nothing. Receiving from a consumer group does not remove events.

**Unconfirmed** (early access): tested against an AMQP simulator of Event Hubs with the official client, not against Azure.`,
  settings: eventHubSettings as unknown as z.ZodType<EventHubSettings>,
  streams: {
    events: consumerStream<EventHubSettings, AzureEventHubsAccount>({
      title: 'Events',
      description: 'Every event of the hub (or record of a {"records":[…]} event), per partition in order.',
      consume: (ctx) =>
        eventHubReader({
          account: ctx.account,
          http: ctx.http,
          start: ctx.settings.startPosition,
          toRecords: (e, hub) => hubRecords(e, hub, { unwrap: ctx.settings.unwrapRecords }),
        }),
    }),
  },
  async test({ http, account }) {
    await checkEventHub(account, http);
  },
});
