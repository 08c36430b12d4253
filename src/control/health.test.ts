import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunRecord, RunStatus } from '../store/store.ts';
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
});
