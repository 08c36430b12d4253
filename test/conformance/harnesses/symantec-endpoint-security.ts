import { SesSimulator } from '../../../src/sources/symantec-endpoint-security/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Symantec Endpoint Security's simulator for the conformance suite: one event stream channel over the last
 * hour, read by `next` (opaque, with the last event of a full answer sent again) through a client-credentials
 * token that the suite expires.
 */
export const symantecEndpointSecurityHarness: ConformanceHarness = {
  sourceId: 'symantec-endpoint-security',
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new SesSimulator({
      clock: clock.now,
      events,
      spacingMs: Math.floor(3_300_000 / events),
      eventBytes,
      batch: pageSize,
      seed: 81,
    });
    await sim.start();
    return {
      account: sim.account(),
      settings: sim.settings(),
      streams: ['events'],
      expectedIds: () => sim.ids(),
      addEvents: (n, o = {}) =>
        sim.addEvents(n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 100,
          visibleDelayMs: o.visibleDelayMs,
        }),
      inject: (f) => sim.inject(f),
      pagePath: /^\/v1\/event-export\/stream\//,
      loop: (on) => sim.loopNext(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.expireTokens(),
      tokensIssued: () => sim.tokensIssued(),
      stop: () => sim.stop(),
    };
  },
};
