import { z } from 'zod';
import { ORIGIN, SECRET } from '../../core/secret-spec.ts';
import { defineDestinationKind } from '../kind.ts';
import { endpointUrl, objectStoreFields } from '../object-store/objects.ts';
import { AzureBlobDestination } from './azure-blob-destination.ts';

/** Container names: 3–63 lowercase letters, digits and single hyphens (learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata). */
const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

export const azureBlobConfigSchema = z
  .object({
    kind: z.literal('azure-blob'),
    endpoint: endpointUrl()
      .optional()
      .meta({ ...ORIGIN, title: 'Blob service URL' })
      .describe(
        'The storage account’s blob endpoint, e.g. https://ACCOUNT.blob.core.windows.net (Azurite: http://127.0.0.1:10000/devstoreaccount1); not with connectionString',
      ),
    container: z
      .string()
      .trim()
      .regex(CONTAINER, 'expected a container name: 3–63 lowercase letters, digits and single hyphens')
      .meta({ ...ORIGIN, title: 'Container' })
      .describe('Container the blobs are written to'),
    account: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ ...ORIGIN, title: 'Microsoft account' })
      .describe(
        'Name of a microsoft account (Entra ID app) holding the Storage Blob Data Contributor role on the container; or use sasToken, accountKey or connectionString',
      ),
    sasToken: z
      .string()
      .trim()
      .regex(/(^|[?&])sig=/, 'expected a SAS token such as sv=…&sp=cw&sig=… (with its sig= part)')
      .optional()
      .meta({ ...SECRET, title: 'SAS token' })
      .describe('A SAS token for the container (or account) with Create and Write permissions (sp=cw)'),
    accountKey: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9+/]+=*$/, 'expected the base64 access key of the storage account')
      .optional()
      .meta({ ...SECRET, title: 'Account key' })
      .describe('A storage account access key (Shared Key); prefer a SAS token or a microsoft account'),
    accountName: z
      .string()
      .trim()
      .regex(/^[a-z0-9]{3,24}$/, 'expected a storage account name: 3–24 lowercase letters and digits')
      .optional()
      .meta({ title: 'Storage account name' })
      .describe(
        'With accountKey: the storage account (default: from the endpoint’s host, or its first path segment)',
      ),
    connectionString: z
      .string()
      .trim()
      .regex(
        /AccountKey=|SharedAccessSignature=/i,
        'expected a storage connection string with AccountKey= or SharedAccessSignature=',
      )
      .optional()
      .meta({ ...SECRET, title: 'Connection string' })
      .describe('A storage account connection string (it names the endpoint too)'),
    accessTier: z
      .enum(['Hot', 'Cool', 'Cold'])
      .optional()
      .meta({ title: 'Access tier' })
      .describe('Access tier of the blobs (default: the account’s default tier)'),
    ...objectStoreFields,
  })
  .strict()
  .superRefine((c, ctx) => {
    const ways = (['account', 'sasToken', 'accountKey', 'connectionString'] as const).filter(
      (k) => c[k] !== undefined,
    );
    if (ways.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: [ways[1] ?? 'sasToken'],
        message: ways.length
          ? `give one of account, sasToken, accountKey, connectionString, not ${ways.join(' and ')}`
          : 'required: a microsoft account (account), a SAS token (sasToken), an account key (accountKey) or a connection string',
      });
    if (c.connectionString && c.endpoint)
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: 'the connection string names the endpoint; leave endpoint out',
      });
    if (!c.connectionString && !c.endpoint)
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: 'required: the blob service URL, e.g. https://ACCOUNT.blob.core.windows.net',
      });
    if (c.account && c.endpoint && !c.endpoint.startsWith('https:'))
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: 'an Entra ID token is only sent over https',
      });
    if (c.accountName && !c.accountKey)
      ctx.addIssue({ code: 'custom', path: ['accountName'], message: 'only used with accountKey' });
  })
  .describe('Writes gzip NDJSON blobs to an Azure Blob Storage container');

export type AzureBlobDestinationConfig = z.infer<typeof azureBlobConfigSchema>;

export const azureBlobKind = defineDestinationKind({
  kind: 'azure-blob',
  title: 'Azure Blob Storage',
  description:
    'Writes each batch as time-partitioned gzip NDJSON block blobs to a container; a batch is acknowledged once every Put Blob succeeded.',
  schema: azureBlobConfigSchema,
  accountKinds: ['microsoft'],
  create: (name, config, ctx) => new AzureBlobDestination(name, config, ctx),
});
