import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type BoxAccount, box as boxAccount, boxFields } from '../../accounts/box.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { tokenCache } from '../../engine/oauth.ts';
import type { OpaqueCheckpoint } from '../../engine/opaque-cursor.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import box from './index.ts';
import { BoxSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('box', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: BoxSimulator,
  o: {
    now: () => number;
    checkpoint?: OpaqueCheckpoint;
    settings?: Record<string, unknown>;
    lookbackMs?: number;
    stopAfter?: number;
  },
) {
  const account = sim.account() as unknown as BoxAccount;
  const http: Http = new Http({
    vendor: 'Box',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => boxAccount.authorize(account, h, { refresh, http, url }),
    explain: box.explain,
  });
  const warnings: TributaryError[] = [];
  const ctx = readContext(http, {
    stream: 'enterprise-events',
    settings: settingsOf(o.settings),
    account,
    checkpoint: o.checkpoint,
    now: o.now,
    window: { lookbackMs: o.lookbackMs ?? 3_600_000, retention: box.retention },
    warn: (w) => warnings.push(w),
  });
  const batches: Batch<OpaqueCheckpoint>[] = [];
  for await (const b of box.streams['enterprise-events'].read(ctx) as AsyncIterable<
    Batch<OpaqueCheckpoint>
  >) {
    batches.push(b);
    if (o.stopAfter && batches.length >= o.stopAfter) break;
  }
  return {
    batches,
    warnings,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

describe('box account and settings', () => {
  it('validates the app credentials, keeps the secret secret, and names both origins', () => {
    const a = boxFields.parse({
      clientId: 'abcdefghij0123456789',
      clientSecret: 's'.repeat(32),
      enterpriseId: '42',
    });
    assert.deepEqual(boxAccount.origins?.(a as BoxAccount), [
      'https://api.box.com/oauth2/token',
      'https://api.box.com/2.0',
    ]);
    assert.ok(boxAccount.secrets.includes('clientSecret'));
    assert.ok(!boxAccount.secrets.includes('enterpriseId'));
    const bad = boxFields.safeParse({ clientId: 'x', clientSecret: 'short', enterpriseId: 'acme' });
    const issues = formatIssues(bad.error!).join('\n');
    assert.match(issues, /clientId: expected the app's Client ID/);
    assert.match(issues, /enterpriseId: expected the numeric Enterprise ID/);
    assert.doesNotMatch(issues, /short/);
    assert.match(
      validateSettings('box', { pageSize: 501 }).ok ? '' : 'refused',
      /refused/,
      'Box allows 500 at most',
    );
  });
});

describe('box test connection', () => {
  it('proves the token and the reporting permission, each refusal with its own code and action', async (t) => {
    const ok = new BoxSimulator({ clock: () => T0, events: 5 });
    const denied = new BoxSimulator({ clock: () => T0, events: 5, reportsPermission: false, seed: 2 });
    await ok.start();
    await denied.start();
    t.after(() => Promise.all([ok.stop(), denied.stop()]));
    tokenCache.clear();
    const test = (sim: BoxSimulator, over: Record<string, string> = {}) =>
      testConnection(box, boxAccount, { ...sim.account(), ...over }, settingsOf());
    assert.deepEqual(await test(ok), { ok: true });
    const wrongSecret = await test(ok, { clientSecret: 'wrong-secret-000000000000' });
    assert.equal(!wrongSecret.ok && wrongSecret.error.code, 'box_invalid_client');
    assert.doesNotMatch(JSON.stringify(wrongSecret), /wrong-secret/);
    const wrongEnterprise = await test(ok, { enterpriseId: '999' });
    assert.equal(!wrongEnterprise.ok && wrongEnterprise.error.code, 'box_invalid_grant');
    if (!wrongEnterprise.ok) assert.match(wrongEnterprise.error.action, /enterpriseId.*Admin Console/);
    const forbidden = await test(denied);
    assert.equal(!forbidden.ok && forbidden.error.code, 'box_events_forbidden');
    if (!forbidden.ok) assert.match(forbidden.error.action, /Run new reports and access existing reports/);
    const asked = ok.requests().filter((r) => r.path === '/2.0/events');
    assert.equal(asked[0].query.get('stream_position'), 'now', 'the test reads no events');
    assert.deepEqual([...ok.writeCalls(), ...denied.writeCalls()], []);
  });
});

describe('box JWT apps', () => {
  it('signs an assertion with the app key pair (config.json), renewed as a token expires, and reads the stream', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new BoxSimulator({ clock: clock.now, events: 20, jwt: true, tokenTtlS: 60, seed: 21 });
    await sim.start();
    t.after(() => sim.stop());
    tokenCache.clear();
    const res = await drain(sim, { now: clock.now });
    assert.deepEqual([...new Set(res.ids)].sort(), [...sim.expectedIds()].sort());
    sim.expireTokens();
    const again = await drain(sim, { now: clock.now, checkpoint: res.checkpoint });
    assert.deepEqual(again.ids, []);
    assert.equal(sim.tokensIssued(), 2, 'a new assertion after the token was refused');
    const forms = sim.requests().filter((r) => r.path === '/oauth2/token');
    assert.equal(forms.length, 2);
  });

  it('checks the key fields, and explains a key pair Box does not know; no key material in any error', async (t) => {
    const sim = new BoxSimulator({ clock: () => T0, events: 2, jwt: true, seed: 22 });
    const other = new BoxSimulator({ clock: () => T0, events: 2, jwt: true, seed: 23 });
    await sim.start();
    t.after(() => sim.stop());
    const a = sim.account();
    const issues = (over: Record<string, unknown>) => {
      const r = boxFields.safeParse({ ...a, ...over });
      return r.success ? '' : formatIssues(r.error).join('\n');
    };
    assert.equal(issues({}), '');
    assert.match(
      issues({ passphrase: 'not-the-passphrase' }),
      /^passphrase: the private key cannot be decrypted/m,
    );
    assert.match(
      issues({ passphrase: undefined }),
      /^passphrase: expected the passphrase of the encrypted private key/m,
    );
    assert.match(issues({ publicKeyId: undefined }), /^publicKeyId: expected the public key ID/m);
    assert.match(issues({ privateKey: 'garbage' }), /^privateKey: expected a PEM private key/m);
    assert.doesNotMatch(issues({ passphrase: 'not-the-passphrase' }), /BEGIN|not-the-passphrase/);
    tokenCache.clear();
    const wrongKey = await testConnection(
      box,
      boxAccount,
      { ...a, privateKey: other.appAuth!.privateKey, passphrase: other.appAuth!.passphrase },
      settingsOf(),
    );
    assert.equal(!wrongKey.ok && wrongKey.error.code, 'box_invalid_grant');
    if (!wrongKey.ok) assert.match(wrongKey.error.action, /same key pair/);
    assert.doesNotMatch(JSON.stringify(wrongKey), /BEGIN|PRIVATE KEY/);
    assert.deepEqual(await testConnection(box, boxAccount, a, settingsOf()), { ok: true });
  });
});

describe('box event history on the first run', () => {
  const DAY = 86_400_000;

  it('reads the lookback beyond the stream from the Event History API, then the stream; nothing missed', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new BoxSimulator({
      clock: clock.now,
      events: 120,
      spacingMs: 12 * 3_600_000,
      repeatEvery: 0,
      seed: 31,
    });
    await sim.start();
    t.after(() => sim.stop());
    const res = await drain(sim, { now: clock.now, settings: { startAt: 'lookback' }, lookbackMs: 40 * DAY });
    const want = sim.expectedIds(T0 - 40 * DAY);
    assert.ok(want.length > sim.expectedIds().length, 'the lookback reaches past the stream');
    assert.deepEqual([...new Set(res.ids)].sort(), [...want].sort());
    assert.ok(res.ids.length - new Set(res.ids).size <= 3, 'repeats only from the day both read');
    const hist = sim.requests().filter((r) => r.query.get('stream_type') === 'admin_logs');
    assert.equal(hist[0].query.get('created_after'), new Date(T0 - 40 * DAY).toISOString());
    assert.equal(hist[0].query.get('created_before'), new Date(T0 - 13 * DAY).toISOString());
    const cp = res.checkpoint as OpaqueCheckpoint;
    assert.equal(cp.next.query?.stream_type, 'admin_logs_streaming', 'then the stream, as usual');
    // Later runs read the stream only.
    clock.advance(60_000);
    const added = sim.addEvents(2, { from: clock.now() - 30_000, spacingMs: 1000 });
    const later = await drain(sim, { now: clock.now, settings: { startAt: 'lookback' }, checkpoint: cp });
    assert.deepEqual(later.ids, added);
  });

  it('a crash in the history resumes it where the last acknowledged chunk left it', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new BoxSimulator({
      clock: clock.now,
      events: 120,
      spacingMs: 12 * 3_600_000,
      repeatEvery: 0,
      seed: 32,
    });
    await sim.start();
    t.after(() => sim.stop());
    const o = { now: clock.now, settings: { startAt: 'lookback', pageSize: 10 }, lookbackMs: 40 * DAY };
    const first = await drain(sim, { ...o, stopAfter: 2 });
    assert.equal((first.checkpoint as unknown as { phase: string }).phase, 'history');
    const rest = await drain(sim, { ...o, checkpoint: first.checkpoint });
    const ids = [...first.ids, ...rest.ids];
    assert.deepEqual([...new Set(ids)].sort(), [...sim.expectedIds(T0 - 40 * DAY)].sort());
    const historyIds = ids.filter((id) => !sim.expectedIds().includes(id));
    assert.equal(new Set(historyIds).size, historyIds.length, 'the history delivers each event once');
  });
});

describe('box history resumed late', () => {
  const DAY = 86_400_000;
  for (const at of ['in the history', 'after the history, before the stream'] as const)
    it(`a run stopped ${at} and resumed two days later still meets the stream: nothing missed`, async (t) => {
      const clock = new ManualClock(T0);
      const sim = new BoxSimulator({
        clock: clock.now,
        events: 120,
        spacingMs: 6 * 3_600_000,
        repeatEvery: 0,
        seed: 33,
      });
      await sim.start();
      t.after(() => sim.stop());
      const o = { now: clock.now, settings: { startAt: 'lookback', pageSize: 10 }, lookbackMs: 40 * DAY };
      let first: Awaited<ReturnType<typeof drain>>;
      if (at === 'in the history') first = await drain(sim, { ...o, stopAfter: 2 });
      else {
        // Up to the marker that ends the history: every batch whose checkpoint is still in the history, then it.
        const all = await drain(sim, o);
        const k = all.batches.findIndex(
          (b) => (b.checkpoint as unknown as { phase?: string }).phase === 'stream',
        );
        first = {
          ...all,
          batches: all.batches.slice(0, k + 1),
          ids: all.batches.slice(0, k + 1).flatMap((b) => b.events.map((e) => e.id as string)),
          checkpoint: all.batches[k].checkpoint,
        };
      }
      const want = sim.expectedIds(T0 - 40 * DAY);
      clock.advance(2 * DAY);
      const rest = await drain(sim, { ...o, checkpoint: first.checkpoint });
      const ids = [...first.ids, ...rest.ids];
      const missing = want.filter((id) => !ids.includes(id));
      assert.deepEqual(missing, [], 'every event of the lookback delivered');
      const passes = sim
        .requests()
        .filter((r) => r.query.get('stream_type') === 'admin_logs' && r.query.get('stream_position') === '0');
      assert.ok(passes.length >= 2, 'a second history pass from where the first ended');
    });
});

describe('box enterprise events', () => {
  it('reads the stream from the oldest event kept, keeps Box’s newest position, and delivers a repeated event once', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new BoxSimulator({ clock: clock.now, events: 23, repeatEvery: 2 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, { now: clock.now, settings: { pageSize: 5 } });
    assert.deepEqual([...first.ids].sort(), sim.expectedIds().sort());
    assert.equal(new Set(first.ids).size, first.ids.length, 'no event twice');
    const repeated = first.batches.some((b) => b.events.length < (b.checkpoint.seen?.length ?? 0));
    assert.ok(repeated, 'Box sent some event again, and it was not delivered again');
    const events = sim.requests().filter((r) => r.path === '/2.0/events');
    assert.equal(events[0].query.get('stream_type'), 'admin_logs_streaming');
    assert.equal(events[0].query.get('stream_position'), '0');
    assert.equal(events[0].query.get('limit'), '5');
    assert.equal(first.batches.length, 5, 'four full chunks, then a short one ends the run');
    const saved = first.checkpoint!;
    assert.match(String(saved.next.query?.stream_position), /^\d{19,}$/, "Box's position, verbatim");
    assert.equal(first.batches[0].events[0].time?.endsWith('Z'), true, 'created_at (-08:00) in UTC');

    clock.advance(60_000);
    const fresh = sim.addEvents(3, { spacingMs: 1000 });
    const second = await drain(sim, { now: clock.now, checkpoint: saved, settings: { pageSize: 5 } });
    assert.deepEqual(second.ids, fresh, 'only what is new, from the saved position');
    const third = await drain(sim, {
      now: clock.now,
      checkpoint: second.checkpoint,
      settings: { pageSize: 5 },
    });
    assert.deepEqual(third.ids, []);
  });

  it('starts at now when asked: nothing from before the first run', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new BoxSimulator({ clock: clock.now, events: 10 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, { now: clock.now, settings: { startAt: 'now' } });
    assert.deepEqual(first.ids, []);
    clock.advance(1000);
    const later = sim.addEvents(2, { spacingMs: 100 });
    const second = await drain(sim, {
      now: clock.now,
      checkpoint: first.checkpoint,
      settings: { startAt: 'now' },
    });
    assert.deepEqual(second.ids, later);
  });

  it('warns of a gap when the saved position is older than the two weeks Box keeps', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new BoxSimulator({ clock: clock.now, events: 10 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, { now: clock.now });
    clock.advance(15 * 86_400_000);
    const kept = sim.addEvents(4, { spacingMs: 1000 });
    const late = await drain(sim, { now: clock.now, checkpoint: first.checkpoint });
    assert.equal(late.warnings.length, 1);
    assert.equal(late.warnings[0].type, 'gap');
    assert.equal(late.warnings[0].code, 'cursor_beyond_retention');
    assert.match(late.warnings[0].message, /older than the vendor keeps events \(14d\)/);
    assert.deepEqual(late.ids, kept, 'what Box still keeps is read');
  });

  it('explains a stream position Box refuses', async (t) => {
    const sim = new BoxSimulator({ clock: () => T0, events: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const forged: OpaqueCheckpoint = {
      next: {
        url: `${sim.url}/2.0/events`,
        query: { stream_type: 'admin_logs_streaming', stream_position: '42', limit: 500 },
      },
    };
    await assert.rejects(drain(sim, { now: () => T0, checkpoint: forged }), (err: TributaryError) => {
      assert.equal(err.code, 'box_invalid_stream_position');
      assert.equal(err.type, 'config');
      assert.match(err.action, /Reset the checkpoint/);
      return true;
    });
  });
});
