import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type {
  AnonymousCredential,
  ContainerClient,
  RequestPolicy,
  RequestPolicyFactory,
  RestError,
  StorageSharedKeyCredential,
  WebResource,
} from '@azure/storage-blob';
import { configError, TributaryError, transientError } from '../../core/errors.ts';
import { egressPolicy } from '../../engine/egress.ts';
import { snippet } from '../../engine/http.ts';
import { egressAgents } from '../egress-agents.ts';
import type { DestinationContext } from '../kind.ts';
import { ObjectStoreDestination } from '../object-store/object-destination.ts';
import type { PlannedObject } from '../object-store/objects.ts';
import type { AzureBlobDestinationConfig } from './index.ts';

/** A storage connection string's parts (learn.microsoft.com/azure/storage/common/storage-configure-connection-string). */
export function parseConnectionString(text: string): {
  endpoint: string;
  accountName?: string;
  accountKey?: string;
  sas?: string;
} {
  const parts = new Map<string, string>();
  for (const piece of text.split(';')) {
    const at = piece.indexOf('=');
    if (at > 0) parts.set(piece.slice(0, at).trim().toLowerCase(), piece.slice(at + 1).trim());
  }
  const accountName = parts.get('accountname');
  const endpoint =
    parts.get('blobendpoint') ??
    (accountName
      ? `${parts.get('defaultendpointsprotocol') ?? 'https'}://${accountName}.blob.${parts.get('endpointsuffix') ?? 'core.windows.net'}`
      : undefined);
  if (!endpoint)
    throw configError(
      'azure_connection_string_invalid',
      'The connection string names neither BlobEndpoint nor AccountName.',
      'Paste the whole connection string from the storage account’s Access keys page.',
    );
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    accountName,
    accountKey: parts.get('accountkey'),
    sas: parts.get('sharedaccesssignature'),
  };
}

/** The named microsoft account, refused unless it is one and `url` is among its origins. */
async function accountFor(ctx: DestinationContext, destination: string, name: string, url: URL) {
  if (!ctx.account)
    throw configError(
      'account_unavailable',
      `Destination ${destination} authenticates with account ${name}, which cannot be read here.`,
      'Run the destination from tributary run or serve, where accounts are stored.',
    );
  const account = await ctx.account(name);
  if (account.kind !== 'microsoft')
    throw configError(
      'account_kind_mismatch',
      `Destination ${destination} needs a microsoft account; ${account.name} is a ${account.kind} account.`,
      `Name a microsoft account in destination ${destination}.`,
    );
  account.origins.check(url, account.name);
  return account;
}

/**
 * The SDK's TokenCredential over a microsoft account: an Entra ID token for https://storage.azure.com
 * (the account kind picks the resource from the blob host), fetched and cached by the account kind.
 */
export function accountTokenCredential(
  ctx: DestinationContext,
  destination: string,
  name: string,
  url: URL,
): TokenCredential {
  return {
    getToken: async (_scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> => {
      const account = await accountFor(ctx, destination, name, url);
      const headers = new Headers();
      await account.authorize(headers, url);
      const token = headers.get('authorization')?.replace(/^Bearer /, '') ?? '';
      // The account's token cache renews tokens 5 minutes before they expire; asking again within
      // 4 minutes keeps the SDK from holding a token longer than the cache would.
      return { token, expiresOnTimestamp: Date.now() + 4 * 60_000 };
    },
  };
}

/** The storage account of a blob endpoint: its host's first label, or (Azurite, path style) its first path segment. */
function accountOf(endpoint: URL): string {
  const host = endpoint.hostname;
  if (/\.blob\./.test(host)) return host.split('.')[0]!;
  return endpoint.pathname.split('/').filter(Boolean)[0] ?? '';
}

/**
 * Azure Blob Storage through `@azure/storage-blob`: one Put Blob per planned object
 * (learn.microsoft.com/rest/api/storageservices/put-blob: "201 Created" once the block blob is
 * committed; a Put Blob on an existing name overwrites it), its MD5 stored as Content-MD5. Auth: a SAS
 * token (sp=cw), an account key, a connection string, or a `microsoft` account's Entra ID token for
 * https://storage.azure.com (TokenCredential adapter over the account kind, sent only to the
 * account's origins). The SDK retries 5xx, 503 ServerBusy and network errors (3 tries).
 */
export class AzureBlobDestination extends ObjectStoreDestination {
  readonly kind = 'azure-blob';
  private readonly c: AzureBlobDestinationConfig;
  private readonly ctx: DestinationContext;
  private readonly endpoint: URL;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  private container?: ContainerClient;

  constructor(name: string, config: AzureBlobDestinationConfig, ctx: DestinationContext) {
    super(name, config);
    this.c = config;
    this.ctx = ctx;
    this.endpoint = new URL(
      config.connectionString ? parseConnectionString(config.connectionString).endpoint : config.endpoint!,
    );
    this.agents = egressAgents();
  }

  private async client(): Promise<ContainerClient> {
    if (this.container) return this.container;
    // The SDK is loaded when a destination of this kind first stores a blob (README, Performance).
    const { AnonymousCredential, ContainerClient, newPipeline, StorageSharedKeyCredential } = await import(
      '@azure/storage-blob'
    );
    const c = this.c;
    let sas: string | undefined = c.sasToken;
    let credential: StorageSharedKeyCredential | AnonymousCredential | TokenCredential =
      new AnonymousCredential();
    if (c.connectionString) {
      const parsed = parseConnectionString(c.connectionString);
      if (parsed.accountKey)
        credential = new StorageSharedKeyCredential(
          parsed.accountName ?? accountOf(this.endpoint),
          parsed.accountKey,
        );
      else sas = parsed.sas;
    } else if (c.accountKey) {
      credential = new StorageSharedKeyCredential(c.accountName ?? accountOf(this.endpoint), c.accountKey);
    } else if (c.account) {
      credential = accountTokenCredential(this.ctx, this.name, c.account, this.containerUrl());
    }
    const pipeline = newPipeline(credential, {
      retryOptions: { maxTries: 3, tryTimeoutInMs: c.timeout, retryDelayInMs: 500, maxRetryDelayInMs: 5000 },
    });
    // Every request goes through this destination's agents, whose lookup obeys the egress policy.
    const agents = this.agents;
    const viaAgents: RequestPolicyFactory = {
      create: (next: RequestPolicy) => ({
        sendRequest: (web: WebResource) => {
          (web as { agent?: unknown }).agent = web.url.startsWith('https:') ? agents.https : agents.http;
          return next.sendRequest(web);
        },
      }),
    };
    pipeline.factories.push(viaAgents);
    const base = `${this.endpoint.toString().replace(/\/+$/, '')}/${c.container}`;
    const url = sas ? `${base}?${sas.replace(/^\?/, '')}` : base;
    this.container = new ContainerClient(url, pipeline);
    return this.container;
  }

  private containerUrl(): URL {
    return new URL(`${this.endpoint.toString().replace(/\/+$/, '')}/${this.c.container}`);
  }

  protected async put(o: PlannedObject, signal: AbortSignal): Promise<void> {
    egressPolicy().checkUrl(this.endpoint, `destination ${this.name}`);
    // The account's kind and origins are checked before the SDK asks for a token, for a clear error.
    if (this.c.account) await accountFor(this.ctx, this.name, this.c.account, this.containerUrl());
    try {
      await (await this.client()).getBlockBlobClient(o.key).upload(o.body, o.body.length, {
        abortSignal: signal,
        blobHTTPHeaders: { blobContentType: o.contentType, blobContentMD5: Buffer.from(o.md5, 'base64') },
        tier: this.c.accessTier,
      });
    } catch (err) {
      signal.throwIfAborted();
      throw this.classify(err);
    }
  }

  /** An SDK error as a TributaryError naming the container, never a SAS, key or token. */
  private classify(err: unknown): TributaryError {
    if (err instanceof TributaryError) return err;
    // A TokenCredential's error arrives wrapped by the SDK's bearer policy.
    const cause = (err as { cause?: unknown })?.cause;
    if (cause instanceof TributaryError) return cause;
    const where = `container ${this.c.container} at ${this.endpoint.origin}`;
    if ((err as Error)?.name === 'RestError' && (err as RestError).statusCode) {
      const rest = err as RestError;
      const status = rest.statusCode!;
      const code = rest.code ?? `HTTP ${status}`;
      const first = (rest.message ?? '').split('\n')[0] ?? '';
      const said = first && first !== code ? `: ${snippet(first)}` : '';
      if (status === 429 || status >= 500)
        return transientError(
          'destination_unavailable',
          `Destination ${this.name}: Azure Storage could not store the blob in ${where} (${code}, HTTP ${status}).`,
          `The events wait and nothing is lost; if it persists, check ${where}.`,
          { status },
        );
      return configError(
        'destination_rejected',
        `Destination ${this.name}: Azure Storage refused to store a blob in ${where} (${code}, HTTP ${status})${said}.`,
        status === 403 || status === 401
          ? `Check the credentials of destination ${this.name}: a SAS token needs Create and Write (sp=cw) on the container and must not have expired; a microsoft account needs the Storage Blob Data Contributor role on it (docs/destinations.md, azure-blob).`
          : code === 'ContainerNotFound'
            ? `Create container ${this.c.container} or fix the container of destination ${this.name}.`
            : `Check the settings of destination ${this.name} (container, accessTier, the container's immutability policy).`,
        status,
      );
    }
    const e = err as Error & { code?: string };
    return transientError(
      'destination_unavailable',
      `Destination ${this.name}: could not reach ${where} (${e?.code ?? e?.name ?? 'network error'}).`,
      `Check that ${this.endpoint.host} is reachable from Tributary; the events wait and nothing is lost.`,
    );
  }

  override async close(): Promise<void> {
    this.container = undefined;
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
