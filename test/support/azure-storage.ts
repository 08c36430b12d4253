import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { StorageSharedKeyCredential as QueueKey, QueueServiceClient } from '@azure/storage-queue';
import { azureStorage, azureStorageFields } from '../../src/accounts/azure-storage.ts';
import type { Destination } from '../../src/core/destination.ts';
import type { SourceDef } from '../../src/core/source.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, Azurite } from '../../src/destinations/azure-blob/azurite.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { RateLimits } from '../../src/engine/rate-limit.ts';
import { type ResolvedCollector, type RunOptions, runCollector } from '../../src/engine/runner.ts';
import type { ManualClock } from '../../src/sim/kit.ts';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { MemoryDestination } from './memory-destination.ts';

/**
 * Azurite's blob and queue services (the real Azure Storage emulator), each behind a small recording proxy
 * on 127.0.0.1: tests count the calls Tributary makes (a blob write or a queue write other than the declared
 * receive and delete fails them), hold and drop Delete Message calls (a process killed while a delete is in flight)
 * cut a blob's body off mid-way (a lost connection), and answer the next requests with a 503 ServerBusy (learn.microsoft.com/rest/api/storageservices/
 * common-rest-api-error-codes: "ServerBusy … 503"), as Azure Storage does when throttling.
 */
export class AzureStorageRig {
  readonly blob = new Azurite('blob');
  readonly queue = new Azurite('queue');
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
    this.blobs = new BlobServiceClient(
      this.blob.endpoint,
      new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    );
    this.queues = new QueueServiceClient(this.queue.endpoint, new QueueKey(AZURITE_ACCOUNT, AZURITE_KEY));
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

  private async proxy(service: string, target: URL): Promise<string> {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      this.calls.push(`${req.method} ${service} ${url.pathname}`);
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
        const up = request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: target.host },
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
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    this.servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/${AZURITE_ACCOUNT}`;
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
