import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { ContainerClient, RestError } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { configError, TributaryError, transientError } from '../core/errors.ts';
import { once } from '../core/once.ts';
import { ORIGIN } from '../core/secret-spec.ts';
import type { HttpClient } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { egressAgents } from '../engine/egress-agents.ts';
import { networkProblem } from '../engine/network-error.ts';
import type {
  NotificationQueue,
  ObjectRef,
  ObjectStore,
  QueueMessage,
} from '../engine/object-notification.ts';
import { type AzureStorageAccount, storageEndpoints } from './azure-storage.ts';
import { MICROSOFT_APIS, type MicrosoftAccount } from './microsoft.ts';
import { AZURE_ROLES, type AzureRole, microsoftCredential, roleAction } from './microsoft-credential.ts';

/**
 * Azure Blob Storage and Azure Queue Storage for the object-notification reader
 * (engine/object-notification.ts), through the official SDKs `@azure/storage-blob` and
 * `@azure/storage-queue` over an `azure-storage` account: what every Azure source that reads blobs
 * (announced on a Storage Queue or listed) shares. Every request the SDKs send first passes the collector's
 * HTTP client's `authorizeConnection` — the egress policy and the origins the account's credentials may go
 * to — and leaves through agents whose DNS lookups obey the egress policy (docs/security.md). Vendor facts:
 *
 * - Get Blob (learn.microsoft.com/rest/api/storageservices/get-blob): `x-ms-range: bytes=N-` for a resumed
 *   read; 404 `BlobNotFound` when the blob is gone, 404 `ContainerNotFound` when the container is; a range
 *   starting at the end is 416 `InvalidRange`.
 * - List Blobs (learn.microsoft.com/rest/api/storageservices/list-blobs): `prefix`, `maxresults` (at most
 *   5,000), an opaque `marker` (NextMarker) for the next page; "blobs are listed in alphabetical order".
 *   There is no "start after this name": a listing that resumes at a name re-lists the prefix from its
 *   start and skips what sorts before it (a page's NextMarker is remembered within a run).
 * - Get Messages (learn.microsoft.com/rest/api/storageservices/get-messages): `numofmessages` 1–32,
 *   `visibilitytimeout` (seconds, up to 7 days); each message has a `MessageId` and a `PopReceipt`.
 *   Delete Message (delete-message2) needs both; a stale pop receipt (the message became visible and was
 *   received again) is 404 `MessageNotFound` or 400 `PopReceiptMismatch`.
 * - Error codes (learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes,
 *   blob-service-error-codes, queue-service-error-codes): 403 `AuthenticationFailed` (bad key or SAS
 *   signature, expired SAS), 403 `AuthorizationPermissionMismatch` (the SAS or RBAC role lacks the
 *   operation's permission), 403 `AuthorizationFailure`, `AuthorizationResourceTypeMismatch`,
 *   `AuthorizationServiceMismatch`, `AuthorizationSourceIPMismatch`, `AuthorizationProtocolMismatch`;
 *   404 `ContainerNotFound`, `QueueNotFound`; 503 `ServerBusy` and 500 `OperationTimedOut` (retried).
 * - Entra ID (learn.microsoft.com/azure/storage/blobs/authorize-access-azure-active-directory; the queue
 *   service's page of the same name): a `microsoft` account's token for `https://storage.azure.com/.default`
 *   in `Authorization: Bearer`, HTTPS only ("Authorize with Microsoft Entra ID … requests must be sent over
 *   HTTPS"; the SDK refuses a bearer token on http). Data access comes from Azure RBAC roles: Storage Blob Data
 *   Reader (read and list blobs), Storage Queue Data Message Processor (get and delete messages); without the
 *   role the service answers 403 `AuthorizationPermissionMismatch` (assign-azure-role-data-access).
 */

/** Why the collector receives and deletes queue messages: declared in each source's `vendorWrites`. */
export const QUEUE_RECEIVE_WRITE =
  'Get Messages hides the messages received for the visibility timeout, so no other reader takes them while their blobs are read';
export const QUEUE_DELETE_WRITE =
  'Delete Message removes a notification once every record of the blob it names is delivered, or it would come back';

let agents: { http: HttpAgent; https: HttpsAgent } | undefined;

/**
 * The request policy added last to an SDK pipeline (after the SDK signed the request): the egress policy
 * and the account's origins are checked for every request, and the request leaves through the egress agents
 * (or the HTTP client's agent for an origin it was told to trust a test CA for: `tlsTrust`).
 */
function guarded(http: HttpClient, o: { ownCredential?: boolean } = {}) {
  agents ??= egressAgents();
  const a = agents;
  return {
    create: (next: { sendRequest(r: unknown): Promise<unknown> }) => ({
      sendRequest: async (web: { url: string; agent?: unknown }) => {
        const url = new URL(web.url);
        // An Entra token is the SDK's own (microsoftCredential): only the egress policy and the origins here.
        if (o.ownCredential && http.checkConnection) http.checkConnection(url);
        else await http.authorizeConnection(url);
        web.agent = web.url.startsWith('https:') ? (http.httpsAgent?.(url) ?? a.https) : a.http;
        return next.sendRequest(web);
      },
    }),
  };
}

const RETRY = { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 5000, tryTimeoutInMs: 60_000 };

/**
 * What a storage source reads with: an `azure-storage` account (SAS, key or connection string), or a
 * `microsoft` account (an Entra ID app with RBAC roles) with the storage account named in the collector's
 * settings (`storageAccountFields`).
 */
export type StorageAccess = AzureStorageAccount | MicrosoftAccount;

/** The collector settings that name the storage account when the account is a `microsoft` one. */
export interface EntraStorageSettings {
  storageAccount?: string;
  blobEndpoint?: string;
  queueEndpoint?: string;
}

/** Settings fields of every storage source for the `microsoft`-account option (spread into its schema). */
export const storageAccountFields = {
  storageAccount: z
    .string()
    .trim()
    .regex(/^[a-z0-9]{3,24}$/, 'expected a storage account name: 3–24 lowercase letters and digits')
    .optional()
    .meta({ ...ORIGIN, title: 'Storage account (Entra ID)' })
    .describe(
      'With a microsoft account (Entra ID app): the storage account to read (Azure portal → Storage accounts). Not used with an azure-storage account, which names its own',
    ),
  blobEndpoint: serviceUrl()
    .optional()
    .meta({ ...ORIGIN, title: 'Blob endpoint override (Entra ID)' })
    .describe(
      'With a microsoft account: another HTTPS blob service URL (a private endpoint); default https://STORAGEACCOUNT.blob.core.windows.net (or the account’s cloud)',
    ),
  queueEndpoint: serviceUrl()
    .optional()
    .meta({ ...ORIGIN, title: 'Queue endpoint override (Entra ID)' })
    .describe(
      'With a microsoft account: another HTTPS queue service URL (a private endpoint); default https://STORAGEACCOUNT.queue.core.windows.net',
    ),
};

/** Whether the source was given a `microsoft` account (an Entra app) rather than an `azure-storage` one. */
export const isEntraApp = (a: StorageAccess): a is MicrosoftAccount =>
  typeof (a as MicrosoftAccount).clientId === 'string' &&
  typeof (a as MicrosoftAccount).tenantId === 'string';

/** The Entra app behind each SDK client made with a `microsoft` account (its refusals name the role). */
const apps = new WeakMap<object, MicrosoftAccount>();

/** The blob or queue endpoint for a `microsoft` account: the settings' storage account in the app's cloud. */
function entraEndpoint(app: MicrosoftAccount, s: EntraStorageSettings, service: 'blob' | 'queue'): string {
  const cloud = app.cloud ?? 'global';
  const suffixes =
    MICROSOFT_APIS.find((api) => api.name === 'Azure Blob Storage')?.clouds[cloud]?.suffixes ?? [];
  const field = service === 'blob' ? 'blobEndpoint' : 'queueEndpoint';
  const given = s[field];
  if (!s.storageAccount && !given)
    throw configError(
      'azure_storage_account_missing',
      'The collector reads with a microsoft account (Entra ID app), which names no storage account: settings.storageAccount is empty.',
      'Set the collector’s storageAccount to the storage account to read (Azure portal → Storage accounts), or use an azure-storage account.',
    );
  const suffix = suffixes.find((x) => x.startsWith(`.${service}.`)) ?? '';
  const url = (given ?? `https://${s.storageAccount}${suffix}`).replace(/\/+$/, '');
  if (!url.startsWith('https:'))
    throw configError(
      'azure_entra_needs_https',
      `settings.${field} is ${new URL(url).origin}: Azure Storage takes an Entra ID token over HTTPS only.`,
      `Give an https:// ${field}, or use an azure-storage account (SAS or key) for a plain-HTTP emulator.`,
    );
  return url;
}

/** Refuses storage settings that only a `microsoft` account uses when the account is an `azure-storage` one. */
function noEntraSettings(s: EntraStorageSettings | undefined): void {
  const given = (['storageAccount', 'blobEndpoint', 'queueEndpoint'] as const).filter((k) => s?.[k]);
  if (given.length)
    throw configError(
      'azure_storage_setting_unused',
      `settings.${given[0]} is only for a microsoft account: the azure-storage account names the storage account and its endpoints.`,
      `Remove ${given.join(' and ')} from the collector, or give it a microsoft account (Entra ID app).`,
    );
}

/**
 * A client built at its first use, when its SDK is loaded (core/once.ts): a process whose collectors read
 * no Azure Storage does not hold the SDKs (README, Performance). A setting that cannot work (no storage
 * account for an Entra app, …) is refused then.
 */
export type LazyClient<T> = () => Promise<T>;

export function containerClient(
  http: HttpClient,
  account: StorageAccess,
  container: string,
  settings?: EntraStorageSettings,
): LazyClient<ContainerClient> {
  return storageClient(http, account, 'blob', container, settings, async () => {
    const sdk = await import('@azure/storage-blob');
    return { ...sdk, Client: sdk.ContainerClient };
  });
}

export function queueClient(
  http: HttpClient,
  account: StorageAccess,
  queue: string,
  settings?: EntraStorageSettings,
): LazyClient<QueueClient> {
  return storageClient(http, account, 'queue', queue, settings, async () => {
    const sdk = await import('@azure/storage-queue');
    return { ...sdk, Client: sdk.QueueClient };
  });
}

/** What a storage SDK (`@azure/storage-blob`, `@azure/storage-queue`) gives to build a client of one service. */
interface StorageSdk<C> {
  newPipeline(credential: never, options: { retryOptions: typeof RETRY }): { factories: unknown[] };
  StorageSharedKeyCredential: new (accountName: string, accountKey: string) => unknown;
  AnonymousCredential: new () => unknown;
  Client: new (url: string, pipeline: never) => C;
}

/**
 * A container or queue client, built at first use: with an Entra app, its token (and `ownCredential`
 * requests); else the account's key, or its SAS token in the URL, or nothing. Every request goes through
 * the engine's checks (`guarded`).
 */
function storageClient<C extends object>(
  http: HttpClient,
  account: StorageAccess,
  service: 'blob' | 'queue',
  name: string,
  settings: EntraStorageSettings | undefined,
  load: () => Promise<StorageSdk<C>>,
): LazyClient<C> {
  return once(async () => {
    const sdk = await load();
    if (isEntraApp(account)) {
      const endpoint = entraEndpoint(account, settings ?? {}, service);
      const pipeline = sdk.newPipeline(microsoftCredential(http, account) as never, { retryOptions: RETRY });
      pipeline.factories.push(guarded(http, { ownCredential: true }));
      const client = new sdk.Client(`${endpoint}/${encodeURIComponent(name)}`, pipeline as never);
      apps.set(client, account);
      return client;
    }
    noEntraSettings(settings);
    const e = storageEndpoints(account);
    const credential =
      e.accountKey && e.accountName
        ? new sdk.StorageSharedKeyCredential(e.accountName, e.accountKey)
        : new sdk.AnonymousCredential();
    const pipeline = sdk.newPipeline(credential as never, { retryOptions: RETRY });
    pipeline.factories.push(guarded(http));
    const url = `${e[service]}/${encodeURIComponent(name)}`;
    const sas = service === 'blob' ? e.blobSas : e.queueSas;
    return new sdk.Client(sas && !e.accountKey ? `${url}?${sas}` : url, pipeline as never);
  });
}

/** The Entra app a client reads with and the role `what` needs, for azureError; undefined with SAS or key. */
export function entraRole(
  client: ContainerClient | QueueClient,
  role: AzureRole,
): { app: MicrosoftAccount; role: AzureRole } | undefined {
  const app = apps.get(client);
  return app && { app, role };
}

const ACTIONS: Record<string, { code: string; action: string }> = {
  AuthenticationFailed: {
    code: 'azure_auth_failed',
    action:
      "Check the account's key or SAS token: it may be mistyped, regenerated, or the SAS may have expired (its se= time) or not started yet (st=).",
  },
  AuthorizationPermissionMismatch: {
    code: 'azure_permission_missing',
    action:
      'Give the SAS token the permission named (blob: Read and List, sp=rl; queue: Process, sp=p), or give the identity the Storage Blob Data Reader and Storage Queue Data Message Processor roles.',
  },
  AuthorizationFailure: {
    code: 'azure_access_denied',
    action:
      "Check the storage account's network rules (firewall, private endpoints) and that the SAS allows this IP address (sip=) and HTTPS.",
  },
  AuthorizationResourceTypeMismatch: {
    code: 'azure_permission_missing',
    action:
      'An account SAS needs the resource types container and object (srt=co) for listing and reading blobs, and service scope for queue messages.',
  },
  AuthorizationServiceMismatch: {
    code: 'azure_permission_missing',
    action:
      'The SAS does not cover this service: an account SAS needs ss=bq (blob and queue), or give a separate queueSasToken.',
  },
  AuthorizationSourceIPMismatch: {
    code: 'azure_access_denied',
    action: "The SAS token's allowed IP range (sip=) does not include Tributary's address.",
  },
  AuthorizationProtocolMismatch: {
    code: 'azure_access_denied',
    action: 'The SAS allows HTTPS only (spr=https): use the https endpoint.',
  },
  ContainerNotFound: {
    code: 'azure_container_not_found',
    action: "Check the collector's container name and the account's storage account name.",
  },
  QueueNotFound: {
    code: 'azure_queue_not_found',
    action:
      "Check the collector's queue name (the Event Grid subscription's destination queue) and the storage account.",
  },
};

/**
 * An SDK error as a TributaryError that names `what` was attempted and the missing permission, never a
 * key, SAS or URL query. Refusals are config errors; throttling, 5xx and network errors are transient.
 */
export function azureError(
  err: unknown,
  what: string,
  permission?: string,
  entra?: { app: MicrosoftAccount; role: AzureRole },
): unknown {
  if (err instanceof TributaryError || (err as Error)?.name === 'AbortError') return err;
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof TributaryError) return cause;
  if ((err as Error)?.name === 'RestError' || (err as { statusCode?: unknown })?.statusCode) {
    const e = err as RestError;
    const status = e.statusCode ?? 0;
    const code = e.code ?? `HTTP ${status}`;
    // No answer at all (a refused connection, a certificate not trusted): what the network error says.
    const net = status ? undefined : networkProblem(err, requestUrl(err));
    if (net)
      return transientError(
        'azure_unreachable',
        `Could not reach Azure Storage to ${what}: ${net.problem}.`,
        net.action,
      );
    if (status === 429 || status >= 500 || !status)
      return transientError(
        'azure_unavailable',
        `Azure Storage could not ${what} (${code}, HTTP ${status}).`,
        'None needed if it passes: the next run resumes from the checkpoint. If it persists, check the storage account’s health.',
        { status },
      );
    if (status === 412)
      return transientError(
        'azure_blob_changed',
        `Azure Storage could not ${what}: the blob was replaced while it was read (${code}).`,
        'None needed: the next run reads it again from the records already delivered.',
        { status },
      );
    // With an Entra app, a refusal of the operation is a missing role assignment: name it and where to assign it.
    if (entra && (code === 'AuthorizationPermissionMismatch' || code === 'AuthorizationFailure')) {
      const r = AZURE_ROLES[entra.role];
      return configError(
        'azure_role_missing',
        `Azure Storage refused to ${what} (${code}, HTTP ${status}): the app needs the ${r.role} role on ${r.scope}.`,
        code === 'AuthorizationFailure'
          ? `${roleAction(entra.role, entra.app)} If the role is assigned, check the storage account's network rules (firewall, private endpoints).`
          : roleAction(entra.role, entra.app),
        status,
      );
    }
    if (entra && code === 'AuthenticationFailed')
      return configError(
        'azure_auth_failed',
        `Azure Storage did not accept the app's token to ${what} (${code}, HTTP ${status}).`,
        "Check the microsoft account's Directory (tenant) ID and cloud: the storage account must belong to a subscription of that tenant, in that cloud.",
        status,
      );
    const known = ACTIONS[code];
    const needs =
      permission && (code === 'AuthorizationPermissionMismatch' || code === 'AuthorizationFailure')
        ? ` It needs ${permission}.`
        : '';
    return configError(
      known?.code ?? 'azure_refused',
      `Azure Storage refused to ${what} (${code}, HTTP ${status}).${needs}`,
      known?.action ?? "Check the collector's container and queue, and the account's credentials.",
      status,
    );
  }
  const e = err as Error & { code?: string };
  return transientError(
    'azure_unreachable',
    `Could not reach Azure Storage to ${what} (${e?.code ?? e?.name ?? 'network error'}).`,
    "Check that the storage account's endpoints are reachable from Tributary; the next run resumes from the checkpoint.",
  );
}

/** The URL an SDK error's request went to (only its host is ever shown: the query may hold a SAS). */
function requestUrl(err: unknown): URL {
  try {
    return new URL((err as { request?: { url?: string } })?.request?.url ?? '');
  } catch {
    return new URL('https://storage.invalid');
  }
}

const noBytes: AsyncIterable<Uint8Array> = { async *[Symbol.asyncIterator]() {} };
const unquote = (etag?: string) => etag?.replace(/"/g, '') || undefined;

/** A container as the reader's ObjectStore; `pageSize` blobs per List Blobs page (at most 5,000). */
export function blobObjectStore(
  client: LazyClient<ContainerClient>,
  o: { pageSize?: number } = {},
): ObjectStore {
  const pageSize = o.pageSize ?? 1000;
  const opened = async () => {
    const container = await client();
    return { container, entra: entraRole(container, 'blobReader') };
  };
  // NextMarker of each page, by the last name on it: a listing resumed within a run does not start over.
  const markers = new Map<string, string>();
  return {
    async get(ref, { start, signal }) {
      const { container, entra } = await opened();
      const blob = container.getBlobClient(ref.key);
      const permission = 'the Read permission (sp=r) or the Storage Blob Data Reader role';
      let first: Awaited<ReturnType<typeof blob.download>>;
      try {
        first = await blob.download(start ?? 0, undefined, { abortSignal: signal, maxRetryRequests: 0 });
      } catch (err) {
        const e = err as RestError;
        if (e?.statusCode === 416) return noBytes; // nothing after `start`
        if (e?.statusCode === 404 && e.code !== 'ContainerNotFound') return undefined; // gone before it was read
        throw azureError(err, `read blob ${ref.key}`, permission, entra);
      }
      return readOn(first, {
        signal,
        from: start ?? 0,
        // A body cut off mid-way is asked for again from the byte where it broke, of the same version only.
        again: async (from) => {
          try {
            return await blob.download(from, undefined, {
              abortSignal: signal,
              maxRetryRequests: 0,
              conditions: first.etag ? { ifMatch: first.etag } : undefined,
            });
          } catch (err) {
            throw azureError(err, `read blob ${ref.key} on from byte ${from}`, permission, entra);
          }
        },
        what: `blob ${ref.key}`,
      });
    },
    async blocks(ref, { signal }) {
      const { container, entra } = await opened();
      try {
        const list = await container
          .getBlockBlobClient(ref.key)
          .getBlockList('committed', { abortSignal: signal });
        return (list.committedBlocks ?? []).map((b) => b.size);
      } catch (err) {
        const e = err as RestError;
        if (e?.statusCode === 404 && e.code !== 'ContainerNotFound') return undefined;
        throw azureError(
          err,
          `list the blocks of blob ${ref.key}`,
          'the Read permission (sp=r) or the Storage Blob Data Reader role',
          entra,
        );
      }
    },
    async list({ prefix, startAfter, signal }) {
      const { container, entra } = await opened();
      let marker = startAfter !== undefined ? markers.get(startAfter) : undefined;
      for (;;) {
        let page: Awaited<ReturnType<typeof listOnce>>;
        try {
          page = await listOnce(container, prefix, marker, pageSize, signal);
        } catch (err) {
          throw azureError(
            err,
            `list container ${container.containerName}`,
            'the List permission (sp=l) or the Storage Blob Data Reader role',
            entra,
          );
        }
        const objects = page.objects.filter((o) => startAfter === undefined || o.key > startAfter);
        if (!objects.length && page.next) {
          marker = page.next; // a page before `startAfter`
          continue;
        }
        if (objects.length && page.next) markers.set(objects.at(-1)!.key, page.next);
        return { objects, more: Boolean(page.next) };
      }
    },
  };
}

/** Attempts at a blob body that breaks off (the first included). */
const BODY_ATTEMPTS = 4;

/** A download's body, read on from where it broke (a lost connection) up to `BODY_ATTEMPTS` times. */
async function* readOn(
  first: { readableStreamBody?: NodeJS.ReadableStream },
  o: {
    signal: AbortSignal;
    from: number;
    again: (from: number) => Promise<{ readableStreamBody?: NodeJS.ReadableStream }>;
    what: string;
  },
): AsyncGenerator<Uint8Array> {
  let at = o.from;
  let res = first;
  for (let attempt = 1; ; attempt++) {
    try {
      for await (const chunk of (res.readableStreamBody ?? []) as AsyncIterable<Uint8Array>) {
        at += chunk.byteLength;
        yield chunk;
      }
      return;
    } catch (err) {
      if (o.signal.aborted) throw err;
      if (attempt >= BODY_ATTEMPTS)
        throw transientError(
          'azure_read_broken',
          `Reading ${o.what} broke off at byte ${at} ${BODY_ATTEMPTS} times (${(err as Error)?.name ?? 'network error'}).`,
          'None needed if it passes: the next run resumes after the records delivered. If it persists, check the network to the storage account.',
        );
      res = await o.again(at);
    }
  }
}

async function listOnce(
  container: ContainerClient,
  prefix: string,
  marker: string | undefined,
  pageSize: number,
  signal: AbortSignal,
) {
  const it = container
    .listBlobsFlat({ prefix: prefix || undefined, abortSignal: signal })
    .byPage({ continuationToken: marker, maxPageSize: pageSize });
  const { value } = await it.next();
  const objects: ObjectRef[] = (value?.segment.blobItems ?? []).map(
    (b: { name: string; properties: { etag?: string; contentLength?: number } }) => ({
      bucket: container.containerName,
      key: b.name,
      etag: unquote(b.properties.etag),
      size: b.properties.contentLength,
    }),
  );
  return { objects, next: (value?.continuationToken as string | undefined) || undefined };
}

/** A Storage Queue as the reader's NotificationQueue; `receipt` holds the message id and its pop receipt. */
export function storageQueue(
  client: LazyClient<QueueClient>,
  o: { visibilityTimeoutSeconds: number },
): NotificationQueue {
  const opened = async () => {
    const queue = await client();
    return { queue, entra: entraRole(queue, 'queueProcessor') };
  };
  return {
    async receive({ max, signal }) {
      const { queue, entra } = await opened();
      try {
        const answer = await queue.receiveMessages({
          numberOfMessages: Math.max(1, Math.min(32, max)),
          visibilityTimeout: o.visibilityTimeoutSeconds,
          abortSignal: signal,
        });
        return answer.receivedMessageItems.map(
          (m): QueueMessage => ({
            id: m.messageId,
            receipt: JSON.stringify([m.messageId, m.popReceipt]),
            body: m.messageText,
          }),
        );
      } catch (err) {
        throw azureError(
          err,
          `receive messages from queue ${queue.name}`,
          'the Process permission (sp=p) or the Storage Queue Data Message Processor role',
          entra,
        );
      }
    },
    async delete(receipt, { signal }) {
      const [id, pop] = JSON.parse(receipt) as [string, string];
      const { queue, entra } = await opened();
      try {
        await queue.deleteMessage(id, pop, { abortSignal: signal });
      } catch (err) {
        const e = err as RestError;
        // The message became visible again and was received anew (or is gone): its next delivery repeats nothing.
        if (e?.code === 'MessageNotFound' || e?.code === 'PopReceiptMismatch') return;
        throw azureError(
          err,
          `delete a message from queue ${queue.name}`,
          'the Process permission (sp=p) or the Storage Queue Data Message Processor role',
          entra,
        );
      }
    },
  };
}

/**
 * An Event Grid event as a Storage Queue handler delivers it: one event per message, its JSON text
 * base64-encoded (the default the Event Grid docs' Storage Queue handler describes); a message whose text
 * is already JSON (written by a tool that does not encode) is read as is.
 */
export function eventGridMessageJson(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) return JSON.parse(t);
  if (!/^[A-Za-z0-9+/=\s]+$/.test(t)) throw new Error('the message is neither JSON nor base64-encoded JSON');
  const decoded = Buffer.from(t, 'base64').toString('utf8');
  try {
    return JSON.parse(decoded);
  } catch {
    throw new Error('the message’s base64 text does not decode to JSON');
  }
}
