import { GitHubSimulator } from '../../../src/sources/github/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * GitHub's simulator set up for the conformance suite: an organization audit log (web and Git events)
 * over the last hour, cursor pages of at most 100 (GitHub's maximum), read through a GitHub App so
 * every 401 exercises the installation-token renewal.
 */
export const githubHarness: ConformanceHarness = {
  sourceId: 'github',
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new GitHubSimulator({
      clock: clock.now,
      events,
      spacingMs: Math.floor(3_600_000 / events),
      eventBytes,
      enterpriseShare: 0,
      rateLimitPerHour: 1_000_000,
      auditLimitPerHour: 1_000_000,
      seed: 17,
    });
    await sim.start();
    return {
      account: {
        url: sim.url,
        appId: String(sim.appId),
        installationId: String(sim.installationId),
        privateKey: sim.privateKeyPem,
      },
      settings: { organization: sim.org, include: 'all', perPage: Math.min(pageSize, 100) },
      expectedIds: () => sim.eventIds(),
      addEvents: (n, o = {}) => {
        sim.addEvents(n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /\/audit-log$/,
      loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.expireInstallationTokens(),
      tokensIssued: () => sim.tokenRequests().length,
      stop: () => sim.stop(),
    };
  },
};
