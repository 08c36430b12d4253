import { type WizListName, WizSimulator } from '../../../src/sources/wiz-issues/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Wiz's simulator for the conformance suite: the token endpoint and the GraphQL endpoint, with the lists a
 * source reads spread over the last hour, Relay pages of at most 500 (`first`) linked by `endCursor`.
 */
function wizHarness(sourceId: string, lists: WizListName[], streams: string[]): ConformanceHarness {
  return {
    sourceId,
    async start({ clock, pages, pageSize, eventBytes }) {
      const records = Math.ceil((pages * pageSize) / lists.length);
      const sim = new WizSimulator({
        clock: clock.now,
        records,
        spacingMs: Math.floor(3_300_000 / records),
        eventBytes,
        seed: 71,
      });
      await sim.start();
      let next = 0;
      return {
        account: sim.account(),
        settings: { pageSize: Math.min(pageSize, 500) },
        streams,
        expectedIds: () => lists.flatMap((l) => sim.expectedIds(l)),
        addEvents: (n, o = {}) => {
          for (let i = 0; i < n; i++)
            sim.addRecords(lists[next++ % lists.length], 1, {
              from: clock.now() - (o.agoMs ?? 0) + i * 100,
              visibleDelayMs: o.visibleDelayMs,
            });
        },
        inject: (f) => sim.inject(f),
        pagePath: /^\/graphql$/,
        loop: (on) => sim.loopCursors(on ? 1000 : 0),
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

export const wizIssuesHarness = wizHarness('wiz-issues', ['issues'], ['issues']);
export const wizApiHarness = wizHarness(
  'wiz-api',
  ['audit', 'vulnerabilities', 'detections'],
  ['audit-log', 'vulnerability-findings', 'cloud-detections'],
);
