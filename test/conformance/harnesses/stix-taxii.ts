import { TaxiiSimulator } from '../../../src/sources/stix-taxii/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * The TAXII 2.1 simulator set up for the conformance suite: one readable collection of indicators
 * (the `indicators` context stream: a refresh, then deltas) and other STIX objects (the `objects` event
 * stream), `pageSize` objects a page. Late events are objects added since, with later dates added.
 */
export const stixTaxiiHarness: ConformanceHarness = {
  sourceId: 'stix-taxii',
  exemptions: {
    'token-refresh':
      'TAXII servers authenticate each request with HTTP Basic or an API key: there is no access token to expire and renew.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new TaxiiSimulator({ clock: clock.now, objects: pages * pageSize, pageSize, eventBytes });
    await sim.start();
    return {
      account: { username: sim.username, password: sim.password },
      settings: { url: `${sim.url}/taxii2/`, limit: pageSize },
      expectedIds: () => [...sim.indicatorIds(), ...sim.otherIds()],
      addEvents: (n, o = {}) => {
        sim.addObjects(n, clock.now() - (o.agoMs ?? 0));
      },
      inject: (f) => sim.inject(f),
      pagePath: /\/objects\/$/,
      loop: (on) => sim.loopNext(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests.all().length,
      stop: () => sim.stop(),
    };
  },
};
