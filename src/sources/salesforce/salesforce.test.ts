import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { drainSource as drainStream, settingsFor } from '../../../test/support/drain.ts';
import { type SalesforceAccount, salesforce as salesforceAccount } from '../../accounts/salesforce.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { TributaryError } from '../../core/errors.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import { apiUsage } from '../salesforce-api.ts';
import salesforce, { windowQuery } from './index.ts';
import { SalesforceSimulator } from './simulator.ts';

const T0 = Date.parse('2026-12-07T05:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => settingsFor('salesforce', raw);

const accountOf = (sim: SalesforceSimulator): SalesforceAccount => ({
  url: sim.url,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
});

type Cp = TimeWindowCheckpoint & { apiUsage?: string };

const drain = (
  sim: SalesforceSimulator,
  object: 'LoginHistory' | 'SetupAuditTrail',
  o: { now: () => number; checkpoint?: Cp; account?: SalesforceAccount; warnings?: TributaryError[] },
) =>
  drainStream<Cp>({
    ...o,
    source: salesforce,
    stream: object,
    kind: salesforceAccount,
    account: o.account ?? accountOf(sim),
    lookbackMs: 2 * 3_600_000,
    maxRetryAfterMs: 10,
  });

describe('salesforce query', () => {
  it('asks whole seconds, start inclusive and end exclusive, oldest first with Id breaking ties', () => {
    const q = windowQuery('SetupAuditTrail', {
      start: new Date('2026-12-07T04:00:00.400Z'),
      end: new Date('2026-12-07T05:00:00.900Z'),
    });
    assert.match(
      q,
      /^SELECT Id, Action, .* FROM SetupAuditTrail WHERE CreatedDate >= 2026-12-07T04:00:00Z AND CreatedDate < 2026-12-07T05:00:00Z ORDER BY CreatedDate ASC, Id ASC$/,
    );
    assert.ok(!validateSettings('salesforce', { batchSize: 100 }).ok, 'Salesforce batches are 200 to 2000');
    assert.deepEqual(apiUsage('api-usage=10018/100000; api-bursts=1/750'), { used: 10018, limit: 100000 });
    assert.equal(apiUsage(null), undefined);
  });
});

describe('salesforce reading', () => {
  it('reads LoginHistory through nextRecordsUrl batches, ids Id, times LoginTime, the allowance in the checkpoint', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SalesforceSimulator({ clock: clock.now, rows: 25, maxBatch: 10, seed: 'read' });
    await sim.start();
    t.after(() => sim.stop());
    const res = await drain(sim, 'LoginHistory', { now: clock.now });
    assert.deepEqual(res.ids, sim.ids('LoginHistory'));
    const first = res.batches.flatMap((b) => b.events)[0];
    assert.equal(
      first.time,
      new Date(T0 - 120_000 - 24 * 60_000).toISOString(),
      'LoginTime +0000 read as UTC',
    );
    const asked = sim.requests().filter((r) => r.path.startsWith('/services/data/'));
    assert.deepEqual(
      asked.map((r) => r.path.replace(/query\/[^-]+-/, 'query/<locator>-')),
      [
        '/services/data/v62.0/query',
        '/services/data/v62.0/query/<locator>-10',
        '/services/data/v62.0/query/<locator>-20',
      ],
    );
    assert.equal(asked[0].headers['sforce-query-options'], 'batchSize=2000');
    assert.equal(asked[1].headers['sforce-query-options'], 'batchSize=2000', 'every batch says its size');
    assert.equal(res.checkpoint?.apiUsage, `3/15000 at ${new Date(T0).toISOString()}`);
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('resumes from its checkpoint: only rows after it, the boundary second re-read and suppressed', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SalesforceSimulator({ clock: clock.now, rows: 5, seed: 'resume' });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'SetupAuditTrail', { now: clock.now });
    assert.equal(first.ids.length, 5);
    clock.advance(5 * 60_000);
    sim.addRows('SetupAuditTrail', [
      [T0 + 10_000, T0 + 10_000],
      [T0 + 20_000, T0 + 20_000],
    ]);
    const second = await drain(sim, 'SetupAuditTrail', { now: clock.now, checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, sim.ids('SetupAuditTrail').slice(5));
    const q = sim.requests().at(-1)?.query.get('q') ?? '';
    // The watermark is the first run's window end (now − 1 minute of lag); five minutes of overlap behind it.
    assert.match(q, /CreatedDate >= 2026-12-07T04:54:00Z/, 'five minutes of overlap behind the watermark');
  });

  it('authenticates with the JWT bearer flow', async (t) => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // The assertion's exp comes from the wall clock, which the simulator checks it against.
    const clock = new ManualClock(Date.now());
    const sim = new SalesforceSimulator({
      clock: clock.now,
      rows: 3,
      seed: 'jwt',
      jwt: {
        publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        username: 'int@acme.com',
      },
    });
    await sim.start();
    t.after(() => sim.stop());
    const account: SalesforceAccount = {
      url: sim.url,
      clientId: sim.clientId,
      username: 'int@acme.com',
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    const res = await drain(sim, 'LoginHistory', { now: clock.now, account });
    assert.deepEqual(res.ids, sim.ids('LoginHistory'));
    const token = sim.requests().find((r) => r.path === '/services/oauth2/token');
    assert.ok(token, 'a token was asked for');
    const other = await drain(sim, 'LoginHistory', {
      now: clock.now,
      account: { ...account, username: 'someone@acme.com' },
    }).catch((e) => e);
    assert.match(other.action, /Pre-authorize the user/);
  });

  it('renews an expired session once mid-read', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SalesforceSimulator({ clock: clock.now, rows: 30, maxBatch: 10, seed: 'renew' });
    await sim.start();
    t.after(() => sim.stop());
    const account = accountOf(sim);
    await drain(sim, 'LoginHistory', { now: clock.now, account });
    const before = sim.tokensIssued();
    sim.expireTokens();
    sim.addRows('LoginHistory', [[T0 - 30_000, T0 - 30_000]]);
    clock.advance(60_000);
    const again = await drain(sim, 'LoginHistory', { now: clock.now, account });
    assert.ok(again.ids.length > 0);
    assert.equal(sim.tokensIssued(), before + 1, 'one new token, fetched after the 401');
  });

  it('reads a window again from its first batch when the query locator expired', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new SalesforceSimulator({ clock: clock.now, rows: 25, maxBatch: 10, seed: 'locator' });
    await sim.start();
    t.after(() => sim.stop());
    sim.inject({
      path: /\/query\/.+/,
      kind: 'status',
      status: 400,
      body: [{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }],
    });
    const res = await drain(sim, 'LoginHistory', { now: clock.now });
    assert.deepEqual([...new Set(res.ids)], sim.ids('LoginHistory'), 'every row');
    // Re-read rows older than the overlap behind the first batch are delivered again, with the same ids.
    assert.ok(res.ids.length - new Set(res.ids).size <= 10, 'repeats stay within the batch delivered before');
    assert.equal(sim.requests().filter((r) => r.path === '/services/data/v62.0/query').length, 2);
  });

  it('warns when the org has spent 90 % of its allowance, and waits when it is spent (403 REQUEST_LIMIT_EXCEEDED)', async (t) => {
    const clock = new ManualClock(T0);
    const low = new SalesforceSimulator({ clock: clock.now, rows: 3, allowance: 100, used: 95, seed: 'low' });
    const out = new SalesforceSimulator({
      clock: clock.now,
      rows: 3,
      allowance: 100,
      used: 100,
      seed: 'out',
    });
    await low.start();
    await out.start();
    t.after(() => Promise.all([low.stop(), out.stop()]));
    const warnings: TributaryError[] = [];
    await drain(low, 'LoginHistory', { now: clock.now, warnings });
    assert.deepEqual(
      warnings.map((w) => w.code),
      ['salesforce_api_allowance_low'],
    );
    assert.match(warnings[0].message, /used 96 of its 100 daily API requests/);
    const err = await drain(out, 'LoginHistory', { now: clock.now }).catch((e) => e);
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.type, 'transient');
    // The HTTP client's clock is the wall clock: the wait runs from now.
    const wait = Date.parse(err.waitUntil) - Date.now();
    assert.ok(wait > 3_500_000 && wait <= 3_600_000, 'an hour, as no Retry-After is given');
  });
});

describe('salesforce test connection', () => {
  it('proves the credentials and the permission of every object collected, naming it', async (t) => {
    const ok = new SalesforceSimulator({ clock: () => T0, rows: 2, seed: 'tc' });
    const noLogins = new SalesforceSimulator({
      clock: () => T0,
      rows: 2,
      forbidden: ['LoginHistory'],
      seed: 'tc2',
    });
    await ok.start();
    await noLogins.start();
    t.after(() => Promise.all([ok.stop(), noLogins.stop()]));
    const test = (sim: SalesforceSimulator, streams: string[], secret = sim.clientSecret) =>
      testConnection(
        salesforce,
        salesforceAccount,
        { ...accountOf(sim), clientSecret: secret },
        settingsOf(),
        streams,
      );
    assert.deepEqual(await test(ok, ['LoginHistory', 'SetupAuditTrail']), { ok: true });
    const wrong = await test(ok, ['LoginHistory'], 'WRONG-SECRET-0123456789');
    assert.equal(wrong.ok, false);
    if (!wrong.ok) assert.match(wrong.error.action, /clientSecret/);
    assert.doesNotMatch(JSON.stringify(wrong), /WRONG-SECRET/);
    assert.deepEqual(await test(noLogins, ['SetupAuditTrail']), { ok: true });
    const denied = await test(noLogins, ['SetupAuditTrail', 'LoginHistory']);
    assert.equal(!denied.ok && denied.error.code, 'salesforce_object_not_readable');
    if (!denied.ok) assert.match(denied.error.action, /cannot read LoginHistory: .*“Manage Users”/);
    assert.doesNotMatch(JSON.stringify(denied), new RegExp(noLogins.clientSecret));
    assert.deepEqual([...ok.writeCalls(), ...noLogins.writeCalls()], []);
  });
});
