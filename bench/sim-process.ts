import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A vendor simulator in its own process (src/sim/serve.ts), so benchmarks measure only the engine. */
export async function spawnSimulator(kind: string, args: string[]) {
  const child = spawn(process.execPath, [join(import.meta.dirname, '../src/sim/serve.ts'), kind, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const queue: Array<(line: string) => void> = [];
  const ready = new Promise<Record<string, any>>((ok) => queue.push((l) => ok(JSON.parse(l))));
  lines.on('line', (l) => queue.shift()?.(l));
  const info = await ready;
  return {
    info,
    send(cmd: Record<string, unknown>): Promise<any> {
      const answer = new Promise<any>((ok) => queue.push((l) => ok(JSON.parse(l))));
      child.stdin.write(`${JSON.stringify(cmd)}\n`);
      return answer;
    },
    stop: async () => {
      child.stdin.end();
      await new Promise((ok) => child.once('exit', ok));
    },
  };
}
