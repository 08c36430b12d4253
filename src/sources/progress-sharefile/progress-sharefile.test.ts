import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import {
  type ShareFileAccount,
  progressShareFile as shareFileAccount,
  shareFileFields,
} from '../../accounts/progress-sharefile.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { tokenCache } from '../../engine/oauth.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import shareFile, { type ShareFileCheckpoint } from './index.ts';
import { ShareFileSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown>) => {
  const r = validateSettings('progress-sharefile', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(sim: ShareFileSimulator, o: { now: () => number; checkpoint?: ShareFileCheckpoint }) {
  const account = sim.account() as unknown as ShareFileAccount;
  const http: Http = new Http({
    vendor: 'ShareFile',
    backoffBaseMs: 1,
    authorize: (h, refresh, url, req) =>
      shareFileAccount.authorize(account, h, { refresh, http, url, ...req }),
    explain: shareFile.explain,
  });
  const ctx = readContext(http, {
    stream: 'activity',
    settings: settingsOf({ reportId: sim.reportId }),
    account,
    checkpoint: o.checkpoint,
    now: o.now,
    window: { lookbackMs: 6 * 3_600_000 },
  });
  const batches: Batch<ShareFileCheckpoint>[] = [];
  for await (const b of shareFile.streams.activity.read(ctx) as AsyncIterable<Batch<ShareFileCheckpoint>>)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint,
  };
}

describe('progress-sharefile account and settings', () => {
  it('keeps the secrets, sends them only to the account’s ShareFile hosts, and checks the fields', () => {
    const a = shareFileFields.parse({
      subdomain: 'acme',
      clientId: 'client-0001',
      clientSecret: 'secret-00000001',
      username: 'admin@acme.example',
      password: 'pw',
    }) as ShareFileAccount;
    assert.deepEqual(shareFileAccount.origins?.(a), [
      'https://acme.sharefile.com',
      'https://acme.sf-api.com',
    ]);
    assert.deepEqual(
      ['clientSecret', 'password'].filter((f) => shareFileAccount.secrets.includes(f)),
      ['clientSecret', 'password'],
    );
    const bad = shareFileFields.safeParse({
      subdomain: 'acme.sharefile.com',
      clientId: 'x',
      clientSecret: 'short',
      username: 'admin',
      password: '',
    });
    const issues = formatIssues(bad.error!).join('\n');
    assert.match(issues, /subdomain: expected the account subdomain/);
    assert.match(issues, /username: expected the email/);
    assert.doesNotMatch(issues, /short/);
    assert.ok(!validateSettings('progress-sharefile', {}).ok);
  });
});

describe('progress-sharefile activity', () => {
  it('reads each finished run of the report once, in the order they finished, and skips runs still running', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ShareFileSimulator({ clock: clock.now, runs: 3, rowsPerRun: 4 });
    await sim.start();
    t.after(() => sim.stop());
    tokenCache.clear();
    const running = sim.addRun(2, { end: T0, finishDelayMs: 600_000 });
    const first = await drain(sim, { now: clock.now });
    assert.deepEqual(
      first.ids,
      sim.ids().filter((id) => !id.startsWith(running)),
    );
    assert.equal(first.batches.length, 3, 'a batch per run');
    clock.advance(15 * 60_000);
    const second = await drain(sim, { now: clock.now, checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [`${running}:0`, `${running}:1`], 'the run once it finished');
    const third = await drain(sim, { now: clock.now, checkpoint: second.checkpoint });
    assert.deepEqual(third.ids, []);
    assert.deepEqual(sim.writeCalls(), [], 'no report created or run');
  });

  it('resumes inside a run after the rows already delivered', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ShareFileSimulator({ clock: clock.now, runs: 1, rowsPerRun: 2500 });
    await sim.start();
    t.after(() => sim.stop());
    tokenCache.clear();
    const all = await drain(sim, { now: clock.now });
    assert.equal(all.batches.length, 3, 'parts of 1000 rows');
    const mid = all.batches[0].checkpoint;
    assert.equal(mid.record?.rows, 1000);
    const rest = await drain(sim, { now: clock.now, checkpoint: mid });
    assert.deepEqual([...all.batches[0].events.map((e) => e.id), ...rest.ids], all.ids);
  });
});

describe('progress-sharefile test connection', () => {
  it('proves the API key, the user and the report', async (t) => {
    const sim = new ShareFileSimulator({ clock: () => T0, runs: 1 });
    await sim.start();
    t.after(() => sim.stop());
    tokenCache.clear();
    const test = (over: Record<string, string> = {}, reportId = sim.reportId) =>
      testConnection(shareFile, shareFileAccount, { ...sim.account(), ...over }, settingsOf({ reportId }), [
        'activity',
      ]);
    assert.deepEqual(await test(), { ok: true });
    const wrong = await test({ password: 'wrong-password-1' });
    assert.equal(!wrong.ok && wrong.error.code, 'sharefile_invalid_grant');
    assert.doesNotMatch(JSON.stringify(wrong), /wrong-password/);
    const missing = await test({}, 'rs00000000-0000');
    assert.equal(!missing.ok && missing.error.code, 'sharefile_report_not_found');
    assert.deepEqual(sim.writeCalls(), []);
  });
});
