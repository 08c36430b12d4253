import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ErrorInfo } from '../core/errors.ts';
import type { DeliveryFailureRecord, IngestAnswerCount, RunRecord, RunStatus } from '../core/store.ts';
import { collectorHealth, collectorStatus, isSilent } from './health.ts';

const HOUR = 3_600_000;
const now = Date.parse('2026-11-25T12:00:00.000Z');
const run = (status: RunStatus, i = 0): RunRecord => ({
  id: `r${i}`,
  collectorId: 'c',
  startedAt: new Date(now - i * HOUR).toISOString(),
  status,
  events: 0,
  pages: 0,
  bytes: 0,
  deadLetters: 0,
});
/** Hourly volume from `hours` ago up to now, `perHour(h)` events in the hour h hours ago. */
const volume = (hours: number, perHour: (hoursAgo: number) => number) =>
  Array.from({ length: hours }, (_, i) => {
    const hoursAgo = hours - i;
    return { hour: new Date(now - hoursAgo * HOUR).toISOString(), count: perHour(hoursAgo) };
  });

describe('collector status and health', () => {
  it('status: stopped when disabled, error when the last finished run failed, else running', () => {
    assert.equal(collectorStatus(false, [run('failed')]), 'stopped');
    assert.equal(collectorStatus(true, [run('running'), run('failed', 1)]), 'error');
    assert.equal(collectorStatus(true, [run('succeeded'), run('failed', 1)]), 'running');
    assert.equal(collectorStatus(true, []), 'running');
  });

  it('health from the last three finished runs: OK, WARNING, ERROR', () => {
    const h = (statuses: RunStatus[]) =>
      collectorHealth({ runs: statuses.map((s, i) => run(s, i)), volume: [], now }).level;
    assert.equal(h(['succeeded', 'succeeded', 'succeeded', 'failed']), 'OK', 'only the last three count');
    assert.equal(h(['succeeded', 'failed', 'succeeded']), 'WARNING');
    assert.equal(
      h(['running', 'failed', 'failed', 'failed', 'succeeded']),
      'ERROR',
      'a run in progress is not counted',
    );
    assert.equal(h(['cancelled', 'succeeded']), 'OK', 'a cancelled run is no failure');
    assert.equal(h([]), 'OK');
  });

  it('says why in words: real plurals, and a first run still going is not "the last runs succeeded"', () => {
    const reasons = (statuses: RunStatus[]) =>
      collectorHealth({ runs: statuses.map((s, i) => run(s, i)), volume: [], now }).reasons;
    assert.deepEqual(reasons(['failed']), ['the last run failed']);
    assert.deepEqual(reasons(['failed', 'failed']), ['the last 2 runs failed']);
    assert.deepEqual(reasons(['failed', 'succeeded']), ['1 of the last 2 runs failed']);
    assert.deepEqual(reasons(['failed', 'failed', 'succeeded']), ['2 of the last 3 runs failed']);
    const first = collectorHealth({ runs: [run('running')], volume: [], now });
    assert.deepEqual(first, { level: 'OK', silent: false, reasons: ['first run in progress'] });
    assert.deepEqual(reasons(['running', 'succeeded']), [], 'a later run in progress is nothing to report');
    assert.deepEqual(reasons([]), []);
  });

  it('warns 14 days before the account credential expires', () => {
    const soon = new Date(now + 13 * 24 * HOUR).toISOString();
    const later = new Date(now + 15 * 24 * HOUR).toISOString();
    const expired = new Date(now - HOUR).toISOString();
    const h = (accountExpiresAt: string) =>
      collectorHealth({ runs: [run('succeeded')], volume: [], now, accountExpiresAt });
    assert.equal(h(later).level, 'OK');
    assert.equal(h(soon).level, 'WARNING');
    assert.match(h(soon).reasons.join(), /expires at/);
    assert.match(h(expired).reasons.join(), /expired at/);
  });

  it('silent when the last 4 hours brought at most a quarter of the usual hourly volume', () => {
    const steady = volume(7 * 24, () => 100);
    assert.equal(isSilent(steady, now), false);
    const dropped = volume(7 * 24, (h) => (h <= 4 ? 25 : 100));
    assert.equal(isSilent(dropped, now), true, 'a 75 % drop is silent');
    const dipped = volume(7 * 24, (h) => (h <= 4 ? 30 : 100));
    assert.equal(isSilent(dipped, now), false, 'a 70 % drop is not');
    const young = volume(20, (h) => (h <= 4 ? 0 : 100));
    assert.equal(isSilent(young, now), false, 'less than a day of history says nothing');
    assert.equal(isSilent([], now), false, 'a collector that never had events is not silent');
    assert.equal(
      collectorHealth({ runs: [run('succeeded')], volume: dropped, now }).silent,
      true,
      'reported on the health',
    );
  });

  const down: ErrorInfo = {
    type: 'transient',
    code: 'destination_unavailable',
    message: 'Destination siem is unavailable at http://127.0.0.1:9 (HTTP 503).',
    action: 'Check that destination siem is up.',
    destination: 'siem',
  };
  const failing = (o: Partial<DeliveryFailureRecord> = {}): DeliveryFailureRecord => ({
    collectorId: 'c',
    destination: 'siem',
    since: new Date(now - 60_000).toISOString(),
    lastAt: new Date(now - 1000).toISOString(),
    failures: 3,
    error: down,
    ...o,
  });

  it('deliveries: WARNING while a destination fails and runs retry; ERROR once a run gave up or it lasted 15 minutes', () => {
    const h = (f: DeliveryFailureRecord[], runs = [run('succeeded')]) =>
      collectorHealth({ runs, volume: [], now, deliveryFailures: f });
    assert.equal(h([]).level, 'OK');
    const retrying = h([failing()], [run('running'), run('succeeded', 1)]);
    assert.equal(retrying.level, 'WARNING');
    assert.match(
      retrying.reasons.join(),
      /destination siem are failing since .*3 failed attempts, the run is retrying.*HTTP 503/,
    );
    const gaveUp = h([failing({ gaveUpAt: new Date(now - 1000).toISOString() })]);
    assert.equal(gaveUp.level, 'ERROR');
    assert.match(gaveUp.reasons.join(), /destination siem .*the run gave up at/);
    assert.doesNotMatch(h([failing()]).reasons.join(), /retrying/, 'no run in progress: nothing retries');
    assert.equal(h([failing({ since: new Date(now - 15 * 60_000).toISOString() })]).level, 'ERROR');
    assert.equal(h([failing({ since: new Date(now - 14 * 60_000).toISOString() })]).level, 'WARNING');
  });

  it('deliveries of a push collector: ERROR after 10 requests in a row answered 503', () => {
    const h = (failures: number) =>
      collectorHealth({ runs: [], volume: [], now, push: true, deliveryFailures: [failing({ failures })] });
    assert.equal(h(9).level, 'WARNING');
    assert.match(h(9).reasons.join(), /9 pushed requests answered 503/);
    assert.equal(h(10).level, 'ERROR');
    const pull = collectorHealth({
      runs: [],
      volume: [],
      now,
      deliveryFailures: [failing({ failures: 50 })],
    });
    assert.equal(
      pull.level,
      'WARNING',
      "a run's attempts are paced by backoff: only time or giving up escalate",
    );
  });

  it('a run that failed on a destination or a vendor wait is judged by those rules, which end with the problem', () => {
    const failedOn = (error: ErrorInfo, i: number): RunRecord => ({ ...run('failed', i), error });
    const runs = [run('running'), failedOn(down, 1), failedOn(down, 2)];
    assert.equal(
      collectorHealth({ runs, volume: [], now }).level,
      'OK',
      'the destination acknowledged since (no failure on record): OK, although the last runs failed',
    );
    assert.equal(
      collectorHealth({
        runs,
        volume: [],
        now,
        deliveryFailures: [failing({ gaveUpAt: runs[1]!.startedAt })],
      }).level,
      'ERROR',
    );
    const limited: ErrorInfo = {
      type: 'transient',
      code: 'rate_limited',
      message: 'Okta rate limit reached (429).',
      action: 'Wait.',
      waitUntil: new Date(now + HOUR).toISOString(),
    };
    assert.equal(collectorHealth({ runs: [failedOn(limited, 0)], volume: [], now }).level, 'OK');
    assert.equal(
      collectorHealth({ runs: [failedOn({ ...down, destination: undefined }, 0)], volume: [], now }).level,
      'ERROR',
      'other failures still count',
    );
  });

  it('buffers: WARNING while a destination does not take events and its buffer holds them; OK while it drains', () => {
    const base = { runs: [run('succeeded')], volume: [], now };
    const failing = collectorHealth({
      ...base,
      buffers: [
        {
          destination: 'siem',
          batches: 3,
          events: 1200,
          oldestAt: '2026-11-25T11:50:00.000Z',
          lastError: { message: 'Splunk answered 503' },
        },
      ],
    });
    assert.equal(failing.level, 'WARNING');
    assert.deepEqual(failing.reasons, [
      'destination siem is not taking events; 1200 events wait in its buffer since 2026-11-25T11:50:00.000Z: Splunk answered 503',
    ]);
    const draining = collectorHealth({
      ...base,
      buffers: [{ destination: 'siem', batches: 3, events: 1200 }],
    });
    assert.equal(draining.level, 'OK');
    assert.equal(
      collectorHealth({ ...base, buffers: [{ destination: 'siem', batches: 0, events: 0 }] }).level,
      'OK',
    );
  });

  it('WARNING while the vendor told the account to wait, with the time and the reason', () => {
    const wait = (until: number) => ({
      accountId: 'a',
      until: new Date(until).toISOString(),
      error: {
        type: 'transient' as const,
        code: 'rate_limited',
        message: 'Okta rate limit reached (429).',
        action: 'Wait.',
      },
      at: new Date(now - 1000).toISOString(),
    });
    const h = collectorHealth({ runs: [run('succeeded')], volume: [], now, vendorWait: wait(now + HOUR) });
    assert.equal(h.level, 'WARNING');
    assert.deepEqual(h.reasons, [
      `waiting for the vendor until ${new Date(now + HOUR).toISOString()}: Okta rate limit reached (429).`,
    ]);
    assert.equal(
      collectorHealth({ runs: [], volume: [], now, vendorWait: wait(now - 1) }).level,
      'OK',
      'over',
    );
  });

  it("push collectors: the last hour's refusals, ERROR for those whose events are lost, not the destination's 503s", () => {
    const answer = (status: number, code: string, requests: number, min: number): IngestAnswerCount => ({
      collectorId: 'c',
      bucket: new Date(now - 30 * 60_000).toISOString(),
      status,
      code,
      requests,
      events: status === 200 ? requests : 0,
      lastAt: new Date(now - min * 60_000).toISOString(),
      ...(status === 200 ? {} : { message: `${code} said so` }),
    });
    const h = (answers: IngestAnswerCount[]) =>
      collectorHealth({ runs: [], volume: [], now, push: true, ingestAnswers: answers });
    assert.deepEqual(h([answer(200, 'accepted', 40, 1)]), { level: 'OK', silent: false, reasons: [] });
    assert.equal(
      h([answer(503, 'destination_unavailable', 3, 1)]).level,
      'OK',
      "a failing destination is the deliveries rule's (with its streak)",
    );
    const warned = h([answer(429, 'rate_limited', 2, 9), answer(429, 'rate_limited', 1, 2)]);
    assert.equal(warned.level, 'WARNING');
    assert.deepEqual(warned.reasons, [
      `3 pushed requests answered 429 rate_limited in the last hour, the latest at ${new Date(now - 120_000).toISOString()}: rate_limited said so`,
    ]);
    const lost = h([answer(401, 'invalid_token', 5, 3), answer(400, 'invalid_gzip', 1, 4)]);
    assert.equal(lost.level, 'ERROR');
    assert.match(
      lost.reasons[0]!,
      /^1 pushed request answered 400 invalid_gzip .*their events are lost/,
      'worst first',
    );
    assert.match(lost.reasons[1]!, /^5 pushed requests answered 401 invalid_token/);
  });
});
