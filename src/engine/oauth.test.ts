import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { Http } from './http.ts';
import { requestToken, TokenCache, tokenKey } from './oauth.ts';

describe('TokenCache', () => {
  it('shares one request among concurrent callers and reuses the token until it nears expiry', async () => {
    let t = 0;
    const cache = new TokenCache(() => t, 1000);
    let fetches = 0;
    const fetchToken = async () => ({ token: `tok${++fetches}`, expiresAt: t + 5000 });
    const got = await Promise.all([1, 2, 3].map(() => cache.get('k', false, fetchToken)));
    assert.deepEqual(got, ['tok1', 'tok1', 'tok1']);
    t = 3999;
    assert.equal(await cache.get('k', false, fetchToken), 'tok1');
    t = 4001; // within renewBeforeMs of expiry
    assert.equal(await cache.get('k', false, fetchToken), 'tok2');
    assert.equal(await cache.get('k', true, fetchToken), 'tok3', 'refresh after a 401 drops the token');
    assert.equal(await cache.get('other', false, fetchToken), 'tok4', 'keys are separate');
  });

  it('does not cache a failure', async () => {
    const cache = new TokenCache();
    await assert.rejects(cache.get('k', false, async () => Promise.reject(new Error('down'))));
    assert.equal(
      await cache.get('k', false, async () => ({ token: 'ok', expiresAt: Date.now() + 3600_000 })),
      'ok',
    );
  });

  it('hashes keys so no secret is kept', () => {
    const k = tokenKey('client', 'very-secret', 'scope');
    assert.match(k, /^[0-9a-f]{64}$/);
    assert.ok(!k.includes('very-secret'));
  });
});

describe('requestToken', () => {
  let url = '';
  const seen: Array<{ body: string; auth?: string; type?: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ body, auth: req.headers.authorization, type: req.headers['content-type'] });
      const form = new URLSearchParams(body);
      res.setHeader('content-type', 'application/json');
      if (form.get('client_secret') !== 's3cret') {
        res.statusCode = 401;
        res.end(
          JSON.stringify({
            error: 'invalid_client',
            error_description: 'AADSTS7000215: Invalid client secret provided.',
          }),
        );
        return;
      }
      res.end(JSON.stringify({ token_type: 'Bearer', expires_in: '3599', access_token: 'at-1' }));
    });
  });
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  });
  after(() => server.close());

  const http = new Http({
    vendor: 'Example',
    authorize: async (h) => h.set('authorization', 'Bearer must-not-be-sent'),
  });
  const form = (secret: string) => ({
    grant_type: 'client_credentials',
    client_id: 'c',
    client_secret: secret,
    scope: 's/.default',
  });

  it('posts the form without the account credentials and parses a string expires_in', async () => {
    const before = Date.now();
    const t = await requestToken(http, {
      vendor: 'Example',
      tokenUrl: url,
      form: form('s3cret'),
      action: 'fix it',
    });
    assert.equal(t.token, 'at-1');
    assert.ok(t.expiresAt >= before + 3599_000 && t.expiresAt <= Date.now() + 3599_000);
    const last = seen.at(-1)!;
    assert.equal(last.auth, undefined);
    assert.equal(last.type, 'application/x-www-form-urlencoded');
    assert.equal(new URLSearchParams(last.body).get('grant_type'), 'client_credentials');
  });

  it('turns an OAuth error into a config error naming it, without the secret', async () => {
    const err = await requestToken(http, {
      vendor: 'Example',
      tokenUrl: url,
      form: form('wrong-secret'),
      action: 'Create a new client secret.',
    }).catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.type, 'config');
    assert.equal(err.code, 'oauth_token_refused');
    assert.match(err.message, /\(invalid_client\): AADSTS7000215: Invalid client secret provided\.$/);
    assert.equal(err.action, 'Create a new client secret.');
    assert.ok(!JSON.stringify(err.toJSON()).includes('wrong-secret'));
  });

  it('lets the account kind choose the action from the OAuth error code', async () => {
    const seenRefusals: unknown[] = [];
    const err = await requestToken(http, {
      vendor: 'Example',
      tokenUrl: url,
      form: form('wrong-secret'),
      action: (r) => {
        seenRefusals.push(r);
        return r.error === 'invalid_client' ? 'Rotate the client secret.' : 'Other.';
      },
    }).catch((e) => e);
    assert.equal(err.action, 'Rotate the client secret.');
    assert.deepEqual(seenRefusals, [
      { status: 401, error: 'invalid_client', description: 'AADSTS7000215: Invalid client secret provided.' },
    ]);
  });
});
