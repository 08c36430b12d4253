import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { json, SimServer } from '../sim/kit.ts';
import { type BasicAccount, basic, basicAuthorization, basicFields } from './basic.ts';

const issues = (fields: Record<string, unknown>) => {
  const r = basicFields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};

describe('basic account kind', () => {
  it('encodes user:password as UTF-8 base64 (RFC 7617 §2 example and a non-ASCII password)', () => {
    assert.equal(basicAuthorization('Aladdin', 'open sesame'), 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    assert.equal(basicAuthorization('test', '123£'), 'Basic dGVzdDoxMjPCow==');
    assert.deepEqual(basic.secrets, ['password']);
  });

  it('refuses a colon in the user name and control characters, without echoing the password', () => {
    assert.match(
      issues({ username: 'a:b', password: 'p' }).join(),
      /username: a Basic user name cannot contain ":"/,
    );
    const bad = issues({ username: 'svc', password: 'pass\nword-secret' }).join();
    assert.match(bad, /password: expected a password without control characters/);
    assert.doesNotMatch(bad, /word-secret/);
    assert.match(issues({ username: 'svc' }).join(), /password: /);
  });

  describe('against a server', () => {
    const server = new SimServer({ name: 'basic' });
    server.route('GET', '/api/audit', (req) => {
      const [user, pass] = Buffer.from(String(req.headers.authorization).replace(/^Basic /, ''), 'base64')
        .toString('utf8')
        .split(/:(.*)/s);
      return user === 'svc-tributary' && pass === 'pä:ss w0rd'
        ? json(200, { ok: true })
        : json(401, { error: 'nope' });
    });
    before(() => server.start());
    after(() => server.stop());

    it('authenticates (a colon and spaces in the password are fine)', async () => {
      const account: BasicAccount = { username: 'svc-tributary', password: 'pä:ss w0rd' };
      const http: Http = new Http({
        vendor: 'Example',
        authorize: (h, refresh, url, req) => basic.authorize(account, h, { refresh, http, url, ...req }),
      });
      assert.deepEqual((await http.getJson(`${server.url}/api/audit`)).body, { ok: true });
    });
  });
});
