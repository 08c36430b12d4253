import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { runCli, waitFor } from '../support/cli-process.ts';

/**
 * Process-level crash test (issue: the spine): `kill -9` of `tributary run --once` at random points,
 * repeated, then a final run. Zero events may be missing, the file holds no torn line, and duplicates
 * come only from the batch in flight at each kill.
 */

const dir = mkdtempSync(join(tmpdir(), 'tributary-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('kill -9 of tributary run', () => {
  it('loses nothing across repeated crashes; duplicates only from batches in flight', async () => {
    const PAGE = 200;
    const sim = new OktaSimulator({
      events: 12_000,
      spacingMs: 250,
      seed: 'crash',
      rateLimitPerMinute: 1_000_000,
    });
    await sim.start();
    after(() => sim.stop());
    const out = join(dir, 'out', 'events.ndjson');
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  okta-main: { kind: okta, url: "${sim.url}", token: "\${env:OKTA_TOKEN}", requestsPerMinute: 100000 }`,
        'destinations:',
        '  local: { kind: file, path: ./out/events.ndjson }',
        'collectors:',
        '  okta-prod:',
        '    source: okta',
        '    account: okta-main',
        '    destinations: [local]',
        '    lookback: 2h',
        `    settings: { limit: ${PAGE} }`,
      ].join('\n'),
    );
    const env = { OKTA_TOKEN: sim.token, TRIBUTARY_DATA_DIR: join(dir, 'data') };
    const size = () => (existsSync(out) ? statSync(out).size : 0);

    let kills = 0;
    for (let i = 0; i < 8; i++) {
      const target = size() + 400_000 + Math.floor(Math.random() * 1_500_000);
      const { child, done } = runCli(['run', '--config', config, '--once'], env);
      const reached = await waitFor(() => size() >= target || child.exitCode !== null, 60_000);
      assert.ok(reached, 'the run made progress');
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        kills++;
      }
      const r = await done;
      if (r.signal !== 'SIGKILL') {
        assert.equal(r.code, 0, r.out);
        break; // finished before we could kill it
      }
    }
    assert.ok(kills >= 3, `killed ${kills} times`);

    const final = await runCli(['run', '--config', config, '--once'], env).done;
    assert.equal(final.code, 0, final.out);
    assert.match(final.out, /okta-prod: \d+ events, \d+ pages, .* caught up/);

    const lines = readFileSync(out, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a complete line');
    const ids = lines.map((l) => JSON.parse(l).id as string); // every line parses: no torn writes
    const expected = sim.eventIds();
    const unique = new Set(ids);
    assert.equal(unique.size, expected.length, 'no event missing');
    for (const id of expected) assert.ok(unique.has(id));
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const dups = [...counts.values()].filter((n) => n > 1).length;
    assert.ok(
      dups <= kills * PAGE,
      `${dups} duplicates from ${kills} kills of at most one ${PAGE}-event batch each`,
    );
    const extra = ids.length - unique.size;
    assert.ok(extra <= kills * PAGE, `${extra} repeated lines: at most one ${PAGE}-event batch per kill`);

    // a run after catching up delivers nothing new and still exits 0
    const idle = await runCli(['run', '--config', config, '--once'], env).done;
    assert.equal(idle.code, 0, idle.out);
    assert.match(idle.out, /okta-prod: 0 events/);
  });
});
