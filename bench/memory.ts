import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peakRss } from './rss.ts';
import { spawnSimulator } from './sim-process.ts';

const LAUNCHER = join(import.meta.dirname, '../bin/tributary');

/**
 * Memory: a ChatGPT log file of BENCH_FILE_MB (default 1024) MB is collected by `bin/tributary run
 * --once` (the launcher users run, with its V8 flags and compile cache) in its own process; its peak
 * RSS is the kernel's high-water mark (VmHWM) of that process. A first `tributary sources` fills the
 * compile cache, as any earlier start would have.
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
    const run = await measuredRun(dir, config);
    const outBytes = statSync(join(dir, 'out', 'events.ndjson')).size;
    return {
      fileMb,
      nodeFlags:
        process.env.BENCH_NODE_FLAGS ??
        readFileSync(join(import.meta.dirname, '../bin/node-flags'), 'utf8').trim(),
      events: file.eventCount ?? null,
      summary: run.out.trim(),
      peakRssMb: Math.round(run.peakKb / 1024),
      seconds: (run.ms / 1000).toFixed(1),
      outputMb: Math.round(outBytes / 1048576),
    };
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `bin/tributary run --config <config> --once` in its own process, with the compile cache warmed,
 * sampling the kernel's high-water mark of its resident memory (VmHWM) until it exits.
 */
export async function measuredRun(
  dir: string,
  config: string,
): Promise<{ peakKb: number; ms: number; out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: join(dir, 'compile-cache') };
  if (process.env.BENCH_NODE_FLAGS !== undefined) env.TRIBUTARY_NODE_FLAGS = process.env.BENCH_NODE_FLAGS;
  const warm = spawnSync(LAUNCHER, ['sources'], { env, stdio: 'ignore' });
  if (warm.status !== 0) throw new Error(`tributary sources failed (${warm.status})`);
  const started = performance.now();
  const child = spawn(LAUNCHER, ['run', '--config', config, '--once', '--data-dir', join(dir, 'data')], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const rss = peakRss(child.pid, started);
  const code = await new Promise<number | null>((ok) => child.once('exit', ok));
  const peakMb = rss.stop();
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`run failed (${code}): ${out}`);
  return { peakKb: peakMb * 1024, ms, out };
}
