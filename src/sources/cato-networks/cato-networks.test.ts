import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type CatoAccount, catoNetworks } from '../../accounts/cato-networks.ts';
import { validateSettings } from '../../config/config-file.ts';
import { hashId } from '../../core/envelope.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import type { OpaqueCheckpoint } from '../../engine/rest-poll.ts';
import { testConnection } from '../../engine/test-connection.ts';
import cato, { timeFrame } from './index.ts';
import { CatoSimulator, parseTimeFrame } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown>) => {
  const r = validateSettings('cato-networks', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: CatoSimulator,
  stream: 'events' | 'audit',
  o: { checkpoint?: unknown; stopAfter?: number } = {},
) {
  const account: CatoAccount = { apiKey: sim.apiKey, url: sim.url };
  const http: Http = new Http({
    vendor: 'Cato Networks',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => catoNetworks.authorize(account, h, { refresh, http, url }),
    explain: cato.explain,
    rateLimitedBody: (b) => {
      const r = cato.rateLimitedBody?.(b);
      return r && { ...r, waitMs: 5 };
    },
  });
  const ctx = readContext(http, {
    stream,
    settings: settingsOf({ accountId: sim.accountId }),
    account,
    checkpoint: o.checkpoint,
    now: () => T0,
    window: { lookbackMs: 2 * 3_600_000, lagMs: 0 },
  });
  const batches: Batch[] = [];
  for await (const b of cato.streams[stream].read(ctx)) {
    batches.push(b);
    if (o.stopAfter && batches.length >= o.stopAfter) break;
  }
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

const ids = (sim: CatoSimulator, kind: 'events' | 'audit') =>
  sim
    .records(kind)
    .map((r) => hashId(r))
    .sort();

describe('cato-networks time frames', () => {
  it("writes Cato's utc. forms within a month, across months and across years; the simulator reads them back", () => {
    const cases: Array<[string, string, string]> = [
      ['2026-11-25T10:00:00Z', '2026-11-25T11:59:59Z', 'utc.2026-11-{25/10:00:00--25/11:59:59}'],
      ['2026-11-30T23:00:00Z', '2026-12-01T00:59:59Z', 'utc.2026-{11-30/23:00:00--12-01/00:59:59}'],
      ['2026-12-31T23:00:00Z', '2027-01-01T00:59:59Z', 'utc.{2026-12-31/23:00:00--2027-01-01/00:59:59}'],
    ];
    for (const [a, b, tf] of cases) {
      assert.equal(timeFrame(Date.parse(a), Date.parse(b)), tf);
      assert.deepEqual(parseTimeFrame(tf), [Date.parse(a), Date.parse(b) + 999]);
    }
  });
});

describe('cato-networks Test Connection', () => {
  it('passes; explains a bad key, an account the key cannot read, and a disabled events feed', async (t) => {
    const sim = new CatoSimulator({ events: 5 });
    const off = new CatoSimulator({ events: 5, feedEnabled: false });
    for (const s of [sim, off]) {
      await s.start();
      t.after(() => s.stop());
    }
    const test = (s: CatoSimulator, o: { key?: string; accountId?: string } = {}) =>
      testConnection(
        cato,
        catoNetworks,
        { apiKey: o.key ?? s.apiKey, url: s.url },
        settingsOf({ accountId: o.accountId ?? s.accountId }),
      );
    assert.deepEqual(await test(sim), { ok: true });
    const bad = await test(sim, { key: 'not-the-key-0123456789' });
    assert.equal(!bad.ok && bad.error.code, 'cato_invalid_api_key');
    assert.doesNotMatch(JSON.stringify(bad), /not-the-key/);
    const other = await test(sim, { accountId: '1' });
    assert.equal(!other.ok && other.error.code, 'cato_permission_denied');
    const disabled = await test(off);
    assert.equal(!disabled.ok && disabled.error.code, 'cato_account_error');
    if (!disabled.ok) assert.match(disabled.error.action, /Events Integration/);
    const eventsAsked = sim.requests().length;
    assert.ok(eventsAsked >= 2);
    const after = await drain(sim, 'events');
    assert.deepEqual([...after.ids].sort(), ids(sim, 'events'), 'Test Connection consumed nothing');
    assert.deepEqual(sim.writeCalls(), []);
  });
});

describe('cato-networks events feed', () => {
  it('keeps the marker as the checkpoint after every batch; a crash re-asks the committed marker', async (t) => {
    const sim = new CatoSimulator({ events: 50, batchSize: 20, clock: () => T0, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'events', { stopAfter: 1 });
    const cp = first.checkpoint as OpaqueCheckpoint;
    const sent = JSON.parse(cp.next.body ?? '{}');
    assert.ok(sent.variables.marker, 'the marker Cato returned is the position');
    assert.deepEqual(sent.variables.accountIDs, [sim.accountId]);
    const rest = await drain(sim, 'events', { checkpoint: cp });
    const all = [...first.ids, ...rest.ids];
    assert.deepEqual([...all].sort(), ids(sim, 'events'));
    assert.equal(new Set(all).size, all.length);
    const idle = await drain(sim, 'events', { checkpoint: rest.checkpoint });
    assert.deepEqual(idle.ids, [], 'caught up: nothing again');
    assert.match(sent.query, /^query eventsFeed/);
  });

  it('waits and retries when Cato answers 200 with "rate limit for operation"', async (t) => {
    const sim = new CatoSimulator({ events: 10, clock: () => T0, seed: 4, rateLimitedAnswers: 2 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, 'events');
    assert.deepEqual([...r.ids].sort(), ids(sim, 'events'));
  });
});

describe('cato-networks audit feed', () => {
  it('reads time windows as utc. time frames, paged by marker while hasMore', async (t) => {
    const sim = new CatoSimulator({
      events: 0,
      audits: 25,
      auditPageSize: 10,
      spacingMs: 60_000,
      clock: () => T0,
      seed: 5,
    });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, 'audit');
    assert.deepEqual([...r.ids].sort(), ids(sim, 'audit'));
    assert.equal(r.batches.length, 3);
    assert.equal(r.batches[0].events[0].time, new Date(Number(sim.records('audit')[0].time)).toISOString());
  });
});
