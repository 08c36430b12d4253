import { TaxiiSimulator } from '../../../src/sources/stix-taxii/simulator.ts';
import { patternEntity } from '../../../src/sources/taxii.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Anomali ThreatStream read through its TAXII server, which follows the TAXII standard: the TAXII 2.1
 * simulator with indicators of every kind, of which the IP and domain ones are Anomali's context.
 */
export const anomaliHarness: ConformanceHarness = {
  sourceId: 'anomali',
  exemptions: {
    'huge-pages':
      "The reader is stix-taxii's (sources/taxii.ts), whose harness runs this check; Anomali keeps only its IP and domain indicators (2 in 5), so serving the check's 80 MB of kept records would hold about 200 MB of objects in the simulator, in the test's own process.",
    'token-refresh':
      'The TAXII server authenticates each request with HTTP Basic (username and API key): there is no access token to renew.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    // Two indicators in five are IPs or domains: enough objects that those fill about `pages` pages.
    const sim = new TaxiiSimulator({ clock: clock.now, objects: pages * pageSize * 2, pageSize, eventBytes });
    await sim.start();
    return {
      account: { username: sim.username, password: sim.password },
      settings: { discoveryUrl: `${sim.url}/taxii2/` },
      expectedIds: () =>
        sim.indicatorIds().filter((id) => ['ip', 'domain'].includes(patternEntity(sim.objectById(id)))),
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
