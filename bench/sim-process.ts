import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/**
 * A vendor simulator in its own process (src/app/simulators.ts), so benchmarks measure only the engine.
 * BENCH_SIM_FLAGS passes Node flags to it (e.g. `--cpu-prof`).
 */
export async function spawnSimulator(kind: string, args: string[]) {
  const flags = (process.env.BENCH_SIM_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...flags, join(import.meta.dirname, '../src/app/simulators.ts'), kind, ...args],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const queue: Array<(line: string) => void> = [];
  const ready = new Promise<Record<string, any>>((ok) => queue.push((l) => ok(JSON.parse(l))));
  lines.on('line', (l) => queue.shift()?.(l));
  const info = await ready;
  return {
    info,
    /** CPU seconds the simulator process has used so far. */
    cpu: () => cpuSeconds(child.pid),
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
