import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanPage } from '../src/engine/json-page.ts';
import { parseJson } from '../src/engine/json-stream.ts';
import { fetchPages, oktaPages } from './throughput.ts';

/**
 * `npm run bench -- parse-floor`: what the throughput benchmark's bare limit is made of, beside the part of
 * it the engine cannot do without, on the same Okta pages (200,000 events of ≈1.4 KB, pages of 1,000,
 * fetched once from the simulator in another process, then timed in this process, best of three):
 * - `bare`: the throughput benchmark's bare loop (JSON.parse, JSON.stringify of each record, one write a page);
 * - `parse`: JSON.parse of each page alone;
 * - `parseKeep`: `parseJson` (engine/json-stream.ts), the engine's reading of a page: JSON.parse and the
 *   scan that finds each record's exact text, which the envelopes carry instead of serialising it again;
 * - `floor`: `parseKeep` plus writing each page's bytes once: a lower bound of an engine run that parses
 *   these pages, with no HTTP, envelope, id, checkpoint, fsync or garbage of its own;
 * - `scan`: `scanPage` (engine/json-page.ts) of each page's bytes, what a stream declared with `shape`
 *   does instead of `parseKeep`: checked as JSON and UTF-8, records and their id and time found;
 * - `scanFloor`: `scan` plus writing each page's bytes once.
 * `ceiling` is `bare / floor` and `scanCeiling` `bare / scanFloor`: the share of the bare limit an engine
 * would reach if all else cost nothing.
 */
export async function parseFloor(events = Number(process.env.BENCH_EVENTS ?? 200_000)) {
  const sim = await oktaPages(events);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-parse-floor-'));
  let stopped = false;
  try {
    const pages = await fetchPages(sim, 1000);
    await sim.stop(); // nothing else runs while the loops are timed
    stopped = true;
    for (const page of pages) JSON.parse(page); // flattens each page in place, before any timing
    const bytes = pages.map((page) => Buffer.from(page));
    let sink = 0;
    const file = join(dir, 'out.ndjson');
    const loops: Record<string, () => void> = {
      bare: () => {
        const fd = openSync(file, 'w');
        for (const page of pages) {
          const records = JSON.parse(page) as Array<{ uuid: string }>;
          const lines = records.map((r) => JSON.stringify({ id: r.uuid, raw: r }));
          writeSync(fd, `${lines.join('\n')}\n`);
        }
        closeSync(fd);
      },
      parse: () => {
        for (const page of pages) sink += (JSON.parse(page) as unknown[]).length;
      },
      parseKeep: () => {
        for (const page of pages) sink += (parseJson(page) as unknown[]).length;
      },
      floor: () => {
        const fd = openSync(file, 'w');
        for (const page of pages) {
          sink += (parseJson(page) as unknown[]).length;
          writeSync(fd, page);
        }
        closeSync(fd);
      },
      scan: () => {
        for (const page of bytes) sink += scanPage(page, '', ['uuid', 'published'])!.records.length;
      },
      scanFloor: () => {
        const fd = openSync(file, 'w');
        for (const page of bytes) {
          sink += scanPage(page, '', ['uuid', 'published'])!.records.length;
          writeSync(fd, page);
        }
        closeSync(fd);
      },
    };
    const best: Record<string, { ms: number; cpuSec: number }> = {};
    for (let round = 0; round < 3; round++) {
      for (const [name, loop] of Object.entries(loops)) {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        loop();
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const b = best[name];
        best[name] = {
          ms: Math.min(b?.ms ?? Number.POSITIVE_INFINITY, Math.round(ms)),
          cpuSec: Math.min(b?.cpuSec ?? Number.POSITIVE_INFINITY, (cpu.user + cpu.system) / 1e6),
        };
      }
    }
    if (sink === 0) throw new Error('no records parsed');
    const share = (a: string, b: string) => `${Math.round((best[a]!.ms / best[b]!.ms) * 100)}%`;
    return {
      events,
      pages: pages.length,
      ms: Object.fromEntries(Object.entries(best).map(([k, v]) => [k, v.ms])),
      cpuSec: Object.fromEntries(Object.entries(best).map(([k, v]) => [k, v.cpuSec.toFixed(2)])),
      // parse alone, and the engine's floor, as shares of the bare loop's time
      parseShareOfBare: share('parse', 'bare'),
      floorShareOfBare: share('floor', 'bare'),
      ceiling: share('bare', 'floor'),
      scanCeiling: share('bare', 'scanFloor'),
    };
  } finally {
    if (!stopped) await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
