import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type DropboxAccount, dropbox as dropboxAccount, dropboxFields } from '../../accounts/dropbox.ts';
import { validateSettings } from '../../config/config-file.ts';
import { hashId } from '../../core/envelope.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { tokenCache } from '../../engine/oauth.ts';
import type { OpaqueCheckpoint } from '../../engine/opaque-cursor.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import dropbox from './index.ts';
import { DropboxSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('dropbox', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: DropboxSimulator,
  o: { now: () => number; checkpoint?: OpaqueCheckpoint; settings?: Record<string, unknown> },
) {
  const account = sim.account() as unknown as DropboxAccount;
  const http: Http = new Http({
    vendor: 'Dropbox',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => dropboxAccount.authorize(account, h, { refresh, http, url }),
    explain: dropbox.explain,
  });
  const warnings: TributaryError[] = [];
  const ctx = readContext(http, {
    stream: 'team-events',
    settings: settingsOf(o.settings),
    account,
    checkpoint: o.checkpoint,
    now: o.now,
    window: { lookbackMs: 2 * 3_600_000, overlapMs: 60_000 },
    warn: (w) => warnings.push(w),
  });
  const batches: Batch<OpaqueCheckpoint>[] = [];
  for await (const b of dropbox.streams['team-events'].read(ctx) as AsyncIterable<Batch<OpaqueCheckpoint>>)
    batches.push(b);
  return {
    batches,
    warnings,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

const calls = (sim: DropboxSimulator, path: string) => sim.requests().filter((r) => r.path === path);

describe('dropbox account and settings', () => {
  it('validates the app and refresh token, keeps both secrets, and refuses an unknown category', () => {
    const a = dropboxFields.parse({
      appKey: 'abcdefghij12345',
      appSecret: 'zyxwvutsrq98765',
      refreshToken: 'abcDEF123_-abcDEF123_-xyz',
    });
    assert.deepEqual(dropboxAccount.origins?.(a as DropboxAccount), [
      'https://api.dropbox.com/oauth2/token',
      'https://api.dropboxapi.com',
    ]);
    assert.ok(
      dropboxAccount.secrets.includes('appSecret') && dropboxAccount.secrets.includes('refreshToken'),
    );
    const bad = dropboxFields.safeParse({ appKey: 'APP KEY', appSecret: 'x', refreshToken: 'short' });
    const issues = formatIssues(bad.error!).join('\n');
    assert.match(issues, /appKey: expected the app's App key/);
    assert.match(issues, /refreshToken: expected the refresh_token a team admin obtained/);
    assert.doesNotMatch(issues, /short/);
    const cat = validateSettings('dropbox', { category: 'everything' });
    assert.ok(!cat.ok && /category: expected one of Dropbox's event categories/.test(cat.issues.join()));
  });
});

describe('dropbox test connection', () => {
  it('proves the refresh token and the events.read scope, each refusal with its code and action', async (t) => {
    const ok = new DropboxSimulator({ clock: () => T0, events: 3 });
    const noScope = new DropboxSimulator({ clock: () => T0, events: 3, eventsScope: false, seed: 2 });
    await ok.start();
    await noScope.start();
    t.after(() => Promise.all([ok.stop(), noScope.stop()]));
    tokenCache.clear();
    const test = (sim: DropboxSimulator, over: Record<string, string> = {}) =>
      testConnection(dropbox, dropboxAccount, { ...sim.account(), ...over }, settingsOf());
    assert.deepEqual(await test(ok), { ok: true });
    const revoked = await test(ok, { refreshToken: 'revoked_refresh_token_0000000' });
    assert.equal(!revoked.ok && revoked.error.code, 'dropbox_invalid_grant');
    if (!revoked.ok) assert.match(revoked.error.action, /team admin authorise the app again/);
    assert.doesNotMatch(JSON.stringify(revoked), /revoked_refresh_token/);
    const wrongApp = await test(ok, { appSecret: 'wrongsecret0000' });
    assert.equal(!wrongApp.ok && wrongApp.error.code, 'dropbox_invalid_client');
    const scope = await test(noScope);
    assert.equal(!scope.ok && scope.error.code, 'dropbox_missing_scope');
    if (!scope.ok) assert.match(scope.error.action, /events\.read/);
    assert.deepEqual([...ok.writeCalls(), ...noScope.writeCalls()], []);
  });
});

describe('dropbox team events', () => {
  it('asks get_events from the lookback, follows the cursor, and polls the newest cursor next run', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new DropboxSimulator({ clock: clock.now, events: 25, spacingMs: 60_000 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, { now: clock.now, settings: { pageSize: 10, category: 'logins' } });
    const logins = sim.events().filter((e) => (e.event_category as { '.tag': string })['.tag'] === 'logins');
    assert.ok(logins.length >= 3 && logins.length < 25);
    assert.deepEqual(
      first.ids,
      logins.map((e) => hashId(e)),
      'every sign-in event once, in the order listed',
    );
    assert.deepEqual(sim.args[0].arg, {
      limit: 10,
      time: { start_time: '2026-11-25T10:00:00Z' },
      category: 'logins',
    });
    assert.equal(first.batches.length, Math.ceil(logins.length / 10) + (logins.length % 10 === 0 ? 1 : 0));
    assert.equal(calls(sim, '/2/team_log/get_events').length, 1, 'one get_events');
    assert.equal(
      calls(sim, '/2/team_log/get_events/continue').length,
      first.batches.length - 1,
      'then continue',
    );
    const saved = first.checkpoint!;
    assert.ok(saved.next.url.endsWith('/2/team_log/get_events/continue'));
    assert.deepEqual(
      Object.keys(JSON.parse(saved.next.body!)),
      ['cursor'],
      'continue takes the cursor alone',
    );
    assert.equal(
      first.batches[0].events[0].time,
      new Date(Date.parse(String(logins[0].timestamp))).toISOString(),
    );

    clock.advance(60_000);
    const fresh = sim
      .addEvents(12, { spacingMs: 1000 })
      .filter((e) => (e.event_category as { '.tag': string })['.tag'] === 'logins')
      .map((e) => hashId(e));
    const second = await drain(sim, {
      now: clock.now,
      checkpoint: saved,
      settings: { pageSize: 10, category: 'logins' },
    });
    assert.deepEqual(second.ids, fresh, 'only the new sign-ins, from the saved cursor');
    assert.deepEqual(second.warnings, []);
  });

  it('turns a cursor reset into a gap warning and a new cursor from the newest event delivered', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new DropboxSimulator({ clock: clock.now, events: 12, spacingMs: 60_000 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, { now: clock.now, settings: { pageSize: 5 } });
    assert.equal(first.ids.length, 12);
    clock.advance(10 * 60_000);
    const fresh = sim.addEvents(3, { spacingMs: 1000 }).map((e) => hashId(e));
    sim.resetCursors();
    const before = sim.requests().length;
    const second = await drain(sim, {
      now: clock.now,
      checkpoint: first.checkpoint,
      settings: { pageSize: 5 },
    });
    assert.equal(second.warnings.length, 1);
    const w = second.warnings[0];
    assert.equal(w.type, 'gap');
    assert.equal(w.code, 'cursor_expired');
    const newest = new Date(T0 - 60_000).toISOString(); // the last of the 12
    assert.match(w.message, new RegExp(`reading starts again from ${new Date(T0 - 120_000).toISOString()}`));
    assert.equal(first.checkpoint?.last, newest, 'the checkpoint kept the newest event time delivered');
    const again = sim.requests().slice(before);
    assert.deepEqual(
      again.map((r) => r.path),
      [
        '/2/team_log/get_events/continue', // refused: reset
        '/2/team_log/get_events', // a new cursor from the newest event, less the overlap: 5 events, no more
      ],
    );
    const all = sim.events().map((e) => hashId(e));
    assert.deepEqual(
      second.ids,
      [...all.slice(10, 12), ...fresh],
      'the events of the overlap again (same ids), then the new ones',
    );
  });
});
