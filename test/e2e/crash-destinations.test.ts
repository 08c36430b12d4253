import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { AZURITE_ACCOUNT, AZURITE_KEY, Azurite } from '../../src/destinations/azure-blob/azurite.ts';
import { S3Gate } from '../../src/destinations/s3/s3-gate.ts';
import { Rsyslog } from '../../src/destinations/syslog/rsyslog.ts';
import { FaultProxy } from '../../src/sim/fault-proxy.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli } from '../support/cli-process.ts';

/**
 * The Okta simulator drained by `tributary run --once` into each destination with a real server
 * (s3rver behind a SigV4 gate, Azurite, the machine's nats-server, rsyslogd), with the run killed
 * (-9) several times mid-stream: every event arrives, at most the batch in flight is repeated (an
 * object store overwrites the same object names, JetStream drops the repeated Nats-Msg-Id), and for
 * the object stores a target that stores a batch and then fails does not see the checkpoint move.
 */

const PAGE = 200;
const EVENTS = 2400;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean>, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

interface Target {
  /** The destination's config-file entry (YAML flow mapping). */
  destination: string;
  /** Ids delivered so far, with repeats. */
  delivered(): Promise<string[]>;
  /** Object stores: switch "store, then fail" on or off, and count the writes the store kept. */
  failAfterStore?(on: boolean): void;
  stored?(): number;
}

/** Drains the simulator with kill -9s; returns the ids delivered and the number of kills. */
async function drain(name: string, target: Target): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `tributary-crash-${name}-`));
  dirs.push(dir);
  const sim = new OktaSimulator({
    events: EVENTS,
    spacingMs: 250,
    seed: `crash-${name}`,
    rateLimitPerMinute: 1_000_000,
  });
  await sim.start();
  try {
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  okta-main: { kind: okta, url: "${sim.url}", token: "\${env:OKTA_TOKEN}", requestsPerMinute: 100000 }`,
        'destinations:',
        `  out: ${target.destination}`,
        'collectors:',
        '  okta-prod: { source: okta, account: okta-main, destinations: [out], lookback: 2h, settings: { limit: 200 } }',
      ].join('\n'),
    );
    const env = { OKTA_TOKEN: sim.token, TRIBUTARY_DATA_DIR: join(dir, 'data') };

    let kills = 0;
    if (target.failAfterStore) {
      // The store keeps each object it receives, then answers 500: no checkpoint may be committed.
      target.failAfterStore(true);
      const { child, done } = runCli(['run', '--config', config, '--once'], env);
      assert.ok(await until(async () => target.stored!() >= 2, 60_000), 'the failing target kept the batch');
      const store = await SqliteStore.open(join(dir, 'data'));
      const collector = await store.getCollector('okta-prod');
      assert.ok(collector, 'the run applied the config');
      const checkpoint = async () => (await store.getCheckpoint(collector.id, 'logs'))?.value;
      assert.equal(await checkpoint(), undefined, 'nothing acknowledged, nothing committed');
      const more = target.stored!();
      assert.ok(await until(async () => target.stored!() > more, 30_000), 'the runner retried the batch');
      assert.equal(await checkpoint(), undefined, 'the checkpoint stays behind the acknowledgement');
      child.kill('SIGKILL');
      await done;
      kills++;
      target.failAfterStore(false);
      await store.close();
    }

    // Each page answered a little late, so that a fast target (s3rver, Azurite) cannot take the
    // whole drain in before the kill: the kills must land mid-drain, not after it.
    sim.inject({ kind: 'delay', ms: 150, path: '/api/v1/logs', times: 1_000 });
    // Each kill lands after 2 to 4 more pages were served (counted at the simulator, in this process:
    // counting what the target holds is too slow to catch a fast drain before it ends).
    const pages = () => sim.requests().filter((r) => r.path === '/api/v1/logs').length;
    for (let i = 0; i < 4; i++) {
      const goal = pages() + 2 + Math.floor(Math.random() * 3);
      const { child, done } = runCli(['run', '--config', config, '--once'], env);
      assert.ok(await until(async () => pages() >= goal || child.exitCode !== null, 60_000), 'progress');
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

    const final = await runCli(['run', '--config', config, '--once'], env).done;
    assert.equal(final.code, 0, final.out);
    assert.match(final.out, /okta-prod: \d+ events, \d+ pages, .* caught up/);

    const ids = await target.delivered();
    const unique = new Set(ids);
    const expected = sim.eventIds();
    assert.equal(unique.size, expected.length, 'no event missing');
    for (const id of expected) assert.ok(unique.has(id), `missing ${id}`);
    const extra = ids.length - unique.size;
    assert.ok(
      extra <= kills * PAGE,
      `${extra} repeated events: at most one ${PAGE}-event batch per kill (${kills})`,
    );
  } finally {
    await sim.stop();
  }
}

describe('kill -9 of tributary run, draining into object stores, JetStream and syslog', () => {
  it('s3 (s3rver behind the SigV4 gate)', async () => {
    const gate = new S3Gate({ buckets: ['crash-test'] });
    await gate.start();
    try {
      const reader = new S3Client({ region: 'us-east-1', forcePathStyle: true, ...gate.direct });
      await drain('s3', {
        destination: `{ kind: s3, bucket: crash-test, endpoint: "${gate.url}", accessKeyId: ${gate.accessKeyId}, secretAccessKey: "${gate.secretAccessKey}" }`,
        async delivered() {
          const ids: string[] = [];
          let token: string | undefined;
          do {
            const page = await reader.send(
              new ListObjectsV2Command({ Bucket: 'crash-test', ContinuationToken: token }),
            );
            for (const o of page.Contents ?? []) {
              const body = await reader.send(new GetObjectCommand({ Bucket: 'crash-test', Key: o.Key }));
              let text: string;
              try {
                text = gunzipSync(Buffer.from(await body.Body!.transformToByteArray())).toString();
              } catch {
                // s3rver lets a reader see an object while it is still being written (S3 never does):
                // not there yet; the next poll reads it whole (a re-sent batch rewrites the same key).
                continue;
              }
              for (const line of text.split('\n').filter(Boolean)) ids.push(JSON.parse(line).id);
            }
            token = page.NextContinuationToken;
          } while (token);
          return ids;
        },
        failAfterStore: (on) => gate.failAfterStore(on ? 1_000_000 : 0),
        stored: () => gate.stats.puts,
      });
      reader.destroy();
    } finally {
      await gate.stop();
    }
  });

  it('azure-blob (Azurite)', async () => {
    const azurite = new Azurite();
    await azurite.start();
    const proxy = new FaultProxy(`http://${new URL(azurite.endpoint).host}`);
    await proxy.start();
    try {
      const service = new BlobServiceClient(
        azurite.endpoint,
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      );
      const container = service.getContainerClient('crash-test');
      await container.create();
      await drain('azure', {
        destination: `{ kind: azure-blob, endpoint: "${proxy.url}/${AZURITE_ACCOUNT}", container: crash-test, accountKey: "${AZURITE_KEY}" }`,
        async delivered() {
          const ids: string[] = [];
          for await (const b of container.listBlobsFlat()) {
            const text = gunzipSync(await container.getBlobClient(b.name).downloadToBuffer()).toString();
            for (const line of text.split('\n').filter(Boolean)) ids.push(JSON.parse(line).id);
          }
          return ids;
        },
        failAfterStore: (on) => proxy.failAfterForward(on ? 1_000_000 : 0),
        stored: () => proxy.stats.forwarded,
      });
    } finally {
      await proxy.stop();
      await azurite.stop();
    }
  });

  it('nats (the machine’s nats-server with JetStream)', async () => {
    const server = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
    const run = Math.random().toString(36).slice(2, 8);
    const nc = await connect({ servers: server });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `CRASH_${run}`, subjects: [`crash${run}.>`] });
    try {
      await drain('nats', {
        destination: `{ kind: nats, servers: ["${server}"], subject: "crash${run}.{source}" }`,
        async delivered() {
          const info = await jsm.streams.info(`CRASH_${run}`);
          const ids: string[] = [];
          for (let seq = 1; seq <= info.state.last_seq; seq++) {
            const m = await jsm.streams.getMessage(`CRASH_${run}`, { seq });
            if (m) ids.push(m.header.get('Nats-Msg-Id'));
          }
          return ids;
        },
      });
    } finally {
      await jsm.streams.delete(`CRASH_${run}`).catch(() => {});
      await nc.close();
    }
  });

  it('syslog over TCP (rsyslogd)', async () => {
    const rsyslog = new Rsyslog();
    await rsyslog.start({ protocol: 'tcp' });
    try {
      await drain('syslog', {
        destination: `{ kind: syslog, host: 127.0.0.1, port: ${rsyslog.port}, protocol: tcp }`,
        delivered: async () => rsyslog.messages().map((l) => JSON.parse(l).id as string),
      });
    } finally {
      await rsyslog.stop();
      rsyslog.cleanup();
    }
  });
});
