import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { formatIssues } from '../core/validation.ts';
import { Http } from '../engine/http.ts';
import { checkSigV4 } from '../sim/aws-sigv4.ts';
import { json, type SimReply, type SimRequest, SimServer, text } from '../sim/kit.ts';
import {
  type AwsAccount,
  aws,
  awsCallerIdentity,
  awsCredentials,
  awsFields,
  awsScopeOf,
  signingScope,
  stsUrl,
} from './aws.ts';

const issues = (fields: Record<string, unknown>) => {
  const r = awsFields.safeParse(fields);
  return r.success ? [] : formatIssues(r.error);
};

const KEY = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY',
};

describe('aws account kind: fields', () => {
  it('accepts an access key, defaults the region, and a role with its options', () => {
    const r = awsFields.safeParse(KEY);
    assert.ok(r.success);
    assert.equal(r.data.region, 'us-east-1');
    assert.deepEqual(
      issues({
        ...KEY,
        roleArn: 'arn:aws:iam::123456789012:role/path/TributaryReader',
        externalId: 'tributary-7f3a',
        roleSessionName: 'collector@hq',
        sessionDurationSeconds: 900,
        region: 'eu-west-1',
      }),
      [],
    );
    assert.deepEqual(issues({ ...KEY, endpoint: 'http://127.0.0.1:4566', signingService: 'sqs' }), []);
    assert.deepEqual(aws.secrets, ['secretAccessKey', 'sessionToken']);
  });

  it('names the field of every mistake without echoing a secret', () => {
    assert.match(
      issues({ ...KEY, accessKeyId: 'akia-lower' }).join(),
      /accessKeyId: expected an AWS access key ID/,
    );
    assert.match(
      issues({ ...KEY, roleArn: 'arn:aws:iam::12:user/bob' }).join(),
      /roleArn: expected an IAM role ARN/,
    );
    assert.deepEqual(issues({ ...KEY, externalId: 'x1' }), [
      'externalId: only used with roleArn (the role to assume)',
    ]);
    assert.match(
      issues({ ...KEY, roleArn: 'arn:aws:iam::123456789012:role/R', sessionDurationSeconds: 60 }).join(),
      /sessionDurationSeconds: AWS allows 900 seconds/,
    );
    assert.match(issues({ ...KEY, region: 'Europe' }).join(), /region: expected an AWS region code/);
    assert.match(
      issues({ ...KEY, endpoint: 'http://127.0.0.1:4566' }).join(),
      /signingService: required with endpoint/,
    );
    assert.match(issues({ ...KEY, signingService: 'sqs' }).join(), /signingService: only used with endpoint/);
    assert.match(
      issues({ ...KEY, endpoint: 'http://sqs.internal:80', signingService: 'sqs' }).join(),
      /endpoint: plain http/,
    );
    const token = issues({ ...KEY, sessionToken: 'FwoGZXIvYXdzEXAMPLE-token' });
    assert.match(token.join(), /sessionToken: a session token belongs to temporary credentials/);
    assert.doesNotMatch(token.join(), /FwoGZXIv|wJalr/);
    assert.match(issues({ ...KEY, verifyTls: false }).join(), /unknown key "verifyTls"/);
    assert.deepEqual(issues({ region: 'eu-west-1' }), [], 'no key: the host’s default chain');
    assert.match(
      issues({ accessKeyId: KEY.accessKeyId }).join(),
      /secretAccessKey: required with accessKeyId/,
    );
    assert.match(issues({ secretAccessKey: 'x' }).join(), /accessKeyId: required with secretAccessKey/);
  });

  it('puts a title and a description on every field (the UI form labels)', async () => {
    const { z } = await import('zod');
    const schema = z.toJSONSchema(awsFields, { io: 'input', unrepresentable: 'any' }) as {
      properties: Record<string, { title?: string; description?: string }>;
    };
    for (const [name, p] of Object.entries(schema.properties)) {
      assert.ok(p.title && p.description, `${name} has a title and a description`);
    }
  });

  it('derives the STS endpoint from the region (China included) unless overridden', () => {
    assert.equal(stsUrl({ region: 'eu-west-1' }).toString(), 'https://sts.eu-west-1.amazonaws.com/');
    assert.equal(stsUrl({ region: 'cn-north-1' }).toString(), 'https://sts.cn-north-1.amazonaws.com.cn/');
    assert.equal(
      stsUrl({
        region: 'us-east-1',
        stsEndpoint: 'https://vpce-1.sts.us-east-1.vpce.amazonaws.com',
      }).toString(),
      'https://vpce-1.sts.us-east-1.vpce.amazonaws.com/',
    );
  });

  it('signs each per-service endpoint for its own service, and lets credentials go to it', () => {
    const a = awsFields.parse({
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'secret',
      region: 'eu-west-1',
      endpoints: { s3: 'http://127.0.0.1:9001', sqs: 'https://vpce-1.sqs.eu-west-1.vpce.amazonaws.com' },
    }) as AwsAccount;
    assert.deepEqual(signingScope(a, new URL('http://127.0.0.1:9001/bucket/key')), {
      region: 'eu-west-1',
      service: 's3',
    });
    assert.deepEqual(signingScope(a, new URL('http://127.0.0.1:9001/')).service, 's3');
    assert.deepEqual(signingScope(a, new URL('https://vpce-1.sqs.eu-west-1.vpce.amazonaws.com/')), {
      region: 'eu-west-1',
      service: 'sqs',
    });
    assert.ok(aws.origins?.(a).includes('http://127.0.0.1:9001'));
    const bad = awsFields.safeParse({
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'secret',
      endpoints: { 'S3!': 'not a url' },
    });
    assert.equal(bad.success, false);
  });
});

// ---------------------------------------------------------------------------------------------
// A local AWS: an STS that issues temporary credentials and an API that checks every signature.

interface Issued {
  secretAccessKey: string;
  sessionToken?: string;
}

class AwsSim {
  readonly server = new SimServer({ name: 'aws' });
  /** Access key ID → its secret (and session token for temporary credentials). */
  readonly keys = new Map<string, Issued>();
  readonly assumeRoles: Array<{ form: URLSearchParams; scope: string }> = [];
  /** Temporary keys refused as expired from now on (a revoked role session). */
  readonly expired = new Set<string>();
  /** Access keys GetCallerIdentity was signed with. */
  readonly identities: string[] = [];
  readonly apiCalls: Array<{
    service: string;
    region: string;
    accessKeyId: string;
    headers: SimRequest['headers'];
  }> = [];
  /** Lifetime of the credentials STS issues. */
  lifetimeMs = 3600_000;
  /**
   * The next n AssumeRole calls are answered 400 `ThrottlingException` (STS API Reference, "Common Errors":
   * "The request was denied due to request throttling", HTTP 400; Query protocol error body).
   */
  throttleNext = 0;
  /** The role the trust policy allows, and the external ID it requires. */
  trust = { roleArn: 'arn:aws:iam::210987654321:role/TributaryReader', externalId: 'ext-42' };
  private issued = 0;

  constructor() {
    this.server.route('POST', '/sts', (req) => this.sts(req));
    this.server.route('POST', '/sts/', (req) => this.sts(req));
    for (const method of ['GET', 'POST']) this.server.route(method, '/*', (req) => this.api(req));
  }

  get url() {
    return this.server.url;
  }

  /** Recomputes the request's signature from what arrived (the SDK's signer); the reason it is wrong, or its scope. */
  async verify(
    req: SimRequest,
  ): Promise<{ error: string } | { accessKeyId: string; region: string; service: string }> {
    const v = await checkSigV4(
      { method: req.method, url: req.raw.url ?? '/', headers: req.headers, body: req.body },
      (key) => this.keys.get(key),
    );
    if (v.ok) return this.expired.has(v.accessKeyId) ? { error: 'ExpiredToken' } : v;
    return {
      error: {
        missing: 'IncompleteSignature',
        'unknown-key': 'InvalidClientTokenId',
        expired: 'RequestExpired',
        mismatch: 'SignatureDoesNotMatch',
      }[v.reason],
    };
  }

  private error(status: number, code: string, message = code): SimReply {
    return text(
      status,
      `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
      { 'content-type': 'text/xml' },
    );
  }

  private async sts(req: SimRequest): Promise<SimReply> {
    const v = await this.verify(req);
    if ('error' in v) return this.error(403, v.error);
    const form = new URLSearchParams(req.body.toString());
    if (v.service !== 'sts')
      return this.error(403, 'SignatureDoesNotMatch', 'wrong service in the credential scope');
    if (form.get('Action') === 'GetCallerIdentity') {
      this.identities.push(v.accessKeyId);
      return text(
        200,
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/tributary</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        { 'content-type': 'text/xml' },
      );
    }
    this.assumeRoles.push({ form, scope: `${v.region}/${v.service}` });
    if (this.throttleNext > 0) {
      this.throttleNext--;
      return this.error(400, 'ThrottlingException', 'Rate exceeded');
    }
    if (form.get('Action') !== 'AssumeRole' || form.get('Version') !== '2011-06-15')
      return this.error(400, 'InvalidAction');
    if (form.get('RoleArn') !== this.trust.roleArn || form.get('ExternalId') !== this.trust.externalId)
      return this.error(
        403,
        'AccessDenied',
        `User: arn:aws:iam::123456789012:user/tributary is not authorized to perform: sts:AssumeRole on resource: ${form.get('RoleArn')}`,
      );
    const n = ++this.issued;
    const accessKeyId = `ASIATEMP${String(n).padStart(12, '0')}`;
    const issued = { secretAccessKey: `temp-secret-${n}`, sessionToken: `FQoGZXIvYXdzE//temp+token/${n}==` };
    this.keys.set(accessKeyId, issued);
    const expiration = new Date(Date.now() + this.lifetimeMs).toISOString();
    return text(
      200,
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><Arn>${this.trust.roleArn.replace(':role/', ':assumed-role/')}/${form.get('RoleSessionName')}</Arn></AssumedRoleUser><Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${issued.secretAccessKey}</SecretAccessKey><SessionToken>${issued.sessionToken.replace(/&/g, '&amp;')}</SessionToken><Expiration>${expiration}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
      { 'content-type': 'text/xml' },
    );
  }

  private async api(req: SimRequest): Promise<SimReply> {
    const v = await this.verify(req);
    if ('error' in v) return this.error(403, v.error);
    this.apiCalls.push({ ...v, headers: req.headers });
    return json(200, { ok: true });
  }
}

const clientFor = (account: AwsAccount) => {
  const http: Http = new Http({
    vendor: 'AWS',
    backoffBaseMs: 1,
    maxAttempts: 2,
    authorize: (h, refresh, url, req) => aws.authorize(account, h, { refresh, http, url, ...req }),
    credentialsExpired: (ctx) => aws.credentialsExpired?.(ctx) ?? false,
  });
  return http;
};

describe('aws account kind: signing and AssumeRole', () => {
  const sim = new AwsSim();
  let n = 0;
  /** A fresh IAM user key (the process-wide credential cache is keyed by it). */
  const userKey = () => {
    const accessKeyId = `AKIAUSER${String(++n).padStart(12, '0')}`;
    const secretAccessKey = `user-secret-${n}-wJalrXUtnFEMI`;
    sim.keys.set(accessKeyId, { secretAccessKey });
    return { accessKeyId, secretAccessKey };
  };
  const parse = (fields: Record<string, unknown>) => awsFields.parse(fields) as AwsAccount;
  /** A client of a fresh user key that assumes the trusted role, signing for sqs at the simulator. */
  const roleClient = () =>
    clientFor(
      parse({
        ...userKey(),
        roleArn: sim.trust.roleArn,
        externalId: sim.trust.externalId,
        stsEndpoint: `${sim.url}/sts`,
        endpoint: sim.url,
        signingService: 'sqs',
      }),
    );
  before(() => sim.server.start());
  after(() => sim.server.stop());

  it('signs with the access key for the endpoint override’s service and the default region', async () => {
    const account = parse({ ...userKey(), region: 'eu-west-1', endpoint: sim.url, signingService: 'sqs' });
    const { response } = await clientFor(account).getJson(
      `${sim.url}/123456789012/cloudtrail-events?Action=ReceiveMessage&MaxNumberOfMessages=10`,
    );
    assert.equal(response.status, 200);
    const call = sim.apiCalls.at(-1)!;
    assert.deepEqual(
      [call.accessKeyId, call.region, call.service],
      [account.accessKeyId, 'eu-west-1', 'sqs'],
    );
    assert.equal(call.headers['x-amz-security-token'], undefined);
    assert.equal(call.headers['x-amz-content-sha256'], undefined);
    assert.match(String(call.headers['x-amz-date']), /^\d{8}T\d{6}Z$/);
  });

  it('signs a POST body, sends a session token, and adds x-amz-content-sha256 for S3', async () => {
    const temp = { accessKeyId: 'ASIAQUERY00000000001', secretAccessKey: 'query-secret' };
    sim.keys.set(temp.accessKeyId, {
      secretAccessKey: temp.secretAccessKey,
      sessionToken: 'session/token+1=',
    });
    const sqs = clientFor(
      parse({
        ...temp,
        sessionToken: 'session/token+1=',
        endpoint: sim.url,
        signingService: 'sqs',
        signingRegion: 'ap-south-1',
      }),
    );
    const res = await sqs.request({
      method: 'POST',
      url: `${sim.url}/`,
      readOnly: true,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetQueueAttributes&QueueUrl=https%3A%2F%2Fsqs.ap-south-1.amazonaws.com%2F1%2Fq&AttributeName.1=All',
    });
    assert.equal(res.status, 200);
    assert.equal(sim.apiCalls.at(-1)!.headers['x-amz-security-token'], 'session/token+1=');
    assert.equal(sim.apiCalls.at(-1)!.region, 'ap-south-1');

    const s3 = clientFor(parse({ ...userKey(), endpoint: sim.url, signingService: 's3' }));
    const u = new URL(`${sim.url}/trail-bucket`);
    u.searchParams.set('list-type', '2');
    u.searchParams.set('prefix', 'AWSLogs/123456789012/CloudTrail/eu-west-1/2026/11/25/');
    await s3.getJson(u.toString());
    const call = sim.apiCalls.at(-1)!;
    assert.equal(call.service, 's3');
    assert.equal(
      call.headers['x-amz-content-sha256'],
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('assumes the role once for concurrent requests and signs with its temporary credentials', async () => {
    const before = sim.assumeRoles.length;
    const account = parse({
      ...userKey(),
      roleArn: sim.trust.roleArn,
      externalId: sim.trust.externalId,
      region: 'eu-central-1',
      stsEndpoint: `${sim.url}/sts`,
      endpoint: sim.url,
      signingService: 'logs',
    });
    const a = clientFor(account);
    const b = clientFor({ ...account }); // another collector on the same account
    await Promise.all([a.getJson(`${sim.url}/x`), b.getJson(`${sim.url}/y`), a.getJson(`${sim.url}/z`)]);
    const calls = sim.assumeRoles.slice(before);
    assert.equal(calls.length, 1, 'one AssumeRole shared by every request and collector');
    const form = calls[0].form;
    assert.equal(
      calls[0].scope,
      'eu-central-1/sts',
      'the STS request is signed for sts in the account region',
    );
    assert.equal(form.get('RoleSessionName'), 'tributary');
    assert.equal(form.get('DurationSeconds'), '3600');
    assert.equal(form.get('ExternalId'), 'ext-42');
    const signedWith = sim.apiCalls.slice(-3).map((c) => c.accessKeyId);
    assert.ok(
      signedWith.every((k) => k.startsWith('ASIATEMP')),
      signedWith.join(),
    );
    assert.ok(
      sim.apiCalls.slice(-3).every((c) => String(c.headers['x-amz-security-token']).includes('temp+token')),
    );
    assert.deepEqual(
      sim.server.requests.writeCalls().filter((r) => !['/sts/', '/'].includes(r.path)),
      [],
    );
  });

  it('renews temporary credentials that near their expiry instead of using them', async () => {
    sim.lifetimeMs = 4 * 60_000; // inside the 5-minute renewal margin
    try {
      const before = sim.assumeRoles.length;
      const http = roleClient();
      await http.getJson(`${sim.url}/a`);
      await http.getJson(`${sim.url}/b`);
      assert.equal(sim.assumeRoles.length - before, 2);
    } finally {
      sim.lifetimeMs = 3600_000;
    }
  });

  it('assumes the role again once when AWS says its credentials expired early (ExpiredToken)', async () => {
    const before = sim.assumeRoles.length;
    const http = roleClient();
    await http.getJson(`${sim.url}/first`);
    const revoked = sim.apiCalls.at(-1)!.accessKeyId;
    sim.expired.add(revoked);
    const { response } = await http.getJson(`${sim.url}/second`);
    assert.equal(response.status, 200);
    assert.equal(sim.assumeRoles.length - before, 2, 'assumed again after the ExpiredToken answer');
    assert.notEqual(sim.apiCalls.at(-1)!.accessKeyId, revoked);
    assert.equal(
      aws.credentialsExpired?.({
        status: 400,
        body: '{"__type":"ExpiredTokenException","message":"x"}',
      } as never),
      true,
    );
    assert.equal(
      aws.credentialsExpired?.({ status: 403, body: '<Error><Code>AccessDenied</Code></Error>' } as never),
      false,
    );
  });

  it('retries a throttled AssumeRole once (the SDK’s one retry of a credential fetch), no more', async () => {
    const account = () =>
      parse({
        ...userKey(),
        roleArn: sim.trust.roleArn,
        externalId: sim.trust.externalId,
        stsEndpoint: `${sim.url}/sts`,
      });
    let before = sim.assumeRoles.length;
    sim.throttleNext = 1;
    const creds = await awsCredentials(account());
    assert.match(creds.accessKeyId, /^ASIA/);
    assert.equal(sim.assumeRoles.length - before, 2, 'throttled once, then issued');

    before = sim.assumeRoles.length;
    sim.throttleNext = 2;
    const err = await awsCredentials(account()).catch((e) => e);
    sim.throttleNext = 0;
    assert.ok(err instanceof TributaryError, String(err));
    assert.equal(err.type, 'transient', 'throttling is waited out, not a refusal to fix');
    assert.equal(err.code, 'aws_sts_unavailable');
    assert.equal(sim.assumeRoles.length - before, 2, 'two attempts: one retry, never more');
  });

  it('explains a refused AssumeRole with a config error, never echoing a secret', async () => {
    const key = userKey();
    const err = await clientFor(
      parse({
        ...key,
        roleArn: sim.trust.roleArn,
        externalId: 'wrong',
        stsEndpoint: `${sim.url}/sts`,
        endpoint: sim.url,
        signingService: 'sqs',
      }),
    )
      .getJson(`${sim.url}/q`)
      .catch((e) => e);
    assert.ok(err instanceof TributaryError, String(err));
    assert.equal(err.type, 'config');
    assert.equal(err.code, 'aws_assume_role_refused');
    assert.equal(err.status, 403);
    assert.match(err.message, /AccessDenied.*not authorized to perform: sts:AssumeRole/);
    assert.match(err.action, /externalId matches/);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), new RegExp(key.secretAccessKey));

    const bad = await clientFor(
      parse({
        accessKeyId: key.accessKeyId,
        secretAccessKey: 'not-the-secret',
        roleArn: sim.trust.roleArn,
        stsEndpoint: `${sim.url}/sts`,
        endpoint: sim.url,
        signingService: 'sqs',
      }),
    )
      .getJson(`${sim.url}/q`)
      .catch((e) => e);
    assert.equal(bad.code, 'aws_assume_role_refused');
    assert.match(bad.action, /accessKeyId and secretAccessKey/);
    assert.doesNotMatch(JSON.stringify(bad.toJSON()), /not-the-secret/);
  });

  it('proves the credentials with GetCallerIdentity, naming a wrong key as the fix', async () => {
    const key = userKey();
    const arn = await awsCallerIdentity(parse({ ...key, stsEndpoint: `${sim.url}/sts` }));
    assert.equal(arn, 'arn:aws:iam::123456789012:user/tributary');
    assert.equal(sim.identities.at(-1), key.accessKeyId);
    const err = await awsCallerIdentity(
      parse({ ...key, secretAccessKey: 'not-the-secret-x', stsEndpoint: `${sim.url}/sts` }),
    ).catch((e) => e);
    assert.ok(err instanceof TributaryError, String(err));
    assert.equal(err.code, 'aws_invalid_credentials');
    assert.match(err.message, /GetCallerIdentity \(SignatureDoesNotMatch\)/);
    assert.match(err.action, /accessKeyId and secretAccessKey/);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), /not-the-secret-x/);
  });

  it('lends the host’s own identity only when the administrator allows it', async () => {
    const before = process.env.TRIBUTARY_AWS_HOST_CREDENTIALS;
    delete process.env.TRIBUTARY_AWS_HOST_CREDENTIALS;
    try {
      const account = parse({ region: 'eu-west-1', endpoint: sim.url, signingService: 'sqs' });
      const err = await clientFor(account)
        .getJson(`${sim.url}/q`)
        .catch((e) => e);
      assert.ok(err instanceof TributaryError, String(err));
      assert.equal(err.code, 'aws_no_credentials');
      assert.match(err.action, /TRIBUTARY_AWS_HOST_CREDENTIALS=1/);
    } finally {
      if (before !== undefined) process.env.TRIBUTARY_AWS_HOST_CREDENTIALS = before;
    }
  });

  it('uses the host’s default chain (here its environment) when allowed and no key is given', async () => {
    const saved = Object.fromEntries(
      [
        'TRIBUTARY_AWS_HOST_CREDENTIALS',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_SESSION_TOKEN',
      ].map((k) => [k, process.env[k]]),
    );
    const key = userKey();
    process.env.TRIBUTARY_AWS_HOST_CREDENTIALS = '1';
    process.env.AWS_ACCESS_KEY_ID = key.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = key.secretAccessKey;
    delete process.env.AWS_SESSION_TOKEN;
    try {
      const account = parse({ region: 'eu-north-1', endpoint: sim.url, signingService: 'sqs' });
      const { response } = await clientFor(account).getJson(`${sim.url}/host-identity`);
      assert.equal(response.status, 200);
      assert.equal(sim.apiCalls.at(-1)!.accessKeyId, key.accessKeyId, 'signed with the environment’s key');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('refuses to guess the scope of a host that does not name one', async () => {
    const err = await clientFor(parse(userKey()))
      .getJson(`${sim.url}/q`)
      .catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.code, 'aws_unknown_endpoint');
    assert.match(err.action, /endpoint .* signingService/);
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
    ['monitoring.eu-west-1.amazonaws.com', 'eu-west-1', 'monitoring'],
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
