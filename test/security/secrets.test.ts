import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { RestApiSimulator } from '../../src/sources/rest-api/simulator.ts';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Stored secrets stay with the origin they were entered for (docs/security.md): each attack an editor
 * could mount to move a stored secret to a server of their choosing, performed through the API, must
 * be refused before anything reaches that server.
 */

const fresh = tempDirs('tributary-secrets');
const OKTA_TOKEN = 'okta-token-SECRET-8c1f2e77';
const BEARER = 'bearer-SECRET-5d9e0a1b2c';
const API_KEY = 'apikey-SECRET-77aa11bb';
const BASIC_PASSWORD = 'basic-SECRET-pw-4242';
const DEST_TOKEN = 'dest-bearer-SECRET-0f0e';
const SECRETS = [OKTA_TOKEN, BEARER, API_KEY, BASIC_PASSWORD, DEST_TOKEN];

/** A server the attacker controls: it records every request, and answers what the test asks. */
class Attacker {
  readonly seen: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];
  reply: (req: IncomingMessage) => { status: number; headers?: Record<string, string>; body?: string } =
    () => ({
      status: 200,
      body: '{"data":[]}',
    });
  private server?: Server;
  url = '';
  async start() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        this.seen.push({ url: req.url ?? '', headers: req.headers, body });
        const r = this.reply(req);
        res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers }).end(r.body ?? '');
      });
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}`;
  }
  /** Whether any request it saw carried one of the secrets, anywhere. */
  gotSecret(): boolean {
    return this.seen.some((r) => SECRETS.some((s) => JSON.stringify(r).includes(s)));
  }
  stop() {
    return new Promise<void>((ok) => this.server?.close(() => ok()) ?? ok());
  }
}

let api: ApiServer;
let okta: OktaSimulator;
let rest: RestApiSimulator;
const attacker = new Attacker();

const restSettings = (url: string) => ({
  url: `${url}/v1/events`,
  query: { since: '{{window.start}}', until: '{{window.end}}', limit: '10' },
  recordsPath: 'data',
  timePath: 'created_at',
  idPath: 'id',
  pagination: { type: 'cursor', cursorPath: 'meta.next_cursor', param: 'cursor' },
});

before(async () => {
  api = await startTestApi(fresh());
  okta = new OktaSimulator({ events: 20, token: OKTA_TOKEN });
  await okta.start();
  rest = new RestApiSimulator({ events: 20, spacingMs: 60_000, auth: { kind: 'bearer', token: BEARER } });
  await rest.start();
  await attacker.start();
  const admin = { as: 'admin' as const };
  const created = [
    { name: 'okta-main', kind: 'okta', fields: { url: okta.url, token: OKTA_TOKEN } },
    { name: 'api-bearer', kind: 'bearer', fields: { token: BEARER }, origins: [rest.url] },
    {
      name: 'api-key',
      kind: 'api-key',
      fields: { key: API_KEY, headerName: 'X-Api-Key' },
      origins: [rest.url],
    },
    {
      name: 'api-basic',
      kind: 'basic',
      fields: { username: 'svc', password: BASIC_PASSWORD },
      origins: [rest.url],
    },
  ];
  for (const body of created) {
    const r = await api.call('POST', '/api/accounts', { ...admin, body });
    assert.equal(r.status, 201, r.text);
  }
  const d = await api.call('POST', '/api/destinations', {
    ...admin,
    body: { name: 'out', config: { kind: 'stdout' } },
  });
  assert.equal(d.status, 201, d.text);
});

after(async () => {
  await api.close();
  await okta.stop();
  await rest.stop();
  await attacker.stop();
});

const editor = { as: 'editor' as const };
const issuePaths = (r: { body: any }) => (r.body?.error?.issues ?? []).map((i: { path: string }) => i.path);

describe('stored secrets stay with the origin they were entered for', () => {
  it('Test Connection of a collector whose baseUrl points elsewhere is refused, naming the setting', async () => {
    const r = await api.call('POST', '/api/collectors/test', {
      ...editor,
      body: {
        source: 'okta',
        account: 'okta-main',
        destinations: ['out'],
        settings: { baseUrl: attacker.url },
      },
    });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(issuePaths(r), ['settings.baseUrl']);
    // The same collector pointed at the account's own origin works: the refusal is about the origin.
    const ok = await api.call('POST', '/api/collectors/test', {
      ...editor,
      body: { source: 'okta', account: 'okta-main', destinations: ['out'], settings: { baseUrl: okta.url } },
    });
    assert.deepEqual(ok.body, { ok: true });
    // Install and account Test are guarded the same way.
    const install = await api.call('POST', '/api/collectors', {
      ...editor,
      body: {
        name: 'okta-x',
        source: 'okta',
        account: 'okta-main',
        destinations: ['out'],
        settings: { baseUrl: attacker.url },
      },
    });
    assert.equal(install.status, 400);
    const accountTest = await api.call('POST', '/api/accounts/okta-main/test', {
      ...editor,
      body: { source: 'okta', settings: { baseUrl: attacker.url } },
    });
    assert.equal(accountTest.status, 400);
    assert.deepEqual(issuePaths(accountTest), ['settings.baseUrl']);
    assert.equal(attacker.seen.length, 0, 'the attacker saw no request at all');
  });

  it('preview of a REST API collector with its url elsewhere is refused for bearer, api-key and basic accounts', async () => {
    for (const account of ['api-bearer', 'api-key', 'api-basic']) {
      const r = await api.call('POST', '/api/collectors/preview', {
        ...editor,
        body: { source: 'rest-api', account, destinations: ['out'], settings: restSettings(attacker.url) },
      });
      assert.equal(r.status, 400, `${account}: ${r.text}`);
      assert.deepEqual(issuePaths(r), ['settings.url']);
    }
    const ok = await api.call('POST', '/api/collectors/preview', {
      ...editor,
      body: {
        source: 'rest-api',
        account: 'api-bearer',
        destinations: ['out'],
        settings: restSettings(rest.url),
      },
    });
    assert.equal(ok.body.ok, true, ok.text);
    assert.equal(attacker.seen.length, 0);
    assert.equal(attacker.gotSecret(), false);
  });

  it('an account whose url or tokenUrl changes must have its secret entered again', async () => {
    const moved = await api.call('PUT', '/api/accounts/okta-main', {
      ...editor,
      body: { fields: { url: attacker.url } },
    });
    assert.equal(moved.status, 400, moved.text);
    assert.deepEqual(issuePaths(moved), ['fields.url']);
    // Sending the masked form back, as a client that read the account does, is no way around it.
    const got = await api.call('GET', '/api/accounts/okta-main', editor);
    const masked = await api.call('PUT', '/api/accounts/okta-main', {
      ...editor,
      body: { fields: { ...got.body.fields, url: attacker.url } },
    });
    assert.equal(masked.status, 400);
    // Adding an origin is a change of where the secret goes, too.
    const origins = await api.call('PUT', '/api/accounts/okta-main', {
      ...editor,
      body: { fields: got.body.fields, origins: [attacker.url] },
    });
    assert.equal(origins.status, 400);
    assert.deepEqual(issuePaths(origins), ['origins']);

    const cc = await api.call('POST', '/api/accounts', {
      as: 'admin',
      body: {
        name: 'cc',
        kind: 'oauth2-client-credentials',
        fields: { tokenUrl: `${rest.url}/oauth/token`, clientId: 'c', clientSecret: BEARER },
      },
    });
    assert.equal(cc.status, 201, cc.text);
    const token = await api.call('PUT', '/api/accounts/cc', {
      ...editor,
      body: { fields: { tokenUrl: `${attacker.url}/oauth/token`, clientId: 'c' } },
    });
    assert.equal(token.status, 400);
    assert.deepEqual(issuePaths(token), ['fields.tokenUrl']);

    // The Test that follows still goes to the account's own origin.
    const t = await api.call('POST', '/api/accounts/okta-main/test', { ...editor, body: {} });
    assert.deepEqual(t.body, { ok: true });
    assert.equal(attacker.seen.length, 0);

    // Entering the secret again makes it the editor's own secret to send: allowed.
    const reentered = await api.call('PUT', '/api/accounts/cc', {
      ...editor,
      body: {
        fields: { tokenUrl: `${rest.url}/v2/oauth/token`, clientId: 'c', clientSecret: 'a-new-secret-value' },
      },
    });
    assert.equal(reentered.status, 200, reentered.text);
    const audit = await api.call('GET', '/api/audit?target=cc&action=account.update', { as: 'admin' });
    assert.deepEqual(audit.body[0].after.secretsEntered, ['fields.clientSecret']);
  });

  it("an http destination's url cannot move without its credential", async () => {
    const created = await api.call('POST', '/api/destinations', {
      ...editor,
      body: {
        name: 'siem',
        config: { kind: 'http', url: `${rest.url}/ingest`, auth: { type: 'bearer', token: DEST_TOKEN } },
      },
    });
    assert.equal(created.status, 201, created.text);
    const moved = await api.call('PUT', '/api/destinations/siem', {
      ...editor,
      body: { config: { ...created.body.config, url: `${attacker.url}/ingest` } },
    });
    assert.equal(moved.status, 400, moved.text);
    assert.deepEqual(issuePaths(moved), ['config.url']);
    const left = await api.call('PUT', '/api/destinations/siem', {
      ...editor,
      body: { config: { kind: 'http', url: `${attacker.url}/ingest`, auth: { type: 'bearer' } } },
    });
    assert.equal(left.status, 400);
    await api.call('POST', '/api/destinations/siem/test', editor);
    assert.equal(attacker.seen.length, 0);
  });

  it('a secret REST API header stays with the url it was saved for', async () => {
    const def = {
      name: 'with-header',
      source: 'rest-api',
      account: 'api-bearer',
      destinations: ['out'],
      enabled: false,
      settings: {
        ...restSettings(rest.url),
        headers: { 'X-Tenant-Key': API_KEY },
        publicHeaders: { 'X-Api-Version': '2' },
      },
    };
    const created = await api.call('POST', '/api/collectors', { ...editor, body: def });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.config.settings.headers['X-Tenant-Key'], `••••${API_KEY.slice(-4)}`);
    assert.equal(created.body.config.settings.publicHeaders['X-Api-Version'], '2');
    const viewer = await api.call('GET', '/api/collectors/with-header', { as: 'viewer' });
    assert.ok(!viewer.text.includes(API_KEY), 'viewers never see a secret header');
    // The account also allows the attacker's origin now (the admin re-entered its secret for that)…
    const bound = await api.call('PUT', '/api/accounts/api-bearer', {
      as: 'admin',
      body: { fields: { token: BEARER }, origins: [rest.url, attacker.url] },
    });
    assert.equal(bound.status, 200, bound.text);
    // …but the collector's own secret header still cannot follow a url change without being entered again.
    const { name: _, ...update } = def;
    const moved = await api.call('PUT', '/api/collectors/with-header', {
      ...editor,
      body: { ...update, settings: { ...created.body.config.settings, url: `${attacker.url}/v1/events` } },
    });
    assert.equal(moved.status, 400, moved.text);
    assert.deepEqual(issuePaths(moved), ['settings.url']);
    const audit = await api.call('GET', '/api/audit?target=with-header', { as: 'admin' });
    assert.ok(!audit.text.includes(API_KEY));
    // Restore the account for the other tests.
    await api.call('PUT', '/api/accounts/api-bearer', {
      as: 'admin',
      body: { fields: { token: BEARER }, origins: [rest.url] },
    });
  });

  it('credentials are never attached to another origin at send time: vendor links and redirects', async (t) => {
    // A vendor (here the attacker's server, which the account trusts for this test) whose next-page
    // link points at yet another origin: the run is refused there, without a request.
    const other = new Attacker();
    await other.start();
    t.after(() => other.stop());
    try {
      attacker.reply = () => ({
        status: 200,
        body: JSON.stringify({
          data: [{ id: 'e1', created_at: new Date().toISOString() }],
          next: `${other.url}/steal`,
        }),
      });
      const acct = await api.call('POST', '/api/accounts', {
        as: 'admin',
        body: { name: 'trusting', kind: 'bearer', fields: { token: BEARER }, origins: [attacker.url] },
      });
      assert.equal(acct.status, 201, acct.text);
      const c = await api.call('POST', '/api/collectors', {
        ...editor,
        body: {
          name: 'linked',
          source: 'rest-api',
          account: 'trusting',
          destinations: ['out'],
          lookback: '1h',
          settings: { ...restSettings(attacker.url), pagination: { type: 'next-url', nextUrlPath: 'next' } },
        },
      });
      assert.equal(c.status, 201, c.text);
      const result = await api.runtime.run('linked');
      assert.equal(result.status, 'failed');
      assert.equal(result.error?.code, 'credential_origin_refused', JSON.stringify(result.error));
      assert.equal(other.seen.length, 0, 'the other origin saw nothing');
      await api.call('DELETE', '/api/collectors/linked', editor);

      // A redirect to a link-local (cloud metadata) address is refused before connecting.
      attacker.reply = () => ({
        status: 302,
        headers: { location: 'https://169.254.169.254/latest/meta-data/iam/security-credentials/' },
      });
      const preview = await api.call('POST', '/api/collectors/preview', {
        ...editor,
        body: {
          source: 'rest-api',
          account: 'trusting',
          destinations: ['out'],
          settings: restSettings(attacker.url),
        },
      });
      assert.equal(preview.status, 200, preview.text);
      assert.equal(preview.body.ok, false);
      assert.equal(preview.body.error.code, 'egress_refused', preview.text);
      // The same through an IPv4-mapped IPv6 literal.
      attacker.reply = () => ({
        status: 302,
        headers: { location: 'https://[::ffff:169.254.169.254]/latest/' },
      });
      const mapped = await api.call('POST', '/api/collectors/preview', {
        ...editor,
        body: {
          source: 'rest-api',
          account: 'trusting',
          destinations: ['out'],
          settings: restSettings(attacker.url),
        },
      });
      assert.equal(mapped.body.error?.code, 'egress_refused', mapped.text);
    } finally {
      attacker.reply = () => ({ status: 200, body: '{"data":[]}' });
      await other.stop();
    }
  });

  it('link-local and metadata addresses are refused when saved, unless an admin allow-lists them; private ones are audited', async () => {
    const meta = await api.call('POST', '/api/accounts', {
      ...editor,
      body: { name: 'meta', kind: 'okta', fields: { url: 'https://169.254.169.254', token: OKTA_TOKEN } },
    });
    assert.equal(meta.status, 400, meta.text);
    assert.deepEqual(issuePaths(meta), ['fields.url']);
    const dest = await api.call('POST', '/api/destinations', {
      ...editor,
      body: { name: 'meta-dest', config: { kind: 'http', url: 'https://[fe80::1]/x' } },
    });
    assert.equal(dest.status, 400, dest.text);
    // Only an admin may allow it.
    const asEditor = await api.call('PUT', '/api/settings', {
      ...editor,
      body: { egressAllowList: ['169.254.0.0/16'] },
    });
    assert.equal(asEditor.status, 403);
    const allow = await api.call('PUT', '/api/settings', {
      as: 'admin',
      body: { egressAllowList: ['169.254.169.254'] },
    });
    assert.equal(allow.status, 200, allow.text);
    const allowed = await api.call('POST', '/api/accounts', {
      ...editor,
      body: { name: 'meta', kind: 'okta', fields: { url: 'https://169.254.169.254', token: OKTA_TOKEN } },
    });
    assert.equal(allowed.status, 201, allowed.text);
    await api.call('PUT', '/api/settings', { as: 'admin', body: { egressAllowList: [] } });

    const onPrem = await api.call('POST', '/api/accounts', {
      ...editor,
      body: { name: 'on-prem', kind: 'okta', fields: { url: 'https://10.20.30.40', token: OKTA_TOKEN } },
    });
    assert.equal(onPrem.status, 201, onPrem.text);
    const audit = await api.call('GET', '/api/audit?target=on-prem', { as: 'admin' });
    assert.deepEqual(audit.body[0].after.network, ['fields.url: 10.20.30.40 is a private address']);
  });

  it("an Okta service app's private key stays with the org: no url move, no redirect of the token request", async () => {
    const org = new OktaSimulator({ events: 5, serviceApp: { dpop: false } });
    await org.start();
    const seen = attacker.seen.length;
    try {
      const app = org.serviceApp!;
      const created = await api.call('POST', '/api/accounts', {
        as: 'admin',
        body: {
          name: 'okta-app',
          kind: 'okta',
          fields: { url: org.url, clientId: app.clientId, privateKey: app.privateKeyPem, keyId: app.keyId },
        },
      });
      assert.equal(created.status, 201, created.text);
      assert.ok(!created.text.includes(app.privateKeyPem.split('\n')[1]!), 'the key is write-only');
      const got = await api.call('GET', '/api/accounts/okta-app', editor);
      for (const fields of [
        { url: attacker.url, clientId: app.clientId, keyId: app.keyId },
        { ...got.body.fields, url: attacker.url },
      ]) {
        const moved = await api.call('PUT', '/api/accounts/okta-app', { ...editor, body: { fields } });
        assert.equal(moved.status, 400, moved.text);
        assert.deepEqual(issuePaths(moved), ['fields.url']);
      }
      const ok = await api.call('POST', '/api/accounts/okta-app/test', { ...editor, body: {} });
      assert.deepEqual(ok.body, { ok: true });
      // The org's token endpoint answers with a redirect elsewhere: the signed client assertion in the
      // request body must not be re-posted there.
      org.inject({
        kind: 'status',
        path: '/oauth2/v1/token',
        status: 307,
        headers: { location: `${attacker.url}/oauth2/v1/token` },
        body: '',
        times: 5,
      });
      const { tokenCache } = await import('../../src/engine/oauth.ts');
      tokenCache.clear();
      const redirected = await api.call('POST', '/api/accounts/okta-app/test', { ...editor, body: {} });
      assert.equal(attacker.seen.length, seen, 'the attacker saw no token request');
      assert.equal(redirected.body.ok, false, redirected.text);
      assert.equal(redirected.body.error.code, 'oauth_token_redirect');
      const keyLine = app.privateKeyPem.split('\n')[1]!;
      assert.ok(!api.responses.some((r) => r.includes(keyLine)), 'no response shows the key');
      assert.ok(!api.logLines.some((l) => l.includes(keyLine)), 'no log line shows the key');
    } finally {
      await api.call('DELETE', '/api/accounts/okta-app', { as: 'admin' });
      await org.stop();
    }
  });

  it('no secret appears in any response or log line of this suite', () => {
    for (const s of SECRETS) {
      assert.ok(!api.responses.some((r) => r.includes(s)), `a response contains ${s.slice(0, 6)}…`);
      assert.ok(!api.logLines.some((l) => l.includes(s)), `a log line contains ${s.slice(0, 6)}…`);
    }
  });
});
