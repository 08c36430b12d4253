import { hashId } from '../../../src/core/envelope.ts';
import { CarbonBlackSimulator } from '../../../src/sources/carbon-black/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Carbon Black Cloud's simulator for the conformance suite: alerts and audit log entries over the last hour, searched with
 * `time_range` and paged by rows (`start`, `rows` in the JSON body), read with a static API key.
 */
export const carbonBlackHarness: ConformanceHarness = {
  sourceId: 'carbon-black',
  exemptions: {
    'token-refresh':
      'A Carbon Black Cloud API key (X-Auth-Token: secret/id) is static: there is no access token to renew; a refused key is a config error naming the fix.',
    'loop-guard':
      'Row pages: the next request starts at the rows read so far plus those on the page, computed by Tributary, never a cursor handed out by Carbon Black, so the vendor cannot make it repeat.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const alerts = Math.ceil((pages * pageSize) / 2);
    const sim = new CarbonBlackSimulator({
      clock: clock.now,
      alerts,
      spacingMs: Math.max(1, Math.floor(3_300_000 / alerts)),
      eventBytes,
      seed: 37,
    });
    await sim.start();
    return {
      account: sim.account(),
      settings: { pageSize },
      expectedIds: () => [...sim.expectedIds(), ...sim.auditRecords().map((r) => hashId(r))],
      addEvents: (n, o = {}) => {
        const spaced = {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 50,
          visibleDelayMs: o.visibleDelayMs,
        };
        sim.addAlerts(Math.ceil(n / 2), spaced);
        sim.addAudits(Math.floor(n / 2), spaced);
      },
      inject: (f) => sim.inject(f),
      pagePath: /\/(alerts|logs)\/_search$/,
      loop: () => {},
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
