import { type DuoLog, DuoSimulator } from '../../../src/sources/cisco-duo/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

const LOGS: DuoLog[] = ['authentication', 'administrator', 'telephony', 'activity'];

/**
 * Duo's simulator set up for the conformance suite: the four logs over the last hour, every request's v5
 * signature checked, the v2 logs in pages of `pageSize` (Duo allows up to 1000), the administrator log in
 * Duo's fixed pages of 1000. Duo's once-a-minute pace is lifted (the suite runs on a stopped clock and
 * without client-side limits); only activity records are padded to `eventBytes` (their `target.details`
 * is free JSON). Page faults go to the v2 logs: the administrator log has no cursor, so an "empty" answer
 * there means no records (Duo documents nothing else), which no client can tell from a fault.
 */
export const ciscoDuoHarness: ConformanceHarness = {
  sourceId: 'cisco-duo',
  exemptions: {
    'token-refresh':
      "Duo signs every request with the integration's secret key (HMAC): there is no access token to expire and refresh.",
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new DuoSimulator({
      clock: clock.now,
      events: Object.fromEntries(LOGS.map((l) => [l, events])),
      spacingMs: Math.floor(3_600_000 / events),
      eventBytes,
      logRequestsPerMinute: 1_000_000,
      seed: 31,
    });
    await sim.start();
    return {
      account: { ...sim.account() },
      settings: { limit: Math.min(pageSize, 1000), baseUrl: sim.url },
      streams: LOGS,
      expectedIds: () => LOGS.flatMap((l) => sim.eventIds(l)),
      addEvents: (n, o = {}) => {
        sim.addEvents('authentication', n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/admin\/v2\/logs\//,
      loop: (on) => sim.loopNextOffsets(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
