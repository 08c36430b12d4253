import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { aws, awsFields } from '../../src/accounts/aws.ts';
import type { Logger } from '../../src/core/source.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import type { ObjectStoreSim } from '../../src/sim/object-store.ts';
import umbrella, {
  rotationWarning,
  streamOfKey,
  UMBRELLA_LOGS,
  umbrellaTime,
} from '../../src/sources/cisco-umbrella/index.ts';
import { sources } from '../../src/sources/index.ts';
import { type AwsRig, awsRigs, checkTestConnection, crashAtEveryBatch } from '../support/aws-rig.ts';
import { duplicates, sorted } from '../support/ids.ts';
import type { MemoryDestination } from '../support/memory-destination.ts';

/**
 * Conformance of `cisco-umbrella` (an object-notification source: its own suite) against the S3 and SQS
 * simulators over HTTP that verify every request's SigV4 (src/sim/aws-object-http.ts), with the real
 * runner, HTTP client, `aws` account and store: gzip CSV files without a header in Umbrella's documented
 * column order per log type (rows shaped like the documented samples), the Cisco-managed bucket listed by
 * date folder under the data path from the lookback's day, resuming after the last file; an own bucket
 * with one queue shared by the streams; older and newer log versions; the optional header row; the
 * 90-day key rotation warning; a crash at every batch boundary; Test Connection naming the IAM action.
 */

const awsRig = awsRigs('tributary-umbrella');
const VISIBILITY = 30_000;
const BUCKET = 'cisco-managed-us-west-1';
const DATA = '1234567_abcdef0123456789abcdef0123456789abcdef01';

async function rig(
  o: { stream?: string | string[]; settings?: Record<string, unknown>; queue?: boolean } = {},
): Promise<AwsRig> {
  return awsRig({
    source: umbrella,
    name: 'umbrella',
    stream: o.stream ?? 'dns',
    sim: { bucket: BUCKET, visibilityTimeoutMs: VISIBILITY, chunkBytes: 1024 },
    http: { region: 'us-west-1', accountId: '111122223333', queueName: 'umbrella-logs' },
    settings: (http) => ({
      bucket: BUCKET,
      region: 'us-west-1',
      dataPath: DATA,
      ...(o.queue ? { queueUrl: http.queueUrl } : {}),
      ...o.settings,
    }),
    lookbackMs: 2 * 86_400_000,
  });
}

const q = (fields: string[]) => fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(',');

/** A DNS row like the documented sample ("DNS Log Formats" → Examples). */
const dnsRow = (i: number, extra: string[] = []) =>
  q([
    `2026-11-24 10:${String(i % 60).padStart(2, '0')}:41`,
    'ActiveDirectoryUserName',
    'ActiveDirectoryUserName,ADSite,Network',
    '10.10.1.100',
    '24.123.132.133',
    i % 5 ? 'Allowed' : 'Blocked',
    '1 (A)',
    'NOERROR',
    `domain-${i}.com.`,
    'Photo Sharing',
    'AD User',
    'AD User,Site,Network',
    '',
    ...extra,
  ]);

/** An audit row like the documented sample ("Admin Audit Log Formats"). */
const auditRow = (i: number) =>
  q([
    `a-${i}`,
    '2026-11-24 10:46:45',
    'admin@example.com',
    'Admin',
    'logexportconfigurations',
    'update',
    '192.0.2.1',
    'version: 4',
    'version: 5',
  ]);

const key = (type: string, day: string, hhmm: string, rnd: string) =>
  `${DATA}/${type}/${day}/${day}-${hhmm}-${rnd}.csv.gz`;

function fill(sim: ObjectStoreSim) {
  const put = (k: string, rows: string[]) => sim.put(k, gzipSync(`${rows.join('\n')}\n`));
  put(key('dnslogs', '2026-11-20', '10-00', 'old1'), [dnsRow(9999)]); // before the lookback
  put(
    key('dnslogs', '2026-11-24', '10-00', 'e4e1'),
    Array.from({ length: 1200 }, (_, i) => dnsRow(i)),
  );
  put(key('dnslogs', '2026-11-24', '10-10', 'a9b2'), [dnsRow(5000), dnsRow(5001, ['v14-extra'])]);
  put(key('auditlogs', '2026-11-24', '10-50', 'zz01'), [auditRow(1), auditRow(2)]);
  put(`other-org/dnslogs/2026-11-24/2026-11-24-10-00-xxxx.csv.gz`, [dnsRow(7777)]);
  return { dns: 1202 };
}

const raws = (d: MemoryDestination) => d.events.map((e) => JSON.parse(JSON.stringify(e.raw)));

describe('conformance: cisco-umbrella (S3 log management, SigV4 verified)', () => {
  it('is registered as an object-storage source with a stream per log type', () => {
    assert.equal(sources['cisco-umbrella'], umbrella);
    assert.equal(umbrella.family, 'object-storage');
    assert.equal(umbrella.stability, 'early-access');
    assert.deepEqual(Object.keys(umbrella.streams), ['dns', 'proxy', 'firewall', 'ip', 'audit']);
    assert.equal(UMBRELLA_LOGS.proxy.columns.length, 49, 'Web Log: 49 documented columns');
    assert.equal(UMBRELLA_LOGS.firewall.columns.length, 16);
    assert.equal(streamOfKey(`${DATA}/dnslogs/2026-11-24/2026-11-24-10-00-e4e1.csv.gz`), 'dns');
    assert.equal(streamOfKey('cloudfirewalllogs/2026-11-24/x.csv.gz'), 'firewall');
    assert.equal(streamOfKey('intrusionlogs/2026-11-24/x.csv.gz'), undefined);
    assert.equal(umbrellaTime('2015-01-16 17:48:41'), '2015-01-16T17:48:41.000Z', 'UTC, not local');
  });

  it('Cisco-managed: lists the date folders from the lookback day, columns named; resumes after the last file', async () => {
    const r = await rig();
    const want = fill(r.sim);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(r.dest.events.length, want.dns, 'the 2026-11-20 file is before the lookback');
    assert.deepEqual(duplicates(r.dest.ids()), []);
    const all = raws(r.dest);
    assert.deepEqual(all[0], {
      timestamp: '2026-11-24 10:00:41',
      'most granular identity': 'ActiveDirectoryUserName',
      identities: 'ActiveDirectoryUserName,ADSite,Network',
      'internal ip': '10.10.1.100',
      'external ip': '24.123.132.133',
      action: 'Blocked',
      'query type': '1 (A)',
      'response code': 'NOERROR',
      domain: 'domain-0.com.',
      categories: 'Photo Sharing',
      'most granular identity type': 'AD User',
      'identity types': 'AD User,Site,Network',
      'blocked categories': '',
    });
    assert.equal(all.at(-1).column14, 'v14-extra', 'a newer version’s extra column kept');
    assert.equal(r.dest.events[0].time, '2026-11-24T10:00:41.000Z');
    assert.equal(r.http.stats.requests['sqs:ReceiveMessage'], undefined, 'no queue');
    assert.equal(r.http.stats.writes, 0);
    assert.equal(r.http.stats.refused, 0);
    // Ten minutes later, a new file: only it is read.
    r.sim.put(key('dnslogs', '2026-11-25', '00-00', 'k3k3'), gzipSync(`${dnsRow(6000)}\n`));
    r.sim.put(
      key('dnslogs', '2026-11-25', '00-10', 'h1h1'),
      gzipSync(`${q(['timestamp', 'most granular identity'])}\n${dnsRow(6001)}\n`),
    );
    const next = await r.run();
    assert.equal(next.status, 'succeeded', JSON.stringify(next.error));
    const fresh = raws(r.dest).slice(want.dns);
    assert.deepEqual(
      fresh.map((x) => x.domain),
      ['domain-6000.com.', 'domain-6001.com.'],
      'only the new files; the optional header row skipped',
    );
  });

  it('audit rows: id from the id column; an older version with fewer columns gets the first names', async () => {
    const r = await rig({ stream: 'audit' });
    fill(r.sim);
    r.sim.put(
      key('auditlogs', '2026-11-24', '11-00', 'old2'),
      gzipSync(`${q(['a-3', '2026-11-24 11:00:00', 'x@example.com'])}\n`),
    );
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), ['a-1', 'a-2', 'a-3']);
    assert.deepEqual(raws(r.dest).at(-1), {
      id: 'a-3',
      timestamp: '2026-11-24 11:00:00',
      email: 'x@example.com',
    });
  });

  it('own bucket with a queue: the streams share it, each reading its log type once', async () => {
    const queued = await rig({ stream: ['audit', 'dns'], queue: true });
    fill(queued.sim);
    const intrusion = `${DATA}/intrusionlogs/2026-11-24/2026-11-24-10-00-abcd.csv.gz`;
    queued.sim.put(intrusion, gzipSync('"x"\n'));
    queued.sim.notify([key('dnslogs', '2026-11-24', '10-00', 'e4e1')]);
    queued.sim.notify([key('auditlogs', '2026-11-24', '10-50', 'zz01')]);
    queued.sim.notify([key('dnslogs', '2026-11-24', '10-10', 'a9b2')]);
    queued.sim.notify([intrusion]); // a log type without a stream: names nothing
    queued.sim.sendTestEvent();
    const res = await queued.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(queued.dest.events.filter((e) => e.stream === 'dns').length, 1202);
    assert.equal(queued.dest.events.filter((e) => e.stream === 'audit').length, 2);
    assert.equal(queued.sim.pending(), 0, 'every notification deleted');
    assert.equal(queued.http.stats.writes, 0);
    assert.equal(queued.http.stats.requests['s3:ListBucket'], undefined, 'no listing with a queue');
    assert.ok(
      !queued.sim.calls.some((c) => c.op === 'get' && c.detail?.startsWith(intrusion)),
      'intrusion file not read',
    );
  });

  it('warns 14 days before the Cisco-managed key’s 90 days end, and after; Test Connection refuses an expired key', async () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    assert.equal(rotationWarning('2026-10-01', now), undefined);
    assert.equal(rotationWarning('2026-09-01', now)?.code, 'umbrella_key_rotation_due');
    assert.match(rotationWarning('2026-09-01', now)!.message, /expires on 2026-11-30 \(in 4 days\)/);
    assert.equal(rotationWarning('2026-08-01', now)?.code, 'umbrella_key_expired');
    const r = await rig({ settings: { keyRotatedOn: '2026-09-01' } });
    fill(r.sim);
    const warned: string[] = [];
    const log: Logger = { ...silentLogger, warn: (_m, f) => warned.push(String(f?.code)) };
    const res = await r.run({ log });
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.ok(warned.includes('umbrella_key_rotation_due'), warned.join());
    assert.equal(r.dest.events.length, 1202, 'the run still reads');
    const expired = await testConnection(
      umbrella,
      aws,
      awsFields.parse(r.http.account()),
      { ...r.settings, keyRotatedOn: '2020-01-01' },
      ['dns'],
    );
    assert.equal(expired.ok, false);
    if (!expired.ok) assert.equal(expired.error.code, 'umbrella_key_expired');
  });

  it('a crash at every batch boundary loses nothing; duplicates only from the batch in flight', async () => {
    await crashAtEveryBatch(() => rig(), fill);
  });

  it('Test Connection lists the first stream’s folder and reads a file, naming the missing IAM action', async () => {
    const wrong = await checkTestConnection(
      umbrella,
      () => rig(),
      fill,
      ['s3:ListBucket', 's3:GetObject'],
      ['dns'],
    );
    assert.match(wrong.action, /90 days/, 'a Cisco-managed key may have expired');
  });

  it('settings name the field and what was expected', () => {
    const bad = umbrella.settings.safeParse({
      bucket: BUCKET,
      region: 'us-west-1',
      dataPath: '/x/',
      keyRotatedOn: '2026-13-45',
    });
    assert.equal(bad.success, false);
    if (!bad.success)
      assert.deepEqual(
        bad.error.issues.map((i) => i.path.join('.')),
        ['dataPath', 'keyRotatedOn'],
      );
  });
});
