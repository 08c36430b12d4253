import { entryId } from '../../../src/sources/cloud-logging.ts';
import { CloudLoggingSimulator, type SimLog } from '../../../src/sources/gemini-enterprise/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';
import { googleSimControls } from './google-sim.ts';

const LOGS: SimLog[] = ['user-activity', 'data-access'];

/**
 * The Cloud Logging simulator set up for the conformance suite: Gemini Enterprise usage entries and
 * Data Access audit entries over the last hour, oldest-first pages of `pageSize`, a real service-account
 * key exchanged at the simulated token endpoint, reused insertIds at other timestamps, and a lag of 30 s
 * (a setting users have) so late entries inside it are read on the suite's next runs.
 */
export const geminiEnterpriseHarness: ConformanceHarness = {
  sourceId: 'gemini-enterprise',
  async start({ clock, pages, pageSize, eventBytes }) {
    const perLog = Math.ceil((pages * pageSize) / LOGS.length);
    const sim = new CloudLoggingSimulator({
      clock: clock.now,
      seed: 23,
      entries: {},
      eventBytes,
      rateLimitPerMinute: 1_000_000,
    });
    const now = clock.now();
    // From an hour ago to five minutes ago: every entry is older than the lag when the suite starts.
    const spacing = Math.floor((55 * 60_000) / perLog);
    for (const log of LOGS) sim.addEntries(log, perLog, { from: now - 3_600_000, spacingMs: spacing });
    await sim.start();
    return {
      ...googleSimControls(sim, /^\/v2\/entries:list/),
      settings: { projectId: sim.projectId, logs: LOGS, pageSize, lag: '30s', baseUrl: sim.url },
      expectedIds: () => LOGS.flatMap((log) => sim.entries(log).map((e) => entryId(e) ?? 'missing-id')),
      addEvents: (n, o = {}) =>
        sim.addEntries('user-activity', n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        }),
    };
  },
};
