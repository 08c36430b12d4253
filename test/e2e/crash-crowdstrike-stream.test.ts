import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CrowdStrikeSimulator } from '../../src/sources/crowdstrike/simulator.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli } from '../support/cli-process.ts';
import { duplicates } from '../support/ids.ts';

/**
 * Process-level crash test of CrowdStrike's `event-stream`: `kill -9` of `tributary run` (the embedded
 * scheduler's stream consumer) while it reads two partitions' feeds from the simulator in this process. The next
 * process takes the partitions over once the killed one's leases lapse (30 s, the embedded default), opens each
 * feed at its committed offset + 1 and reads on: nothing lost, and the only events delivered twice are those
 * after a partition's committed offset at the kill (the batch in flight).
 */

const dir = mkdtempSync(join(tmpdir(), 'tributary-cs-stream-crash-'));
const sim = new CrowdStrikeSimulator({ alerts: 0, feed: { partitions: 2 } });
after(async () => {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('kill -9 of a crowdstrike event-stream consumer', () => {
  it('mid-feed: the next process resumes each partition at its committed offset; nothing lost, only the batch in flight repeated', async () => {
    await sim.start();
    const N = 20_000;
    sim.feed.add(N, 1);
    const out = join(dir, 'out', 'events.ndjson');
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        '  falcon: { kind: crowdstrike, url: "${env:CS_URL}", clientId: "${env:CS_ID}", clientSecret: "${env:CS_SECRET}" }',
        'destinations:',
        '  local: { kind: file, path: ./out/events.ndjson }',
        'collectors:',
        '  falcon-stream:',
        '    source: crowdstrike',
        '    account: falcon',
        '    streams: [event-stream]',
        '    settings: { appId: tributarycrash }',
        '    destinations: [local]',
      ].join('\n'),
    );
    const a = sim.account();
    const env = {
      CS_URL: a.url,
      CS_ID: a.clientId,
      CS_SECRET: a.clientSecret,
      TRIBUTARY_DATA_DIR: join(dir, 'data'),
    };
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
      'part of the feeds delivered',
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
      (await store.listPartitions(collector!.id, 'event-stream')).map((p) => [
        p.partition,
        (p.position as number | undefined) ?? -1,
      ]),
    );
    await store.close();

    const next = runCli(['run', '--config', config], env);
    await until('every event after the leases lapsed', () => new Set(ids()).size === N, 120_000);
    next.child.kill('SIGTERM');
    await next.done;
    const all = ids();
    assert.deepEqual([...new Set(all)].sort(), [...sim.feed.ids()].sort(), 'nothing lost');
    const repeated = duplicates(all);
    for (const id of repeated) {
      const [partition, offset] = id.split(':');
      assert.ok(
        Number(offset) > committed.get(partition!)!,
        `${id} repeated although its partition had committed ${committed.get(partition!)}`,
      );
    }
    assert.ok(repeated.length <= 2 * 500, `at most a batch in flight per partition (${repeated.length})`);
    const resumedAt = sim.feed.connections.slice(-2).map((c) => c.offset);
    assert.ok(
      resumedAt.every((o) => o > 0),
      `feeds reopened at the committed offsets (${resumedAt})`,
    );
    assert.deepEqual(sim.writeCalls(), []);
  });
});
