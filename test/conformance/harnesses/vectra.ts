import { VECTRA_KINDS, VectraSimulator } from '../../../src/sources/vectra/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Vectra's simulator for the conformance suite: the three event streams over the last hour, read by
 * checkpoint (`from`, `next_checkpoint`, `remaining_count`) through a client-credentials token.
 */
export const vectraHarness: ConformanceHarness = {
  sourceId: 'vectra',
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = Math.ceil((pages * pageSize) / 3);
    const sim = new VectraSimulator({
      clock: clock.now,
      events,
      spacingMs: Math.floor(3_300_000 / events),
      eventBytes,
      seed: 61,
    });
    await sim.start();
    let next = 0;
    return {
      account: sim.account(),
      settings: { pageSize: Math.min(pageSize, 1000) },
      streams: ['detections', 'audits', 'entity-scoring'],
      expectedIds: () => VECTRA_KINDS.flatMap((k) => sim.ids([k]).map((id) => `${k}:${id}`)),
      addEvents: (n, o = {}) => {
        for (let i = 0; i < n; i++)
          sim.addEvents(VECTRA_KINDS[next++ % 3], 1, {
            from: clock.now() - (o.agoMs ?? 0) + i * 100,
            visibleDelayMs: o.visibleDelayMs,
          });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/api\/v3\.\d+\/events\//,
      loop: (on) => sim.loopNextCheckpoints(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.expireTokens(),
      tokensIssued: () => sim.tokensIssued(),
      stop: () => sim.stop(),
    };
  },
};
