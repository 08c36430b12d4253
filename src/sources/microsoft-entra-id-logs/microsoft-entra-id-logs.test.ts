import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import { type MicrosoftAccount, microsoft, microsoftRateLimit } from '../../accounts/microsoft.ts';
import type { Batch } from '../../core/source.ts';
import { Http } from '../../engine/http.ts';
import { TokenBucket } from '../../engine/rate-limit.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import { selfSignedCertificate } from '../../sim/x509.ts';
import { tickBefore } from '../microsoft-graph.ts';
import msSource from './index.ts';
import { EntraLogsSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const fast = { requests: 1000, windowMs: 1000 };

const accountOf = (sim: EntraLogsSimulator, over: Partial<MicrosoftAccount> = {}): MicrosoftAccount => ({
  tenantId: sim.tenantId,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  cloud: 'global',
  authorityHost: sim.url,
  ...over,
});

function httpFor(account: MicrosoftAccount) {
  const http: Http = new Http({
    vendor: msSource.title,
    backoffBaseMs: 1,
    explain: msSource.explain,
    authorize: (h, refresh, url) => microsoft.authorize(account, h, { refresh, http, url }),
  });
  return http;
}

async function drain(sim: EntraLogsSimulator, stream: string, clock: ManualClock, checkpoint?: unknown) {
  const account = accountOf(sim);
  const batches: Batch[] = [];
  const ctx = readContext(httpFor(account), {
    stream,
    settings: { pageSize: 10, baseUrl: sim.url },
    account,
    checkpoint,
    now: clock.now,
    window: { lookbackMs: 3_600_000 },
  });
  for await (const b of msSource.streams[stream].read(ctx)) batches.push(b);
  return {
    ids: batches.flatMap((b) => b.events.map((e) => e.id!)),
    events: batches.flatMap((b) => b.events),
    checkpoint: batches.at(-1)?.checkpoint,
  };
}

/**
 * Drains sign-ins and directory audits through buckets that wait on the simulator's clock (the account's
 * budget, or `budget` in its place), against the simulator's documented 5 requests per 10 s.
 */
async function budgetedDrain(budget?: { perSecond: number; burst: number }) {
  const clock = new ManualClock(T0);
  const sim = new EntraLogsSimulator({ clock: clock.now, events: { signIns: 60, directoryAudits: 40 } });
  await sim.start();
  try {
    const account = accountOf(sim);
    const onSimTime = (l: { perSecond: number; burst: number }) =>
      new TokenBucket(l.perSecond, l.burst, clock.now, async (ms) => void clock.advance(ms));
    const buckets = new Map<string, TokenBucket>();
    const http: Http = new Http({
      vendor: msSource.title,
      backoffBaseMs: 1,
      ...(budget ? { maxAttempts: 1 } : {}), // the former budget: its first 429 is the answer, no real-time retry waits
      explain: msSource.explain,
      authorize: (h, refresh, url) => microsoft.authorize(account, h, { refresh, http, url }),
      limiter: budget ? onSimTime(budget) : undefined,
      endpointLimiter: (url) => {
        const l = budget ? undefined : microsoftRateLimit(url);
        if (!l) return undefined;
        if (!buckets.has(l.key)) buckets.set(l.key, onSimTime(l));
        return buckets.get(l.key);
      },
    });
    const ids: string[] = [];
    for (const stream of ['sign-ins', 'directory-audits']) {
      const ctx = readContext(http, {
        stream,
        settings: { pageSize: 10, baseUrl: sim.url },
        account,
        now: () => T0,
        window: { lookbackMs: 3_600_000 },
      });
      try {
        for await (const b of msSource.streams[stream].read(ctx)) ids.push(...b.events.map((e) => e.id!));
      } catch (err) {
        if (!budget) throw err;
        break;
      }
    }
    const pages = sim.requests().filter((r) => r.path.startsWith('/v1.0/auditLogs/')).length;
    return { ids, pages, throttled: sim.throttled, elapsed: clock.now() - T0 };
  } finally {
    await sim.stop();
  }
}

describe('microsoft-entra-id-logs', () => {
  it('budgets audit-log requests at Graph’s 5 per 10 s: a full drain meets no 429 (the old 1/s, burst 5 did)', async () => {
    assert.deepEqual(microsoftRateLimit(new URL('https://graph.microsoft.com/v1.0/auditLogs/signIns')), {
      key: 'graph:identity-and-access-reports',
      perSecond: 0.5,
      burst: 1,
    });
    const r = await budgetedDrain();
    assert.equal(r.ids.length, 100, 'every record');
    assert.ok(r.pages > 5, `enough pages for the limit to matter (${r.pages})`);
    assert.equal(r.throttled, 0, 'the simulator answered no 429');
    assert.ok(r.elapsed >= (r.pages - 1) * 2000, 'two seconds of simulated time between requests');
    const old = await budgetedDrain({ perSecond: 1, burst: 5 });
    assert.ok(old.throttled > 0, `the former account budget met ${old.throttled} 429s`);
  });

  it('writes exclusive window ends as the last DateTimeOffset tick before them', () => {
    assert.equal(tickBefore(Date.parse('2026-11-25T12:00:00.000Z')), '2026-11-25T11:59:59.9999999Z');
  });

  it('Test Connection passes with a client secret and with a certificate', async (t) => {
    const cert = selfSignedCertificate();
    const sim = new EntraLogsSimulator({ certificatePem: cert.certificatePem, rateLimit: fast });
    await sim.start();
    t.after(() => sim.stop());
    const secret = await testConnection(
      msSource,
      microsoft,
      accountOf(sim),
      { pageSize: 10, baseUrl: sim.url },
      ['sign-ins', 'directory-audits', 'provisioning'],
    );
    assert.deepEqual(secret, { ok: true });
    const viaCert = accountOf(sim, {
      clientSecret: undefined,
      privateKey: cert.privateKeyPem,
      certificate: cert.certificatePem,
    });
    assert.deepEqual(await testConnection(msSource, microsoft, viaCert, { pageSize: 10, baseUrl: sim.url }), {
      ok: true,
    });
    assert.deepEqual(
      sim.identity.tokenRequests.map((r) => [r.scope, r.credential]),
      [
        ['https://graph.microsoft.com/.default', 'secret'],
        ['https://graph.microsoft.com/.default', 'assertion'],
      ],
    );
    assert.deepEqual(sim.writeCalls(), []);
    await sim.stop();
  });

  it('Test Connection explains a tenant without Entra ID P1/P2, a missing permission and a wrong secret', async (t) => {
    const sim = new EntraLogsSimulator({ premium: false, rateLimit: fast });
    await sim.start();
    t.after(() => sim.stop());
    const settings = { pageSize: 10, baseUrl: sim.url };
    const premium = await testConnection(msSource, microsoft, accountOf(sim), settings, ['sign-ins']);
    assert.ok(!premium.ok);
    assert.equal(premium.error.code, 'entra_premium_required');
    assert.equal(premium.error.status, 403);
    assert.match(premium.error.action, /P1 or P2/);

    sim.permissions = new Set(['Directory.Read.All']);
    const denied = await testConnection(msSource, microsoft, accountOf(sim), settings, ['directory-audits']);
    assert.ok(!denied.ok);
    assert.equal(denied.error.code, 'graph_permission_missing');
    assert.match(denied.error.action, /AuditLog\.Read\.All.*Grant admin consent/s);

    const wrong = await testConnection(
      msSource,
      microsoft,
      accountOf(sim, { clientSecret: 'not-the-secret' }),
      settings,
    );
    assert.ok(!wrong.ok);
    assert.equal(wrong.error.type, 'config');
    assert.match(wrong.error.message, /AADSTS7000215/);
    assert.match(wrong.error.action, /Certificates & secrets/);
    assert.doesNotMatch(JSON.stringify(wrong.error), /not-the-secret/);
    await sim.stop();
  });

  it('asks each API the way Graph documents it and delivers every record with its id', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new EntraLogsSimulator({
      clock: clock.now,
      rateLimit: fast,
      events: { signIns: 25, directoryAudits: 12, provisioning: 7 },
    });
    await sim.start();
    t.after(() => sim.stop());
    const signIns = await drain(sim, 'sign-ins', clock);
    assert.deepEqual([...signIns.ids].sort(), sim.eventIds(['signIns']).sort());
    assert.ok(signIns.events.every((e) => /^\d{4}-.*\.\d{3}Z$/.test(e.time!)));
    const audits = await drain(sim, 'directory-audits', clock);
    assert.deepEqual(audits.ids, sim.eventIds(['directoryAudits']), 'oldest first');
    const provisioning = await drain(sim, 'provisioning', clock);
    assert.deepEqual(provisioning.ids, sim.eventIds(['provisioning']));

    const first = (path: string) =>
      sim.requests().find((r) => r.path === path && !r.query.has('$skiptoken'))!.query;
    const s = first('/v1.0/auditLogs/signIns');
    assert.match(s.get('$filter')!, /^createdDateTime ge \S+Z and createdDateTime le \S+\.\d{3}9999Z$/);
    assert.equal(s.get('$orderby'), null, 'sign-ins offer no $orderby');
    assert.equal(s.get('$top'), '10');
    const d = first('/v1.0/auditLogs/directoryAudits');
    assert.equal(d.get('$orderby'), 'activityDateTime asc');
    assert.match(d.get('$filter')!, /^activityDateTime ge \S+ and activityDateTime le \S+9999Z$/);
    const p = first('/v1.0/auditLogs/provisioning');
    assert.match(p.get('$filter')!, /^activityDateTime gt \S+9999Z and activityDateTime lt \S+$/);
    assert.ok(
      sim
        .requests()
        .filter((r) => r.method === 'GET')
        .every((r) => /^Bearer /.test(String(r.headers.authorization))),
    );
    await sim.stop();
  });

  it('collects a record indexed later than the lag through the overlap, without repeating the others', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new EntraLogsSimulator({
      clock: clock.now,
      rateLimit: fast,
      events: { directoryAudits: 20, signIns: 0, provisioning: 0 },
    });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'directory-audits', clock);
    assert.equal(first.ids.length, 20);
    // A record from 3 minutes ago shows up only now: later than the 2-minute lag, inside the 5-minute overlap.
    const [late] = sim.add('directoryAudits', 1, { from: T0 - 3 * 60_000 });
    clock.advance(60_000);
    const second = await drain(sim, 'directory-audits', clock, first.checkpoint);
    assert.deepEqual(second.ids, [late]);
    await sim.stop();
  });

  it('resumes newest-first sign-ins from the page link of an unfinished window', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new EntraLogsSimulator({
      clock: clock.now,
      rateLimit: fast,
      events: { signIns: 30, directoryAudits: 0, provisioning: 0 },
    });
    await sim.start();
    t.after(() => sim.stop());
    const account = accountOf(sim);
    const ctx = readContext(httpFor(account), {
      stream: 'sign-ins',
      settings: { pageSize: 10, baseUrl: sim.url },
      account,
      now: clock.now,
    });
    const it = msSource.streams['sign-ins'].read(ctx)[Symbol.asyncIterator]();
    const page1 = (await it.next()).value as Batch<any>;
    await it.return?.(undefined);
    assert.ok(
      new URL(page1.checkpoint.next.url).searchParams.has('$skiptoken'),
      'the window in progress keeps its next page',
    );
    assert.ok(page1.checkpoint.end);
    const rest = await drain(sim, 'sign-ins', clock, page1.checkpoint);
    assert.deepEqual(
      [...page1.events.map((e) => e.id!), ...rest.ids].sort(),
      sim.eventIds(['signIns']).sort(),
    );
    await sim.stop();
  });
});
