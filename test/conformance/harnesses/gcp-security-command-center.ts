import { SccSimulator } from '../../../src/sources/gcp-security-command-center/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';
import { googleSimControls } from './google-sim.ts';

/**
 * The Security Command Center simulator with findings over the last hour (event times spread evenly), a
 * real service-account key exchanged at the simulated token endpoint, and a lag of 30 s so late findings
 * inside it are read on the suite's next runs.
 */
export const gcpSecurityCommandCenterHarness: ConformanceHarness = {
  sourceId: 'gcp-security-command-center',
  exemptions: {
    'empty-pages':
      'SCC documents no empty page that carries a nextPageToken: an answer without results and without a token is the last page of a window that holds nothing, which a simulated empty answer cannot be told from (truncated and reset answers are still checked).',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new SccSimulator({ clock: clock.now, seed: 31, eventBytes });
    const n = pages * pageSize;
    const now = clock.now();
    sim.addFindings(n, { from: now - 3_600_000, spacingMs: Math.floor((55 * 60_000) / n) });
    await sim.start();
    return {
      ...googleSimControls(sim, /\/findings$/),
      settings: { organizationId: sim.organization, pageSize, lag: '30s', baseUrl: sim.url },
      expectedIds: () => sim.ids(),
      addEvents: (k, o = {}) =>
        sim.addFindings(k, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        }),
    };
  },
};
