import { SophosSimulator } from '../../../src/sources/sophos-central/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Sophos Central's simulator for the conformance suite: events and alerts of the last hour, read by
 * `next_cursor` from the tenant's data region after whoami, through a client-credentials token.
 */
export const sophosHarness: ConformanceHarness = harness();

/** The same with partner credentials: every tenant the partner manages, each with its own cursor. */
export const sophosPartnerHarness: ConformanceHarness = harness(3);

function harness(tenants?: number): ConformanceHarness {
  return {
    sourceId: 'sophos-central',
    label: tenants ? `partner, ${tenants} tenants` : undefined,
    async start({ clock, pages, pageSize, eventBytes }) {
      const items = Math.ceil((pages * pageSize) / 2);
      const sim = new SophosSimulator({
        clock: clock.now,
        items,
        spacingMs: Math.floor(3_300_000 / items),
        eventBytes,
        seed: 59,
        ...(tenants ? { idType: 'partner' as const, tenants } : {}),
      });
      await sim.start();
      let next = 0;
      return {
        account: sim.account(),
        // A partner's tenants share the items: smaller pages, so that each tenant still spans several.
        settings: { pageSize: Math.min(Math.max(1, Math.floor(pageSize / (tenants ?? 1))), 1000) },
        expectedIds: () => sim.ids(),
        addEvents: (n, o = {}) => {
          for (let i = 0; i < n; i++, next++)
            sim.addItems(
              next % 2 ? 'alerts' : 'events',
              1,
              { from: clock.now() - (o.agoMs ?? 0) + i * 100, visibleDelayMs: o.visibleDelayMs },
              tenants ? Math.floor(next / 2) % tenants : 0,
            );
        },
        inject: (f) => sim.inject(f),
        pagePath: /^\/siem\/v1\//,
        loop: (on) => sim.loopNextCursors(on ? 1000 : 0),
        writeCalls: () => sim.writeCalls(),
        credentialLeaks: () => [],
        requestCount: () => sim.requests().length,
        expireTokens: () => sim.expireTokens(),
        tokensIssued: () => sim.tokensIssued(),
        stop: () => sim.stop(),
      };
    },
  };
}
