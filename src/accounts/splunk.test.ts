import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { json, SimServer } from '../sim/kit.ts';
import { type SplunkAccount, splunk, splunkFields } from './splunk.ts';

const TOKEN =
  'eyJraWQiOiJzcGx1bmsuc2VjcmV0IiwiYWxnIjoiSFM1MTIiLCJ2ZXIiOiJ2MiIsInR0eXAiOiJzdGF0aWMifQ.eyJpc3MiOiJhZG1pbiBmcm9tIHNwbHVuayIsInN1YiI6InRyaWJ1dGFyeSJ9.c2lnbmF0dXJlLW5vdC1yZWFsbHk';

const issues = (fields: Record<string, unknown>) => {
  const r = splunkFields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};

describe('splunk account kind', () => {
  it('accepts a management URL and an authentication token', () => {
    assert.deepEqual(issues({ url: 'https://splunk.example.com:8089', token: TOKEN }), []);
    assert.deepEqual(issues({ url: 'https://acme.splunkcloud.com:8089/', token: ` ${TOKEN} ` }), []);
    assert.deepEqual(splunk.secrets, ['token', 'password']);
  });

  it('takes a username and password instead, not both and not half', () => {
    const url = 'https://splunk.example.com:8089';
    assert.deepEqual(issues({ url, username: 'svc', password: 'pw' }), []);
    assert.deepEqual(issues({ url }), ['token: required: token, or username and password']);
    assert.deepEqual(issues({ url, username: 'svc' }), [
      'password: required with Basic authentication (username and password go together)',
    ]);
    assert.match(issues({ url, token: TOKEN, username: 'svc', password: 'pw' }).join(), /set either token/);
  });

  it('refuses to turn TLS verification off, the HEC port, and what is not an authentication token', () => {
    assert.deepEqual(issues({ url: 'https://splunk.example.com:8089', token: TOKEN, verifyTls: false }), [
      'verifyTls: not supported: Tributary always verifies TLS certificates (add a private CA with NODE_EXTRA_CA_CERTS)',
    ]);
    assert.match(
      issues({ url: 'https://splunk.example.com:8088', token: TOKEN }).join(),
      /url: port 8088 is the HTTP Event Collector/,
    );
    assert.match(
      issues({ url: 'https://splunk.example.com:8089/services', token: TOKEN }).join(),
      /url: expected the server and port alone/,
    );
    assert.match(issues({ url: 'http://splunk.example.com:8089', token: TOKEN }).join(), /url: plain http/);
    for (const token of [
      `Bearer ${TOKEN}`,
      `Splunk 1a2b3c^session-key`,
      '12345678-1234-1234-1234-123456789012',
    ]) {
      const text = issues({ url: 'https://splunk.example.com:8089', token }).join();
      assert.match(text, /^token: expected a Splunk authentication token/);
      assert.doesNotMatch(text, /session-key|12345678-1234/);
    }
  });

  describe('against a management port', () => {
    const server = new SimServer({ name: 'splunk' });
    server.route('GET', '/services/authentication/current-context', (req) =>
      req.headers.authorization === `Bearer ${TOKEN}`
        ? json(200, { entry: [{ content: { username: 'tributary' } }] })
        : json(401, { messages: [{ type: 'WARN', text: 'call not properly authenticated' }] }),
    );
    before(() => server.start());
    after(() => server.stop());
    const get = (account: SplunkAccount) => {
      const http: Http = new Http({
        vendor: 'Splunk',
        backoffBaseMs: 1,
        authorize: (h, refresh, url, req) => splunk.authorize(account, h, { refresh, http, url, ...req }),
      });
      return http.getJson(`${server.url}/services/authentication/current-context?output_mode=json`);
    };

    it('sends a username and password as Basic', async () => {
      const headers = new Headers();
      await splunk.authorize({ url: server.url, username: 'svc', password: 'p:w' }, headers, {
        refresh: false,
        http: undefined as never,
        url: new URL(server.url),
      });
      assert.equal(headers.get('authorization'), `Basic ${Buffer.from('svc:p:w').toString('base64')}`);
    });

    it('sends the token as Bearer', async () => {
      const { body } = await get({ url: server.url, token: TOKEN });
      assert.equal(body.entry[0].content.username, 'tributary');
    });

    it('a revoked token is a config error without the token in it', async () => {
      const err = await get({ url: server.url, token: `${TOKEN}x` }).catch((e) => e);
      assert.ok(err instanceof TributaryError);
      assert.equal(err.code, 'unauthorized');
      assert.doesNotMatch(JSON.stringify(err.toJSON()), /eyJraWQ/);
    });
  });
});
