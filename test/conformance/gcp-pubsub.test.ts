import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../src/sim/kit.ts';
import { PubSubSimulator } from '../../src/sources/gcp-pubsub/simulator.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli } from '../support/cli-process.ts';
import { until } from '../support/consumer.ts';
import { duplicates, sorted } from '../support/ids.ts';

/**
 * Conformance of `gcp-pubsub` (a long-running stream on the stream consumer, not the pull-source harness:
 * it has no pages or windows) at the process level, against the Pub/Sub simulator over HTTP with a real
 * service-account key: `tributary run` (no --once: the consumer keeps running) is killed with SIGKILL
 * while a batch is being delivered to an HTTP destination, after that batch's lease was extended
 * (modifyAckDeadline, sent as soon as the batch is pulled). Nothing of that batch is acknowledged; it stays
 * leased until the deadline that extension set (past the subscription's own) and no earlier, then Pub/Sub
 * redelivers it, and a restarted process delivers every message, acknowledging each only after the
 * destination answered.
 */

const dir = mkdtempSync(join(tmpdir(), 'tributary-pubsub-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An NDJSON sink that answers the first `answer` POSTs and holds the rest without answering. */
class Sink {
  answer = Number.POSITIVE_INFINITY;
  readonly ids: string[] = [];
  posts = 0;
  held = 0;
  url = '';
  private server?: Server;
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (++this.posts > this.answer) {
          this.held++;
          return; // delivery in flight, never acknowledged
        }
        for (const line of body.split('\n')) if (line) this.ids.push(JSON.parse(line).id as string);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ingest`;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((ok) => this.server?.close(() => ok()) ?? ok());
  }
}

describe('conformance: gcp-pubsub (Pub/Sub simulator over HTTP, kill -9 during delivery)', () => {
  it('acknowledges nothing before delivery; the batch in flight comes back after its extended ack deadline, nothing lost', async () => {
    const clock = new ManualClock(Date.now());
    const sim = new PubSubSimulator({ clock: clock.now, ackDeadlineSeconds: 30 });
    await sim.start();
    after(() => sim.stop());
    const sink = new Sink();
    await sink.start();
    after(() => sink.stop());
    const early: string[] = [];
    sim.onAcknowledge = (ids) => early.push(...ids.filter((id) => !sink.ids.includes(id)));
    const expected = sim.publishLogEntries(25);
    const key = join(dir, 'key.json');
    writeFileSync(key, sim.tokens.keyJson(), { mode: 0o600 });
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  gcp: { kind: google, serviceAccountKey: "\${file:${key}}", tokenUrl: "${sim.tokens.tokenUrl}", requestsPerMinute: 100000 }`,
        'destinations:',
        `  sink: { kind: http, url: "${sink.url}", maxAttempts: 1, timeout: 120000 }`,
        'collectors:',
        '  audit:',
        '    source: gcp-pubsub',
        '    account: gcp',
        '    destinations: [sink]',
        `    settings: { subscription: "${sim.subscription}", baseUrl: "${sim.url}", maxMessages: 10 }`,
      ].join('\n'),
    );
    const data = join(dir, 'data');
    // the source is early access: an admin turned it on
    const store = await SqliteStore.open(data);
    await store.migrate();
    await store.setSetting('earlyAccess', 'true');
    await store.close();
    const env = { TRIBUTARY_DATA_DIR: data };

    // The first batch is delivered and acknowledged; the second is in flight, its lease extended, when the
    // process dies.
    sink.answer = 1;
    const first = runCli(['run', '--config', config], env);
    await Promise.race([
      until('the second delivery, leased', () => sink.held === 1 && sim.modifies.length === 2, 30_000),
      first.done,
    ]);
    assert.equal(first.child.exitCode, null, `the run reached the second delivery: ${sink.posts}`);
    first.child.kill('SIGKILL');
    assert.equal((await first.done).signal, 'SIGKILL');
    assert.equal(sink.ids.length, 10, 'the first batch was delivered');
    assert.deepEqual(sorted(sim.acks.flat().map((a) => a.split('-')[0])), sorted(sink.ids));
    assert.equal(sim.pending(), 15, 'the batch in flight was not acknowledged');
    assert.deepEqual(
      sim.modifies.map((m) => [m.seconds, m.at, m.ackIds.length]),
      [
        [60, clock.now(), 10],
        [60, clock.now(), 10],
      ],
      'each batch leased for ackDeadlineSeconds (60 s) as soon as it was pulled',
    );
    const inFlight = expected.filter((id) => !sink.ids.includes(id) && sim.deliveries().get(id) === 1);
    assert.equal(inFlight.length, 10);
    const leaseEnd = sim.leaseEnd(inFlight);
    assert.equal(leaseEnd, clock.now() + 60_000, "the extension's deadline, past the subscription's 30 s");

    // A restarted process gets the messages nobody holds, but not the killed one's before their deadline.
    sink.answer = Number.POSITIVE_INFINITY;
    const next = runCli(['run', '--config', config], env);
    await Promise.race([until('the unleased messages', () => sim.pending() === 10, 30_000), next.done]);
    clock.advance(leaseEnd - 1 - clock.now());
    const pulls = () => sim.requests().filter((r) => r.path.endsWith(':pull')).length;
    const seen = pulls();
    await Promise.race([
      until('two more pulls before the deadline', () => pulls() >= seen + 2, 30_000),
      next.done,
    ]);
    assert.deepEqual(
      inFlight.map((id) => sim.deliveries().get(id)),
      inFlight.map(() => 1),
      'not redelivered before the extended deadline',
    );
    // Pub/Sub redelivers the killed process's messages once that deadline passes.
    clock.advance(2);
    await Promise.race([until('the subscription drained', () => sim.pending() === 0, 30_000), next.done]);
    next.child.kill('SIGTERM');
    await next.done;
    assert.deepEqual(sorted(sink.ids), sorted(expected), 'every message delivered');
    assert.deepEqual(duplicates(sink.ids), [], 'the destination never acknowledged the batch in flight');
    assert.deepEqual(early, [], 'no message acknowledged before the destination acknowledged it');
    assert.deepEqual(
      inFlight.map((id) => sim.deliveries().get(id)),
      inFlight.map(() => 2),
      'the batch in flight was delivered again by Pub/Sub',
    );
    const writes = new Set(sim.writeCalls().map((r) => r.path.split(':').pop()));
    assert.deepEqual(
      [...writes].sort(),
      ['acknowledge', 'modifyAckDeadline', 'pull'],
      'only the declared vendor writes',
    );
  });
});
