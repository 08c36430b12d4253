import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  FaultQueue,
  json,
  ManualClock,
  parseIsoMicros,
  Rng,
  SimServer,
  spacedEvents,
  stableUuid,
  streamOf,
  TimedLog,
  text,
} from './kit.ts';

describe('SimServer', () => {
  const clock = new ManualClock('2026-11-25T10:00:00Z');
  const sim = new SimServer({
    clock: clock.now,
    hooks: {
      errorReply: (_req, status) => json(status, { vendorError: status }),
      rateLimitReply: (_req, retryAfter) =>
        json(429, { vendorRateLimit: retryAfter }, { 'x-vendor-remaining': '0' }),
      decorate: (_req, reply) => {
        reply.headers = { ...reply.headers, 'x-decorated': 'yes' };
      },
    },
  });
  sim.route('GET', '/api/v1/logs', (req) =>
    req.empty ? json(200, []) : json(200, [{ id: 1 }, { id: 2 }, { id: 3 }]),
  );
  sim.route('GET', '/v1/compliance/:kind/:id/logs/:fileId', (req) => json(200, req.params));
  sim.route('DELETE', '/v1/things/:id', (req) => json(200, { deleted: true, id: req.params.id }));
  sim.route('GET', '/stream', () => ({
    status: 200,
    headers: { 'content-type': 'text/plain' },
    body: streamOf(function* () {
      for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024, 97 + (i % 26));
    }),
  }));
  sim.route('GET', '/boom', () => {
    throw new Error('handler failure');
  });
  sim.route('GET', '/text', () => text(200, 'hello world'));
  sim.route('POST', '/echo', (req) => json(200, { body: req.body.toString('utf8') }));

  let url = '';
  before(async () => {
    url = await sim.start();
  });
  after(() => sim.stop());

  test('starts on 127.0.0.1 with an ephemeral port', () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(sim.url, url);
  });

  test('hands POST bodies to the handler', async () => {
    const res = await fetch(`${url}/echo`, { method: 'POST', body: 'grant_type=x&assertion=y' });
    assert.deepEqual(await res.json(), { body: 'grant_type=x&assertion=y' });
  });

  test('routes with named, decoded params', async () => {
    const res = await fetch(`${url}/v1/compliance/workspaces/ws%201/logs/file-9`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { kind: 'workspaces', id: 'ws 1', fileId: 'file-9' });
    assert.equal(res.headers.get('x-decorated'), 'yes');
  });

  test('unknown path is 404 and a wrong method 405, in the vendor error shape', async () => {
    const a = await fetch(`${url}/nope`);
    assert.equal(a.status, 404);
    assert.deepEqual(await a.json(), { vendorError: 404 });
    const b = await fetch(`${url}/api/v1/logs`, { method: 'PUT' });
    assert.equal(b.status, 405);
    await b.arrayBuffer();
  });

  test('HEAD is answered by the GET route without a body', async () => {
    const res = await fetch(`${url}/text`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '11');
    assert.equal(await res.text(), '');
  });

  test('a throwing handler answers 500 and is recorded', async () => {
    const res = await fetch(`${url}/boom`);
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { vendorError: 500 });
    assert.ok(sim.errors.some((e) => (e as Error).message === 'handler failure'));
  });

  test('records every request with the simulator clock, and write calls separately', async () => {
    sim.requests.clear();
    clock.advance(1234);
    await (
      await fetch(`${url}/api/v1/logs?since=2026-01-01T00:00:00Z&limit=5`, { headers: { 'x-test': '1' } })
    ).text();
    await (await fetch(`${url}/v1/things/42`, { method: 'DELETE' })).text();
    await (await fetch(`${url}/v1/things/43`, { method: 'POST' })).text();
    const all = sim.requests.all();
    assert.equal(all.length, 3);
    assert.equal(all[0].method, 'GET');
    assert.equal(all[0].path, '/api/v1/logs');
    assert.equal(all[0].query.get('limit'), '5');
    assert.equal(all[0].headers['x-test'], '1');
    assert.equal(all[0].at, Date.parse('2026-11-25T10:00:01.234Z'));
    assert.deepEqual(
      sim.writeCalls().map((r) => `${r.method} ${r.path}`),
      ['DELETE /v1/things/42', 'POST /v1/things/43'],
    );
    sim.requests.clear();
    assert.deepEqual(sim.writeCalls(), []);
  });
});

describe('faults', () => {
  const sim = new SimServer({
    hooks: {
      errorReply: (_req, status) => json(status, { vendorError: status }),
      rateLimitReply: (_req, retryAfter) =>
        json(429, { vendorRateLimit: retryAfter }, { 'x-vendor-remaining': '0' }),
    },
  });
  const page = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, pad: 'x'.repeat(50) })));
  sim.route('GET', '/page', (req) => (req.empty ? json(200, []) : json(200, page)));
  sim.route('GET', '/other', () => json(200, { ok: true }));
  sim.route('GET', '/stream', () => ({
    status: 200,
    headers: { 'content-type': 'text/plain' },
    body: streamOf(function* () {
      for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024, 97);
    }),
  }));
  let url = '';
  before(async () => {
    url = await sim.start();
  });
  after(() => sim.stop());

  test('status: a burst of 503s with the vendor body, then normal answers', async () => {
    sim.inject({ kind: 'status', status: 503, times: 2 });
    assert.equal(sim.faultsPending(), 2);
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${url}/page`);
      assert.equal(r.status, 503);
      assert.deepEqual(await r.json(), { vendorError: 503 });
    }
    assert.equal((await fetch(`${url}/page`).then((r) => r.json() as Promise<unknown[]>)).length, 200);
    assert.equal(sim.faultsPending(), 0);
  });

  test('status with an explicit body and headers', async () => {
    sim.inject({
      kind: 'status',
      status: 401,
      body: { custom: true },
      headers: { 'www-authenticate': 'SSWS' },
    });
    const r = await fetch(`${url}/page`);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'SSWS');
    assert.deepEqual(await r.json(), { custom: true });
  });

  test('rate-limit: 429 with Retry-After and the vendor body and headers', async () => {
    sim.inject({ kind: 'rate-limit', retryAfter: 7 });
    const r = await fetch(`${url}/page`);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '7');
    assert.equal(r.headers.get('x-vendor-remaining'), '0');
    assert.deepEqual(await r.json(), { vendorRateLimit: 7 });
  });

  test('truncate: status 200, half the declared body, then the connection drops', async () => {
    sim.inject({ kind: 'truncate' });
    const r = await fetch(`${url}/page`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), String(Buffer.byteLength(page)));
    await assert.rejects(r.text());
    // The next request is whole again.
    assert.equal((await fetch(`${url}/page`).then((x) => x.json() as Promise<unknown[]>)).length, 200);
  });

  test('truncate on a streamed body', async () => {
    sim.inject({ kind: 'truncate', path: '/stream' });
    const r = await fetch(`${url}/stream`);
    assert.equal(r.status, 200);
    await assert.rejects(r.arrayBuffer());
    const whole = await fetch(`${url}/stream`).then((x) => x.arrayBuffer());
    assert.equal(whole.byteLength, 64 * 16 * 1024);
  });

  test('reset: the socket is destroyed without an answer', async () => {
    sim.inject({ kind: 'reset' });
    await assert.rejects(fetch(`${url}/page`));
    assert.equal(sim.faultsPending(), 0);
  });

  test('delay: holds the real answer (a client timeout fires first)', async () => {
    sim.inject({ kind: 'delay', ms: 400 });
    await assert.rejects(fetch(`${url}/other`, { signal: AbortSignal.timeout(50) }), {
      name: 'TimeoutError',
    });
    sim.inject({ kind: 'delay', ms: 30 });
    const r = await fetch(`${url}/other`);
    assert.deepEqual(await r.json(), { ok: true });
  });

  test('empty: the handler serves a valid empty page', async () => {
    sim.inject({ kind: 'empty' });
    assert.deepEqual(await fetch(`${url}/page`).then((r) => r.json()), []);
    assert.equal((await fetch(`${url}/page`).then((r) => r.json() as Promise<unknown[]>)).length, 200);
  });

  test('path, method, times and afterRequests select the request', async () => {
    sim.inject({ kind: 'status', status: 500, path: /^\/page$/, afterRequests: 2, times: 2 });
    sim.inject({ kind: 'status', status: 502, path: '/other', method: 'GET' });
    assert.equal((await fetch(`${url}/page`)).status, 200);
    assert.equal((await fetch(`${url}/other`)).status, 502);
    assert.equal((await fetch(`${url}/other`)).status, 200);
    assert.equal((await fetch(`${url}/page`)).status, 200);
    assert.equal((await fetch(`${url}/page`)).status, 500);
    assert.equal((await fetch(`${url}/page`)).status, 500);
    assert.equal((await fetch(`${url}/page`)).status, 200);
    assert.equal(sim.faultsPending(), 0);
  });

  test('clearFaults drops everything pending', async () => {
    sim.inject({ kind: 'status', status: 500, times: 5 });
    assert.equal(sim.faultsPending(), 5);
    sim.clearFaults();
    assert.equal(sim.faultsPending(), 0);
    assert.equal((await fetch(`${url}/other`)).status, 200);
  });
});

test('stop() ends a held (delayed) request and frees the port', async (t) => {
  const sim = new SimServer();
  sim.route('GET', '/x', () => json(200, {}));
  const url = await sim.start();
  t.after(() => sim.stop());
  sim.inject({ kind: 'delay', ms: 60_000 });
  const pending = fetch(`${url}/x`).then(
    () => 'answered',
    () => 'failed',
  );
  // Wait until the request has arrived, then stop: the fetch must settle (not hang for a minute).
  const deadline = Date.now() + 5000;
  while (sim.requests.entries.length === 0 && Date.now() < deadline)
    await new Promise((r) => setImmediate(r));
  await sim.stop();
  assert.equal(await pending, 'failed');
  assert.equal(sim.started, false);
});

test('FaultQueue: a skipping fault counts requests even when another fault fires', () => {
  const q = new FaultQueue();
  q.inject({ kind: 'status', status: 500 });
  q.inject({ kind: 'status', status: 503, afterRequests: 1 });
  assert.equal(q.take('GET', '/a')?.kind === 'status' && 500, 500);
  const f = q.take('GET', '/a');
  assert.equal(f?.kind === 'status' && f.status, 503);
  assert.equal(q.take('GET', '/a'), undefined);
});

test('ManualClock moves only when told', () => {
  const c = new ManualClock(1000);
  assert.equal(c.now(), 1000);
  c.advance(500);
  assert.equal(c.now(), 1500);
  c.set('2026-01-01T00:00:00Z');
  assert.equal(c.now(), Date.parse('2026-01-01T00:00:00Z'));
});

test('Rng is deterministic per seed', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 5 }, () => b.next()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 5 }, () => c.next()),
  );
  assert.match(new Rng('s').uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('stableUuid is unique and reproducible', () => {
  const seen = new Set<string>();
  for (let hi = 0; hi < 3; hi++) for (let lo = 0; lo < 50_000; lo++) seen.add(stableUuid(hi, lo, 7));
  assert.equal(seen.size, 150_000);
  assert.equal(stableUuid(1, 2, 3), stableUuid(1, 2, 3));
  assert.match(stableUuid(0, 0, 0), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('parseIsoMicros keeps microseconds and zones', () => {
  assert.equal(
    parseIsoMicros('2026-07-09T10:24:53.814285Z'),
    Date.parse('2026-07-09T10:24:53.814Z') * 1000 + 285,
  );
  assert.equal(parseIsoMicros('2026-07-09T12:24:53+02:00'), Date.parse('2026-07-09T10:24:53Z') * 1000);
  assert.equal(parseIsoMicros('2026-07-09T10:24:53'), undefined);
  assert.equal(parseIsoMicros('yesterday'), undefined);
});

describe('TimedLog and spacedEvents', () => {
  test('keeps arrivals, truncates times to the resolution, and sorts them lazily (arrival order among equal times)', () => {
    const log = new TimedLog(1000);
    assert.deepEqual([log.add(5_999, 6_000), log.add(2_500, 3_000), log.add(2_100, 2_200)], [0, 1, 2]);
    assert.deepEqual(log.t, [5_000, 2_000, 2_000]);
    assert.deepEqual(log.vis, [6_000, 3_000, 2_200]);
    assert.deepEqual(log.ascending(), [1, 2, 0]);
  });

  test('spaces n events to end just before now; none is visible before now', () => {
    assert.deepEqual(spacedEvents(3, 10_000, 1_000), [
      [7_000, 10_000],
      [8_000, 10_000],
      [9_000, 10_000],
    ]);
    assert.deepEqual(spacedEvents(2, 10_000, 1_000, { from: 9_500, spacingMs: 500, visibleDelayMs: 1_000 }), [
      [9_500, 10_500],
      [10_000, 11_000],
    ]);
  });
});
