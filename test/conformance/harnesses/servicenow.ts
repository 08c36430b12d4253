import { ServiceNowSimulator, SN_TABLES } from '../../../src/sources/servicenow/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

const EMPTY_PAGES =
  'a ServiceNow page is an offset into the filtered rows, and an empty answer (no rows, no total, no next link) is the end of them: an empty page for a window with rows cannot be told from a window without';

/**
 * ServiceNow's simulator for the conformance suite: rows of the three audit tables over the last hour,
 * whole seconds apart, read by time window with offset pages (Link header), Basic authentication.
 */
export const servicenowHarness: ConformanceHarness = harness(false);

/** The same with OAuth client credentials: a Bearer token that expires and is renewed. */
export const servicenowOAuthHarness: ConformanceHarness = harness(true);

function harness(oauth: boolean): ConformanceHarness {
  return {
    sourceId: 'servicenow',
    label: oauth ? 'OAuth client credentials' : undefined,
    exemptions: oauth
      ? { 'empty-pages': EMPTY_PAGES }
      : {
          'empty-pages': EMPTY_PAGES,
          'token-refresh':
            'Basic credentials go with every request: there is no access token to expire or renew (the OAuth harness checks renewal)',
        },
    async start({ clock, pages, pageSize, eventBytes }) {
      const rows = Math.ceil((pages * pageSize) / SN_TABLES.length);
      const sim = new ServiceNowSimulator({
        clock: clock.now,
        rows,
        spacingMs: Math.max(1000, Math.floor(3_300_000 / rows / 1000) * 1000),
        eventBytes,
        seed: 53,
      });
      await sim.start();
      let next = 0;
      return {
        account: oauth
          ? { instanceUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret }
          : { instanceUrl: sim.url, username: sim.username, password: sim.password },
        settings: { pageSize },
        streams: [...SN_TABLES],
        expectedIds: () => sim.ids(),
        addEvents: (n, o = {}) => {
          // Whole seconds apart (ServiceNow's precision), round-robin over the tables.
          for (let i = 0; i < n; i++) {
            const table = SN_TABLES[next++ % SN_TABLES.length];
            sim.addRows(table, 1, {
              from: clock.now() - (o.agoMs ?? 0) + i * 1000,
              visibleDelayMs: o.visibleDelayMs,
            });
          }
        },
        inject: (f) => sim.inject(f),
        pagePath: /^\/api\/now\/table\//,
        loop: (on) => sim.loopNextPages(on ? 1000 : 0),
        writeCalls: () => sim.writeCalls(),
        credentialLeaks: () => [],
        requestCount: () => sim.requests().length,
        ...(oauth ? { expireTokens: () => sim.expireTokens(), tokensIssued: () => sim.tokensIssued() } : {}),
        stop: () => sim.stop(),
      };
    },
  };
}
