import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { envelopes } from '../../../test/support/envelopes.ts';
import { microsoft, resourceFor } from '../../accounts/microsoft.ts';
import type { Envelope } from '../../core/envelope.ts';
import { TributaryError } from '../../core/errors.ts';
import { OriginSet } from '../../engine/credential-origins.ts';
import { egressPolicy } from '../../engine/egress.ts';
import { FaultProxy } from '../../sim/fault-proxy.ts';
import type { DestinationAccount, DestinationContext } from '../kind.ts';
import { ndjson } from '../ndjson.ts';
import {
  AzureBlobDestination,
  accountTokenCredential,
  parseConnectionString,
} from './azure-blob-destination.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, Azurite } from './azurite.ts';
import { azureBlobConfigSchema } from './index.ts';

const CONTAINER = 'tributary-test';
const azurite = new Azurite();
const ctx: DestinationContext = { baseDir: '.', files: undefined as never };
const key = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
let service: BlobServiceClient;

const sas = (permissions: string, container = CONTAINER) =>
  generateBlobSASQueryParameters(
    {
      containerName: container,
      permissions: ContainerSASPermissions.parse(permissions),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    key,
  ).toString();

before(async () => {
  await azurite.start();
  service = new BlobServiceClient(azurite.endpoint, key);
  await service.getContainerClient(CONTAINER).create();
});
after(() => azurite.stop());

function dest(over: Record<string, unknown> = {}, c = ctx) {
  const config = azureBlobConfigSchema.parse({
    kind: 'azure-blob',
    endpoint: azurite.endpoint,
    container: CONTAINER,
    ...(over.accountKey || over.connectionString || over.account ? {} : { sasToken: sas('cw') }),
    ...over,
  });
  return new AzureBlobDestination('lake', config, c);
}

async function names(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of service.getContainerClient(CONTAINER).listBlobsFlat({ prefix })) out.push(b.name);
  return out.sort();
}

async function read(name: string): Promise<string> {
  const bytes = await service.getContainerClient(CONTAINER).getBlobClient(name).downloadToBuffer();
  return name.endsWith('.gz') ? gunzipSync(bytes).toString() : bytes.toString();
}

async function readAll(prefix: string): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for (const n of await names(prefix))
    if (!n.includes('/_tributary/'))
      for (const line of (await read(n)).split('\n').filter(Boolean)) out.push(JSON.parse(line));
  return out;
}

const signal = () => AbortSignal.timeout(30_000);

async function rejects(p: Promise<unknown>, type: string, pattern: RegExp): Promise<TributaryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TributaryError, String(err));
    assert.equal(err.type, type, err.message);
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('azure-blob destination (Azurite)', () => {
  it('writes gzip NDJSON block blobs per event hour with a SAS token (sp=cw)', async () => {
    const d = dest({ prefix: 'a' });
    const events = envelopes(30);
    await d.send(events, signal());
    const got = await names('a/');
    assert.equal(got.length, 2, got.join());
    assert.match(
      got[0]!,
      /^a\/source=okta\/dt=2026-03-01\/hour=10\/okta-prod-ev-0001-[0-9a-f]{16}\.ndjson\.gz$/,
    );
    assert.equal(await read(got[0]!), ndjson(events.slice(0, 10)));
    assert.equal(await read(got[1]!), ndjson(events.slice(10)));
    const props = await service.getContainerClient(CONTAINER).getBlobClient(got[0]!).getProperties();
    assert.equal(props.contentType, 'application/gzip');
    assert.ok(props.contentMD5?.length, 'Content-MD5 stored');
    await d.close();
  });

  it('a re-sent batch overwrites the same blobs; a large batch becomes several blobs', async () => {
    const d = dest({ prefix: 'b', maxObjectBytes: 20_000 });
    const events = envelopes(60, { start: '2026-03-01T08:00:00.000Z', size: 1000 });
    await d.send(events, signal());
    const first = await names('b/');
    assert.ok(first.length >= 3, `${first.length} blobs`);
    await d.send(envelopes(60, { start: '2026-03-01T08:00:00.000Z', size: 1000 }), signal());
    assert.deepEqual(await names('b/'), first);
    assert.deepEqual(
      (await readAll('b/')).map((e) => e.id),
      events.map((e) => e.id),
    );
    await d.close();
  });

  it('authenticates with an account key or a connection string too', async () => {
    await dest({ prefix: 'k', accountKey: AZURITE_KEY }).send(envelopes(3), signal());
    assert.equal((await readAll('k/')).length, 3);
    const cs = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.endpoint};`;
    assert.equal(parseConnectionString(cs).endpoint, azurite.endpoint);
    await dest({ prefix: 'cs', endpoint: undefined, connectionString: cs }).send(envelopes(4), signal());
    assert.equal((await readAll('cs/')).length, 4);
  });

  it('Test Connection writes the probe blob; a read-only SAS, a wrong key or a missing container fail as config errors', async () => {
    await dest({ prefix: 'probe' }).test(signal());
    assert.deepEqual(await names('probe/'), ['probe/_tributary/connection-test.txt']);
    const readOnly = sas('rl');
    const e = await rejects(dest({ sasToken: readOnly }).test(signal()), 'config', /HTTP 403/);
    assert.match(e.action, /Create and Write \(sp=cw\)/);
    const sig = new URLSearchParams(readOnly).get('sig')!;
    assert.doesNotMatch(`${e.message} ${e.action}`, new RegExp(sig.slice(0, 12).replace(/[+/]/g, '.')));
    await rejects(
      dest({ accountKey: Buffer.from('not the key of this account').toString('base64') }).test(signal()),
      'config',
      /AuthorizationFailure|AuthenticationFailed|HTTP 403/,
    );
    await rejects(
      dest({ container: 'no-such-container', sasToken: undefined, accountKey: AZURITE_KEY }).test(signal()),
      'config',
      /ContainerNotFound, HTTP 404/,
    );
  });

  it('a failure after the blob was stored is not an acknowledgement; the re-send overwrites it', async () => {
    const proxy = new FaultProxy(`http://${new URL(azurite.endpoint).host}`);
    await proxy.start();
    try {
      const d = dest({ prefix: 'f', endpoint: `${proxy.url}/${AZURITE_ACCOUNT}` });
      proxy.failNext(2, 503);
      await d.send(envelopes(5, { start: '2026-03-01T08:00:00.000Z' }), signal()); // retried by the SDK
      proxy.failAfterForward(3, 500);
      const batch = envelopes(7, { prefix: 'h', start: '2026-03-01T09:00:00.000Z' });
      await rejects(d.send(batch, signal()), 'transient', /could not store the blob.*HTTP 500/);
      const stored = await names('f/source=okta/dt=2026-03-01/hour=09/');
      assert.equal(stored.length, 1, 'stored, though unacknowledged');
      await d.send(batch, signal());
      assert.deepEqual(await names('f/source=okta/dt=2026-03-01/hour=09/'), stored);
      assert.equal((await readAll('f/')).length, 12);
      await d.close();
    } finally {
      await proxy.stop();
    }
  });

  it('a stopped service is transient; a microsoft account token goes only to the account’s origins', async () => {
    await rejects(
      dest({ endpoint: `http://127.0.0.1:9/${AZURITE_ACCOUNT}` }).send(envelopes(1), signal()),
      'transient',
      /could not reach container tributary-test at http:\/\/127\.0\.0\.1:9/,
    );
    const seen: string[] = [];
    const account: DestinationAccount = {
      name: 'entra',
      kind: 'microsoft',
      version: '1',
      fields: {},
      origins: new OriginSet(['https://*.blob.core.windows.net']),
      http: undefined as never,
      async authorize(headers, url) {
        seen.push(url.toString());
        this.origins.check(url, 'entra');
        headers.set('authorization', 'Bearer t');
      },
    };
    const viaAccount = (endpoint: string, a = account) =>
      dest({ account: 'entra', sasToken: undefined, endpoint }, { ...ctx, account: async () => a });
    await rejects(
      viaAccount('https://127.0.0.1:9/devstoreaccount1').test(signal()),
      'config',
      /did not send the credentials of account entra to https:\/\/127\.0\.0\.1:9/,
    );
    await rejects(
      viaAccount('https://acct.blob.core.windows.net', { ...account, kind: 'aws' }).test(signal()),
      'config',
      /needs a microsoft account; entra is a aws account/,
    );
    // the SDK's TokenCredential asks the account for a token for the container's URL
    const url = new URL('https://acct.blob.core.windows.net/logs');
    const credential = accountTokenCredential({ ...ctx, account: async () => account }, 'lake', 'entra', url);
    const token = await credential.getToken('https://storage.azure.com/.default');
    assert.equal(token?.token, 't');
    assert.deepEqual(seen, [url.toString()]);
    assert.match(
      azureBlobConfigSchema.safeParse({
        kind: 'azure-blob',
        container: CONTAINER,
        account: 'entra',
        endpoint: azurite.endpoint,
      }).error?.message ?? '',
      /only sent over https/,
    );
  });

  it('a microsoft account asks Entra ID for https://storage.azure.com tokens for blob hosts, and may send them there', () => {
    assert.equal(
      resourceFor(new URL('https://acct.blob.core.windows.net/c'), 'global'),
      'https://storage.azure.com',
    );
    assert.equal(
      resourceFor(new URL('https://a.blob.core.chinacloudapi.cn/c'), 'china'),
      'https://storage.azure.com',
    );
    assert.throws(
      () => resourceFor(new URL('https://acct.blob.core.windows.net.evil.com/c'), 'global'),
      /does not know/,
    );
    const origins = new OriginSet(
      microsoft.origins!({ tenantId: 't', clientId: 'c', cloud: 'global' } as never),
    );
    assert.ok(origins.allows('https://acct.blob.core.windows.net'));
    assert.ok(!origins.allows('https://acct.blob.core.chinacloudapi.cn'));
  });

  it('connects through the egress policy’s lookup (metadata addresses refused after DNS)', async () => {
    const policy = egressPolicy();
    const original = policy.lookup;
    const seen: string[] = [];
    Object.defineProperty(policy, 'lookup', {
      configurable: true,
      value: (host: string, o: never, cb: never) => {
        seen.push(host);
        return original(host, o, cb);
      },
    });
    try {
      const d = dest({ prefix: 'egress', endpoint: azurite.endpoint.replace('127.0.0.1', 'localhost') });
      await d.send(envelopes(2), signal());
      await d.close();
      assert.ok(seen.includes('localhost'), `lookups: ${seen.join()}`);
    } finally {
      Object.defineProperty(policy, 'lookup', { configurable: true, value: original });
    }
  });

  it('settings: exactly one way to authenticate; endpoint or connection string', () => {
    const issues = (c: Record<string, unknown>) =>
      azureBlobConfigSchema
        .safeParse({ kind: 'azure-blob', container: CONTAINER, ...c })
        .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.match(issues({ endpoint: 'https://acct.blob.core.windows.net' }).join(), /sasToken: required/);
    assert.match(
      issues({
        endpoint: 'https://acct.blob.core.windows.net',
        sasToken: 'sv=1&sig=x',
        accountKey: 'abc=',
      }).join(),
      /accountKey: give one of .* not sasToken and accountKey/,
    );
    assert.match(issues({ sasToken: 'sv=1&sig=x' }).join(), /endpoint: required/);
    assert.match(
      issues({ endpoint: 'https://a.blob.core.windows.net', sasToken: 'sv=1' }).join(),
      /sasToken: expected a SAS token/,
    );
    assert.match(
      issues({
        endpoint: 'https://a.blob.core.windows.net',
        container: 'Bad_Name',
        sasToken: 'sig=x',
      }).join(),
      /container: expected a container name/,
    );
    assert.deepEqual(issues({ endpoint: 'https://a.blob.core.windows.net', account: 'entra' }), []);
  });
});
