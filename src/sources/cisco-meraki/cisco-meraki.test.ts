import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { ciscoMeraki, type MerakiAccount, merakiFields } from '../../accounts/cisco-meraki.ts';
import { validateSettings } from '../../config/config-file.ts';
import { hashId } from '../../core/envelope.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import type { KeyedCheckpoint } from '../../engine/keyed-stream.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import meraki from './index.ts';
import { type MerakiList, MerakiSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown>) => {
  const r = validateSettings('cisco-meraki', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: MerakiSimulator,
  stream: string,
  o: { now: number; perPage?: number; checkpoint?: TimeWindowCheckpoint; stopAfter?: number; lagMs?: number },
) {
  const account: MerakiAccount = { apiKey: sim.apiKey, url: sim.url };
  const http: Http = new Http({
    vendor: 'Cisco Meraki',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => ciscoMeraki.authorize(account, h, { refresh, http, url }),
    explain: meraki.explain,
  });
  const ctx = readContext(http, {
    stream,
    settings: settingsOf({ organizationId: sim.organizationId, perPage: o.perPage ?? 1000 }),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: 2 * 3_600_000, lagMs: o.lagMs ?? 0 },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of meraki.streams[stream].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>) {
    batches.push(b);
    if (o.stopAfter && batches.length >= o.stopAfter) break;
  }
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

const idsOf = (sim: MerakiSimulator, list: MerakiList) =>
  sim
    .records(list)
    .map((r) => hashId(r))
    .sort();

describe('cisco-meraki account and settings', () => {
  it('regional hosts; the key and organization ID are checked by shape', () => {
    const a = merakiFields.parse({ apiKey: 'a'.repeat(40), region: 'canada' }) as MerakiAccount;
    assert.deepEqual(ciscoMeraki.origins?.(a), ['https://api.meraki.ca']);
    assert.deepEqual(ciscoMeraki.origins?.({ apiKey: 'x' }), ['https://api.meraki.com']);
    const bad = merakiFields.safeParse({ apiKey: 'secret-key' });
    assert.match(formatIssues(bad.error!).join(), /^apiKey: expected the 40-character Meraki API key/);
    const s = validateSettings('cisco-meraki', { organizationId: 'acme', perPage: 2 });
    assert.equal(s.ok, false);
    if (!s.ok) {
      assert.match(s.issues.join(), /organizationId: expected the numeric organization ID/);
      assert.match(s.issues.join(), /perPage/);
    }
  });
});

describe('cisco-meraki Test Connection', () => {
  it('passes; explains a bad key, an organization the key cannot see, and no MX appliance', async (t) => {
    const sim = new MerakiSimulator({ events: 3 });
    const noMx = new MerakiSimulator({ events: 3, appliance: false });
    for (const s of [sim, noMx]) {
      await s.start();
      t.after(() => s.stop());
    }
    const test = (s: MerakiSimulator, o: { key?: string; org?: string; streams?: string[] } = {}) =>
      testConnection(
        meraki,
        ciscoMeraki,
        { apiKey: o.key ?? s.apiKey, url: s.url },
        settingsOf({ organizationId: o.org ?? s.organizationId }),
        o.streams,
      );
    assert.deepEqual(await test(sim), { ok: true });
    const r401 = await test(sim, { key: 'b'.repeat(40) });
    assert.equal(!r401.ok && r401.error.code, 'meraki_invalid_api_key');
    assert.doesNotMatch(JSON.stringify(r401), /bbbbbbbb/);
    const r404 = await test(sim, { org: '1' });
    assert.equal(!r404.ok && r404.error.code, 'meraki_organization_not_found');
    const mx = await test(noMx);
    assert.equal(!mx.ok && mx.error.code, 'meraki_no_appliance');
    assert.deepEqual(await test(noMx, { streams: ['configuration-changes'] }), { ok: true });
    assert.deepEqual(sim.writeCalls(), []);
  });
});

describe('cisco-meraki reading', () => {
  it('security events: t0/t1, sortOrder=ascending, Link-header pages, the position moving page by page', async (t) => {
    const sim = new MerakiSimulator({ events: 40, spacingMs: 60_000, clock: () => T0, seed: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, 'security-events', { now: T0, perPage: 15 });
    assert.deepEqual([...r.ids].sort(), idsOf(sim, 'security'));
    assert.equal(r.batches.length, 3);
    const q = sim.requests()[0].query;
    assert.equal(q.get('sortOrder'), 'ascending');
    assert.equal(q.get('perPage'), '15');
    assert.equal(q.get('t1'), new Date(T0).toISOString());
    assert.equal(sim.requests()[0].headers.authorization, `Bearer ${sim.apiKey}`);
    assert.ok(sim.requests()[1].query.get('startingAfter'), 'the next link carries the server token');
    assert.ok(
      Date.parse(r.batches[0].checkpoint.since) > T0 - 2 * 3_600_000,
      'oldest first: the position moved',
    );
  });

  it('configuration changes (order not documented): a window is finished before the position moves; a crash resumes', async (t) => {
    const sim = new MerakiSimulator({ events: 40, spacingMs: 60_000, clock: () => T0, seed: 6 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'configuration-changes', { now: T0, perPage: 15, stopAfter: 1 });
    const cp = first.checkpoint as TimeWindowCheckpoint;
    assert.equal(cp.since, new Date(T0 - 2 * 3_600_000).toISOString(), 'since stays at the window start');
    assert.ok(cp.next, 'the next page is kept');
    const rest = await drain(sim, 'configuration-changes', { now: T0, perPage: 15, checkpoint: cp });
    const ids = [...first.ids, ...rest.ids];
    assert.deepEqual([...ids].sort(), idsOf(sim, 'changes'));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(rest.checkpoint?.since, new Date(T0).toISOString());
  });
});

describe('cisco-meraki network events', () => {
  const eventRequests = (sim: MerakiSimulator) =>
    sim.requests().filter((r) => /\/events$/.test(r.path) && r.path.includes('/networks/'));

  it('every network and product type, each from its own position; pages newest first, stopped at the window end', async (t) => {
    const sim = new MerakiSimulator({
      events: 90,
      spacingMs: 60_000,
      clock: () => T0,
      seed: 7,
      rateLimitPerSecond: 1e6,
    });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, 'network-events', { now: T0, perPage: 4 });
    assert.deepEqual([...r.ids].sort(), idsOf(sim, 'network'));
    assert.equal(new Set(r.ids).size, r.ids.length);
    const parts = (r.checkpoint as unknown as KeyedCheckpoint).parts;
    assert.deepEqual(Object.keys(parts).sort(), [
      'L_646829496481100388/appliance',
      'L_646829496481100388/switch',
      'L_646829496481105433/appliance',
      'L_646829496481105433/switch',
      'L_646829496481105433/wireless',
      'N_24329156/wireless',
    ]);
    for (const p of Object.values(parts))
      assert.equal((p as TimeWindowCheckpoint).since, new Date(T0).toISOString());
    const reqs = eventRequests(sim);
    assert.ok(
      reqs.every((q) => q.query.get('productType')),
      'every request names its product type',
    );
    const first = reqs[0].query;
    assert.equal(first.get('startingAfter'), new Date(T0 - 2 * 3_600_000 - 1_001).toISOString());
    assert.equal(first.get('perPage'), '4');
    // The last page of each log is asked once: an empty answer ends it, the present is never paged past.
    assert.ok(reqs.length < 90 / 4 + 6 * 3, `${reqs.length} requests`);
  });

  it('the links page on to the present; reading stops at the window end and the next run reads on', async (t) => {
    const sim = new MerakiSimulator({
      events: 60,
      spacingMs: 60_000,
      clock: () => T0,
      seed: 11,
      rateLimitPerSecond: 1e6,
    });
    await sim.start();
    t.after(() => sim.stop());
    const end = T0 - 20 * 60_000;
    const a = await drain(sim, 'network-events', { now: T0, perPage: 3, lagMs: 20 * 60_000 });
    const times = sim.records('network').map((r) => [hashId(r), Date.parse(r.occurredAt as string)] as const);
    const before = times.filter(([, at]) => at < end).map(([id]) => id);
    assert.ok(before.length > 0 && before.length < times.length);
    assert.deepEqual([...a.ids].sort(), before.sort(), 'only events before the window end');
    for (const r of eventRequests(sim)) {
      const after = r.query.get('startingAfter');
      assert.ok(after && Date.parse(after) < end, `no page asked past the window end (${after})`);
    }
    const b = await drain(sim, 'network-events', { now: T0, perPage: 3, checkpoint: a.checkpoint });
    assert.deepEqual([...a.ids, ...b.ids].sort(), idsOf(sim, 'network'));
  });

  it('a crash mid-log resumes where the last acknowledged page left it; nothing lost, nothing repeated', async (t) => {
    const sim = new MerakiSimulator({
      events: 60,
      spacingMs: 60_000,
      clock: () => T0,
      seed: 8,
      rateLimitPerSecond: 1e6,
    });
    await sim.start();
    t.after(() => sim.stop());
    const ids: string[] = [];
    let checkpoint: KeyedCheckpoint | undefined;
    for (let run = 0; run < 40; run++) {
      const r = await drain(sim, 'network-events', {
        now: T0,
        perPage: 3,
        checkpoint: checkpoint as unknown as TimeWindowCheckpoint,
        stopAfter: 2,
      });
      ids.push(...r.ids);
      checkpoint = r.checkpoint as unknown as KeyedCheckpoint;
      if (r.batches.length < 2) break;
    }
    assert.deepEqual([...ids].sort(), idsOf(sim, 'network'));
    assert.equal(new Set(ids).size, ids.length, 'no event delivered twice');
  });

  it('events indexed late within the overlap are read; later runs read only what is new', async (t) => {
    let now = T0;
    const sim = new MerakiSimulator({
      events: 12,
      spacingMs: 60_000,
      clock: () => now,
      seed: 9,
      rateLimitPerSecond: 1e6,
    });
    await sim.start();
    t.after(() => sim.stop());
    const a = await drain(sim, 'network-events', { now, perPage: 1000 });
    now += 5 * 60_000;
    sim.addEvents('network', 6, { from: now - 3 * 60_000, spacingMs: 10_000 });
    const b = await drain(sim, 'network-events', { now, perPage: 1000, checkpoint: a.checkpoint });
    assert.equal(b.ids.length, 6);
    const all = [...a.ids, ...b.ids];
    assert.deepEqual([...all].sort(), idsOf(sim, 'network'));
  });

  it('networks and product types in settings narrow the logs; a network gone from the listing leaves the checkpoint', async (t) => {
    const sim = new MerakiSimulator({
      events: 30,
      spacingMs: 60_000,
      clock: () => T0,
      seed: 10,
      rateLimitPerSecond: 1e6,
    });
    await sim.start();
    t.after(() => sim.stop());
    const account: MerakiAccount = { apiKey: sim.apiKey, url: sim.url };
    const http = new Http({
      vendor: 'Cisco Meraki',
      backoffBaseMs: 1,
      authorize: (h, refresh, url) => ciscoMeraki.authorize(account, h, { refresh, http, url }),
      explain: meraki.explain,
    });
    const settings = settingsOf({
      organizationId: sim.organizationId,
      networkIds: ['L_646829496481105433', 'N_24329156'],
      productTypes: ['wireless'],
    });
    const ctx = readContext(http, {
      stream: 'network-events',
      settings,
      account,
      checkpoint: { parts: { 'L_0/wireless': { since: new Date(T0).toISOString() } } },
      now: () => T0,
      window: { lookbackMs: 2 * 3_600_000, lagMs: 0 },
    });
    let last: KeyedCheckpoint | undefined;
    const ids: string[] = [];
    for await (const b of meraki.streams['network-events'].read(ctx) as AsyncIterable<
      Batch<KeyedCheckpoint>
    >) {
      last = b.checkpoint;
      ids.push(...b.events.map((e) => e.id as string));
    }
    assert.deepEqual(Object.keys(last!.parts).sort(), [
      'L_646829496481105433/wireless',
      'N_24329156/wireless',
    ]);
    const wireless = sim
      .records('network')
      .filter((r) => (r.ssidNumber as number | null) === 1)
      .map((r) => hashId(r))
      .sort();
    assert.deepEqual([...ids].sort(), wireless);
    assert.ok(eventRequests(sim).every((q) => q.query.get('productType') === 'wireless'));
    const bad = validateSettings('cisco-meraki', {
      organizationId: '1',
      networkIds: ['acme'],
      productTypes: ['sensor'],
    });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.match(bad.issues.join(), /networkIds\.0: expected a Meraki network ID/);
      assert.match(bad.issues.join(), /productTypes\.0/);
    }
  });

  it('a network the key cannot see is explained', () => {
    const e = meraki.explain?.({
      status: 404,
      message: '',
      body: '',
      url: new URL('https://api.meraki.com/api/v1/networks/N_1/events'),
    });
    assert.equal(e?.code, 'meraki_network_not_found');
  });
});
