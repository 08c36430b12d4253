import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainGoogle, withGoogleSim } from '../../../test/support/google-source.ts';
import { type GoogleAccount, google } from '../../accounts/google.ts';
import { validateSettings } from '../../config/config-file.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import { entryId } from '../cloud-logging.ts';
import gemini, { streamFilter } from './index.ts';
import { CloudLoggingSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const withSim = <T>(
  o: ConstructorParameters<typeof CloudLoggingSimulator>[0],
  fn: (sim: CloudLoggingSimulator, account: GoogleAccount) => Promise<T>,
) => withGoogleSim(new CloudLoggingSimulator(o), fn);

const drain = (
  log: string,
  account: GoogleAccount,
  settings: Record<string, unknown>,
  clock: ManualClock,
  checkpoint?: unknown,
) => drainGoogle(gemini, log, account, settings, clock, { checkpoint, lookbackMs: 2 * 3_600_000 });

describe('gemini-enterprise source', () => {
  it('validates settings with paths and builds the documented log filters', () => {
    const bad = validateSettings('gemini-enterprise', { projectId: 'Acme!', logs: ['chat'] });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.ok(bad.issues.some((i) => i.startsWith('projectId: expected a Google Cloud project ID')));
      assert.ok(bad.issues.some((i) => i.startsWith('logs.0:')));
    }
    const ok = validateSettings('gemini-enterprise', { projectId: 'acme-gemini' });
    assert.ok(ok.ok);
    if (!ok.ok) return;
    const s = ok.settings as Parameters<typeof streamFilter>[0];
    assert.equal(
      streamFilter(s, 'user-activity'),
      'logName="projects/acme-gemini/logs/discoveryengine.googleapis.com%2Fgemini_enterprise_user_activity"',
    );
    assert.match(
      streamFilter({ ...s, filter: 'severity>=WARNING' }, 'data-access'),
      /%2Fdata_access" AND protoPayload\.serviceName="discoveryengine\.googleapis\.com" AND \(severity>=WARNING\)$/,
    );
  });

  it('ids entries by logName, timestamp and insertId, so a reused insertId is not merged', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 2, entries: { 'user-activity': 40 } }, async (sim, account) => {
      const settings = { projectId: sim.projectId, logs: ['user-activity'], pageSize: 6, baseUrl: sim.url };
      const batches = await drain('user-activity', account, settings, clock);
      const ids = batches.flatMap((b) => b.events.map((e) => e.id));
      const entries = sim.entries('user-activity');
      const insertIds = new Set(entries.map((e) => e.insertId));
      assert.ok(insertIds.size < entries.length, 'the simulator reuses insertIds at other timestamps');
      assert.deepEqual([...ids].sort(), entries.map((e) => entryId(e)).sort());
      assert.equal(new Set(ids).size, entries.length);
      const e = batches[0].events[0];
      const raw = e.raw as { logName: string; timestamp: string; insertId: string };
      assert.equal(e.id, `${raw.logName}/${raw.timestamp}/${raw.insertId}`);
      assert.match(raw.timestamp, /\.\d{9}Z$/, 'nanosecond timestamps are kept verbatim');
      assert.equal(e.time, `${raw.timestamp.slice(0, 23)}Z`);
      // Oldest first: the position advances page by page and never stores a page token.
      const cps = batches.map((b) => b.checkpoint as TimeWindowCheckpoint);
      assert.ok(cps.every((c) => c.next === undefined));
      assert.ok(cps.every((c, i) => i === 0 || c.since >= cps[i - 1].since));
      // Only read-only POSTs reached the vendor, each asking for the oldest entries first.
      assert.deepEqual(sim.writeCalls(), []);
    });
  });

  it('keeps paging through empty pages that carry a nextPageToken ("did not have time to search")', async () => {
    const clock = new ManualClock(T0);
    await withSim(
      { clock: clock.now, seed: 4, entries: { 'user-activity': 12, 'admin-activity': 30 }, scanLimit: 5 },
      async (sim, account) => {
        const settings = {
          projectId: sim.projectId,
          logs: ['user-activity'],
          pageSize: 100,
          baseUrl: sim.url,
        };
        const batches = await drain('user-activity', account, settings, clock);
        assert.ok(
          batches.some((b) => b.events.length === 0),
          'some pages were empty',
        );
        assert.equal(batches.flatMap((b) => b.events).length, 12);
      },
    );
  });

  it('resumes from its checkpoint after a restart without duplicates', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 6, entries: { 'data-access': 25 } }, async (sim, account) => {
      const settings = { projectId: sim.projectId, logs: ['data-access'], pageSize: 10, baseUrl: sim.url };
      const first = await drain('data-access', account, settings, clock);
      const rest = await drain('data-access', account, settings, clock, first[0].checkpoint);
      const ids = [...first[0].events, ...rest.flatMap((b) => b.events)].map((e) => e.id);
      assert.equal(ids.length, 25);
      assert.equal(new Set(ids).size, 25);
    });
  });

  it('Test Connection reads as the service account and names missing roles per log', async () => {
    await withSim({}, async (sim, account) => {
      const settings = { projectId: sim.projectId, baseUrl: sim.url };
      // The subject is not used for Cloud Logging (the simulator refuses delegated callers).
      assert.deepEqual(
        await testConnection(gemini, google, { ...account, subject: 'admin@example.com' }, settings),
        { ok: true },
      );

      sim.roles.delete('roles/logging.privateLogViewer');
      const ok = await testConnection(gemini, google, account, settings, ['user-activity', 'admin-activity']);
      assert.deepEqual(ok, { ok: true });
      const dataAccess = await testConnection(gemini, google, account, settings, ['data-access']);
      assert.equal(dataAccess.ok, false);
      if (!dataAccess.ok) {
        assert.equal(dataAccess.error.code, 'google_private_logs_denied');
        assert.match(dataAccess.error.action, /roles\/logging\.privateLogViewer/);
      }

      sim.roles.clear();
      const denied = await testConnection(gemini, google, account, settings, ['user-activity']);
      assert.equal(denied.ok, false);
      if (!denied.ok) {
        assert.equal(denied.error.code, 'google_logging_denied');
        assert.match(denied.error.action, /roles\/logging\.viewer/);
      }
      sim.roles.add('roles/logging.viewer');

      const badFilter = await testConnection(gemini, google, account, { ...settings, filter: 'severity>=' }, [
        'user-activity',
      ]);
      assert.equal(badFilter.ok, false);
      if (!badFilter.ok) {
        assert.equal(badFilter.error.code, 'google_bad_request');
        assert.match(badFilter.error.action, /filter/);
      }
    });
  });
});
