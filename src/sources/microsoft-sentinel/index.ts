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
 * Microsoft Sentinel through a Log Analytics workspace data export rule to an event hub: the rows of the
 * exported tables (SecurityIncident, SecurityAlert, SigninLogs, …), read from the hub like `azure-event-hub`
 * (accounts/azure-event-hubs-reader.ts). Vendor facts (learn.microsoft.com/azure/azure-monitor/logs/
 * logs-data-export):
 *
 * - "Event Hubs": rows are sent "as it reaches Azure Monitor"; a rule names an event hub, or else "a default
 *   Event Hub is created for tables that you export with the name am- followed by the name of the table"
 *   (SecurityEvent → am-SecurityEvent); Basic and Standard namespaces hold at most 10 hubs.
 * - "Data completeness": destinations unavailable are retried for up to 12 hours, which "might result in a
 *   fraction of the exported records being duplicated" — duplicates by content are possible.
 * - "Considerations": at most 10 active rules per workspace; destinations in the workspace's region;
 *   "Permissions required": Log Analytics Contributor on the workspace and Azure Event Hubs Data Owner on
 *   the hub to create a rule.
 * - Every Log Analytics row has `Type` (its table) and `TimeGenerated` (learn.microsoft.com/azure/azure-monitor/
 *   logs/log-standard-columns): the stream and the time of an event.
 * - Event body: Azure Monitor's `{"records":[…]}` form (stream-monitoring-data-event-hubs), unwrapped.
 * Unconfirmed (so `early-access`): the body format of data export to Event Hubs is not spelled out on the
 * data export page; a body that is not `{"records":[…]}` is kept as one event.
 */

export type SentinelSettings = HubTablesSettings;

const typeOf = (r: unknown): string | undefined => {
  const t = (r as { Type?: unknown } | null)?.Type;
  return typeof t === 'string' && t ? t : undefined;
};

const settings = z
  .object({
    tables: z
      .array(
        z
          .string()
          .trim()
          .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected a Log Analytics table name such as SecurityIncident'),
      )
      .default([])
      .meta({ title: 'Tables' })
      .describe(
        'Exported tables to keep (SecurityIncident, SecurityAlert, …); empty: every table the rule exports to this hub',
      ),
    startPosition: startPositionField,
  })
  .strict();

export default defineSource<SentinelSettings, AzureEventHubsAccount>({
  id: 'microsoft-sentinel',
  title: 'Microsoft Sentinel (data export via Event Hubs)',
  account: 'azure-event-hubs',
  stability: 'early-access',
  family: 'queue',
  description:
    'Rows of the Log Analytics tables a Sentinel workspace exports to an event hub (SecurityIncident, SecurityAlert, any exported table), one stream per table; positions kept in Tributary.',
  retention: 'The hub’s retention: 1 hour to 7 days on Standard (default 1 day), up to 90 days on Premium',
  setupGuide: `**Prerequisites in Azure** (Azure Monitor documentation, "Log Analytics data export rules in Azure Monitor"):

1. An Event Hubs namespace (Standard or higher, **in the workspace's region**) and preferably one hub for the export (Event Hubs → + Event Hub). Without a hub name the rule creates one hub per table, \`am-<table>\` (at most 10 hubs on Standard).
2. Register the **Microsoft.Insights** resource provider on the subscription. If the namespace restricts networks, allow trusted Microsoft services.
3. Create the rule (needs **Log Analytics Contributor** on the workspace and **Azure Event Hubs Data Owner** on the hub): Log Analytics workspace (the Sentinel workspace) → Settings → **Data export** → + New export rule → choose the tables (SecurityIncident, SecurityAlert, …) → destination **Event hub**, the namespace and the **Event hub name** → Create.
4. For Tributary: a consumer group on the hub (e.g. \`tributary\`) and a shared access policy with **Listen** only; copy its **Connection string–primary key**.
   ${ENTRA_GUIDE_STEP}

Copy into Tributary: an \`azure-event-hubs\` account (connection string, hub name, consumer group), then this collector; **Tables** keeps only those named (empty: all), **Start at** \`earliest\` or \`latest\`. If the rule has no hub name (one \`am-<table>\` hub per table), create one collector per hub.

**What each event is**: one exported row with its columns, in the stream named after its \`Type\` (the table); time \`TimeGenerated\`. Id: \`{namespace}/{hub}/{partition}/{sequence number}/{index}\` (the namespace's host name). Export retries can duplicate rows (the data export page, "Data completeness"); deduplicate on the row's own key (\`IncidentNumber\`, \`SystemAlertId\`, …) where it matters.

**What the collector changes**: nothing in the workspace or the hub.

**Unconfirmed** (early access): tested against an AMQP simulator of Event Hubs with the official client; the body of exported events is taken to be Azure Monitor's \`{"records":[…]}\`.`,
  settings: settings as unknown as z.ZodType<SentinelSettings>,
  streams: {
    'exported-tables': consumerStream<SentinelSettings, AzureEventHubsAccount>({
      title: 'Exported tables',
      description:
        'Every exported row; each event’s stream is its table (Type: SecurityIncident, SecurityAlert, …).',
      consume: tablesOnHub({
        table: typeOf,
        time: (r) => (r as { TimeGenerated?: unknown } | null)?.TimeGenerated,
      }),
    }),
  },
  async test({ http, account }) {
    await checkEventHub(account, http);
  },
});
