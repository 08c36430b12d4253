import { historyItemId } from '../../../src/sources/aws-cloudwatch-alarms/index.ts';
import { CloudWatchAlarmsSimulator } from '../../../src/sources/aws-cloudwatch-alarms/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';
import { AWS_STATIC_KEYS } from './aws-cloudwatch-logs.ts';

/**
 * The CloudWatch alarm-history simulator (AWS JSON 1.0, SigV4 verified with the SDK's signer) set up for
 * the conformance suite: state, configuration and action items of metric and composite alarms over the
 * last hour, read by the three streams, oldest first, `pageSize` (≤ 100) a page.
 */
export const awsCloudWatchAlarmsHarness: ConformanceHarness = {
  sourceId: 'aws-cloudwatch-alarms',
  exemptions: {
    'token-refresh': AWS_STATIC_KEYS,
    'empty-pages':
      'DescribeAlarmHistory documents no empty page with more to come: an empty answer without NextToken ends the window, so a simulated one cannot be told from a true one',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new CloudWatchAlarmsSimulator({ clock: clock.now, region: 'eu-west-1', eventBytes });
    const n = pages * pageSize;
    sim.addItems(n, { from: clock.now() - 3_600_000, spacingMs: Math.floor((55 * 60_000) / n) });
    await sim.start();
    return {
      account: sim.account(),
      settings: { region: 'eu-west-1', pageSize: Math.min(pageSize, 100) },
      expectedIds: () => sim.all().map((i) => historyItemId(sim.apiItem(i)) ?? 'missing-id'),
      addEvents: (count, o = {}) =>
        sim.addItems(count, {
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
