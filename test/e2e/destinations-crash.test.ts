import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ElasticSimulator } from '../../src/destinations/elasticsearch/simulator.ts';
import { SplunkHecSimulator } from '../../src/destinations/splunk-hec/simulator.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli } from '../support/cli-process.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * The Okta simulator drained into a SIEM destination simulator by `tributary run --config … --once`
 * children, killed with SIGKILL in the middle of delivery, repeatedly, then a final run:
 *
 * - every Okta event arrives, exactly as its envelope says;
 * - a crash repeats at most the batch in flight (Splunk: indexed twice at most once per kill;
 *   Elasticsearch: never created twice, the repeat answered 409);
 * - the checkpoint stays behind the acknowledgement: while the target receives events and never
 *   acknowledges them (Splunk's ackIds that stay false; Elasticsearch's node failing after writing),
 *   the checkpoint in the store does not move, and the final run delivers those events again.
 */

const fresh = tempDirs('tributary-dest-crash');
const PAGE = 100;
const EVENTS = 3000;

/** Polls `check` every few milliseconds until it holds or the deadline passes. */
async function waitFor(check: () => boolean, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return check();
}

async function checkpointOf(dataDir: string): Promise<string | undefined> {
  const store = await SqliteStore.open(dataDir);
  try {
    const c = await store.getCollector('okta-prod');
    return c ? JSON.stringify((await store.getCheckpoint(c.id, 'system-log'))?.value) : undefined;
  } finally {
    await store.close();
  }
}

interface Target {
  /** YAML of the destination (its secrets from the environment). */
  yaml: string;
  env: Record<string, string>;
  /** Events the target has received so far (acknowledged or not). */
  received(): number;
  /** Make the target receive and never acknowledge; undo. */
  stall(on: boolean): void;
  /** The target noticed events it did not acknowledge since `stall(true)`. */
  stalled(): boolean;
}

async function drainWithCrashes(target: Target, okta: OktaSimulator) {
  const dir = fresh();
  const dataDir = join(dir, 'data');
  const config = join(dir, 'tributary.yaml');
  writeFileSync(
    config,
    [
      'accounts:',
      `  okta-main: { kind: okta, url: "${okta.url}", token: "\${env:OKTA_TOKEN}", requestsPerMinute: 100000 }`,
      'destinations:',
      `  siem: ${target.yaml}`,
      'collectors:',
      '  okta-prod:',
      '    source: okta',
      '    account: okta-main',
      '    destinations: [siem]',
      '    lookback: 2h',
      `    settings: { limit: ${PAGE} }`,
    ].join('\n'),
  );
  const env = { OKTA_TOKEN: okta.token, TRIBUTARY_DATA_DIR: dataDir, ...target.env };
  const run = () => runCli(['run', '--config', config, '--once'], env);

  let kills = 0;
  for (let i = 0; i < 6 && kills < 3; i++) {
    const goal = target.received() + PAGE * (2 + Math.floor(Math.random() * 4));
    const { child, done } = run();
    assert.ok(await waitFor(() => target.received() >= goal || child.exitCode !== null, 60_000), 'progress');
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      kills++;
    }
    const r = await done;
    if (r.signal !== 'SIGKILL') {
      assert.equal(r.code, 0, r.out);
      break;
    }
  }
  assert.ok(kills >= 2, `killed ${kills} times`);

  // The target receives but never acknowledges: the checkpoint must not move.
  const before = await checkpointOf(dataDir);
  target.stall(true);
  const stalledRun = run();
  const received = target.received();
  assert.ok(
    await waitFor(
      () => (target.received() > received && target.stalled()) || stalledRun.child.exitCode !== null,
      60_000,
    ),
    'the target received events it did not acknowledge',
  );
  assert.equal(stalledRun.child.exitCode, null, 'the run was still waiting for the acknowledgement');
  stalledRun.child.kill('SIGKILL');
  await stalledRun.done;
  assert.equal(await checkpointOf(dataDir), before, 'the checkpoint stayed behind the acknowledgement');
  kills++;
  target.stall(false);

  const final = await run().done;
  assert.equal(final.code, 0, final.out);
  assert.match(final.out, /okta-prod: \d+ events, \d+ pages, .* caught up/);
  return kills;
}

describe('kill -9 while draining Okta into a SIEM destination', () => {
  it('splunk-hec with indexer acknowledgement: nothing lost, repeats only from batches in flight', {
    timeout: 240_000,
  }, async () => {
    const okta = new OktaSimulator({
      events: EVENTS,
      spacingMs: 500,
      seed: 'hec-crash',
      rateLimitPerMinute: 1_000_000,
    });
    const hec = new SplunkHecSimulator({ ack: true, indexes: ['main', 'okta'] });
    await okta.start();
    await hec.start();
    after(async () => {
      await okta.stop();
      await hec.stop();
    });
    let ackQueries = 0;
    const kills = await drainWithCrashes(
      {
        yaml: `{ kind: splunk-hec, url: "${hec.url}", token: "\${env:HEC_TOKEN}", index: okta, ack: true, ackPollMs: 20, ackTimeoutMs: 1000, maxBatchEvents: 50, backoffBaseMs: 10 }`,
        env: { HEC_TOKEN: hec.token },
        received: () => hec.received.length,
        stall: (on) => {
          hec.loseAcks = on;
          ackQueries = hec.ackQueries;
        },
        stalled: () => hec.ackQueries > ackQueries + 2,
      },
      okta,
    );
    const expected = okta.eventIds();
    const indexed = new Set(hec.ids);
    assert.equal(indexed.size, expected.length, 'no event missing');
    for (const id of expected) assert.ok(indexed.has(id), id);
    const repeats = hec.ids.length - indexed.size;
    assert.ok(
      repeats <= kills * PAGE,
      `${repeats} repeats from ${kills} kills of at most one ${PAGE}-event batch each`,
    );
    const byId = new Map(okta.events().map((e) => [e.uuid, e]));
    for (const e of hec.events) {
      const env = e.event as {
        id: string;
        time: string;
        source: string;
        stream: string;
        collector: string;
        raw: { uuid: string; published: string };
      };
      const vendor = byId.get(env.id)!;
      assert.equal(env.raw.uuid, env.id);
      assert.deepEqual(env.raw, JSON.parse(JSON.stringify(vendor)), 'the vendor record, intact');
      assert.equal(env.time, new Date(vendor.published).toISOString());
      assert.deepEqual([env.source, env.stream, env.collector], ['okta', 'system-log', 'okta-prod']);
      assert.deepEqual(
        [e.index, e.host, e.source, e.sourcetype],
        ['okta', 'okta-prod', 'okta:system-log', '_json'],
      );
      assert.equal(e.time, Date.parse(env.time) / 1000);
    }
  });

  it('elasticsearch: nothing lost, nothing created twice; repeats answered 409', {
    timeout: 240_000,
  }, async () => {
    const okta = new OktaSimulator({
      events: EVENTS,
      spacingMs: 500,
      seed: 'es-crash',
      rateLimitPerMinute: 1_000_000,
    });
    const API_KEY = 'ZTJlOlNFQ1JFVC1lMmUta2V5';
    const es = new ElasticSimulator({ apiKey: API_KEY });
    await okta.start();
    await es.start();
    after(async () => {
      await okta.stop();
      await es.stop();
    });
    let failed = 0;
    const kills = await drainWithCrashes(
      {
        yaml: `{ kind: elasticsearch, url: "${es.url}", auth: { type: apiKey, apiKey: "\${env:ES_KEY}" }, maxBatchEvents: 50, backoffBaseMs: 10 }`,
        env: { ES_KEY: API_KEY },
        received: () => es.created.length + es.bulks.length,
        stall: (on) => {
          es.failAfterStore = on;
          failed = es.failedAfterStore;
        },
        stalled: () => es.failedAfterStore > failed + 2,
      },
      okta,
    );
    const ds = 'logs-tributary-default';
    const expected = okta.eventIds();
    const stored = new Set(es.ids(ds));
    assert.equal(stored.size, expected.length, 'no event missing');
    for (const id of expected) assert.ok(stored.has(id), id);
    assert.equal(es.created.length, new Set(es.created).size, 'never created twice');
    const byId = new Map(okta.events().map((e) => [e.uuid, e]));
    for (const id of expected) {
      const doc = es.doc(ds, id) as {
        '@timestamp': string;
        id: string;
        time: string;
        raw: unknown;
        collector: string;
      };
      assert.equal(doc.id, id);
      assert.equal(doc['@timestamp'], doc.time);
      assert.equal(doc.time, new Date(byId.get(id)!.published).toISOString());
      assert.deepEqual(doc.raw, JSON.parse(JSON.stringify(byId.get(id))));
      assert.equal(doc.collector, 'okta-prod');
    }
    assert.ok(kills >= 3);
    assert.ok(es.conflicts > 0, 'the batches sent again were answered 409 and acknowledged');
  });
});
