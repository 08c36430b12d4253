import { RecordedFutureSimulator } from '../../../src/sources/recorded-future-context/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * One stream of the `recorded-future` source over the last hour: its records spread over the hour, pages of
 * `pageSize` (capped at the stream's largest page).
 */
function harness(o: {
  label?: string;
  stream: string;
  add: (sim: RecordedFutureSimulator, times: number[]) => void;
  ids: (sim: RecordedFutureSimulator) => string[];
  settings: (pageSize: number) => Record<string, unknown>;
  pagePath: RegExp;
}): ConformanceHarness {
  return {
    sourceId: 'recorded-future',
    label: o.label,
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
      o.add(
        sim,
        Array.from({ length: n }, (_, i) => clock.now() - 3_300_000 + Math.floor((i * 3_000_000) / n)),
      );
      return {
        account: { token: sim.token, url: sim.url },
        settings: o.settings(pageSize),
        streams: [o.stream],
        expectedIds: () => o.ids(sim),
        addEvents: (k, a = {}) => {
          o.add(
            sim,
            Array.from({ length: k }, (_, i) => clock.now() - (a.agoMs ?? 0) + i * 50),
          );
        },
        inject: (f) => sim.inject(f),
        pagePath: o.pagePath,
        loop: () => {},
        writeCalls: () => sim.writeCalls(),
        credentialLeaks: () => [],
        requestCount: () => sim.requests.all().length,
        stop: () => sim.stop(),
      };
    },
  };
}

/** Recorded Future alerts, offset pages of at most 100. */
export const recordedFutureHarness = harness({
  stream: 'alerts',
  add: (sim, times) => sim.addAlerts(times),
  ids: (sim) => sim.alertIds(),
  settings: (pageSize) => ({ limit: Math.min(pageSize, 100) }),
  pagePath: /^\/v3\/alerts$/,
});

/** Recorded Future playbook alerts by update, search pages of at most 1000, each page looked up whole. */
export const recordedFuturePlaybookHarness = harness({
  label: 'playbook alerts',
  stream: 'playbook-alerts',
  add: (sim, times) => sim.addPlaybookAlerts(times),
  ids: (sim) => sim.playbookIds(),
  settings: (pageSize) => ({ playbookPageSize: Math.min(pageSize, 1000) }),
  pagePath: /^\/playbook-alert\/search$/,
});
