import { ChatGptComplianceSimulator } from '../../../src/sources/chatgpt-enterprise/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

const TYPES = ['AUDIT_LOG', 'AUTH_LOG'] as const;

/**
 * ChatGPT Enterprise's simulator set up for the conformance suite: two event types, files of
 * `pageSize` events five minutes apart, the boundary re-return quirk and concatenated-JSON files on.
 * Late events arrive the way OpenAI documents it: in a later file.
 */
export const chatgptHarness: ConformanceHarness = {
  sourceId: 'chatgpt-enterprise',
  exemptions: {
    'token-refresh':
      'The OpenAI admin key is a static credential: there is no access token to expire and refresh.',
  },
  async start({ clock, pages, pageSize, eventBytes }) {
    const sim = new ChatGptComplianceSimulator({
      clock: clock.now,
      seed: 11,
      eventTypes: [...TYPES],
      filesPerType: Math.ceil(pages / 2),
      eventsPerFile: 0,
      fileSpacingMs: 5 * 60_000,
      reReturnBoundary: true,
      concatenatedJson: true,
      rateLimitPerMinute: 1_000_000,
    });
    // Files carry `pageSize` events (the constructor's files are empty, so sizes are under our control).
    const now = clock.now();
    for (let i = 0; i < Math.ceil(pages / 2); i++) {
      for (const type of TYPES)
        sim.addFile(type, {
          endTime: now - 60 * 60_000 + i * 5 * 60_000 + 30_000,
          events: pageSize,
          eventBytes,
        });
    }
    await sim.start();
    await sim.ready();
    return {
      account: { apiKey: sim.apiKey, organizationId: sim.organizationId },
      settings: { workspaceId: sim.workspaceId, eventTypes: [...TYPES], baseUrl: sim.baseUrl },
      expectedIds: () => TYPES.flatMap((t) => [...sim.eventIds(t)]),
      addEvents: (n, o = {}) => {
        // Late events land in a later file (OpenAI: "late events … may appear in a later file").
        sim.addFile('AUDIT_LOG', {
          endTime: clock.now(),
          events: n,
          spanMs: (o.agoMs ?? 0) + (o.visibleDelayMs ?? 0) + 1000,
        });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/v1\/compliance\/.*\/logs/,
      loop: (on) => sim.loopNextLinks(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => sim.authLeaks(),
      requestCount: () => sim.requests().length,
      stop: () => sim.stop(),
    };
  },
};
