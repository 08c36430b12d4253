import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { json, SimServer } from '../sim/kit.ts';
import { type WizAccount, wiz, wizAudience, wizFields } from './wiz.ts';

const issues = (fields: Record<string, unknown>) => {
  const r = wizFields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};
const CLIENT = { clientId: 'wiz-sa-7f3a2c', clientSecret: 'wiz-secret-Q1w2E3r4' };

describe('wiz account kind: fields', () => {
  it('accepts a service account and the tenant API endpoint', () => {
    assert.deepEqual(issues({ ...CLIENT, apiUrl: 'https://api.us17.app.wiz.io/graphql' }), []);
    assert.match(
      issues({ ...CLIENT, apiUrl: 'https://api.us17.app.wiz.io/' }).join(),
      /apiUrl: expected the tenant API endpoint URL/,
    );
    assert.match(
      issues({ clientId: 'x', apiUrl: 'https://api.us1.app.wiz.io/graphql' }).join(),
      /clientSecret: /,
    );
    assert.deepEqual(wiz.secrets, ['clientSecret']);
  });

  it('uses audience wiz-api with auth.app.wiz.io and beyond-api with the legacy auth.wiz.io', () => {
    assert.equal(wizAudience({}), 'wiz-api');
    assert.equal(wizAudience({ tokenUrl: 'https://auth.wiz.io/oauth/token' }), 'beyond-api');
    assert.equal(wizAudience({ tokenUrl: 'https://auth.wiz.io/oauth/token', audience: 'custom' }), 'custom');
  });
});

describe('wiz account kind: client credentials against a simulator', () => {
  const server = new SimServer({ name: 'wiz' });
  const forms: URLSearchParams[] = [];
  let issued = 0;
  server.route('POST', '/oauth/token', (req) => {
    const form = new URLSearchParams(req.body.toString());
    forms.push(form);
    if (form.get('client_secret') !== CLIENT.clientSecret)
      return json(401, { error: 'access_denied', error_description: 'Unauthorized' });
    return json(200, { access_token: `wiz-token-${++issued}`, expires_in: 86400, token_type: 'Bearer' });
  });
  server.route('POST', '/graphql', (req) =>
    /^Bearer wiz-token-\d+$/.test(String(req.headers.authorization))
      ? json(200, { data: { issues: { totalCount: 3 } } })
      : json(401, { errors: [{ message: 'unauthorized' }] }),
  );
  before(() => server.start());
  after(() => server.stop());

  const post = (account: WizAccount) => {
    const http: Http = new Http({
      vendor: 'Wiz',
      backoffBaseMs: 1,
      authorize: (h, refresh, url, req) => wiz.authorize(account, h, { refresh, http, url, ...req }),
    });
    return http.request({
      method: 'POST',
      url: account.apiUrl,
      readOnly: true, // a GraphQL query
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ issues { totalCount } }' }),
    });
  };

  it('exchanges the client credentials with audience wiz-api once, then sends the token as Bearer', async () => {
    const account = { ...CLIENT, apiUrl: `${server.url}/graphql`, tokenUrl: `${server.url}/oauth/token` };
    const [a, b] = await Promise.all([post(account), post({ ...account })]);
    assert.equal((await a.json()).data.issues.totalCount, 3);
    assert.equal(b.status, 200);
    assert.equal(forms.length, 1);
    assert.equal(forms[0].get('grant_type'), 'client_credentials');
    assert.equal(forms[0].get('audience'), 'wiz-api');
    assert.equal(forms[0].get('client_id'), CLIENT.clientId);
  });

  it('a refused secret is a config error that names the fields to check, not the secret', async () => {
    const err = await post({
      clientId: CLIENT.clientId,
      clientSecret: 'rotated-secret-value',
      apiUrl: `${server.url}/graphql`,
      tokenUrl: `${server.url}/oauth/token`,
    }).catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.code, 'oauth_token_refused');
    assert.match(err.action, /clientId and clientSecret/);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), /rotated-secret-value/);
  });
});
