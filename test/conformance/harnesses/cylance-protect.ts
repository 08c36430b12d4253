import { type CylanceList, CylanceSimulator } from '../../../src/sources/cylance-protect/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Cylance PROTECT's simulator for the conformance suite: threats, detections and devices over the last hour,
 * whole seconds apart, pages of at most 200 (`page`/`page_size`), behind a self-signed HS256 auth token.
 */
export const cylanceProtectHarness: ConformanceHarness = {
  sourceId: 'cylance-protect',
  async start({ clock, pages, pageSize, eventBytes }) {
    const records = Math.ceil((pages * pageSize) / 3);
    const sim = new CylanceSimulator({
      clock: clock.now,
      records,
      spacingMs: Math.max(1000, Math.floor(3_300_000 / records / 1000) * 1000),
      eventBytes,
      seed: 111,
    });
    await sim.start();
    const lists: CylanceList[] = ['threats', 'detections', 'devices'];
    let next = 0;
    return {
      account: sim.account(),
      settings: { pageSize: Math.min(pageSize, 200) },
      expectedIds: () => lists.flatMap((l) => sim.expectedIds(l)),
      addEvents: (n, o = {}) => {
        for (let i = 0; i < n; i++)
          sim.addRecords(lists[next++ % 3], 1, {
            from: clock.now() - (o.agoMs ?? 0) + i * 1000,
            visibleDelayMs: o.visibleDelayMs,
          });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/(threats|detections|devices)\/v2$/,
      loop: (on) => sim.loopPagesNext(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.expireTokens(),
      tokensIssued: () => sim.tokensIssued(),
      stop: () => sim.stop(),
    };
  },
};
