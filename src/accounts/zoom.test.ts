import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { tokenCache } from '../engine/oauth.ts';
import { ZoomSimulator } from '../sources/zoom/simulator.ts';
import { type ZoomAccount, zoom, zoomFields, zoomTokenRequest } from './zoom.ts';

const issues = (fields: Record<string, unknown>) => {
  const r = zoomFields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};

describe('zoom account kind: fields', () => {
  const ok = {
    accountId: 'Gq1a2B3cD4eF5gH6iJ7kLm',
    clientId: 'xY9zAbCdEfGhIjKlMnOp',
    clientSecret: 's3cr3t',
  };

  it('accepts the three App Credentials; the secret is the only secret', () => {
    assert.deepEqual(issues(ok), []);
    assert.deepEqual(zoom.secrets, ['clientSecret']);
    assert.deepEqual(
      issues({ ...ok, tokenUrl: 'https://zoom.us/oauth/token', apiUrl: 'https://api.zoom.us/v2/' }),
      [],
    );
  });

  it('names the wrong field and never echoes the secret', () => {
    assert.match(
      issues({ ...ok, accountId: 'has spaces in it' }).join(),
      /accountId: expected the Account ID/,
    );
    assert.match(issues({ ...ok, clientId: '' }).join(), /clientId: expected the Client ID/);
    assert.match(issues({ ...ok, clientSecret: '' }).join(), /clientSecret: required/);
    assert.match(issues({ ...ok, tokenUrl: 'http://zoom.us/oauth/token' }).join(), /tokenUrl: plain http/);
    assert.match(issues({ ...ok, extra: 1 }).join(), /extra|Unrecognized/);
  });

  it('builds the documented token request: grant and account in the query, HTTP Basic client auth', () => {
    const req = zoomTokenRequest({ ...ok, clientSecret: 'p@ss:word' });
    const u = new URL(req.url);
    assert.equal(u.origin + u.pathname, 'https://zoom.us/oauth/token');
    assert.equal(u.searchParams.get('grant_type'), 'account_credentials');
    assert.equal(u.searchParams.get('account_id'), ok.accountId);
    assert.equal(
      req.headers.authorization,
      `Basic ${Buffer.from(`${ok.clientId}:p@ss:word`).toString('base64')}`,
    );
  });
});

describe('zoom account kind: Server-to-Server OAuth against the simulator', () => {
  const sim = new ZoomSimulator({ activities: 1, operations: 0, heavyPerSecond: 1000 });
  before(() => sim.start());
  after(() => sim.stop());

  const clientFor = (a: ZoomAccount) => {
    const http: Http = new Http({
      vendor: 'Zoom',
      backoffBaseMs: 1,
      maxAttempts: 2,
      authorize: (h, refresh, url) => zoom.authorize(a, h, { refresh, http, url }),
    });
    return http;
  };
  const today = () => new Date().toISOString().slice(0, 10);

  it('mints one token, shares it between requests, and renews it after a 401', async () => {
    tokenCache.clear();
    const http = clientFor(sim.account());
    const q = { from: today(), to: today(), page_size: 1 };
    await http.getJson(`${sim.apiUrl}/report/activities`, q);
    await http.getJson(`${sim.apiUrl}/report/activities`, q);
    const minted = () => sim.requests().filter((r) => r.path === '/oauth/token').length;
    assert.equal(minted(), 1, 'cached');
    const tokenReq = sim.requests().find((r) => r.path === '/oauth/token');
    assert.equal(tokenReq?.method, 'POST');
    assert.equal(tokenReq?.query.get('grant_type'), 'account_credentials');
    sim.revokeTokens(); // the app was deactivated and activated again
    await http.getJson(`${sim.apiUrl}/report/activities`, q);
    assert.equal(minted(), 2, 'renewed after the 401');
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('a refused token is a config error with an action, naming neither secret nor token', async () => {
    tokenCache.clear();
    const wrong = clientFor({ ...sim.account(), clientSecret: 'not-the-secret-value' });
    const err = await wrong.getJson(`${sim.apiUrl}/report/activities`).catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.type, 'config');
    assert.equal(err.code, 'oauth_token_refused');
    assert.match(err.message, /invalid_client/);
    assert.match(err.action, /clientId and clientSecret/);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), /not-the-secret-value/);
    tokenCache.clear();
    const badAccount = clientFor({ ...sim.account(), accountId: 'NotTheAccount123' });
    const e2 = await badAccount.getJson(`${sim.apiUrl}/report/activities`).catch((e) => e);
    assert.match(e2.action, /accountId/);
  });
});
