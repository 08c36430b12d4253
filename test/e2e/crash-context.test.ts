import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OktaDirectorySimulator } from '../../src/sources/okta-context/simulator.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli, waitFor } from '../support/cli-process.ts';

/**
 * Process-level crash test of a context refresh (docs/architecture.md, "Context records"): `kill -9` of
 * `tributary run --once` while `okta-context` reads its first full refresh, repeated, then a final run.
 * The refresh is never marked complete early (no end-of-snapshot marker before every record of its
 * stream was written), the runs after a kill finish the same refresh (one snapshot id), and the file
 * destination's current-state files hold exactly the directory.
 */

const dir = mkdtempSync(join(tmpdir(), 'tributary-crash-context-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('kill -9 during a context refresh', () => {
  it('is never marked complete early; the next run finishes the same refresh', async () => {
    const sim = new OktaDirectorySimulator({ users: 5000, groups: 2, rateLimitPerMinute: 1_000_000 });
    await sim.start();
    after(() => sim.stop());
    const out = join(dir, 'out', 'context.ndjson');
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  okta-main: { kind: okta, url: "${sim.url}", token: "\${env:OKTA_TOKEN}", requestsPerMinute: 1000000 }`,
        'destinations:',
        '  local: { kind: file, path: ./out/context.ndjson, currentState: true }',
        'collectors:',
        '  okta-ctx:',
        '    source: okta-context',
        '    account: okta-main',
        '    destinations: [local]',
      ].join('\n'),
    );
    const env = { OKTA_TOKEN: sim.token, TRIBUTARY_DATA_DIR: join(dir, 'data') };
    // the source is early access: an admin turned it on (PUT /api/settings {earlyAccess: true})
    const store = await SqliteStore.open(join(dir, 'data'));
    await store.migrate();
    await store.setSetting('earlyAccess', 'true');
    await store.close();
    const size = () => (existsSync(out) ? statSync(out).size : 0);

    let kills = 0;
    for (let i = 0; i < 6; i++) {
      const target = size() + 300_000 + Math.floor(Math.random() * 1_200_000);
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
        break; // finished before it could be killed
      }
    }
    assert.ok(kills >= 2, `killed ${kills} times`);
    const final = await runCli(['run', '--config', config, '--once'], env).done;
    assert.equal(final.code, 0, final.out);

    const lines = readFileSync(out, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a complete line');
    const envelopes = lines.map((l) => JSON.parse(l));
    const expected: Record<string, string[]> = {
      users: sim.userIds(),
      groups: sim.groupIds(),
      'group-members': sim.membershipIds(),
    };
    for (const [stream, ids] of Object.entries(expected)) {
      const own = envelopes.filter((e) => e.stream === stream);
      const markers = own.filter((e) => e.op === 'end');
      assert.equal(markers.length, 1, `${stream}: one end-of-snapshot marker`);
      const at = own.indexOf(markers[0]);
      const before = new Set(own.slice(0, at).map((e) => e.id));
      for (const id of ids) assert.ok(before.has(id), `${stream}: ${id} delivered before the marker`);
      assert.deepEqual(
        [...new Set(own.filter((e) => e.op !== 'end').map((e) => e.snapshot))],
        [markers[0].snapshot],
        `${stream}: every record of the one refresh, resumed after each kill`,
      );
      const state = readFileSync(join(`${out}.state`, 'okta-ctx', `${stream}.ndjson`), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).id)
        .sort();
      assert.deepEqual(state, [...ids].sort(), `${stream}: the current state is the directory`);
    }
  });
});
