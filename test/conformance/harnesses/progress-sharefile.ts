import { ShareFileSimulator } from '../../../src/sources/progress-sharefile/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Progress ShareFile's simulator for the conformance suite: runs of a recurring Activity report over the
 * last hour (a page is one run's data), read through a password-grant token that the suite expires.
 */
export const progressShareFileHarness: ConformanceHarness = {
  sourceId: 'progress-sharefile',
  exemptions: {
    'loop-guard':
      "ShareFile lists a report's runs in one answer and each run's data in one answer: there is no next-page cursor to repeat",
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new ShareFileSimulator({
      clock: clock.now,
      runs: pages,
      rowsPerRun: pageSize,
      runSpacingMs: Math.floor(3_000_000 / pages),
      eventBytes,
      seed: 91,
    });
    await sim.start();
    return {
      account: sim.account(),
      settings: { reportId: sim.reportId },
      streams: ['activity'],
      expectedIds: () => sim.ids(),
      addEvents: (n, o = {}) => {
        sim.addRun(n, { end: clock.now() - (o.agoMs ?? 0), finishDelayMs: o.visibleDelayMs ?? 0 });
      },
      inject: (f) => sim.inject(f),
      // The run list and each run's data (a page each).
      pagePath: /\/(Records|GetJsonData)$/,
      loop: () => {},
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.expireTokens(),
      tokensIssued: () => sim.tokensIssued(),
      stop: () => sim.stop(),
    };
  },
};
