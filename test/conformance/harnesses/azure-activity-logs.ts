import { stableUuid } from '../../../src/sim/kit.ts';
import { ACTIVITY_PATH, ActivityLogSimulator } from '../../../src/sources/azure-activity-logs/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

const SUBS = [stableUuid(3, 101), stableUuid(3, 202)];

/**
 * The Activity Log simulator for the conformance suite: two subscriptions sharing the events, which lie
 * between an hour and 21 minutes before now (the source reads 20 minutes behind now, as Activity Log events
 * take up to 20 minutes to appear); ARM's read throttling lifted. Events added "near now" are placed just
 * behind that horizon, where a late-indexed Activity Log event lands.
 */
export const activityLogsHarness: ConformanceHarness = {
  sourceId: 'azure-activity-logs',
  async start({ clock, pages, pageSize, eventBytes }) {
    const total = pages * pageSize;
    const half = Math.ceil(total / 2);
    const span = 39 * 60_000;
    const sim = new ActivityLogSimulator({
      clock: clock.now,
      seed: 41,
      subscriptions: { [SUBS[0]]: 0, [SUBS[1]]: 0 },
      pageSize,
      eventBytes,
      throttle: { size: 1_000_000, perSecond: 1_000_000 },
    });
    const from = clock.now() - 60 * 60_000;
    sim.add(SUBS[0], half, { from, spacingMs: Math.floor(span / half) });
    sim.add(SUBS[1], total - half, {
      from: from + 7_000,
      spacingMs: Math.floor(span / Math.max(1, total - half)),
    });
    await sim.start();
    return {
      account: {
        tenantId: sim.tenantId,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        cloud: 'global',
        authorityHost: sim.url,
      },
      settings: { subscriptionIds: SUBS, baseUrl: sim.url },
      expectedIds: () => sim.eventIds(),
      addEvents: (n, o = {}) => {
        sim.add(SUBS[0], n, {
          from: clock.now() - 20 * 60_000 - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: ACTIVITY_PATH,
      loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.identity.revokeTokens(),
      tokensIssued: () => sim.identity.tokenRequests.length,
      stop: () => sim.stop(),
    };
  },
};
