import { type SentinelOneList, SentinelOneSimulator } from '../../../src/sources/sentinelone/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * SentinelOne's simulator for the conformance suite, once per source: one list (activities, threats or
 * alerts) over the last hour in cursor pages of `pageSize` (at most 1000), read with a static API token.
 */
function harness(sourceId: string, list: SentinelOneList): ConformanceHarness {
  return {
    sourceId,
    exemptions: {
      'token-refresh':
        'A SentinelOne API token is static (it lasts until its expiry date, six months for user tokens): there is no access token to renew; a refused token is a config error naming the fix.',
    },
    async start({ clock, pages, pageSize, eventBytes }) {
      const records = pages * pageSize;
      const sim = new SentinelOneSimulator({
        clock: clock.now,
        records,
        spacingMs: Math.max(1, Math.floor(3_300_000 / records)),
        eventBytes,
        seed: 31,
      });
      await sim.start();
      return {
        account: { url: sim.url, token: sim.token },
        settings: { pageSize: Math.min(pageSize, 1000) },
        expectedIds: () => sim.expectedIds(list),
        addEvents: (n, o = {}) => {
          sim.addRecords(list, n, {
            from: clock.now() - (o.agoMs ?? 0),
            spacingMs: 50,
            visibleDelayMs: o.visibleDelayMs,
          });
        },
        inject: (f) => sim.inject(f),
        pagePath: /^\/web\/api\/v2\.1\/(activities|threats|cloud-detection\/alerts)$/,
        loop: (on) => sim.loopNextCursors(on ? 1000 : 0),
        writeCalls: () => sim.writeCalls(),
        credentialLeaks: () => [],
        requestCount: () => sim.requests().length,
        stop: () => sim.stop(),
      };
    },
  };
}

export const sentinelOneHarness = harness('sentinelone', 'activities');
export const sentinelOneThreatsHarness = harness('sentinelone-threats', 'threats');
export const sentinelOneAlertsHarness = harness('sentinelone-alerts', 'alerts');
