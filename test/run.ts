/**
 * `npm test`: node --test over every test file (or the files and options given:
 * `npm test -- test/e2e/cli.test.ts`), two files at a time, each test bounded by --test-timeout and
 * the rest of each file's life by test/support/file-timeout.ts (TRIBUTARY_TEST_IDLE_TIMEOUT), so a
 * failure fails the run instead of hanging it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const files = args.some((a) => !a.startsWith('-')) ? [] : ['src/**/*.test.ts', 'test/**/*.test.ts'];
const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-timeout=120000',
    '--import',
    pathToFileURL(join(import.meta.dirname, 'support/file-timeout.ts')).href,
    ...args,
    ...files,
  ],
  { stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
