import { z } from 'zod';
import type { AzureEventHubsAccount } from '../../accounts/azure-event-hubs.ts';
import { ENTRA_GUIDE_STEP } from '../../accounts/azure-event-hubs.ts';
import {
  checkEventHub,
  type HubTablesSettings,
  startPositionField,
  tablesOnHub,
} from '../../accounts/azure-event-hubs-reader.ts';
import { defineSource } from '../../core/source.ts';
import { consumerStream } from '../../engine/stream-consumer.ts';

/**
 * Microsoft Defender XDR through its Streaming API to an event hub: Advanced Hunting events, read from the
 * hub like `azure-event-hub` (accounts/azure-event-hubs-reader.ts). Vendor facts (learn.microsoft.com/
 * defender-xdr/streaming-api-event-hub):
 *
 * - "The schema of the events in Azure Event Hub": each event is `{"records":[…]}`, each record
 *   `{time, tenantId, category, properties}` — `time` "the time Microsoft Defender XDR received the event",
 *   `category` "the Advanced Hunting table name with 'AdvancedHunting-' prefix", `properties` the Advanced
 *   Hunting row as JSON. The stream of a record is its table (category without the prefix): DeviceProcessEvents,
 *   EmailEvents, AlertInfo, …; its time the row's `Timestamp` column (advanced-hunting-schema-tables), else `time`.
 * - "Enable raw data streaming": Defender portal → Settings → Microsoft Defender XDR → Streaming API → Add →
 *   Forward events to Azure Event Hub, to one hub (its name and the namespace's resource ID) or one hub per
 *   table; the person who saves it needs Security Administrator in Defender and Contributor on the namespace.
 * - The tables that can be streamed: learn.microsoft.com/defender-xdr/supported-event-types ("Hunting tables
 *   support status in Event Streaming API": AlertEvidence, AlertInfo, DeviceEvents, DeviceFileEvents,
 *   DeviceProcessEvents, EmailEvents, IdentityLogonEvents, CloudAppEvents, …).
 * - Capacity: "Estimating initial Event Hub capacity" (same page) and event-hubs-quotas.
 * Unconfirmed (so `early-access`): records carry no documented unique id (ids are the hub position and the
 * record's index); `operationName` appears in real streams but is not in the documented schema.
 */

export type DefenderXdrSettings = HubTablesSettings;

const PREFIX = 'AdvancedHunting-';

/** The Advanced Hunting table of a record (its category without the prefix). */
export const tableOf = (r: unknown): string | undefined => {
  const c = (r as { category?: unknown } | null)?.category;
  return typeof c === 'string' && c.startsWith(PREFIX) ? c.slice(PREFIX.length) : undefined;
};

const settings = z
  .object({
    tables: z
      .array(
        z
          .string()
          .trim()
          .regex(/^[A-Za-z]+$/, 'expected an Advanced Hunting table name such as DeviceProcessEvents'),
      )
      .default([])
      .meta({ title: 'Tables' })
      .describe(
        'Advanced Hunting tables to keep (DeviceProcessEvents, EmailEvents, AlertInfo, …); empty: every table streamed',
      ),
    startPosition: startPositionField,
  })
  .strict();

export default defineSource<DefenderXdrSettings, AzureEventHubsAccount>({
  id: 'microsoft-defender-xdr',
  title: 'Microsoft Defender XDR (Streaming API via Event Hubs)',
  account: 'azure-event-hubs',
  stability: 'early-access',
  family: 'queue',
  description:
    'Advanced Hunting events (device, email, identity, cloud app, alerts) streamed by Defender XDR to an event hub, one stream per table; positions kept in Tributary.',
  retention: 'The hub’s retention: 1 hour to 7 days on Standard (default 1 day), up to 90 days on Premium',
  setupGuide: `**Prerequisites** (Microsoft Defender XDR documentation, "Configure Microsoft Defender XDR to stream Advanced Hunting events to your Azure Event Hub"; "Supported Microsoft Defender XDR streaming event types"):

1. In Azure: an Event Hubs namespace (Standard or higher; size it with the page's "Estimating initial Event Hub capacity" query) and a hub in it (Event Hubs → + Event Hub). Register the **Microsoft.Insights** resource provider on the subscription (Subscriptions → the subscription → Resource providers).
2. The person who configures streaming needs **Contributor** on the namespace (namespace → Access control (IAM)) and at least **Security Administrator** in Defender.
3. In the Defender portal: **Settings → Microsoft Defender XDR → Streaming API → Add**. Name it, choose **Forward events to Azure Event Hub**, enter the **Event Hub name** (a single hub for every table) and the namespace's **Resource ID** (namespace → Properties), tick the tables to stream, **Save**.
4. For Tributary: a consumer group on the hub (the hub → Consumer groups → + Consumer group, e.g. \`tributary\`) and a shared access policy with **Listen** only (the hub → Shared access policies → + Add); copy its **Connection string–primary key**.
   ${ENTRA_GUIDE_STEP}

Copy into Tributary: an \`azure-event-hubs\` account (connection string, hub name, consumer group), then this collector; **Tables** keeps only the tables named (empty: all), **Start at** \`earliest\` or \`latest\`.

**What each event is**: one Advanced Hunting row as Defender streams it, \`{"time", "tenantId", "category": "AdvancedHunting-<table>", "properties": {<the row>}}\`, in the stream named after its table (DeviceProcessEvents, EmailEvents, AlertInfo, …). Time: the row's \`Timestamp\`, else \`time\`. Id: \`{namespace}/{hub}/{partition}/{sequence number}/{index}\` (the namespace's host name).

If the streaming setting sends each table to a hub of its own, create one collector per hub.

**What the collector changes**: nothing in Defender or Azure.

**Unconfirmed** (early access): tested against an AMQP simulator of Event Hubs with the official client, with records shaped like the documented schema, not against a Defender tenant; rows carry no documented unique id.`,
  settings: settings as unknown as z.ZodType<DefenderXdrSettings>,
  streams: {
    'advanced-hunting': consumerStream<DefenderXdrSettings, AzureEventHubsAccount>({
      title: 'Advanced Hunting tables',
      description:
        'Every streamed Advanced Hunting row; each event’s stream is its table (DeviceProcessEvents, …).',
      consume: tablesOnHub({
        table: tableOf,
        time: (r) =>
          (r as { properties?: { Timestamp?: unknown } } | null)?.properties?.Timestamp ??
          (r as { time?: unknown } | null)?.time,
      }),
    }),
  },
  async test({ http, account }) {
    await checkEventHub(account, http);
  },
});
