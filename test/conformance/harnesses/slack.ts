import { SlackSimulator } from '../../../src/sources/slack/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Slack's simulator set up for the conformance suite: audit log entries over the last hour, newest first,
 * cursor pages of `pageSize` (whole seconds, so late events added 50 ms apart share seconds).
 */
export const slackHarness: ConformanceHarness = {
  sourceId: 'slack',
  exemptions: {
    'token-refresh': "Slack's user OAuth token (xoxp-) does not expire: there is no access token to refresh.",
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new SlackSimulator({
      clock: clock.now,
      events,
      // Whole seconds apart, so a page boundary never shares a second (pages hold exactly `pageSize`).
      spacingMs: Math.max(1000, Math.floor(3_600_000 / events / 1000) * 1000),
      eventBytes,
      rateLimitPerMinute: 1_000_000,
      seed: 23,
    });
    await sim.start();
    return {
      account: { token: sim.token },
      settings: { limit: pageSize, baseUrl: sim.url },
      expectedIds: () => sim.eventIds(),
      addEvents: (n, o = {}) => {
        sim.addEvents(n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/audit\/v1\/logs/,
      loop: (on) => sim.loopNextCursors(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
