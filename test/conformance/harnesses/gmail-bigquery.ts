import { rowId } from '../../../src/sources/gmail-bigquery/index.ts';
import { BigQuerySimulator } from '../../../src/sources/gmail-bigquery/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';
import { googleSimControls } from './google-sim.ts';

/**
 * The BigQuery simulator with a Gmail logs dataset over the last hour: one query job per window that
 * reports jobComplete only after a getQueryResults poll, results paged by `pageSize` with pageToken, a real
 * service-account key exchanged at the simulated token endpoint, and a lag of 30 s so rows streamed late
 * inside it are read on the suite's next runs.
 */
export const gmailBigQueryHarness: ConformanceHarness = {
  sourceId: 'gmail-bigquery',
  exemptions: {
    'empty-pages':
      'A completed BigQuery job answers its rows in pages; an answer without rows and without a pageToken is the end of a window that holds nothing, which a simulated empty answer cannot be told from (truncated and reset answers are still checked).',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new BigQuerySimulator({ clock: clock.now, seed: 37, eventBytes });
    const n = pages * pageSize;
    const now = clock.now();
    sim.addRows(n, { from: now - 3_600_000, spacingMs: Math.floor((55 * 60_000) / n) });
    await sim.start();
    return {
      ...googleSimControls(sim, /^\/bigquery\/v2\/projects\/[^/]+\/queries/),
      settings: {
        projectId: sim.projectId,
        pageSize,
        lag: '30s',
        maximumBytesBilled: 1024 ** 4,
        baseUrl: sim.url,
      },
      expectedIds: () => sim.records().map(rowId),
      addEvents: (k, o = {}) =>
        sim.addRows(k, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        }),
    };
  },
};
