import { z } from 'zod';
import {
  azureError,
  blobObjectStore,
  containerClient,
  type EntraStorageSettings,
  entraRole,
  type StorageAccess,
  storageAccountFields,
} from '../../accounts/azure-objects.ts';
import { defineSource } from '../../core/source.ts';
import { readObjects } from '../../engine/object-notification.ts';

/**
 * Azure virtual network (and NSG) flow logs, which Network Watcher writes to a storage account. Vendor facts:
 *
 * - learn.microsoft.com/azure/network-watcher/vnet-flow-logs-overview ("Log format", "Storage account"):
 *   container `insights-logs-flowlogflowevent`, one blob per hour and network interface
 *   `…/y=YYYY/m=MM/d=DD/h=HH/m=00/macAddress=…/PT1H.json`, written every minute; the document is
 *   `{"records":[…]}`, each record `{time, flowLogVersion, flowLogGUID, macAddress, category, flowLogResourceID,
 *   targetResourceID, operationName, flowRecords: {flows: [{aclID, flowGroups: [{rule, flowTuples: ["…"]}]}]}}`;
 *   a flow tuple is `time stamp (ms),source IP,destination IP,source port,destination port,protocol,flow
 *   direction,flow state,flow encryption,packets sent,bytes sent,packets received,bytes received`.
 * - NSG flow logs (learn.microsoft.com/azure/network-watcher/nsg-flow-logs-overview): container
 *   `insights-logs-networksecuritygroupflowevent`, records `{time, systemId, macAddress, category,
 *   resourceId, operationName, properties: {Version, flows: [{rule, flows: [{mac, flowTuples}]}]}}`.
 * - learn.microsoft.com/azure/network-watcher/nsg-flow-logs-read ("Read the block list"): the PT1H.json
 *   block blob grows by blocks: the first block is `{"records":[`, the last `]}`, and each block between
 *   holds one record (after the first, preceded by a comma); a reader keeps how far it read and reads the
 *   blocks committed since (Get Block List).
 * - Reading needs blob Read and List (SAS `sp=rl`, or Storage Blob Data Reader).
 *
 * Decisions: every run lists the container (or `prefix`) and reads each blob's record blocks committed since
 * its saved offset (engine/object-notification.ts, append mode, `json-blocks`); with `expandTuples` one
 * event per flow tuple, with the record's and flow group's context and the tuple's fields named.
 *
 * Unconfirmed (so early access): that every record block holds exactly one record for VNet flow logs as the
 * NSG page describes, and the number of tuple fields of every flowLogVersion (fields beyond the 13 named are
 * kept unnamed in `flowTuple`).
 */

export interface FlowLogSettings extends EntraStorageSettings {
  container: string;
  prefix?: string;
  expandTuples: boolean;
}

const settings = z
  .object({
    ...storageAccountFields,
    container: z
      .string()
      .trim()
      .regex(
        /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/,
        'expected a container name: 3–63 lowercase letters, digits and hyphens',
      )
      .default('insights-logs-flowlogflowevent')
      .describe(
        'insights-logs-flowlogflowevent (VNet flow logs) or insights-logs-networksecuritygroupflowevent (NSG flow logs)',
      )
      .meta({ title: 'Container' }),
    prefix: z
      .string()
      .max(1024)
      .optional()
      .describe('Only blobs under this prefix, e.g. flowLogResourceID=/SUBSCRIPTIONS/<ID>/')
      .meta({ title: 'Blob prefix' }),
    expandTuples: z
      .boolean()
      .default(false)
      .describe('One event per flow tuple (with its fields named) instead of one per record')
      .meta({ title: 'One event per flow tuple' }),
  })
  .strict();

export const TUPLE_FIELDS = [
  'timestamp',
  'sourceIp',
  'destinationIp',
  'sourcePort',
  'destinationPort',
  'protocol',
  'direction',
  'flowState',
  'encryption',
  'packetsSent',
  'bytesSent',
  'packetsReceived',
  'bytesReceived',
] as const;

/** One event per flow tuple of a VNet (or NSG) flow-log record. */
export function flowTuples(record: any): unknown[] {
  const out: unknown[] = [];
  const context = {
    recordTime: record?.time,
    macAddress: record?.macAddress,
    flowLogResourceID: record?.flowLogResourceID ?? record?.resourceId,
    targetResourceID: record?.targetResourceID,
    category: record?.category,
  };
  const add = (tuple: unknown, group: Record<string, unknown>) => {
    if (typeof tuple !== 'string') return;
    const parts = tuple.split(',');
    const named: Record<string, unknown> = {};
    TUPLE_FIELDS.forEach((f, i) => {
      if (parts[i] !== undefined) named[f] = parts[i];
    });
    const ms = Number(parts[0]);
    // VNet tuples carry epoch milliseconds, NSG tuples epoch seconds.
    const time = Number.isFinite(ms)
      ? new Date(ms < 1e11 ? ms * 1000 : ms).toISOString()
      : context.recordTime;
    out.push({ ...context, ...group, time, flowTuple: tuple, ...named });
  };
  for (const flow of record?.flowRecords?.flows ?? [])
    for (const g of flow?.flowGroups ?? [])
      for (const t of g?.flowTuples ?? []) add(t, { aclID: flow?.aclID, rule: g?.rule });
  for (const rule of record?.properties?.flows ?? [])
    for (const f of rule?.flows ?? [])
      for (const t of f?.flowTuples ?? []) add(t, { rule: rule?.rule, mac: f?.mac });
  return out;
}

export default defineSource<FlowLogSettings, StorageAccess>({
  id: 'azure-vnet-flow-logs',
  title: 'Azure VNet Flow Logs',
  account: 'azure-storage',
  accounts: ['azure-storage', 'microsoft'],
  stability: 'early-access',
  family: 'object-storage',
  description:
    'Virtual network (and NSG) flow logs that Network Watcher writes to a storage account, read block by block as the hourly blobs grow.',
  setupGuide: [
    '1. Azure portal → **Network Watcher** → **Flow logs** → **Create**: flow log type **Virtual network** (or NSG), the virtual networks,',
    '   and a **storage account** in the same region; set a retention of a few days at least.',
    '2. On that storage account create a SAS for the blob service with **Read** and **List** (`sp=rl`, resource types Container and Object),',
    '   or use the account key; copy it. Or use an **Entra ID app** (your `microsoft` account): the storage account → **Access control (IAM)**',
    '   → **Add** → **Add role assignment** → **Storage Blob Data Reader** → Members: the app → **Review + assign** (up to 10 minutes to apply).',
    '3. Create an **Azure Storage** account in Tributary, then this collector (container insights-logs-flowlogflowevent for VNet flow',
    '   logs, insights-logs-networksecuritygroupflowevent for NSG flow logs); with the `microsoft` account, give the collector the',
    '   **storage account** name (`storageAccount`).',
    'Early access: the block layout is documented for NSG flow logs and assumed the same for VNet flow logs.',
  ].join('\n'),
  settings,
  streams: {
    flows: {
      title: 'Flow log records',
      description:
        'Flow-log records (or, with expandTuples, flow tuples) as the hourly PT1H.json blobs grow.',
      read: (ctx) =>
        readObjects<FlowLogSettings, StorageAccess>({
          mode: 'append',
          appendUnit: 'json-blocks',
          open: (c) => ({
            objects: blobObjectStore(containerClient(c.http, c.account, c.settings.container, c.settings)),
          }),
          prefix: (s) => s.prefix ?? '',
          format: 'ndjson',
          explode: ctx.settings.expandTuples ? (r) => flowTuples(r) : undefined,
          eventTime: (r: any) => r?.time,
        })(ctx),
    },
  },
  async test({ settings: s, account, http, signal }) {
    const container = containerClient(http, account, s.container, s);
    const entra = entraRole(await container(), 'blobReader');
    try {
      await blobObjectStore(container).list({
        prefix: s.prefix ?? '',
        signal,
      });
    } catch (err) {
      throw azureError(
        err,
        `list the ${s.container} container`,
        'blob Read and List (sp=rl), or Storage Blob Data Reader',
        entra,
      );
    }
  },
});
