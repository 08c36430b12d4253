import { createServer, request, type Server } from 'node:http';
import { createServer as createHttpsServer, Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  BlobServiceClient,
  newPipeline as newBlobPipeline,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import {
  newPipeline as newQueuePipeline,
  StorageSharedKeyCredential as QueueKey,
  QueueServiceClient,
} from '@azure/storage-queue';
import { azureStorage, azureStorageFields } from '../../src/accounts/azure-storage.ts';
import type { Destination } from '../../src/core/destination.ts';
import type { SourceDef } from '../../src/core/source.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, Azurite } from '../../src/destinations/azure-blob/azurite.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { RateLimits } from '../../src/engine/rate-limit.ts';
import { type ResolvedCollector, type RunOptions, runCollector } from '../../src/engine/runner.ts';
import type { ManualClock } from '../../src/sim/kit.ts';
import { certificateAuthority, type IssuedCertificate, issueCertificate } from '../../src/sim/x509.ts';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { MemoryDestination } from './memory-destination.ts';

/**
 * Azurite's blob and queue services (the real Azure Storage emulator), each behind a small recording proxy
 * on 127.0.0.1: tests count the calls Tributary makes (a blob write or a queue write other than the declared
 * receive and delete fails them), hold and drop Delete Message calls (a process killed while a delete is in flight)
 * cut a blob's body off mid-way (a lost connection), and answer the next requests with a 503 ServerBusy (learn.microsoft.com/rest/api/storageservices/
 * common-rest-api-error-codes: "ServerBusy … 503"), as Azure Storage does when throttling.
 *
 * With `tls`, Azurite and the proxies serve HTTPS with a certificate for 127.0.0.1 issued at test time by a
 * throwaway CA (`ca`, src/sim/x509.ts: no key is checked in) and Azurite takes OAuth bearer tokens. The
 * proxies then stand for Azure RBAC, which Azurite does not check: a bearer token must be one the simulated
 * Entra ID issued (`entra.inspect`, else 401 `InvalidAuthenticationInfo`), and its app must hold a data role —
 * Storage Blob Data Reader (or Contributor, Owner) to read and list blobs, Storage Queue Data Message
 * Processor (or Contributor) to get and delete messages — else 403 `AuthorizationPermissionMismatch`
 * (learn.microsoft.com/azure/storage/blobs/assign-azure-role-data-access; authorize-access-azure-active-directory;
 * learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes).
 */
export class AzureStorageRig {
  readonly blob: Azurite;
  readonly queue: Azurite;
  /** With `tls`: the CA that issued the services' certificate (trust it, nothing else), and the certificate. */
  readonly ca?: IssuedCertificate;
  private readonly cert?: IssuedCertificate;
  /** With `tls`: how the proxies read a bearer token, and each app's roles on the storage account. */
  entra?: {
    inspect(token: string): { appId: string; resource: string; expiresAt: number } | undefined;
    roles: Record<string, string[]>;
  };
  /** With `tls`: the Authorization scheme of every call through the proxies (`Bearer`, `SharedKey`, none). */
  readonly schemes: string[] = [];

  constructor(o: { tls?: boolean } = {}) {
    if (o.tls) {
      this.ca = certificateAuthority('Tributary Azurite test CA');
      this.cert = issueCertificate(this.ca, {
        commonName: '127.0.0.1',
        ips: ['127.0.0.1'],
        dnsNames: ['localhost'],
      });
    }
    this.blob = new Azurite('blob', { tls: this.cert });
    this.queue = new Azurite('queue', { tls: this.cert });
  }
  private servers: Server[] = [];
  /** The proxies' endpoints (what the account names). */
  blobUrl = '';
  queueUrl = '';
  /** `METHOD service path` of every call through the proxies. */
  readonly calls: string[] = [];
  /** `path range` of every blob read that asked for a range (`x-ms-range` or `range`). */
  readonly ranges: string[] = [];
  private busy = 0;
  private cut?: string;
  private holding?: { reached: () => void; released: Promise<void> };
  blobs!: BlobServiceClient;
  queues!: QueueServiceClient;

  async start(): Promise<void> {
    await Promise.all([this.blob.start(), this.queue.start()]);
    this.blobUrl = await this.proxy('blob', new URL(this.blob.endpoint));
    this.queueUrl = await this.proxy('queue', new URL(this.queue.endpoint));
    // The rig's own clients (filling containers and queues) trust the test CA for these endpoints only.
    const blobPipeline = newBlobPipeline(new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY));
    const queuePipeline = newQueuePipeline(new QueueKey(AZURITE_ACCOUNT, AZURITE_KEY));
    if (this.ca) {
      const agent = new HttpsAgent({ ca: this.ca.certificatePem });
      const trust = {
        create: (next: { sendRequest(r: unknown): Promise<unknown> }) => ({
          sendRequest: (web: { agent?: unknown }) => {
            web.agent = agent;
            return next.sendRequest(web);
          },
        }),
      };
      blobPipeline.factories.push(trust as never);
      queuePipeline.factories.push(trust as never);
    }
    this.blobs = new BlobServiceClient(this.blob.endpoint, blobPipeline);
    this.queues = new QueueServiceClient(this.queue.endpoint, queuePipeline);
  }

  /** The proxies' origins (where an account's credentials may go in these tests). */
  origins(): string[] {
    return [new URL(this.blobUrl).origin, new URL(this.queueUrl).origin];
  }

  async stop(): Promise<void> {
    this.holding = undefined;
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise((ok) => s.close(ok));
    }
    await Promise.all([this.blob.stop(), this.queue.stop()]);
  }

  /** The account fields that reach the emulator through the proxies with the well-known key. */
  account(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      accountName: AZURITE_ACCOUNT,
      accountKey: AZURITE_KEY,
      blobEndpoint: this.blobUrl,
      queueEndpoint: this.queueUrl,
      ...extra,
    };
  }

  /** The next blob read (GET with a body) whose path ends with `suffix` is cut off after half its bytes. */
  cutNextBody(suffix: string): void {
    this.cut = suffix;
  }

  /** The next `n` requests are answered 503 ServerBusy. */
  serverBusy(n: number): void {
    this.busy = n;
  }

  /**
   * Holds every Delete Message call (a process killed while its delete is in flight): `reached` resolves at
   * the first one; `release` drops them unsent and lets later deletes through.
   */
  holdDeletes(): { reached: Promise<void>; release(): void } {
    let reached!: () => void;
    let release!: () => void;
    const r = new Promise<void>((ok) => (reached = ok));
    this.holding = { reached, released: new Promise<void>((ok) => (release = ok)) };
    return {
      reached: r,
      release: () => {
        this.holding = undefined;
        release();
      },
    };
  }

  /** Calls that would change blobs, or queue calls other than receive (GET …/messages) and delete. */
  writes(): string[] {
    return this.calls.filter((c) => {
      const [method, service] = c.split(' ');
      if (service === 'blob') return method !== 'GET' && method !== 'HEAD';
      return method !== 'GET' && method !== 'DELETE';
    });
  }

  /** With `tls` and `entra`: the refusal Azure Storage answers a bearer token without the role, or undefined. */
  private rbac(service: string, method: string, auth: string | undefined, path: string) {
    const token = /^Bearer (.+)$/.exec(auth ?? '')?.[1];
    if (!token || !this.entra) return undefined;
    const t = this.entra.inspect(token);
    if (!t || t.expiresAt <= Date.now() || t.resource !== 'https://storage.azure.com')
      return {
        status: 401,
        code: 'InvalidAuthenticationInfo',
        message:
          'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.',
      };
    const roles = this.entra.roles[t.appId] ?? [];
    const allowed =
      service === 'blob'
        ? ['Storage Blob Data Reader', 'Storage Blob Data Contributor', 'Storage Blob Data Owner']
        : ['Storage Queue Data Message Processor', 'Storage Queue Data Contributor'];
    const dataCall = service === 'blob' || /\/messages(\/|$)/.test(path) || method === 'DELETE';
    if (dataCall && !roles.some((r) => allowed.includes(r)))
      return {
        status: 403,
        code: 'AuthorizationPermissionMismatch',
        message: 'This request is not authorized to perform this operation using this permission.',
      };
    return undefined;
  }

  private async proxy(service: string, target: URL): Promise<string> {
    const tls = this.cert;
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://x');
      this.calls.push(`${req.method} ${service} ${url.pathname}`);
      const auth = req.headers.authorization;
      this.schemes.push(auth ? auth.split(' ')[0]! : url.searchParams.has('sig') ? 'SAS' : 'none');
      const refused = tls ? this.rbac(service, req.method ?? 'GET', auth, url.pathname) : undefined;
      if (refused) {
        req.resume();
        res.writeHead(refused.status, {
          'x-ms-error-code': refused.code,
          'content-type': 'application/xml',
          ...(refused.status === 401 && {
            'www-authenticate':
              'Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize resource_id=https://storage.azure.com',
          }),
        });
        res.end(
          `<?xml version="1.0" encoding="utf-8"?><Error><Code>${refused.code}</Code><Message>${refused.message}\nRequestId:00000000-0000-0000-0000-000000000000\nTime:${new Date().toISOString()}</Message></Error>`,
        );
        return;
      }
      const range = req.headers['x-ms-range'] ?? req.headers.range;
      if (service === 'blob' && range) this.ranges.push(`${url.pathname} ${range}`);
      if (this.busy > 0) {
        this.busy--;
        req.resume();
        res.writeHead(503, { 'x-ms-error-code': 'ServerBusy', 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy.</Message></Error>',
        );
        return;
      }
      const forward = () => {
        const up = (tls ? httpsRequest : request)(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: target.host },
            ...(tls && { ca: this.ca!.certificatePem }),
          },
          (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            const length = Number(upRes.headers['content-length'] ?? 0);
            if (
              service === 'blob' &&
              req.method === 'GET' &&
              this.cut &&
              url.pathname.endsWith(this.cut) &&
              upRes.statusCode! < 300 &&
              length > 1
            ) {
              // A connection lost mid-body: half the bytes, then the socket closes.
              this.cut = undefined;
              let sent = 0;
              upRes.on('data', (chunk: Buffer) => {
                if (sent >= length / 2) return;
                const part = chunk.subarray(0, Math.max(0, Math.floor(length / 2) - sent));
                sent += part.length;
                res.write(part);
                if (sent >= Math.floor(length / 2)) res.destroy();
              });
              return;
            }
            upRes.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        req.pipe(up);
      };
      const hold = this.holding;
      if (service === 'queue' && req.method === 'DELETE' && hold) {
        hold.reached();
        // The caller is killed while its delete is held: the delete never reaches the queue.
        void hold.released.then(() => res.destroy());
        return;
      }
      forward();
    };
    const server: Server = tls
      ? (createHttpsServer(
          { cert: tls.certificatePem, key: tls.privateKeyPem },
          handler,
        ) as unknown as Server)
      : createServer(handler);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    this.servers.push(server);
    return `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}/${AZURITE_ACCOUNT}`;
  }
}

/**
 * A collector of `source` on the rig's storage (the `azure-storage` account with the emulator's key), with
 * its own SQLite store and a manual clock, run by the real runner.
 */
export async function storageCollector(
  az: AzureStorageRig,
  o: {
    source: SourceDef;
    settings: Record<string, unknown>;
    streams: string[];
    store: SqliteStore;
    clock: ManualClock;
    key: string;
  },
) {
  await o.store.migrate();
  const at = new Date().toISOString();
  await o.store.putCollector({
    id: `c-${o.key}`,
    name: o.key,
    source: o.source.id,
    config: {},
    enabled: true,
    secrets: {},
    createdAt: at,
    updatedAt: at,
  });
  const account = azureStorageFields.parse(az.account());
  const dest = new MemoryDestination();
  const collector = (destinations: Destination[]): ResolvedCollector => ({
    id: `c-${o.key}`,
    name: o.key,
    source: o.source,
    accountKind: azureStorage,
    account,
    accountKey: `acc-${o.key}`,
    settings: o.settings,
    streams: o.streams,
    destinations,
    window: { lookbackMs: 6 * 3_600_000 },
  });
  return {
    dest,
    run: (extra: Partial<RunOptions> = {}, destinations: Destination[] = [dest]) =>
      runCollector(collector(destinations), {
        store: o.store,
        log: silentLogger,
        rateLimits: new RateLimits(null),
        now: o.clock.now,
        destinationBackoff: { baseMs: 1, maxMs: 5 },
        http: { backoffBaseMs: 1 },
        ...extra,
      }),
  };
}
