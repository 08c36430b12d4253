import { SplunkSimulator } from '../../../src/sources/splunk/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Splunk's simulator for the conformance suite: events indexed over the last hour, read by one export
 * search per index-time window (45 minutes: the suite's two-hour lookback is three windows, the last two holding the data), delivered in batches of `pageSize`
 * results; a crash resumes inside the window by the results already delivered.
 */
export const splunkHarness: ConformanceHarness = {
  sourceId: 'splunk',
  exemptions: {
    'empty-pages':
      'an export is the whole result of one window: an empty answer is a window without results, which cannot be told from an answer emptied by a fault',
    'loop-guard':
      'the export endpoint has no pages or cursors: each window is one request, so there is nothing for the vendor to repeat',
    'token-refresh':
      'the splunk account sends a static authentication token (or Basic credentials) with every request: there is no access token to expire or renew',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new SplunkSimulator({
      clock: clock.now,
      events,
      spacingMs: Math.max(1000, Math.floor(3_000_000 / events / 1000) * 1000),
      eventBytes,
      maxConcurrent: 100,
      seed: 79,
    });
    await sim.start();
    return {
      account: { url: sim.url, token: sim.token },
      settings: { search: 'index=main', batchSize: pageSize, lag: '1m', maxWindow: '45m' },
      expectedIds: () => sim.ids(),
      addEvents: (n, o = {}) => {
        const now = clock.now();
        sim.add(
          Array.from({ length: n }, (_, i) => {
            const t = now - (o.agoMs ?? 0) + i * 100;
            return [t, Math.max(t + (o.visibleDelayMs ?? 0), now)] as [number, number];
          }),
        );
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/services\/search\/v2\/jobs\/export/,
      loop: () => {},
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
