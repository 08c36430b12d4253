import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import {
  type SymantecEndpointSecurityAccount,
  symantecEndpointSecurity as sesAccount,
  symantecEndpointSecurityFields,
} from '../../accounts/symantec-endpoint-security.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { tokenCache } from '../../engine/oauth.ts';
import type { OpaqueCheckpoint } from '../../engine/opaque-cursor.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import ses from './index.ts';
import { SesSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown>) => {
  const r = validateSettings('symantec-endpoint-security', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(sim: SesSimulator, o: { now: () => number; checkpoint?: OpaqueCheckpoint }) {
  const account = sim.account() as unknown as SymantecEndpointSecurityAccount;
  const http: Http = new Http({
    vendor: 'Symantec Endpoint Security',
    backoffBaseMs: 1,
    authorize: (h, refresh, url, req) => sesAccount.authorize(account, h, { refresh, http, url, ...req }),
    explain: ses.explain,
  });
  const warnings: TributaryError[] = [];
  const ctx = readContext(http, {
    stream: 'events',
    settings: settingsOf(sim.settings()),
    account,
    checkpoint: o.checkpoint,
    now: o.now,
    warn: (w) => warnings.push(w),
    window: { lookbackMs: 3_600_000 },
  });
  const batches: Batch<OpaqueCheckpoint>[] = [];
  for await (const b of ses.streams.events.read(ctx) as AsyncIterable<Batch<OpaqueCheckpoint>>)
    batches.push(b);
  return {
    batches,
    warnings,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint,
  };
}

describe('symantec-endpoint-security account and settings', () => {
  it('keeps the secret, sends it only to the API host, and checks the fields', () => {
    const a = symantecEndpointSecurityFields.parse({
      clientId: 'O2ID.abcdefgh',
      clientSecret: 'secret-00000001',
    });
    assert.deepEqual(sesAccount.origins?.(a as SymantecEndpointSecurityAccount), [
      'https://api.sep.securitycloud.symantec.com',
    ]);
    assert.ok(sesAccount.secrets.includes('clientSecret'));
    const bad = symantecEndpointSecurityFields.safeParse({ clientId: 'a b', clientSecret: 'short' });
    const issues = formatIssues(bad.error!).join('\n');
    assert.match(issues, /clientId: expected the Client ID/);
    assert.doesNotMatch(issues, /short/);
    const missing = validateSettings('symantec-endpoint-security', {});
    assert.ok(!missing.ok);
    assert.match(missing.issues.join('\n'), /streamId/);
    assert.ok(!validateSettings('symantec-endpoint-security', { streamId: 'a/b', channelId: 'abcd' }).ok);
  });
});

describe('symantec-endpoint-security events', () => {
  it('follows next, drops the event repeated at the top of the next answer, and resumes from the saved next', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SesSimulator({ clock: clock.now, events: 25, batch: 10 });
    await sim.start();
    t.after(() => sim.stop());
    tokenCache.clear();
    const first = await drain(sim, { now: clock.now });
    assert.deepEqual(first.ids, sim.ids(), 'every event once, in stream order, despite the repeats');
    const asked = sim.requests().filter((r) => r.path.startsWith('/v1/event-export/stream/'));
    assert.ok(asked.length >= 4, `a request per answer until one is empty (${asked.length})`);
    assert.equal(asked[0].query.get('connectionTimeout'), '10');
    assert.match(
      first.checkpoint?.next.body ?? '',
      /^\{"next":"[\w-]+"\}$/,
      'the checkpoint is the next, verbatim',
    );
    clock.advance(60_000);
    const fresh = sim.addEvents(3, { spacingMs: 1000 });
    const second = await drain(sim, { now: clock.now, checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, fresh);
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('reports a refused next (410) as a cursor_expired gap and reads the channel again', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SesSimulator({ clock: clock.now, events: 5, batch: 10 });
    await sim.start();
    t.after(() => sim.stop());
    tokenCache.clear();
    const first = await drain(sim, { now: clock.now });
    sim.expirePositions();
    clock.advance(60_000);
    const fresh = sim.addEvents(1, { spacingMs: 1000 });
    const again = await drain(sim, { now: clock.now, checkpoint: first.checkpoint });
    assert.equal(again.warnings[0]?.code, 'cursor_expired');
    assert.ok(again.ids.includes(fresh[0]));
    assert.deepEqual(new Set(again.ids).size, again.ids.length);
  });
});

describe('symantec-endpoint-security test connection', () => {
  it('proves the client application and the stream, naming what is wrong', async (t) => {
    const sim = new SesSimulator({ clock: () => T0, events: 2 });
    await sim.start();
    t.after(() => sim.stop());
    tokenCache.clear();
    const test = (over: Record<string, string> = {}, settings: Record<string, unknown> = {}) =>
      testConnection(
        ses,
        sesAccount,
        { ...sim.account(), ...over },
        settingsOf({ ...sim.settings(), ...settings }),
        ['events'],
      );
    assert.deepEqual(await test(), { ok: true });
    const wrong = await test({ clientSecret: 'wrong-secret-0000' });
    assert.equal(!wrong.ok && wrong.error.code, 'ses_invalid_client');
    assert.doesNotMatch(JSON.stringify(wrong), /wrong-secret/);
    const noStream = await test({}, { channelId: 'nosuchchannel' });
    assert.equal(!noStream.ok && noStream.error.code, 'ses_stream_not_found');
    assert.deepEqual(sim.writeCalls(), []);
  });
});
