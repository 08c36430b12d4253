import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aws, awsFields } from '../../src/accounts/aws.ts';
import { ELSEWHERE } from '../../src/engine/object-notification.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import type { ObjectStoreSim } from '../../src/sim/object-store.ts';
import lake, { lakeObjectsOf, streamOfKey } from '../../src/sources/aws-security-lake/index.ts';
import { sources } from '../../src/sources/index.ts';
import {
  type AwsRig,
  awsRigs,
  checkTestConnection,
  crashAtEveryBatch,
  loseDelete,
} from '../support/aws-rig.ts';
import { duplicates } from '../support/ids.ts';
import { ocsfParquet } from '../support/parquet.ts';

/**
 * Conformance of `aws-security-lake` (an object-notification source: its own suite) against the S3 and
 * SQS simulators over HTTP that verify every request's SigV4 (src/sim/aws-object-http.ts), with the real
 * runner, HTTP client, `aws` account and store: real Parquet objects (ZSTD, Snappy, GZIP; several row
 * groups) decoded row by row, one stream per Security Lake source sharing the subscriber's queue (each
 * hands the others' notifications back), EventBridge-shaped notifications, ids from `metadata.uid`, a
 * crash at every batch boundary and between delivery and the delete, Test Connection naming the missing
 * IAM action, and no write call but the declared receive, hand-back and delete.
 */

const awsRig = awsRigs('tributary-seclake');
const VISIBILITY = 30_000;
const ACCOUNT = '111122223333';
const BUCKET = 'aws-security-data-lake-us-east-1-abcdef0123456789';
async function rig(stream: string | string[] = 'cloudtrail-management'): Promise<AwsRig> {
  return awsRig({
    source: lake,
    name: 'lake',
    stream,
    sim: { bucket: BUCKET, visibilityTimeoutMs: VISIBILITY, chunkBytes: 4096 },
    http: { region: 'us-east-1', accountId: ACCOUNT, queueName: 'AmazonSecurityLake-sub-Main-Queue' },
    settings: (http) => ({ bucket: BUCKET, region: 'us-east-1', queueUrl: http.queueUrl }),
  });
}

const day = `region=us-east-1/accountId=${ACCOUNT}/eventDay=20261125`;
const CT1 = `aws/CLOUD_TRAIL_MGMT/2.0/${day}/a1b2c3.zstd.parquet`;
const CT2 = `aws/CLOUD_TRAIL_MGMT/2.0/${day}/d4e5f6.zstd.parquet`;
const VPC = `aws/VPC_FLOW/2.0/${day}/f00d.zstd.parquet`;
const EXT = `ext/okta/1.0/${day}/c0ffee.parquet`;

/** An EventBridge "Object Created" event for a key, as S3 sends through EventBridge. */
function eventBridge(sim: ObjectStoreSim, key: string): string {
  const r = sim.refOf(key);
  return sim.send(
    JSON.stringify({
      version: '0',
      id: `ev-${key.length}-${r.etag}`,
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: ACCOUNT,
      time: '2026-11-25T12:00:00Z',
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${BUCKET}`],
      detail: {
        version: '0',
        bucket: { name: BUCKET },
        object: { key, size: r.size, etag: r.etag, sequencer: '0062E99A88DC407460' },
        reason: 'PutObject',
      },
    }),
  );
}

function fill(sim: ObjectStoreSim) {
  sim.put(CT1, Buffer.from(ocsfParquet(2500, { codec: 'ZSTD', rowGroupSize: 250 }))); // 3 batches
  sim.put(CT2, Buffer.from(ocsfParquet(300, { codec: 'SNAPPY', rowGroupSize: 100, from: 2500 })));
  sim.put(VPC, Buffer.from(ocsfParquet(50, { codec: 'GZIP', from: 5000 })));
  sim.put(EXT, Buffer.from(ocsfParquet(5, { from: 9000 })));
  eventBridge(sim, CT1);
  sim.notify([VPC]);
  eventBridge(sim, EXT);
  sim.notify([CT2]);
  return { cloudtrail: 2800, vpc: 50, custom: 5 };
}

describe('conformance: aws-security-lake (Parquet objects, S3 + SQS over HTTP, SigV4 verified)', () => {
  it('is registered as an object-storage source with a stream per Security Lake source', () => {
    assert.equal(sources['aws-security-lake'], lake);
    assert.equal(lake.family, 'object-storage');
    assert.equal(lake.stability, 'early-access');
    assert.deepEqual(Object.keys(lake.streams).sort(), [
      'cloudtrail-management',
      'custom',
      'eks-audit',
      'lambda-execution',
      'route53',
      's3-data',
      'security-hub',
      'vpc-flow',
      'waf',
    ]);
    assert.equal(streamOfKey(CT1), 'cloudtrail-management');
    assert.equal(streamOfKey('aws/CLOUD_TRAIL/1.0/x.parquet'), 'cloudtrail-management');
    assert.equal(streamOfKey('aws/SH_FINDINGS/2.0/x'), 'security-hub');
    assert.equal(streamOfKey(EXT), 'custom');
    assert.equal(streamOfKey('other/x.parquet'), undefined);
  });

  it('each stream reads its own source’s Parquet rows once; the others’ notifications are handed back', async () => {
    const r = await rig(['vpc-flow', 'cloudtrail-management', 'custom']);
    const want = fill(r.sim);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    const byStream = (s: string) => r.dest.events.filter((e) => e.stream === s);
    assert.equal(byStream('cloudtrail-management').length, want.cloudtrail);
    assert.equal(byStream('vpc-flow').length, want.vpc);
    assert.equal(byStream('custom').length, want.custom);
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal(r.sim.pending(), 0, 'every message deleted');
    const e = byStream('cloudtrail-management').find((x) => x.id === 'uid-7')!;
    assert.ok(e, 'id metadata.uid');
    assert.equal(e.time, new Date(1_795_000_000_007).toISOString(), 'time from OCSF time (epoch ms)');
    assert.deepEqual(JSON.parse(JSON.stringify(e.raw)), {
      class_uid: 6003,
      class_name: 'API Activity',
      time: 1_795_000_000_007,
      metadata: { uid: 'uid-7', version: '1.1.0', product: { name: 'CloudTrail' } },
      api: { operation: 'Op1' },
    });
    assert.equal(r.http.stats.writes, 0, 'no write call');
    assert.equal(r.http.stats.refused, 0, 'every request correctly signed');
    assert.equal(r.sim.calls.filter((c) => c.op === 'get').length, 4, 'each object fetched once');
    assert.ok(
      (r.http.stats.requests['sqs:ChangeMessageVisibility'] ?? 0) >= 1,
      'other streams’ messages handed back',
    );
  });

  it('a stream alone leaves the other sources’ notifications on the queue, and ends its run', async () => {
    const r = await rig('vpc-flow');
    fill(r.sim);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(r.dest.events.length, 50);
    assert.equal(r.sim.pending(), 3, 'CloudTrail and custom notifications kept for their streams');
    const m = { id: 'm', receipt: 'r', body: JSON.stringify({ Records: [] }) };
    assert.deepEqual(lakeObjectsOf(m, BUCKET, 'vpc-flow'), []);
  });

  it('a notification of no source, or of several, is a dead letter and deleted', async () => {
    const r = await rig();
    r.sim.put('other/x.parquet', Buffer.from(ocsfParquet(1)));
    r.sim.put(CT1, Buffer.from(ocsfParquet(1)));
    r.sim.put(VPC, Buffer.from(ocsfParquet(1)));
    r.sim.notify(['other/x.parquet']);
    r.sim.notify([CT1, VPC]);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(res.deadLetters, 2);
    assert.equal(r.sim.pending(), 0);
    assert.equal(r.sim.calls.filter((c) => c.op === 'get').length, 0, 'nothing fetched');
    const m = { id: 'm', receipt: 'r', body: '' };
    m.body = JSON.stringify({
      Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET }, object: { key: VPC } } }],
    });
    assert.equal(lakeObjectsOf(m, BUCKET, 'cloudtrail-management'), ELSEWHERE);
  });

  it('a crash at every batch boundary loses nothing; duplicates only from the batch in flight', async () => {
    // CT1's 2,500 rows span three batches: a crash inside it resumes after the rows delivered.
    await crashAtEveryBatch(rig, fill, { visibilityMs: VISIBILITY, minBatches: 4 });
  });

  it('a crash between delivery and the delete: the message comes back, repeats nothing and is deleted', async () => {
    const r = await rig();
    const want = fill(r.sim);
    loseDelete(r, 0);
    const first = await r.run();
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.equal(r.dest.ids().length, want.cloudtrail);
    r.clock.advance(VISIBILITY + 1);
    const second = await r.run();
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.equal(second.events, 0, 'nothing repeated');
    assert.equal(r.dest.ids().length, want.cloudtrail, 'nothing lost');
    assert.equal(r.sim.pending(), 2, 'only the other sources’ notifications remain');
  });

  it('Test Connection proves the credentials and each permission, naming the missing IAM action', async () => {
    const actions = ['sqs:GetQueueAttributes', 's3:ListBucket', 's3:GetObject'] as const;
    await checkTestConnection(lake, () => rig(), fill, [...actions], ['vpc-flow']);
    // A source the subscriber was not given: the refusal names the stream and the Security Lake source.
    const r = await rig();
    fill(r.sim);
    r.http.deny('s3:ListBucket');
    const res = await testConnection(lake, aws, awsFields.parse(r.http.account()), r.settings, ['route53']);
    assert.equal(res.ok, false);
    if (!res.ok) {
      assert.equal(res.error.code, 'aws_access_denied');
      assert.match(res.error.message, /stream route53, Security Lake source ROUTE53, prefix aws\/ROUTE53\//);
      assert.match(res.error.action, /disable the route53 stream/);
    }
  });

  it('a cut object body, S3 SlowDown and SQS throttling are retried; nothing lost or repeated', async () => {
    const r = await rig();
    const want = fill(r.sim);
    r.sim.cutBodiesNext(1, CT1);
    r.http.throttle(1);
    r.http.slowDownNext(1);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(r.dest.ids().length, want.cloudtrail);
    assert.deepEqual(duplicates(r.dest.ids()), []);
  });

  it('settings name the field and what was expected', () => {
    const bad = lake.settings.safeParse({ bucket: 'B', region: 'us-east-1', queueUrl: 'x' });
    assert.equal(bad.success, false);
    if (!bad.success) {
      const paths = bad.error.issues.map((i) => i.path.join('.'));
      assert.deepEqual(paths, ['bucket', 'queueUrl']);
      assert.match(bad.error.issues[1].message, /SQS queue URL/);
    }
  });
});
