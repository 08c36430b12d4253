import { EntraLogsSimulator } from '../../../src/sources/microsoft-entra-id-logs/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * The audit logs simulator set up for the conformance suite: all three streams enabled, records over the
 * last hour (ending 5 minutes before now, outside the 2-minute lag), half of them sign-ins (newest-first
 * pages), a quarter each directory audits and provisioning (oldest-first pages). Graph's 5-requests-per-
 * 10-seconds limit is lifted so the suite's many runs stay fast; 429 handling is exercised by injection.
 */
export const entraLogsHarness: ConformanceHarness = {
  sourceId: 'microsoft-entra-id-logs',
  async start({ clock, pages, pageSize, eventBytes }) {
    const total = pages * pageSize;
    const events = {
      signIns: Math.ceil(total / 2),
      directoryAudits: Math.floor(total / 4),
      provisioning: total - Math.ceil(total / 2) - Math.floor(total / 4),
    };
    const sim = new EntraLogsSimulator({
      clock: clock.now,
      seed: 21,
      events,
      spacingMs: Math.floor((55 * 60_000) / events.signIns),
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
      streams: ['sign-ins', 'directory-audits', 'provisioning'],
      expectedIds: () => sim.eventIds(),
      addEvents: (n, o = {}) => {
        sim.add('signIns', n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v1\.0\/auditLogs\//,
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
