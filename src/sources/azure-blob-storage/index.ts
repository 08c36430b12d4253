import { z } from 'zod';
import {
  azureError,
  blobObjectStore,
  containerClient,
  type EntraStorageSettings,
  entraRole,
  eventGridMessageJson,
  QUEUE_DELETE_WRITE,
  QUEUE_RECEIVE_WRITE,
  queueClient,
  type StorageAccess,
  storageAccountFields,
  storageQueue,
} from '../../accounts/azure-objects.ts';
import { defineSource } from '../../core/source.ts';
import type { ObjectFormat } from '../../engine/object-decode.ts';
import {
  type ObjectReaderDef,
  type ObjectRef,
  type QueueMessage,
  readObjects,
} from '../../engine/object-notification.ts';

/**
 * Azure Blob Storage: log blobs in a container, announced by an Event Grid subscription that delivers
 * `Microsoft.Storage.BlobCreated` events to a Storage Queue (or, without a queue, found by listing a
 * prefix), read by the object-notification reader (engine/object-notification.ts) through the official
 * SDKs (accounts/azure-objects.ts). Vendor facts:
 *
 * - BlobCreated (learn.microsoft.com/azure/event-grid/event-schema-blob-storage, "Available event types"):
 *   "Triggered when a blob is created or replaced. Specifically, this event is triggered when clients use
 *   the PutBlob, PutBlockList, or CopyBlob operations … and when the Block Blob is completely committed".
 *   Appending to an append blob (AppendBlock) raises none: blobs that grow are followed by listing
 *   (`continuous`), not by notifications.
 * - Event shape (same page, "Example events"; learn.microsoft.com/azure/event-grid/event-schema, "Event
 *   schema"): Event Grid schema `{topic, subject, eventType, eventTime, id, data, dataVersion,
 *   metadataVersion}` or CloudEvents 1.0 `{source, subject, type, time, id, data}`; `subject`
 *   `/blobServices/default/containers/{container}/blobs/{name}`; `data.url`, `data.eTag`,
 *   `data.contentLength`, `data.blobType` (`BlockBlob`, `AppendBlob`), `data.api`.
 * - Storage Queue handler (learn.microsoft.com/azure/event-grid/handler-storage-queues): one event per
 *   queue message; the message text is the event's JSON, base64-encoded (read either way:
 *   accounts/azure-objects.ts `eventGridMessageJson`).
 * - Events are not sent for the `$logs` and `$blobchangefeed` containers (event-schema-blob-storage, note):
 *   Storage Analytics logs need their own source.
 * - Rate limits (learn.microsoft.com/azure/storage/common/scalability-targets-standard-account): a
 *   standard account serves up to 20,000 requests per second; a collector reads one blob at a time, far
 *   below it, so no budget is set; 503 ServerBusy is retried by the SDK.
 *
 * Unconfirmed (so `early-access`): whether the blob name in `subject` is URL-encoded for names with
 * spaces or non-ASCII characters (read as written; `data.url` is decoded when there is no subject);
 * whether every Event Grid delivery to a queue is base64-encoded (both forms are read).
 */

export interface AzureBlobSettings extends EntraStorageSettings {
  container: string;
  queueName?: string;
  prefix?: string;
  syncStrategy: 'once' | 'continuous';
  format: 'ndjson' | 'lines' | 'json-array' | 'records' | 'csv';
  compression: 'auto' | 'gzip' | 'none';
  idField?: string;
  timeField?: string;
  visibilityTimeoutSeconds: number;
}

const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
const QUEUE = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

const settings = z
  .object({
    ...storageAccountFields,
    container: z
      .string()
      .trim()
      .regex(CONTAINER, 'expected a container name: 3–63 lowercase letters, digits and single hyphens')
      .meta({ title: 'Container' })
      .describe('The container the log blobs are written to'),
    queueName: z
      .string()
      .trim()
      .regex(QUEUE, 'expected a queue name: 3–63 lowercase letters, digits and single hyphens')
      .optional()
      .meta({ title: 'Notification queue' })
      .describe(
        'The Storage Queue (in the same storage account) an Event Grid subscription sends BlobCreated events to. Leave empty to list the container instead',
      ),
    prefix: z
      .string()
      .max(1024)
      .optional()
      .meta({ title: 'Blob name prefix' })
      .describe('Only blobs whose names start with this (e.g. logs/app1/); listing and notifications alike'),
    syncStrategy: z
      .enum(['once', 'continuous'])
      .default('once')
      .meta({ title: 'Sync strategy' })
      .describe(
        'once: each blob is read once, when it is created (notifications or listing). continuous: blobs that grow (append blobs) are listed every run and read on from the last complete line (JSON lines or plain lines only; no queue)',
      ),
    format: z
      .enum(['ndjson', 'lines', 'json-array', 'records', 'csv'])
      .default('ndjson')
      .meta({ title: 'Blob format' })
      .describe(
        'ndjson: one JSON object per line; lines: one event per line (text); json-array: one JSON array; records: {"records": [...]}; csv: a header line, then rows',
      ),
    compression: z
      .enum(['auto', 'gzip', 'none'])
      .default('auto')
      .meta({ title: 'Compression' })
      .describe('auto: gzip when the blob starts with the gzip magic bytes'),
    idField: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ title: 'Event ID field' })
      .describe(
        'A top-level field holding each record’s unique id; default a hash of the blob and the record’s place',
      ),
    timeField: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ title: 'Event time field' })
      .describe('A top-level field holding each record’s time; default the time it was collected'),
    visibilityTimeoutSeconds: z
      .number()
      .int()
      .min(1, 'Azure allows 1 second at least')
      .max(604_800, 'Azure allows 7 days (604800 seconds) at most')
      .default(300)
      .meta({ title: 'Visibility timeout (seconds)' })
      .describe(
        'How long received notifications stay hidden while their blobs are read (Get Messages visibilitytimeout, 1 s – 7 days): longer than reading the blobs of one receive (up to 32 messages) takes; a message that reappears sooner is found done, not read twice',
      ),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.syncStrategy === 'continuous') {
      if (s.queueName)
        ctx.addIssue({
          code: 'custom',
          path: ['queueName'],
          message:
            'continuous follows growing blobs by listing: Event Grid sends no BlobCreated when a blob is appended to; leave the queue out',
        });
      if (s.format !== 'ndjson' && s.format !== 'lines')
        ctx.addIssue({
          code: 'custom',
          path: ['format'],
          message: 'continuous reads ndjson or lines (a blob read on from its last complete line)',
        });
      if (s.compression === 'gzip')
        ctx.addIssue({
          code: 'custom',
          path: ['compression'],
          message: 'continuous reads uncompressed blobs (a gzip stream cannot be read on from a byte)',
        });
    }
  });

const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';
const SUBJECT = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/;

/** A BlobCreated event's container and blob, or undefined for another event type. */
function blobOf(e: any): (ObjectRef & { container: string }) | undefined {
  if (!e || typeof e !== 'object') throw new Error('expected an Event Grid event (a JSON object)');
  const type = e.eventType ?? e.type;
  if (typeof type !== 'string')
    throw new Error('expected eventType (Event Grid schema) or type (CloudEvents)');
  if (type !== BLOB_CREATED) return undefined;
  const data = e.data && typeof e.data === 'object' ? e.data : {};
  let container: string | undefined;
  let key: string | undefined;
  const m = typeof e.subject === 'string' ? SUBJECT.exec(e.subject) : null;
  if (m) {
    container = m[1];
    key = m[2];
  } else if (typeof data.url === 'string') {
    const path = new URL(data.url).pathname.split('/').filter(Boolean);
    // https://ACCOUNT.blob.core.windows.net/CONTAINER/NAME (path-style endpoints put the account first)
    const at = /\.blob\./.test(new URL(data.url).hostname) ? 0 : 1;
    container = path[at];
    key = path
      .slice(at + 1)
      .map(decodeURIComponent)
      .join('/');
  }
  if (!container || !key)
    throw new Error('expected subject /blobServices/default/containers/{container}/blobs/{name} or data.url');
  return {
    container,
    key,
    etag: typeof data.eTag === 'string' ? data.eTag.replace(/"/g, '') : undefined,
    size: typeof data.contentLength === 'number' ? data.contentLength : undefined,
  };
}

/** The blobs a queue message names: BlobCreated events in the collector's container, under its prefix. */
export function blobsOf(m: QueueMessage, s: Pick<AzureBlobSettings, 'container' | 'prefix'>): ObjectRef[] {
  let body: unknown;
  try {
    body = eventGridMessageJson(m.body);
  } catch (err) {
    throw new Error((err as Error).message);
  }
  const events = Array.isArray(body) ? body : [body];
  const refs: ObjectRef[] = [];
  for (const e of events) {
    const b = blobOf(e);
    if (!b) continue;
    if (b.container !== s.container)
      throw new Error(`it names container ${b.container}, not the collector's container ${s.container}`);
    if (s.prefix && !b.key.startsWith(s.prefix)) continue;
    // The container is part of the blob's id: two containers' blobs of one name are two blobs.
    refs.push({ bucket: s.container, key: b.key, etag: b.etag, size: b.size });
  }
  return refs;
}

const field = (name: string | undefined) => (r: unknown) =>
  name && r && typeof r === 'object' ? (r as Record<string, unknown>)[name] : undefined;

const base = (): Omit<ObjectReaderDef<AzureBlobSettings, StorageAccess>, 'mode'> => ({
  open: (ctx) => ({
    objects: blobObjectStore(containerClient(ctx.http, ctx.account, ctx.settings.container, ctx.settings)),
    queue: ctx.settings.queueName
      ? storageQueue(queueClient(ctx.http, ctx.account, ctx.settings.queueName, ctx.settings), {
          visibilityTimeoutSeconds: ctx.settings.visibilityTimeoutSeconds,
        })
      : undefined,
  }),
  format: 'ndjson',
  maxMessages: 32,
});

/** The reader for a collector's settings (the format, id and time fields are settings, not vendor facts). */
function reader(s: AzureBlobSettings) {
  const id = field(s.idField);
  const def: Omit<ObjectReaderDef<AzureBlobSettings, StorageAccess>, 'mode'> = {
    ...base(),
    format: s.format as ObjectFormat,
    compression: s.syncStrategy === 'continuous' ? 'none' : s.compression,
    eventId: s.idField
      ? (r) => {
          const v = id(r);
          return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
        }
      : undefined,
    eventTime: s.timeField ? field(s.timeField) : undefined,
    prefix: (x) => x.prefix ?? '',
  };
  if (s.syncStrategy === 'continuous') return readObjects({ ...def, mode: 'append' });
  if (s.queueName) return readObjects({ ...def, mode: 'notifications', objectsOf: blobsOf });
  return readObjects({ ...def, mode: 'listing' });
}

/** Runs `call`, turning an SDK refusal into a config error naming what was tried and the permission it needs. */
async function needs<T>(
  what: string,
  permission: string,
  entra: Parameters<typeof azureError>[3],
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw azureError(err, what, permission, entra);
  }
}

export default defineSource<AzureBlobSettings, StorageAccess>({
  id: 'azure-blob-storage',
  title: 'Azure Blob Storage',
  account: 'azure-storage',
  accounts: ['azure-storage', 'microsoft'],
  stability: 'early-access',
  family: 'object-storage',
  description:
    'Log blobs from a container: new blobs announced by Event Grid BlobCreated events on a Storage Queue, or found by listing a prefix; growing (append) blobs followed from their last complete line.',
  setupGuide: `**Prerequisites in Azure** (Event Grid docs, "Azure Blob Storage as an Event Grid source" and "Storage queue as an event handler"):

1. A **storage account** of kind StorageV2 (general purpose v2) or BlobStorage (general purpose v1 accounts send no events) holding the container the logs are written to. Note the storage account name and the container.
2. A **Storage Queue** for the notifications (Storage account → Queues → + Queue), e.g. \`tributary-blob-events\`.
3. An **Event Grid subscription** on the storage account (Storage account → Events → + Event Subscription): event type **Blob Created** only, endpoint type **Storage Queue**, the queue above. Under Filters, set a subject filter \`/blobServices/default/containers/CONTAINER/blobs/PREFIX\` to send only the collector's blobs. The event schema may be Event Grid or CloudEvents v1.0; both are read.
4. Credentials, one of:
   - **SAS tokens** (Storage account → Shared access signature, or per container/queue): blob service **Read** and **List** (\`sp=rl\`, resource types container and object), queue service **Process** (\`sp=p\`). One account SAS with services Blob and Queue (\`ss=bq\`), permissions Read, List, Process (\`sp=rlp\`) and resource types Container and Object (\`srt=co\`) serves both. Note the expiry (\`se=\`): renew the token before it.
   - An **account key** or **connection string** (Storage account → Access keys): full access to the account; prefer SAS tokens.
   - An **Entra ID app** (the app registration of your \`microsoft\` account, no secret of the storage account at all): on the storage account (or the container) → **Access control (IAM)** → **Add** → **Add role assignment** → **Storage Blob Data Reader** → Members: *User, group, or service principal* → select the app → **Review + assign**; the same on the storage account (or the queue) for **Storage Queue Data Message Processor**. Allow up to 10 minutes for an assignment to apply.

Copy into Tributary: an **azure-storage** account (storage account name and the SAS tokens, or the key, or the connection string), and in the collector the container, the queue name and, if any, the prefix. With the \`microsoft\` account instead, give the collector the **storage account** name too (\`storageAccount\`); Test Connection then names the role that is missing.

**Sync strategy.** \`once\` reads each blob once, when Event Grid announces it (or, without a queue, by listing the prefix in name order). \`continuous\` follows blobs that grow — append blobs written line by line: every run lists the prefix and reads each blob on from the end of its last complete line. Appending raises no BlobCreated event, so \`continuous\` takes no queue.

**Without a queue**, every run lists the prefix from its start (Blob Storage cannot list "after a name") and skips what was read: scope the prefix narrowly, or use the queue.

**What the collector changes in Azure**: it receives notifications (hiding them for the visibility timeout) and deletes each one after every record of its blob was delivered. Test Connection proves the Process permission by deleting a message id that does not exist.

**Unconfirmed** (early access): whether blob names with spaces or non-ASCII characters arrive URL-encoded in the event's subject (read as written); whether every Event Grid delivery to a queue is base64-encoded (plain JSON is read too).`,
  settings: settings as unknown as z.ZodType<AzureBlobSettings>,
  vendorWrites: [QUEUE_RECEIVE_WRITE, QUEUE_DELETE_WRITE],
  streams: {
    blobs: {
      title: 'Blob records',
      description: 'Every record of every blob read (once, or as blobs grow).',
      read: (ctx) => reader(ctx.settings)(ctx),
    },
  },
  async test({ http, account, settings: s }) {
    if (s.queueName && s.syncStrategy === 'once') {
      const queue = await queueClient(http, account, s.queueName, s)();
      // Deleting a message that does not exist proves the Process permission without touching any message.
      try {
        await queue.deleteMessage('00000000-0000-0000-0000-000000000000', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA');
      } catch (err) {
        const code = (err as { code?: string })?.code;
        if (
          code !== 'MessageNotFound' &&
          code !== 'PopReceiptMismatch' &&
          code !== 'InvalidQueryParameterValue'
        )
          throw azureError(
            err,
            `process messages of queue ${s.queueName}`,
            'the Process permission (sp=p) on the queue, or the Storage Queue Data Message Processor role',
            entraRole(queue, 'queueProcessor'),
          );
      }
    }
    const container = containerClient(http, account, s.container, s);
    const store = blobObjectStore(container);
    const ctl = new AbortController();
    const entra = entraRole(await container(), 'blobReader');
    const page = await needs(
      `list container ${s.container}`,
      'the List permission (sp=l), or the Storage Blob Data Reader role',
      entra,
      () => store.list({ prefix: s.prefix ?? '', signal: ctl.signal }),
    );
    const first = page.objects[0];
    if (first) {
      await needs(
        `read blob ${first.key}`,
        'the Read permission (sp=r), or the Storage Blob Data Reader role',
        entra,
        async () => (await container()).getBlobClient(first.key).download(0, 1, { abortSignal: ctl.signal }),
      );
    }
  },
});
