import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AwsObjectHttpSim } from '../../src/sim/aws-object-http.ts';
import { ManualClock } from '../../src/sim/kit.ts';
import { ObjectStoreSim } from '../../src/sim/object-store.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli } from '../support/cli-process.ts';

/**
 * Process-level crash test of `aws-sqs` (issue 15): `kill -9` of `tributary run --once` while the
 * DeleteMessageBatch of a delivered batch is in flight. The messages come back after their visibility
 * timeout; the next run delivers none of them again (the delivered ids in the checkpoint) and deletes them.
 */

const dir = mkdtempSync(join(tmpdir(), 'tributary-sqs-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('kill -9 of an aws-sqs run', () => {
  it('between a delivered batch and its DeleteMessageBatch: the messages come back, nothing lost or repeated', async () => {
    const clock = new ManualClock(Date.now());
    const sim = new ObjectStoreSim({ clock: clock.now, visibilityTimeoutMs: 30_000 });
    const http = new AwsObjectHttpSim(sim, { queueName: 'app-events' });
    await http.start();
    after(() => http.stop());
    const expected: string[] = [];
    for (let i = 0; i < 35; i++) expected.push(sim.send(JSON.stringify({ order: i })));
    const out = join(dir, 'out', 'events.ndjson');
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  aws-main: { kind: aws, accessKeyId: ${http.accessKeyId}, secretAccessKey: "\${env:AWS_SECRET}", region: us-east-1, endpoints: { sqs: "${http.sqsUrl}" } }`,
        'destinations:',
        '  local: { kind: file, path: ./out/events.ndjson }',
        'collectors:',
        '  q:',
        '    source: aws-sqs',
        '    account: aws-main',
        '    destinations: [local]',
        `    settings: { queueUrl: "${http.queueUrl}", region: us-east-1 }`,
      ].join('\n'),
    );
    const env = { AWS_SECRET: http.secretAccessKey, TRIBUTARY_DATA_DIR: join(dir, 'data') };
    // the source is early access: an admin turned it on
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

    // the first batch is delivered and committed; its delete is in flight when the process dies
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
    assert.ok(before.length >= 10, `the first batch was delivered (${before.length})`);
    assert.equal(sim.pending(), 35, 'no message deleted');

    clock.advance(30_001); // the killed process's messages reappear
    const next = await runCli(['run', '--config', config, '--once'], env).done;
    assert.equal(next.code, 0, next.out);
    const all = ids();
    assert.deepEqual([...new Set(all)].sort(), [...expected].sort(), 'nothing lost');
    assert.equal(all.length, expected.length, 'nothing repeated: the redelivered batch was found delivered');
    assert.equal(sim.pending(), 0, 'every message deleted in the end');
    assert.equal(http.stats.writes, 0);
  });
});
