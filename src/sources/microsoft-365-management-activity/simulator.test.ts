import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../sim/kit.ts';
import { ManagementActivitySimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19);

describe('ManagementActivitySimulator', () => {
  const clock = new ManualClock(T0);
  const sim = new ManagementActivitySimulator({
    clock: clock.now,
    seed: 3,
    listPageSize: 2,
    requestsPerMinute: 1000,
    subscriptions: { 'Audit.Exchange': 'enabled', 'Audit.General': 'disabled' },
  });
  let feed = '';
  let token = '';
  const call = (path: string, init: RequestInit = {}, bearer = token) =>
    fetch(`${feed}${path}`, { ...init, headers: { authorization: `Bearer ${bearer}`, ...init.headers } });
  const error = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  before(async () => {
    const url = await sim.start();
    feed = `${url}/api/v1.0/${sim.tenantId}/activity/feed`;
    const res = await fetch(`${url}/${sim.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: sim.clientId,
        client_secret: sim.clientSecret,
        scope: 'https://manage.office.com/.default',
        grant_type: 'client_credentials',
      }),
    });
    token = ((await res.json()) as { access_token: string }).access_token;
  });
  after(() => sim.stop());

  test('lists content in availability order, two a page, with a NextPageUri that keeps the window', async () => {
    const window = `startTime=${iso(T0 - 2 * HOUR)}&endTime=${iso(T0)}`;
    const res = await call(`/subscriptions/content?contentType=Audit.Exchange&${window}`);
    assert.equal(res.status, 200);
    const page = (await res.json()) as Array<Record<string, string>>;
    assert.equal(page.length, 2);
    assert.deepEqual(Object.keys(page[0]).sort(), [
      'contentCreated',
      'contentExpiration',
      'contentId',
      'contentType',
      'contentUri',
    ]);
    assert.ok(page[0].contentCreated < page[1].contentCreated);
    assert.equal(Date.parse(page[0].contentExpiration) - Date.parse(page[0].contentCreated), 7 * 24 * HOUR);
    const next = new URL(res.headers.get('nextpageuri')!);
    assert.equal(next.searchParams.get('startTime'), iso(T0 - 2 * HOUR));
    assert.equal(next.searchParams.get('endTime'), iso(T0));
    assert.ok(next.searchParams.get('nextPage'));
    // As the reference's Pagination sample: /api/v1/ (not the request's /api/v1.0/), no PublisherIdentifier.
    assert.equal(next.pathname, `/api/v1/${sim.tenantId}/activity/feed/subscriptions/content`);
    assert.deepEqual([...next.searchParams.keys()], ['contentType', 'startTime', 'endTime', 'nextPage']);
    const rest = await fetch(next, { headers: { authorization: `Bearer ${token}` } });
    const page2 = (await rest.json()) as Array<Record<string, string>>;
    assert.equal(page2.length, 1);
    assert.equal(rest.headers.get('nextpageuri'), null, 'the last page has no NextPageUri');
    const blob = await fetch(page2[0].contentUri, { headers: { authorization: `Bearer ${token}` } });
    const records = (await blob.json()) as Array<Record<string, unknown>>;
    assert.equal(records.length, 20);
    assert.match(String(records[0].CreationTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/, 'UTC without a zone');
    assert.equal(records[0].Workload, 'Exchange');
  });

  test('refuses windows over 24 hours, more than 7 days back, one-sided or in other formats', async () => {
    const list = (q: string) => call(`/subscriptions/content?contentType=Audit.Exchange&${q}`);
    assert.equal(await error(await list(`startTime=${iso(T0 - 25 * HOUR)}&endTime=${iso(T0)}`)), 'AF20030');
    assert.equal(
      await error(await list(`startTime=${iso(T0 - 8 * 24 * HOUR)}&endTime=${iso(T0 - 7.5 * 24 * HOUR)}`)),
      'AF20030',
    );
    assert.equal(await error(await list(`startTime=${iso(T0 - HOUR)}`)), 'AF20030');
    assert.equal(
      await error(await list(`startTime=${new Date(T0 - HOUR).toISOString()}&endTime=${iso(T0)}`)),
      'AF20002',
    );
    assert.equal(
      (await list('startTime=2026-11-25&endTime=2026-11-25T11:30')).status,
      200,
      'the documented formats',
    );
    assert.equal(
      await error(await list(`startTime=${iso(T0 - HOUR)}&endTime=${iso(T0)}&nextPage=bogus`)),
      'AF20031',
    );
  });

  test('subscriptions: missing, disabled, started, already enabled', async () => {
    assert.equal(await error(await call('/subscriptions/content?contentType=Audit.SharePoint')), 'AF20022');
    assert.equal(await error(await call('/subscriptions/content?contentType=Audit.General')), 'AF20023');
    assert.equal(await error(await call('/subscriptions/content?contentType=Audit.Nope')), 'AF20020');
    const started = await call('/subscriptions/start?contentType=Audit.General', { method: 'POST' });
    assert.deepEqual(await started.json(), {
      contentType: 'Audit.General',
      status: 'enabled',
      webhook: null,
    });
    const again = await call('/subscriptions/start?contentType=Audit.General', { method: 'POST' });
    assert.equal(again.status, 400);
    assert.equal(await error(again), 'AF20024');
    const list = (await (await call('/subscriptions/list')).json()) as Array<{
      contentType: string;
      status: string;
    }>;
    assert.deepEqual(
      list.map((s) => [s.contentType, s.status]),
      [
        ['Audit.Exchange', 'enabled'],
        ['Audit.General', 'enabled'],
      ],
    );
    const restarted = (await (
      await call('/subscriptions/content?contentType=Audit.General')
    ).json()) as unknown[];
    assert.deepEqual(restarted, [], 'a restarted subscription has content from then on only');
  });

  test('errors for tokens, tenants and unknown content', async () => {
    const bad = await call('/subscriptions/list', {}, 'not-a-token');
    assert.equal(bad.status, 401);
    assert.deepEqual(await bad.json(), { Message: 'Authorization has been denied for this request.' });
    const other = await fetch(
      feed.replace(sim.tenantId, '11111111-2222-3333-4444-555555555555') + '/subscriptions/list',
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    assert.equal(await error(other), 'AF20010');
    assert.equal(await error(await call('/audit/nope$nope')), 'AF20050');
    sim.permissions = new Set(['ServiceHealth.Read']);
    const denied = await call('/subscriptions/list');
    assert.equal(denied.status, 401);
    assert.equal(await error(denied), 'AF10001');
    sim.permissions = new Set(['ActivityFeed.Read', 'ActivityFeed.ReadDlp']);
  });

  test('throttles past the quota with 403 AF429, per PublisherIdentifier pool', async () => {
    clock.advance(60_000);
    let last: Response | undefined;
    for (let i = 0; i < 1001; i++)
      last = await call('/subscriptions/list?PublisherIdentifier=' + sim.tenantId);
    assert.equal(last?.status, 403);
    assert.equal(await error(last!), 'AF429');
    assert.equal(
      (await call('/subscriptions/list')).status,
      200,
      'requests without PublisherIdentifier share another pool',
    );
  });
});
