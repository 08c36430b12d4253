import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { json, type SimRequest, SimServer } from '../sim/kit.ts';
import {
  type OAuth2ClientCredentialsAccount,
  oauth2ClientCredentials,
  oauth2ClientCredentialsFields,
  tokenRequest,
} from './oauth2-client-credentials.ts';

const issues = (fields: Record<string, unknown>) => {
  const r = oauth2ClientCredentialsFields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};

describe('oauth2-client-credentials account kind: fields and token request', () => {
  const base = {
    tokenUrl: 'https://auth.example.com/oauth2/token',
    clientId: 'client 1',
    clientSecret: 's3cr+t/é',
  };

  it('defaults to HTTP Basic client authentication with form-encoded credentials (RFC 6749 §2.3.1)', () => {
    const a = oauth2ClientCredentialsFields.parse({
      ...base,
      scope: 'logs.read audit.read',
      audience: 'https://api.example.com',
    });
    assert.equal(a.clientAuthentication, 'basic');
    const { form, headers } = tokenRequest(a as OAuth2ClientCredentialsAccount);
    assert.deepEqual(form, {
      grant_type: 'client_credentials',
      scope: 'logs.read audit.read',
      audience: 'https://api.example.com',
    });
    const decoded = Buffer.from(headers.authorization.replace(/^Basic /, ''), 'base64').toString();
    assert.equal(decoded, 'client+1:s3cr%2Bt%2F%C3%A9');
  });

  it('puts client_id and client_secret in the body when asked', () => {
    const a = oauth2ClientCredentialsFields.parse({ ...base, clientAuthentication: 'body' });
    const { form, headers } = tokenRequest(a as OAuth2ClientCredentialsAccount);
    assert.deepEqual(form, {
      grant_type: 'client_credentials',
      client_id: 'client 1',
      client_secret: 's3cr+t/é',
    });
    assert.deepEqual(headers, {});
  });

  it('validates each field with a message naming it', () => {
    assert.match(
      issues({ ...base, tokenUrl: 'http://auth.example.com/token' }).join(),
      /tokenUrl: plain http/,
    );
    assert.match(
      issues({ ...base, scope: 'a  b' }).join(),
      /scope: expected scopes separated by single spaces/,
    );
    assert.match(
      issues({ ...base, clientAuthentication: 'header' }).join(),
      /clientAuthentication: expected basic/,
    );
    assert.match(issues({ tokenUrl: base.tokenUrl, clientId: 'c' }).join(), /clientSecret: /);
    assert.deepEqual(oauth2ClientCredentials.secrets, ['clientSecret']);
  });
});

describe('oauth2-client-credentials account kind: against a token endpoint', () => {
  const server = new SimServer({ name: 'oauth' });
  const seen: Array<{ form: URLSearchParams; authorization?: string }> = [];
  const client = (req: SimRequest) => {
    const form = new URLSearchParams(req.body.toString());
    const basicAuth = String(req.headers.authorization ?? '');
    if (basicAuth.startsWith('Basic ')) {
      const [id, secret] = Buffer.from(basicAuth.slice(6), 'base64')
        .toString()
        .split(':')
        .map((s) => new URLSearchParams(`x=${s}`).get('x'));
      return { id, secret, form };
    }
    return { id: form.get('client_id'), secret: form.get('client_secret'), form };
  };
  let n = 0;
  server.route('POST', '/token', (req) => {
    const c = client(req);
    seen.push({ form: c.form, authorization: req.headers.authorization });
    if (c.id !== 'client 1' || c.secret !== 's3cr+t/é')
      return json(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    return json(200, { access_token: `at-${++n}`, token_type: 'Bearer', expires_in: 3600 });
  });
  server.route('GET', '/api/events', (req) =>
    /^Bearer at-\d+$/.test(String(req.headers.authorization))
      ? json(200, { events: [] })
      : json(401, { error: 'invalid_token' }),
  );
  before(() => server.start());
  after(() => server.stop());

  const get = (fields: Record<string, unknown>) => {
    const account = oauth2ClientCredentialsFields.parse(fields) as OAuth2ClientCredentialsAccount;
    const http: Http = new Http({
      vendor: 'Example',
      backoffBaseMs: 1,
      authorize: (h, refresh, url, req) =>
        oauth2ClientCredentials.authorize(account, h, { refresh, http, url, ...req }),
    });
    return http.getJson(`${server.url}/api/events`);
  };

  it('obtains a token with either client authentication and sends it as Bearer', async () => {
    const fields = {
      tokenUrl: `${server.url}/token`,
      clientId: 'client 1',
      clientSecret: 's3cr+t/é',
      scope: 'read',
    };
    assert.deepEqual((await get(fields)).body, { events: [] });
    assert.match(String(seen.at(-1)!.authorization), /^Basic /);
    assert.equal(seen.at(-1)!.form.get('client_secret'), null, 'the secret is not in the body with Basic');
    assert.deepEqual((await get({ ...fields, clientAuthentication: 'body' })).body, { events: [] });
    assert.equal(seen.at(-1)!.authorization, undefined);
    assert.equal(seen.at(-1)!.form.get('scope'), 'read');
  });

  it('a refused client is a config error with the fix, not the secret', async () => {
    const err = await get({
      tokenUrl: `${server.url}/token`,
      clientId: 'client 1',
      clientSecret: 'wrong-secret-value',
    }).catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.code, 'oauth_token_refused');
    assert.match(err.message, /invalid_client/);
    assert.match(err.action, /clientId and clientSecret.*clientAuthentication "body"/);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), /wrong-secret-value/);
  });
});
