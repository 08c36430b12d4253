import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { envelopes } from '../../../test/support/envelopes.ts';
import type { Envelope } from '../../core/envelope.ts';
import { TributaryError } from '../../core/errors.ts';
import { OriginSet } from '../../engine/credential-origins.ts';
import { egressPolicy } from '../../engine/egress.ts';
import type { DestinationAccount, DestinationContext } from '../kind.ts';
import { ndjson } from '../ndjson.ts';
import { s3ConfigSchema } from './index.ts';
import { S3Destination } from './s3-destination.ts';
import { S3Gate } from './s3-gate.ts';

const BUCKET = 'tributary-test';
const gate = new S3Gate({ buckets: [BUCKET] });
const ctx: DestinationContext = { baseDir: '.', files: undefined as never };
let reader: S3Client;

before(async () => {
  await gate.start();
  reader = new S3Client({ region: 'us-east-1', forcePathStyle: true, ...gate.direct });
});
after(async () => {
  reader.destroy();
  await gate.stop();
});

function dest(over: Record<string, unknown> = {}, c = ctx) {
  const config = s3ConfigSchema.parse({
    kind: 's3',
    bucket: BUCKET,
    endpoint: gate.url,
    accessKeyId: gate.accessKeyId,
    secretAccessKey: gate.secretAccessKey,
    ...over,
  });
  return new S3Destination('lake', config, c);
}

async function listKeys(prefix: string): Promise<string[]> {
  const r = await reader.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

async function read(key: string): Promise<string> {
  const r = await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const bytes = Buffer.from(await r.Body!.transformToByteArray());
  return key.endsWith('.gz') ? gunzipSync(bytes).toString() : bytes.toString();
}

async function readAll(prefix: string): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for (const k of await listKeys(prefix)) {
    if (k.includes('/_tributary/')) continue;
    for (const line of (await read(k)).split('\n').filter(Boolean)) out.push(JSON.parse(line));
  }
  return out;
}

const signal = () => AbortSignal.timeout(30_000);

async function rejects(p: Promise<unknown>, type: string, pattern: RegExp): Promise<TributaryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TributaryError, String(err));
    assert.equal(err.type, type, err.message);
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('s3 destination (s3rver behind a SigV4-checking gate)', () => {
  it('writes each batch as gzip NDJSON objects per event hour that hold exactly the events', async () => {
    const d = dest({ prefix: 'a' });
    const events = envelopes(30); // spans 10:59:50 … 11:00:19
    await d.send(events, signal());
    const keys = await listKeys('a/');
    assert.equal(keys.length, 2, keys.join());
    assert.match(
      keys[0]!,
      /^a\/source=okta\/dt=2026-03-01\/hour=10\/okta-prod-ev-0001-[0-9a-f]{16}\.ndjson\.gz$/,
    );
    assert.equal(await read(keys[0]!), ndjson(events.slice(0, 10)));
    assert.equal(await read(keys[1]!), ndjson(events.slice(10)));
    await d.close();
  });

  it('a re-sent batch overwrites the same objects instead of adding copies', async () => {
    const d = dest({ prefix: 'b' });
    const events = envelopes(50, { start: '2026-03-01T08:00:00.000Z' });
    await d.send(events, signal());
    const first = await listKeys('b/');
    await d.send(envelopes(50, { start: '2026-03-01T08:00:00.000Z' }), signal());
    assert.deepEqual(await listKeys('b/'), first);
    assert.deepEqual(
      (await readAll('b/')).map((e) => e.id),
      events.map((e) => e.id),
    );
    await d.close();
  });

  it('a batch larger than maxObjectBytes becomes several objects', async () => {
    const d = dest({ prefix: 'c', maxObjectBytes: 20_000, compression: 'none' });
    const events = envelopes(100, { start: '2026-03-01T08:00:00.000Z', size: 1000 });
    await d.send(events, signal());
    const keys = await listKeys('c/');
    assert.ok(keys.length >= 5, `${keys.length} objects`);
    const got = (await readAll('c/')).map((e) => e.id).sort();
    assert.deepEqual(got, events.map((e) => e.id).sort());
    await d.close();
  });

  it('Test Connection writes the probe object; a wrong secret or key fails as a config error', async () => {
    await dest({ prefix: 'probe' }).test(signal());
    assert.deepEqual(await listKeys('probe/'), ['probe/_tributary/connection-test.txt']);
    const wrongSecret = dest({ secretAccessKey: 'not-the-secret' });
    const e = await rejects(wrongSecret.test(signal()), 'config', /SignatureDoesNotMatch, HTTP 403/);
    assert.doesNotMatch(`${e.message} ${e.action}`, /not-the-secret/);
    assert.match(e.action, /s3:PutObject on arn:aws:s3:::tributary-test\/probe|s3:PutObject/);
    await rejects(
      dest({ accessKeyId: 'AKIAUNKNOWNKEY00000' }).test(signal()),
      'config',
      /InvalidAccessKeyId/,
    );
    await rejects(dest({ region: 'eu-west-1' }).test(signal()), 'config', /AuthorizationHeaderMalformed/);
  });

  it('a key allowed only another prefix is refused (AccessDenied) at Test Connection', async () => {
    const narrow = new S3Gate({ buckets: [BUCKET], allowedPrefix: 'allowed/' });
    await narrow.start();
    try {
      const make = (prefix: string) =>
        new S3Destination(
          'lake',
          s3ConfigSchema.parse({
            kind: 's3',
            bucket: BUCKET,
            endpoint: narrow.url,
            accessKeyId: narrow.accessKeyId,
            secretAccessKey: narrow.secretAccessKey,
            prefix,
          }),
          ctx,
        );
      await make('allowed').test(signal());
      await rejects(make('elsewhere').test(signal()), 'config', /AccessDenied, HTTP 403/);
    } finally {
      await narrow.stop();
    }
  });

  it('throttling and 5xx are retried; a lasting outage is transient; a failure after storing is not an ack', async () => {
    const d = dest({ prefix: 'f' });
    gate.failNext(2, 503);
    await d.send(envelopes(5, { start: '2026-03-01T08:00:00.000Z' }), signal()); // SDK retries (3 attempts)
    assert.equal((await readAll('f/')).length, 5);

    gate.failNext(10, 500);
    await rejects(
      d.send(envelopes(5, { prefix: 'g' }), signal()),
      'transient',
      /could not store.*InternalError/,
    );
    gate.failNext(0);

    // the store keeps the object, then answers 500 three times: the batch is not acknowledged
    gate.failAfterStore(3);
    const batch = envelopes(7, { prefix: 'h', start: '2026-03-01T09:00:00.000Z' });
    await rejects(d.send(batch, signal()), 'transient', /InternalError/);
    const keys = await listKeys('f/source=okta/dt=2026-03-01/hour=09/');
    assert.equal(keys.length, 1, 'stored, though unacknowledged');
    await d.send(batch, signal()); // the runtime re-sends the batch: same object name, overwritten
    assert.deepEqual(await listKeys('f/source=okta/dt=2026-03-01/hour=09/'), keys);
    await d.close();
  });

  it('a stopped store is a transient error naming the endpoint, never the credentials', async () => {
    const d = dest({ endpoint: 'http://127.0.0.1:9', timeout: 2000 });
    const e = await rejects(
      d.send(envelopes(1), signal()),
      'transient',
      /could not reach bucket tributary-test at http:\/\/127\.0\.0\.1:9/,
    );
    assert.doesNotMatch(JSON.stringify(e.toJSON()), new RegExp(gate.secretAccessKey.replace(/[+/]/g, '.')));
    await d.close();
  });

  it('signs with an aws account, only towards the origins the account allows', async () => {
    const account = (origins: string[]): DestinationAccount => ({
      name: 'aws-main',
      kind: 'aws',
      version: '1',
      fields: { accessKeyId: gate.accessKeyId, secretAccessKey: gate.secretAccessKey, region: 'us-east-1' },
      origins: new OriginSet(origins),
      http: undefined as never,
      authorize: async () => {},
    });
    const withAccount = (origins: string[]) =>
      new S3Destination(
        'lake',
        s3ConfigSchema.parse({
          kind: 's3',
          bucket: BUCKET,
          endpoint: gate.url,
          account: 'aws-main',
          prefix: 'acct',
        }),
        { ...ctx, account: async () => account(origins) },
      );
    await withAccount(['https://*.amazonaws.com', gate.url]).send(envelopes(3), signal());
    assert.equal((await readAll('acct/')).length, 3);
    await rejects(
      withAccount(['https://*.amazonaws.com']).send(envelopes(3), signal()),
      'config',
      /did not send the credentials of account aws-main to http:\/\/127\.0\.0\.1/,
    );
    const notAws = new S3Destination(
      'lake',
      s3ConfigSchema.parse({ kind: 's3', bucket: BUCKET, account: 'ms' }),
      { ...ctx, account: async () => ({ ...account([]), name: 'ms', kind: 'microsoft' }) },
    );
    await rejects(notAws.test(signal()), 'config', /needs an aws account; ms is a microsoft account/);
  });

  it('connects through the egress policy’s lookup (metadata addresses refused after DNS)', async () => {
    const policy = egressPolicy();
    const original = policy.lookup;
    const seen: string[] = [];
    Object.defineProperty(policy, 'lookup', {
      configurable: true,
      value: (host: string, o: never, cb: never) => {
        seen.push(host);
        return original(host, o, cb);
      },
    });
    try {
      const d = dest({ prefix: 'egress', endpoint: gate.url.replace('127.0.0.1', 'localhost') });
      await d.send(envelopes(2), signal());
      await d.close();
      assert.ok(seen.includes('localhost'), `lookups: ${seen.join()}`);
    } finally {
      Object.defineProperty(policy, 'lookup', { configurable: true, value: original });
    }
    await rejects(
      dest({ endpoint: 'https://169.254.169.254' }).test(signal()),
      'config',
      /refused .* 169\.254\.169\.254/,
    );
  });

  it('settings: credentials required, one way; kmsKeyId only with KMS; template needs {hash}', () => {
    const issues = (c: Record<string, unknown>) =>
      s3ConfigSchema
        .safeParse({ kind: 's3', bucket: BUCKET, ...c })
        .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.match(issues({}).join(), /accessKeyId: required: an aws account/);
    assert.match(issues({ account: 'a', accessKeyId: 'AKIAX', secretAccessKey: 's' }).join(), /not both/);
    assert.match(issues({ account: 'a', kmsKeyId: 'k' }).join(), /kmsKeyId: only used with sse aws:kms/);
    assert.match(
      issues({ account: 'a', keyTemplate: '{prefix}/{firstId}' }).join(),
      /keyTemplate: must contain \{hash\}/,
    );
    assert.match(issues({ account: 'a', bucket: 'B' }).join(), /bucket: expected an S3 bucket name/);
    assert.match(issues({ account: 'a', endpoint: 'http://minio.corp:9000' }).join(), /endpoint: plain http/);
    assert.deepEqual(issues({ account: 'a', sse: 'aws:kms', kmsKeyId: 'alias/logs' }), []);
  });
});
