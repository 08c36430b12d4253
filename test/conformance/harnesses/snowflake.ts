import { SnowflakeSimulator } from '../../../src/sources/snowflake/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * The Snowflake SQL API simulator with login history over the last hour: one statement per window that
 * answers its first partition with the POST, later partitions of `pageSize` rows fetched with
 * `?partition=N`, every request authenticated with a key-pair JWT the simulator verifies, and a lag of
 * 30 s so rows that reach the view late inside it are read on the suite's next runs.
 */
export const snowflakeHarness: ConformanceHarness = {
  sourceId: 'snowflake',
  exemptions: {
    'empty-pages':
      'A finished statement answers its rows in partitions counted by resultSetMetaData.partitionInfo; an answer without rows is a window that holds nothing, which a simulated empty answer cannot be told from (truncated and reset answers are still checked).',
    'loop-guard':
      'the client numbers the partitions itself from partitionInfo (0…n-1) and Snowflake hands out no page cursor, so there is nothing for the vendor to repeat',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new SnowflakeSimulator({ clock: clock.now, seed: 41, partitionRows: pageSize, eventBytes });
    const n = pages * pageSize;
    sim.add('LOGIN_HISTORY', n, { from: clock.now() - 3_600_000, spacingMs: Math.floor((55 * 60_000) / n) });
    await sim.start();
    return {
      account: sim.accountFields(),
      settings: { warehouse: sim.warehouse, lag: '30s' },
      streams: ['login-history'],
      expectedIds: () => sim.ids('LOGIN_HISTORY'),
      addEvents: (k, o = {}) =>
        sim.add('LOGIN_HISTORY', k, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        }),
      inject: (f) => sim.inject(f),
      pagePath: /^\/api\/v2\/statements/,
      loop: () => {},
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.expireTokens(),
      tokensIssued: () => sim.tokensIssued(),
      stop: () => sim.stop(),
    };
  },
};
