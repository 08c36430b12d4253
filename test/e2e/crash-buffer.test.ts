import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { runCli } from '../support/cli-process.ts';

/**
 * A destination with a buffer (docs/destinations.md, "Buffering"), across `kill -9`: an HTTP sink that
 * is down while `tributary run` drains the Okta simulator into it and a file. The file gets every
 * event and the checkpoint reaches the end while the sink's batches wait in the buffer; a kill while
 * batches are being written to the buffer, and kills while the buffer is drained to the sink once it
 * is back, lose nothing: the sink ends with every event, repeats only of batches in flight at a kill.
 */

const PAGE = 200;
const EVENTS = 3000;
const dir = mkdtempSync(join(tmpdir(), 'tributary-crash-buffer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function until(check: () => boolean, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** An NDJSON sink: 503 while down; while up, answers each POST after `delayMs` (so a kill lands mid-drain). */
class Sink {
  up = false;
  delayMs = 150;
  readonly ids: string[] = [];
  requests = 0;
  private server?: Server;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        this.requests++;
        if (!this.up) {
          res.writeHead(503).end('down');
          return;
        }
        setTimeout(() => {
          for (const line of body.split('\n')) if (line) this.ids.push(JSON.parse(line).id as string);
          res.writeHead(200).end('ok');
        }, this.delayMs);
      });
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ingest`;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((ok) => this.server?.close(() => ok()));
  }
}

describe('kill -9 with a destination buffer', () => {
  it('loses nothing while spilling to the buffer or draining it; repeats only batches in flight', async () => {
    const sim = new OktaSimulator({
      events: EVENTS,
      spacingMs: 250,
      seed: 'buffer',
      rateLimitPerMinute: 1_000_000,
    });
    await sim.start();
    after(() => sim.stop());
    const sink = new Sink();
    await sink.start();
    after(() => sink.stop());
    const data = join(dir, 'data');
    const out = join(dir, 'out', 'events.ndjson');
    const buffers = join(data, 'buffers', 'sink');
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  okta-main: { kind: okta, url: "${sim.url}", token: "\${env:OKTA_TOKEN}", requestsPerMinute: 100000 }`,
        'destinations:',
        '  local: { kind: file, path: ./out/events.ndjson }',
        `  sink: { kind: http, url: "${sink.url}", maxAttempts: 1, timeout: 5000,`,
        '          buffer: { maxBytes: 104857600, spillAfterMs: 2000, backoffBaseMs: 20, backoffMaxMs: 100 } }',
        'collectors:',
        '  okta-prod:',
        '    source: okta',
        '    account: okta-main',
        '    destinations: [local, sink]',
        '    lookback: 2h',
        `    settings: { limit: ${PAGE} }`,
      ].join('\n'),
    );
    const env = { OKTA_TOKEN: sim.token, TRIBUTARY_DATA_DIR: data };
    const buffered = () =>
      existsSync(buffers) ? readdirSync(buffers).filter((f) => f.endsWith('.batch')) : [];
    const fileIds = () =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l).id as string)
        : [];
    let kills = 0;

    // 1. The sink is down: batches go to its buffer. Killed once some are there.
    {
      const { child, done } = runCli(['run', '--config', config, '--once'], env);
      assert.ok(
        await until(() => buffered().length >= 3 || child.exitCode !== null, 60_000),
        'batches buffered',
      );
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        kills++;
      }
      await done;
    }
    // 2. Still down: a run to the end. The file has everything and the checkpoint is at the end,
    // although the sink has nothing: the buffer owns the sink's batches.
    {
      const r = await runCli(['run', '--config', config, '--once'], env).done;
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /okta-prod: \d+ events, .*caught up/);
      assert.deepEqual(new Set(fileIds()), new Set(sim.eventIds()), 'the file destination got every event');
      assert.equal(sink.ids.length, 0);
      assert.ok(buffered().length >= EVENTS / PAGE - 1, `${buffered().length} batches buffered`);
      const idle = await runCli(['run', '--config', config, '--once'], env).done;
      assert.match(idle.out, /okta-prod: 0 events/, 'the checkpoint had moved: nothing is read again');
    }
    // 3. The sink is back: `run` (serving) drains the buffer; killed twice mid-drain.
    sink.up = true;
    for (let i = 0; i < 2; i++) {
      const before = sink.requests;
      const { child, done } = runCli(['run', '--config', config], env);
      assert.ok(
        await until(() => sink.requests >= before + 3 || child.exitCode !== null, 60_000),
        'draining',
      );
      assert.equal(child.exitCode, null, 'still draining when killed');
      child.kill('SIGKILL');
      kills++;
      await done;
    }
    assert.ok(buffered().length > 0, 'batches left to drain after the kills');
    // 4. A last start drains the rest.
    {
      const { child, done } = runCli(['run', '--config', config], env);
      assert.ok(await until(() => buffered().length === 0, 60_000), 'the buffer drained');
      child.kill('SIGTERM');
      await done;
    }
    const unique = new Set(sink.ids);
    const expected = sim.eventIds();
    assert.equal(unique.size, expected.length, 'no event missing at the sink');
    for (const id of expected) assert.ok(unique.has(id));
    const repeats = sink.ids.length - unique.size;
    assert.ok(
      repeats <= kills * PAGE,
      `${repeats} repeats from ${kills} kills: at most a batch in flight each`,
    );
    assert.ok(!readdirSync(buffers).some((f) => f.endsWith('.tmp')), 'no unfinished write left behind');
  });
});
