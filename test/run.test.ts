import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

/**
 * `npm test` never hangs (issue 12: one failed cluster test left simulators listening and the run
 * hung for 20 minutes). test/run.ts bounds every test file; here it runs a file that fails and leaves a
 * server open, which without the bound would keep its process up for ever.
 */

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURE = 'test/fixtures/leaves-a-server-open.fixture.ts';
/** Each run is a process group (the runner, node --test, the file's process): killed whole. */
const groups = new Set<number>();
const killGroup = (pid: number) => {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {} // already gone
};
after(() => {
  for (const pid of groups) killGroup(pid);
});

function runTests(bound: string) {
  const child = spawn(process.execPath, [join(ROOT, 'test/run.ts'), FIXTURE], {
    cwd: ROOT,
    // NODE_TEST_CONTEXT would make the inner node --test take itself for a test file's process
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, TRIBUTARY_TEST_IDLE_TIMEOUT: bound },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  groups.add(child.pid!);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  // 'close': the output is complete, and every process of the group that held it has ended
  const exited = new Promise<number | null>((ok) => child.once('close', (code) => ok(code)));
  return { child, exited, out: () => out };
}

describe('test/run.ts (npm test)', () => {
  it('ends a file that failed and left a server listening, within its bound, naming what is open', async () => {
    const started = Date.now();
    const run = runTests('3');
    const code = await run.exited;
    const took = Date.now() - started;
    assert.notEqual(code, 0, run.out());
    assert.ok(took < 60_000, `ended after ${took} ms`);
    assert.match(run.out(), /fails on purpose/, 'the failure itself is reported');
    assert.match(
      run.out(),
      /leaves-a-server-open\.fixture\.ts: stuck for 3 s after "starts a server and fails before closing it" \(hooks, the next test, or the process exiting\) \(TRIBUTARY_TEST_IDLE_TIMEOUT\): still open: .*TCPServerWrap/,
    );
  });

  it('without the bound the same file never ends: the bound is what ends it', async () => {
    const run = runTests('0');
    const ended = await Promise.race([
      run.exited.then(() => true),
      new Promise<false>((ok) => setTimeout(() => ok(false), 8_000)),
    ]);
    assert.equal(ended, false, run.out());
    assert.match(
      run.out(),
      /✖ starts a server and fails before closing it/,
      'its test had failed: the file was only waiting on its server',
    );
    killGroup(run.child.pid!);
    await run.exited;
  });
});
