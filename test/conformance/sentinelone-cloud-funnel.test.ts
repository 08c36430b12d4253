import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ObjectStoreSim } from '../../src/sim/object-store.ts';
import { sources } from '../../src/sources/index.ts';
import funnel from '../../src/sources/sentinelone-cloud-funnel/index.ts';
import {
  type AwsRig,
  awsRigs,
  checkTestConnection,
  crashAtEveryBatch,
  loseDelete,
} from '../support/aws-rig.ts';
import { duplicates, sorted } from '../support/ids.ts';

/**
 * Conformance of `sentinelone-cloud-funnel` (an object-notification source: its own suite) against the S3
 * and SQS simulators over HTTP that verify every request's SigV4 (src/sim/aws-object-http.ts), with the
 * real runner, HTTP client, `aws` account and store: gzip JSON-lines objects of Deep Visibility 2.0 events
 * shaped like the public samples (flat dotted fields), ids `event.id`, times `event.time`, the prefix
 * narrowing keys, a crash at every batch boundary and between delivery and the delete, Test Connection
 * naming the missing IAM action, and no write call but the declared receive and delete.
 */

const awsRig = awsRigs('tributary-funnel');
const VISIBILITY = 30_000;
async function rig(settings: Record<string, unknown> = {}): Promise<AwsRig> {
  return awsRig({
    source: funnel,
    name: 'funnel',
    stream: 'events',
    sim: { bucket: 's1-cloud-funnel', visibilityTimeoutMs: VISIBILITY, chunkBytes: 2048 },
    http: { region: 'eu-west-1', accountId: '111122223333', queueName: 'cloud-funnel' },
    settings: (http) => ({
      bucket: 's1-cloud-funnel',
      region: 'eu-west-1',
      queueUrl: http.queueUrl,
      prefix: 'funnel/',
      ...settings,
    }),
  });
}

const CATEGORIES = [
  ['process', 'ProcessCreation'],
  ['file', 'FileCreation'],
  ['dns', 'DNSResolved'],
  ['ip', 'IPConnect'],
  ['registry', 'RegistryValueModified'],
] as const;

/** A Deep Visibility 2.0 event shaped like the public samples (flat dotted field names). */
function dvEvent(n: number) {
  const [category, type] = CATEGORIES[n % CATEGORIES.length];
  return {
    'event.id': `01GEF7NPDYKJDP1X0XSQ9K7J2N_${n}`,
    'event.time': 1_795_000_000_000 + n,
    'event.category': category,
    'event.type': type,
    'account.id': '123456789123456789',
    'site.id': '123456789123456789',
    'agent.uuid': 'asdf356783457dfds4456d65',
    'endpoint.name': `host-${n % 7}`,
    'endpoint.os': 'windows',
    'src.process.name': 'newrelic-infra.exe',
    'src.process.cmdline': 'C:\\ProgramFiles\\NewRelic\\newrelic-infra.exe',
    'i.scheme': 'edr',
  };
}

const KEYS = [
  'funnel/2026/11/25/12/00/part-0001.gz',
  'funnel/2026/11/25/12/00/part-0002.gz',
  'funnel/2026/11/25/12/05/part-0003.gz',
];

function fill(sim: ObjectStoreSim) {
  let n = 0;
  const sizes = [1500, 40, 700];
  for (let i = 0; i < KEYS.length; i++) {
    const lines = Array.from({ length: sizes[i] }, () => JSON.stringify(dvEvent(n++)));
    sim.put(KEYS[i], gzipSync(`${lines.join('\n')}\n`));
  }
  sim.put('other/readme.txt', 'not telemetry');
  sim.sendTestEvent();
  sim.notify([KEYS[0], 'other/readme.txt']);
  sim.notify([KEYS[1]]);
  sim.notify([KEYS[2], KEYS[0]]); // KEYS[0] again: read once
  return { count: n };
}

describe('conformance: sentinelone-cloud-funnel (S3 + SQS over HTTP, SigV4 verified)', () => {
  it('is registered as an object-storage source with its declared writes', () => {
    assert.equal(sources['sentinelone-cloud-funnel'], funnel);
    assert.equal(funnel.family, 'object-storage');
    assert.equal(funnel.stability, 'early-access');
    assert.deepEqual(Object.keys(funnel.streams), ['events']);
  });

  it('drains every event once, ids event.id, times event.time; keys outside the prefix skipped', async () => {
    const r = await rig();
    const want = fill(r.sim);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(r.dest.ids().length, want.count);
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal(r.sim.pending(), 0, 'every message deleted');
    const e = r.dest.events.find((x) => x.id === '01GEF7NPDYKJDP1X0XSQ9K7J2N_42')!;
    assert.ok(e);
    assert.equal(e.time, new Date(1_795_000_000_042).toISOString());
    assert.deepEqual(JSON.parse(JSON.stringify(e.raw)), dvEvent(42), 'the vendor record kept as written');
    assert.deepEqual(
      sorted(r.sim.calls.filter((c) => c.op === 'get').map((c) => c.detail)),
      sorted(KEYS.map((k) => `${k}@0`)),
      'each object fetched once; other/readme.txt not at all',
    );
    assert.equal(r.http.stats.writes, 0, 'no write call');
    assert.equal(r.http.stats.refused, 0, 'every request correctly signed');
  });

  it('a crash at every batch boundary loses nothing; duplicates only from the batch in flight', async () => {
    await crashAtEveryBatch(() => rig(), fill, { visibilityMs: VISIBILITY, minBatches: 3 });
  });

  it('a crash between delivery and the delete: the message comes back, repeats nothing and is deleted', async () => {
    const r = await rig();
    const want = fill(r.sim);
    loseDelete(r, 1);
    const first = await r.run();
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.equal(r.sim.pending(), 1, 'the message whose delete was lost is still queued');
    r.clock.advance(VISIBILITY + 1);
    const second = await r.run();
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.equal(second.events, 0, 'nothing repeated');
    assert.equal(r.dest.ids().length, want.count, 'nothing lost');
    assert.equal(r.sim.pending(), 0, 'deleted this time');
  });

  it('a line that is not JSON is a dead letter; a cut body, SlowDown and throttling are retried', async () => {
    const r = await rig();
    const want = fill(r.sim);
    r.sim.put('funnel/bad.gz', gzipSync('{"event.id":"ok-1","event.time":1}\nnot json\n'));
    r.sim.notify(['funnel/bad.gz']);
    r.sim.cutBodiesNext(1, KEYS[0]);
    r.http.throttle(1);
    r.http.slowDownNext(1);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(r.dest.ids().length, want.count + 1);
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal(res.deadLetters, 1);
    assert.equal(r.sim.pending(), 0);
  });

  it('Test Connection proves the credentials and each permission, naming the missing IAM action', async () => {
    const actions = ['sqs:GetQueueAttributes', 's3:ListBucket', 's3:GetObject'] as const;
    await checkTestConnection(funnel, () => rig(), fill, [...actions], ['events']);
  });

  it('settings name the field and what was expected', () => {
    const bad = funnel.settings.safeParse({ bucket: 's1-cloud-funnel', region: 'eu-west-1' });
    assert.equal(bad.success, false);
    if (!bad.success) assert.deepEqual(bad.error.issues[0].path, ['queueUrl']);
    const region = funnel.settings.safeParse({
      bucket: 's1-cloud-funnel',
      region: 'Ireland',
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/q',
    });
    assert.equal(region.success, false);
    if (!region.success) assert.match(region.error.issues[0].message, /region code/);
  });
});
