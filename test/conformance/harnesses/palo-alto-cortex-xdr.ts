import { CortexXdrSimulator } from '../../../src/sources/palo-alto-cortex-xdr/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Cortex XDR's simulator for the conformance suite: incidents, alerts and audit logs over the last hour, listed in pages of
 * at most 100 (`search_from`/`search_to`), every request signed with an advanced API key.
 */
export const cortexXdrHarness: ConformanceHarness = {
  sourceId: 'palo-alto-cortex-xdr',
  exemptions: {
    'token-refresh':
      'A Cortex XDR API key is static (an advanced key signs each request afresh with a nonce and a timestamp): there is no access token to renew; a refused key is a config error naming the fix.',
    'loop-guard':
      'Offset pages: the next search_from is the offset read so far plus the records on the page, computed by Tributary, never a cursor handed out by Cortex XDR, so the vendor cannot make it repeat.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const perPage = Math.min(pageSize, 100);
    const records = pages * pageSize; // the data the suite asked for, in pages of at most 100
    const sim = new CortexXdrSimulator({
      clock: clock.now,
      records,
      spacingMs: Math.max(1, Math.floor(3_300_000 / records)),
      eventBytes,
      seed: 41,
    });
    await sim.start();
    return {
      account: sim.account(),
      settings: { pageSize: perPage },
      expectedIds: () => [
        ...sim.expectedIds('incidents'),
        ...sim.expectedIds('alerts'),
        ...sim.expectedIds('audits'),
      ],
      addEvents: (n, o = {}) => {
        const spaced = {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        };
        sim.addRecords('incidents', Math.ceil(n / 3), spaced);
        sim.addRecords('alerts', Math.ceil(n / 3), spaced);
        sim.addRecords('audits', n - 2 * Math.ceil(n / 3), spaced);
      },
      inject: (f) => sim.inject(f),
      pagePath: /\/(get_incidents|get_alerts_multi_events|management_logs)\/?$/,
      loop: () => {},
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
