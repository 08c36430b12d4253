import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SalesforceSimulator } from '../src/sources/salesforce/simulator.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { measuredRun } from './memory.ts';

/**
 * Memory of a large Salesforce event log file: one hourly Login file of BENCH_FILE_MB (default 1024) MB of
 * CSV, rows of about 2 KB, served by the Salesforce simulator in this process and collected by
 * `bin/tributary run --once` in its own, whose peak RSS (VmHWM) is the figure (target: under 150 MB).
 */
export async function salesforceEventlog(fileMb = Number(process.env.BENCH_FILE_MB ?? 1024)) {
  const rowBytes = 2048;
  const sim = new SalesforceSimulator({ rows: 0, allowance: 100_000_000 });
  await sim.start();
  const now = Date.now();
  const id = sim.addLogFile({
    logDate: now - 5 * 3_600_000,
    created: now - 2 * 3_600_000,
    rows: Math.ceil((fileMb * 1048576) / rowBytes),
    rowBytes,
  });
  const csvBytes = sim.logFileBytes(id);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sf-mem-'));
  try {
    const config = join(dir, 'tributary.yaml');
    writeFileSync(
      config,
      [
        'accounts:',
        `  sf: { kind: salesforce, url: "${sim.url}", clientId: "${sim.clientId}", clientSecret: "${sim.clientSecret}" }`,
        'destinations:',
        '  out: { kind: file, path: ./out/events.ndjson, maxBytes: 100000000000 }',
        'collectors:',
        '  elf:',
        '    source: salesforce-eventlog',
        '    account: sf',
        '    destinations: [out]',
        '    lookback: 1d',
        '    settings: { interval: Hourly }',
      ].join('\n'),
    );
    // The source is early access: the data directory the run uses has it enabled, as an admin would.
    const store = await SqliteStore.open(join(dir, 'data'));
    await store.migrate();
    await store.setSetting('earlyAccess', 'true');
    await store.close();
    const run = await measuredRun(dir, config);
    return {
      csvMb: Math.round(csvBytes / 1048576),
      events: sim.logRowIds().length,
      nodeFlags:
        process.env.BENCH_NODE_FLAGS ??
        readFileSync(join(import.meta.dirname, '../bin/node-flags'), 'utf8').trim(),
      summary: run.out.trim(),
      peakRssMb: Math.round(run.peakKb / 1024),
      seconds: (run.ms / 1000).toFixed(1),
      outputMb: Math.round(statSync(join(dir, 'out', 'events.ndjson')).size / 1048576),
    };
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
