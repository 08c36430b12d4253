import { afterEach, beforeEach } from 'node:test';

/**
 * Bounds every test file, so that a failure fails `npm test` instead of hanging it. node --test's
 * `--test-timeout` bounds each test, not the rest of a file's life: its hooks, and its process, which
 * stays up as long as a server, simulator, socket or child process a failed test left open. test/run.ts
 * preloads this (`--import`) into every test file's process, where it allows
 *
 * - TRIBUTARY_TEST_IDLE_TIMEOUT seconds (default 120) outside tests: loading the file and running its
 *   hooks before the first test, between two tests, and after the last one until the process exits;
 * - the test timeout plus that much for each test;
 *
 * and past that says what is still open and exits 1. A long file is fine as long as its tests move on.
 */
const idle = Number(process.env.TRIBUTARY_TEST_IDLE_TIMEOUT ?? 120);

// Only in a test file's own process (node --test marks it), never in the runner's.
if (process.env.NODE_TEST_CONTEXT && Number.isFinite(idle) && idle > 0) {
  const file = process.argv[1] ?? 'a test file';
  const testTimeoutMs = Number(
    process.execArgv.findLast((a) => a.startsWith('--test-timeout='))?.split('=')[1] ?? 0,
  );
  let timer: NodeJS.Timeout | undefined;
  const arm = (seconds: number, during: string) => {
    clearTimeout(timer);
    if (!Number.isFinite(seconds)) return;
    timer = setTimeout(() => stuck(seconds, during), seconds * 1000);
    timer.unref(); // never what keeps the file running
  };
  const stuck = (seconds: number, during: string) => {
    const open = new Map<string, number>();
    for (const r of process.getActiveResourcesInfo())
      if (r !== 'TTYWrap' && r !== 'PipeWrap') open.set(r, (open.get(r) ?? 0) + 1);
    const what = [...open].map(([r, n]) => `${n} ${r}`).join(', ') || 'nothing but pending work';
    process.stderr.write(
      `\n✖ ${file}: stuck for ${seconds} s ${during} (TRIBUTARY_TEST_IDLE_TIMEOUT): still open: ${what}. ` +
        'A test that starts a server, simulator or process must stop it in after() or t.after(), so that ' +
        'it is stopped when the test fails too.\n',
    );
    process.exit(1);
  };
  arm(idle, 'loading the file and running its first hooks');
  beforeEach((t) => arm(testTimeoutMs > 0 ? testTimeoutMs / 1000 + idle : Infinity, `in "${t.name}"`));
  afterEach((t) => arm(idle, `after "${t.name}" (hooks, the next test, or the process exiting)`));
}
