import { type Application, eventIds } from '../../../src/sources/google-workspace/index.ts';
import { GoogleWorkspaceSimulator } from '../../../src/sources/google-workspace/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

const APPS: Application[] = ['login', 'drive'];

/**
 * The Reports API simulator set up for the conformance suite: login and drive activity over the last
 * hour (drive activities hold several events, so the per-event split is exercised), newest-first pages
 * of `pageSize` activities, a real service-account key exchanged at the simulated token endpoint with
 * domain-wide delegation to the simulated super administrator. The lag is set to 30 s per application
 * (as a user can) so late events inside it are read on the next runs of the suite's clock.
 */
export const googleWorkspaceHarness: ConformanceHarness = {
  sourceId: 'google-workspace',
  async start({ clock, pages, pageSize, eventBytes }) {
    const perApp = Math.ceil((pages * pageSize) / APPS.length);
    const sim = new GoogleWorkspaceSimulator({
      clock: clock.now,
      seed: 17,
      activities: {},
      eventBytes,
      rateLimitPerMinute: 1_000_000,
    });
    const now = clock.now();
    // From an hour ago to five minutes ago: every activity is older than the lag when the suite starts.
    const spacing = Math.floor((55 * 60_000) / perApp);
    for (const app of APPS) sim.addActivities(app, perApp, { from: now - 3_600_000, spacingMs: spacing });
    await sim.start();
    return {
      account: {
        serviceAccountKey: sim.tokens.keyJson(),
        subject: sim.admin,
        tokenUrl: sim.tokens.tokenUrl,
      },
      settings: { applications: APPS, pageSize, lag: { login: '30s', drive: '30s' }, baseUrl: sim.url },
      expectedIds: () => APPS.flatMap((app) => sim.activities(app).flatMap((a) => eventIds(app, a) ?? [])),
      addEvents: (n, o = {}) =>
        sim.addActivities('login', n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        }),
      inject: (f) => sim.inject(f),
      pagePath: /^\/admin\/reports\/v1\/activity\//,
      loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.tokens.expireTokens(),
      tokensIssued: () => sim.tokens.tokenRequestCount,
      stop: () => sim.stop(),
    };
  },
};
