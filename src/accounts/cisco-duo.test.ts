import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { json, SimServer } from '../sim/kit.ts';
import {
  canonicalString,
  canonParams,
  ciscoDuo,
  type DuoAccount,
  duoAuthorization,
  duoFields,
  rfc2822,
} from './cisco-duo.ts';

const issues = (fields: Record<string, unknown>) => {
  const r = duoFields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};

describe('cisco-duo: v5 signature, vectors from Duo’s own libraries', () => {
  // duosecurity/duo_hmac_python test/test_hmac.py ("the expected Authorization header was calculated
  // using duo_client_python"). The library always sends, and signs, x-duo-date.
  const IKEY = 'DIABCDEFGHIJKLMNOPQR';
  const SKEY = 'testtesttesttesttesttesttesttesttesttest';
  const HOST = 'api-xxxxxxxx.duosecurity.com';
  const DATE = 'Fri, 24 May 2024 12:00:00 -0000';
  const sign = (
    method: string,
    params: Array<[string, string]>,
    body: string | undefined,
    extra: Array<[string, string]> = [],
  ) =>
    duoAuthorization(IKEY, SKEY, {
      date: DATE,
      method,
      host: HOST,
      path: '/api/path',
      params,
      body,
      xDuoHeaders: [...extra, ['x-duo-date', DATE]],
    });

  it('GET without parameters', () => {
    assert.equal(
      sign('GET', [], undefined),
      'Basic RElBQkNERUZHSElKS0xNTk9QUVI6YzQ1NDYzOWQ3NWI0ZTNkOTliOGIxZDVlNDFjZDdiYjJkMmQ4YmE1NWY2ODExZjc4NmRmYjBlZGQ0ZmFjZDJmM2E1ZTZkNmM4MzdmMzFmNjgyNjcwNjMyNWI0ZWQ3ZGNkYzVmMTExNjQ5NDhlNTdhNzAzMmE1MjQ5OTBlMDE1ODM=',
    );
  });

  it('GET with one parameter', () => {
    assert.equal(
      sign('GET', [['foo', 'bar']], undefined),
      'Basic RElBQkNERUZHSElKS0xNTk9QUVI6ODhmZTgwZjNiMjQyYjk5MmY0YjMwMTQwOGQ1MjRhODg2Mjc0ZDNlZDBjNGM3YmQxODRlMWI0ZmYzNzhlNjhlYTA1ZDk0MzNjMDk5MzgwNzhjNDk1MTdhNmM0MjY0Yzk1MGJlOWZmNWNjMjhhZDJkNDQ4Y2VhMjRiYzkzODg3Y2E=',
    );
  });

  it('GET with parameters and x-duo headers (sorted; other headers ignored)', () => {
    assert.equal(
      sign(
        'GET',
        [
          ['foo', 'bar'],
          ['one', '1'],
          ['bool', 'true'],
        ],
        undefined,
        [
          ['x-duo-foo', 'bar'],
          ['x-duo-bar', 'foo'],
          ['non-duo-bar', 'duo'],
        ],
      ),
      'Basic RElBQkNERUZHSElKS0xNTk9QUVI6ZDQ2NTU2NzI2ODAwNDE1ZGM3OGNlZmMzZmI0ZTExZGNmM2VlMTM0MjkwNGYyNzZlZDVjOGUzNDI3ODc4YmQ1Mzc2ZWE2YzU1NTFiOTBiZjcwN2ZhYjUzZjZmMWQyMGExMTQ4OTg4OTg3MDVkMjgyNjg4MjRlZGQwYmU1ZjFkNTM=',
    );
  });

  it('POST with a JSON body and x-duo headers', () => {
    assert.equal(
      sign('POST', [], '{"bool":"true","foo":"bar","one":"1"}', [
        ['x-duo-foo', 'bar'],
        ['x-duo-bar', 'foo'],
      ]),
      'Basic RElBQkNERUZHSElKS0xNTk9QUVI6ZGVmN2I3MzU5YjAzOTk1NDNiNjFkM2QxYTQyNTJjMTkwOGViNDg2MDM5MTY4YWE3ZDFjOTM1NDVmMDUyZTEyMTA2MmU0ZDBkM2NhZTgwZjBmMTI1ZGM0OTdjNDNjNTNiNjJjOWRiNThjYWNkMjEzOTRhM2IxN2FkOTcyZTM3OTM=',
    );
  });

  it('duo_api_csharp Tests_DuoSignatureV5: canonical string and HMAC-SHA512 signature', () => {
    const parts = {
      date: 'Fri, 07 Dec 2012 17:18:00 -0000',
      method: 'POST',
      host: 'foo.bar52.com',
      path: '/Foo/BaR2/qux',
      params: [] as Array<[string, string]>,
      body: '{"alpha":["a","b","c","d"],"data":"abc123","info":{"another":2,"test":1}}',
      xDuoHeaders: [['X-Duo-Header-1', 'header_value_1']] as Array<[string, string]>,
    };
    assert.equal(
      canonicalString(parts),
      'Fri, 07 Dec 2012 17:18:00 -0000\nPOST\nfoo.bar52.com\n/Foo/BaR2/qux\n\nc30ca4ffc7fe4272aa6ae7a3c94cf71c11ed8ae7aaa32e81a401a59f1cef0866ccb02304380cdc48a813b1566c457653fa62736022f0cfeadcec8cd7c6233480\n630b4bfe7e9abd03da2eee8f0a5d4e60a254ec880a839bcc2223bb5b9443e8ef24d58f0254f1f5934bf8c017ebd0fd5b1acf86766bdbe74185e712a4092df3ed',
    );
    assert.equal(
      duoAuthorization('test_ikey', 'gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT', parts),
      'Basic dGVzdF9pa2V5OjY2MDc2NjEwOTcwYzIzMDU2YzhjZTBjNjZkZGQyZGIyZDBmMTA4NzZhODI1ODE0ZDkyZTllZTNkZDA0MTg5NzUyYzg4YTViZTc5ZDIwZjZkNTZjYWNjN2E5ZjE2YTZiOGU2OTVhMDAyOGE3ZjYwZWQyMTk0OTZhYzUzZGRmYWM3',
    );
  });

  it('encodes parameters as Duo does (duo_client_python test_client_sign / DuoSignatureV5 tests)', () => {
    assert.equal(
      canonParams([
        ['realname', 'First Last'],
        ['username', 'root'],
      ]),
      'realname=First%20Last&username=root',
    );
    assert.equal(
      canonParams([
        ['digits', '0123456789'],
        ['punctuation', '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'],
        ['whitespace', '\t\n\x0b\x0c\r '],
      ]),
      'digits=0123456789&punctuation=%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E_%60%7B%7C%7D~&whitespace=%09%0A%0B%0C%0D%20',
    );
    assert.equal(
      canonParams([
        ['foo_bar', '2'],
        ['foo', '1'],
      ]),
      'foo=1&foo_bar=2',
    );
    assert.equal(canonParams([['\u8b97', '\uc846']]), '%E8%AE%97=%EC%A1%86');
  });

  it('formats the date as RFC 2822 with -0000', () => {
    assert.equal(rfc2822(new Date('2012-08-21T17:29:18Z')), 'Tue, 21 Aug 2012 17:29:18 -0000');
  });
});

describe('cisco-duo account kind: fields', () => {
  const ok = {
    integrationKey: 'DIWJ8X6AEYOR5OMC6TQ1',
    secretKey: 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep',
    apiHostname: 'api-1a2b3c4d.duosecurity.com',
  };

  it('accepts the three values from the Admin API application, hostname pasted as a URL too', () => {
    assert.deepEqual(issues(ok), []);
    const r = duoFields.safeParse({ ...ok, apiHostname: ' https://API-1A2B3C4D.duofederal.com/ ' });
    assert.ok(r.success);
    assert.equal(r.data.apiHostname, 'api-1a2b3c4d.duofederal.com');
    assert.deepEqual(ciscoDuo.secrets, ['secretKey']);
  });

  it('names the wrong field without echoing the secret key', () => {
    assert.match(
      issues({ ...ok, apiHostname: 'duosecurity.com' }).join(),
      /apiHostname: expected the API hostname/,
    );
    assert.match(issues({ ...ok, apiHostname: 'api-1.evil.com' }).join(), /apiHostname: /);
    assert.match(
      issues({ ...ok, integrationKey: 'abc' }).join(),
      /integrationKey: expected a Duo integration key/,
    );
    const bad = issues({ ...ok, secretKey: 'short-secret-value' });
    assert.match(bad.join(), /secretKey: expected the 40-character secret key/);
    assert.doesNotMatch(bad.join(), /short-secret-value/);
  });
});

describe('cisco-duo account kind: authorize against a Duo simulator', () => {
  const account: DuoAccount = {
    integrationKey: 'DIWJ8X6AEYOR5OMC6TQ1',
    secretKey: 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep',
    apiHostname: 'api-1a2b3c4d.duosecurity.com',
  };
  const server = new SimServer({ name: 'duo' });
  const seen: Array<Record<string, unknown>> = [];
  // The simulator checks what Duo checks: recomputes the v5 signature from the request as received.
  server.route('GET', '/admin/v2/logs/authentication', (req) => {
    const date = String(req.headers['x-duo-date'] ?? '');
    const xDuo = Object.entries(req.headers)
      .filter(([k]) => k.startsWith('x-duo'))
      .map(([k, v]) => [k, String(v)] as [string, string]);
    const expected = duoAuthorization(account.integrationKey, account.secretKey, {
      date,
      method: req.method,
      host: String(req.headers.host),
      path: req.path,
      params: req.query,
      xDuoHeaders: xDuo,
    });
    seen.push({ date, authorization: req.headers.authorization });
    if (req.headers.authorization !== expected || Math.abs(Date.parse(date) - Date.now()) > 300_000)
      return json(401, { code: 40103, message: 'Invalid signature in request credentials', stat: 'FAIL' });
    return json(200, { stat: 'OK', response: { authlogs: [], metadata: {} } });
  });
  before(() => server.start());
  after(() => server.stop());

  const clientFor = (a: DuoAccount) => {
    const http: Http = new Http({
      vendor: 'Cisco Duo',
      backoffBaseMs: 1,
      authorize: (h, refresh, url, req) => ciscoDuo.authorize(a, h, { refresh, http, url, ...req }),
    });
    return http;
  };

  it('signs each request with X-Duo-Date and Basic ikey:signature that Duo can verify', async () => {
    const u = new URL(`${server.url}/admin/v2/logs/authentication`);
    u.searchParams.set('mintime', '1732528800000');
    u.searchParams.set('maxtime', '1732532400000');
    u.searchParams.set('limit', '1000');
    u.searchParams.set('next_offset', '1732530000000,af0ba235-0b33-23c8-bc23-a31aa0231de8');
    const { body } = await clientFor(account).getJson(u.toString());
    assert.equal(body.stat, 'OK');
    const last = seen.at(-1)!;
    assert.match(String(last.date), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} -0000$/);
    const [user, sig] = Buffer.from(String(last.authorization).slice(6), 'base64').toString().split(':');
    assert.equal(user, account.integrationKey);
    assert.match(sig, /^[0-9a-f]{128}$/, 'hex HMAC-SHA512');
  });

  it('a wrong secret key is a config error that does not contain it', async () => {
    const wrong = { ...account, secretKey: 'A'.repeat(40) };
    const err = await clientFor(wrong)
      .getJson(`${server.url}/admin/v2/logs/authentication?limit=1`)
      .catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.type, 'config');
    assert.equal(err.status, 401);
    assert.match(err.message, /Invalid signature/);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), /AAAAAAAAAA|Zh5eGmUq/);
  });
});
