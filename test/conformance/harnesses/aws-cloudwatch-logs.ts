import { CloudWatchLogsSimulator } from '../../../src/sources/aws-cloudwatch-logs/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

const GROUPS = ['/aws/lambda/payments', 'vpc-flow-logs'];

/** The token-refresh exemption of every source on the `aws` account with static keys. */
export const AWS_STATIC_KEYS =
  'static access keys sign each request themselves: no access token expires mid-run (AssumeRole renewal before expiry is tested in src/accounts/aws.test.ts)';

/**
 * The CloudWatch Logs simulator (JSON 1.1, SigV4 verified with the SDK's signer) set up for the
 * conformance suite: two log groups, each read on its own watermark, filled over the last hour; pages
 * of `pageSize` events with `nextToken`; faults on every FilterLogEvents call (`POST /`, the only
 * requests made when group names are given).
 */
export const awsCloudWatchLogsHarness: ConformanceHarness = {
  sourceId: 'aws-cloudwatch-logs',
  exemptions: {
    'token-refresh': AWS_STATIC_KEYS,
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new CloudWatchLogsSimulator({ clock: clock.now, region: 'eu-west-1', eventBytes });
    const perGroup = Math.ceil((pages * pageSize) / GROUPS.length);
    const now = clock.now();
    const spacingMs = Math.floor((55 * 60_000) / perGroup);
    for (const g of GROUPS) sim.addEvents(g, perGroup, { from: now - 3_600_000, spacingMs });
    await sim.start();
    return {
      account: sim.account(),
      settings: { region: 'eu-west-1', logGroupNames: GROUPS, pageSize },
      expectedIds: () => GROUPS.flatMap((g) => sim.events(g).map((e) => e.eventId)),
      addEvents: (n, o = {}) =>
        sim.addEvents(GROUPS[0]!, n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        }),
      inject: (f) => sim.inject(f),
      pagePath: /^\/$/,
      loop: (on) => sim.loopTokens(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
