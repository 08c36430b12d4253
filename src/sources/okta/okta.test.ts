import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { okta as oktaAccount } from '../../accounts/okta.ts';
import { testConnection } from '../../engine/test-connection.ts';
import okta from './index.ts';
import { OktaSimulator } from './simulator.ts';

const settings = { limit: 1000 };

describe('okta source', () => {
  it('Test Connection passes with a valid token', async (t) => {
    const sim = new OktaSimulator();
    await sim.start();
    t.after(() => sim.stop());
    const r = await testConnection(okta, oktaAccount, { url: sim.url, token: sim.token }, settings);
    assert.deepEqual(r, { ok: true });
    assert.deepEqual(sim.writeCalls(), []);
    await sim.stop();
  });

  it('Test Connection explains an invalid token (401) without echoing it', async (t) => {
    const sim = new OktaSimulator();
    await sim.start();
    t.after(() => sim.stop());
    const r = await testConnection(okta, oktaAccount, { url: sim.url, token: 'wrong-token-value' }, settings);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.error.type, 'config');
    assert.equal(r.error.code, 'okta_invalid_token');
    assert.equal(r.error.status, 401);
    assert.match(r.error.action, /Security → API → Tokens/);
    assert.doesNotMatch(JSON.stringify(r.error), /wrong-token-value/);
    await sim.stop();
  });

  it('Test Connection explains a missing System Log permission (403)', async (t) => {
    const sim = new OktaSimulator({ permission: false });
    await sim.start();
    t.after(() => sim.stop());
    const r = await testConnection(okta, oktaAccount, { url: sim.url, token: sim.token }, settings);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'okta_missing_permission');
      assert.match(r.error.action, /Read-Only Administrator/);
    }
    await sim.stop();
  });

  it('asks for an ascending bounded window with SSWS auth', async (t) => {
    const sim = new OktaSimulator({ events: 10 });
    await sim.start();
    t.after(() => sim.stop());
    const stream = okta.streams['system-log'];
    const { Http } = await import('../../engine/http.ts');
    const http = new Http({
      vendor: 'Okta',
      authorize: (h, refresh, url, req) =>
        oktaAccount.authorize({ url: sim.url, token: sim.token }, h, { refresh, http, url, ...req }),
    });
    const batches = [];
    const ctx = readContext(http, {
      stream: 'system-log',
      settings,
      account: { url: sim.url, token: sim.token },
    });
    for await (const b of stream.read(ctx)) batches.push(b);
    const q = sim.requests()[0].query;
    assert.equal(q.get('sortOrder'), 'ASCENDING');
    assert.ok(q.get('since') && q.get('until'));
    assert.equal(sim.requests()[0].headers.authorization, `SSWS ${sim.token}`);
    assert.equal(batches.flatMap((b) => b.events).length, 10);
    assert.deepEqual(
      batches.flatMap((b) => b.events.map((e) => e.id)),
      sim.eventIds(),
    );
    await sim.stop();
  });

  describe('Test Connection with an OAuth service app', () => {
    const app = (sim: OktaSimulator) => ({
      url: sim.url,
      clientId: sim.serviceApp!.clientId,
      privateKey: sim.serviceApp!.privateKeyPem,
      keyId: sim.serviceApp!.keyId,
    });
    const run = async (sim: OktaSimulator, change: Record<string, unknown> = {}) => {
      await sim.start();
      try {
        return await testConnection(okta, oktaAccount, { ...app(sim), ...change }, settings);
      } finally {
        await sim.stop();
      }
    };

    it('passes whether or not the app requires DPoP', async () => {
      for (const dpop of [true, false]) {
        const sim = new OktaSimulator({ serviceApp: { dpop } });
        assert.deepEqual(await run(sim), { ok: true }, `dpop ${dpop}`);
        assert.equal(sim.serviceApp!.issued[0]?.type, dpop ? 'DPoP' : 'Bearer');
      }
    });

    it('invalid_client: a key that is not registered, named without echoing it', async () => {
      const sim = new OktaSimulator({ serviceApp: { dpop: false } });
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
      const r = await run(sim, { privateKey: other });
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.error.type, 'config');
      assert.equal(r.error.code, 'okta_invalid_client');
      assert.match(r.error.message, /Okta refused to issue an access token \(invalid_client\)/);
      assert.match(r.error.action, /Public key \/ Private key.*Public keys/);
      const key = other.split('\n')[1]!;
      assert.doesNotMatch(JSON.stringify(r.error), new RegExp(key.slice(0, 20).replace(/[+/]/g, '.')));
    });

    it('invalid_client: a wrong client ID', async () => {
      const sim = new OktaSimulator({ serviceApp: { dpop: false } });
      const r = await run(sim, { clientId: '0oaNotThisOne' });
      assert.equal(!r.ok && r.error.code, 'okta_invalid_client');
    });

    it('a missing okta.logs.read grant says where to grant it', async () => {
      const sim = new OktaSimulator({ serviceApp: { grants: ['okta.users.read'] } });
      const r = await run(sim);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.error.code, 'okta_scope_not_granted');
      assert.match(r.error.message, /invalid_scope/);
      assert.match(r.error.action, /Okta API Scopes → Grant next to okta\.logs\.read/);
    });

    it('invalid_scope for another reason (not the org authorization server) says so', async () => {
      const sim = new OktaSimulator({ serviceApp: { dpop: false } });
      sim.inject({
        kind: 'status',
        path: '/oauth2/v1/token',
        status: 400,
        body: {
          error: 'invalid_scope',
          error_description: 'The requested scope is invalid, unknown, or malformed.',
        },
      });
      const r = await run(sim);
      assert.equal(!r.ok && r.error.code, 'okta_invalid_scope');
      assert.match(!r.ok ? r.error.action : '', /must be the org itself/);
    });

    it('a service app without an admin role: 403 names the Admin roles tab', async () => {
      const sim = new OktaSimulator({ permission: false, serviceApp: { dpop: false } });
      const r = await run(sim);
      assert.equal(!r.ok && r.error.code, 'okta_missing_permission');
      assert.match(!r.ok ? r.error.action : '', /service app \(its Admin roles tab\)/);
    });
  });
});
