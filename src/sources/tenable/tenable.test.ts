import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream } from '../../../test/support/drain-stream.ts';
import { tenableFields, tenable as tenableKind } from '../../accounts/tenable.ts';
import { validateSettings } from '../../config/config-file.ts';
import { TributaryError } from '../../core/errors.ts';
import type { ExportJobCheckpoint } from '../../engine/export-job.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import tenable, { findingId } from './index.ts';
import { TenableSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('tenable', { pollSeconds: 1, ...raw });
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

const drain = (
  sim: TenableSimulator,
  stream: string,
  o: { now: number; checkpoint?: unknown; settings?: Record<string, unknown>; stopAfter?: number },
) =>
  drainStream({
    source: tenable,
    kind: tenableKind,
    account: sim.account(),
    stream,
    ...o,
    settings: { pollSeconds: 1, ...o.settings },
    http: { maxRetryAfterMs: 2000 },
  });

const exportCalls = (sim: TenableSimulator) =>
  sim.requests().filter((r) => /^\/(vulns|assets)\/export$/.test(r.path));

describe('tenable', () => {
  it('checks the keys: 64 hex characters each, the secret a secret', () => {
    const k = 'a'.repeat(64);
    assert.equal(tenableFields.safeParse({ accessKey: k, secretKey: k }).success, true);
    assert.equal(tenableFields.safeParse({ accessKey: 'short', secretKey: k }).success, false);
    assert.deepEqual(tenableKind.secrets, ['secretKey']);
    assert.deepEqual(settingsOf(), { numAssets: 500, chunkSize: 1000, pollSeconds: 1 });
    assert.equal(validateSettings('tenable', { numAssets: 10 }).ok, false);
  });

  it('exports vulnerabilities indexed since the position, polls until finished, delivers every chunk once', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new TenableSimulator({
      clock: clock.now,
      records: 120,
      spacingMs: 30_000,
      processingPolls: 2,
      seed: 3,
    });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'vulnerabilities', { now: clock.now(), settings: { numAssets: 50 } });
    assert.deepEqual([...first.ids].sort(), sim.expectedIds('vulns').sort());
    assert.equal(new Set(first.ids).size, first.ids.length);
    const [created] = exportCalls(sim);
    assert.equal(created.headers['x-apikeys'], `accessKey=${sim.accessKey};secretKey=${sim.secretKey};`);
    assert.equal(first.batches[0].events.length, 0, 'the job is saved before any chunk is read');
    assert.equal(
      (first.checkpoint as ExportJobCheckpoint).since,
      new Date(T0 - 60_000).toISOString(),
      'the next export overlaps a minute',
    );
    const chunkCalls = sim.requests().filter((r) => /\/chunks\/\d+$/.test(r.path));
    assert.deepEqual(
      chunkCalls.map((r) => r.path.split('/').at(-1)),
      ['1', '2', '3'],
    );
    // A re-scan observation is a new event; the next export asks only what was indexed since.
    clock.advance(10 * 60_000);
    const [fixed] = sim.addRecords('vulns', 1, { seq: 7, from: clock.now() - 60_000, state: 'FIXED' });
    const second = await drain(sim, 'vulnerabilities', { now: clock.now(), checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [fixed]);
    assert.equal((second.batches.flatMap((b) => b.events)[0].raw as { state: string }).state, 'FIXED');
    assert.equal(exportCalls(sim).length, 2);
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('resumes the saved export after a crash instead of asking another; an expired one is asked again', async (t) => {
    const sim = new TenableSimulator({ clock: () => T0, records: 120, spacingMs: 30_000, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    const part = await drain(sim, 'assets', { now: T0, settings: { chunkSize: 100 }, stopAfter: 2 });
    assert.equal(part.ids.length, 100);
    const cp = part.checkpoint as ExportJobCheckpoint;
    assert.ok(cp.job?.id);
    const rest = await drain(sim, 'assets', { now: T0, settings: { chunkSize: 100 }, checkpoint: cp });
    assert.deepEqual([...part.ids, ...rest.ids].sort(), sim.expectedIds('assets').sort());
    assert.equal(exportCalls(sim).length, 1, 'the same export, resumed');
    sim.expireExports();
    const err = await drain(sim, 'assets', { now: T0, checkpoint: cp }).catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.code, 'export_expired');
  });

  it('waits out the concurrent-export limit (429 + retry-after); a duplicate export (409) is transient', async (t) => {
    const sim = new TenableSimulator({ clock: () => T0, records: 60, spacingMs: 30_000, seed: 5 });
    await sim.start();
    t.after(() => sim.stop());
    sim.inject({ kind: 'rate-limit', retryAfter: 0, path: '/vulns/export', method: 'POST' });
    const r = await drain(sim, 'vulnerabilities', { now: T0, settings: { numAssets: 50 } });
    assert.deepEqual([...r.ids].sort(), sim.expectedIds('vulns').sort());
    assert.equal(exportCalls(sim).length, 2, 'asked again after the 429');
    const dup = new TenableSimulator({ clock: () => T0, records: 3, processingPolls: 100, seed: 6 });
    await dup.start();
    t.after(() => dup.stop());
    const held = await drain(dup, 'vulnerabilities', { now: T0, stopAfter: 1 }); // an export left running
    assert.ok((held.checkpoint as ExportJobCheckpoint).job);
    const err = await drain(dup, 'vulnerabilities', { now: T0 }).catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.code, 'tenable_export_duplicate');
    assert.equal(err.type, 'transient');
  });

  it('reads the audit log by whole days, clipped to each window', async (t) => {
    const sim = new TenableSimulator({ clock: () => T0, records: 20, seed: 7 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, 'audit-log', { now: T0 });
    assert.deepEqual([...r.ids].sort(), sim.expectedIds('audit').sort());
    const q = sim.requests().find((x) => x.path === '/audit-log/v1/events');
    assert.deepEqual(q?.query.getAll('f'), ['date.gt:2026-11-24', 'date.lt:2026-11-26']);
  });

  it('names the keys or the role in errors, without the secret; Test Connection creates no export', async (t) => {
    const ok = new TenableSimulator({ records: 2, seed: 8 });
    const noAudit = new TenableSimulator({ records: 2, seed: 9, forbidden: ['audit'] });
    for (const s of [ok, noAudit]) {
      await s.start();
      t.after(() => s.stop());
    }
    const settings = settingsOf();
    assert.deepEqual(await testConnection(tenable, tenableKind, ok.account(), settings), { ok: true });
    const wrong = { ...ok.account(), secretKey: 'b'.repeat(64) };
    const bad = await testConnection(tenable, tenableKind, wrong, settings);
    assert.equal(!bad.ok && bad.error.code, 'tenable_invalid_keys');
    assert.doesNotMatch(JSON.stringify(bad), /bbbbbbbb/);
    const audit = await testConnection(tenable, tenableKind, noAudit.account(), settings);
    assert.equal(!audit.ok && audit.error.code, 'tenable_forbidden');
    if (!audit.ok) assert.match(audit.error.action, /audit log/);
    assert.deepEqual(
      await testConnection(tenable, tenableKind, noAudit.account(), settings, ['vulnerabilities']),
      {
        ok: true,
      },
    );
    assert.equal(ok.exportsCreated() + noAudit.exportsCreated(), 0);
  });

  it('gives findings without finding_id a key from asset, plugin and port', () => {
    assert.equal(
      findingId({
        asset: { uuid: 'a1' },
        plugin: { id: 19506 },
        port: { port: 443, protocol: 'TCP' },
        last_found: '2026-11-25T10:00:00.000Z',
        state: 'OPEN',
      }),
      'a1:19506:443:TCP@2026-11-25T10:00:00.000Z',
    );
    assert.equal(
      findingId({
        finding_id: 'f1',
        state: 'FIXED',
        last_found: '2026-11-20T10:00:00.000Z',
        last_fixed: '2026-11-25T10:00:00.000Z',
      }),
      'f1@2026-11-25T10:00:00.000Z',
    );
    assert.equal(findingId({ plugin: { id: 1 } }), undefined);
  });
});
