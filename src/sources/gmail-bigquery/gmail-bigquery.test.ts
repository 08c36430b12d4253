import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainGoogle, withGoogleSim } from '../../../test/support/google-source.ts';
import { type GoogleAccount, google } from '../../accounts/google.ts';
import { validateSettings } from '../../config/config-file.ts';
import { toTributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import gmail, { decodeRow, rowId } from './index.ts';
import { BigQuerySimulator, GMAIL_SCHEMA } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const withSim = <T>(
  o: ConstructorParameters<typeof BigQuerySimulator>[0],
  fn: (sim: BigQuerySimulator, account: GoogleAccount) => Promise<T>,
) => withGoogleSim(new BigQuerySimulator(o), fn);

const drain = (
  account: GoogleAccount,
  settings: Record<string, unknown>,
  clock: ManualClock,
  checkpoint?: unknown,
) => drainGoogle(gmail, 'messages', account, settings, clock, { checkpoint, lookbackMs: 6 * 3_600_000 });

const ids = (batches: Batch[]) => batches.flatMap((b) => b.events.map((e) => e.id!));
const sorted = (a: string[]) => [...a].sort();

describe('gmail-bigquery source', () => {
  it('validates settings and decodes BigQuery rows by their schema', () => {
    const bad = validateSettings('gmail-bigquery', { projectId: 'Acme', maximumBytesBilled: 1000 });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.ok(bad.issues.some((i) => i.startsWith('projectId: expected a Google Cloud project ID')));
      assert.ok(bad.issues.some((i) => i.startsWith('maximumBytesBilled: expected at least 10485760')));
    }
    const row = decodeRow(GMAIL_SCHEMA.fields, {
      f: [
        { v: { f: [{ v: '1764072000000123' }, { v: '5' }, { v: 'true' }, { v: null }] } },
        {
          v: {
            f: [
              { v: '<a@b>' },
              { v: 'Hi' },
              { v: { f: [{ v: 'x@example.com' }, { v: null }, { v: 'smtp-inbound' }] } },
              { v: [{ v: { f: [{ v: 'y@example.com' }, { v: 'gmail-ui' }] } }] },
              { v: 'false' },
              { v: '10' },
              { v: null },
            ],
          },
        },
      ],
    });
    assert.deepEqual(row.event_info, {
      timestamp_usec: '1764072000000123',
      elapsed_time_usec: '5',
      success: true,
      mail_event_type: null,
    });
    const info = row.message_info as { destination: unknown[]; is_spam: boolean };
    assert.deepEqual(info.destination, [{ address: 'y@example.com', service: 'gmail-ui' }]);
    assert.equal(info.is_spam, false);
  });

  it('runs one job per window, polls until jobComplete, pages the results and resumes from a checkpoint', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 2, pollsToComplete: 2 }, async (sim, account) => {
      sim.addRows(23, { from: T0 - 2 * 3_600_000, spacingMs: 60_000 });
      const settings = { projectId: sim.projectId, pageSize: 5, baseUrl: sim.url };
      const all = await drain(account, settings, clock);
      const want = sim.records().map(rowId);
      assert.deepEqual(sorted(ids(all)), sorted(want));
      assert.equal(new Set(ids(all)).size, 23);
      const times = all.flatMap((b) => b.events.map((e) => e.time!));
      assert.deepEqual(times, [...times].sort(), 'oldest first');
      const e = all.flatMap((b) => b.events)[0];
      const raw = e.raw as { event_info: { timestamp_usec: string } };
      assert.equal(e.time, new Date(Number(BigInt(raw.event_info.timestamp_usec) / 1000n)).toISOString());
      const posts = sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/queries'));
      const gets = sim.requests().filter((r) => r.method === 'GET' && r.path.includes('/queries/'));
      assert.ok(posts.length >= 1);
      assert.ok(
        gets.some((r) => r.query.get('pageToken')),
        'results paged with pageToken',
      );
      assert.ok(
        gets.filter((r) => !r.query.get('pageToken')).length >= 2,
        'polled while jobComplete was false',
      );
      const body = sim.queries[0];
      assert.equal(body.maximumBytesBilled, String(10 * 1024 ** 3));
      assert.equal(body.useLegacySql, false);
      assert.match(
        body.query,
        /gmail_logs_dataset\.daily_\*` WHERE _TABLE_SUFFIX BETWEEN @first_day AND @last_day/,
      );
      assert.deepEqual(sim.writeCalls(), [], 'no call but the declared jobs.query');
      // A crash after the second page: the next run delivers the rest, nothing twice.
      const rest = await drain(account, settings, clock, all[1].checkpoint);
      const got = [...ids(all.slice(0, 2)), ...ids(rest)];
      assert.deepEqual(sorted(got), sorted(want));
      assert.equal(new Set(got).size, got.length);
    });
  });

  it('the maximumBytesBilled guard: BigQuery refuses the job, the run stops with the size needed', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 3 }, async (sim, account) => {
      sim.addRows(30, { from: T0 - 2 * 3_600_000 });
      const settings = {
        projectId: sim.projectId,
        baseUrl: sim.url,
        maximumBytesBilled: 10 * 1024 * 1024 - 0,
      };
      // The minimum bill is 10 MB: a cap of exactly 10 MB passes, one byte more of scanned data does not.
      await drain(account, settings, clock);
      assert.equal(sim.billed.length > 0, true);
      sim.addRows(20_000, { from: T0 - 3 * 3_600_000, spacingMs: 10 });
      const err = await drain(account, settings, new ManualClock(T0)).then(
        () => undefined,
        (e) => toTributaryError(e),
      );
      assert.ok(err, 'the run failed');
      assert.equal(err.code, 'bigquery_bytes_billed_limit');
      assert.equal(err.type, 'config');
      assert.match(err.action ?? '', /Raise maximumBytesBilled/);
    });
  });

  it('waits out 403 rateLimitExceeded (a quota, not a permission)', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 4 }, async (sim, account) => {
      sim.addRows(5, { from: T0 - 3_600_000 });
      sim.inject({
        kind: 'status',
        status: 403,
        path: /\/queries$/,
        headers: { 'retry-after': '0' },
        body: {
          error: {
            code: 403,
            message: 'Exceeded rate limits: too many api requests per user per method for this user_method.',
            errors: [{ reason: 'rateLimitExceeded', domain: 'usageLimits' }],
            status: 'PERMISSION_DENIED',
          },
        },
      });
      const all = await drain(account, { projectId: sim.projectId, baseUrl: sim.url }, clock);
      assert.equal(ids(all).length, 5);
    });
  });

  it('Test Connection dry-runs a day (no job billed) and names the role, location or cap to fix', async () => {
    await withSim({}, async (sim, account) => {
      sim.addRows(50);
      const settings = { projectId: sim.projectId, baseUrl: sim.url, location: 'US' };
      assert.deepEqual(await testConnection(gmail, google, account, settings), { ok: true });
      assert.deepEqual(sim.billed, [], 'a dry run bills nothing');
      const where = await testConnection(gmail, google, account, { ...settings, location: 'EU' });
      assert.equal(where.ok, false);
      if (!where.ok) assert.equal(where.error.code, 'bigquery_not_found');
      sim.addRows(20_000, { spacingMs: 1 });
      const capped = await testConnection(gmail, google, account, {
        ...settings,
        maximumBytesBilled: 10 * 1024 * 1024,
      });
      assert.equal(capped.ok, false);
      if (!capped.ok) {
        assert.equal(capped.error.code, 'bigquery_bytes_billed_limit');
        assert.match(capped.error.action, /at least \d+/);
      }
      sim.roles.delete('roles/bigquery.dataViewer');
      const viewer = await testConnection(gmail, google, account, settings);
      assert.equal(viewer.ok, false);
      if (!viewer.ok) {
        assert.equal(viewer.error.code, 'bigquery_data_viewer_missing');
        assert.match(viewer.error.action, /roles\/bigquery\.dataViewer/);
      }
      sim.roles.clear();
      const jobs = await testConnection(gmail, google, account, settings);
      assert.equal(jobs.ok, false);
      if (!jobs.ok) {
        assert.equal(jobs.error.code, 'bigquery_job_user_missing');
        assert.match(jobs.error.action, /roles\/bigquery\.jobUser/);
        assert.doesNotMatch(JSON.stringify(jobs.error), /PRIVATE KEY|Bearer /);
      }
    });
  });
});
