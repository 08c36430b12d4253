import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { azureStorage, azureStorageFields } from '../../src/accounts/azure-storage.ts';
import { type MicrosoftAccount, microsoft, microsoftFields } from '../../src/accounts/microsoft.ts';
import type { SourceDef } from '../../src/core/source.ts';
import { AZURITE_ACCOUNT } from '../../src/destinations/azure-blob/azurite.ts';
import { OriginSet } from '../../src/engine/credential-origins.ts';
import { Http } from '../../src/engine/http.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { tokenCache } from '../../src/engine/oauth.ts';
import { RateLimits } from '../../src/engine/rate-limit.ts';
import { runCollector } from '../../src/engine/runner.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import { SimServer } from '../../src/sim/kit.ts';
import { EntraIdentitySim } from '../../src/sim/microsoft.ts';
import blobSource from '../../src/sources/azure-blob-storage/index.ts';
import analyticsSource from '../../src/sources/azure-storage-analytics/index.ts';
import flowLogsSource from '../../src/sources/azure-vnet-flow-logs/index.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { AzureStorageRig } from '../support/azure-storage.ts';
import { sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * The storage sources (azure-blob-storage, azure-storage-analytics, azure-vnet-flow-logs) on the shared
 * `microsoft` account: an Entra ID app whose token for `https://storage.azure.com/.default` the official SDKs
 * send as `Authorization: Bearer` (accounts/microsoft-credential.ts). Against Azurite over HTTPS with
 * `--oauth basic` (it checks the token's issuer, audience and lifetime: the simulated Entra ID issues tokens
 * shaped as Entra's v1.0 access tokens), a certificate for 127.0.0.1 issued at test time by a throwaway CA
 * that only these clients trust (`tlsTrust` of the engine's HTTP client; verification stays on), behind the
 * rig's proxies, which stand for Azure RBAC (the app's data roles; Azurite checks none).
 */

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '3c1e5f0a-7b2d-4e6f-9a8b-1c2d3e4f5a6b';
const SECRET = 'storage~rbac~s3cret';
const BLOB_READER = 'Storage Blob Data Reader';
const QUEUE_PROCESSOR = 'Storage Queue Data Message Processor';

const fresh = tempDirs('tributary-azrbac');
const az = new AzureStorageRig({ tls: true });
const entra = new SimServer({ name: 'entra' });
const identity = new EntraIdentitySim(entra, {
  tenantId: TENANT,
  clientId: CLIENT,
  clientSecret: SECRET,
  resources: ['https://storage.azure.com'],
});
const stores: SqliteStore[] = [];
before(async () => {
  tokenCache.clear();
  await entra.start();
  await az.start();
  az.entra = { inspect: (t) => identity.inspect(t), roles: { [CLIENT]: [BLOB_READER, QUEUE_PROCESSOR] } };
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await az.stop();
  await entra.stop();
});

const app = (over: Record<string, unknown> = {}): MicrosoftAccount =>
  microsoftFields.parse({
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecret: SECRET,
    authorityHost: entra.url,
    ...over,
  });
/** The collector settings naming the storage account (here the proxies in front of Azurite). */
const where = () => ({
  storageAccount: AZURITE_ACCOUNT,
  blobEndpoint: az.blobUrl,
  queueEndpoint: az.queueUrl,
});
/** The emulator's test CA, trusted for its endpoints only. */
const trust = () => ({ tlsTrust: { ca: [az.ca!.certificatePem], origins: az.origins() } });
/** The account's origins, and the emulator's (as an admin adds a private endpoint to the account). */
const origins = (a: MicrosoftAccount) => ({
  set: new OriginSet([...microsoft.origins!(a), ...az.origins()]),
  account: 'entra-app',
});
const roles = (...r: string[]) => {
  az.entra!.roles[CLIENT] = r;
};

const probe = (source: SourceDef, settings: Record<string, unknown>, account = app()) =>
  testConnection(
    source,
    microsoft,
    account,
    source.settings.parse({ ...where(), ...settings }),
    Object.keys(source.streams),
    AbortSignal.timeout(30_000),
    origins(account),
    trust(),
  );

let n = 0;
async function containerWithQueue() {
  n++;
  const container = `rbac-${n}`;
  const queue = `rbac-events-${n}`;
  await az.blobs.getContainerClient(container).create();
  await az.queues.getQueueClient(queue).create();
  return { container, queue };
}

describe('storage sources on the microsoft account (Entra ID app, Azure RBAC) against Azurite over HTTPS', () => {
  it('the sources accept a microsoft account besides an azure-storage one', () => {
    for (const s of [blobSource, analyticsSource, flowLogsSource])
      assert.deepEqual(s.accounts, ['azure-storage', 'microsoft'], s.id);
  });

  it('azure-blob-storage reads notified blobs end to end with the app’s bearer token, asked once for Storage', async () => {
    roles(BLOB_READER, QUEUE_PROCESSOR);
    tokenCache.clear();
    const { container, queue } = await containerWithQueue();
    const body = `${[0, 1, 2].map((i) => JSON.stringify({ id: `r-${i}`, msg: `m${i}` })).join('\n')}\n`;
    const up = await az.blobs
      .getContainerClient(container)
      .getBlockBlobClient('app/a.ndjson')
      .upload(body, Buffer.byteLength(body));
    const event = {
      topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/logs/providers/Microsoft.Storage/storageAccounts/${AZURITE_ACCOUNT}`,
      subject: `/blobServices/default/containers/${container}/blobs/app/a.ndjson`,
      eventType: 'Microsoft.Storage.BlobCreated',
      eventTime: '2026-12-07T10:00:00.0000000Z',
      id: '831e1650-001e-001b-66ab-eeb76e069631',
      data: { api: 'PutBlob', eTag: up.etag, contentLength: Buffer.byteLength(body), blobType: 'BlockBlob' },
      dataVersion: '',
      metadataVersion: '1',
    };
    const q = az.queues.getQueueClient(queue);
    await q.sendMessage(Buffer.from(JSON.stringify(event)).toString('base64'));

    const store = await SqliteStore.open(fresh());
    stores.push(store);
    await store.migrate();
    const at = new Date().toISOString();
    await store.putCollector({
      id: 'c-rbac',
      name: 'rbac',
      source: blobSource.id,
      config: {},
      enabled: true,
      secrets: {},
      createdAt: at,
      updatedAt: at,
    });
    const account = app();
    const dest = new MemoryDestination();
    const before = az.schemes.length;
    const tokens = identity.tokenRequests.length;
    const res = await runCollector(
      {
        id: 'c-rbac',
        name: 'rbac',
        source: blobSource,
        accountKind: microsoft,
        account,
        accountKey: 'acc-rbac',
        settings: blobSource.settings.parse({ ...where(), container, queueName: queue, idField: 'id' }),
        streams: ['blobs'],
        destinations: [dest],
        window: { lookbackMs: 86_400_000 },
        credentialOrigins: origins(account),
      },
      {
        store,
        log: silentLogger,
        rateLimits: new RateLimits(null),
        destinationBackoff: { baseMs: 1, maxMs: 5 },
        http: { backoffBaseMs: 1, ...trust() },
      },
    );
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(dest.ids()), ['r-0', 'r-1', 'r-2']);
    assert.equal((await q.getProperties()).approximateMessagesCount, 0, 'the notification deleted');
    const used = az.schemes.slice(before);
    assert.ok(used.length >= 3, `receive, read and delete went through the proxies (${used.length})`);
    assert.deepEqual([...new Set(used)], ['Bearer'], 'every call carried the app’s token, nothing else');
    assert.deepEqual(
      identity.tokenRequests.slice(tokens).map((t) => [t.scope, t.credential]),
      [['https://storage.azure.com/.default', 'secret']],
      'one token for Storage, shared by the blob and queue clients',
    );
  });

  it('Test Connection passes with both roles and names the missing one, the app and where to assign it', async () => {
    const { container, queue } = await containerWithQueue();
    const settings = { container, queueName: queue };
    roles(BLOB_READER, QUEUE_PROCESSOR);
    assert.deepEqual(await probe(blobSource, settings), { ok: true });

    roles(QUEUE_PROCESSOR);
    const noBlob = await probe(blobSource, settings);
    assert.equal(noBlob.ok, false);
    assert.equal(!noBlob.ok && noBlob.error.code, 'azure_role_missing');
    assert.match(
      (!noBlob.ok && noBlob.error.message) || '',
      /AuthorizationPermissionMismatch.*Storage Blob Data Reader/,
    );
    assert.match(
      (!noBlob.ok && noBlob.error.action) || '',
      new RegExp(`Storage Blob Data Reader.*${CLIENT}|${CLIENT}.*Storage Blob Data Reader`),
    );
    assert.match((!noBlob.ok && noBlob.error.action) || '', /Access control \(IAM\)/);

    roles(BLOB_READER);
    const noQueue = await probe(blobSource, settings);
    assert.equal(!noQueue.ok && noQueue.error.code, 'azure_role_missing');
    assert.match((!noQueue.ok && noQueue.error.message) || '', /Storage Queue Data Message Processor/);
    for (const r of [noBlob, noQueue]) assert.ok(!JSON.stringify(r).includes(SECRET), 'no secret');
    roles(BLOB_READER, QUEUE_PROCESSOR);
  });

  it('azure-storage-analytics and azure-vnet-flow-logs list with the app, and name Storage Blob Data Reader when it is missing', async () => {
    const { container } = await containerWithQueue();
    await az.blobs
      .getContainerClient(container)
      .getBlockBlobClient('blob/2026/12/07/0900/000000.log')
      .upload('1.0;x\n', 6);
    for (const source of [analyticsSource, flowLogsSource]) {
      roles(BLOB_READER);
      assert.deepEqual(await probe(source, { container }), { ok: true }, source.id);
      roles(QUEUE_PROCESSOR);
      const refused = await probe(source, { container });
      assert.equal(!refused.ok && refused.error.code, 'azure_role_missing', source.id);
      assert.match((!refused.ok && refused.error.action) || '', /Storage Blob Data Reader/);
    }
    roles(BLOB_READER, QUEUE_PROCESSOR);
  });

  it('a token Entra did not issue is refused (401), and the certificate is verified: no trust, no connection', async () => {
    const { container } = await containerWithQueue();
    const account = app();
    const noTrust = await testConnection(
      flowLogsSource,
      microsoft,
      account,
      flowLogsSource.settings.parse({ ...where(), container }),
      ['flows'],
      AbortSignal.timeout(30_000),
      origins(account),
    );
    assert.equal(noTrust.ok, false, 'the test CA is not trusted without tlsTrust');
    assert.equal(!noTrust.ok && noTrust.error.code, 'azure_unreachable');
    assert.match((!noTrust.ok && noTrust.error.message) || '', /TLS certificate problem/);

    const inspect = az.entra!.inspect;
    az.entra!.inspect = () => undefined; // the proxies know no token: as for one Entra did not issue
    try {
      const forged = await probe(flowLogsSource, { container });
      assert.equal(!forged.ok && forged.error.code, 'azure_refused');
      assert.match((!forged.ok && forged.error.message) || '', /InvalidAuthenticationInfo/);
    } finally {
      az.entra!.inspect = inspect;
    }
  });

  it('the HTTP client trusts the test CA for the listed origins only, over HTTPS only', () => {
    const http = new Http({ vendor: 'Azure Blob Storage', ...trust() });
    const [blob, queue] = az.origins();
    assert.ok(http.httpsAgent(new URL(`${blob}/x`)), 'the emulator’s blob origin');
    assert.ok(http.httpsAgent(new URL(`${queue}/x`)), 'the emulator’s queue origin');
    assert.equal(http.httpsAgent(new URL('https://acct.blob.core.windows.net/x')), undefined);
    assert.equal(http.httpsAgent(new URL(blob!.replace('https:', 'http:'))), undefined);
    assert.equal(
      new Http({ vendor: 'x' }).httpsAgent(new URL(`${blob}/x`)),
      undefined,
      'none without tlsTrust',
    );
  });

  it('the settings name what is missing: no storage account, a plain-HTTP endpoint; and the azure-storage account refuses them', async () => {
    const missing = await testConnection(
      flowLogsSource,
      microsoft,
      app(),
      flowLogsSource.settings.parse({ container: 'logs' }),
      ['flows'],
    );
    assert.equal(!missing.ok && missing.error.code, 'azure_storage_account_missing');
    assert.match((!missing.ok && missing.error.action) || '', /storageAccount/);

    const onlyBlob = await testConnection(
      flowLogsSource,
      microsoft,
      app(),
      flowLogsSource.settings.parse({ container: 'logs', blobEndpoint: 'http://127.0.0.1:1/x' }),
      ['flows'],
    );
    assert.equal(
      !onlyBlob.ok && onlyBlob.error.code,
      'azure_entra_needs_https',
      'a blob endpoint alone names the storage for a blob-only source',
    );
    const plain = await probe(flowLogsSource, { container: 'logs', blobEndpoint: 'http://127.0.0.1:1/x' });
    assert.equal(!plain.ok && plain.error.code, 'azure_entra_needs_https');
    assert.match((!plain.ok && plain.error.message) || '', /settings\.blobEndpoint/);

    const keyed = await testConnection(
      flowLogsSource,
      azureStorage,
      azureStorageFields.parse(az.account()),
      flowLogsSource.settings.parse({ container: 'logs', storageAccount: 'other' }),
      ['flows'],
    );
    assert.equal(!keyed.ok && keyed.error.code, 'azure_storage_setting_unused');
    assert.match((!keyed.ok && keyed.error.message) || '', /settings\.storageAccount/);
  });
});
