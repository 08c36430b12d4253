import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { EntraLogsSimulator } from '../sources/microsoft-entra-id-logs/simulator.ts';
import { ManualClock } from './kit.ts';
import { formatODataTime, ODataError, parseODataTime, TimeIndex, timeFilter } from './microsoft.ts';
import { selfSignedCertificate } from './x509.ts';

describe('OData time values', () => {
  it('parses and prints DateTimeOffset at 100 ns precision', () => {
    const t = parseODataTime('2021-04-27T12:19:27.7211305Z')!;
    assert.equal(formatODataTime(t), '2021-04-27T12:19:27.7211305Z');
    assert.equal(parseODataTime('2021-04-27T12:19:27Z')! + 7_211_305n, t);
    assert.equal(parseODataTime('2021-04-27'), parseODataTime('2021-04-27T00:00:00Z'));
    assert.equal(parseODataTime('yesterday'), undefined);
  });

  it('evaluates and-joined comparisons and refuses unsupported properties and operators', () => {
    const f = timeFilter(
      'activityDateTime ge 2026-11-25T10:00:00Z and activityDateTime le 2026-11-25T10:59:59.9999999Z',
      'activityDateTime',
      ['ge', 'le'],
    );
    assert.equal(f(parseODataTime('2026-11-25T10:00:00Z')!), true);
    assert.equal(f(parseODataTime('2026-11-25T10:59:59.9999999Z')!), true);
    assert.equal(f(parseODataTime('2026-11-25T11:00:00Z')!), false);
    assert.throws(
      () => timeFilter('activityDateTime lt 2026-11-25T10:00:00Z', 'activityDateTime', ['ge', 'le']),
      ODataError,
    );
    assert.throws(
      () => timeFilter('createdDateTime ge 2026-11-25T10:00:00Z', 'activityDateTime', ['ge']),
      /not supported/,
    );
    assert.throws(
      () => timeFilter('activityDateTime ge soon', 'activityDateTime', ['ge']),
      /Invalid DateTimeOffset/,
    );
  });
});

describe('TimeIndex keyset paging', () => {
  it('walks oldest or newest first from a cursor, stable under equal times', () => {
    const idx = new TimeIndex<{ t: bigint; seq: number }>();
    for (const [t, seq] of [
      [3n, 2],
      [1n, 0],
      [3n, 3],
      [2n, 1],
    ] as const)
      idx.add({ t, seq });
    const asc = idx.page({ order: 'asc', top: 2, include: () => true });
    assert.deepEqual(
      asc.items.map((i) => i.seq),
      [0, 1],
    );
    assert.equal(asc.more, true);
    assert.deepEqual(
      idx.page({ order: 'asc', top: 5, after: asc.items[1], include: () => true }).items.map((i) => i.seq),
      [2, 3],
    );
    const desc = idx.page({ order: 'desc', top: 3, include: () => true });
    assert.deepEqual(
      desc.items.map((i) => i.seq),
      [3, 2, 1],
    );
    assert.deepEqual(idx.page({ order: 'desc', top: 3, after: desc.items[2], include: () => true }), {
      items: [{ t: 1n, seq: 0 }],
      more: false,
    });
  });
});

describe('Graph audit logs simulator', () => {
  async function token(sim: EntraLogsSimulator): Promise<string> {
    const res = await fetch(`${sim.url}/${sim.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: sim.clientId,
        client_secret: sim.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
        grant_type: 'client_credentials',
      }),
    });
    const body = (await res.json()) as any;
    assert.equal(body.token_type, 'Bearer');
    assert.ok(body.expires_in > 3000);
    return body.access_token;
  }

  it('answers as Graph documents: no $orderby on sign-ins, $top at most 1,000, gt/lt only on provisioning', async (t) => {
    const sim = new EntraLogsSimulator({ rateLimit: { requests: 100, windowMs: 1000 } });
    await sim.start();
    t.after(() => sim.stop());
    const bearer = { authorization: `Bearer ${await token(sim)}` };
    const get = async (path: string) => {
      const r = await fetch(`${sim.url}${path}`, { headers: bearer });
      return { status: r.status, body: (await r.json()) as any };
    };
    const ok = await get('/v1.0/auditLogs/signIns?$top=5');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.value.length, 5);
    assert.ok(ok.body['@odata.nextLink'].includes('skiptoken'));
    const times = ok.body.value.map((r: any) => r.createdDateTime);
    assert.deepEqual([...times].sort().reverse(), times, 'newest first');
    assert.match(times[0], /\.\d{7}Z$/);
    assert.equal((await get('/v1.0/auditLogs/signIns?$orderby=createdDateTime')).status, 400);
    assert.equal((await get('/v1.0/auditLogs/signIns?$top=1001')).status, 400);
    assert.equal(
      (await get('/v1.0/auditLogs/provisioning?$filter=activityDateTime ge 2026-01-01T00:00:00Z')).status,
      400,
    );
    assert.equal(
      (await get('/v1.0/auditLogs/provisioning?$filter=activityDateTime gt 2026-01-01T00:00:00Z')).status,
      200,
    );
    const noToken = await fetch(`${sim.url}/v1.0/auditLogs/directoryAudits`);
    assert.equal(noToken.status, 401);
    assert.equal(((await noToken.json()) as any).error.code, 'InvalidAuthenticationToken');
    await sim.stop();
  });

  it('throttles at 5 requests per 10 seconds with Retry-After, as identity and access reports are', async (t) => {
    const clock = new ManualClock('2026-11-25T12:00:01Z');
    const sim = new EntraLogsSimulator({ clock: clock.now });
    await sim.start();
    t.after(() => sim.stop());
    const bearer = { authorization: `Bearer ${await token(sim)}` };
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${sim.url}/v1.0/auditLogs/directoryAudits?$top=1`, { headers: bearer });
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        assert.equal(((await r.json()) as any).error.code, 'TooManyRequests');
      } else await r.body?.cancel();
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    assert.equal(retryAfter, '10', 'a sliding window: the first request leaves it 10 s after it was made');
    clock.advance(9_000);
    assert.equal(
      (await fetch(`${sim.url}/v1.0/auditLogs/directoryAudits?$top=1`, { headers: bearer })).status,
      429,
      'no fixed-window reset at :10',
    );
    clock.advance(1_000);
    assert.equal(
      (await fetch(`${sim.url}/v1.0/auditLogs/directoryAudits?$top=1`, { headers: bearer })).status,
      200,
    );
    await sim.stop();
  });
});

describe('self-signed certificates for tests', () => {
  it('makes a parseable certificate that belongs to its key', () => {
    const c = selfSignedCertificate({ commonName: 'collector' });
    const x = new X509Certificate(c.certificatePem);
    assert.equal(x.subject, 'CN=collector');
    assert.ok(x.checkPrivateKey(c.privateKey));
    assert.ok(x.verify(x.publicKey));
  });
});
