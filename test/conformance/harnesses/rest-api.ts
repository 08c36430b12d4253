import type { ManualClock } from '../../../src/sim/kit.ts';
import { RestApiSimulator, type RestApiSimulatorOptions } from '../../../src/sources/rest-api/simulator.ts';
import type { ConformanceHarness, HarnessSim } from '../harness.ts';

/**
 * The generic REST API collector against its generic simulator, in three configurations that between
 * them cover the collector's paths: a cursor in the query with records oldest first (bearer token); Link
 * headers with records newest first (API key header); and a read-only POST search whose cursor is
 * rendered into the JSON body, epoch-second windows, records without ids (hashed) and no promised
 * order (OAuth 2.0 client credentials).
 */

interface Config {
  label: string;
  sim: Omit<RestApiSimulatorOptions, 'clock' | 'events' | 'spacingMs' | 'eventBytes' | 'seed'>;
  accountKind: string;
  exemptions?: ConformanceHarness['exemptions'];
  account(sim: RestApiSimulator): Record<string, unknown>;
  settings(sim: RestApiSimulator, pageSize: number): Record<string, unknown>;
}

function harness(c: Config): ConformanceHarness {
  return {
    sourceId: 'rest-api',
    label: c.label,
    exemptions: c.exemptions,
    async start({
      clock,
      pages,
      pageSize,
      eventBytes,
    }: {
      clock: ManualClock;
      pages: number;
      pageSize: number;
      eventBytes?: number;
    }): Promise<HarnessSim> {
      const events = pages * pageSize;
      const sim = new RestApiSimulator({
        ...c.sim,
        clock: clock.now,
        events,
        spacingMs: Math.floor(3_600_000 / events),
        eventBytes,
        seed: c.label,
      });
      await sim.start();
      return {
        account: c.account(sim),
        accountKind: c.accountKind,
        settings: c.settings(sim, pageSize),
        expectedIds: () => sim.expectedIds(),
        addEvents: (n, o = {}) =>
          sim.addEvents(n, {
            from: clock.now() - (o.agoMs ?? 0),
            spacingMs: 50,
            visibleDelayMs: o.visibleDelayMs,
          }),
        inject: (f) => sim.inject(f),
        pagePath: /^\/v1\/events/,
        loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
        writeCalls: () => sim.writeCalls(),
        credentialLeaks: () => [],
        requestCount: () => sim.requestCount(),
        ...(c.sim.auth?.kind === 'oauth2'
          ? { expireTokens: () => sim.revokeTokens(), tokensIssued: () => sim.tokenRequests() }
          : {}),
        stop: () => sim.stop(),
      };
    },
  };
}

export const restApiCursorHarness = harness({
  label: 'cursor, ascending, bearer',
  sim: {
    pagination: 'cursor',
    order: 'asc',
    timeFormat: 'iso',
    auth: { kind: 'bearer', token: 'sim-bearer-token-1' },
  },
  accountKind: 'bearer',
  exemptions: { 'token-refresh': 'A static bearer token: there is no access token to expire and refresh.' },
  account: () => ({ token: 'sim-bearer-token-1' }),
  settings: (sim, pageSize) => ({
    url: `${sim.url}/v1/events`,
    query: { since: '{{window.start}}', until: '{{window.end}}', limit: String(pageSize) },
    recordsPath: 'data',
    timePath: 'created_at',
    timeFormat: 'iso',
    idPath: 'id',
    pagination: { type: 'cursor', cursorPath: 'meta.next_cursor', param: 'cursor' },
    order: 'ascending',
  }),
});

export const restApiLinkHeaderHarness = harness({
  label: 'Link header, descending, API key',
  sim: {
    pagination: 'link-header',
    order: 'desc',
    timeFormat: 'epoch_ms',
    recordsPath: '.',
    auth: { kind: 'api-key', header: 'X-Api-Key', key: 'sim-api-key-2' },
  },
  accountKind: 'api-key',
  exemptions: { 'token-refresh': 'A static API key: there is no access token to expire and refresh.' },
  account: () => ({ key: 'sim-api-key-2', headerName: 'X-Api-Key' }),
  settings: (sim, pageSize) => ({
    url: `${sim.url}/v1/events`,
    query: { since: '{{window.start | epoch_ms}}', until: '{{window.end | epoch_ms}}', limit: pageSize },
    recordsPath: '.',
    timePath: 'timestamp',
    timeFormat: 'epoch_ms',
    idPath: 'id',
    pagination: { type: 'link-header' },
    order: 'descending',
  }),
});

export const restApiPostHarness = harness({
  label: 'POST search, cursor in the body, hashed ids, OAuth 2.0',
  sim: {
    pagination: 'cursor',
    order: 'asc',
    timeFormat: 'epoch_s',
    ids: false,
    auth: { kind: 'oauth2', clientId: 'sim-client', clientSecret: 'sim-client-secret-3' },
  },
  accountKind: 'oauth2-client-credentials',
  account: (sim) => ({
    tokenUrl: `${sim.url}/oauth/token`,
    clientId: 'sim-client',
    clientSecret: 'sim-client-secret-3',
    clientAuthentication: 'basic',
  }),
  settings: (sim, pageSize) => ({
    url: `${sim.url}/v1/events/search`,
    method: 'POST',
    body: `{"since":"{{window.start | epoch_s}}","until":"{{window.end | epoch_s}}","limit":${pageSize},"cursor":{{cursor | json}}}`,
    recordsPath: 'data',
    timePath: 'timestamp',
    timeFormat: 'epoch_s',
    pagination: { type: 'cursor', cursorPath: 'meta.next_cursor' },
    order: 'unknown',
  }),
});
