import { PodSimulator } from '../../../src/sources/proofpoint-on-demand/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Proofpoint on Demand's WebSocket simulator for the conformance suite: both log types over the last 45
 * minutes (inside the hour the Log API replays), sessions dropped every `pageSize` records so that runs
 * reconnect from their position, and the kit's faults applied to the handshakes. "Caught up" is a quiet
 * stream (`idleMs`): 600 ms, so that a loaded test machine's pauses are not taken for it.
 */
export const podHarness: ConformanceHarness = {
  sourceId: 'proofpoint-on-demand',
  exemptions: {
    'token-refresh':
      'The PoD Log API key is a static credential sent on the WebSocket upgrade: there is no access token to expire and refresh.',
    'late-events':
      'A stream delivers records as they happen and replays by record time from the last delivered one: there is no late indexing to wait for, and a record older than the position sent later is not replayed.',
    'loop-guard': 'A WebSocket stream has no pages or cursors to repeat.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const records = Math.ceil((pages * pageSize) / 2);
    const sim = new PodSimulator({
      clock: clock.now,
      records,
      spacingMs: Math.floor(2_700_000 / records),
      eventBytes,
      seed: 47,
    });
    await sim.start();
    sim.dropAfter(pageSize);
    return {
      account: { apiKey: sim.apiKey, url: sim.url },
      settings: { clusterId: sim.clusterId, batchSize: pageSize, idleMs: 600 },
      expectedIds: () => sim.ids(),
      addEvents: (n, o = {}) => {
        const from = clock.now() - (o.agoMs ?? 0);
        sim.publish('message', Math.ceil(n / 2), { from, spacingMs: 50, visibleDelayMs: o.visibleDelayMs });
        sim.publish('maillog', Math.floor(n / 2), { from, spacingMs: 50, visibleDelayMs: o.visibleDelayMs });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v1\/stream$/,
      loop: () => {},
      writeCalls: () => [],
      credentialLeaks: () =>
        sim.handshakes.filter((h) => h.authorization && h.authorization !== `Bearer ${sim.apiKey}`),
      requestCount: () => sim.handshakes.length,
      stop: () => sim.stop(),
    };
  },
};
