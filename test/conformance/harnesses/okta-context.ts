import { OktaDirectorySimulator } from '../../../src/sources/okta-context/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Okta's directory simulator set up for the conformance suite: users, two groups and their
 * memberships, `pageSize` records a page. The first drain is a refresh (users, groups, memberships,
 * each stream ended by its marker); late events are users created since, read by the next run's
 * `lastUpdated` delta.
 */
export const oktaContextHarness: ConformanceHarness = {
  sourceId: 'okta-context',
  exemptions: {
    'token-refresh':
      "Okta's SSWS API token is a static credential: there is no access token to expire and refresh.",
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const users = Math.max(25, Math.floor((pages * pageSize) / 2));
    const sim = new OktaDirectorySimulator({
      clock: clock.now,
      users,
      groups: 2,
      pageSize,
      eventBytes,
      rateLimitPerMinute: 1_000_000,
    });
    await sim.start();
    return {
      account: { url: sim.url, token: sim.token },
      settings: { baseUrl: sim.url },
      expectedIds: () => [...sim.userIds(), ...sim.groupIds(), ...sim.membershipIds()],
      addEvents: (n, o = {}) => {
        sim.addUsers(n, clock.now() - (o.agoMs ?? 0));
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/api\/v1\/(users|groups)/,
      loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests.all().length,
      stop: () => sim.stop(),
    };
  },
};
