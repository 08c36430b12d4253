import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AzureMonitorLogsSimulator } from '../../src/destinations/azure-monitor-logs/simulator.ts';
import { ElasticSimulator } from '../../src/destinations/elasticsearch/simulator.ts';
import { ExabeamSimulator } from '../../src/destinations/exabeam/simulator.ts';
import { SplunkHecSimulator } from '../../src/destinations/splunk-hec/simulator.ts';
import { SimServer } from '../../src/sim/kit.ts';
import { type ApiServer, type Reply, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * The SIEM destination kinds through the public API, as an editor configures them: listed with their
 * settings; secrets write-only and kept when a read object is sent back (the Test still works with the
 * stored secret); a destination's URL does not move without its secret; kinds that send with an
 * account's token need an account of the right kind whose origins cover the endpoint, and that account
 * cannot be deleted while used; early-access kinds need early access.
 */

const fresh = tempDirs('tributary-api-dest');
let api: ApiServer;
const splunk = new SplunkHecSimulator({ ack: true });
const es = new ElasticSimulator({ apiKey: 'ZWxhc3RpYzpTRUNSRVQtYXBpLWtleQ==' });
const azure = new AzureMonitorLogsSimulator();
const exabeam = new ExabeamSimulator();
const attacker = new SimServer({ name: 'attacker' });
const editor = { as: 'editor' as const };
const admin = { as: 'admin' as const };
const paths = (r: Reply) => (r.body?.error?.issues ?? []).map((i: { path: string }) => i.path);

before(async () => {
  for (const s of [splunk, es, azure, exabeam]) await s.start();
  await attacker.start();
  api = await startTestApi(fresh());
});
after(async () => {
  await api?.close();
  for (const s of [splunk, es, azure, exabeam]) await s.stop();
  await attacker.stop();
});

describe('SIEM destinations through the API', () => {
  it('lists every kind with titled settings, its write-only fields and the accounts it needs', async () => {
    const r = await api.call('GET', '/api/destination-kinds', { as: 'viewer' });
    assert.equal(r.status, 200);
    const by = Object.fromEntries(r.body.map((k: { kind: string }) => [k.kind, k]));
    for (const kind of [
      'splunk-hec',
      'elasticsearch',
      'opensearch',
      'azure-monitor-logs',
      'google-secops',
      'exabeam',
    ])
      assert.ok(by[kind], kind);
    assert.deepEqual(by['splunk-hec'].secrets, ['token']);
    assert.deepEqual(by['azure-monitor-logs'].accountKinds, ['microsoft']);
    assert.deepEqual(by['google-secops'].accountKinds, ['google']);
    assert.equal(by.exabeam.stability, 'early-access');
    assert.equal(by['splunk-hec'].settings.properties.url.title, 'HEC URL');
  });

  it('splunk-hec: the token is masked, kept when the object is sent back, and still works; the URL does not move without it', async () => {
    const created = await api.call('POST', '/api/destinations', {
      ...editor,
      body: {
        name: 'splunk',
        config: { kind: 'splunk-hec', url: splunk.url, token: splunk.token, ack: true },
      },
    });
    assert.equal(created.status, 201, created.text);
    assert.notEqual(created.body.config.token, splunk.token);
    assert.ok(!created.text.includes(splunk.token), 'never shown');
    const read = await api.call('GET', '/api/destinations/splunk', editor);
    const put = await api.call('PUT', '/api/destinations/splunk', {
      ...editor,
      body: { config: { ...read.body.config, index: 'main' } },
    });
    assert.equal(put.status, 200, put.text);
    const test = await api.call('POST', '/api/destinations/splunk/test', editor);
    assert.deepEqual(test.body, { ok: true, probed: true }, test.text);
    const last = splunk.server.requests.all().at(-1)!;
    assert.equal(last.headers.authorization, `Splunk ${splunk.token}`, 'the stored token, not its mask');
    const moved = await api.call('PUT', '/api/destinations/splunk', {
      ...editor,
      body: { config: { ...read.body.config, url: attacker.url } },
    });
    assert.equal(moved.status, 400, moved.text);
    assert.deepEqual(paths(moved), ['config.url']);
    await api.call('POST', '/api/destinations/splunk/test', editor);
    assert.equal(attacker.requests.all().length, 0, 'the token never reached the other host');
    assert.ok(!api.logLines.join('\n').includes(splunk.token), 'nor any log line');
  });

  it('elasticsearch: the API key is kept across an edit and proves itself on Test', async () => {
    const apiKey = 'ZWxhc3RpYzpTRUNSRVQtYXBpLWtleQ==';
    const created = await api.call('POST', '/api/destinations', {
      ...editor,
      body: { name: 'es', config: { kind: 'elasticsearch', url: es.url, auth: { type: 'apiKey', apiKey } } },
    });
    assert.equal(created.status, 201, created.text);
    const read = await api.call('GET', '/api/destinations/es', editor);
    assert.notEqual(read.body.config.auth.apiKey, apiKey);
    const put = await api.call('PUT', '/api/destinations/es', {
      ...editor,
      body: { config: { ...read.body.config, index: 'logs-okta-default' } },
    });
    assert.equal(put.status, 200, put.text);
    const test = await api.call('POST', '/api/destinations/es/test', editor);
    assert.equal(test.body.ok, true, test.text);
    assert.equal(es.server.requests.all().at(-1)!.headers.authorization, `ApiKey ${apiKey}`);
  });

  it("azure-monitor-logs: needs an existing microsoft account whose origins cover the endpoint; Test uses the account's token", async () => {
    const account = await api.call('POST', '/api/accounts', {
      ...editor,
      body: {
        name: 'entra',
        kind: 'microsoft',
        fields: {
          tenantId: azure.identity.tenantId,
          clientId: azure.identity.clientId,
          clientSecret: azure.identity.clientSecret,
          authorityHost: azure.url,
        },
        origins: [azure.url],
      },
    });
    assert.equal(account.status, 201, account.text);
    await api.call('POST', '/api/accounts', {
      ...editor,
      body: {
        name: 'okta-acct',
        kind: 'okta',
        fields: { url: 'https://acme.okta.com', token: 'okta-SECRET-1' },
      },
    });
    const config = (o: Record<string, unknown>) => ({
      kind: 'azure-monitor-logs',
      account: 'entra',
      endpoint: azure.url,
      dcrImmutableId: azure.dcrId,
      stream: 'Custom-TributaryEvents',
      ...o,
    });
    for (const [o, path, message] of [
      [{ account: 'nobody' }, 'config.account', /there is no account "nobody"/],
      [
        { account: 'okta-acct' },
        'config.account',
        /is a okta account; a azure-monitor-logs destination needs a microsoft account/,
      ],
      [{ endpoint: attacker.url }, 'config.endpoint', /sends its credentials only to/],
    ] as const) {
      const r = await api.call('POST', '/api/destinations', {
        ...editor,
        body: { name: 'sentinel', config: config(o) },
      });
      assert.equal(r.status, 400, r.text);
      assert.deepEqual(paths(r), [path]);
      assert.match(r.body.error.issues[0].message, message);
    }
    const ok = await api.call('POST', '/api/destinations', {
      ...editor,
      body: { name: 'sentinel', config: config({}) },
    });
    assert.equal(ok.status, 201, ok.text);
    const test = await api.call('POST', '/api/destinations/sentinel/test', editor);
    assert.deepEqual(test.body, { ok: true, probed: true }, test.text);
    const moved = await api.call('PUT', '/api/destinations/sentinel', {
      ...editor,
      body: { config: config({ endpoint: attacker.url }) },
    });
    assert.equal(moved.status, 400, moved.text);
    assert.equal(attacker.requests.all().length, 0);
    const del = await api.call('DELETE', '/api/accounts/entra', editor);
    assert.equal(del.status, 409, del.text);
    assert.match(del.text, /used by destination\(s\) sentinel/);
  });

  it('exabeam is early access: refused until an admin turns it on', async () => {
    const body = {
      name: 'exa',
      config: { kind: 'exabeam', url: `${exabeam.url}/cloud-collectors/v1/logs/json`, token: exabeam.token },
    };
    const refused = await api.call('POST', '/api/destinations', { ...editor, body });
    assert.equal(refused.status, 400, refused.text);
    assert.deepEqual(paths(refused), ['config.kind']);
    assert.equal(
      (await api.call('PUT', '/api/settings', { ...admin, body: { earlyAccess: true } })).status,
      200,
    );
    try {
      const created = await api.call('POST', '/api/destinations', { ...editor, body });
      assert.equal(created.status, 201, created.text);
      const read = await api.call('GET', '/api/destinations/exa', editor);
      await api.call('PUT', '/api/destinations/exa', {
        ...editor,
        body: { config: { ...read.body.config, gzip: false } },
      });
      const test = await api.call('POST', '/api/destinations/exa/test', editor);
      assert.equal(test.body.ok, true, test.text);
    } finally {
      await api.call('PUT', '/api/settings', { ...admin, body: { earlyAccess: false } });
    }
  });
});
