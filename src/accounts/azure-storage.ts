import { z } from 'zod';
import { configError } from '../core/errors.ts';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `azure-storage` account kind: one storage account, reached with SAS tokens (one for the blob
 * service, one for the queue service, or one account SAS for both), an account key (Shared Key) or a
 * connection string. The official SDKs (`@azure/storage-blob`, `@azure/storage-queue`) sign the requests
 * themselves (accounts/azure-objects.ts); this kind names where those credentials may go. Vendor facts:
 *
 * - Account names are 3–24 lowercase letters and digits; the service endpoints are
 *   `https://{account}.blob.core.windows.net` and `https://{account}.queue.core.windows.net`
 *   (learn.microsoft.com/azure/storage/common/storage-account-overview, "Storage account name" and
 *   "Standard endpoints"); sovereign clouds use another suffix (`core.chinacloudapi.cn`,
 *   `core.usgovcloudapi.net`).
 * - Connection strings (learn.microsoft.com/azure/storage/common/storage-configure-connection-string):
 *   `DefaultEndpointsProtocol`, `AccountName`, `AccountKey`, `EndpointSuffix`, `BlobEndpoint`,
 *   `QueueEndpoint`, `SharedAccessSignature`.
 * - SAS tokens (learn.microsoft.com/rest/api/storageservices/create-account-sas, "Account SAS
 *   permissions by operation"; create-service-sas): the `sp` permissions; an account SAS names its
 *   services in `ss` (`b` blob, `q` queue). Reading needs blob `r` and `l` (list), queue `p` (process:
 *   get and delete messages).
 * - No per-credential request rate is documented (storage accounts have account-wide scalability
 *   targets: learn.microsoft.com/azure/storage/common/scalability-targets-standard-account), so the kind
 *   sets no rateLimit; 503 ServerBusy and 500 OperationTimedOut are retried by the SDK.
 */

export interface AzureStorageAccount {
  accountName?: string;
  blobSasToken?: string;
  queueSasToken?: string;
  accountKey?: string;
  connectionString?: string;
  endpointSuffix: string;
  blobEndpoint?: string;
  queueEndpoint?: string;
}

const SAS = /(^|[?&])sig=/;

export const azureStorageFields = z
  .object({
    accountName: z
      .string()
      .trim()
      .regex(/^[a-z0-9]{3,24}$/, 'expected a storage account name: 3–24 lowercase letters and digits')
      .optional()
      .meta({ ...ORIGIN, title: 'Storage account name' })
      .describe('The storage account (Azure portal → Storage accounts); not with connectionString'),
    blobSasToken: z
      .string()
      .trim()
      .regex(SAS, 'expected a SAS token such as sv=…&sp=rl&sig=… (with its sig= part)')
      .optional()
      .meta({ ...SECRET, title: 'Blob SAS token' })
      .describe(
        'A SAS token for the blob service with Read and List permissions (sp=rl), or an account SAS covering blob and queue (ss=bq)',
      ),
    queueSasToken: z
      .string()
      .trim()
      .regex(SAS, 'expected a SAS token such as sv=…&sp=p&sig=… (with its sig= part)')
      .optional()
      .meta({ ...SECRET, title: 'Queue SAS token' })
      .describe(
        'A SAS token for the notification queue with the Process permission (sp=p); default: the blob SAS token (an account SAS with ss=bq)',
      ),
    accountKey: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9+/]+=*$/, 'expected the base64 access key of the storage account')
      .optional()
      .meta({ ...SECRET, title: 'Account key' })
      .describe('A storage account access key (Shared Key: full access to the account); prefer SAS tokens'),
    connectionString: z
      .string()
      .trim()
      .regex(
        /AccountKey=|SharedAccessSignature=/i,
        'expected a storage connection string with AccountKey= or SharedAccessSignature=',
      )
      .optional()
      .meta({ ...SECRET, title: 'Connection string' })
      .describe('A storage account connection string (it names the account and endpoints too)'),
    endpointSuffix: z
      .string()
      .trim()
      .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'expected a DNS suffix such as core.windows.net')
      .default('core.windows.net')
      .meta({ ...ORIGIN, title: 'Endpoint suffix' })
      .describe(
        'The cloud’s storage DNS suffix: core.windows.net (default), core.usgovcloudapi.net, core.chinacloudapi.cn',
      ),
    blobEndpoint: serviceUrl()
      .optional()
      .meta({ ...ORIGIN, title: 'Blob endpoint override' })
      .describe(
        'Another blob service URL (private endpoint, Azurite: http://127.0.0.1:10000/devstoreaccount1)',
      ),
    queueEndpoint: serviceUrl()
      .optional()
      .meta({ ...ORIGIN, title: 'Queue endpoint override' })
      .describe(
        'Another queue service URL (private endpoint, Azurite: http://127.0.0.1:10001/devstoreaccount1)',
      ),
  })
  .strict()
  .superRefine((a, ctx) => {
    const ways = (['blobSasToken', 'accountKey', 'connectionString'] as const).filter(
      (k) => a[k] !== undefined,
    );
    if (ways.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: [ways[1] ?? 'blobSasToken'],
        message: ways.length
          ? `give one of blobSasToken, accountKey, connectionString, not ${ways.join(' and ')}`
          : 'required: SAS tokens (blobSasToken, and queueSasToken unless it is an account SAS), an account key (accountKey) or a connection string',
      });
    if (a.queueSasToken && !a.blobSasToken)
      ctx.addIssue({
        code: 'custom',
        path: ['queueSasToken'],
        message: 'only used with blobSasToken (SAS tokens for both services)',
      });
    if (a.connectionString) {
      for (const f of ['accountName', 'blobEndpoint', 'queueEndpoint'] as const)
        if (a[f])
          ctx.addIssue({
            code: 'custom',
            path: [f],
            message: 'the connection string names the account and its endpoints; leave this out',
          });
    } else if (!a.accountName)
      ctx.addIssue({
        code: 'custom',
        path: ['accountName'],
        message: 'required: the storage account name (3–24 lowercase letters and digits)',
      });
  });

/** A storage connection string's parts (storage-configure-connection-string). */
export function parseStorageConnectionString(text: string): {
  accountName?: string;
  accountKey?: string;
  sas?: string;
  blobEndpoint: string;
  queueEndpoint: string;
} {
  const parts = new Map<string, string>();
  for (const piece of text.split(';')) {
    const at = piece.indexOf('=');
    if (at > 0) parts.set(piece.slice(0, at).trim().toLowerCase(), piece.slice(at + 1).trim());
  }
  const accountName = parts.get('accountname');
  const endpoint = (service: string) => {
    const given = parts.get(`${service}endpoint`);
    if (given) return given.replace(/\/+$/, '');
    if (!accountName)
      throw configError(
        'azure_connection_string_invalid',
        `The connection string names neither ${service[0]!.toUpperCase()}${service.slice(1)}Endpoint nor AccountName.`,
        'Paste the whole connection string from the storage account’s Access keys page.',
      );
    return `${parts.get('defaultendpointsprotocol') ?? 'https'}://${accountName}.${service}.${parts.get('endpointsuffix') ?? 'core.windows.net'}`;
  };
  return {
    accountName,
    accountKey: parts.get('accountkey'),
    sas: parts.get('sharedaccesssignature'),
    blobEndpoint: endpoint('blob'),
    queueEndpoint: endpoint('queue'),
  };
}

/** Where the account's blob and queue services are, and how requests to them are signed. */
export interface StorageEndpoints {
  blob: string;
  queue: string;
  accountName?: string;
  accountKey?: string;
  blobSas?: string;
  queueSas?: string;
}

export function storageEndpoints(a: AzureStorageAccount): StorageEndpoints {
  if (a.connectionString) {
    const c = parseStorageConnectionString(a.connectionString);
    return {
      blob: c.blobEndpoint,
      queue: c.queueEndpoint,
      accountName: c.accountName,
      accountKey: c.accountKey,
      blobSas: c.sas,
      queueSas: c.sas,
    };
  }
  const suffix = a.endpointSuffix ?? 'core.windows.net';
  return {
    blob: (a.blobEndpoint ?? `https://${a.accountName}.blob.${suffix}`).replace(/\/+$/, ''),
    queue: (a.queueEndpoint ?? `https://${a.accountName}.queue.${suffix}`).replace(/\/+$/, ''),
    accountName: a.accountName,
    accountKey: a.accountKey,
    blobSas: a.blobSasToken?.replace(/^\?/, ''),
    queueSas: (a.queueSasToken ?? a.blobSasToken)?.replace(/^\?/, ''),
  };
}

export const azureStorage = defineAccountKind<AzureStorageAccount>({
  id: 'azure-storage',
  title: 'Azure Storage account',
  fields: azureStorageFields as unknown as z.ZodType<AzureStorageAccount>,
  // The account's own blob and queue services, and nothing else.
  origins: (a) => {
    try {
      const e = storageEndpoints(a);
      return [new URL(e.blob).origin, new URL(e.queue).origin];
    } catch {
      return [];
    }
  },
  // The SDKs sign each request (SAS in the query, Shared Key in the Authorization header) after the
  // egress and origin checks (accounts/azure-objects.ts); nothing is added here.
  async authorize() {},
});
