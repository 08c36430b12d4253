import { CrowdStrikeSimulator } from '../../../src/sources/crowdstrike/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * CrowdStrike's simulator for the conformance suite: alerts updated over the last hour, listed by id in
 * pages of `pageSize` (offsets), each page's alerts fetched in one entities call, read through OAuth2
 * tokens that the suite expires.
 */
export const crowdstrikeHarness: ConformanceHarness = {
  sourceId: 'crowdstrike',
  exemptions: {
    'loop-guard':
      'Offset pages: the next request is the offset read so far plus the ids on the page, computed by Tributary, never a cursor handed out by CrowdStrike, so the vendor cannot make it repeat.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const alerts = pages * pageSize;
    const sim = new CrowdStrikeSimulator({
      clock: clock.now,
      alerts,
      spacingMs: Math.max(1, Math.floor(3_300_000 / alerts)),
      eventBytes,
      seed: 23,
    });
    await sim.start();
    return {
      account: sim.account(),
      settings: { pageSize: Math.min(pageSize, 1000) },
      expectedIds: () => sim.expectedIds(),
      addEvents: (n, o = {}) => {
        sim.addAlerts(n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/alerts\/queries\/alerts\/v2$/,
      loop: () => {},
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.revokeTokens(),
      tokensIssued: () => sim.tokensIssued(),
      stop: () => sim.stop(),
    };
  },
};
