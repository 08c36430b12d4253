import { ZoomSimulator } from '../../../src/sources/zoom/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Zoom's simulator set up for the conformance suite: sign in / sign out and operation log records over
 * the last hour (one UTC day), newest first, pages of at most 300 (Zoom's maximum), read through a
 * Server-to-Server OAuth token so every 401 exercises its renewal. Records are whole seconds apart, so
 * no two are identical; only operation logs are padded to `eventBytes` (their `operation_detail` is free
 * text), the bulk of the huge-pages check.
 */
export const zoomHarness: ConformanceHarness = {
  sourceId: 'zoom',
  async start({ clock, pages, pageSize, eventBytes }) {
    const perPage = Math.min(pageSize, 300);
    const events = pages * pageSize; // the data the suite asked for, in pages of at most 300
    const sim = new ZoomSimulator({
      clock: clock.now,
      activities: events,
      operations: events,
      spacingMs: Math.max(1000, Math.floor(3_600_000 / events / 1000) * 1000),
      eventBytes,
      heavyPerSecond: 1_000_000,
      heavyPerDay: 1_000_000,
      seed: 29,
    });
    await sim.start();
    return {
      account: sim.account(),
      settings: { pageSize: perPage },
      expectedIds: () => [...sim.eventIds('activities'), ...sim.eventIds('operationlogs')],
      addEvents: (n, o = {}) => {
        // Whole seconds apart (Zoom's precision): records 50 ms apart would share seconds and could repeat.
        sim.addEvents('activities', n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 1000,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v2\/report\//,
      loop: (on) => sim.loopNextTokens(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.revokeTokens(),
      tokensIssued: () => sim.requests().filter((r) => r.path === '/oauth/token').length,
      stop: () => sim.stop(),
    };
  },
};
