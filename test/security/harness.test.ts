import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

const fresh = tempDirs('tributary-security');
let api: ApiServer;

before(async () => {
  api = await startTestApi(fresh());
});
after(() => api.close());

describe('security test harness', () => {
  it('gives each role a working token, and roles are enforced', async () => {
    for (const role of ['admin', 'editor', 'viewer'] as const)
      assert.equal((await api.call('GET', '/api/collectors', { as: role })).status, 200, role);
    assert.equal((await api.call('GET', '/api/users', { as: 'editor' })).status, 403);
    assert.equal((await api.call('GET', '/api/users', { as: 'admin' })).status, 200);
  });
});
