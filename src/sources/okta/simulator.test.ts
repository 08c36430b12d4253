import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../sim/kit.ts';
import { OktaSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function links(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (res.headers.get('link') ?? '').matchAll(/<([^>]+)>;\s*rel="(\w+)"/g)) out[m[2]] = m[1];
  return out;
}

/** Follows next links until there is none (or `maxPages`), collecting uuids. */
async function drain(sim: OktaSimulator, first: string, maxPages = 100) {
  const ids: string[] = [];
  const pages: { count: number; next?: string }[] = [];
  let next: string | undefined = first;
  while (next && pages.length < maxPages) {
    const res = await fetch(next, { headers: { authorization: `SSWS ${sim.token}` } });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { uuid: string }[];
    ids.push(...body.map((e) => e.uuid));
    next = links(res).next;
    pages.push({ count: body.length, next });
  }
  return { ids, pages };
}

describe('OktaSimulator: GET /api/v1/logs', () => {
  const clock = new ManualClock(T0);
  // 250 events one second apart, the first at T0 - 1h.
  const sim = new OktaSimulator({
    events: 250,
    start: T0 - 3_600_000,
    spacingMs: 1000,
    seed: 11,
    clock: clock.now,
  });
  let url = '';
  const auth = () => ({ authorization: `SSWS ${sim.token}` });
  before(async () => {
    url = await sim.start();
  });
  after(() => sim.stop());

  test('bounded request: pages of `limit`, self and next Link headers, no next on the last page', async () => {
    const since = iso(T0 - 3_600_000);
    const until = iso(T0);
    const first = `${url}/api/v1/logs?since=${since}&until=${until}&limit=100`;
    const res = await fetch(first, { headers: auth() });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const l = links(res);
    assert.equal(l.self, first);
    assert.ok(l.next.startsWith(`${url}/api/v1/logs?`), 'next is absolute, on the host the client used');
    const nextQuery = new URL(l.next).searchParams;
    assert.ok(nextQuery.get('after'));
    assert.equal(nextQuery.get('since'), since);
    assert.equal(nextQuery.get('until'), until);
    await res.arrayBuffer();

    const { ids, pages } = await drain(sim, first);
    assert.deepEqual(
      pages.map((p) => p.count),
      [100, 100, 50],
    );
    assert.equal(pages[2].next, undefined);
    assert.deepEqual(ids, sim.eventIds());
    assert.equal(new Set(ids).size, 250);
  });

  test('since is inclusive and until exclusive (on published)', async () => {
    const all = sim.events();
    const since = all[10].published;
    const until = all[20].published;
    const { ids } = await drain(sim, `${url}/api/v1/logs?since=${since}&until=${until}`);
    assert.deepEqual(
      ids,
      all.slice(10, 20).map((e) => e.uuid),
    );
  });

  test('events follow the LogEvent shape', async () => {
    const res = await fetch(`${url}/api/v1/logs?since=${iso(T0 - 3_600_000)}&until=${iso(T0)}&limit=1000`, {
      headers: auth(),
    });
    const events = (await res.json()) as any[];
    assert.equal(events.length, 250);
    const types = new Set(events.map((e) => e.eventType));
    for (const t of ['user.session.start', 'user.authentication.sso', 'policy.evaluate_sign_on'])
      assert.ok(types.has(t), t);
    for (const e of events) {
      assert.match(e.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.match(e.published, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.equal(e.version, '0');
      assert.ok(['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(e.severity));
      assert.equal(typeof e.actor.id, 'string');
      assert.equal(typeof e.actor.type, 'string');
      assert.ok(e.outcome.result);
      assert.ok(e.client.userAgent.rawUserAgent);
      assert.ok(e.client.geographicalContext.geolocation);
      assert.ok(Array.isArray(e.request.ipChain));
      assert.ok(e.transaction.id.length === 27);
      assert.ok(e.debugContext.debugData.requestUri);
      assert.ok('externalSessionId' in e.authenticationContext);
    }
    // ascending by published
    for (let i = 1; i < events.length; i++) assert.ok(events[i - 1].published <= events[i].published);
  });

  test('DESCENDING returns newest first and pages backwards', async () => {
    const { ids, pages } = await drain(
      sim,
      `${url}/api/v1/logs?since=${iso(T0 - 3_600_000)}&until=${iso(T0)}&limit=120&sortOrder=DESCENDING`,
    );
    assert.deepEqual(
      pages.map((p) => p.count),
      [120, 120, 10],
    );
    assert.deepEqual(ids, [...sim.eventIds()].reverse());
  });

  test('polling request (no until): next link always present, even on an empty page', async () => {
    const { ids, pages } = await drain(sim, `${url}/api/v1/logs?since=${iso(T0 - 3_600_000)}&limit=100`, 5);
    assert.equal(ids.length, 250);
    assert.deepEqual(
      pages.map((p) => p.count),
      [100, 100, 50, 0, 0],
    );
    const cursor = pages[4].next!;
    assert.ok(cursor);
    // New events show up on the saved next link.
    clock.advance(60_000);
    const added = sim.addEvents(3, { spacingMs: 10 });
    const res = await fetch(cursor, { headers: auth() });
    const body = (await res.json()) as any[];
    assert.deepEqual(
      body.map((e) => e.uuid),
      added,
    );
    assert.ok(links(res).next);
  });

  test('late indexing: events become visible only at published + visibleDelayMs', async () => {
    const now = clock.now();
    // A polling cursor taken now, before the late events exist.
    const poll = await fetch(`${url}/api/v1/logs?since=${iso(now - 1000)}`, { headers: auth() });
    await poll.arrayBuffer();
    const pollNext = links(poll).next;
    const late = sim.addEvents(5, { from: now - 120_000, spacingMs: 1000, visibleDelayMs: 300_000 });
    const window = `${url}/api/v1/logs?since=${iso(now - 130_000)}&until=${iso(now)}`;
    const lateIn = async () => (await drain(sim, window)).ids.filter((id) => late.includes(id));
    assert.deepEqual(await lateIn(), []);
    assert.equal(sim.visibleEvents().filter((e) => late.includes(e.uuid)).length, 0);
    clock.advance(200_000); // first published + 320 s > 300 s delay for all five
    assert.deepEqual(await lateIn(), late);
    // Polling filters on persistence time, so the saved cursor sees them although published is older.
    const polled = (await drain(sim, pollNext, 3)).ids;
    assert.deepEqual(
      polled.filter((id) => late.includes(id)),
      late,
    );
    assert.equal(sim.events().filter((e) => late.includes(e.uuid)).length, 5);
  });

  test('filter and q narrow the results', async () => {
    const base = `${url}/api/v1/logs?since=${iso(T0 - 3_600_000)}&until=${iso(T0)}&limit=1000`;
    const all = sim.events().filter((e) => Date.parse(e.published) < T0);
    const want = all.filter((e) => e.eventType === 'user.session.start').map((e) => e.uuid);
    const f = encodeURIComponent('eventType eq "user.session.start"');
    assert.deepEqual((await drain(sim, `${base}&filter=${f}`)).ids, want);
    const actor = all[0].actor.alternateId!;
    const byQ = (await drain(sim, `${base}&q=${encodeURIComponent(actor)}`)).ids;
    assert.ok(byQ.includes(all[0].uuid));
    const bad = await fetch(`${base}&filter=${encodeURIComponent('eventType eqq "x"')}`, { headers: auth() });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as any).errorCode, 'E0000053');
  });

  test('invalid parameters: 400 E0000001 with errorCauses', async () => {
    const a = await fetch(`${url}/api/v1/logs?until=yesterday`, { headers: auth() });
    assert.equal(a.status, 400);
    const body = (await a.json()) as any;
    assert.equal(body.errorCode, 'E0000001');
    assert.match(body.errorSummary, /^Api validation failed: 'until'/);
    assert.equal(body.errorLink, 'E0000001');
    assert.match(body.errorId, /^oae/);
    assert.ok(body.errorCauses.length >= 1);

    const b = await fetch(`${url}/api/v1/logs?limit=1001`, { headers: auth() });
    assert.equal(b.status, 400);
    assert.equal(((await b.json()) as any).errorCode, 'E0000001');

    const c = await fetch(`${url}/api/v1/logs?after=not-a-cursor`, { headers: auth() });
    assert.equal(c.status, 400);
    await c.arrayBuffer();

    const d = await fetch(`${url}/api/v1/logs?since=${iso(clock.now() - 181 * 86_400_000)}`, {
      headers: auth(),
    });
    assert.equal(d.status, 400);
    assert.match(((await d.json()) as any).errorSummary, /over 180 days/);
  });

  test('auth: missing or wrong SSWS token is 401 E0000011 with the documented body', async () => {
    for (const headers of [{}, { authorization: 'SSWS wrong' }, { authorization: `Bearer ${sim.token}` }]) {
      const res = await fetch(`${url}/api/v1/logs`, { headers });
      assert.equal(res.status, 401);
      const body = (await res.json()) as any;
      assert.deepEqual(Object.keys(body).sort(), [
        'errorCauses',
        'errorCode',
        'errorId',
        'errorLink',
        'errorSummary',
      ]);
      assert.equal(body.errorCode, 'E0000011');
      assert.equal(body.errorSummary, 'Invalid token provided');
      assert.ok(res.headers.get('x-rate-limit-limit'), 'rate headers on errors too');
    }
  });

  test('injected faults answer in Okta shape', async () => {
    sim.inject({ kind: 'status', status: 500 });
    const a = await fetch(`${url}/api/v1/logs`, { headers: auth() });
    assert.equal(a.status, 500);
    assert.equal(((await a.json()) as any).errorCode, 'E0000009');

    sim.inject({ kind: 'rate-limit', retryAfter: 30 });
    const b = await fetch(`${url}/api/v1/logs`, { headers: auth() });
    assert.equal(b.status, 429);
    assert.equal(b.headers.get('retry-after'), '30');
    assert.equal(b.headers.get('x-rate-limit-remaining'), '0');
    assert.equal(Number(b.headers.get('x-rate-limit-reset')), Math.ceil(clock.now() / 1000) + 30);
    assert.equal(((await b.json()) as any).errorCode, 'E0000047');

    sim.inject({ kind: 'status', status: 401 });
    const c = await fetch(`${url}/api/v1/logs`, { headers: auth() });
    assert.equal(((await c.json()) as any).errorCode, 'E0000011');
  });

  test('empty fault: a valid empty page whose next link resumes at the same position', async () => {
    const first = `${url}/api/v1/logs?since=${iso(T0 - 3_600_000)}&until=${iso(T0)}&limit=100`;
    const p1 = await fetch(first, { headers: auth() });
    const page1 = (await p1.json()) as any[];
    sim.inject({ kind: 'empty' });
    const p2 = await fetch(links(p1).next, { headers: auth() });
    assert.deepEqual(await p2.json(), []);
    assert.equal(links(p2).next, links(p1).next);
    const p3 = await fetch(links(p2).next, { headers: auth() });
    const page3 = (await p3.json()) as any[];
    assert.equal(page3.length, 100);
    assert.notEqual(page3[0].uuid, page1[0].uuid);
  });

  test('no write calls were made by reads; a DELETE would be recorded', async () => {
    assert.deepEqual(sim.writeCalls(), []);
    const res = await fetch(`${url}/api/v1/logs`, { method: 'DELETE', headers: auth() });
    assert.equal(res.status, 405);
    await res.arrayBuffer();
    assert.deepEqual(
      sim.writeCalls().map((r) => r.method),
      ['DELETE'],
    );
  });
});

test('rate limit: X-Rate-Limit-* on every response, 429 E0000047 when exhausted, reset next minute', async () => {
  const clock = new ManualClock(T0 + 5_000);
  const sim = new OktaSimulator({ events: 5, clock: clock.now, rateLimitPerMinute: 3 });
  const url = await sim.start();
  try {
    const headers = { authorization: `SSWS ${sim.token}` };
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${url}/api/v1/logs`, { headers });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-rate-limit-limit'), '3');
      assert.equal(r.headers.get('x-rate-limit-reset'), String(T0 / 1000 + 60));
      remaining.push(r.headers.get('x-rate-limit-remaining')!);
      await r.arrayBuffer();
    }
    assert.deepEqual(remaining, ['2', '1', '0']);
    const limited = await fetch(`${url}/api/v1/logs`, { headers });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('x-rate-limit-remaining'), '0');
    assert.deepEqual({ code: ((await limited.json()) as any).errorCode }, { code: 'E0000047' });
    clock.advance(60_000);
    const again = await fetch(`${url}/api/v1/logs`, { headers });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-rate-limit-remaining'), '2');
    await again.arrayBuffer();
  } finally {
    await sim.stop();
  }
});

test('permission: false → 403 E0000006', async () => {
  const sim = new OktaSimulator({ events: 1, permission: false, token: 'tok' });
  const url = await sim.start();
  try {
    const r = await fetch(`${url}/api/v1/logs`, { headers: { authorization: 'SSWS tok' } });
    assert.equal(r.status, 403);
    const body = (await r.json()) as any;
    assert.equal(body.errorCode, 'E0000006');
    assert.equal(body.errorSummary, 'You do not have permission to perform the requested action');
  } finally {
    await sim.stop();
  }
});

test('retention: events older than 90 days are not returned', async () => {
  const clock = new ManualClock(T0);
  const sim = new OktaSimulator({
    events: 10,
    start: T0 - 95 * 86_400_000,
    spacingMs: 86_400_000,
    clock: clock.now,
  });
  const url = await sim.start();
  try {
    const { ids } = await drain(
      sim,
      `${url}/api/v1/logs?since=${iso(T0 - 100 * 86_400_000)}&until=${iso(T0)}`,
    );
    assert.equal(ids.length, 5); // days -90 … -86 remain (day -90 + 1 ms is inside)
  } finally {
    await sim.stop();
  }
});

test('startLive generates events as the clock advances (demo mode)', async () => {
  const clock = new ManualClock(T0);
  const sim = new OktaSimulator({ events: 0, clock: clock.now });
  const url = await sim.start();
  try {
    sim.startLive(5);
    assert.equal(sim.eventCount, 0);
    clock.advance(10_000);
    assert.equal(sim.eventCount, 50);
    const { ids } = await drain(
      sim,
      `${url}/api/v1/logs?since=${iso(T0)}&until=${iso(clock.now())}&limit=1000`,
    );
    assert.equal(ids.length, 50);
    for (const e of sim.events()) assert.ok(Date.parse(e.published) <= clock.now());
    sim.stopLive();
    clock.advance(10_000);
    assert.equal(sim.eventCount, 50);
  } finally {
    await sim.stop();
  }
});

test('eventBytes pads records; a huge page is streamed and complete', async () => {
  const clock = new ManualClock(T0);
  const sim = new OktaSimulator({
    events: 1000,
    eventBytes: 20_000,
    spacingMs: 10,
    start: T0 - 60_000,
    clock: clock.now,
  });
  const url = await sim.start();
  try {
    const res = await fetch(`${url}/api/v1/logs?since=${iso(T0 - 60_000)}&until=${iso(T0)}&limit=1000`, {
      headers: { authorization: `SSWS ${sim.token}` },
    });
    assert.equal(res.headers.get('content-length'), null, 'streamed (chunked)');
    const body = (await res.json()) as any[];
    assert.equal(body.length, 1000);
    const sizes = body.map((e) => Buffer.byteLength(JSON.stringify(e)));
    const avg = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    assert.ok(avg > 19_000 && avg < 21_000, `avg ${avg}`);
    assert.deepEqual(
      body.map((e) => e.uuid),
      sim.eventIds(),
    );
  } finally {
    await sim.stop();
  }
});

test('the same seed gives the same events', () => {
  const a = new OktaSimulator({ events: 20, seed: 99, start: T0 });
  const b = new OktaSimulator({ events: 20, seed: 99, start: T0 });
  assert.deepEqual(a.events(), b.events());
  assert.notDeepEqual(a.events(), new OktaSimulator({ events: 20, seed: 100, start: T0 }).events());
});

test('loopNextLinks: the next link repeats the request (for the loop guard); rotateToken revokes', async () => {
  const sim = new OktaSimulator({ events: 30, start: T0 - 60_000, spacingMs: 100 });
  const url = await sim.start();
  try {
    const first = `${url}/api/v1/logs?since=${iso(T0 - 60_000)}&until=${iso(T0)}&limit=10`;
    sim.loopNextLinks(2);
    const a = await fetch(first, { headers: { authorization: `SSWS ${sim.token}` } });
    await a.arrayBuffer();
    assert.equal(links(a).next, first);
    const b = await fetch(links(a).next, { headers: { authorization: `SSWS ${sim.token}` } });
    await b.arrayBuffer();
    assert.equal(links(b).next, first);
    const c = await fetch(first, { headers: { authorization: `SSWS ${sim.token}` } });
    await c.arrayBuffer();
    assert.notEqual(links(c).next, first);

    const old = sim.token;
    const fresh = sim.rotateToken();
    const denied = await fetch(first, { headers: { authorization: `SSWS ${old}` } });
    assert.equal(denied.status, 401);
    await denied.arrayBuffer();
    const ok = await fetch(first, { headers: { authorization: `SSWS ${fresh}` } });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
  } finally {
    await sim.stop();
  }
});
