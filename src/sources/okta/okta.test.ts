import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { okta as oktaAccount } from '../../accounts/index.ts';
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
});
