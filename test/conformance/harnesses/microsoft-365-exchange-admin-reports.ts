import { MessageTraceSimulator } from '../../../src/sources/microsoft-365-exchange-admin-reports/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * The message trace simulator for the conformance suite: traces received over the last hour, ending 20
 * minutes before now (the source reads 15 minutes behind now); the assumed request limit lifted. Traces
 * added "near now" are placed just behind that horizon, where a trace reported late lands.
 */
export const exchangeAdminReportsHarness: ConformanceHarness = {
  sourceId: 'microsoft-365-exchange-admin-reports',
  async start({ clock, pages, pageSize, eventBytes }) {
    const total = pages * pageSize;
    const sim = new MessageTraceSimulator({
      clock: clock.now,
      seed: 47,
      events: 0,
      eventBytes,
      rateLimit: { requests: 1_000_000, windowMs: 1000 },
    });
    sim.add(total, { from: clock.now() - 60 * 60_000, spacingMs: Math.floor((40 * 60_000) / total) });
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
      addEvents: (n, o = {}) =>
        sim.add(n, {
          from: clock.now() - 15 * 60_000 - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        }),
      inject: (f) => sim.inject(f),
      pagePath: /^\/v1\.0\/admin\/exchange\/tracing\/messageTraces$/,
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
