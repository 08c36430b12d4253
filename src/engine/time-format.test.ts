import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkTimePattern,
  formatTime,
  isTimeFormat,
  parseTime,
  wallToUtc,
  zoneOffsetMs,
} from './time-format.ts';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('time formats', () => {
  it('reads ISO-8601 with and without an offset (no offset: the given zone, UTC by default)', () => {
    assert.equal(iso(parseTime('2026-11-25T10:00:00Z', 'iso')), '2026-11-25T10:00:00.000Z');
    assert.equal(iso(parseTime('2026-11-25T10:00:00.123456+02:00', 'iso')), '2026-11-25T08:00:00.123Z');
    assert.equal(iso(parseTime('2026-11-25 10:00:00', 'iso')), '2026-11-25T10:00:00.000Z');
    assert.equal(iso(parseTime('2026-11-25T10:00:00', 'iso', 'Europe/Berlin')), '2026-11-25T09:00:00.000Z');
    assert.equal(iso(parseTime('2026-07-01T10:00:00', 'iso', 'Europe/Berlin')), '2026-07-01T08:00:00.000Z');
    assert.equal(iso(parseTime('2026-11-25', 'iso')), '2026-11-25T00:00:00.000Z');
    assert.equal(parseTime('2026-02-30T10:00:00Z', 'iso'), undefined, 'no 30 February');
    assert.equal(parseTime('yesterday', 'iso'), undefined);
    assert.equal(parseTime(1795600800, 'iso'), undefined, 'a number is not ISO');
  });

  it('reads epoch seconds and milliseconds as declared, numbers or numeric strings', () => {
    assert.equal(iso(parseTime(1795600800, 'epoch_s')), '2026-11-25T10:00:00.000Z');
    assert.equal(iso(parseTime('1795600800.5', 'epoch_s')), '2026-11-25T10:00:00.500Z');
    assert.equal(iso(parseTime(1795600800123, 'epoch_ms')), '2026-11-25T10:00:00.123Z');
    assert.equal(iso(parseTime('1795600800123', 'epoch_ms')), '2026-11-25T10:00:00.123Z');
    assert.equal(parseTime('2026-11-25', 'epoch_s'), undefined);
    assert.equal(parseTime(null, 'epoch_s'), undefined);
  });

  it('auto guesses epoch units by magnitude and reads ISO and HTTP dates', () => {
    assert.equal(iso(parseTime(1795600800, 'auto')), '2026-11-25T10:00:00.000Z');
    assert.equal(iso(parseTime(1795600800123, 'auto')), '2026-11-25T10:00:00.123Z');
    assert.equal(iso(parseTime('2026-11-25T10:00:00Z', 'auto')), '2026-11-25T10:00:00.000Z');
    assert.equal(iso(parseTime('Wed, 25 Nov 2026 10:00:00 GMT', 'auto')), '2026-11-25T10:00:00.000Z');
    assert.equal(parseTime('soon', 'auto'), undefined);
  });

  it('reads strftime-like patterns, in the zone unless the value has %z', () => {
    assert.equal(
      iso(parseTime('25/11/2026 10:00:05', '%d/%m/%Y %H:%M:%S', 'America/New_York')),
      '2026-11-25T15:00:05.000Z',
    );
    assert.equal(
      iso(parseTime('Nov 25 2026 03:04:05 PM +0100', '%b %d %Y %I:%M:%S %p %z', 'America/New_York')),
      '2026-11-25T14:04:05.000Z',
    );
    assert.equal(iso(parseTime('2026-11-25T10:00:00.250', '%FT%T.%L')), '2026-11-25T10:00:00.250Z');
    assert.equal(iso(parseTime('20261125 100000.5', '%Y%m%d %H%M%S.%f')), '2026-11-25T10:00:00.500Z');
    assert.equal(iso(parseTime('Wed 25 Nov 26', '%a %d %b %y')), '2026-11-25T00:00:00.000Z');
    assert.equal(parseTime('2026-11-25', '%d/%m/%Y'), undefined, 'does not match');
    assert.equal(parseTime('13 PM 25/11/2026', '%I %p %d/%m/%Y'), undefined, 'no 13 PM');
  });

  it('validates patterns with messages that say what is wrong', () => {
    assert.equal(checkTimePattern('%Y-%m-%d %H:%M'), undefined);
    assert.match(checkTimePattern('%Y-%m-%q') ?? '', /unknown directive %q/);
    assert.match(checkTimePattern('%H:%M') ?? '', /year.*month.*day/);
    assert.match(checkTimePattern('%d/%m/%Y %I:%M') ?? '', /%p/);
    assert.match(checkTimePattern('YYYY-MM-DD') ?? '', /% directives/);
    assert.equal(isTimeFormat('epoch_ms'), true);
    assert.equal(isTimeFormat('epoch'), false);
  });

  it('writes patterns in a zone, and converts wall time across DST', () => {
    const t = Date.parse('2026-11-25T15:00:05.007Z');
    assert.equal(formatTime(t, '%Y-%m-%dT%H:%M:%S.%L%z', 'America/New_York'), '2026-11-25T10:00:05.007-0500');
    assert.equal(formatTime(t, '%d %b %Y %I:%M %p %%'), '25 Nov 2026 03:00 PM %');
    assert.equal(zoneOffsetMs('Asia/Kolkata', t), 5.5 * 3_600_000);
    // 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 → 03:00): resolved forward.
    const gap = wallToUtc(Date.UTC(2026, 2, 29, 2, 30), 'Europe/Berlin');
    assert.equal(new Date(gap).toISOString(), '2026-03-29T01:30:00.000Z');
  });
});
