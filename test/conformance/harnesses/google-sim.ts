import type { GoogleApiSimulator } from '../../../src/sim/google.ts';
import type { HarnessSim } from '../harness.ts';

/**
 * The parts of a harness that every Google API simulator answers alike: the `google` account with the
 * simulator's service-account key, faults, the loop switch, write calls, requests and token expiry.
 */
export function googleSimControls(
  sim: GoogleApiSimulator & { writeCalls(): unknown[]; loopNextLinks(pages: number): void },
  pagePath: RegExp,
): Omit<HarnessSim, 'settings' | 'expectedIds' | 'addEvents'> {
  return {
    account: { serviceAccountKey: sim.tokens.keyJson(), tokenUrl: sim.tokens.tokenUrl },
    inject: (f) => sim.inject(f),
    pagePath,
    loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
    writeCalls: () => sim.writeCalls(),
    credentialLeaks: () => [],
    requestCount: () => sim.requests().length,
    expireTokens: () => sim.tokens.expireTokens(),
    tokensIssued: () => sim.tokens.tokenRequestCount,
    stop: () => sim.stop(),
  };
}
