import { RecordedFutureSimulator } from '../../../src/sources/recorded-future-context/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/** Recorded Future alerts over the last hour, offset pages of `pageSize` (at most 100). */
export const recordedFutureHarness: ConformanceHarness = {
  sourceId: 'recorded-future',
  exemptions: {
    'token-refresh':
      'The X-RFToken API token is a static credential: there is no access token to expire and renew.',
    'loop-guard':
      'Offset pagination: the next request is computed from the offset and the count returned, never handed out by the vendor, so no vendor cursor can repeat.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new RecordedFutureSimulator({ rows: 0, eventBytes });
    await sim.start();
    const n = pages * pageSize;
    sim.addAlerts(
      Array.from({ length: n }, (_, i) => clock.now() - 3_300_000 + Math.floor((i * 3_000_000) / n)),
    );
    return {
      account: { token: sim.token, url: sim.url },
      settings: { limit: Math.min(pageSize, 100) },
      expectedIds: () => sim.alertIds(),
      addEvents: (k, o = {}) => {
        sim.addAlerts(Array.from({ length: k }, (_, i) => clock.now() - (o.agoMs ?? 0) + i * 50));
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v3\/alerts$/,
      loop: () => {},
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests.all().length,
      stop: () => sim.stop(),
    };
  },
};
