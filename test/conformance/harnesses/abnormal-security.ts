import { AbnormalSimulator } from '../../../src/sources/abnormal-security/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Abnormal's simulator for the conformance suite: threat campaigns (every other one with a second message a
 * second later) and cases over the last hour, both listed in pages of `pageSize`, each fetched in detail.
 */
export const abnormalHarness: ConformanceHarness = {
  sourceId: 'abnormal-security',
  exemptions: {
    'token-refresh':
      'The Abnormal REST API token is a static credential: there is no access token to expire and refresh.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const threats = pages * pageSize;
    const sim = new AbnormalSimulator({
      clock: clock.now,
      threats,
      cases: Math.max(10, Math.floor(threats / 4)),
      // Spread over the hour before the lag; times are whole seconds, so big runs share seconds.
      spacingMs: Math.floor(3_300_000 / threats),
      eventBytes,
      seed: 19,
    });
    await sim.start();
    return {
      account: { url: sim.url, token: sim.token },
      settings: { pageSize },
      expectedIds: () => sim.expectedIds(),
      addEvents: (n, o = {}) => {
        const from = clock.now() - (o.agoMs ?? 0);
        sim.addThreats(Math.ceil(n / 2), { from, spacingMs: 1000, visibleDelayMs: o.visibleDelayMs });
        sim.addCases(Math.floor(n / 2), { from, spacingMs: 1000, visibleDelayMs: o.visibleDelayMs });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v1\/(threats|cases)$/,
      loop: (on) => sim.loopNextPages(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
