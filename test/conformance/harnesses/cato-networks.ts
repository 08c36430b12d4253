import { hashId } from '../../../src/core/envelope.ts';
import { CatoSimulator } from '../../../src/sources/cato-networks/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/** Cato's simulator for the conformance suite: an events queue read by marker, and audit records by time. */
export const catoHarness: ConformanceHarness = {
  sourceId: 'cato-networks',
  exemptions: {
    'token-refresh': 'A Cato API key is a static credential: there is no access token to expire and refresh.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new CatoSimulator({
      clock: clock.now,
      events,
      audits: Math.max(20, Math.floor(events / 4)),
      spacingMs: Math.floor(3_300_000 / events),
      batchSize: pageSize,
      auditPageSize: pageSize,
      eventBytes,
      seed: 41,
    });
    await sim.start();
    return {
      account: { apiKey: sim.apiKey, url: sim.url },
      settings: { accountId: sim.accountId },
      expectedIds: () => [...sim.records('events'), ...sim.records('audit')].map((r) => hashId(r)),
      addEvents: (n, o = {}) => {
        const from = clock.now() - (o.agoMs ?? 0);
        sim.addEvents(Math.ceil(n / 2), { from, spacingMs: 1000, visibleDelayMs: o.visibleDelayMs });
        sim.addAudits(Math.floor(n / 2), { from, spacingMs: 1000, visibleDelayMs: o.visibleDelayMs });
      },
      inject: (f) => sim.inject(f),
      pagePath: /\/graphql2$/,
      loop: (on) => sim.loopNextMarkers(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
