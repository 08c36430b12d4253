import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { aws, awsFields } from '../../src/accounts/aws.ts';
import type { Destination } from '../../src/core/destination.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import type { ObjectStoreSim } from '../../src/sim/object-store.ts';

import cloudtrail, { cloudTrailObjects, trailObjectsIn } from '../../src/sources/aws-cloudtrail/index.ts';

import { sources } from '../../src/sources/index.ts';
import { type AwsRig, awsRigs } from '../support/aws-rig.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';

/**
 * Conformance of `aws-cloudtrail` (an object-notification source: its own suite, not the pull-source
 * harness) against S3 and SQS simulators over HTTP that verify every request's SigV4
 * (src/sim/aws-object-http.ts), with the real runner, HTTP client, `aws` account and store: the exact
 * record set from plain, SNS-wrapped and EventBridge-wrapped notifications; the test event, digest files
 * and other services' files skipped; a crash at every batch boundary and between delivery and the delete;
 * redelivery repeating nothing; the listing fallback by date folder; Test Connection proving each
 * permission; throttling waited out; and no write call but the declared receive and delete.
 */

const awsRig = awsRigs('tributary-cloudtrail');
const VISIBILITY = 30_000;
const ACCOUNT = '111122223333';
async function rig(
  o: { settings?: Record<string, unknown>; account?: Record<string, unknown> } = {},
): Promise<AwsRig> {
  return awsRig({
    source: cloudtrail,
    name: 'ct',
    stream: 'events',
    sim: { bucket: 'trail-bucket', visibilityTimeoutMs: VISIBILITY, chunkBytes: 4096 },
    http: { region: 'us-east-1', accountId: ACCOUNT },
    settings: (http) => ({
      bucket: 'trail-bucket',
      region: 'us-east-1',
      queueUrl: http.queueUrl,
      ...o.settings,
    }),
    account: o.account,
    lookbackMs: 2 * 86_400_000,
  });
}

const trailKey = (day: string, tag: string, region = 'us-east-1', hhmm = '1200') =>
  `AWSLogs/${ACCOUNT}/CloudTrail/${region}/${day}/${ACCOUNT}_CloudTrail_${region}_${day.replace(/\//g, '')}T${hhmm}Z_${tag.padEnd(16, 'x')}.json.gz`;

/** A CloudTrail log file shaped like the documented samples ("CloudTrail log file examples"). */
function putTrail(sim: ObjectStoreSim, key: string, n: number, tag: string): string[] {
  const records = Array.from({ length: n }, (_, i) => ({
    eventVersion: '1.08',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'EXAMPLE6E4XEGITWATV6R',
      accountId: ACCOUNT,
      userName: 'Mateo',
    },
    eventTime: `2026-11-25T11:${String(i % 60).padStart(2, '0')}:00Z`,
    eventSource: 'ec2.amazonaws.com',
    eventName: 'StartInstances',
    awsRegion: 'us-east-1',
    sourceIPAddress: '192.0.2.10',
    requestParameters: { instancesSet: { items: [{ instanceId: `i-${tag}${i}` }] } },
    eventID: `${tag}-${i}-e755e09c-42f9-4c5c-9064-EXAMPLE228c7`,
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT,
  }));
  sim.put(key, gzipSync(JSON.stringify({ Records: records })));
  return records.map((r) => r.eventID);
}

/** The same S3 event sim.notify builds, wrapped by SNS. */
function snsWrapped(sim: ObjectStoreSim, keys: string[]): string {
  const id = sim.notify(keys);
  const body = (sim as unknown as { messages: Array<{ id: string; body: string }> }).messages.find(
    (m) => m.id === id,
  )!;
  body.body = JSON.stringify({
    Type: 'Notification',
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:trail-topic`,
    Subject: 'Amazon S3 Notification',
    Message: body.body,
    Timestamp: '2026-11-25T12:00:00.000Z',
  });
  return id;
}

function eventBridge(sim: ObjectStoreSim, key: string): string {
  const ref = sim.refOf(key);
  return sim.send(
    JSON.stringify({
      version: '0',
      id: '17793124-05d4-b198-2fde-7ededc63b103',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: ACCOUNT,
      time: '2026-11-25T12:00:00Z',
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${sim.bucket}`],
      detail: {
        version: '0',
        bucket: { name: sim.bucket },
        object: {
          key,
          size: ref.size,
          etag: ref.etag,
          'version-id': ref.version,
          sequencer: '00617F08299329D189',
        },
        'request-id': 'N4N7GDK58NMKJ12R',
        requester: 'cloudtrail.amazonaws.com',
        reason: 'PutObject',
      },
    }),
  );
}

/** Plain, SNS- and EventBridge-wrapped notifications, the test event, a digest file and an AWS Config file. */
function fill(sim: ObjectStoreSim): string[] {
  const expected: string[] = [];
  const a = trailKey('2026/11/25', 'aaaa');
  const b = trailKey('2026/11/25', 'bbbb');
  const c = trailKey('2026/11/25', 'cccc', 'eu-west-1');
  const d = trailKey('2026/11/25', 'dddd');
  expected.push(...putTrail(sim, a, 130, 'a'), ...putTrail(sim, b, 20, 'b'));
  expected.push(...putTrail(sim, c, 45, 'c'), ...putTrail(sim, d, 3, 'd'));
  const digest = `AWSLogs/${ACCOUNT}/CloudTrail-Digest/us-east-1/2026/11/25/${ACCOUNT}_CloudTrail-Digest_us-east-1_trail_us-east-1_20261125T120000Z.json.gz`;
  sim.put(digest, gzipSync(JSON.stringify({ awsAccountId: ACCOUNT, logFiles: [] })));
  const config = `AWSLogs/${ACCOUNT}/Config/us-east-1/2026/11/25/ConfigSnapshot/snap.json.gz`;
  sim.put(config, gzipSync(JSON.stringify({ configurationItems: [{ id: 'not-trail' }] })));
  sim.sendTestEvent();
  sim.notify([a]);
  snsWrapped(sim, [b, digest]);
  eventBridge(sim, c);
  sim.notify([config]);
  sim.notify([d, a]); // a again: read once
  return expected;
}

describe('conformance: aws-cloudtrail (S3 + SQS over HTTP, SigV4 verified)', () => {
  it('is registered as an object-storage source with its declared writes', () => {
    assert.equal(sources['aws-cloudtrail'], cloudtrail);
    assert.equal(cloudtrail.family, 'object-storage');
    assert.equal(cloudtrail.vendorWrites?.length, 2);
  });

  it('delivers every record once from plain, SNS- and EventBridge-wrapped notifications; skips the test event, digests and other files', async () => {
    const r = await rig();
    const expected = fill(r.sim);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(expected));
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal(r.sim.pending(), 0, 'every message deleted');
    const e = r.dest.events.find((x) => x.id === 'a-7-e755e09c-42f9-4c5c-9064-EXAMPLE228c7')!;
    assert.equal(e.time, '2026-11-25T11:07:00.000Z');
    assert.equal(JSON.parse(JSON.stringify(e.raw)).eventName, 'StartInstances');
    const gets = r.sim.calls.filter((c) => c.op === 'get').map((c) => c.detail);
    assert.equal(gets.length, 4, `each trail file fetched once: ${gets.join(', ')}`);
    assert.ok(
      !gets.some((g) => g.includes('Digest') || g.includes('/Config/')),
      'digests and Config files skipped',
    );
    assert.equal(r.http.stats.writes, 0, 'no write call');
    assert.equal(r.http.stats.refused, 0, 'every request correctly signed');
    // a redelivered notification (S3 may send one twice) repeats nothing
    r.sim.notify([trailKey('2026/11/25', 'aaaa')]);
    r.clock.advance(VISIBILITY + 1);
    const again = await r.run();
    assert.equal(again.status, 'succeeded', JSON.stringify(again.error));
    assert.equal(again.events, 0);
    assert.equal(r.sim.pending(), 0);
    assert.equal(r.sim.calls.filter((c) => c.op === 'get').length, 4, 'not fetched again');
  });

  it('a crash at every batch boundary loses nothing; duplicates only from the batch in flight', async () => {
    const probe = await rig();
    fill(probe.sim);
    await probe.run();
    const batches = probe.dest.batches.length;
    assert.ok(batches >= 4, `several batches (${batches})`);
    for (let k = 1; k <= batches; k++) {
      for (const written of [false, true]) {
        const r = await rig();
        const expected = fill(r.sim);
        const crash = new AbortController();
        let inFlight: string[] = [];
        const dest = new MemoryDestination();
        const crashing: Destination = {
          name: 'crashing',
          kind: 'memory',
          send: async (events) => {
            if (!crash.signal.aborted && dest.batches.length + 1 === k) {
              if (written) await dest.send(events);
              inFlight = events.map((e) => e.id);
              crash.abort();
              throw new Error('process killed');
            }
            return dest.send(events);
          },
          close: async () => {},
        };
        const first = await r.run({ signal: crash.signal }, [crashing]);
        assert.equal(first.status, 'cancelled');
        // A receive the killed run had sent (reading ahead) acts at the time of the kill, not after the
        // clock moved: else it would hide the messages from the restart for one more timeout.
        await r.http.settled();
        r.clock.advance(VISIBILITY + 1); // the killed process's messages reappear
        const second = await r.run({}, [crashing]);
        assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
        const ids = dest.ids();
        assert.deepEqual(sorted([...new Set(ids)]), sorted(expected), `crash at batch ${k}: no loss`);
        if (!written) assert.deepEqual(duplicates(ids), [], `crash at batch ${k} before the write`);
        else for (const d of duplicates(ids)) assert.ok(inFlight.includes(d), `duplicate ${d} in flight`);
        assert.equal(r.sim.pending(), 0, `crash at batch ${k}: every message deleted in the end`);
      }
    }
  });

  it('a crash between delivery and the delete: the message comes back, repeats nothing and is deleted', async () => {
    const r = await rig();
    const expected = fill(r.sim);
    // the second message's delete never reaches the queue (retries too): the process died after delivery
    const receipts: string[] = [];
    const del = r.sim.queue.delete;
    r.sim.queue.delete = async (receipt, o) => {
      if (!receipts.includes(receipt)) receipts.push(receipt);
      if (receipts.indexOf(receipt) === 1) throw new Error('process killed before the delete');
      return del(receipt, o);
    };
    const first = await r.run();
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.equal(r.sim.pending(), 1, 'the message whose delete was lost is still queued');
    const delivered = r.dest.ids().length;
    r.clock.advance(VISIBILITY + 1);
    const second = await r.run();
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.equal(second.events, 0, 'nothing repeated');
    assert.equal(r.dest.ids().length, delivered);
    assert.deepEqual(sorted(r.dest.ids()), sorted(expected), 'nothing lost');
    assert.equal(r.sim.pending(), 0, 'deleted this time');
  });

  it('a cut object body, S3 SlowDown and SQS throttling are retried; nothing lost or repeated', async () => {
    const r = await rig();
    const expected = fill(r.sim);
    r.sim.cutBodiesNext(1, trailKey('2026/11/25', 'aaaa'));
    r.http.throttle(1);
    r.http.slowDownNext(1);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(expected));
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.ok(
      (r.http.stats.requests['sqs:ReceiveMessage'] ?? 0) >= 2,
      'the throttled receive was asked again',
    );
  });

  it('without a queue, lists the trail’s date folders from the lookback day, resuming after the last file', async () => {
    const r = await rig({ settings: { queueUrl: undefined, accountId: ACCOUNT, listRegion: 'us-east-1' } });
    putTrail(r.sim, trailKey('2026/11/20', 'old1'), 5, 'old'); // before the 2-day lookback
    const want = [
      ...putTrail(r.sim, trailKey('2026/11/23', 'day1'), 12, 'x'),
      ...putTrail(r.sim, trailKey('2026/11/25', 'day3'), 7, 'y'),
    ];
    putTrail(r.sim, trailKey('2026/11/25', 'other', 'eu-west-1'), 4, 'eu'); // another region folder
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(want));
    const more = putTrail(r.sim, trailKey('2026/11/25', 'day3late', 'us-east-1', '1205'), 2, 'z');
    const next = await r.run();
    assert.equal(next.status, 'succeeded', JSON.stringify(next.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted([...want, ...more]), 'only the new file next time');
    assert.equal(r.http.stats.requests['sqs:ReceiveMessage'], undefined, 'no queue used');
  });

  it('Test Connection proves the credentials and each permission, naming the missing IAM action', async () => {
    const r = await rig();
    fill(r.sim);
    const probe = (account = r.http.account()) =>
      testConnection(cloudtrail, aws, awsFields.parse(account), r.settings, ['events']);
    assert.deepEqual(await probe(), { ok: true });
    for (const action of ['sqs:GetQueueAttributes', 's3:ListBucket', 's3:GetObject'] as const) {
      const h = await rig();
      fill(h.sim);
      h.http.deny(action);
      const res = await testConnection(cloudtrail, aws, awsFields.parse(h.http.account()), h.settings, [
        'events',
      ]);
      assert.equal(res.ok, false);
      if (res.ok) continue;
      assert.equal(res.error.type, 'config');
      assert.equal(res.error.code, 'aws_access_denied', JSON.stringify(res.error));
      assert.match(res.error.message, new RegExp(action));
      assert.match(res.error.action, new RegExp(action));
    }
    const wrong = await probe(r.http.account({ secretAccessKey: 'not-the-secret' }));
    assert.equal(wrong.ok, false);
    if (!wrong.ok) {
      assert.equal(wrong.error.code, 'aws_invalid_credentials', JSON.stringify(wrong.error));
      assert.ok(!JSON.stringify(wrong.error).includes('not-the-secret'), 'no secret in the error');
    }
    const noQueue = await testConnection(
      cloudtrail,
      aws,
      awsFields.parse(r.http.account()),
      { ...r.settings, queueUrl: `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/missing` },
      ['events'],
    );
    assert.equal(noQueue.ok, false);
    if (!noQueue.ok) assert.equal(noQueue.error.code, 'aws_queue_not_found');
  });

  it('reads the notification shapes: plain (URL-encoded keys), SNS, EventBridge; test events name nothing', () => {
    const key = `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/f+1%3D.json.gz`;
    const plain = JSON.stringify({
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: 'b' }, object: { key, eTag: 'e', size: 3 } },
        },
      ],
    });
    const m = (body: string) => ({ id: 'm', receipt: 'r', body });
    assert.equal(
      cloudTrailObjects(m(plain))[0].key,
      `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/f 1=.json.gz`,
    );
    assert.equal(
      cloudTrailObjects(m(JSON.stringify({ Type: 'Notification', Message: plain })))[0].bucket,
      'b',
    );
    assert.deepEqual(
      cloudTrailObjects(m(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' }))),
      [],
    );
    assert.deepEqual(
      cloudTrailObjects(
        m(
          JSON.stringify({
            Records: [{ eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'b' }, object: { key } } }],
          }),
        ),
      ),
      [],
      'deletions name nothing to read',
    );
    const org = `AWSLogs/o-exampleorgid/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/x.json.gz`;
    assert.equal(cloudTrailObjects(m(plain.replace(key, org))).length, 1, 'organization trail layout');
    assert.throws(
      () => trailObjectsIn(m(plain), 'trail-bucket'),
      /names bucket b, not the collector's bucket/,
    );
    assert.equal(trailObjectsIn(m(plain), 'b')[0].bucket, 'b');
    assert.throws(() => cloudTrailObjects(m('{"hello":1}')), /S3 event notification/);
    assert.throws(() => cloudTrailObjects(m('not json')), /not JSON/);
  });

  it('settings: listing needs accountId and listRegion; the queue URL is checked', () => {
    const r = cloudtrail.settings.safeParse({ bucket: 'trail-bucket', region: 'us-east-1' });
    assert.equal(r.success, false);
    if (!r.success) {
      const paths = r.error.issues.map((i) => i.path.join('.'));
      assert.deepEqual(sorted(paths), ['accountId', 'listRegion']);
    }
    const bad = cloudtrail.settings.safeParse({
      bucket: 'trail-bucket',
      region: 'us-east-1',
      queueUrl: 'sqs://x',
    });
    assert.equal(bad.success, false);
    if (!bad.success) assert.match(bad.error.issues[0].message, /SQS queue URL/);
  });
});
