import { NetskopeSimulator } from '../../../src/sources/netskope-events/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/** A Netskope simulator holding two iterators' data for the conformance suite. */
export function netskopeHarness(
  sourceId: 'netskope-events' | 'netskope-alerts',
  streams: [string, string],
): ConformanceHarness {
  const family = sourceId === 'netskope-events' ? 'events' : 'alerts';
  const endpoints = streams.map((s) => `${family}/${s}`);
  return {
    sourceId,
    exemptions: {
      'token-refresh':
        'A Netskope REST API v2 token is a static credential: there is no access token to expire and refresh.',
    },
    async start({ clock, pages, pageSize, eventBytes }) {
      const records = Math.ceil((pages * pageSize) / 2);
      const sim = new NetskopeSimulator({
        clock: clock.now,
        records,
        endpoints,
        spacingMs: Math.floor(3_300_000 / records),
        pageSize: Math.ceil(pageSize / 2),
        eventBytes,
        seed: sourceId,
      });
      await sim.start();
      return {
        account: { url: sim.url, token: sim.token },
        settings: { types: streams },
        streams,
        expectedIds: () => endpoints.flatMap((e) => sim.records(e).map((r) => String(r._id))),
        addEvents: (n, o = {}) => {
          const from = clock.now() - (o.agoMs ?? 0);
          sim.addRecords(endpoints[0], Math.ceil(n / 2), {
            from,
            spacingMs: 50,
            visibleDelayMs: o.visibleDelayMs,
          });
          sim.addRecords(endpoints[1], Math.floor(n / 2), {
            from,
            spacingMs: 50,
            visibleDelayMs: o.visibleDelayMs,
          });
        },
        inject: (f) => sim.inject(f),
        pagePath: /\/dataexport\//,
        loop: (on) => sim.loopNextPages(on ? 1000 : 0),
        writeCalls: () => sim.writeCalls(),
        credentialLeaks: () => [],
        requestCount: () => sim.requests().length,
        stop: () => sim.stop(),
      };
    },
  };
}

export const netskopeEventsHarness = netskopeHarness('netskope-events', ['audit', 'application']);
