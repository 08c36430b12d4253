import { OktaSimulator } from '../../../src/sources/okta/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/** Okta's simulator set up for the conformance suite: events over the last hour, Link-header pages. */
export const oktaHarness: ConformanceHarness = {
  sourceId: 'okta',
  exemptions: {
    'token-refresh':
      "Okta's SSWS API token is a static credential: there is no access token to expire and refresh.",
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new OktaSimulator({
      clock: clock.now,
      events,
      spacingMs: Math.floor(3_600_000 / events),
      eventBytes,
      rateLimitPerMinute: 100_000,
      seed: 7,
    });
    await sim.start();
    return {
      account: { url: sim.url, token: sim.token },
      settings: { limit: pageSize },
      expectedIds: () => sim.eventIds(),
      addEvents: (n, o = {}) => {
        sim.addEvents(n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/api\/v1\/logs/,
      loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
