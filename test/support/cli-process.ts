import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const CLI = join(resolve(import.meta.dirname, '../..'), 'src/cli/main.ts');

/** `tributary ARGS` as a child process (warn-level logs), its output collected, and when it exits. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], {
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

/** Polls `check` (each turn of the event loop) until it holds or `deadlineMs` passed. */
export async function waitFor(check: () => boolean, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setImmediate(r));
  }
  return false;
}
