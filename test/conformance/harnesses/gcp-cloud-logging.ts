import { entryId } from '../../../src/sources/cloud-logging.ts';
import { type GcpLog, GcpLoggingSimulator } from '../../../src/sources/gcp-cloud-logging/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';
import { googleSimControls } from './google-sim.ts';

const ORG = 'organizations/123456789012';

/**
 * The Cloud Logging simulator with Google Cloud audit logs and syslog of a project and an organization's
 * own audit logs, read together in one query: oldest-first pages of `pageSize`, a real service-account key
 * exchanged at the simulated token endpoint, reused insertIds at other timestamps (syslog), and a lag of
 * 30 s so late entries inside it are read on the suite's next runs.
 */
export const gcpCloudLoggingHarness: ConformanceHarness = {
  sourceId: 'gcp-cloud-logging',
  async start({ clock, pages, pageSize, eventBytes }) {
    const logs: Array<[GcpLog, string | undefined]> = [
      ['activity', undefined],
      ['syslog', undefined],
      ['activity', ORG],
    ];
    const per = Math.ceil((pages * pageSize) / logs.length);
    const sim = new GcpLoggingSimulator({
      clock: clock.now,
      seed: 29,
      entries: {},
      eventBytes,
      parents: ['projects/acme-prod', ORG],
      rateLimitPerMinute: 1_000_000,
    });
    const now = clock.now();
    const spacing = Math.floor((55 * 60_000) / per);
    for (const [log, parent] of logs)
      sim.addEntries(log, per, { from: now - 3_600_000, spacingMs: spacing, parent });
    await sim.start();
    return {
      ...googleSimControls(sim, /^\/v2\/entries:list/),
      settings: {
        resourceNames: ['projects/acme-prod', ORG],
        logNames: ['cloudaudit.googleapis.com/activity', 'syslog'],
        pageSize,
        lag: '30s',
        baseUrl: sim.url,
      },
      expectedIds: () => sim.entries().map((e) => entryId(e) ?? 'missing-id'),
      addEvents: (n, o = {}) =>
        sim.addEntries('activity', n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        }),
    };
  },
};
