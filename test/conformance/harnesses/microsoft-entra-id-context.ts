import { EntraDirectorySimulator } from '../../../src/sources/microsoft-entra-id-context/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * The directory simulator set up for the conformance suite: users (three quarters) and groups read by
 * delta queries, `pageSize` objects per page. The snapshot round is the "full drain"; late events are
 * users created later, visible after their delay, collected by the next delta round.
 */
export const entraContextHarness: ConformanceHarness = {
  sourceId: 'microsoft-entra-id-context',
  async start({ clock, pages, pageSize, eventBytes }) {
    const total = pages * pageSize;
    const users = Math.ceil((total * 3) / 4);
    const sim = new EntraDirectorySimulator({
      clock: clock.now,
      seed: 41,
      users,
      groups: total - users,
      pageSize,
      eventBytes,
      rateLimit: { requests: 1_000_000, windowMs: 1000 },
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
      settings: { baseUrl: sim.url },
      expectedIds: () => sim.eventIds(),
      addEvents: (n, o = {}) => {
        sim.add('users', n, { visibleDelayMs: Math.max(0, (o.visibleDelayMs ?? 0) - (o.agoMs ?? 0)) });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v1\.0\/(users|groups)\/delta/,
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
