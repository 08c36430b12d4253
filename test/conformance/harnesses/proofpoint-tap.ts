import { ProofpointTapSimulator } from '../../../src/sources/proofpoint-tap/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/** Proofpoint TAP's simulator for the conformance suite: events of the four kinds over the last hour. */
export const proofpointTapHarness: ConformanceHarness = {
  sourceId: 'proofpoint-tap',
  exemptions: {
    'token-refresh':
      'TAP authenticates every request with the service principal and its secret (HTTP Basic): there is no access token to expire and refresh.',
    'loop-guard': 'The SIEM API has no pages: every window is one request, so there is no cursor to repeat.',
    'empty-pages':
      'The SIEM API has no pages and answers 204 when a window holds no events: an empty answer for a window with events is indistinguishable from a true one.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new ProofpointTapSimulator({
      clock: clock.now,
      events,
      spacingMs: Math.floor(3_300_000 / events),
      eventBytes,
      dailyLimit: 1_000_000,
      seed: 29,
    });
    await sim.start();
    return {
      account: { principal: sim.principal, secret: sim.secret, url: sim.url },
      settings: {},
      expectedIds: () => sim.eventIds(),
      addEvents: (n, o = {}) => {
        sim.addEvents(n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v2\/siem\//,
      loop: () => {},
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
