import { VisionOneSimulator } from '../../../src/sources/trend-vision-one/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Trend Vision One's simulator for the conformance suite: workbench alerts, OAT detections and audit logs over
 * the last hour (whole seconds apart: the API's precision), newest first, `nextLink` pages of at most 200.
 */
export const visionOneHarness: ConformanceHarness = {
  sourceId: 'trend-vision-one',
  exemptions: {
    'token-refresh':
      'A Trend Vision One API key is static (it lasts until the expiry chosen at creation): there is no access token to renew; a refused key is a config error naming the fix.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const perPage = Math.min(pageSize, 200);
    const records = pages * pageSize;
    const sim = new VisionOneSimulator({
      clock: clock.now,
      records,
      // Whole seconds apart, within the hour before the lag (records sharing a second would be identical).
      spacingMs: Math.max(1000, Math.floor(3_300_000 / records / 1000) * 1000),
      eventBytes,
      seed: 43,
    });
    await sim.start();
    return {
      account: { url: sim.url, apiKey: sim.apiKey },
      settings: { pageSize: perPage },
      expectedIds: () => [
        ...sim.expectedIds('workbench'),
        ...sim.expectedIds('oat'),
        ...sim.expectedIds('audit'),
      ],
      addEvents: (n, o = {}) => {
        const from = clock.now() - (o.agoMs ?? 0);
        const third = Math.ceil(n / 3);
        for (const list of ['workbench', 'oat', 'audit'] as const)
          sim.addRecords(list, third, { from, spacingMs: 1000, visibleDelayMs: o.visibleDelayMs });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v3\.0\/(workbench\/alerts|oat\/detections|audit\/logs)$/,
      loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
