import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type GoogleAccount, google } from '../../accounts/google.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { tokenCache } from '../../engine/oauth.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import workspace, { defaultLag, eventIds } from './index.ts';
import { GoogleWorkspaceSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

async function withSim<T>(
  o: ConstructorParameters<typeof GoogleWorkspaceSimulator>[0],
  fn: (sim: GoogleWorkspaceSimulator, account: GoogleAccount) => Promise<T>,
): Promise<T> {
  const sim = new GoogleWorkspaceSimulator(o);
  await sim.start();
  try {
    return await fn(sim, {
      serviceAccountKey: sim.tokens.keyJson(),
      subject: sim.admin,
      tokenUrl: sim.tokens.tokenUrl,
    });
  } finally {
    await sim.stop();
  }
}

const http = (account: GoogleAccount) => {
  const h: Http = new Http({
    vendor: 'Google Workspace',
    authorize: (headers, refresh, url) => google.authorize(account, headers, { refresh, http: h, url }),
    explain: workspace.explain,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
  });
  return h;
};

async function drain(
  app: string,
  account: GoogleAccount,
  settings: Record<string, unknown>,
  clock: ManualClock,
  checkpoint?: unknown,
  /** Called after each batch is read, as a slow destination would take its time. */
  afterBatch?: (n: number) => void,
): Promise<Batch[]> {
  const checked = validateSettings('google-workspace', settings);
  assert.ok(checked.ok, checked.ok ? '' : checked.issues.join('; '));
  const ctx = readContext(http(account), {
    stream: app,
    settings: checked.settings,
    account,
    checkpoint,
    now: clock.now,
    window: { lookbackMs: 2 * 3_600_000 },
  });
  const out: Batch[] = [];
  for await (const b of workspace.streams[app].read(ctx)) {
    out.push(b);
    afterBatch?.(out.length);
  }
  return out;
}

describe('google-workspace source', () => {
  it('lists one stream per Reports API application and validates settings with paths', () => {
    assert.ok(
      workspace.streams.gemini_in_workspace_apps && workspace.streams.login && workspace.streams.drive,
    );
    assert.equal(Object.keys(workspace.streams).length, 34);
    const bad = validateSettings('google-workspace', {
      applications: ['login', 'mail'],
      lag: { drive: 'soon' },
    });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.ok(bad.issues.some((i) => i.startsWith('applications.1:')));
      assert.ok(bad.issues.some((i) => i.startsWith('lag.drive: expected a duration')));
    }
    const ok = validateSettings('google-workspace', {});
    assert.ok(ok.ok);
    // the applications are the streams; with none named, the defaults
    assert.ok(workspace.defaultStreams?.(ok.settings as never).includes('gemini_in_workspace_apps'));
  });

  it("defaults the lag from Google's documented lag times", () => {
    assert.equal(defaultLag('admin'), '10m');
    assert.equal(defaultLag('calendar'), '2h');
    assert.equal(defaultLag('cloud_search'), '4h');
    assert.equal(defaultLag('drive'), '30m');
  });

  it('Test Connection passes as the delegated admin, and names each failure', async () => {
    await withSim({}, async (sim, account) => {
      const settings = { applications: ['login', 'admin'], baseUrl: sim.url };
      assert.deepEqual(await testConnection(workspace, google, account, settings), { ok: true });

      const noSubject = await testConnection(workspace, google, { ...account, subject: undefined }, settings);
      assert.equal(noSubject.ok, false);
      if (!noSubject.ok) assert.equal(noSubject.error.code, 'google_subject_required');

      const notAdmin = await testConnection(workspace, google, { ...account, subject: sim.user }, settings);
      assert.equal(notAdmin.ok, false);
      if (!notAdmin.ok) {
        assert.equal(notAdmin.error.status, 403);
        assert.equal(notAdmin.error.code, 'google_reports_not_authorized');
        assert.match(notAdmin.error.action, /Reports privilege/);
      }

      sim.tokens.delegatedScopes.clear();
      tokenCache.clear(); // the token issued before the delegation was withdrawn would still be valid
      const noDelegation = await testConnection(
        workspace,
        google,
        { ...account, subject: sim.user },
        settings,
      );
      assert.equal(noDelegation.ok, false);
      if (!noDelegation.ok) {
        assert.equal(noDelegation.error.code, 'oauth_token_refused');
        assert.match(noDelegation.error.action, new RegExp(`client ID ${sim.tokens.clientId}`));
        assert.doesNotMatch(JSON.stringify(noDelegation.error), /PRIVATE KEY/);
      }
      assert.deepEqual(sim.writeCalls(), []);
    });
  });

  it('delivers one record per event, the activity narrowed to it, with stable ids', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 3, activities: { drive: 60 } }, async (sim, account) => {
      const batches = await drain(
        'drive',
        account,
        { applications: ['drive'], pageSize: 7, lag: { drive: '1m' }, baseUrl: sim.url },
        clock,
      );
      const events = batches.flatMap((b) => b.events);
      const expected = sim.activities('drive').flatMap((a) => eventIds('drive', a) ?? []);
      assert.ok(expected.length > 60, 'some drive activities hold several events');
      assert.deepEqual(events.map((e) => e.id).sort(), [...expected].sort());
      for (const e of events) {
        const raw = e.raw as {
          id: { time: string; uniqueQualifier: string };
          events: Array<{ name: string }>;
        };
        assert.equal(raw.events.length, 1);
        assert.equal(
          e.id,
          `drive:${raw.id.time}:${raw.id.uniqueQualifier}:${e.id?.split(':').at(-2)}:${raw.events[0].name}`,
        );
        assert.equal(e.time, raw.id.time);
      }
      // Newest first: the window's position only moves when its last page is read.
      const cps = batches.map((b) => b.checkpoint as TimeWindowCheckpoint);
      assert.ok(cps.slice(0, -1).every((c) => c.since === cps[0].since && c.next && c.end));
      assert.equal(cps.at(-1)?.next, undefined);
      assert.ok(Date.parse(cps.at(-1)?.since ?? '') > Date.parse(cps[0].since));
    });
  });

  it('restarts a window whose saved page token Google refuses, without loss or duplicates', async () => {
    const clock = new ManualClock(T0);
    await withSim(
      { clock: clock.now, seed: 4, activities: { login: 30 }, pageTokenTtlMs: 60_000 },
      async (sim, account) => {
        const settings = { applications: ['login'], pageSize: 10, lag: { login: '1m' }, baseUrl: sim.url };
        const first = await drain('login', account, settings, clock);
        const saved = first[0].checkpoint as TimeWindowCheckpoint;
        assert.ok(saved.next, 'a mid-window checkpoint');
        clock.advance(10 * 60_000); // the saved token is now older than the simulator keeps tokens
        const resumed = await drain('login', account, settings, clock, saved);
        const ids = [...first[0].events, ...resumed.flatMap((b) => b.events)].map((e) => e.id);
        const expected = sim.activities('login').flatMap((a) => eventIds('login', a) ?? []);
        assert.deepEqual([...ids].sort(), [...expected].sort());
        assert.equal(new Set(ids).size, ids.length, 'no duplicates');
      },
    );
  });

  it('reads a window again when its next page token expires in the middle of a run', async () => {
    const clock = new ManualClock(T0);
    await withSim(
      { clock: clock.now, seed: 5, activities: { login: 30 }, pageTokenTtlMs: 60_000 },
      async (sim, account) => {
        const settings = { applications: ['login'], pageSize: 10, lag: { login: '1m' }, baseUrl: sim.url };
        // The first page's token outlives its minute while the batch is delivered.
        const batches = await drain('login', account, settings, clock, undefined, (n) => {
          if (n === 1) clock.advance(2 * 60_000);
        });
        const ids = batches.flatMap((b) => b.events).map((e) => e.id);
        const expected = sim.activities('login').flatMap((a) => eventIds('login', a) ?? []);
        assert.deepEqual([...ids].sort(), [...expected].sort());
        assert.equal(new Set(ids).size, ids.length, 'no duplicates');
        const refused = sim.requests().filter((r) => r.query.get('pageToken'));
        assert.ok(refused.length >= 3, 'the stale token was sent, then the window was paged again');
      },
    );
  });

  it('waits the per-application lag before reading recent activity', async () => {
    const clock = new ManualClock(T0);
    await withSim({ clock: clock.now, seed: 5, activities: {} }, async (sim, account) => {
      sim.addActivities('calendar', 10, { from: T0 - 60 * 60_000, spacingMs: 60_000 }); // 60 to 51 minutes ago
      const settings = { applications: ['calendar'], baseUrl: sim.url };
      assert.equal((await drain('calendar', account, settings, clock)).flatMap((b) => b.events).length, 0);
      const short = await drain('calendar', account, { ...settings, lag: { calendar: '30m' } }, clock);
      assert.equal(short.flatMap((b) => b.events).length, 10);
    });
  });
});
