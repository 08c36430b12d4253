import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { accountKinds } from '../../src/accounts/index.ts';
import { GoogleTokenSimulator } from '../../src/sim/google.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { RestApiSimulator } from '../../src/sources/rest-api/simulator.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Write-only secrets: what a client does when it edits one field — read the object, change the field,
 * send the rest back as it was read — must never replace a stored secret with its mask. For every kind
 * with a secret, the stored secret is still the one entered, still works against a simulator where one
 * exists, and the audit entry shows no secret change. A secret this instance cannot decrypt makes Test
 * answer a classified error, never a server error.
 */

const fresh = tempDirs('tributary-masked');
let api: ApiServer;
let okta: OktaSimulator;
let rest: RestApiSimulator;
let receiver: Server;
let receiverUrl = '';
const received: Array<{ authorization?: string }> = [];

const OKTA_TOKEN = 'okta-token-SECRET-31ab9c';
const BEARER = 'rest-bearer-SECRET-77e1';
const HMAC_SECRET = 'hmac-shared-SECRET-0123456789';
const DEST_TOKEN = 'dest-token-SECRET-5511';
/** An encrypted PKCS#8 key, as a Snowflake user's key pair is commonly kept. */
const SNOWFLAKE_PASSPHRASE = 'snowflake-SECRET-passphrase-1';
const SNOWFLAKE_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({
    type: 'pkcs8',
    format: 'pem',
    cipher: 'aes-256-cbc',
    passphrase: SNOWFLAKE_PASSPHRASE,
  })
  .toString();

/** A valid set of fields for every account kind with a secret; the secret values are what must survive. */
function samples(): Record<string, Record<string, unknown>> {
  return {
    okta: { url: okta.url, token: OKTA_TOKEN },
    openai: { apiKey: 'sk-compliance-SECRET-aa11', organizationId: 'org-AbC123' },
    google: { serviceAccountKey: new GoogleTokenSimulator().keyJson(), subject: 'admin@acme.example' },
    github: { token: 'ghp_SECRETgithubtoken0001' },
    slack: { token: 'xoxp-1234-SECRET-5678' },
    microsoft: {
      tenantId: '3f0c2a8e-1b7d-4c39-9a51-6e2f0d4b8c17',
      clientId: '9a51f0c2-1b7d-4c39-3f0c-6e2f0d4b8c17',
      clientSecret: 'ms-client-SECRET-value~01',
    },
    aws: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY' },
    'carbon-black': {
      url: 'https://defense.conferdeploy.net',
      orgKey: 'ABCD1234',
      apiId: 'CBAPI0001',
      apiSecret: 'CBSECRET0000000000000001',
    },
    crowdstrike: {
      cloud: 'eu-1',
      clientId: '0123456789abcdef0123456789abcdef',
      clientSecret: 'CSsecret0000000000000000000000000000SECR',
    },
    'palo-alto-cortex-xdr': {
      url: 'https://api-acme.xdr.us.paloaltonetworks.com',
      apiKeyId: 7,
      apiKey: 'XDRSECRETkey00000000000000000000000001',
    },
    sentinelone: { url: 'https://usea1-acme.sentinelone.net', token: 'S1-SECRET-token-000000000001' },
    trellix: { region: 'eu', clientId: 'trellix-client', clientSecret: 'trellix-SECRET-0001' },
    'azure-event-hubs': {
      connectionString:
        'Endpoint=sb://acme-logs.servicebus.windows.net/;SharedAccessKeyName=tributary-listen;SharedAccessKey=SECRETehKey0000000000000000000000000001=',
      eventHubName: 'insights',
      consumerGroup: 'tributary',
    },
    'azure-storage': {
      accountName: 'acmelogs',
      blobSasToken: 'sv=2024-11-04&ss=bq&srt=co&sp=rlp&se=2027-01-01T00:00:00Z&sig=SECRETsig0001%3D',
    },
    'cisco-duo': {
      integrationKey: 'DIWJ8X6AEYOR5OMC6TQ1',
      secretKey: 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep',
      apiHostname: 'api-1a2b3c4d.duosecurity.com',
    },
    salesforce: {
      url: 'https://acme.my.salesforce.com',
      clientId: 'sf-client',
      clientSecret: 'sf-SECRET-0001',
    },
    splunk: {
      url: 'https://splunk.acme.example:8089',
      token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0cmlidXRhcnkifQ.SECRET-signature',
    },
    'trend-micro': { apiKey: 'trend-SECRET-key-0001', region: 'eu' },
    wiz: {
      clientId: 'wiz-client',
      clientSecret: 'wiz-SECRET-0001',
      apiUrl: 'https://api.eu1.app.wiz.io/graphql',
    },
    zoom: { accountId: 'zoom-acct', clientId: 'zoom-client', clientSecret: 'zoom-SECRET-0001' },
    'abnormal-security': { token: 'abx-SECRET-token-0001', region: 'eu' },
    'proofpoint-tap': { principal: 'tap-principal', secret: 'tap-SECRET-0001' },
    cloudflare: { apiToken: 'cf_SECRET_token_000000000001' },
    'cisco-meraki': { apiKey: '0123456789abcdef0123456789abcdef5ec7e700' },
    'cato-networks': { apiKey: 'cato-SECRET-key-000000001' },
    box: {
      clientId: 'boxclientid000000000001',
      clientSecret: 'box-SECRET-0000000001',
      enterpriseId: '1234567',
    },
    dropbox: {
      appKey: 'abcdefghij12345',
      appSecret: 'secretsecret123',
      refreshToken: 'dbx-SECRET-refresh-token-000001',
    },
    servicenow: {
      instanceUrl: 'https://acme.service-now.com',
      username: 'tributary.integration',
      password: 'sn-SECRET-password-0001',
    },
    'sophos-central': {
      clientId: '0b0e4d2a-1c3f-4e5a-9b8c-7d6e5f4a3b2c',
      clientSecret: 'sophos-SECRET-client-secret-0001',
    },
    'cisco-secure-endpoint': {
      clientId: 'a1b2c3d4e5f6a7b8c9d0',
      apiKey: 'cse-SECRET-api-key-0001',
      region: 'eu',
    },
    cylance: {
      tenantId: '0b0e4d2a-1c3f-4e5a-9b8c-7d6e5f4a3b2d',
      appId: '0b0e4d2a-1c3f-4e5a-9b8c-7d6e5f4a3b2e',
      appSecret: 'cylance-SECRET-app-secret-0001',
    },
    qualys: { username: 'acme_tr1', password: 'qualys-SECRET-password-0001', platform: 'us1' },
    'recorded-future': { token: 'rf-SECRET-api-token-000000001' },
    snowflake: {
      account: 'myorg-myaccount',
      user: 'TRIBUTARY',
      privateKey: SNOWFLAKE_KEY,
      passphrase: SNOWFLAKE_PASSPHRASE,
    },
    tenable: { accessKey: 'a'.repeat(64), secretKey: 'b'.repeat(64) },
    vectra: {
      portalUrl: 'https://123456789012.uw2.portal.vectra.ai',
      clientId: 'vectra-client-0001',
      clientSecret: 'vectra-SECRET-0000000001',
    },
    lastpass: { cid: '12345678', provhash: 'lastpass-SECRET-provhash-000001' },
    'progress-sharefile': {
      subdomain: 'acme',
      clientId: 'sf-client-0001',
      clientSecret: 'sf-SECRET-client-secret-01',
      username: 'collector@acme.example',
      password: 'sf-SECRET-password-0001',
    },
    'symantec-endpoint-security': {
      clientId: 'O2ID.ses-client-0001',
      clientSecret: 'ses-SECRET-client-secret-01',
    },
    netskope: { url: 'https://acme.goskope.com', token: 'netskope-SECRET-token-01' },
    mimecast: { clientId: 'mc-client', clientSecret: 'mc-SECRET-0001' },
    'proofpoint-on-demand': { apiKey: 'pod-SECRET-key-00000001' },
    'api-key': { key: 'apikey-SECRET-0001', headerName: 'X-Api-Key' },
    bearer: { token: BEARER },
    basic: { username: 'svc', password: 'basic-SECRET-0001' },
    'oauth2-client-credentials': {
      tokenUrl: 'https://auth.acme.example/oauth/token',
      clientId: 'cc',
      clientSecret: 'cc-SECRET-0001',
    },
  };
}

before(async () => {
  api = await startTestApi(fresh());
  okta = new OktaSimulator({ events: 10, token: OKTA_TOKEN });
  await okta.start();
  rest = new RestApiSimulator({ events: 10, spacingMs: 60_000, auth: { kind: 'bearer', token: BEARER } });
  await rest.start();
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ authorization: req.headers.authorization });
      res.writeHead(req.headers.authorization === `Bearer ${DEST_TOKEN}` ? 200 : 401).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
});

after(async () => {
  await api.close();
  await okta.stop();
  await rest.stop();
  await new Promise<void>((ok) => receiver.close(() => ok()));
});

const editor = { as: 'editor' as const };

/** The stored secrets of an account, decrypted, as the runtime would use them. */
async function storedAccountSecrets(name: string) {
  const a = await api.runtime.store.getAccount(name);
  return Object.fromEntries(Object.entries(a!.secrets).map(([k, v]) => [k, api.runtime.secrets.decrypt(v)]));
}

async function lastAudit(target: string) {
  return (await api.call('GET', `/api/audit?target=${target}`, { as: 'admin' })).body[0];
}

describe('a masked value sent back never replaces the stored secret', () => {
  it('accounts of every kind: GET, change a non-secret field, PUT the rest back as read', async () => {
    const all = samples();
    const withSecrets = Object.values(accountKinds).filter((k) => k.secrets.length);
    assert.deepEqual(Object.keys(all).sort(), withSecrets.map((k) => k.id).sort(), 'a sample for every kind');
    for (const kind of withSecrets) {
      const name = `acct-${kind.id}`;
      const fields = all[kind.id]!;
      const created = await api.call('POST', '/api/accounts', {
        ...editor,
        body: { name, kind: kind.id, fields },
      });
      assert.equal(created.status, 201, `${kind.id}: ${created.text}`);
      const read = await api.call('GET', `/api/accounts/${name}`, editor);
      for (const s of kind.secrets)
        if (fields[s] !== undefined) assert.match(read.body.fields[s], /^••••/, `${kind.id}.${s} is masked`);
      const put = await api.call('PUT', `/api/accounts/${name}`, {
        ...editor,
        body: { fields: read.body.fields, requestsPerMinute: 42, origins: read.body.origins },
      });
      assert.equal(put.status, 200, `${kind.id}: ${put.text}`);
      const stored = await storedAccountSecrets(name);
      for (const s of kind.secrets)
        if (fields[s] !== undefined) assert.equal(stored[s], fields[s], `${kind.id}.${s} kept`);
      const audit = await lastAudit(name);
      assert.equal(audit.action, 'account.update');
      assert.deepEqual(audit.before.fields, audit.after.fields, `${kind.id}: no field changed in the audit`);
      assert.equal(audit.after.secretsEntered, undefined, `${kind.id}: no secret entered`);
      assert.equal(audit.after.requestsPerMinute, 42);
    }
    // And the kept secrets work: Okta's simulator accepts the token on Test Connection.
    const t = await api.call('POST', '/api/accounts/acct-okta/test', { ...editor, body: {} });
    assert.deepEqual(t.body, { ok: true });
  });

  it('an http destination keeps its token and still delivers', async () => {
    const created = await api.call('POST', '/api/destinations', {
      ...editor,
      body: {
        name: 'hook',
        config: { kind: 'http', url: `${receiverUrl}/in`, auth: { type: 'bearer', token: DEST_TOKEN } },
      },
    });
    assert.equal(created.status, 201, created.text);
    const read = await api.call('GET', '/api/destinations/hook', editor);
    const put = await api.call('PUT', '/api/destinations/hook', {
      ...editor,
      body: { config: { ...read.body.config, timeout: 5000 } },
    });
    assert.equal(put.status, 200, put.text);
    const test = await api.call('POST', '/api/destinations/hook/test', editor);
    assert.equal(test.body.ok, true, test.text);
    assert.equal(received.at(-1)?.authorization, `Bearer ${DEST_TOKEN}`);
    const audit = await lastAudit('hook');
    assert.deepEqual(audit.before.config.auth, audit.after.config.auth);
    assert.equal(audit.after.secretsEntered, undefined);
  });

  it('a push collector keeps its HMAC secret, and signed pushes still pass', async () => {
    await api.call('POST', '/api/destinations', {
      as: 'admin',
      body: { name: 'out', config: { kind: 'stdout' } },
    });
    const created = await api.call('POST', '/api/collectors', {
      ...editor,
      body: {
        name: 'signed',
        source: 'webhook',
        destinations: ['out'],
        settings: { hmac: { header: 'X-Signature', secret: HMAC_SECRET } },
      },
    });
    assert.equal(created.status, 201, created.text);
    const token = created.body.ingestToken as string;
    const read = await api.call('GET', '/api/collectors/signed', editor);
    const { config } = read.body;
    const put = await api.call('PUT', '/api/collectors/signed', {
      ...editor,
      body: { ...config, settings: { ...config.settings, stream: 'renamed' } },
    });
    assert.equal(put.status, 200, put.text);
    const body = '{"a":1}';
    const signature = createHmac('sha256', HMAC_SECRET).update(body).digest('hex');
    const pushed = await fetch(`${api.base}/ingest/signed`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'x-signature': signature,
        'content-type': 'application/json',
      },
      body,
    });
    assert.equal(pushed.status, 200, await pushed.text());
    const audit = await lastAudit('signed');
    assert.deepEqual(audit.before.settings.hmac, audit.after.settings.hmac);
  });

  it("a REST API collector's secret header survives an edit, and the account's token still reads", async () => {
    const acct = await api.call('POST', '/api/accounts', {
      ...editor,
      body: { name: 'rest', kind: 'bearer', fields: { token: BEARER }, origins: [rest.url] },
    });
    assert.equal(acct.status, 201, acct.text);
    const created = await api.call('POST', '/api/collectors', {
      ...editor,
      body: {
        name: 'rest-c',
        source: 'rest-api',
        account: 'rest',
        destinations: ['out'],
        enabled: false,
        settings: {
          url: `${rest.url}/v1/events`,
          query: { since: '{{window.start}}', until: '{{window.end}}' },
          recordsPath: 'data',
          timePath: 'created_at',
          idPath: 'id',
          pagination: { type: 'cursor', cursorPath: 'meta.next_cursor', param: 'cursor' },
          headers: { 'X-Tenant-Key': 'tenant-SECRET-99' },
        },
      },
    });
    assert.equal(created.status, 201, created.text);
    const { config } = (await api.call('GET', '/api/collectors/rest-c', editor)).body;
    const put = await api.call('PUT', '/api/collectors/rest-c', {
      ...editor,
      body: { ...config, interval: '10m' },
    });
    assert.equal(put.status, 200, put.text);
    const record = await api.runtime.store.getCollector('rest-c');
    assert.equal(
      api.runtime.secrets.decrypt(record!.secrets['settings.headers.X-Tenant-Key']!),
      'tenant-SECRET-99',
    );
    const preview = await api.call('POST', '/api/collectors/preview', {
      ...editor,
      body: { ...config, name: 'rest-c' },
    });
    assert.equal(preview.body.ok, true, preview.text);
    assert.equal(rest.seen.at(-1)?.headers['x-tenant-key'], 'tenant-SECRET-99', 'sent with the stored value');
  });

  it('a secret that cannot be decrypted makes Test answer a classified error, never a 500', async () => {
    const other = await SecretBox.open(fresh());
    const a = await api.runtime.store.getAccount('acct-okta');
    await api.runtime.store.putAccount({ ...a!, secrets: { token: other.encrypt(OKTA_TOKEN) } });
    const d = await api.runtime.store.getDestination('hook');
    await api.runtime.store.putDestination({ ...d!, secrets: { 'auth.token': other.encrypt(DEST_TOKEN) } });
    await api.call('POST', '/api/collectors', {
      as: 'admin',
      body: { name: 'okta-c', source: 'okta', account: 'acct-okta', destinations: ['out'], enabled: false },
    });
    for (const [path, body] of [
      ['/api/accounts/acct-okta/test', {}],
      ['/api/destinations/hook/test', undefined],
      ['/api/collectors/test', { source: 'okta', account: 'acct-okta', destinations: ['out'] }],
    ] as const) {
      const r = await api.call('POST', path, { ...editor, body });
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.equal(r.body.ok, false, path);
      assert.equal(r.body.error.type, 'config', path);
      assert.ok(r.body.error.action.length > 10, path);
    }
    assert.equal((await api.call('GET', '/api/accounts/acct-okta', editor)).body.fields.token, '••••');
    await assert.rejects(api.runtime.run('okta-c'), (e: { code?: string }) => e.code === 'secret_unreadable');
    const page = await api.call('GET', '/api/collectors/okta-c', editor);
    assert.ok(
      page.body.errors.some((e: { code: string }) => e.code === 'secret_unreadable'),
      'the collector page says why it cannot run',
    );
    // Entering the secret again repairs it.
    const fixed = await api.call('PUT', '/api/accounts/acct-okta', {
      ...editor,
      body: { fields: { url: okta.url, token: OKTA_TOKEN } },
    });
    assert.equal(fixed.status, 200, fixed.text);
    assert.deepEqual((await api.call('POST', '/api/accounts/acct-okta/test', { ...editor, body: {} })).body, {
      ok: true,
    });
  });
});
