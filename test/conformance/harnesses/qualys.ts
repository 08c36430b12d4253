import { QualysSimulator } from '../../../src/sources/qualys/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Qualys's simulator for the conformance suite: hosts (two detections each) and activity entries over the last
 * hour; detections as XML answers truncated at `truncation_limit` with a WARNING's next URL, the activity log as
 * CSV answers truncated at the same size with a footer WARNING's next URL.
 */
export const qualysHarness: ConformanceHarness = {
  sourceId: 'qualys',
  exemptions: {
    'token-refresh':
      'Qualys API calls carry Basic credentials on every request: there is no access token to expire or renew.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const total = pages * pageSize;
    // Two detections a host: a third of the events are activity entries, the rest detections.
    const records = Math.ceil(total / 3);
    const perAnswer = Math.max(1, Math.floor(pageSize / 2));
    const sim = new QualysSimulator({
      activityPageSize: perAnswer,
      clock: clock.now,
      records,
      spacingMs: Math.max(1000, Math.floor(3_300_000 / records / 1000) * 1000),
      eventBytes,
      seed: 91,
    });
    await sim.start();
    let next = 0;
    return {
      account: sim.account(),
      settings: { truncationLimit: perAnswer },
      expectedIds: () => [...sim.expectedIds('detections'), ...sim.expectedIds('activity')],
      addEvents: (n, o = {}) => {
        for (let i = 0; i < n; i++) {
          const from = clock.now() - (o.agoMs ?? 0) + i * 1000;
          if (next++ % 3 === 0) sim.addActivity(1, { from, visibleDelayMs: o.visibleDelayMs });
          else sim.addHosts(1, { from, visibleDelayMs: o.visibleDelayMs });
        }
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/api\/2\.0\/fo\/(asset\/host\/vm\/detection|activity_log)\/$/,
      loop: (on) => sim.loopWarnings(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
