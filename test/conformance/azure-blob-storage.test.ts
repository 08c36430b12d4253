import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  QueueClient,
  StorageSharedKeyCredential,
} from '@azure/storage-queue';
import { blobObjectStore, containerClient } from '../../src/accounts/azure-objects.ts';
import { azureStorage, azureStorageFields } from '../../src/accounts/azure-storage.ts';
import type { Destination } from '../../src/core/destination.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../../src/destinations/azure-blob/azurite.ts';
import { OriginSet } from '../../src/engine/credential-origins.ts';
import { Http } from '../../src/engine/http.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { objectId } from '../../src/engine/object-notification.ts';
import { RateLimits } from '../../src/engine/rate-limit.ts';
import { type ResolvedCollector, type RunOptions, runCollector } from '../../src/engine/runner.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import blobSource, { blobsOf } from '../../src/sources/azure-blob-storage/index.ts';
import { sources } from '../../src/sources/index.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { AzureStorageRig } from '../support/azure-storage.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Conformance of `azure-blob-storage` (an object-notification source: its own suite) against Azurite, the
 * real Azure Storage emulator (blob and queue services), through the official SDKs, the real runner, store
 * and `azure-storage` account: the exact record set from Event Grid BlobCreated notifications
 * (base64-encoded Event Grid schema and plain CloudEvents), other event types and other containers; a
 * crash at every batch boundary and between delivery and the delete; redelivery repeating nothing;
 * `continuous` append blobs read on from the last complete line; the listing fallback; 503 ServerBusy
 * retried; Test Connection naming the missing SAS permission; the egress policy; no write but the declared
 * receive and delete. Event Grid itself is not emulated: the tests enqueue what its Storage Queue handler
 * delivers (learn.microsoft.com/azure/event-grid/event-schema-blob-storage, "Example events").
 */

const fresh = tempDirs('tributary-azblob');
const az = new AzureStorageRig();
const stores: SqliteStore[] = [];
before(() => az.start());
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await az.stop();
});

let n = 0;
const VISIBILITY = 1;

interface Rig {
  container: string;
  queue: string;
  dest: MemoryDestination;
  settings: Record<string, unknown>;
  queueClient: QueueClient;
  run(extra?: Partial<RunOptions>, destinations?: Destination[]): ReturnType<typeof runCollector>;
}

async function rig(
  o: { settings?: Record<string, unknown>; account?: Record<string, unknown>; origins?: string[] } = {},
): Promise<Rig> {
  n++;
  const container = `logs-${n}`;
  const queue = `events-${n}`;
  await az.blobs.getContainerClient(container).create();
  const queueClient = az.queues.getQueueClient(queue);
  await queueClient.create();
  const store = await SqliteStore.open(fresh());
  stores.push(store);
  await store.migrate();
  const at = new Date().toISOString();
  await store.putCollector({
    id: 'c-az',
    name: 'az',
    source: 'azure-blob-storage',
    config: {},
    enabled: true,
    secrets: {},
    createdAt: at,
    updatedAt: at,
  });
  const settings = blobSource.settings.parse({
    container,
    queueName: queue,
    idField: 'id',
    timeField: 'time',
    visibilityTimeoutSeconds: VISIBILITY,
    ...o.settings,
  }) as unknown as Record<string, unknown>;
  const account = azureStorageFields.parse(az.account(o.account));
  const dest = new MemoryDestination();
  const collector = (destinations: Destination[]): ResolvedCollector => ({
    id: 'c-az',
    name: 'az',
    source: blobSource,
    accountKind: azureStorage,
    account,
    accountKey: `acc-${n}`,
    settings,
    streams: ['blobs'],
    destinations,
    window: { lookbackMs: 86_400_000 },
    credentialOrigins: {
      set: new OriginSet(o.origins ?? azureStorage.origins!(account)),
      account: 'az-main',
    },
  });
  return {
    container,
    queue,
    dest,
    settings,
    queueClient,
    run: (extra = {}, destinations = [dest]) =>
      runCollector(collector(destinations), {
        store,
        log: silentLogger,
        rateLimits: new RateLimits(null),
        destinationBackoff: { baseMs: 1, maxMs: 5 },
        http: { backoffBaseMs: 1 },
        ...extra,
      }),
  };
}

/** App log records as JSON lines. */
function records(tag: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    id: `${tag}-${i}`,
    time: `2026-12-06T10:${String(i % 60).padStart(2, '0')}:00Z`,
    level: i % 7 ? 'info' : 'warn',
    msg: `request ${i} served`,
  }));
}
const ndjson = (rs: object[]) => `${rs.map((r) => JSON.stringify(r)).join('\n')}\n`;

async function putBlob(r: Rig, name: string, body: string | Buffer) {
  const res = await az.blobs
    .getContainerClient(r.container)
    .getBlockBlobClient(name)
    .upload(body, Buffer.byteLength(body));
  return { etag: res.etag!.replace(/"/g, ''), size: Buffer.byteLength(body) };
}

/** A BlobCreated event in the Event Grid schema (event-schema-blob-storage, "Example events"). */
function blobCreated(
  container: string,
  name: string,
  b: { etag: string; size: number },
  type = 'Microsoft.Storage.BlobCreated',
) {
  return {
    topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/logs/providers/Microsoft.Storage/storageAccounts/${AZURITE_ACCOUNT}`,
    subject: `/blobServices/default/containers/${container}/blobs/${name}`,
    eventType: type,
    eventTime: '2026-12-06T10:59:00.9584103Z',
    id: `831e1650-001e-001b-66ab-${String(n).padStart(12, '0')}`,
    data: {
      api: 'PutBlob',
      clientRequestId: '6d79dbfb-0e37-4fc4-981f-442c9ca65760',
      requestId: '831e1650-001e-001b-66ab-eeb76e000000',
      eTag: b.etag,
      contentType: 'application/x-ndjson',
      contentLength: b.size,
      blobType: 'BlockBlob',
      url: `https://${AZURITE_ACCOUNT}.blob.core.windows.net/${container}/${name}`,
      sequencer: '00000000000004420000000000028963',
      storageDiagnostics: { batchId: 'b68529f3-68cd-4744-baa4-3c0498ec19f0' },
    },
    dataVersion: '',
    metadataVersion: '1',
  };
}

/** What Event Grid's Storage Queue handler enqueues: the event's JSON, base64-encoded. */
const send = (r: Rig, event: unknown, encode = true) =>
  r.queueClient.sendMessage(
    encode ? Buffer.from(JSON.stringify(event)).toString('base64') : JSON.stringify(event),
  );

/** Visible messages, waited for with a deadline (the visibility timeout of a killed run's receive). */
async function waitVisible(r: Rig, count: number, deadlineMs = 15_000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const peek = await r.queueClient.peekMessages({ numberOfMessages: 32 });
    if (peek.peekedMessageItems.length >= count) return;
    if (Date.now() > end)
      throw new Error(`only ${peek.peekedMessageItems.length} of ${count} messages visible`);
    await new Promise((ok) => setImmediate(ok));
  }
}
const pending = async (r: Rig) => (await r.queueClient.getProperties()).approximateMessagesCount ?? -1;

/** Three blobs (one gzip), a duplicate notification, a deletion, another container's blob, a CloudEvent. */
async function fill(r: Rig): Promise<string[]> {
  const a = records('a', 2300);
  const b = records('b', 40);
  const c = records('c', 7);
  const ea = await putBlob(r, 'app/2026/12/06/a.ndjson', ndjson(a));
  const eb = await putBlob(r, 'app/2026/12/06/b.ndjson.gz', gzipSync(ndjson(b)));
  const ec = await putBlob(r, 'app/2026/12/06/c d.ndjson', ndjson(c));
  await send(r, blobCreated(r.container, 'app/2026/12/06/a.ndjson', ea));
  await send(r, blobCreated(r.container, 'app/2026/12/06/b.ndjson.gz', eb));
  await send(r, blobCreated(r.container, 'app/2026/12/06/a.ndjson', ea)); // Event Grid delivers at least once
  await send(r, blobCreated(r.container, 'app/2026/12/06/b.ndjson.gz', eb, 'Microsoft.Storage.BlobDeleted'));
  await send(r, blobCreated('another-container', 'x.ndjson', ea)); // a dead letter
  const cloud = blobCreated(r.container, 'app/2026/12/06/c d.ndjson', ec);
  await send(
    r,
    {
      specversion: '1.0',
      type: cloud.eventType,
      source: cloud.topic,
      subject: cloud.subject,
      id: cloud.id,
      time: cloud.eventTime,
      data: cloud.data,
    },
    false,
  );
  return [...a, ...b, ...c].map((x) => x.id);
}

describe('conformance: azure-blob-storage (Azurite blob + queue, official SDKs)', () => {
  it('is registered as an object-storage source with its declared writes', () => {
    assert.equal(sources['azure-blob-storage'], blobSource);
    assert.equal(blobSource.family, 'object-storage');
    assert.equal(blobSource.stability, 'early-access');
    assert.equal(blobSource.vendorWrites?.length, 2);
  });

  it('drains every record once; skips other event types; another container’s event is a dead letter; a redelivery repeats nothing', async () => {
    // Messages stay hidden for the whole run (a busy machine can take longer than VISIBILITY to
    // read the three blobs; a reappearing dead letter would be counted twice, as at-least-once allows).
    const r = await rig({ settings: { visibilityTimeoutSeconds: 120 } });
    const expected = await fill(r);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(expected));
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal(res.deadLetters, 1, 'the other container’s notification');
    assert.equal(await pending(r), 0, 'every message deleted');
    const e = r.dest.events.find((x) => x.id === 'a-7')!;
    assert.equal(e.time, '2026-12-06T10:07:00.000Z');
    assert.equal(JSON.parse(JSON.stringify(e.raw)).level, 'warn'); // the record's exact text (a RawJson)
    assert.deepEqual(az.writes(), [], 'no write but receive and delete');
    const gets = az.calls.filter((c) => c.startsWith(`GET blob /${AZURITE_ACCOUNT}/${r.container}/`));
    assert.equal(gets.length, 3, `each blob read once: ${gets.join(', ')}`);

    const eb = (
      await az.blobs
        .getContainerClient(r.container)
        .getBlobClient('app/2026/12/06/b.ndjson.gz')
        .getProperties()
    ).etag!;
    await send(
      r,
      blobCreated(r.container, 'app/2026/12/06/b.ndjson.gz', { etag: eb.replace(/"/g, ''), size: 1 }),
    );
    const again = await r.run();
    assert.equal(again.status, 'succeeded', JSON.stringify(again.error));
    assert.equal(again.events, 0, 'the redelivered blob is known as done');
    assert.equal(await pending(r), 0);
  });

  it('a crash at every batch boundary loses nothing; duplicates only from the batch in flight', async () => {
    const probe = await rig();
    await fill(probe);
    await probe.run();
    const batches = probe.dest.batches.length;
    assert.ok(batches >= 4, `several batches (${batches})`);
    for (let k = 1; k <= batches; k++) {
      for (const written of [false, true]) {
        const r = await rig();
        const expected = await fill(r);
        const crash = new AbortController();
        let inFlight: string[] = [];
        const dest = new MemoryDestination();
        const crashing: Destination = {
          name: 'crashing',
          kind: 'memory',
          send: async (events) => {
            if (!crash.signal.aborted && dest.batches.length + 1 === k) {
              if (written) await dest.send(events);
              inFlight = events.map((e) => e.id);
              crash.abort();
              throw new Error('process killed');
            }
            return dest.send(events);
          },
          close: async () => {},
        };
        const first = await r.run({ signal: crash.signal }, [crashing]);
        assert.equal(first.status, 'cancelled');
        const left = await pending(r);
        await waitVisible(r, Math.min(32, left)); // the killed run's messages reappear
        const second = await r.run({}, [crashing]);
        assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
        const ids = dest.ids();
        assert.deepEqual(sorted([...new Set(ids)]), sorted(expected), `crash at batch ${k}: no loss`);
        if (!written) assert.deepEqual(duplicates(ids), [], `crash at batch ${k} before the write`);
        else for (const d of duplicates(ids)) assert.ok(inFlight.includes(d), `duplicate ${d} in flight`);
        assert.equal(await pending(r), 0, `crash at batch ${k}: every message deleted in the end`);
      }
    }
  });

  it('a delete lost after delivery: the message comes back, repeats nothing and is deleted', async () => {
    const r = await rig();
    const expected = await fill(r);
    const original = QueueClient.prototype.deleteMessage;
    let deletes = 0;
    QueueClient.prototype.deleteMessage = function (
      this: QueueClient,
      ...args: Parameters<QueueClient['deleteMessage']>
    ) {
      if (++deletes === 2) return Promise.reject(new Error('process killed before the delete'));
      return original.apply(this, args);
    };
    let first: Awaited<ReturnType<typeof r.run>>;
    try {
      first = await r.run();
    } finally {
      QueueClient.prototype.deleteMessage = original;
    }
    const delivered = r.dest.ids().length;
    assert.ok(delivered >= 2300, `the first blob was delivered (${delivered}; ${first.status})`);
    assert.ok((await pending(r)) >= 1, 'the message whose delete was lost is still queued');
    for (let i = 0; i < 3 && (await pending(r)) > 0; i++) {
      await waitVisible(r, 1);
      const again = await r.run();
      assert.equal(again.status, 'succeeded', JSON.stringify(again.error));
    }
    assert.deepEqual(sorted(r.dest.ids()), sorted(expected), 'nothing lost');
    assert.deepEqual(duplicates(r.dest.ids()), [], 'nothing repeated');
    assert.equal(await pending(r), 0, 'deleted in the end');
  });

  it('503 ServerBusy answers are retried by the SDK; nothing lost or repeated', async () => {
    const r = await rig();
    const expected = await fill(r);
    az.serverBusy(2);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(expected));
    assert.deepEqual(duplicates(r.dest.ids()), []);
  });

  it('a blob body cut off mid-way is read on from where it broke; an empty blob delivers nothing', async () => {
    const r = await rig();
    const expected = await fill(r);
    const empty = await putBlob(r, 'app/2026/12/06/empty.ndjson', '');
    await send(r, blobCreated(r.container, 'app/2026/12/06/empty.ndjson', empty));
    az.cutNextBody('/a.ndjson');
    const before = az.calls.length;
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(expected));
    assert.deepEqual(duplicates(r.dest.ids()), []);
    const reads = az.calls.slice(before).filter((c) => c.startsWith('GET blob') && c.endsWith('/a.ndjson'));
    assert.ok(reads.length >= 2, `the cut blob was asked for again (${reads.length})`);
    const resumed = az.ranges.filter((x) => x.includes(`${r.container}/app/2026/12/06/a.ndjson`));
    assert.ok(
      resumed.some((x) => /bytes=([1-9]\d*)-/.test(x)),
      `read on from the byte where it broke: ${resumed.join(', ')}`,
    );
    assert.equal(await pending(r), 0);
  });

  it('continuous: append blobs are read on from the last complete line, with stable ids', async () => {
    const r = await rig({
      settings: { queueName: undefined, syncStrategy: 'continuous', prefix: 'stream/', idField: undefined },
    });
    const container = az.blobs.getContainerClient(r.container);
    const log = container.getAppendBlobClient('stream/app.log');
    await log.create();
    const append = (s: string) => log.appendBlock(s, Buffer.byteLength(s));
    await append('{"n":1}\n{"n":2}\n{"n":');
    await putBlob(r, 'other/ignored.log', '{"n":"outside the prefix"}\n');
    const first = await r.run();
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.deepEqual(
      r.dest.events.map((e) => JSON.parse(JSON.stringify(e.raw)).n),
      [1, 2],
      'the partial line waits',
    );
    await append('3}\n{"n":4}\n');
    const second = await r.run();
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.deepEqual(
      r.dest.events.map((e) => JSON.parse(JSON.stringify(e.raw)).n),
      [1, 2, 3, 4],
    );
    assert.deepEqual(duplicates(r.dest.ids()), []);
    const idOf3 = r.dest.events[2]!.id;
    assert.equal(
      idOf3,
      `${objectId({ bucket: r.container, key: 'stream/app.log' })}@16`,
      'the id names the container, the blob and the line’s byte offset',
    );
    // a crash before the commit re-reads from the committed offset with the same ids
    await append('{"n":5}\n');
    const crash = new AbortController();
    const d = new MemoryDestination();
    d.failOn(1, () => {
      crash.abort();
      throw new Error('process killed');
    });
    assert.equal((await r.run({ signal: crash.signal }, [d])).status, 'cancelled');
    const third = await r.run();
    assert.equal(third.status, 'succeeded', JSON.stringify(third.error));
    assert.deepEqual(
      r.dest.events.map((e) => JSON.parse(JSON.stringify(e.raw)).n),
      [1, 2, 3, 4, 5],
    );
    const calls = az.calls.filter((c) => c.includes('/ignored.log'));
    assert.deepEqual(calls, [], 'nothing outside the prefix read');
  });

  it('without a queue, lists the prefix in name order and resumes after the last blob read', async () => {
    const r = await rig({ settings: { queueName: undefined, prefix: 'app/' } });
    const want = [...records('x', 12), ...records('y', 5)];
    await putBlob(r, 'app/2026/12/05/x.ndjson', ndjson(want.slice(0, 12)));
    await putBlob(r, 'app/2026/12/06/y.ndjson', ndjson(want.slice(12)));
    await putBlob(r, 'audit/z.ndjson', ndjson(records('z', 3)));
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(want.map((x) => x.id)));
    const more = records('w', 2);
    await putBlob(r, 'app/2026/12/06/z.ndjson', ndjson(more));
    const next = await r.run();
    assert.equal(next.status, 'succeeded', JSON.stringify(next.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted([...want, ...more].map((x) => x.id)), 'only the new blob');
    assert.ok(
      !az.calls.some((c) => c.startsWith(`GET queue /${AZURITE_ACCOUNT}/${r.queue}`)),
      'no queue used',
    );
  });

  it('the listing adapter pages with markers and resumes after a name without starting over within a run', async () => {
    const r = await rig({ settings: { queueName: undefined } });
    for (const name of ['p/a', 'p/b', 'p/c', 'p/d', 'p/e', 'q/z']) await putBlob(r, name, '{}\n');
    const http = new Http({ vendor: 'Azure Blob Storage' });
    const account = azureStorageFields.parse(az.account()) as never;
    const signal = new AbortController().signal;
    const store = blobObjectStore(containerClient(http, account, r.container), { pageSize: 2 });
    const keys = async (startAfter?: string) => {
      const page = await store.list({ prefix: 'p/', startAfter, signal });
      return { keys: page.objects.map((o) => o.key), more: page.more };
    };
    const before = az.calls.length;
    assert.deepEqual(await keys(), { keys: ['p/a', 'p/b'], more: true });
    assert.deepEqual(await keys('p/b'), { keys: ['p/c', 'p/d'], more: true });
    assert.deepEqual(await keys('p/d'), { keys: ['p/e'], more: false });
    assert.equal(az.calls.length - before, 3, 'one List Blobs per page: each page’s marker reused');
    // a new run (a fresh store) resumes after a name by skipping the pages before it
    const again = blobObjectStore(containerClient(http, account, r.container), { pageSize: 2 });
    const page = await again.list({ prefix: 'p/', startAfter: 'p/c', signal });
    assert.deepEqual(
      page.objects.map((o) => o.key),
      ['p/d'],
    );
    assert.equal(page.more, true);
    assert.ok(page.objects[0]!.etag && !page.objects[0]!.etag.includes('"'), 'etags unquoted');
  });

  it('Test Connection proves credentials and each permission, naming the one a SAS lacks', async () => {
    const r = await rig();
    await fill(r);
    const probe = (account: Record<string, unknown>) =>
      testConnection(blobSource, azureStorage, azureStorageFields.parse(az.account(account)), r.settings, [
        'blobs',
      ]);
    assert.deepEqual(await probe({}), { ok: true });
    const sas = (permissions: string) =>
      generateAccountSASQueryParameters(
        {
          expiresOn: new Date(Date.now() + 3_600_000),
          permissions: AccountSASPermissions.parse(permissions),
          services: AccountSASServices.parse('bq').toString(),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
        },
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      ).toString();
    const withSas = (permissions: string) => probe({ accountKey: undefined, blobSasToken: sas(permissions) });
    assert.deepEqual(await withSas('rlp'), { ok: true }, 'an account SAS with Read, List and Process');
    const serviceSas = (services: string, permissions: string) =>
      generateAccountSASQueryParameters(
        {
          expiresOn: new Date(Date.now() + 3_600_000),
          permissions: AccountSASPermissions.parse(permissions),
          services: AccountSASServices.parse(services).toString(),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
        },
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      ).toString();
    assert.deepEqual(
      await probe({
        accountKey: undefined,
        blobSasToken: serviceSas('b', 'rl'),
        queueSasToken: serviceSas('q', 'p'),
      }),
      { ok: true },
      'a blob SAS and a queue SAS',
    );
    assert.deepEqual(
      await probe({
        accountName: undefined,
        accountKey: undefined,
        blobEndpoint: undefined,
        queueEndpoint: undefined,
        connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${az.blobUrl};QueueEndpoint=${az.queueUrl};`,
      }),
      { ok: true },
      'a connection string',
    );
    for (const [perms, named] of [
      ['rl', /Process/],
      ['rp', /List/],
      ['lp', /Read/],
    ] as const) {
      const res = await withSas(perms);
      assert.equal(res.ok, false, `sp=${perms} refused`);
      if (res.ok) continue;
      assert.equal(res.error.type, 'config');
      assert.match(res.error.message, named, JSON.stringify(res.error));
      assert.ok(!JSON.stringify(res.error).includes('sig='), 'no SAS in the error');
    }
    const wrong = await probe({ accountKey: Buffer.from('not-the-key').toString('base64') });
    assert.equal(wrong.ok, false);
    if (!wrong.ok) {
      assert.equal(wrong.error.code, 'azure_auth_failed', JSON.stringify(wrong.error));
      assert.ok(!JSON.stringify(wrong.error).includes(Buffer.from('not-the-key').toString('base64')));
    }
    const noQueue = await testConnection(
      blobSource,
      azureStorage,
      azureStorageFields.parse(az.account()),
      { ...r.settings, queueName: 'missing-queue' },
      ['blobs'],
    );
    assert.equal(noQueue.ok, false);
    if (!noQueue.ok) assert.equal(noQueue.error.code, 'azure_queue_not_found', JSON.stringify(noQueue.error));
  });

  it('credentials go only to the account’s origins; metadata addresses are refused', async () => {
    const acct = azureStorageFields.parse({
      accountName: 'acme',
      blobSasToken: 'sv=2024-11-04&sp=rl&sig=x',
    }) as never;
    assert.deepEqual(azureStorage.origins!(acct), [
      'https://acme.blob.core.windows.net',
      'https://acme.queue.core.windows.net',
    ]);
    const r = await rig({ account: { blobEndpoint: 'https://169.254.169.254/devstoreaccount1' } });
    await putBlob(r, 'a.ndjson', ndjson(records('m', 2)));
    await send(r, blobCreated(r.container, 'a.ndjson', { etag: 'x', size: 1 }));
    const before = az.calls.length;
    const res = await r.run();
    assert.equal(res.status, 'failed');
    assert.equal(res.error?.code, 'egress_refused', JSON.stringify(res.error));
    assert.equal(r.dest.ids().length, 0);
    assert.ok(!az.calls.slice(before).some((c) => c.includes(' blob ')), 'no blob request sent');
    // an account whose saved origins do not include where a request would go: nothing is sent
    const moved = await rig({ origins: ['https://acme.blob.core.windows.net'] });
    await putBlob(moved, 'a.ndjson', ndjson(records('m', 2)));
    const sentBefore = az.calls.length;
    const refused = await moved.run({}, [moved.dest]);
    assert.equal(refused.status, 'failed');
    assert.equal(refused.error?.code, 'credential_origin_refused', JSON.stringify(refused.error));
    assert.equal(az.calls.length, sentBefore, 'no request reached the storage account');
  });

  it('reads BlobCreated in both schemas, base64 or plain; skips other types and prefixes; refuses other containers', () => {
    const m = (body: string) => ({ id: 'm', receipt: 'r', body });
    const ev = blobCreated('logs', 'app/x.ndjson', { etag: '0x8D4BCC2E4835CD0', size: 12 });
    const b64 = Buffer.from(JSON.stringify(ev)).toString('base64');
    assert.deepEqual(blobsOf(m(b64), { container: 'logs' }), [
      { bucket: 'logs', key: 'app/x.ndjson', etag: '0x8D4BCC2E4835CD0', size: 12 },
    ]);
    assert.equal(blobsOf(m(JSON.stringify([ev, ev])), { container: 'logs' }).length, 2, 'an array of events');
    assert.deepEqual(blobsOf(m(JSON.stringify(ev)), { container: 'logs', prefix: 'other/' }), []);
    assert.deepEqual(
      blobsOf(m(JSON.stringify({ ...ev, eventType: 'Microsoft.Storage.BlobDeleted' })), {
        container: 'logs',
      }),
      [],
    );
    const { subject: _, ...noSubject } = ev;
    assert.equal(
      blobsOf(
        m(
          JSON.stringify({
            ...noSubject,
            data: { ...ev.data, url: 'https://a.blob.core.windows.net/logs/app/c%20d.ndjson' },
          }),
        ),
        {
          container: 'logs',
        },
      )[0]!.key,
      'app/c d.ndjson',
      'data.url decoded when there is no subject',
    );
    assert.throws(() => blobsOf(m(JSON.stringify(ev)), { container: 'other' }), /names container logs/);
    assert.throws(() => blobsOf(m('not json!'), { container: 'logs' }), /neither JSON nor base64/);
    assert.throws(() => blobsOf(m(JSON.stringify({ hello: 1 })), { container: 'logs' }), /eventType/);
  });

  it('settings: continuous takes no queue and reads lines or ndjson only; one kind of credential', () => {
    const bad = blobSource.settings.safeParse({
      container: 'logs',
      queueName: 'q-1',
      syncStrategy: 'continuous',
      format: 'csv',
    });
    assert.equal(bad.success, false);
    if (!bad.success)
      assert.deepEqual(sorted(bad.error.issues.map((i) => i.path.join('.'))), ['format', 'queueName']);
    const two = azureStorageFields.safeParse({
      accountName: 'acme',
      accountKey: 'a2V5',
      blobSasToken: 'sv=1&sig=x',
    });
    assert.equal(two.success, false);
    const none = azureStorageFields.safeParse({ accountName: 'acme' });
    assert.equal(none.success, false);
    if (!none.success) assert.match(none.error.issues[0]!.message, /SAS tokens/);
  });
});
