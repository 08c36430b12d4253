import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type NetskopeAccount, netskope as netskopeAccount } from '../../accounts/netskope.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import alerts from '../netskope-alerts/index.ts';
import type { IteratorCheckpoint } from '../netskope-iterator.ts';
import events from './index.ts';
import { NetskopeSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

function reader(sim: NetskopeSimulator, o: { collector?: string; stream?: string } = {}) {
  const account: NetskopeAccount = { url: sim.url, token: sim.token };
  const http: Http = new Http({
    vendor: 'Netskope',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => netskopeAccount.authorize(account, h, { refresh, http, url }),
    explain: events.explain,
  });
  const settings = validateSettings('netskope-events', { types: ['audit'] });
  if (!settings.ok) throw new Error(settings.issues.join());
  /** Reads batches from `checkpoint`; `take` stops after that many (the rest is never asked for). */
  return async (checkpoint?: IteratorCheckpoint, take = Number.POSITIVE_INFINITY) => {
    const ctx = readContext(http, {
      collector: o.collector ?? 'ns-prod',
      stream: o.stream ?? 'audit',
      settings: settings.settings,
      account,
      checkpoint,
      now: () => T0,
      window: { lookbackMs: 2 * 3_600_000 },
    });
    const out: Batch<IteratorCheckpoint>[] = [];
    for await (const b of events.streams[o.stream ?? 'audit'].read(ctx) as AsyncIterable<
      Batch<IteratorCheckpoint>
    >) {
      out.push(b);
      if (out.length >= take) break;
    }
    return out;
  };
}

const idsOf = (bs: Batch[]) => bs.flatMap((b) => b.events.map((e) => e.id as string));
const all = (sim: NetskopeSimulator) => sim.records('events/audit').map((r) => String(r._id));
const ops = (sim: NetskopeSimulator) => sim.requests().map((r) => r.query.get('operation'));

describe('netskope iterator', () => {
  it('starts the index at the start time, then next until an empty page; the index is the collector’s', async (t) => {
    const sim = new NetskopeSimulator({ records: 25, pageSize: 10, clock: () => T0, seed: 1 });
    await sim.start();
    t.after(() => sim.stop());
    const read = reader(sim);
    const bs = await read();
    assert.deepEqual(idsOf(bs), all(sim));
    assert.deepEqual(ops(sim), [String(Math.floor((T0 - 2 * 3_600_000) / 1000)), 'next', 'next', 'next']);
    assert.equal(sim.requests()[0].query.get('index'), 'tributary-ns-prod');
    assert.deepEqual(bs.at(-1)?.checkpoint, { index: 'tributary-ns-prod', resend: false });
    assert.equal(bs[0].checkpoint.resend, true);
    assert.equal(sim.requests()[0].headers['netskope-api-token'], sim.token);
    assert.equal(events.streams.audit.sequential, true, 'never read ahead: asking moves the position');
  });

  it('a crash after a page was handed out but not delivered resends it; nothing is skipped', async (t) => {
    const sim = new NetskopeSimulator({ records: 25, pageSize: 10, clock: () => T0, seed: 2 });
    await sim.start();
    t.after(() => sim.stop());
    const read = reader(sim);
    const first = await read(undefined, 2); // page 2 handed out, then the process dies before delivering it
    const committed = first[0].checkpoint;
    const rest = await read(committed);
    assert.deepEqual(
      [...idsOf(first.slice(0, 1)), ...idsOf(rest)],
      all(sim),
      'page 2 comes again, nothing lost',
    );
    assert.equal(ops(sim)[2], 'resend');
  });

  it('a crash between delivery and the next call resends, recognises the delivered page, and goes on without repeating it', async (t) => {
    const sim = new NetskopeSimulator({ records: 25, pageSize: 10, clock: () => T0, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const read = reader(sim);
    const first = await read(undefined, 2);
    const rest = await read(first[1].checkpoint); // page 2 was delivered and committed
    const got = [...idsOf(first), ...idsOf(rest)];
    assert.deepEqual(got, all(sim));
    assert.equal(new Set(got).size, got.length, 'no page repeated');
    assert.deepEqual(ops(sim).slice(2, 4), ['resend', 'next']);
  });

  it('a next whose answer was cut off is retried as resend, so the page Netskope already handed out is not skipped', async (t) => {
    const sim = new NetskopeSimulator({ records: 25, pageSize: 10, clock: () => T0, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    sim.inject({ kind: 'truncate', path: /dataexport/, afterRequests: 1 });
    const got = idsOf(await reader(sim)());
    assert.deepEqual(got, all(sim));
    assert.deepEqual(ops(sim).slice(1, 3), ['next', 'resend']);
  });

  it('another consumer on the index: 409, a transient error naming the index', async (t) => {
    const sim = new NetskopeSimulator({ records: 5, clock: () => T0, seed: 5 });
    await sim.start();
    t.after(() => sim.stop());
    sim.holdIndex('events/audit', 'tributary-ns-prod');
    await assert.rejects(reader(sim)(), (err: TributaryError) => {
      assert.equal(err.code, 'netskope_index_in_use');
      assert.equal(err.type, 'transient');
      assert.match(err.action, /tributary-ns-prod/);
      return true;
    });
  });

  it('waits as long as wait_time says before the next call', async (t) => {
    const sim = new NetskopeSimulator({ records: 4, pageSize: 2, waitTime: 1, clock: () => T0, seed: 6 });
    await sim.start();
    t.after(() => sim.stop());
    const started = Date.now();
    const bs = await reader(sim)();
    assert.equal(idsOf(bs).length, 4);
    assert.ok(Date.now() - started >= 1900, `two waits of 1 s (${Date.now() - started} ms)`);
  });
});

describe('netskope Test Connection', () => {
  it('proves the token and every endpoint scope; a missing scope names the endpoint to add', async (t) => {
    const sim = new NetskopeSimulator({ records: 2, endpoints: ['events/audit', 'alerts/dlp'] });
    const narrow = new NetskopeSimulator({ records: 2, scopes: ['/api/v2/events/dataexport/events/audit'] });
    for (const s of [sim, narrow]) {
      await s.start();
      t.after(() => s.stop());
    }
    const settings = (id: string, raw: Record<string, unknown>) => {
      const r = validateSettings(id, raw);
      if (!r.ok) throw new Error(r.issues.join());
      return r.settings;
    };
    assert.deepEqual(
      await testConnection(
        events,
        netskopeAccount,
        { url: sim.url, token: sim.token },
        settings('netskope-events', {}),
      ),
      { ok: true },
    );
    const bad = await testConnection(
      events,
      netskopeAccount,
      { url: sim.url, token: 'wrong-token-0123456789' },
      settings('netskope-events', {}),
    );
    assert.equal(!bad.ok && bad.error.code, 'netskope_invalid_token');
    assert.doesNotMatch(JSON.stringify(bad), /wrong-token/);
    const scope = await testConnection(
      alerts,
      netskopeAccount,
      { url: narrow.url, token: narrow.token },
      settings('netskope-alerts', { types: ['dlp'] }),
    );
    assert.equal(!scope.ok && scope.error.code, 'netskope_missing_scope');
    if (!scope.ok) assert.match(scope.error.action, /\/api\/v2\/events\/dataexport\/alerts\/dlp/);
    assert.ok(
      sim.requests().every((r) => r.query.get('index') === 'tributary-check'),
      'never the collector’s index',
    );
    assert.deepEqual(sim.writeCalls(), []);
  });
});
