import { SecuritySimulator } from '../../../src/sources/microsoft-security-alerts/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * The security simulator set up for the conformance suite: alerts (three quarters) and incidents over the
 * last hour, ending 5 minutes before now; Graph's 150-requests-a-minute limit lifted. Late events are
 * alerts updated late: their new version becomes visible after the delay.
 */
export const securityAlertsHarness: ConformanceHarness = {
  sourceId: 'microsoft-security-alerts',
  async start({ clock, pages, pageSize, eventBytes }) {
    const total = pages * pageSize;
    const events = { alerts: Math.ceil((total * 3) / 4), incidents: total - Math.ceil((total * 3) / 4) };
    const sim = new SecuritySimulator({
      clock: clock.now,
      seed: 31,
      events,
      spacingMs: Math.floor((55 * 60_000) / events.alerts),
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
      settings: { pageSize, baseUrl: sim.url },
      expectedIds: () => sim.eventIds(),
      addEvents: (n, o = {}) => {
        sim.add('alerts', n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v1\.0\/security\//,
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
