import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/** Test Connection keeps the cause of a network error and recommends what fits it (issue 12). */
describe('Test Connection: network errors', () => {
  const fresh = tempDirs('tributary-network-errors');
  let api: ApiServer;
  before(async () => {
    api = await startTestApi(fresh());
  });
  after(() => api?.close());

  it('a refused connection says so, with the host and port, and what to check', async () => {
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((ok) => probe.close(() => ok()));
    const created = await api.call('POST', '/api/accounts', {
      as: 'editor',
      body: {
        name: 'okta-down',
        kind: 'okta',
        fields: { url: `http://127.0.0.1:${port}`, token: '00abcdefgh' },
      },
    });
    assert.equal(created.status, 201, created.text);
    const r = await api.call('POST', '/api/accounts/okta-down/test', { as: 'editor', body: {} });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.ok, false);
    assert.equal(r.body.error.type, 'transient');
    assert.equal(r.body.error.code, 'connection_refused');
    assert.match(
      r.body.error.message,
      new RegExp(`connection refused by 127\\.0\\.0\\.1:${port} \\(nothing listens there\\)`),
    );
    assert.doesNotMatch(r.body.error.message, /fetch failed/);
    assert.match(r.body.error.action, /^Check the host and port in the URL/);
  });
});
