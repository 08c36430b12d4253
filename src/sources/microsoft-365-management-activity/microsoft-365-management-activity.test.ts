import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type MicrosoftAccount, microsoft, resourceFor } from '../../accounts/microsoft.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import { selfSignedCertificate } from '../../sim/x509.ts';
import o365, {
  apiRoot,
  apiTime,
  type ContentType,
  creationTime,
  onApi,
  startSubscription,
  withPublisher,
} from './index.ts';
import { type ManagementActivitySimOptions, ManagementActivitySimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const accountOf = (
  sim: ManagementActivitySimulator,
  over: Partial<MicrosoftAccount> = {},
): MicrosoftAccount => ({
  tenantId: sim.tenantId,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  cloud: 'global',
  authorityHost: sim.url,
  ...over,
});

const settingsOf = (sim: ManagementActivitySimulator, over: Record<string, unknown> = {}) =>
  o365.settings.parse({ baseUrl: sim.url, ...over });

function httpFor(account: MicrosoftAccount) {
  const http: Http = new Http({
    vendor: o365.title,
    backoffBaseMs: 1,
    explain: o365.explain,
    rateLimited: o365.rateLimited,
    authorize: (h, refresh, url, req) => microsoft.authorize(account, h, { refresh, http, url, ...req }),
  });
  return http;
}

async function simulator(o: ManagementActivitySimOptions = {}) {
  const clock = new ManualClock(T0);
  const sim = new ManagementActivitySimulator({ clock: clock.now, ...o });
  await sim.start();
  after(() => sim.stop()); // the calling test's: on failure too
  return { sim, clock };
}

async function drain(
  sim: ManagementActivitySimulator,
  type: ContentType,
  clock: ManualClock,
  o: { checkpoint?: unknown; settings?: Record<string, unknown>; lookbackMs?: number } = {},
) {
  const account = accountOf(sim);
  const batches: Batch[] = [];
  const warnings: TributaryError[] = [];
  const ctx = readContext(httpFor(account), {
    stream: type,
    settings: settingsOf(sim, o.settings),
    account,
    checkpoint: o.checkpoint,
    now: clock.now,
    window: { lookbackMs: o.lookbackMs ?? 2 * HOUR },
    warn: (w) => warnings.push(w),
  });
  for await (const b of o365.streams[type].read(ctx)) batches.push(b);
  return {
    ids: batches.flatMap((b) => b.events.map((e) => e.id!)),
    events: batches.flatMap((b) => b.events),
    checkpoint: batches.at(-1)?.checkpoint,
    warnings,
  };
}

const listings = (sim: ManagementActivitySimulator) =>
  sim.requests().filter((r) => r.path.endsWith('/subscriptions/content') && !r.query.has('nextPage'));

describe('microsoft-365-management-activity', () => {
  it('picks the API root from the account’s cloud and the plan', () => {
    assert.equal(apiRoot({ plan: 'enterprise' }, { cloud: 'global' }), 'https://manage.office.com');
    assert.equal(apiRoot({ plan: 'gcc' }, { cloud: 'global' }), 'https://manage-gcc.office.com');
    assert.equal(apiRoot({ plan: 'enterprise' }, { cloud: 'usgov' }), 'https://manage.office365.us');
    assert.equal(
      apiRoot({ plan: 'enterprise' }, { cloud: 'usgov-dod' }),
      'https://manage.protection.apps.mil',
    );
    assert.equal(
      apiRoot({ plan: 'enterprise', baseUrl: 'http://127.0.0.1:9/' }, { cloud: 'usgov' }),
      'http://127.0.0.1:9',
    );
    assert.throws(() => apiRoot({ plan: 'enterprise' }, { cloud: 'china' }), /no endpoint/);
    assert.throws(
      () => apiRoot({ plan: 'gcc' }, { cloud: 'usgov' }),
      (e: TributaryError) => e.code === 'o365_plan_cloud_mismatch',
    );
  });

  it('reads CreationTime as UTC and writes window bounds in the API’s format, whole seconds', () => {
    assert.equal(creationTime('2015-06-29T20:03:19'), '2015-06-29T20:03:19.000Z');
    assert.equal(creationTime('2015-06-29T20:03:19.5'), '2015-06-29T20:03:19.500Z');
    assert.equal(creationTime('2015-06-29T20:03:19Z'), '2015-06-29T20:03:19.000Z');
    assert.equal(creationTime('2015-06-29T22:03:19+02:00'), '2015-06-29T20:03:19.000Z');
    assert.equal(apiTime(Date.parse('2026-11-25T11:58:00.000Z')), '2026-11-25T11:58:00');
    assert.equal(apiTime(Date.parse('2026-11-25T11:58:00.001Z')), '2026-11-25T11:58:01');
  });

  it('sends the token only to the API: other hosts are refused, the API’s own hosts are taken to a proxy root', () => {
    const root = 'https://proxy.example.com/o365';
    assert.equal(
      onApi('https://proxy.example.com/o365/api/v1.0/t/activity/feed/audit/x', root),
      'https://proxy.example.com/o365/api/v1.0/t/activity/feed/audit/x',
    );
    assert.equal(
      onApi('https://manage.office.com/api/v1.0/t/activity/feed/audit/x$y', root),
      `${root}/api/v1.0/t/activity/feed/audit/x$y`,
    );
    assert.throws(
      () => onApi('https://evil.example.net/api/v1.0/t/activity/feed/audit/x', root),
      (e: TributaryError) => e.code === 'o365_unexpected_host',
    );
  });

  it('follows a NextPageUri as the reference writes it: /api/v1/, any parameter case, only the origin moved', () => {
    const root = 'http://127.0.0.1:9';
    // The reference's sample ("List available content" → "Pagination"), with its HTML-escaped `&amp;`.
    const sample =
      'https://manage.office.com/api/v1/4a81a7c3-26fc-4aed-89c6-2e6039ab833b/activity/feed/subscriptions/content?contentType=Audit.SharePoint&amp;startTime=2015-10-01&amp;endTime=2015-10-02&amp;nextPage=2015101900R022885001761';
    const moved = new URL(onApi(sample, root));
    assert.equal(moved.origin, root);
    assert.equal(
      moved.pathname,
      '/api/v1/4a81a7c3-26fc-4aed-89c6-2e6039ab833b/activity/feed/subscriptions/content',
    );
    assert.deepEqual([...moved.searchParams.keys()], ['contentType', 'startTime', 'endTime', 'nextPage']);
    assert.equal(resourceFor(moved, 'global'), 'https://manage.office.com', 'a token for the Management API');
    assert.equal(
      resourceFor(new URL(`${root}/api/v1.0/t/activity/feed/x`), 'global'),
      'https://manage.office.com',
    );
    const lower = onApi(
      'https://manage.office.com/api/v1/t/activity/feed/subscriptions/content?contenttype=Audit.General&starttime=2015-10-01&endtime=2015-10-02&nextpage=1&publisheridentifier=p',
      root,
    );
    assert.equal(
      lower,
      `${root}/api/v1/t/activity/feed/subscriptions/content?contenttype=Audit.General&starttime=2015-10-01&endtime=2015-10-02&nextpage=1&publisheridentifier=p`,
    );
    assert.deepEqual(withPublisher(lower, 'q'), { url: lower }, 'no second PublisherIdentifier');
    assert.deepEqual(withPublisher(onApi(sample, root), 'q').query, { PublisherIdentifier: 'q' });
  });

  it('Test Connection reads the subscriptions with the Management API token, by secret or certificate, and writes nothing when they are enabled', async () => {
    const cert = selfSignedCertificate();
    const { sim } = await simulator({ certificatePem: cert.certificatePem });
    assert.deepEqual(await testConnection(o365, microsoft, accountOf(sim), settingsOf(sim)), { ok: true });
    const viaCert = accountOf(sim, {
      clientSecret: undefined,
      privateKey: cert.privateKeyPem,
      certificate: cert.certificatePem,
    });
    assert.deepEqual(await testConnection(o365, microsoft, viaCert, settingsOf(sim), ['DLP.All']), {
      ok: true,
    });
    assert.deepEqual(
      sim.identity.tokenRequests.map((r) => [r.scope, r.credential]),
      [
        ['https://manage.office.com/.default', 'secret'],
        ['https://manage.office.com/.default', 'assertion'],
      ],
    );
    assert.deepEqual(sim.writeCalls(), []);
    assert.ok(
      sim.publisherIds.every((p) => p === sim.tenantId),
      'PublisherIdentifier on every request',
    );
    await sim.stop();
  });

  it('Test Connection starts a missing subscription (the one declared write), or explains it when told not to', async () => {
    const { sim } = await simulator({ subscriptions: { 'Audit.Exchange': 'enabled' } });
    const off = await testConnection(
      o365,
      microsoft,
      accountOf(sim),
      settingsOf(sim, { startSubscriptions: false }),
      ['Audit.SharePoint'],
    );
    assert.ok(!off.ok);
    assert.equal(off.error.code, 'o365_subscription_missing');
    assert.match(off.error.action, /startSubscriptions: true/);
    assert.deepEqual(sim.writeCalls(), []);

    const on = await testConnection(o365, microsoft, accountOf(sim), settingsOf(sim), [
      'Audit.Exchange',
      'Audit.SharePoint',
    ]);
    assert.deepEqual(on, { ok: true });
    assert.deepEqual(
      sim
        .writeCalls()
        .map((r) => [r.method, r.path.replace(sim.tenantId, '{tenant}'), r.query.get('contentType')]),
      [['POST', '/api/v1.0/{tenant}/activity/feed/subscriptions/start', 'Audit.SharePoint']],
    );
    assert.equal(sim.subscriptions.get('Audit.SharePoint')?.status, 'enabled');
    assert.ok(o365.vendorWrites?.some((w) => w.includes('subscriptions/start')));
    await sim.stop();
  });

  it('treats AF20024 ("already enabled") from /start as success', async () => {
    const { sim } = await simulator();
    const http = httpFor(accountOf(sim));
    const feed = `${sim.url}/api/v1.0/${sim.tenantId}/activity/feed`;
    await startSubscription(http, feed, 'Audit.General', sim.tenantId);
    assert.equal(sim.writeCalls().length, 1);
    await assert.rejects(
      http.request({
        method: 'POST',
        url: `${feed}/subscriptions/start`,
        query: { contentType: 'Audit.General' },
      }),
      /read-only/,
      'an undeclared POST is still refused',
    );
    await sim.stop();
  });

  it('Test Connection explains a missing permission, auditing turned off, a wrong secret and a tenant domain', async () => {
    const { sim } = await simulator({ subscriptions: {} });
    sim.permissions = new Set(['ServiceHealth.Read']);
    const denied = await testConnection(o365, microsoft, accountOf(sim), settingsOf(sim), ['DLP.All']);
    assert.ok(!denied.ok);
    assert.equal(denied.error.code, 'o365_permission_missing');
    assert.equal(denied.error.status, 401);
    assert.match(denied.error.action, /Office 365 Management APIs.*ActivityFeed\.Read.*Grant admin consent/s);

    sim.permissions = new Set(['ActivityFeed.Read']);
    sim.auditEnabled = false;
    const audit = await testConnection(o365, microsoft, accountOf(sim), settingsOf(sim), ['Audit.Exchange']);
    assert.ok(!audit.ok);
    assert.equal(audit.error.code, 'o365_audit_log_not_enabled');
    assert.match(audit.error.action, /Purview.*Start recording user and admin activity/s);

    const wrong = await testConnection(
      o365,
      microsoft,
      accountOf(sim, { clientSecret: 'not-the-secret' }),
      settingsOf(sim),
    );
    assert.ok(!wrong.ok);
    assert.match(wrong.error.message, /AADSTS7000215/);
    assert.doesNotMatch(JSON.stringify(wrong.error), /not-the-secret/);

    const domain = await testConnection(
      o365,
      microsoft,
      accountOf(sim, { tenantId: 'contoso.onmicrosoft.com' }),
      settingsOf(sim),
    );
    assert.ok(!domain.ok);
    assert.equal(domain.error.code, 'o365_tenant_guid_required');
    await sim.stop();
  });

  it('through a proxy (baseUrl), follows the NextPageUri and contentUri Microsoft writes on manage.office.com', async () => {
    const { sim, clock } = await simulator({ listPageSize: 1, linkOrigin: 'https://manage.office.com' });
    const r = await drain(sim, 'Audit.Exchange', clock);
    assert.deepEqual(r.ids, sim.eventIds(['Audit.Exchange']), 'every blob of every page');
    const pages = sim.requests().filter((q) => q.query.has('nextPage'));
    assert.equal(pages.length, 2, 'three blobs, one a page');
    assert.ok(
      pages.every(
        (q) => q.path.startsWith('/api/v1/') && q.query.get('PublisherIdentifier') === sim.tenantId,
      ),
    );
    await sim.stop();
  });

  it('lists each content type and delivers every record of every blob with its Id and CreationTime', async () => {
    const { sim, clock } = await simulator({ listPageSize: 2 });
    for (const type of [
      'Audit.AzureActiveDirectory',
      'Audit.Exchange',
      'Audit.SharePoint',
      'Audit.General',
    ] as const) {
      const r = await drain(sim, type, clock);
      assert.deepEqual(r.ids, sim.eventIds([type]), `${type}: every record, blob by blob`);
      const first = sim.records(sim.contentIds(type)[0])[0];
      assert.deepEqual(r.events[0].raw, first);
      assert.equal(r.events[0].time, `${first.CreationTime}.000Z`);
    }
    const l = listings(sim)[0].query;
    assert.match(l.get('startTime')!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.match(l.get('endTime')!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.ok(
      sim.requests().some((r) => r.query.has('nextPage') && r.path.startsWith('/api/v1/')),
      'followed NextPageUri, under /api/v1/ as Microsoft writes it',
    );
    assert.ok(
      sim.publisherIds.every((p) => p === sim.tenantId),
      'PublisherIdentifier on listings, pages and blobs',
    );
    assert.ok(
      sim
        .requests()
        .filter((r) => r.path.includes('/activity/'))
        .every((r) => /^Bearer /.test(String(r.headers.authorization))),
      'blobs are fetched with the bearer token',
    );
    assert.deepEqual(sim.writeCalls(), []);
    await sim.stop();
  });

  it('DLP.All carries the sensitive values only with ActivityFeed.ReadDlp', async () => {
    const { sim, clock } = await simulator({ blobs: { 'DLP.All': 1 }, permissions: ['ActivityFeed.Read'] });
    const r = await drain(sim, 'DLP.All', clock, { settings: { contentTypes: ['DLP.All'] } });
    assert.equal(r.ids.length, 20);
    assert.ok(r.events.every((e) => (e.raw as any).SensitiveInfoDetectionIsIncluded === false));
    await sim.stop();
  });

  it('starts a subscription the listing says is missing, once, and reports a restarted one as a gap', async () => {
    const { sim, clock } = await simulator({ subscriptions: { 'Audit.Exchange': 'disabled' } });
    const missing = await drain(sim, 'Audit.SharePoint', clock);
    assert.deepEqual(missing.ids, [], 'content from before the subscription started is not available');
    assert.equal(sim.writeCalls().length, 1);
    sim.addBlob('Audit.SharePoint', { created: T0 + MIN, events: 3 });
    clock.advance(5 * MIN);
    const after = await drain(sim, 'Audit.SharePoint', clock, { checkpoint: missing.checkpoint });
    assert.equal(after.ids.length, 3);
    assert.equal(sim.writeCalls().length, 1, 'no further start once it runs');

    const restarted = await drain(sim, 'Audit.Exchange', clock);
    assert.equal(restarted.warnings[0]?.code, 'o365_subscription_restarted');
    assert.equal(sim.writeCalls().length, 2);

    sim.subscriptions.delete('Audit.General');
    await assert.rejects(
      drain(sim, 'Audit.General', clock, { settings: { startSubscriptions: false } }),
      (e: TributaryError) => e.code === 'o365_subscription_missing' && e.type === 'config',
    );
    assert.equal(sim.writeCalls().length, 2);
    await sim.stop();
  });

  it('collects a blob listed later than the lag through the overlap, without repeating the others', async () => {
    const { sim, clock } = await simulator();
    const first = await drain(sim, 'Audit.Exchange', clock);
    assert.equal(first.ids.length, 60);
    // Available 10 minutes ago but listed only now: older than the 2-minute lag, inside the 1-hour overlap.
    sim.addBlob('Audit.Exchange', { created: T0 - 10 * MIN, events: 4, listingDelayMs: 10 * MIN });
    clock.advance(MIN);
    const second = await drain(sim, 'Audit.Exchange', clock, { checkpoint: first.checkpoint });
    assert.equal(second.ids.length, 4);
    assert.deepEqual(second.ids, sim.eventIds(['Audit.Exchange']).slice(60));
    const l = listings(sim).at(-1)!.query;
    assert.equal(
      l.get('startTime'),
      apiTime(T0 - 2 * MIN - HOUR),
      'the listing re-reads the hour before the position',
    );
    await sim.stop();
  });

  it('keeps listings within 24 hours and 7 days, and skips a blob that expired with a gap warning', async () => {
    const { sim, clock } = await simulator({ blobs: {} });
    for (let d = 1; d <= 9; d++) sim.addBlob('Audit.General', { created: T0 - d * DAY + HOUR, events: 2 });
    const expired = sim.contentIds('Audit.General').at(-4)!; // ~6 days back
    sim.inject({
      kind: 'status',
      status: 400,
      body: {
        error: { code: 'AF20051', message: `Content requested with the key ${expired} has already expired.` },
      },
      path: `/api/v1.0/${sim.tenantId}/activity/feed/audit/${expired}`,
    });
    const r = await drain(sim, 'Audit.General', clock, { lookbackMs: 30 * DAY });
    assert.equal(r.ids.length, 2 * 7 - 2, 'the seven blobs of the last 7 days, less the expired one');
    assert.equal(r.warnings.length, 1);
    assert.equal(r.warnings[0].code, 'o365_content_expired');
    assert.equal(r.warnings[0].type, 'gap');
    for (const l of listings(sim)) {
      const start = Date.parse(`${l.query.get('startTime')}Z`);
      const end = Date.parse(`${l.query.get('endTime')}Z`);
      assert.ok(end - start <= DAY, 'at most 24 hours apart');
      assert.ok(start >= T0 - 7 * DAY, 'not more than 7 days back');
    }
    // A position saved more than 7 days ago is moved forward with a warning.
    const old = await drain(sim, 'Audit.General', clock, {
      checkpoint: { since: new Date(T0 - 9 * DAY).toISOString() },
    });
    assert.equal(old.warnings[0]?.code, 'checkpoint_beyond_retention');
    await sim.stop();
  });

  it('waits out AF429 throttling, also when it comes as a 403', async () => {
    const { sim, clock } = await simulator();
    const throttled = {
      kind: 'status',
      status: 403,
      body: {
        error: { code: 'AF429', message: `Too many requests. Method=GetBlob, PublisherId=${sim.tenantId}` },
      },
      headers: { 'retry-after': '0' },
      path: /\/audit\//,
      times: 2,
    } as const;
    sim.inject(throttled);
    const r = await drain(sim, 'Audit.AzureActiveDirectory', clock);
    assert.deepEqual(r.ids, sim.eventIds(['Audit.AzureActiveDirectory']));
    const ctx = { status: 403, message: '', body: JSON.stringify(throttled.body), url: new URL(sim.url) };
    assert.deepEqual(o365.rateLimited?.(ctx, new Headers()), { defaultWaitMs: 60_000 });
    assert.equal(
      o365.rateLimited?.({ ...ctx, body: '{"error":{"code":"AF10001"}}' }, new Headers()),
      undefined,
    );
    await sim.stop();
  });
});
