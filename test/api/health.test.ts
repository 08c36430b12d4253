import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { json, SimServer } from '../../src/sim/kit.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { type ApiServer, type Reply, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Health that tells the truth, observed as an operator does, through `GET /api/collectors/{name}` of
 * a real API server with its embedded scheduler: a destination that answers 503 turns a pulled
 * collector WARNING while the runner still retries, ERROR once the run gives up, OK at the next good
 * delivery; the same for a push collector whose senders are answered 503; and a vendor that asks for
 * an hour's pause holds the collector back, shown in the API and refused by Run now.
 *
 * The scheduler's clock is the test's (`offset`): the run gives up when the test moves it past
 * destinationMaxWaitMs, never after a real wait.
 */

const fresh = tempDirs('tributary-health');
let api: ApiServer;
let offset = 0;
const siem = { down: true, posts: 0, lines: 0 };
let siemServer: SimServer;
let okta: OktaSimulator;
let limited: OktaSimulator;

const editor = (body?: unknown) => ({ as: 'editor' as const, body });

/** Polls the collector's view until `check` holds (deadline 20 s); returns that view. */
async function view(name: string, what: string, check: (c: any) => boolean): Promise<any> {
  const deadline = Date.now() + 20_000;
  let last: Reply | undefined;
  for (;;) {
    last = await api.call('GET', `/api/collectors/${name}`, { as: 'viewer' });
    assert.equal(last.status, 200, last.text);
    if (check(last.body)) return last.body;
    if (Date.now() > deadline)
      assert.fail(
        `timed out waiting for ${what}; health: ${JSON.stringify(last.body.health)} ${JSON.stringify(last.body.lastRun?.error)}`,
      );
    await delay(25);
  }
}

before(async () => {
  siemServer = new SimServer({ name: 'siem' }).route('POST', '/events', (req) => {
    siem.posts++;
    if (siem.down) return json(503, { error: 'maintenance' });
    siem.lines += req.body.toString('utf8').split('\n').filter(Boolean).length;
    return json(200, { ok: true });
  });
  await siemServer.start();
  okta = new OktaSimulator({ events: 40, token: 'okta-token-health-0001' });
  limited = new OktaSimulator({ events: 40, token: 'okta-token-health-0002' });
  await okta.start();
  await limited.start();
  api = await startTestApi(fresh(), {
    scheduler: {
      now: () => Date.now() + offset,
      destinationMaxWaitMs: 60_000,
      destinationBackoff: { baseMs: 20, maxMs: 50 },
    },
  });
  for (const [name, sim] of [
    ['okta-main', okta],
    ['okta-limited', limited],
  ] as const) {
    const r = await api.call(
      'POST',
      '/api/accounts',
      editor({ name, kind: 'okta', fields: { url: sim.url, token: sim.token } }),
    );
    assert.equal(r.status, 201, r.text);
  }
  for (const [name, config] of [
    [
      'siem',
      { kind: 'http', url: `${siemServer.url}/events`, maxAttempts: 1, backoffBaseMs: 0, timeout: 5000 },
    ],
    ['file-out', { kind: 'file', path: 'events.ndjson' }],
  ] as const) {
    const r = await api.call('POST', '/api/destinations', editor({ name, config }));
    assert.equal(r.status, 201, r.text);
  }
});

after(async () => {
  await api.close();
  await siemServer.stop();
  await okta.stop();
  await limited.stop();
});

describe('health tells the truth about deliveries', () => {
  it('pull: WARNING naming the destination while the runner retries, ERROR once it gives up, OK after a good delivery', async () => {
    siem.down = true;
    const created = await api.call(
      'POST',
      '/api/collectors',
      editor({
        name: 'pull',
        source: 'okta',
        account: 'okta-main',
        destinations: ['siem'],
        interval: '1h',
        lookback: '1h',
      }),
    );
    assert.equal(created.status, 201, created.text);

    const retrying = await view('pull', 'WARNING', (c) => c.health.level === 'WARNING');
    assert.equal(retrying.lastRun.status, 'running', 'the runner is still retrying the batch');
    assert.match(
      retrying.health.reasons.join('\n'),
      /destination siem are failing since .*the run is retrying.*HTTP 503/,
    );
    const error = retrying.errors.find((e: any) => e.code === 'destination_unavailable');
    assert.ok(error, JSON.stringify(retrying.errors));
    assert.equal(error.type, 'transient');
    assert.match(error.message, /Destination siem is unavailable/);
    assert.match(error.action, /destination siem/);
    assert.equal(retrying.deliveryFailures[0].destination, 'siem');
    assert.equal(retrying.deliveryFailures[0].gaveUpAt, null);

    offset += 61_000; // past destinationMaxWaitMs on the scheduler's clock: the next failure gives up
    const failed = await view('pull', 'ERROR', (c) => c.health.level === 'ERROR');
    assert.match(failed.health.reasons.join('\n'), /destination siem are failing since .*the run gave up at/);
    const gaveUp = await view('pull', 'the run to end', (c) => c.lastRun.status === 'failed');
    assert.equal(gaveUp.status, 'error');
    assert.equal(gaveUp.lastRun.error.destination, 'siem');
    assert.equal(gaveUp.health.level, 'ERROR');

    siem.down = false;
    assert.equal((await api.call('POST', '/api/collectors/pull/run', editor())).status, 202);
    const ok = await view('pull', 'OK', (c) => c.health.level === 'OK');
    assert.deepEqual(ok.deliveryFailures, []);
    assert.ok(siem.lines > 0, 'the destination acknowledged events');
    const done = await view('pull', 'the good run to end', (c) => c.lastRun.status === 'succeeded');
    assert.equal(done.health.level, 'OK');
    assert.deepEqual(done.health.reasons, []);
  });

  it('push: a 503 because the destination failed is a WARNING, 10 in a row an ERROR, OK after the next acknowledged push', async () => {
    siem.down = true;
    const created = await api.call(
      'POST',
      '/api/collectors',
      editor({ name: 'hook', source: 'webhook', destinations: ['siem'] }),
    );
    assert.equal(created.status, 201, created.text);
    const token = created.body.ingestToken as string;
    const push = async (n: number) => {
      const res = await fetch(`${api.base}/ingest/hook`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ uuid: `e${n}`, msg: 'hello' }),
      });
      await res.text();
      return res.status;
    };
    assert.equal((await view('hook', 'OK', () => true)).health.level, 'OK');

    assert.equal(await push(1), 503);
    const warned = await view('hook', 'WARNING', (c) => c.health.level === 'WARNING');
    assert.match(
      warned.health.reasons.join('\n'),
      /destination siem are failing since .*1 pushed request answered 503/,
    );
    assert.ok(warned.errors.some((e: any) => e.code === 'destination_unavailable' && /siem/.test(e.message)));
    assert.equal(warned.status, 'running', 'nothing to run');

    for (let n = 2; n <= 9; n++) assert.equal(await push(n), 503);
    assert.equal(
      (await view('hook', 'nine refusals', (c) => c.deliveryFailures[0]?.failures === 9)).health.level,
      'WARNING',
    );
    assert.equal(await push(10), 503);
    const failing = await view('hook', 'ERROR', (c) => c.health.level === 'ERROR');
    assert.match(failing.health.reasons.join('\n'), /10 pushed requests answered 503/);

    siem.down = false;
    assert.equal(await push(11), 200);
    const ok = await view('hook', 'OK', (c) => c.health.level === 'OK');
    assert.deepEqual(ok.deliveryFailures, []);
  });
});

describe('waiting for the vendor', () => {
  it('a 429 with Retry-After: 3600 holds the collector back until then: shown in the API, refused by Run now', async () => {
    limited.inject({ kind: 'rate-limit', retryAfter: 3600, path: '/api/v1/logs' });
    const created = await api.call(
      'POST',
      '/api/collectors',
      editor({
        name: 'waiting',
        source: 'okta',
        account: 'okta-limited',
        destinations: ['file-out'],
        interval: '5m',
        lookback: '1h',
      }),
    );
    assert.equal(created.status, 201, created.text);
    const c = await view('waiting', 'the vendor wait', (v) => v.vendorWait !== null && v.lastRun?.endedAt);
    const until = c.vendorWait.until as string;
    const schedulerNow = Date.now() + offset;
    assert.ok(Date.parse(until) - schedulerNow > 3_500_000, `an hour away: ${until}`);
    assert.equal(c.vendorWait.reason.code, 'rate_limited');
    assert.match(c.vendorWait.reason.message, /429/);
    assert.equal(c.vendorWait.collector, 'waiting');
    assert.equal(c.health.level, 'WARNING');
    assert.ok(
      c.health.reasons.some((r: string) => r.startsWith(`waiting for the vendor until ${until}: `)),
      c.health.reasons.join('\n'),
    );
    assert.equal(c.lastRun.error.waitUntil, until);
    const requests = limited.requests().length;

    // The scheduler's next run is at the vendor's time, not at the 5-minute interval.
    assert.ok((api.scheduler.nextRunAt('waiting') ?? 0) >= Date.parse(until));
    const now = await api.call('POST', '/api/collectors/waiting/run', editor());
    assert.equal(now.status, 409, now.text);
    assert.equal(now.body.error.code, 'vendor_wait');
    assert.match(now.body.error.message, new RegExp(`waiting for the vendor until ${until}`));
    assert.equal(limited.requests().length, requests, 'the vendor was not asked');
    assert.equal((await api.call('GET', '/api/collectors/waiting/runs', { as: 'viewer' })).body.length, 1);

    // The list shows it too.
    const list = await api.call('GET', '/api/collectors', { as: 'viewer' });
    assert.equal(list.body.find((x: any) => x.name === 'waiting').vendorWait.until, until);
  });
});
