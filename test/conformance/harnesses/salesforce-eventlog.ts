import { SalesforceSimulator } from '../../../src/sources/salesforce/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Salesforce's simulator with Event Monitoring log files for the conformance suite: `pages` hourly Login
 * files of `pageSize` CSV rows, generated over the last hour (each a few hours after the hour it covers,
 * as Salesforce does), listed by CreatedDate and each streamed as CSV. Late events are a file generated
 * later than the events it holds.
 */
export const salesforceEventlogHarness: ConformanceHarness = {
  sourceId: 'salesforce-eventlog',
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new SalesforceSimulator({ clock: clock.now, rows: 0, allowance: 10_000_000, seed: 73 });
    await sim.start();
    const now = clock.now();
    const step = Math.floor(3_000_000 / Math.max(1, pages));
    for (let i = 0; i < pages; i++) {
      const created = now - 3_300_000 + i * step;
      sim.addLogFile({ logDate: created - 4 * 3_600_000, created, rows: pageSize, rowBytes: eventBytes });
    }
    return {
      account: { url: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
      settings: {},
      expectedIds: () => sim.logRowIds(),
      addEvents: (n, o = {}) => {
        const created = clock.now() - (o.agoMs ?? 0) + (o.visibleDelayMs ?? 0);
        sim.addLogFile({ logDate: created - 4 * 3_600_000, created, rows: n });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/services\/data\/v[\d.]+\/(query|sobjects\/EventLogFile\/)/,
      loop: (on) => sim.loopNextPages(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.expireTokens(),
      tokensIssued: () => sim.tokensIssued(),
      stop: () => sim.stop(),
    };
  },
};
