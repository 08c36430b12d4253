import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainGoogle, withGoogleSim } from '../../../test/support/google-source.ts';
import { type GoogleAccount, google } from '../../accounts/google.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import scc from './index.ts';
import { SccSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const withSim = <T>(
  o: ConstructorParameters<typeof SccSimulator>[0],
  fn: (sim: SccSimulator, account: GoogleAccount) => Promise<T>,
) => withGoogleSim(new SccSimulator(o), fn);

const drain = (
  account: GoogleAccount,
  settings: Record<string, unknown>,
  clock: ManualClock,
  checkpoint?: unknown,
) => drainGoogle(scc, 'findings', account, settings, clock, { checkpoint, lookbackMs: 24 * 3_600_000 });

const ids = (batches: Batch[]) => batches.flatMap((b) => b.events.map((e) => e.id!));

describe('gcp-security-command-center source', () => {
  it('validates settings with field paths', () => {
    const bad = validateSettings('gcp-security-command-center', {
      organizationId: 'organizations/12',
      location: 'EU!',
      pageSize: 5000,
    });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.ok(bad.issues.some((i) => i.startsWith('organizationId: expected the numeric organization ID')));
      assert.ok(bad.issues.some((i) => i.startsWith('location: expected a location')));
      assert.ok(bad.issues.some((i) => i.startsWith('pageSize:')));
    }
  });

  it('reads findings across sources oldest first, page by page, and resumes from a checkpoint', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 3 }, async (sim, account) => {
      sim.addFindings(37, { from: T0 - 10 * 3_600_000, spacingMs: 10 * 60_000 });
      const settings = { organizationId: sim.organization, pageSize: 5, baseUrl: sim.url };
      const all = await drain(account, settings, clock);
      assert.deepEqual(sorted(ids(all)), sorted(sim.ids()));
      const times = all.flatMap((b) => b.events.map((e) => e.time!));
      assert.deepEqual(times, [...times].sort(), 'oldest first');
      const e = all[0].events[0];
      const raw = e.raw as { finding: { name: string; eventTime: string }; resource: { type: string } };
      assert.equal(e.id, `${raw.finding.name}@${raw.finding.eventTime}`);
      assert.match(raw.finding.name, /^organizations\/\d+\/sources\/\d+\/locations\/global\/findings\/\w+$/);
      // A crash after the third page: the next run delivers the rest, nothing twice.
      const rest = await drain(account, settings, clock, all[2].checkpoint);
      const got = [...ids(all.slice(0, 3)), ...ids(rest)];
      assert.deepEqual(sorted(got), sorted(sim.ids()));
      assert.equal(new Set(got).size, got.length);
      const listed = sim.requests().filter((r) => r.path.endsWith('/findings'));
      assert.ok(listed.every((r) => r.query.get('orderBy') === 'event_time'));
      assert.ok(
        listed.some((r) => r.query.get('pageToken')),
        'paged with pageToken',
      );
      assert.deepEqual(sim.writeCalls(), []);
    });
  });

  it('a state change is a new event of the same finding ({name}@{eventTime})', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 5 }, async (sim, account) => {
      sim.addFindings(4, { from: T0 - 3_600_000, spacingMs: 60_000 });
      const settings = { organizationId: sim.organization, baseUrl: sim.url, lag: '1m' };
      const first = await drain(account, settings, clock);
      assert.equal(ids(first).length, 4);
      clock.advance(5 * 60_000);
      sim.update(2, 'INACTIVE', clock.now() - 2 * 60_000);
      const second = await drain(account, settings, clock, first.at(-1)!.checkpoint);
      assert.equal(ids(second).length, 1);
      const [updated] = second.flatMap((b) => b.events);
      const name = (updated.raw as { finding: { name: string; state: string } }).finding;
      assert.equal(name.state, 'INACTIVE');
      assert.ok(
        ids(first).some((id) => id.startsWith(`${name.name}@`)),
        'the same finding, read before',
      );
      assert.notEqual(
        updated.id,
        ids(first).find((id) => id.startsWith(`${name.name}@`)),
      );
    });
  });

  it('Test Connection proves the role and names what to fix; errors carry no secret', async () => {
    await withSim({}, async (sim, account) => {
      const settings = { organizationId: sim.organization, baseUrl: sim.url };
      assert.deepEqual(await testConnection(scc, google, account, settings), { ok: true });
      const badFilter = await testConnection(scc, google, account, { ...settings, filter: 'state ~ "X"' });
      assert.equal(badFilter.ok, false);
      if (!badFilter.ok) assert.equal(badFilter.error.code, 'google_bad_request');
      const other = await testConnection(scc, google, account, { ...settings, location: 'eu' });
      assert.equal(other.ok, false);
      if (!other.ok) {
        assert.equal(other.error.code, 'scc_not_found');
        assert.match(other.error.action, /location/);
      }
      sim.roles.clear();
      const denied = await testConnection(scc, google, account, settings);
      assert.equal(denied.ok, false);
      if (!denied.ok) {
        assert.equal(denied.error.code, 'scc_findings_denied');
        assert.match(denied.error.action, /roles\/securitycenter\.findingsViewer/);
        assert.doesNotMatch(JSON.stringify(denied.error), /PRIVATE KEY|Bearer /);
      }
      const narrowed = await testConnection(
        scc,
        google,
        { ...account, scopes: ['https://www.googleapis.com/auth/logging.read'] },
        settings,
      );
      assert.equal(narrowed.ok, false);
      if (!narrowed.ok) assert.equal(narrowed.error.code, 'google_scope_missing');
    });
  });
});

function sorted(a: string[]): string[] {
  return [...a].sort();
}
