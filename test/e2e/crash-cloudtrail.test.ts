import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { AwsObjectHttpSim } from '../../src/sim/aws-object-http.ts';
import { ManualClock } from '../../src/sim/kit.ts';
import { ObjectStoreSim } from '../../src/sim/object-store.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli } from '../support/cli-process.ts';

/**
 * Process-level crash test of `aws-cloudtrail` (issue 15): `kill -9` of `tributary run --once` while the
 * SQS DeleteMessage of a delivered log file is in flight. The message comes back after its visibility
 * timeout; the next run delivers nothing again (the processed-file set in the checkpoint) and deletes it.
 */

const ACCOUNT = '111122223333';
const dir = mkdtempSync(join(tmpdir(), 'tributary-ct-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('kill -9 of an aws-cloudtrail run', () => {
  it('between a delivered log file and its message delete: the message comes back, nothing lost or repeated', async () => {
    const clock = new ManualClock(Date.now());
    const sim = new ObjectStoreSim({ clock: clock.now, bucket: 'trail-bucket', visibilityTimeoutMs: 30_000 });
    const http = new AwsObjectHttpSim(sim, { accountId: ACCOUNT });
    await http.start();
    after(() => http.stop());
    const expected: string[] = [];
    for (const [n, hhmm] of [
      [1500, '1200'],
      [40, '1205'],
      [700, '1210'],
    ] as const) {
      const key = `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/${ACCOUNT}_CloudTrail_us-east-1_20261125T${hhmm}Z_Mu0KsOhtH1ar15ZZ.json.gz`;
      const records = Array.from({ length: n }, (_, i) => ({
        eventVersion: '1.08',
        eventTime: '2026-11-25T11:59:00Z',
        eventSource: 'iam.amazonaws.com',
        eventName: 'CreateUser',
        eventID: `${hhmm}-${i}`,
      }));
      expected.push(...records.map((r) => r.eventID));
      sim.put(key, gzipSync(JSON.stringify({ Records: records })));
      sim.notify([key]);
    }
    const out = join(dir, 'out', 'events.ndjson');
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  aws-main: { kind: aws, accessKeyId: ${http.accessKeyId}, secretAccessKey: "\${env:AWS_SECRET}", region: us-east-1, endpoints: { s3: "${http.s3Url}", sqs: "${http.sqsUrl}" } }`,
        'destinations:',
        '  local: { kind: file, path: ./out/events.ndjson }',
        'collectors:',
        '  ct:',
        '    source: aws-cloudtrail',
        '    account: aws-main',
        '    destinations: [local]',
        `    settings: { bucket: trail-bucket, region: us-east-1, queueUrl: "${http.queueUrl}", waitTimeSeconds: 0 }`,
      ].join('\n'),
    );
    const env = { AWS_SECRET: http.secretAccessKey, TRIBUTARY_DATA_DIR: join(dir, 'data') };
    // the source is early access: an admin turned it on (PUT /api/settings {earlyAccess: true})
    const store = await SqliteStore.open(join(dir, 'data'));
    await store.migrate();
    await store.setSetting('earlyAccess', 'true');
    await store.close();
    const ids = () =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l).id as string)
        : [];

    // the first file is delivered and committed; its delete is in flight when the process dies
    const hold = http.holdDeletes();
    const first = runCli(['run', '--config', config, '--once'], env);
    await Promise.race([hold.reached, first.done]);
    assert.equal(
      first.child.exitCode,
      null,
      `the run reached the delete: ${first.child.exitCode === null ? '' : (await first.done).out}`,
    );
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    hold.release();
    // a receive the killed process had sent (reading ahead) acts now, at the time of the kill, not after
    // the clock moved (where it would hide the messages from the restart for one more timeout)
    await http.settled();
    const before = ids();
    assert.ok(before.length >= 1500, `the first file was delivered (${before.length})`);
    assert.equal(sim.pending(), 3, 'no message deleted');

    clock.advance(30_001); // the killed process's messages reappear
    const second = await runCli(['run', '--config', config, '--once'], env).done;
    assert.equal(second.code, 0, second.out);
    const all = ids();
    assert.deepEqual([...new Set(all)].sort(), [...expected].sort(), 'nothing lost');
    assert.equal(
      all.length,
      expected.length,
      'nothing repeated: the redelivered message found its file done',
    );
    assert.equal(sim.pending(), 0, 'every message deleted in the end');
    assert.equal(http.stats.writes, 0);
  });
});
