import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Site names are unique ignoring case through the API as in config files ("HQ" and "hq" are one
 * site), and the answer states the naming rule at the field, for the console to show next to it.
 */

const RULE =
  'site names are letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63, and unique ignoring case';

describe('sites through the API', () => {
  const fresh = tempDirs('tributary-sites');
  let api: ApiServer;
  before(async () => {
    api = await startTestApi(fresh());
  });
  after(() => api?.close());
  const post = (name: string) => api.call('POST', '/api/sites', { as: 'editor', body: { name } });

  it('refuses a site whose name differs from another only in case, with the rule at the name', async () => {
    assert.equal((await post('demo-site')).status, 201);
    for (const name of ['DEMO-SITE', 'Demo-Site', 'demo-site']) {
      const r = await post(name);
      assert.equal(r.status, 409, name);
      assert.equal(r.body.error.code, 'conflict');
      assert.equal(r.body.error.issues.length, 1);
      assert.equal(r.body.error.issues[0].path, 'name');
      assert.ok(r.body.error.issues[0].message.endsWith(`: ${RULE}`), r.body.error.issues[0].message);
    }
    assert.equal(
      (await post('DEMO-SITE')).body.error.issues[0].message,
      `"DEMO-SITE" is the site "demo-site" ignoring case: ${RULE}`,
    );
    assert.equal(
      (await post('demo-site')).body.error.issues[0].message,
      `a site named "demo-site" exists: ${RULE}`,
    );
    const list = await api.call('GET', '/api/sites', { as: 'viewer' });
    assert.deepEqual(
      list.body.map((s: { name: string }) => s.name),
      ['demo-site'],
    );
  });

  it('renames a site to another case of its own name, never onto another site ignoring case', async () => {
    assert.equal((await post('branch')).status, 201);
    const onto = await api.call('PUT', '/api/sites/branch', { as: 'editor', body: { name: 'Demo-Site' } });
    assert.equal(onto.status, 409);
    assert.equal(onto.body.error.issues[0].path, 'name');
    const own = await api.call('PUT', '/api/sites/branch', { as: 'editor', body: { name: 'Branch' } });
    assert.equal(own.status, 200, own.text);
    const names = (await api.call('GET', '/api/sites', { as: 'viewer' })).body.map(
      (s: { name: string }) => s.name,
    );
    assert.deepEqual(names.sort(), ['Branch', 'demo-site']);
  });

  it('states the naming rule for a name that breaks it', async () => {
    const r = await post('head office');
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.error.issues, [
      {
        path: 'name',
        message:
          'expected a name of letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63',
      },
    ]);
  });

  it('a collector naming a site in another case is told which one exists', async () => {
    await api.call('POST', '/api/destinations', {
      as: 'editor',
      body: { name: 'out', config: { kind: 'stdout' } },
    });
    const r = await api.call('POST', '/api/collectors', {
      as: 'editor',
      body: { name: 'hook', source: 'webhook', destinations: ['out'], site: 'DEMO-SITE' },
    });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body.error.issues, [
      {
        path: 'site',
        message: 'no site named "DEMO-SITE"; did you mean "demo-site"? (site names are matched exactly)',
      },
    ]);
  });
});
