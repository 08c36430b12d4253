import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../../test/support/read-context.ts';
import {
  type ProofpointTapAccount,
  proofpointTap,
  proofpointTapFields,
} from '../../accounts/proofpoint-tap.ts';
import type { TributaryError } from '../../core/errors.ts';
import type { Batch } from '../../core/source.ts';
import { formatIssues } from '../../core/validation.ts';
import { Http } from '../../engine/http.ts';
import { TokenBucket } from '../../engine/rate-limit.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import tap from './index.ts';
import { ProofpointTapSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

async function drain(
  sim: ProofpointTapSimulator,
  stream: string,
  o: {
    now: number | (() => number);
    checkpoint?: TimeWindowCheckpoint;
    lookbackMs?: number;
    warn?: (e: TributaryError) => void;
    limiter?: TokenBucket;
  },
) {
  const account: ProofpointTapAccount = { principal: sim.principal, secret: sim.secret, url: sim.url };
  const http: Http = new Http({
    vendor: 'Proofpoint TAP',
    backoffBaseMs: 1,
    authorize: (h, refresh, url) => proofpointTap.authorize(account, h, { refresh, http, url }),
    explain: tap.explain,
    limiter: o.limiter,
  });
  const ctx = readContext(http, {
    stream,
    settings: {},
    account,
    checkpoint: o.checkpoint,
    now: typeof o.now === 'function' ? o.now : () => o.now as number,
    warn: o.warn ?? (() => {}),
    window: { lookbackMs: o.lookbackMs ?? 2 * 3_600_000, lagMs: 0, retention: tap.retention },
  });
  const batches: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of tap.streams[stream].read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>)
    batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}

describe('proofpoint-tap account', () => {
  it('sends Basic service credentials to the TAP host only, within the daily allowance', async () => {
    const a = proofpointTapFields.parse({ principal: 'sp-1', secret: 's3cr3t' }) as ProofpointTapAccount;
    const h = new Headers();
    await proofpointTap.authorize(a, h, { refresh: false, http: {} as never, url: new URL('https://x') });
    assert.equal(h.get('authorization'), `Basic ${Buffer.from('sp-1:s3cr3t').toString('base64')}`);
    assert.deepEqual(proofpointTap.origins?.(a), ['https://tap-api-v2.proofpoint.com']);
    const perDay = (proofpointTap.rateLimit?.perSecond ?? 0) * 86_400 + (proofpointTap.rateLimit?.burst ?? 0);
    assert.ok(perDay <= 1800, `at most 1,800 requests a day (${perDay})`);
    const bad = proofpointTapFields.safeParse({ principal: 'a b', secret: 'x' });
    assert.match(formatIssues(bad.error!).join(), /^principal: expected the service principal alone/);
  });
});

describe('proofpoint-tap Test Connection', () => {
  it('passes with the credential and explains a wrong one without echoing the secret', async (t) => {
    const sim = new ProofpointTapSimulator({ events: 4 });
    await sim.start();
    t.after(() => sim.stop());
    const ok = await testConnection(
      tap,
      proofpointTap,
      { principal: sim.principal, secret: sim.secret, url: sim.url },
      {},
    );
    assert.deepEqual(ok, { ok: true });
    const bad = await testConnection(
      tap,
      proofpointTap,
      { principal: sim.principal, secret: 'not-the-secret', url: sim.url },
      {},
    );
    assert.equal(!bad.ok && bad.error.code, 'proofpoint_tap_unauthorized');
    if (!bad.ok) assert.match(bad.error.action, /Connected Applications/);
    assert.doesNotMatch(JSON.stringify(bad), /not-the-secret/);
    assert.deepEqual(sim.writeCalls(), []);
  });
});

describe('proofpoint-tap reading', () => {
  it('asks each stream its own endpoint, one request per window of at most an hour, format=json', async (t) => {
    const sim = new ProofpointTapSimulator({ events: 100, spacingMs: 60_000, seed: 4, clock: () => T0 });
    await sim.start();
    t.after(() => sim.stop());
    const all: string[] = [];
    for (const stream of Object.keys(tap.streams)) {
      const { ids, batches } = await drain(sim, stream, { now: T0 + 789 });
      all.push(...ids);
      assert.equal(batches.length, 2, `${stream}: 2 h in windows of ≤1 h`);
    }
    assert.deepEqual([...all].sort(), sim.eventIds().sort());
    const paths = new Set(sim.requests().map((r) => r.path));
    assert.deepEqual([...paths].sort(), [
      '/v2/siem/clicks/blocked',
      '/v2/siem/clicks/permitted',
      '/v2/siem/messages/blocked',
      '/v2/siem/messages/delivered',
    ]);
    const q = sim.requests()[0].query;
    assert.equal(q.get('format'), 'json');
    assert.equal(q.get('interval'), '2026-11-25T10:00:00Z/2026-11-25T11:00:00Z');
    for (const r of sim.requests()) {
      const [a, b] = (r.query.get('interval') ?? '').split('/').map(Date.parse);
      assert.ok(b - a <= 3_600_000 && b - a >= 30_000, r.query.get('interval') ?? '');
    }
  });

  it('selects by creation time: an event created late in a later window is delivered then', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new ProofpointTapSimulator({ events: 0, clock: clock.now, seed: 6 });
    await sim.start();
    t.after(() => sim.stop());
    const early = sim.addEvents(3, { kind: 'clicksPermitted', from: T0 - 30 * 60_000, spacingMs: 1000 });
    // Added events are created now (T0) at the earliest: the collector reads a minute later.
    const first = await drain(sim, 'clicks-permitted', { now: T0 + 60_000 });
    assert.deepEqual(first.ids, early);
    // Clicked 40 minutes ago, recognized as malicious (created) only now.
    clock.advance(10 * 60_000);
    const late = sim.addEvents(1, {
      kind: 'clicksPermitted',
      from: T0 - 40 * 60_000,
      visibleDelayMs: 50 * 60_000,
    });
    const second = await drain(sim, 'clicks-permitted', {
      now: clock.now() + 60_000,
      checkpoint: first.checkpoint,
    });
    assert.deepEqual(second.ids, late);
    // A run 10 s later widens its interval to Proofpoint's 30 s minimum.
    await drain(sim, 'clicks-permitted', { now: clock.now() + 70_000, checkpoint: second.checkpoint });
    const [a, b] = (sim.requests().at(-1)?.query.get('interval') ?? '').split('/').map(Date.parse);
    assert.equal(b - a, 30_000);
  });

  it('a 3-day outage is caught up without a gap, one window per hour, paced under the daily allowance', async (t) => {
    // Simulated time: the account's bucket waits by moving the clock the simulator answers by.
    const clock = new ManualClock(T0);
    const sim = new ProofpointTapSimulator({
      events: 4 * 72,
      spacingMs: 15 * 60_000,
      clock: clock.now,
      seed: 8,
    });
    await sim.start();
    t.after(() => sim.stop());
    const { perSecond, burst } = proofpointTap.rateLimit!;
    const limiter = new TokenBucket(perSecond, burst, clock.now, async (ms) => {
      clock.advance(ms);
    });
    const warnings: TributaryError[] = [];
    const since = new Date(T0 - 3 * 86_400_000).toISOString();
    const ids: string[] = [];
    let windows = 0;
    for (const stream of Object.keys(tap.streams)) {
      // Streams run one after another here: each reads hour windows up to where its own run started.
      windows += Math.ceil((clock.now() - Date.parse(since)) / 3_600_000);
      const r = await drain(sim, stream, {
        now: clock.now,
        checkpoint: { since },
        limiter,
        warn: (e) => warnings.push(e),
      });
      ids.push(...r.ids);
      assert.ok(
        Date.parse(r.checkpoint?.since ?? '') >= T0 - 60_000,
        `${stream} caught up to where the run started`,
      );
    }
    assert.deepEqual(warnings, [], 'no gap, no refused request');
    assert.deepEqual([...ids].sort(), sim.eventIds().sort());
    // One request per stream and hour, none refused (a 400 would fail the run) or repeated (a 429 would).
    const requests = sim.requests().length;
    assert.ok(windows >= 4 * 72);
    assert.equal(requests, windows);
    // Paced by the account's bucket: the burst, then 1,700 a day — 288+ requests take about 3.6 hours.
    const expected = ((requests - burst) / perSecond) * 1000;
    const took = clock.now() - T0;
    assert.ok(Math.abs(took - expected) < 60_000, `${took} ms vs ${expected} ms`);
  });

  it('a position older than 7 days moves up with a gap warning instead of a refused request', async (t) => {
    const sim = new ProofpointTapSimulator({ events: 8, clock: () => T0 });
    await sim.start();
    t.after(() => sim.stop());
    const warnings: TributaryError[] = [];
    const r = await drain(sim, 'messages-delivered', {
      now: T0,
      checkpoint: { since: new Date(T0 - 9 * 86_400_000).toISOString() },
      warn: (e) => warnings.push(e),
    });
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].code, 'checkpoint_beyond_retention');
    assert.deepEqual([...r.ids].sort(), sim.eventIds(['messagesDelivered']).sort());
    const first = (sim.requests()[0].query.get('interval') ?? '').split('/').map(Date.parse);
    assert.ok(first[0] >= T0 - 7 * 86_400_000, 'the first window is inside the 7 days');
    assert.equal(
      sim.requests().length,
      168,
      'hour windows over the 7 days, none refused (a 400 fails the run)',
    );
  });

  it('answers 400 for a start more than 7 days back, as documented', async (t) => {
    const sim = new ProofpointTapSimulator({ events: 4, clock: () => T0 });
    await sim.start();
    t.after(() => sim.stop());
    const auth = {
      authorization: `Basic ${Buffer.from(`${sim.principal}:${sim.secret}`).toString('base64')}`,
    };
    const at = (ms: number) => new Date(ms).toISOString();
    const old = await fetch(
      new URL(`/v2/siem/all?format=json&sinceTime=${at(T0 - 7 * 86_400_000 - 60_000)}`, sim.url),
      { headers: auth },
    );
    assert.equal(old.status, 400);
    assert.match(await old.text(), /too far into the past/);
    const s = T0 - 7 * 86_400_000 + 60_000;
    const inside = await fetch(
      new URL(`/v2/siem/all?format=json&interval=${at(s)}/${at(s + 3_600_000)}`, sim.url),
      { headers: auth },
    );
    assert.equal(inside.status, 204, 'a window inside the 7 days is served (nothing in it)');
  });
});
