import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainGoogle, withGoogleSim } from '../../../test/support/google-source.ts';
import { type GoogleAccount, google } from '../../accounts/google.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import { entryId } from '../cloud-logging.ts';

import logging, { type CloudLoggingSettings, queryOf } from './index.ts';

import { GcpLoggingSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const ORG = 'organizations/123456789012';
const FOLDER = 'folders/987654321';

const withSim = <T>(
  o: ConstructorParameters<typeof GcpLoggingSimulator>[0],
  fn: (sim: GcpLoggingSimulator, account: GoogleAccount) => Promise<T>,
) => withGoogleSim(new GcpLoggingSimulator(o), fn);

const drain = (
  account: GoogleAccount,
  settings: Record<string, unknown>,
  clock: ManualClock,
  checkpoint?: unknown,
) => drainGoogle(logging, 'entries', account, settings, clock, { checkpoint, lookbackMs: 2 * 3_600_000 });

const ids = (batches: Batch[]) => batches.flatMap((b) => b.events.map((e) => e.id));

describe('gcp-cloud-logging source', () => {
  it('validates settings with field paths and builds the query from log names and resource types', () => {
    const bad = validateSettings('gcp-cloud-logging', {
      resourceNames: ['project/acme'],
      logNames: ['bad log'],
      resourceTypes: ['GCE Instance'],
    });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.ok(bad.issues.some((i) => i.startsWith('resourceNames.0: expected projects/PROJECT_ID')));
      assert.ok(bad.issues.some((i) => i.startsWith('logNames.0: expected a log id')));
      assert.ok(bad.issues.some((i) => i.startsWith('resourceTypes.0: expected a monitored resource type')));
    }
    const none = validateSettings('gcp-cloud-logging', {});
    assert.equal(none.ok, false);
    const tooLong = validateSettings('gcp-cloud-logging', {
      resourceNames: Array.from({ length: 100 }, (_, i) => `projects/acme-project-${i}`),
      logNames: Array.from({ length: 5 }, (_, i) => `cloudaudit.googleapis.com/log-${i}`),
    });
    assert.equal(tooLong.ok, false);
    if (!tooLong.ok)
      assert.match(tooLong.issues.join('\n'), /logNames: the query .* above Cloud Logging's 20000/);

    const s: CloudLoggingSettings = {
      resourceNames: ['projects/acme-prod', ORG],
      logNames: ['cloudaudit.googleapis.com/activity'],
      resourceTypes: ['gce_instance', 'project'],
      filter: 'severity>=NOTICE',
      pageSize: 1000,
    };
    assert.equal(
      queryOf(s),
      '(logName="projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity" OR logName="organizations/123456789012/logs/cloudaudit.googleapis.com%2Factivity") AND (resource.type="gce_instance" OR resource.type="project") AND (severity>=NOTICE)',
    );
  });

  it('reads projects, folders and organizations in one query, oldest first, ids logName/timestamp/insertId', async () => {
    const clock = new ManualClock(T0);
    await withSim(
      { clock: clock.now, seed: 3, parents: ['projects/acme-prod', ORG, FOLDER], entries: {} },
      async (sim, account) => {
        const from = T0 - 3_600_000;
        sim.addEntries('activity', 20, { from, spacingMs: 60_000 });
        sim.addEntries('syslog', 20, { from, spacingMs: 60_000 });
        sim.addEntries('activity', 7, { from, spacingMs: 90_000, parent: ORG });
        sim.addEntries('activity', 4, { from, spacingMs: 90_000, parent: FOLDER });
        const settings = {
          resourceNames: ['projects/acme-prod', ORG, FOLDER],
          pageSize: 6,
          baseUrl: sim.url,
        };
        const batches = await drain(account, settings, clock);
        const got = ids(batches);
        const want = sim.entries().map((e) => entryId(e)!);
        assert.deepEqual([...got].sort(), [...want].sort());
        assert.equal(new Set(got).size, 51, 'the reused syslog insertIds at other timestamps stay apart');
        const times = batches.flatMap((b) => b.events.map((e) => e.time!));
        assert.deepEqual(times, [...times].sort(), 'oldest first');
        const org = batches.flatMap((b) => b.events).find((e) => String(e.id).startsWith(ORG))!;
        assert.equal((org.raw as { resource: { type: string } }).resource.type, 'organization');
        const cps = batches.map((b) => b.checkpoint as TimeWindowCheckpoint);
        assert.ok(
          cps.every((c) => c.next === undefined),
          'no page token is stored',
        );
        assert.ok(batches.length >= 9, 'paged by 6');
        assert.deepEqual(sim.writeCalls(), []);
      },
    );
  });

  it('filters by log names and resource types, and resumes from its checkpoint without duplicates', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 5 }, async (sim, account) => {
      const settings = {
        resourceNames: ['projects/acme-prod'],
        logNames: ['cloudaudit.googleapis.com/activity', 'syslog'],
        resourceTypes: ['gce_instance', 'gcs_bucket'],
        pageSize: 4,
        baseUrl: sim.url,
      };
      const want = sim
        .entries()
        .filter(
          (e) =>
            /%2Factivity$|\/syslog$/.test(String(e.logName)) &&
            ['gce_instance', 'gcs_bucket'].includes((e.resource as { type: string }).type),
        )
        .map((e) => entryId(e)!);
      assert.ok(want.length > 8 && want.length < sim.entries().length);
      const first = await drain(account, settings, clock);
      // A crash after the second page: the next run starts from that page's checkpoint.
      const rest = await drain(account, settings, clock, first[1].checkpoint);
      const got = [...ids(first.slice(0, 2)), ...ids(rest)];
      assert.deepEqual([...got].sort(), [...want].sort());
      assert.equal(new Set(got).size, got.length, 'no duplicates after the restart');
    });
  });

  it('reads entries received late once they are inside the lag, without repeating the boundary', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 7, entries: { activity: 10 } }, async (sim, account) => {
      const settings = { resourceNames: ['projects/acme-prod'], lag: '2m', baseUrl: sim.url };
      const first = await drain(account, settings, clock);
      assert.equal(ids(first).length, 10);
      // Entries timestamped 90 s ago become visible only now (received late): inside the lag they wait.
      sim.addEntries('activity', 3, { from: clock.now() - 90_000, spacingMs: 1000, visibleDelayMs: 30_000 });
      clock.advance(60_000);
      const second = await drain(account, settings, clock, first.at(-1)!.checkpoint);
      clock.advance(120_000);
      const third = await drain(account, settings, clock, (second.at(-1) ?? first.at(-1)!).checkpoint);
      const all = [...ids(first), ...ids(second), ...ids(third)];
      assert.equal(all.length, 13);
      assert.equal(new Set(all).size, 13);
    });
  });

  it('Test Connection probes each resource and names the role to grant; errors carry no secret', async () => {
    await withSim({ parents: ['projects/acme-prod', ORG] }, async (sim, account) => {
      const settings = { resourceNames: ['projects/acme-prod', ORG], baseUrl: sim.url };
      assert.deepEqual(await testConnection(logging, google, account, settings), { ok: true });

      const unknown = await testConnection(logging, google, account, {
        ...settings,
        resourceNames: ['projects/acme-prod', 'folders/42'],
      });
      assert.equal(unknown.ok, false);
      if (!unknown.ok) {
        assert.equal(unknown.error.code, 'google_logging_denied');
        assert.match(unknown.error.action, /roles\/logging\.viewer/);
        assert.doesNotMatch(JSON.stringify(unknown.error), /PRIVATE KEY|Bearer /);
      }

      sim.roles.delete('roles/logging.privateLogViewer');
      const dataAccess = await testConnection(logging, google, account, {
        ...settings,
        logNames: ['cloudaudit.googleapis.com/data_access'],
      });
      assert.equal(dataAccess.ok, false);
      if (!dataAccess.ok) {
        assert.equal(dataAccess.error.code, 'google_private_logs_denied');
        assert.match(dataAccess.error.action, /roles\/logging\.privateLogViewer.*data_access/);
      }
      const badFilter = await testConnection(logging, google, account, {
        ...settings,
        logNames: ['syslog'],
        filter: 'severity>=',
      });
      assert.equal(badFilter.ok, false);
      if (!badFilter.ok) assert.equal(badFilter.error.code, 'google_bad_request');
    });
  });

  it('waits out the 60-a-minute quota (429 RESOURCE_EXHAUSTED) and renews a refused token', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 9, entries: { activity: 30 } }, async (sim, account) => {
      const settings = { resourceNames: ['projects/acme-prod'], pageSize: 5, baseUrl: sim.url };
      sim.inject({ kind: 'rate-limit', path: /entries:list/, retryAfter: 0 });
      const first = await drain(account, settings, clock);
      assert.equal(ids(first).length, 30);
      const issued = sim.tokens.tokenRequestCount;
      sim.tokens.expireTokens();
      sim.addEntries('activity', 3, { from: clock.now() - 60_000, spacingMs: 1000 });
      clock.advance(300_000);
      const second = await drain(account, settings, clock, first.at(-1)!.checkpoint);
      assert.equal(ids(second).length, 3);
      assert.ok(sim.tokens.tokenRequestCount > issued, 'a new token was requested after the 401');
    });
  });
});
