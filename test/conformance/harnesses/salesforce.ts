import { SalesforceSimulator } from '../../../src/sources/salesforce/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Salesforce's simulator for the conformance suite: LoginHistory and SetupAuditTrail rows over the last
 * hour, whole seconds apart (SOQL date-time precision), read in batches of `pageSize` (the simulator
 * returns fewer than the 200 the source asks, as Salesforce may) through `nextRecordsUrl`, with a client
 * credentials token so every 401 exercises its renewal.
 */
export const salesforceHarness: ConformanceHarness = {
  sourceId: 'salesforce',
  async start({ clock, pages, pageSize, eventBytes }) {
    const rows = Math.ceil((pages * pageSize) / 2);
    const sim = new SalesforceSimulator({
      clock: clock.now,
      rows,
      spacingMs: Math.max(1000, Math.floor(3_300_000 / rows / 1000) * 1000),
      maxBatch: pageSize,
      eventBytes,
      allowance: 10_000_000,
      seed: 71,
    });
    await sim.start();
    let next = 0;
    return {
      account: { url: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret },
      settings: {},
      streams: ['LoginHistory', 'SetupAuditTrail'],
      expectedIds: () => [...sim.ids('LoginHistory'), ...sim.ids('SetupAuditTrail')],
      addEvents: (n, o = {}) => {
        for (let i = 0; i < n; i++) {
          const t = clock.now() - (o.agoMs ?? 0) + i * 1000;
          const vis = Math.max(t + (o.visibleDelayMs ?? 0), clock.now());
          sim.addRows(next++ % 2 ? 'SetupAuditTrail' : 'LoginHistory', [[t, vis]]);
        }
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/services\/data\/v[\d.]+\/query/,
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
