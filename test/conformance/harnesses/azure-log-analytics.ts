import { hashId } from '../../../src/core/envelope.ts';
import { LogAnalyticsSimulator, QUERY_PATH } from '../../../src/sources/azure-log-analytics/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * The Log Analytics simulator for the conformance suite: two tables whose rows were ingested over the last
 * two hours (the suite's lookback, so that every 10-minute window the source queries holds rows); the
 * Query API's request limit lifted. Events added "near now" are rows ingested then, late ones ingested
 * `visibleDelayMs` later.
 */
export const logAnalyticsHarness: ConformanceHarness = {
  sourceId: 'azure-log-analytics',
  exemptions: {
    'empty-pages':
      'the Query API has no pages: one answer per window, and an empty answer means the window holds no rows, so a simulated empty answer for a window with rows cannot be told from a true one (truncated and reset answers are still checked)',
    'loop-guard':
      'the Query API has no pages and no next-page cursor that could repeat: each window is one query',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const total = pages * pageSize;
    const half = Math.ceil(total / 2);
    const sim = new LogAnalyticsSimulator({
      clock: clock.now,
      seed: 43,
      tables: { SigninLogs: 0, SecurityEvent: 0 },
      requestsPer30s: 1_000_000,
      eventBytes,
    });
    // Spread over the suite's 2-hour lookback: each 10-minute window (one query, one batch) holds rows.
    const from = clock.now() - 118 * 60_000;
    sim.add('SigninLogs', half, { from, spacingMs: Math.floor((110 * 60_000) / half) });
    sim.add('SecurityEvent', total - half, {
      from: from + 3_000,
      spacingMs: Math.floor((110 * 60_000) / Math.max(1, total - half)),
    });
    await sim.start();
    return {
      account: {
        tenantId: sim.tenantId,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        cloud: 'global',
        authorityHost: sim.url,
      },
      settings: { workspaceId: sim.workspaceId, tables: ['SigninLogs', 'SecurityEvent'], baseUrl: sim.url },
      expectedIds: () => sim.records().map((r) => hashId({ table: r.Type, ...r })),
      addEvents: (n, o = {}) => {
        sim.add('SigninLogs', n, {
          from: clock.now() - (o.agoMs ?? 0) - 30_000,
          spacingMs: 50,
          ingestDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: QUERY_PATH,
      loop: () => {},
      writeCalls: () => sim.writeCalls(QUERY_PATH),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.identity.revokeTokens(),
      tokensIssued: () => sim.identity.tokenRequests.length,
      stop: () => sim.stop(),
    };
  },
};
