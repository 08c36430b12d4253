import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../../src/destinations/azure-blob/azurite.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { AzureStorageRig } from '../support/azure-storage.ts';
import { runCli } from '../support/cli-process.ts';

/**
 * Process-level crash test of `azure-blob-storage`: `kill -9` of `tributary run --once` while the Delete
 * Message of a delivered blob's notification is in flight (held at the proxy in front of Azurite's queue
 * service). The message comes back after its visibility timeout; the next run delivers nothing again (the
 * done-blob set in the checkpoint) and deletes it.
 */

const dir = mkdtempSync(join(tmpdir(), 'tributary-azblob-crash-'));
const az = new AzureStorageRig();
before(() => az.start());
after(async () => {
  await az.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kill -9 of an azure-blob-storage run', () => {
  it('between a delivered blob and its message delete: the message comes back, nothing lost or repeated', async () => {
    const container = az.blobs.getContainerClient('app-logs');
    await container.create();
    const queue = az.queues.getQueueClient('blob-events');
    await queue.create();
    const expected: string[] = [];
    for (const [name, n] of [
      ['2026/12/06/10.ndjson', 1500],
      ['2026/12/06/11.ndjson', 40],
      ['2026/12/06/12.ndjson', 700],
    ] as const) {
      const lines = Array.from({ length: n }, (_, i) =>
        JSON.stringify({ id: `${name}#${i}`, time: '2026-12-06T10:00:00Z', msg: 'served' }),
      );
      expected.push(...lines.map((l) => JSON.parse(l).id as string));
      const body = `${lines.join('\n')}\n`;
      const put = await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
      const event = {
        topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/logs/providers/Microsoft.Storage/storageAccounts/${AZURITE_ACCOUNT}`,
        subject: `/blobServices/default/containers/app-logs/blobs/${name}`,
        eventType: 'Microsoft.Storage.BlobCreated',
        eventTime: '2026-12-06T10:59:00Z',
        id: `e-${name}`,
        data: {
          api: 'PutBlob',
          eTag: put.etag,
          contentLength: Buffer.byteLength(body),
          blobType: 'BlockBlob',
        },
        dataVersion: '',
        metadataVersion: '1',
      };
      await queue.sendMessage(Buffer.from(JSON.stringify(event)).toString('base64'));
    }
    const out = join(dir, 'out', 'events.ndjson');
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  storage: { kind: azure-storage, accountName: ${AZURITE_ACCOUNT}, accountKey: "\${env:AZ_KEY}", blobEndpoint: "${az.blobUrl}", queueEndpoint: "${az.queueUrl}" }`,
        'destinations:',
        '  local: { kind: file, path: ./out/events.ndjson }',
        'collectors:',
        '  blobs:',
        '    source: azure-blob-storage',
        '    account: storage',
        '    destinations: [local]',
        '    settings: { container: app-logs, queueName: blob-events, idField: id, visibilityTimeoutSeconds: 2 }',
      ].join('\n'),
    );
    const env = { AZ_KEY: AZURITE_KEY, TRIBUTARY_DATA_DIR: join(dir, 'data') };
    // the source is early access: an admin turned it on (PUT /api/settings {earlyAccess: true})
    const store = await SqliteStore.open(join(dir, 'data'));
    await store.migrate();
    await store.setSetting('earlyAccess', 'true');
    await store.close();
    const ids = () =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l).id as string)
        : [];
    const count = async () => (await queue.getProperties()).approximateMessagesCount;

    // the first blob is delivered and committed; its delete is in flight when the process dies
    const hold = az.holdDeletes();
    const first = runCli(['run', '--config', config, '--once'], env);
    await Promise.race([hold.reached, first.done]);
    assert.equal(
      first.child.exitCode,
      null,
      `the run reached the delete: ${first.child.exitCode === null ? '' : (await first.done).out}`,
    );
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    hold.release();
    const before = ids();
    assert.ok(before.length >= 1500, `the first blob was delivered (${before.length})`);
    assert.equal(await count(), 3, 'no message deleted');

    // the killed process's messages reappear after their visibility timeout (polled with a deadline)
    const deadline = Date.now() + 20_000;
    while ((await queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.length < 3) {
      assert.ok(Date.now() < deadline, 'the messages reappear');
      await new Promise((ok) => setImmediate(ok));
    }
    const second = await runCli(['run', '--config', config, '--once'], env).done;
    assert.equal(second.code, 0, second.out);
    const all = ids();
    assert.deepEqual([...new Set(all)].sort(), [...expected].sort(), 'nothing lost');
    assert.equal(
      all.length,
      expected.length,
      'nothing repeated: the redelivered message found its blob done',
    );
    assert.equal(await count(), 0, 'every message deleted in the end');
    assert.deepEqual(az.writes(), [], 'no write but receive and delete');
  });
});
