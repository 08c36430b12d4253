import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSimulator } from './sim-process.ts';

/**
 * Memory: a ChatGPT log file of BENCH_FILE_MB (default 1024) MB is collected by `tributary run --once`
 * in its own process; its peak RSS is the kernel's high-water mark (VmHWM) of that process.
 */
export async function memory(fileMb = Number(process.env.BENCH_FILE_MB ?? 1024)) {
  const sim = await spawnSimulator('chatgpt-enterprise', [
    '--files-per-type',
    '0',
    '--rate-limit',
    '100000000',
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-mem-'));
  try {
    const file = await sim.send({
      cmd: 'addFile',
      eventType: 'AUDIT_LOG',
      endTime: Date.now() - 60_000,
      huge: { bytes: fileMb * 1048576 },
    });
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  oa: { kind: openai, apiKey: "${sim.info.apiKey}" }`,
        'destinations:',
        '  out: { kind: file, path: ./out/events.ndjson, maxBytes: 100000000000 }',
        'collectors:',
        '  chatgpt:',
        '    source: chatgpt-enterprise',
        '    account: oa',
        '    destinations: [out]',
        '    lookback: 1h',
        `    settings: { workspaceId: "${sim.info.workspaceId}", eventTypes: [AUDIT_LOG], baseUrl: "${sim.info.baseUrl}" }`,
      ].join('\n'),
    );
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
        join(import.meta.dirname, '../src/cli/main.ts'),
        'run',
        '--config',
        config,
        '--once',
        '--data-dir',
        join(dir, 'data'),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    let peakKb = 0;
    const sample = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmHWM:\s+(\d+) kB/.exec(status);
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    }, 50);
    const code = await new Promise<number | null>((ok) => child.once('exit', ok));
    clearInterval(sample);
    const ms = performance.now() - started;
    if (code !== 0) throw new Error(`run failed (${code}): ${out}`);
    const outBytes = statSync(join(dir, 'out', 'events.ndjson')).size;
    return {
      fileMb,
      events: file.eventCount ?? null,
      summary: out.trim(),
      peakRssMb: Math.round(peakKb / 1024),
      seconds: (ms / 1000).toFixed(1),
      outputMb: Math.round(outBytes / 1048576),
    };
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
