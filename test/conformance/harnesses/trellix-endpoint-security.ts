import { TrellixSimulator } from '../../../src/sources/trellix-endpoint-security/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Trellix's simulator for the conformance suite: threat events over the last hour, oldest first, pages of
 * `pageSize` linked by the Link header's `next`, read with IAM client-credentials tokens the suite expires.
 */
export const trellixHarness: ConformanceHarness = {
  sourceId: 'trellix-endpoint-security',
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new TrellixSimulator({
      clock: clock.now,
      events,
      spacingMs: Math.max(1, Math.floor(3_300_000 / events)),
      eventBytes,
      pageSize,
      seed: 47,
    });
    await sim.start();
    return {
      account: sim.account(),
      settings: {},
      expectedIds: () => sim.expectedIds(),
      addEvents: (n, o = {}) => {
        sim.addEvents(n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/eventservice\/api\/v2\/events$/,
      loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.revokeTokens(),
      tokensIssued: () => sim.tokensIssued(),
      stop: () => sim.stop(),
    };
  },
};
