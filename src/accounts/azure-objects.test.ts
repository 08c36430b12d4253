import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { collectorOriginIssues } from '../control/origins.ts';
import { OriginSet } from '../engine/credential-origins.ts';
import { testConnection } from '../engine/test-connection.ts';
import flowLogsSource from '../sources/azure-vnet-flow-logs/index.ts';
import { microsoft, microsoftFields } from './microsoft.ts';

/**
 * A storage source on a `microsoft` account sends the app's Entra token (audience Azure Storage) to the
 * endpoint its collector names: that endpoint is held to the account's origins like any URL setting
 * (docs/security.md, "Where secrets travel"), when the collector is saved and before each connection.
 */
describe('azure storage on a microsoft account: where the token may go', () => {
  const app = microsoftFields.parse({
    tenantId: '11111111-1111-1111-1111-111111111111',
    clientId: '22222222-2222-2222-2222-222222222222',
    clientSecret: 'not-a-real-secret',
  });
  const allowed = new OriginSet(microsoft.origins!(app));

  it('a collector whose blobEndpoint is not one of the account’s origins is refused when saved', () => {
    const settings = { container: 'logs', blobEndpoint: 'https://collector.attacker.example' };
    const issues = collectorOriginIssues(flowLogsSource, { settings }, 'entra-app', allowed);
    assert.equal(issues.length, 1, issues.join('; '));
    assert.match(issues[0]!, /^settings\.blobEndpoint: /);
    // A storage account of the account's cloud is one of them.
    const own = { container: 'logs', blobEndpoint: 'https://contoso.blob.core.windows.net' };
    assert.deepEqual(collectorOriginIssues(flowLogsSource, { settings: own }, 'entra-app', allowed), []);
  });

  it('and never reached with the token at run time: no connection is made to it', async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as { port: number };
    try {
      const r = await testConnection(
        flowLogsSource,
        microsoft,
        app,
        flowLogsSource.settings.parse({ container: 'logs', blobEndpoint: `https://127.0.0.1:${port}` }),
        ['flows'],
        AbortSignal.timeout(20_000),
        { set: allowed, account: 'entra-app' },
      );
      assert.equal(!r.ok && r.error.code, 'credential_origin_refused');
      assert.equal(connections, 0, 'nothing was sent to the endpoint');
      assert.doesNotMatch(JSON.stringify(r), /not-a-real-secret/);
    } finally {
      server.close();
    }
  });
});
