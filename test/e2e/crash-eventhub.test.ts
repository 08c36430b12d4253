import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EventHubAmqpSim } from '../../src/sim/event-hub-amqp.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli } from '../support/cli-process.ts';
import { until } from '../support/event-hub-rig.ts';
import { duplicates } from '../support/ids.ts';

/**
 * Process-level crash test of `azure-event-hub`: `kill -9` of `tributary run` (the embedded scheduler's
 * stream consumer) in the middle of two partitions, against the AMQP Event Hubs simulator in this process.
 * The next process takes the partitions over once the killed one's leases lapse (30 s, the embedded
 * default) and resumes each at its committed sequence number: nothing is lost, and the only events
 * delivered twice are those after a partition's committed position at the kill (the batch in flight).
 */

const dir = mkdtempSync(join(tmpdir(), 'tributary-eventhub-crash-'));
const sim = new EventHubAmqpSim({ hubs: { insights: { partitions: 2, consumerGroups: ['tributary'] } } });
after(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kill -9 of an azure-event-hub consumer', () => {
  it('mid-partition: the next process resumes at the committed positions; nothing lost, only the batch in flight repeated', async () => {
    await sim.start();
    const N = 20_000;
    const bodies = Array.from({ length: N }, (_, i) => ({
      records: [{ time: '2026-12-07T05:00:00Z', operationName: 'SecretGet', category: 'AuditEvent', n: i }],
    }));
    const sent = sim.send('insights', bodies);
    const expected = sent.map((e) => `127.0.0.1/insights/${e.partition}/${e.sequenceNumber}/0`);
    const out = join(dir, 'out', 'events.ndjson');
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        '  hub: { kind: azure-event-hubs, connectionString: "${env:EH_CONNECTION}", eventHubName: insights, consumerGroup: tributary }',
        'destinations:',
        '  local: { kind: file, path: ./out/events.ndjson }',
        'collectors:',
        '  eh:',
        '    source: azure-event-hub',
        '    account: hub',
        '    destinations: [local]',
      ].join('\n'),
    );
    const env = { EH_CONNECTION: sim.connectionString(), TRIBUTARY_DATA_DIR: join(dir, 'data') };
    const store0 = await SqliteStore.open(join(dir, 'data'));
    await store0.migrate();
    await store0.setSetting('earlyAccess', 'true'); // the source is early access: an admin turned it on
    await store0.close();
    const ids = () =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .filter((l) => l.endsWith('}'))
            .map((l) => JSON.parse(l).id as string)
        : [];

    const first = runCli(['run', '--config', config], env);
    await until(
      'part of the hub delivered',
      () => ids().length >= 3000 || first.child.exitCode !== null,
      60_000,
    );
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL', killed.out);
    const atKill = ids();
    assert.ok(atKill.length < N, `killed mid-stream (${atKill.length} of ${N} delivered)`);

    const store = await SqliteStore.open(join(dir, 'data'));
    const [collector] = await store.listCollectors();
    const committed = new Map(
      (await store.listPartitions(collector!.id, 'events')).map((p) => [
        p.partition,
        (p.position as { sequenceNumber: number } | undefined)?.sequenceNumber ?? -1,
      ]),
    );
    await store.close();

    const next = runCli(['run', '--config', config], env);
    await until('every event after the leases lapsed', () => new Set(ids()).size === N, 120_000);
    next.child.kill('SIGTERM');
    await next.done;
    const all = ids();
    assert.deepEqual([...new Set(all)].sort(), [...expected].sort(), 'nothing lost');
    const repeated = duplicates(all);
    for (const id of repeated) {
      const [, , partition, seq] = id.split('/'); // {namespace}/{hub}/{partition}/{seq}/{index}
      assert.ok(
        Number(seq) > committed.get(partition!)!,
        `${id} repeated although its partition had committed ${committed.get(partition!)}`,
      );
    }
    assert.ok(repeated.length <= 2 * 500, `at most a batch in flight per partition (${repeated.length})`);
    assert.equal(sim.stats.writes, 0);
  });
});
