import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type CrowdStrikeAccount, crowdstrike, crowdstrikeFields } from '../../accounts/crowdstrike.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import falcon, { MAX_DEPTH } from './index.ts';

import { CrowdStrikeSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const ID = '0123456789abcdef0123456789abcdef';
const SECRET = 'abcdefghijABCDEFGHIJ0123456789abcdefghij';

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('crowdstrike', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

async function drain(
  sim: CrowdStrikeSimulator,
  o: {
    now: number;
    checkpoint?: TimeWindowCheckpoint;
    settings?: Record<string, unknown>;
    warnings?: string[];
  },
) {
  const account: CrowdStrikeAccount = sim.account();
  const http: Http = new Http({
    vendor: 'CrowdStrike Falcon',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => crowdstrike.authorize(account, h, { refresh, http, url }),
    explain: falcon.explain,
  });
  const ctx = readContext(http, {
    stream: 'alerts',
    settings: settingsOf(o.settings),
    account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: 2 * 3_600_000, lagMs: 0 },
    warn: (e) => o.warnings?.push(e.code),
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of falcon.streams.alerts.read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

describe('crowdstrike account and settings', () => {
  it('picks the cloud host, keeps the secret secret, and names the field at fault', () => {
    const a = crowdstrikeFields.parse({ clientId: ID, clientSecret: SECRET, cloud: 'eu-1' });
    assert.deepEqual(crowdstrike.origins?.(a as CrowdStrikeAccount), ['https://api.eu-1.crowdstrike.com']);
    assert.deepEqual(crowdstrike.origins?.({ clientId: ID, clientSecret: SECRET, cloud: 'us-gov-1' }), [
      'https://api.laggar.gcw.crowdstrike.com',
    ]);
    assert.deepEqual(crowdstrike.origins?.({ clientId: ID, clientSecret: SECRET }), [
      'https://api.crowdstrike.com',
    ]);
    assert.deepEqual(crowdstrike.secrets, ['clientSecret']);
    const bad = crowdstrikeFields.safeParse({ clientId: 'nope', clientSecret: 'short', cloud: 'us-3' });
    const text = formatIssues(bad.error!).join('\n');
    assert.match(text, /^clientId: expected the 32-character client ID/m);
    assert.match(text, /^clientSecret: expected the 40-character secret/m);
    assert.match(text, /^cloud: expected one of us-1, us-2, eu-1, us-gov-1/m);
    assert.doesNotMatch(text, /short/);
    const both = crowdstrikeFields.safeParse({
      clientId: ID,
      clientSecret: SECRET,
      cloud: 'us-2',
      url: 'https://proxy.example',
    });
    assert.match(formatIssues(both.error!).join(), /url: set either cloud or url/);
  });

  it('validates settings', () => {
    assert.deepEqual(settingsOf(), { pageSize: 500 });
    const r = validateSettings('crowdstrike', { pageSize: 5000 });
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.issues.join(), /pageSize/);
  });
});

describe('crowdstrike Test Connection', () => {
  it('passes with a client holding Alerts: Read; explains bad credentials and a missing scope', async (t) => {
    const ok = new CrowdStrikeSimulator({ alerts: 3 });
    const noScope = new CrowdStrikeSimulator({ alerts: 3, scopes: ['hosts:read'] });
    for (const s of [ok, noScope]) {
      await s.start();
      t.after(() => s.stop());
    }
    const test = (
      sim: CrowdStrikeSimulator,
      over: Partial<CrowdStrikeAccount> = {},
      settings = settingsOf(),
    ) => testConnection(falcon, crowdstrike, { ...sim.account(), ...over }, settings);
    assert.deepEqual(await test(ok), { ok: true });
    const bad = await test(ok, { clientSecret: SECRET });
    assert.equal(!bad.ok && bad.error.code, 'crowdstrike_token_refused');
    if (!bad.ok) assert.match(bad.error.action, /API clients and keys/);
    assert.doesNotMatch(JSON.stringify(bad), new RegExp(SECRET));
    const scope = await test(noScope);
    assert.equal(!scope.ok && scope.error.code, 'crowdstrike_scope_missing');
    if (!scope.ok) assert.match(scope.error.action, /Alerts: Read/);
    const filter = await test(ok, {}, settingsOf({ filter: 'no such thing' }));
    assert.equal(!filter.ok && filter.error.code, 'crowdstrike_bad_filter');
    for (const s of [ok, noScope]) assert.deepEqual(s.writeCalls(), []);
  });
});

describe('crowdstrike alerts', () => {
  it('lists ids by updated time, fetches each page in one entities call, and keys versions by update', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new CrowdStrikeSimulator({ clock: clock.now, alerts: 25, spacingMs: 60_000, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, { now: T0, settings: { pageSize: 10, filter: "product:'epp'" } });
    assert.deepEqual([...first.ids].sort(), sim.expectedIds().sort());
    const queries = sim.requests().filter((r) => r.path === '/alerts/queries/alerts/v2');
    assert.equal(
      queries[0].query.get('filter'),
      "updated_timestamp:>='2026-11-25T10:00:00.000Z'+updated_timestamp:<'2026-11-25T12:00:00.000Z'+product:'epp'",
    );
    assert.equal(queries[0].query.get('sort'), 'updated_timestamp|asc');
    assert.deepEqual(
      queries.map((r) => r.query.get('offset')),
      ['0', '10', '20'],
    );
    const entities = sim.requests().filter((r) => r.path === '/alerts/entities/alerts/v2');
    assert.equal(entities.length, 3, 'one entities call per page of ids');
    assert.equal(queries[0].headers.authorization?.startsWith('Bearer '), true);
    const e = first.batches[0].events[0];
    const raw = e.raw as Record<string, unknown>;
    assert.match(String(raw.updated_timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(e.id, `${raw.composite_id}@${raw.updated_timestamp}`);
    assert.equal(e.time, new Date(Date.parse(String(raw.updated_timestamp))).toISOString());

    // An analyst changes an alert: its new version is delivered, the first is not again.
    clock.advance(5 * 60_000);
    const [changed] = sim.addAlerts(1, { alertSeq: 4, from: clock.now() - 60_000, status: 'closed' });
    const second = await drain(sim, { now: clock.now(), checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [changed]);
    assert.equal((second.batches[0].events[0].raw as Record<string, unknown>).status, 'closed');
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('renews the 30-minute token when the vendor refuses it as expired', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new CrowdStrikeSimulator({ clock: clock.now, alerts: 5, spacingMs: 60_000, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, { now: clock.now() });
    assert.equal(sim.tokensIssued(), 1);
    clock.advance(31 * 60_000);
    sim.addAlerts(3, { from: clock.now() - 10 * 60_000 });
    const second = await drain(sim, { now: clock.now(), checkpoint: first.checkpoint });
    assert.equal(second.ids.length, 3);
    assert.equal(sim.tokensIssued(), 2, 'the expired token was replaced once');
  });

  it('halves a window whose alerts lie deeper than the query pages to, before delivering any of it', async (t) => {
    const n = MAX_DEPTH + 500;
    const sim = new CrowdStrikeSimulator({ clock: () => T0, alerts: n, spacingMs: 500, seed: 5 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, { now: T0, settings: { pageSize: 1000 } });
    assert.equal(new Set(r.ids).size, n);
    assert.equal(r.ids.length, n, 'no duplicates');
    const queries = sim.requests().filter((q) => q.path === '/alerts/queries/alerts/v2');
    assert.ok(queries.every((q) => Number(q.query.get('offset')) + 1000 <= MAX_DEPTH));
    const firstPages = queries.filter((q) => q.query.get('offset') === '0').map((q) => q.query.get('filter'));
    assert.ok(firstPages.length >= 3, 'the full window was refused, then read in halves');
    const entities = sim.requests().filter((q) => q.path === '/alerts/entities/alerts/v2');
    assert.equal(entities.length, queries.length - 1, 'every page but the refused one fetched');
  });

  it('explains a query refused as too deep as transient (the next run splits the window)', () => {
    const info = falcon.explain?.({
      status: 400,
      message: 'offset + limit must be less than or equal to 10000',
      body: '',
      url: new URL('https://api.crowdstrike.com/alerts/queries/alerts/v2'),
    });
    assert.equal(info?.code, 'crowdstrike_window_too_deep');
    assert.equal(info?.type, 'transient');
  });

  it('waits as X-RateLimit-RetryAfter says on a 429', () => {
    const at = Math.ceil(Date.now() / 1000) + 3;
    const info = falcon.explain?.({
      status: 429,
      message: 'API rate limit exceeded.',
      body: '',
      url: new URL('https://api.crowdstrike.com/alerts/queries/alerts/v2'),
      headers: new Headers({ 'x-ratelimit-retryafter': String(at) }),
    });
    assert.equal(info?.code, 'crowdstrike_rate_limited');
    assert.ok(info?.retryAfter !== undefined && info.retryAfter > 2 && info.retryAfter <= 4);
  });
});
