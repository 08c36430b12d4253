import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import {
  type ServiceNowAccount,
  servicenow as servicenowAccount,
  servicenowFields,
} from '../../accounts/servicenow.ts';
import { validateSettings } from '../../config/config-file.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import servicenow, { createdQuery } from './index.ts';
import { ServiceNowSimulator, type SnTable } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('servicenow', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

const accountOf = (sim: ServiceNowSimulator): ServiceNowAccount => ({
  instanceUrl: sim.url,
  username: sim.username,
  password: sim.password,
});

async function drain(
  sim: ServiceNowSimulator,
  table: SnTable,
  o: { now: () => number; checkpoint?: TimeWindowCheckpoint; pageSize?: number; account?: ServiceNowAccount },
) {
  const account = o.account ?? accountOf(sim);
  const http: Http = new Http({
    vendor: 'ServiceNow',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => servicenowAccount.authorize(account, h, { refresh, http, url }),
    explain: servicenow.explain,
  });
  const ctx = readContext(http, {
    stream: table,
    settings: settingsOf({ pageSize: o.pageSize ?? 10 }),
    account,
    checkpoint: o.checkpoint,
    now: o.now,
    window: { lookbackMs: 2 * 3_600_000 },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of servicenow.streams[table].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

describe('servicenow account and settings', () => {
  it('keeps the password secret, sends it only to the instance, and checks the fields', () => {
    const a = servicenowFields.parse({
      instanceUrl: 'https://acme.service-now.com/',
      username: 'svc',
      password: 'pw',
    });
    assert.deepEqual(servicenowAccount.origins?.(a as ServiceNowAccount), ['https://acme.service-now.com']);
    assert.ok(servicenowAccount.secrets.includes('password'));
    const bad = servicenowFields.safeParse({ instanceUrl: 'acme', username: 'a:b', password: '' });
    const issues = formatIssues(bad.error!).join('\n');
    assert.match(issues, /instanceUrl: expected an absolute URL/);
    assert.match(issues, /username: a Basic user name cannot contain ":"/);
    assert.ok(
      !validateSettings('servicenow', { pageSize: 20_000 }).ok,
      'ServiceNow allows 10000 rows at most',
    );
  });

  it('asks whole seconds, start inclusive and end exclusive, oldest first with sys_id breaking ties', () => {
    const q = createdQuery({
      start: new Date('2026-11-25T10:00:00.400Z'),
      end: new Date('2026-11-25T11:00:00.900Z'),
    });
    assert.equal(
      q,
      'sys_created_on>=2026-11-25 10:00:00^sys_created_on<2026-11-25 11:00:00^ORDERBYsys_created_on^ORDERBYsys_id',
    );
  });
});

describe('servicenow OAuth', () => {
  it('needs a complete pair of credentials, and keeps the client secret secret', () => {
    assert.deepEqual(servicenowAccount.secrets, ['password', 'clientSecret']);
    const issues = (raw: Record<string, unknown>) => {
      const r = servicenowFields.safeParse({ instanceUrl: 'https://acme.service-now.com', ...raw });
      return r.success ? '' : formatIssues(r.error).join('\n');
    };
    assert.match(issues({}), /username: expected a user name and password \(Basic\), or an OAuth clientId/);
    assert.match(
      issues({ clientId: 'abc' }),
      /clientSecret: expected the client secret that goes with clientId/,
    );
    assert.match(issues({ username: 'svc' }), /password: expected the password of the integration user/);
    assert.equal(issues({ clientId: 'abc', clientSecret: 's' }), '');
    assert.equal(issues({ clientId: 'abc', clientSecret: 's', username: 'svc', password: 'p' }), '');
  });

  for (const grant of ['password', 'client_credentials'] as const)
    it(`reads with a ${grant} grant token, sent as Bearer; the token is asked once per lifetime`, async (t) => {
      const sim = new ServiceNowSimulator({ clock: () => T0, rows: 25, seed: 11 });
      await sim.start();
      t.after(() => sim.stop());
      const oauth: ServiceNowAccount = {
        instanceUrl: sim.url,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        ...(grant === 'password' ? { username: sim.username, password: sim.password } : {}),
      };
      const r = await drain(sim, 'sys_audit', { now: () => T0, account: oauth });
      assert.deepEqual([...r.ids].sort(), sim.ids(['sys_audit']).sort());
      assert.deepEqual(sim.grants, [{ grant, username: grant === 'password' ? sim.username : null }]);
      const reads = sim.requests().filter((q) => q.path.startsWith('/api/now/table/'));
      assert.ok(reads.length > 1 && reads.every((q) => /^Bearer /.test(String(q.headers.authorization))));
      assert.deepEqual(sim.writeCalls(), []);
    });

  it('explains refused OAuth credentials, naming the system property for client credentials', async (t) => {
    const sim = new ServiceNowSimulator({ clock: () => T0, rows: 2, clientCredentials: false, seed: 12 });
    await sim.start();
    t.after(() => sim.stop());
    const test = (a: Partial<ServiceNowAccount>) =>
      testConnection(servicenow, servicenowAccount, { instanceUrl: sim.url, ...a }, settingsOf(), [
        'sys_audit',
      ]);
    const off = await test({ clientId: sim.clientId, clientSecret: sim.clientSecret });
    assert.equal(!off.ok && off.error.code, 'servicenow_oauth_access_denied');
    if (!off.ok)
      assert.match(off.error.action, /glide\.oauth\.inbound\.client\.credential\.grant_type\.enabled/);
    const wrong = await test({ clientId: sim.clientId, clientSecret: 'wrong-client-secret-42' });
    assert.equal(!wrong.ok && wrong.error.code, 'servicenow_oauth_invalid_client');
    assert.doesNotMatch(JSON.stringify(wrong), /wrong-client-secret/);
    const badUser = await test({
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      username: sim.username,
      password: 'not-the-password-7',
    });
    assert.equal(!badUser.ok && badUser.error.code, 'servicenow_oauth_invalid_grant');
    assert.doesNotMatch(JSON.stringify(badUser), /not-the-password/);
    assert.deepEqual(
      await test({
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        username: sim.username,
        password: sim.password,
      }),
      { ok: true },
    );
  });
});

describe('servicenow test connection', () => {
  it('proves the password and the read access of every table collected', async (t) => {
    const ok = new ServiceNowSimulator({ clock: () => T0, rows: 3 });
    const noTx = new ServiceNowSimulator({
      clock: () => T0,
      rows: 3,
      forbidden: ['syslog_transaction'],
      seed: 2,
    });
    await ok.start();
    await noTx.start();
    t.after(() => Promise.all([ok.stop(), noTx.stop()]));
    const test = (sim: ServiceNowSimulator, streams: string[], password = sim.password) =>
      testConnection(servicenow, servicenowAccount, { ...accountOf(sim), password }, settingsOf(), streams);
    assert.deepEqual(await test(ok, ['sys_audit', 'syslog_transaction', 'sysevent']), { ok: true });
    const wrong = await test(ok, ['sys_audit'], 'wrong-password-123');
    assert.equal(!wrong.ok && wrong.error.code, 'servicenow_not_authenticated');
    assert.doesNotMatch(JSON.stringify(wrong), /wrong-password/);
    assert.deepEqual(await test(noTx, ['sys_audit', 'sysevent']), { ok: true });
    const denied = await test(noTx, ['sys_audit', 'syslog_transaction']);
    assert.equal(!denied.ok && denied.error.code, 'servicenow_not_authorized');
    if (!denied.ok)
      assert.match(
        denied.error.action,
        /read ACL on that table.*syslog_transaction|syslog_transaction.*read ACL/s,
      );
    assert.deepEqual([...ok.writeCalls(), ...noTx.writeCalls()], []);
  });
});

describe('servicenow reading', () => {
  it('reads a table oldest first by offset pages, with times in UTC and sys_id as the id', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ServiceNowSimulator({ clock: clock.now, rows: 25 });
    await sim.start();
    t.after(() => sim.stop());
    const res = await drain(sim, 'sys_audit', { now: clock.now });
    assert.deepEqual(res.ids, sim.ids(['sys_audit']));
    const first = res.batches.flatMap((b) => b.events)[0];
    assert.equal(
      first.time,
      new Date(T0 - 120_000 - 24 * 60_000).toISOString(),
      'sys_created_on read as UTC',
    );
    const asked = sim.requests().filter((r) => r.path === '/api/now/table/sys_audit');
    // Windows of at most an hour: the first (two hours back) is empty, the second holds three pages.
    assert.deepEqual(
      asked.map((r) => r.query.get('sysparm_offset')),
      ['0', '0', '10', '20'],
    );
    assert.match(asked[0].query.get('sysparm_query') ?? '', /ORDERBYsys_created_on\^ORDERBYsys_id$/);
    assert.equal(asked[0].query.get('sysparm_exclude_reference_link'), 'true');
  });

  it('loses nothing when a row committed late shifts the offsets mid-read: the next run’s overlap delivers it', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ServiceNowSimulator({ clock: clock.now, rows: 25, spacingMs: 10_000 });
    await sim.start();
    t.after(() => sim.stop());
    const before = new Set(sim.ids(['sysevent']));
    sim.insertDuringPaging('sysevent', 10); // before the second page, a row lands among those already read
    const first = await drain(sim, 'sysevent', { now: clock.now });
    const late = sim.ids(['sysevent']).find((id) => !before.has(id));
    assert.ok(late, 'a row was inserted during paging');
    assert.equal(
      new Set(first.ids).size,
      first.ids.length,
      'the row pushed onto the next page is not delivered twice',
    );
    assert.deepEqual([...first.ids].sort(), [...before].sort(), 'every row there was, once');
    clock.advance(60_000);
    const second = await drain(sim, 'sysevent', { now: clock.now, checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [late], 'the late row, found by re-reading the overlap');
  });
});
