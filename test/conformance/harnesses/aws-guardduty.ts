import { GuardDutySimulator } from '../../../src/sources/aws-guardduty/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';
import { AWS_STATIC_KEYS } from './aws-cloudwatch-logs.ts';

/**
 * The GuardDuty simulator (REST-JSON, SigV4 verified with the SDK's signer) set up for the conformance
 * suite: one region's detector with findings updated over the last hour, listed 50 a page (GuardDuty's
 * maximum) and fetched with GetFindings; faults on ListFindings pages.
 */
export const awsGuardDutyHarness: ConformanceHarness = {
  sourceId: 'aws-guardduty',
  exemptions: {
    'token-refresh': AWS_STATIC_KEYS,
    'empty-pages':
      'an empty ListFindings answer has no nextToken and ends the window: GuardDuty documents no empty page with more to come, so a simulated one cannot be told from a true one',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new GuardDutySimulator({ clock: clock.now, region: 'us-east-1', eventBytes });
    const n = pages * pageSize; // read 50 a page at most: more pages than asked for
    sim.addFindings(n, { from: clock.now() - 3_600_000, spacingMs: Math.floor((55 * 60_000) / n) });
    await sim.start();
    return {
      account: sim.account(),
      settings: { regions: ['us-east-1'], pageSize: Math.min(pageSize, 50) },
      expectedIds: () => sim.versionIds(),
      addEvents: (count, o = {}) =>
        sim.addFindings(count, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        }),
      inject: (f) => sim.inject(f),
      pagePath: /^\/detector\/[^/]+\/findings$/,
      loop: (on) => sim.loopTokens(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
