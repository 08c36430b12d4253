import { RecordedFutureSimulator } from '../../../src/sources/recorded-future-context/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Recorded Future's risk lists for the conformance suite: five lists (ip, domain, hash, url,
 * vulnerability), each one CSV download read in parts of 1,000 rows. Risk lists are whole files, not
 * pages, and change only at a refresh: the checks about pages, cursors and late events do not apply.
 */
export const recordedFutureContextHarness: ConformanceHarness = {
  sourceId: 'recorded-future-context',
  exemptions: {
    'token-refresh':
      'The X-RFToken API token is a static credential: there is no access token to expire and renew.',
    'loop-guard':
      'A risk list is one download per entity type, without pages or cursors: there is nothing that can loop.',
    'empty-pages':
      'A risk list is a whole CSV file: an empty one (the header alone) is a valid answer meaning the list is empty, which no reader could tell from a fault.',
    'late-events':
      'Risk lists have no deltas: an entity added to a list arrives with the next full refresh (refreshEvery, default 6h), not within the lag.',
  },
  async start({ pages, pageSize, eventBytes }) {
    const sim = new RecordedFutureSimulator({ rows: Math.ceil((pages * pageSize) / 5) + 1000, eventBytes });
    await sim.start();
    return {
      account: { token: sim.token, url: sim.url },
      settings: {},
      expectedIds: () => sim.ids(),
      addEvents: (n) => {
        sim.add('ip', n);
      },
      inject: (f) => sim.inject(f),
      pagePath: /\/risklist$/,
      loop: () => {},
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests.all().length,
      stop: () => sim.stop(),
    };
  },
};
