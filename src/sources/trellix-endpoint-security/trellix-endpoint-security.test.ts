import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type TrellixAccount, trellix, trellixFields } from '../../accounts/trellix.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import tx from './index.ts';
import { TrellixSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

async function drain(sim: TrellixSimulator, o: { now: number; checkpoint?: TimeWindowCheckpoint }) {
  const account = { ...sim.account(), scope: 'epo.evt.r' } as TrellixAccount;
  const http: Http = new Http({
    vendor: 'Trellix',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => trellix.authorize(account, h, { refresh, http, url }),
    explain: tx.explain,
  });
  const ctx = readContext(http, {
    stream: 'threats',
    settings: {},
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: 2 * 3_600_000, lagMs: 0 },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of tx.streams.threats.read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint,
  };
}

describe('trellix-endpoint-security', () => {
  it('account: regional hosts, the IAM token endpoint as an origin, epo.evt.r by default, the secret kept', () => {
    const a = trellixFields.parse({
      clientId: 'abcd1234',
      clientSecret: 's3cr3t-s3cr3t',
      region: 'eu',
    }) as TrellixAccount;
    assert.equal(a.scope, 'epo.evt.r');
    assert.deepEqual(trellix.origins?.(a), [
      'https://auth.trellix.com/auth/realms/IAM/protocol/openid-connect/token',
      'https://areventsfrk.manage.trellix.com',
    ]);
    assert.deepEqual(trellix.secrets, ['clientSecret']);
    const bad = trellixFields.safeParse({ clientId: 'abcd1234', clientSecret: 'x', region: 'mars' });
    const text = formatIssues(bad.error!).join('\n');
    assert.match(text, /^region: expected one of us, sg, eu, au, in/m);
    assert.match(text, /^clientSecret: expected the client secret/m);
  });

  it('Test Connection proves the client credentials and the epo.evt.r scope', async (t) => {
    const ok = new TrellixSimulator({ events: 2 });
    const noScope = new TrellixSimulator({ events: 2, granted: ['dp.im.r'] });
    for (const s of [ok, noScope]) {
      await s.start();
      t.after(() => s.stop());
    }
    const test = (sim: TrellixSimulator, over: Partial<TrellixAccount> = {}) =>
      testConnection(tx, trellix, { ...sim.account(), scope: 'epo.evt.r', ...over }, {});
    assert.deepEqual(await test(ok), { ok: true });
    const bad = await test(ok, { clientSecret: 'wrong-secret-123' });
    assert.equal(!bad.ok && bad.error.code, 'trellix_token_refused');
    assert.doesNotMatch(JSON.stringify(bad), /wrong-secret/);
    const scope = await test(noScope);
    assert.equal(!scope.ok && scope.error.code, 'trellix_token_refused');
    if (!scope.ok) assert.match(scope.error.action, /epo\.evt\.r/);
    for (const s of [ok, noScope]) assert.deepEqual(s.writeCalls(), []);
  });

  it('reads threat events oldest first following the Link header, ids autoguid, times receivedutc', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new TrellixSimulator({
      clock: clock.now,
      events: 25,
      spacingMs: 60_000,
      pageSize: 10,
      seed: 3,
    });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, { now: clock.now() });
    assert.deepEqual(first.ids, sim.expectedIds());
    const lists = sim.requests().filter((q) => q.path === '/eventservice/api/v2/events');
    assert.equal(lists.length, 3);
    assert.equal(lists[0].query.get('type'), 'threats');
    assert.equal(lists[0].query.get('sort'), 'asc');
    assert.equal(lists[0].query.get('since'), '2026-11-25T10:00:00.000Z');
    assert.ok(lists[1].query.get('after'), 'the second page is the Link header next');
    const raw = first.batches[0].events[0].raw as Record<string, { value: unknown }>;
    assert.equal(first.batches[0].events[0].time, new Date(raw.receivedutc.value as number).toISOString());
    clock.advance(24 * 3_600_000 + 60_000); // past the token's documented 24 hours: a new token
    const [added] = sim.addEvents(1, { from: clock.now() - 60_000 });
    const second = await drain(sim, { now: clock.now(), checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [added]);
    assert.equal(sim.tokensIssued(), 2);
  });
});
