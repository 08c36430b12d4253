import { hashId } from '../../../src/core/envelope.ts';
import { MerakiSimulator } from '../../../src/sources/cisco-meraki/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/** Meraki's simulator for the conformance suite: Change Log entries, security events and network events over the last hour. */
export const ciscoMerakiHarness: ConformanceHarness = {
  sourceId: 'cisco-meraki',
  exemptions: {
    'token-refresh':
      'A Meraki Dashboard API key is a static credential: there is no access token to expire and refresh.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = Math.ceil((pages * pageSize) / 2);
    const sim = new MerakiSimulator({
      clock: clock.now,
      events,
      spacingMs: Math.floor(3_300_000 / events),
      eventBytes,
      rateLimitPerSecond: 1_000_000,
      seed: 37,
    });
    await sim.start();
    return {
      account: { apiKey: sim.apiKey, url: sim.url },
      settings: { organizationId: sim.organizationId, perPage: Math.max(3, Math.ceil(pageSize / 2)) },
      expectedIds: () =>
        [...sim.records('changes'), ...sim.records('security'), ...sim.records('network')].map((r) =>
          hashId(r),
        ),
      addEvents: (n, o = {}) => {
        const from = clock.now() - (o.agoMs ?? 0);
        const spaced = { from, spacingMs: 50, visibleDelayMs: o.visibleDelayMs };
        sim.addEvents('changes', Math.ceil(n / 3), spaced);
        sim.addEvents('security', Math.ceil(n / 3), spaced);
        sim.addEvents('network', n - 2 * Math.ceil(n / 3), spaced);
      },
      inject: (f) => sim.inject(f),
      pagePath: /\/(configurationChanges|security\/events|networks\/[^/]+\/events)$/,
      loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
