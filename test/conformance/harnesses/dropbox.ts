import { hashId } from '../../../src/core/envelope.ts';
import { DropboxSimulator } from '../../../src/sources/dropbox/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Dropbox's simulator for the conformance suite: the team log over the last hour, read by cursor in pages of
 * `pageSize`, through a refresh-token grant so a 401 exercises the renewal. Events have no id: the ids are
 * the events' hashes, as the source makes them.
 */
export const dropboxHarness: ConformanceHarness = {
  sourceId: 'dropbox',
  async start({ clock, pages, pageSize, eventBytes }) {
    const events = pages * pageSize;
    const sim = new DropboxSimulator({
      clock: clock.now,
      events,
      // Whole seconds apart (Dropbox's precision), so no two events are identical.
      spacingMs: Math.max(1000, Math.floor(3_300_000 / events / 1000) * 1000),
      eventBytes,
      seed: 47,
    });
    await sim.start();
    return {
      account: sim.account(),
      settings: { pageSize: Math.min(pageSize, 1000) },
      expectedIds: () => sim.events().map((e) => hashId(e)),
      addEvents: (n, o = {}) => {
        sim.addEvents(n, {
          from: clock.now() - (o.agoMs ?? 0),
          spacingMs: 1000,
          visibleDelayMs: o.visibleDelayMs,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/2\/team_log\/get_events/,
      loop: (on) => sim.loopNextCursors(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => [],
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.expireTokens(),
      tokensIssued: () => sim.tokensIssued(),
      stop: () => sim.stop(),
    };
  },
};
