import { CloudflareSimulator } from '../../../src/sources/cloudflare/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/** Cloudflare's simulator for the conformance suite: audit log entries over the last hour, cursor pages. */
export const cloudflareHarness: ConformanceHarness = {
  sourceId: 'cloudflare',
  exemptions: {
    'token-refresh':
      'A Cloudflare API token is a static credential: there is no access token to expire and refresh.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new CloudflareSimulator({
      clock: clock.now,
      events,
      spacingMs: Math.floor(3_300_000 / events),
      eventBytes,
      rateLimitPer5Min: 1_000_000,
      seed: 31,
    });
    await sim.start();
    return {
      account: { apiToken: sim.token, url: sim.url },
      settings: { accountId: sim.accountId, limit: pageSize },
      expectedIds: () => sim.eventIds(),
      addEvents: (n, o = {}) => {
        sim.addEvents(n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /\/logs\/audit$/,
      loop: (on) => sim.loopNextCursors(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
