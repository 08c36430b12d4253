import { hashId } from '../../../src/core/envelope.ts';
import { MimecastSimulator } from '../../../src/sources/mimecast/simulator.ts';
import type { ConformanceHarness } from '../harness.ts';

/**
 * Mimecast's simulator for the conformance suite: receipt log files listed in pages (each file one batch of
 * `pageSize` records) and audit events; page faults hit the listing and the audit query (the files are on
 * the storage host, which takes no credentials: a 401 there is not a token problem).
 */
export const mimecastHarness: ConformanceHarness = {
  sourceId: 'mimecast',
  async start({ clock, pages, pageSize, eventBytes }) {
    const files = pages;
    const sim = new MimecastSimulator({
      clock: clock.now,
      files,
      recordsPerFile: pageSize,
      audits: Math.max(10, pageSize),
      auditSpacingMs: Math.floor(3_000_000 / Math.max(10, pageSize) / 1000) * 1000 || 1000,
      spacingMs: Math.floor(3_300_000 / files),
      eventBytes,
      seed: 43,
    });
    await sim.start();
    return {
      account: { clientId: sim.clientId, clientSecret: sim.clientSecret, url: sim.url },
      settings: { logTypes: ['receipt'], audit: true, pageSize: 1 },
      expectedIds: () =>
        [...sim.records('receipt'), ...sim.auditRecords()].map((r) =>
          typeof r.id === 'string' ? r.id : hashId(r),
        ),
      addEvents: (n, o = {}) => {
        const from = clock.now() - (o.agoMs ?? 0);
        sim.addFiles('receipt', 1, { from, visibleDelayMs: o.visibleDelayMs });
        sim.addAudits(n, { from, spacingMs: 1000, visibleDelayMs: o.visibleDelayMs });
      },
      inject: (f) => sim.inject(f),
      pagePath: /^\/(siem\/v1\/batch\/events\/cg|api\/audit\/get-audit-events)$/,
      loop: (on) => sim.loopNextPages(on ? 1000 : 0),
      writeCalls: () => sim.writeCalls(),
      credentialLeaks: () => sim.credentialLeaks(),
      requestCount: () => sim.requests().length,
      expireTokens: () => sim.expireTokens(),
      tokensIssued: () => sim.tokensIssued(),
      stop: () => sim.stop(),
    };
  },
};
