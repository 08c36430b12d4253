import { TenableSimulator } from '../../../src/sources/tenable/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Tenable's simulator for the conformance suite: vulnerability findings and assets through export jobs
 * (finished at once; chunks of `pageSize` records, within Tenable's ranges) and the audit log, over the last hour.
 * The "pages" are the export chunks and the audit log's answers.
 */
export const tenableHarness: ConformanceHarness = {
  sourceId: 'tenable',
  exemptions: {
    'empty-pages':
      'An export chunk is a file the job lists as available and the audit log answers a whole day at once: an empty chunk or day cannot be told from one with no records (there is no next page to ask).',
    'loop-guard':
      'Neither exports nor the audit log have a page cursor: chunks are listed by id in the job status and each is read once (their ids are kept in the checkpoint), so there is no cursor that could repeat.',
    'token-refresh':
      'Tenable API keys are static (X-ApiKeys on every request, valid until new keys are generated): there is no access token to renew.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const records = Math.ceil((pages * pageSize) / 3);
    const sim = new TenableSimulator({
      clock: clock.now,
      records,
      spacingMs: Math.max(1000, Math.floor(3_300_000 / records / 1000) * 1000),
      eventBytes,
      seed: 81,
    });
    await sim.start();
    let next = 0;
    const lists = ['vulns', 'assets', 'audit'] as const;
    return {
      account: sim.account(),
      settings: {
        numAssets: Math.min(5000, Math.max(50, pageSize)),
        chunkSize: Math.min(10000, Math.max(100, pageSize)),
        pollSeconds: 1,
      },
      expectedIds: () => lists.flatMap((l) => sim.expectedIds(l)),
      addEvents: (n, o = {}) => {
        for (let i = 0; i < n; i++)
          sim.addRecords(lists[next++ % 3], 1, {
            from: clock.now() - (o.agoMs ?? 0) + i * 1000,
            visibleDelayMs: o.visibleDelayMs,
          });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/((vulns|assets)\/export\/[^/]+\/chunks\/\d+|audit-log\/v1\/events)$/,
      loop: () => {},
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
