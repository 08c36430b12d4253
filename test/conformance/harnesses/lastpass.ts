import { lastpassEventId } from '../../../src/sources/lastpass/index.ts';
import { LastPassSimulator } from '../../../src/sources/lastpass/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * LastPass's simulator for the conformance suite: reporting events over the last hour, newest first, in
 * answers of `pageSize` events linked by `next` (LastPass's 10,000, made small), the CID and provisioning
 * hash in each request body.
 */
export const lastpassHarness: ConformanceHarness = {
  sourceId: 'lastpass',
  exemptions: {
    'token-refresh':
      'the lastpass account sends its CID and provisioning hash in every request body: there is no access token to expire or renew',
    'empty-pages':
      'a LastPass answer is the whole time range asked (next only when it holds more than the cap): an empty answer (data [], next null) for a window with events cannot be told from a window without',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new LastPassSimulator({
      clock: clock.now,
      events,
      // Whole seconds apart at least: LastPass's times are whole seconds.
      spacingMs: Math.max(1000, Math.floor(3_300_000 / events / 1000) * 1000),
      eventBytes,
      maxPerAnswer: pageSize,
      seed: 71,
    });
    await sim.start();
    return {
      account: sim.account(),
      settings: {},
      streams: ['events'],
      expectedIds: () => sim.records().map((e) => lastpassEventId(e)),
      addEvents: (n, o = {}) =>
        sim.addEvents(n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 1000,
          visibleDelayMs: o.visibleDelayMs,
        }),
      inject: (f) => sim.inject(f),
      pagePath: /^\/enterpriseapi\.php$/,
      loop: (on) => sim.loopNext(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
