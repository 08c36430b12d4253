import { CiscoSecureEndpointSimulator } from '../../../src/sources/cisco-secure-endpoint/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Cisco Secure Endpoint's simulator for the conformance suite: events (newest first, from `start_date`) and
 * audit logs over the last hour, whole seconds apart, `metadata.links.next` pages of at most 500.
 */
export const ciscoSecureEndpointHarness: ConformanceHarness = {
  sourceId: 'cisco-secure-endpoint',
  exemptions: {
    'token-refresh':
      'Cisco Secure Endpoint takes Basic client ID : API key on every request: there is no access token to renew.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const records = Math.ceil((pages * pageSize) / 2);
    const sim = new CiscoSecureEndpointSimulator({
      clock: clock.now,
      records,
      spacingMs: Math.max(1000, Math.floor(3_300_000 / records / 1000) * 1000),
      eventBytes,
      seed: 101,
      hourlyLimit: 1_000_000,
    });
    await sim.start();
    let next = 0;
    return {
      account: sim.account(),
      settings: { pageSize: Math.min(pageSize, 500) },
      expectedIds: () => [...sim.expectedIds('events'), ...sim.expectedIds('audit')],
      addEvents: (n, o = {}) => {
        for (let i = 0; i < n; i++)
          sim.addRecords(next++ % 2 ? 'audit' : 'events', 1, {
            from: clock.now() - (o.agoMs ?? 0) + i * 1000,
            visibleDelayMs: o.visibleDelayMs,
          });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v1\/(events|audit_logs)$/,
      loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
