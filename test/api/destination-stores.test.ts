import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AZURITE_ACCOUNT, Azurite } from '../../src/destinations/azure-blob/azurite.ts';
import { S3Gate } from '../../src/destinations/s3/s3-gate.ts';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * The object-store, bus and syslog destinations through the public API: an `account` setting must
 * name an existing account of the right kind whose credentials may go to the endpoint; an account a
 * destination uses cannot be deleted; a secret read back masked and sent back unchanged still works
 * (Test Connection against the real server), and moving the endpoint without the secret is refused.
 */
const fresh = tempDirs('tributary-dest-stores-api');
const BUCKET = 'tributary-api';
const gate = new S3Gate({ buckets: [BUCKET] });
const azurite = new Azurite();
let api: ApiServer;
const editor = { as: 'editor' as const };
const issues = (r: { body: { error?: { issues?: Array<{ path: string; message: string }> } } }) =>
  (r.body.error?.issues ?? []).map((i) => `${i.path}: ${i.message}`).join('\n');

before(async () => {
  await Promise.all([gate.start(), azurite.start()]);
  api = await startTestApi(fresh());
});
after(async () => {
  await api?.close();
  await gate.stop();
  await azurite.stop();
});

describe('object-store destinations through the API', () => {
  it('an s3 destination signs with an aws account whose origins include the endpoint; Test proves it', async () => {
    const account = await api.call('POST', '/api/accounts', {
      ...editor,
      body: {
        name: 'aws-logs',
        kind: 'aws',
        fields: {
          accessKeyId: gate.accessKeyId,
          secretAccessKey: gate.secretAccessKey,
          endpoint: gate.url,
          signingService: 's3',
        },
      },
    });
    assert.equal(account.status, 201, account.text);
    const created = await api.call('POST', '/api/destinations', {
      ...editor,
      body: { name: 'lake', config: { kind: 's3', bucket: BUCKET, endpoint: gate.url, account: 'aws-logs' } },
    });
    assert.equal(created.status, 201, created.text);
    const test = await api.call('POST', '/api/destinations/lake/test', editor);
    assert.deepEqual(test.body, { ok: true, probed: true }, test.text);

    // an endpoint the account does not send its credentials to is refused, naming the field
    const elsewhere = await api.call('POST', '/api/destinations', {
      ...editor,
      body: {
        name: 'lake2',
        config: { kind: 's3', bucket: BUCKET, endpoint: 'http://127.0.0.9:9000', account: 'aws-logs' },
      },
    });
    assert.equal(elsewhere.status, 400, elsewhere.text);
    assert.match(
      issues(elsewhere),
      /^config\.endpoint: account "aws-logs" sends its credentials only to .*to use http:\/\/127\.0\.0\.9:9000/,
    );

    // the account is in use: it cannot be deleted
    const del = await api.call('DELETE', '/api/accounts/aws-logs', editor);
    assert.equal(del.status, 409, del.text);
    assert.match(del.text, /used by destination\(s\) lake/);
  });

  it('an account that is missing or of another kind is refused with the path', async () => {
    const missing = await api.call('POST', '/api/destinations', {
      ...editor,
      body: { name: 'nope', config: { kind: 'gcs', bucket: 'b-logs', account: 'ghost' } },
    });
    assert.equal(missing.status, 400);
    assert.match(issues(missing), /^config\.account: there is no account "ghost"/);
    const wrong = await api.call('POST', '/api/destinations', {
      ...editor,
      body: { name: 'nope', config: { kind: 'gcs', bucket: 'b-logs', account: 'aws-logs' } },
    });
    assert.equal(wrong.status, 400);
    assert.match(
      issues(wrong),
      /^config\.account: "aws-logs" is a aws account; a gcs destination needs a google account/,
    );
  });

  it('masked secrets sent back unchanged keep working; moving the endpoint without them is refused', async () => {
    const s3 = await api.call('POST', '/api/destinations', {
      ...editor,
      body: {
        name: 'keys',
        config: {
          kind: 's3',
          bucket: BUCKET,
          endpoint: gate.url,
          accessKeyId: gate.accessKeyId,
          secretAccessKey: gate.secretAccessKey,
        },
      },
    });
    assert.equal(s3.status, 201, s3.text);
    const read = await api.call('GET', '/api/destinations/keys', editor);
    assert.notEqual(read.body.config.secretAccessKey, gate.secretAccessKey);
    assert.doesNotMatch(read.text, new RegExp(gate.secretAccessKey.replace(/[+/]/g, '.')));
    const put = await api.call('PUT', '/api/destinations/keys', {
      ...editor,
      body: { config: { ...read.body.config, prefix: 'renamed' } },
    });
    assert.equal(put.status, 200, put.text);
    const test = await api.call('POST', '/api/destinations/keys/test', editor);
    assert.deepEqual(test.body, { ok: true, probed: true }, test.text);
    const moved = await api.call('PUT', '/api/destinations/keys', {
      ...editor,
      body: { config: { ...read.body.config, endpoint: 'http://127.0.0.9:9000' } },
    });
    assert.equal(moved.status, 400, moved.text);
    assert.match(moved.text, /secretAccessKey/);

    // azure-blob with a SAS token: the same round trip against Azurite
    const {
      generateBlobSASQueryParameters,
      ContainerSASPermissions,
      StorageSharedKeyCredential,
      BlobServiceClient,
    } = await import('@azure/storage-blob');
    const { AZURITE_KEY } = await import('../../src/destinations/azure-blob/azurite.ts');
    const key = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
    await new BlobServiceClient(azurite.endpoint, key).getContainerClient('api-logs').create();
    const sas = generateBlobSASQueryParameters(
      {
        containerName: 'api-logs',
        permissions: ContainerSASPermissions.parse('cw'),
        expiresOn: new Date(Date.now() + 3600_000),
      },
      key,
    ).toString();
    const blob = await api.call('POST', '/api/destinations', {
      ...editor,
      body: {
        name: 'blob',
        config: { kind: 'azure-blob', endpoint: azurite.endpoint, container: 'api-logs', sasToken: sas },
      },
    });
    assert.equal(blob.status, 201, blob.text);
    const b = await api.call('GET', '/api/destinations/blob', editor);
    assert.equal(
      (
        await api.call('PUT', '/api/destinations/blob', {
          ...editor,
          body: { config: { ...b.body.config, prefix: 'x' } },
        })
      ).status,
      200,
    );
    const bt = await api.call('POST', '/api/destinations/blob/test', editor);
    assert.deepEqual(bt.body, { ok: true, probed: true }, bt.text);
    assert.doesNotMatch(
      api.responses.join('\n'),
      new RegExp(new URLSearchParams(sas).get('sig')!.replace(/[+/]/g, '.')),
    );
  });

  it('lists the new kinds with their secret fields', async () => {
    const kinds = await api.call('GET', '/api/destination-kinds', editor);
    const byKind = Object.fromEntries(
      (kinds.body as Array<{ kind: string; secrets: string[] }>).map((k) => [k.kind, k.secrets]),
    );
    assert.deepEqual(byKind.s3, ['secretAccessKey', 'sessionToken']);
    assert.deepEqual(byKind['azure-blob']?.sort(), ['accountKey', 'connectionString', 'sasToken']);
    assert.deepEqual(byKind.gcs, []);
    assert.deepEqual(byKind.nats?.sort(), [
      'auth.credentials',
      'auth.password',
      'auth.seed',
      'auth.token',
      'key',
    ]);
    assert.deepEqual(byKind.syslog, ['key']);
  });
});
