import { BoxSimulator } from '../../../src/sources/box/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Box's simulator for the conformance suite: the Enterprise Event Stream over the last hour, chunks of
 * `pageSize`, every third chunk repeating the previous chunk's last event (as Box may), read through a
 * Client Credentials Grant token so a 401 exercises its renewal.
 */
export const boxHarness: ConformanceHarness = harness(false);

/** The same through a JWT app: each token from a freshly signed assertion (key pair as in config.json). */
export const boxJwtHarness: ConformanceHarness = harness(true);

function harness(jwt: boolean): ConformanceHarness {
  return {
    sourceId: 'box',
    label: jwt ? 'JWT app' : undefined,
    async start({ clock, pages, pageSize, eventBytes }) {
      const events = pages * pageSize;
      const sim = new BoxSimulator({
        clock: clock.now,
        events,
        spacingMs: Math.floor(3_300_000 / events),
        eventBytes,
        seed: 43,
        jwt,
      });
      await sim.start();
      return {
        account: sim.account(),
        settings: { pageSize: Math.min(pageSize, 500) },
        expectedIds: () => sim.expectedIds(),
        addEvents: (n, o = {}) => {
          sim.addEvents(n, {
            from: clock.now() - (o.agoMs ?? 0),
            spacingMs: 1000,
            visibleDelayMs: o.visibleDelayMs,
          });
        },
        inject: (f) => sim.inject(f),
        pagePath: /^\/2\.0\/events$/,
        loop: (on) => sim.loopNextPositions(on ? 1000 : 0),
        writeCalls: () => sim.writeCalls(),
        credentialLeaks: () => [],
        requestCount: () => sim.requests().length,
        expireTokens: () => sim.expireTokens(),
        tokensIssued: () => sim.tokensIssued(),
        stop: () => sim.stop(),
      };
    },
  };
}
