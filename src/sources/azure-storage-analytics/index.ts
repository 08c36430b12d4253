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
import { defineSource, type ReadContext, type StreamDef } from '../../core/source.ts';
import { readObjects } from '../../engine/object-notification.ts';
import { storageLogDecoder } from './log-format.ts';

/**
 * Azure Storage Analytics logging (classic): request logs of the blob, queue and table services, written
 * by Azure into the `$logs` container of the storage account. Vendor facts:
 *
 * - learn.microsoft.com/azure/storage/common/storage-analytics-logging ("How logs are stored", "Log naming
 *   conventions"): blobs `<service-name>/YYYY/MM/DD/hhmm/<counter>.log` in `$logs`, `hhmm` the hour (`mm`
 *   always 00), `<counter>` from 000000; listed by prefix, e.g. `blob/2026/12/07/05`. Event Grid sends no
 *   events for `$logs` (learn.microsoft.com/azure/event-grid/event-schema-blob-storage, note), so it is
 *   listed.
 * - Log entry format 1.0 and 2.0: see log-format.ts.
 * - Logs are written in batches: the analytics log for an hour can be written up to about an hour after it
 *   (unconfirmed: see below), so an hour folder is read once it ended more than `latenessMinutes` ago.
 * - Reading `$logs` needs blob Read and List (SAS `sp=rl`, or Storage Blob Data Reader).
 *
 * Decisions: one stream per service (`blob`, `queue`, `table`), each a listing of `<service>/` in key
 * order (engine/object-notification.ts, listing mode) resuming after the last log blob delivered, never
 * passing an hour folder that may still receive logs (`before`). The envelope id is the entry's
 * `request-id-header` with its `operation-count` (a request logs one entry per operation); time
 * `request-start-time`.
 *
 * Unconfirmed (so early access): how late a log blob can appear for its hour (one hour assumed, settable),
 * and whether a blob is ever appended to after it is first listed.
 */

export interface StorageAnalyticsSettings extends EntraStorageSettings {
  container: string;
  services: Array<'blob' | 'queue' | 'table'>;
  latenessMinutes: number;
}

const settings = z
  .object({
    ...storageAccountFields,
    container: z
      .string()
      .trim()
      .regex(
        /^(\$logs|[a-z0-9]+(-[a-z0-9]+)*)$/,
        'expected $logs (or a container name, for a copy of the logs)',
      )
      .default('$logs')
      .describe('Where the logs are: $logs (a copy elsewhere keeps the same blob names)')
      .meta({ title: 'Container' }),
    services: z
      .array(z.enum(['blob', 'queue', 'table']))
      .min(1)
      .default(['blob', 'queue', 'table'])
      .describe(
        'The services whose logs are read (each needs logging turned on under Diagnostic settings (classic))',
      )
      .meta({ title: 'Services' }),
    latenessMinutes: z
      .number()
      .int()
      .min(0)
      .max(24 * 60)
      .default(60)
      .describe('How long after an hour ends its logs may still be written; that hour is read after it')
      .meta({ title: 'Log lateness (minutes)' }),
  })
  .strict();

const HOUR = 3_600_000;

/** The hour folder of a time: `2026/12/07/0500`. */
export function hourFolder(ms: number): string {
  const d = new Date(Math.floor(ms / HOUR) * HOUR).toISOString();
  return `${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${d.slice(11, 13)}00`;
}

type Ctx = ReadContext<StorageAnalyticsSettings, StorageAccess>;

function service(name: 'blob' | 'queue' | 'table'): StreamDef<StorageAnalyticsSettings, StorageAccess> {
  return {
    title: `${name[0].toUpperCase()}${name.slice(1)} service logs`,
    description: `Storage Analytics log entries of the ${name} service (${name}/YYYY/MM/DD/hh00/*.log).`,
    read: readObjects<StorageAnalyticsSettings, StorageAccess>({
      mode: 'listing',
      open: (ctx) => ({
        objects: blobObjectStore(
          containerClient(ctx.http, ctx.account, ctx.settings.container, ctx.settings),
        ),
      }),
      prefix: () => `${name}/`,
      // The first run starts at the hour folder the lookback reaches.
      firstAfter: (ctx: Ctx) => `${name}/${hourFolder(ctx.now() - (ctx.window.lookbackMs ?? 24 * HOUR))}`,
      // The first hour folder that may still receive logs: it and later ones wait.
      before: (ctx: Ctx) =>
        `${name}/${hourFolder(Math.floor((ctx.now() - ctx.settings.latenessMinutes * 60_000 - HOUR) / HOUR) * HOUR + HOUR)}`,
      format: storageLogDecoder,
      compression: 'none',
      eventId: (r: any) =>
        r?.['request-id-header'] ? `${r['request-id-header']}:${r['operation-count'] ?? ''}` : undefined,
      eventTime: (r: any) => r?.['request-start-time'],
    }) as StreamDef<StorageAnalyticsSettings, StorageAccess>['read'],
  };
}

export default defineSource<StorageAnalyticsSettings, StorageAccess>({
  id: 'azure-storage-analytics',
  title: 'Azure Storage Analytics',
  account: 'azure-storage',
  accounts: ['azure-storage', 'microsoft'],
  stability: 'early-access',
  family: 'object-storage',
  description:
    'Classic Storage Analytics request logs (blob, queue and table services) from the $logs container, decoded into named fields.',
  setupGuide: [
    '1. Azure portal → the storage account → **Monitoring (classic)** → **Diagnostic settings (classic)**: turn on **logging** (read, write, delete)',
    '   for the Blob, Queue and Table services you want, version 2.0 where offered, with a retention of a few days at least.',
    '2. Create a SAS for the blob service with **Read** and **List** (`sp=rl`) on container and object resources (Shared access signature →',
    '   Allowed services: Blob; Allowed resource types: Container, Object), or use the account key. Copy the SAS token.',
    '   Or use an **Entra ID app** (your `microsoft` account): the storage account → **Access control (IAM)** → **Add** → **Add role assignment** →',
    '   **Storage Blob Data Reader** → Members: the app → **Review + assign** (up to 10 minutes to apply).',
    '3. Create an **Azure Storage** account in Tributary (storage account name + blob SAS token), then this collector; or, with the',
    '   `microsoft` account, give the collector the **storage account** name (`storageAccount`).',
    'Logs of an hour are read once that hour ended more than the lateness (default 60 minutes) ago: expect 1–2 hours of delay.',
    'Early access: how late Azure writes an hour’s logs is not documented precisely; whether `$logs` can be read with an Entra ID role (rather than a SAS or key) is not stated in the Storage Analytics pages.',
  ].join('\n'),
  settings,
  defaultStreams: (s) => s.services,
  streams: { blob: service('blob'), queue: service('queue'), table: service('table') },
  async test({ settings: s, account, http, signal }) {
    const container = containerClient(http, account, s.container, s);
    const store = blobObjectStore(container);
    const entra = entraRole(await container(), 'blobReader');
    try {
      for (const name of s.services) await store.list({ prefix: `${name}/`, signal });
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
