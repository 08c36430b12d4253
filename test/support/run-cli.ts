import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const CLI = join(resolve(import.meta.dirname, '../..'), 'src/cli/main.ts');

/**
 * `tributary ARGS…` in a child process (for crash tests that kill it), its output kept; `done` settles
 * with the exit code or signal and everything it printed.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env, TRIBUTARY_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: string | null; out: string }>((ok) =>
    child.on('exit', (code, signal) => ok({ code, signal, out })),
  );
  return { child, done };
}
