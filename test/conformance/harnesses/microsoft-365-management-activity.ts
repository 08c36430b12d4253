import type { ContentType } from '../../../src/sources/microsoft-365-management-activity/index.ts';
import { ManagementActivitySimulator } from '../../../src/sources/microsoft-365-management-activity/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

const TYPES: ContentType[] = ['Audit.AzureActiveDirectory', 'Audit.Exchange'];

/**
 * The Management Activity API simulator set up for the conformance suite: two content types with their
 * subscriptions enabled (so no subscription is started and nothing is written), `pages` blobs of
 * `pageSize` records made available over the last hour, listings of two blobs a page. The per-tenant
 * quota is lifted so the suite's many runs stay fast; throttling is exercised by injection. Late events
 * arrive as Microsoft's do: in a new blob, here one listed some time after its contentCreated.
 */
export const managementActivityHarness: ConformanceHarness = {
  sourceId: 'microsoft-365-management-activity',
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new ManagementActivitySimulator({
      clock: clock.now,
      seed: 31,
      blobs: {},
      eventBytes,
      listPageSize: 2,
      requestsPerMinute: 1_000_000,
    });
    const now = clock.now();
    for (let i = 0; i < pages; i++) {
      sim.addBlob(TYPES[i % TYPES.length], {
        created: now - 55 * 60_000 + i * Math.floor((50 * 60_000) / pages),
        events: pageSize,
      });
    }
    await sim.start();
    return {
      account: {
        tenantId: sim.tenantId,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        cloud: 'global',
        authorityHost: sim.url,
      },
      settings: { contentTypes: TYPES, baseUrl: sim.url },
      streams: TYPES,
      expectedIds: () => sim.eventIds(TYPES),
      addEvents: (n, o = {}) => {
        sim.addBlob('Audit.AzureActiveDirectory', {
          created: clock.now() - (o.agoMs ?? 0),
          events: n,
          listingDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/api\/v1\.0\/[^/]+\/activity\/feed\/(subscriptions\/content|audit\/)/,
      loop: (on) => sim.loopNextPages(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.identity.revokeTokens(),
      tokensIssued: () => sim.identity.tokenRequests.length,
      stop: () => sim.stop(),
    };
  },
};
