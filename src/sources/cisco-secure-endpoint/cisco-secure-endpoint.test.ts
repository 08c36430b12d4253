import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream } from '../../../test/support/drain-stream.ts';
import { ciscoSecureEndpointUrl, ciscoSecureEndpoint as kind } from '../../accounts/cisco-secure-endpoint.ts';
import { validateSettings } from '../../config/config-file.ts';
import { TributaryError } from '../../core/errors.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';

import cse, { eventTime } from './index.ts';

import { CiscoSecureEndpointSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('cisco-secure-endpoint', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

const drain = (
  sim: CiscoSecureEndpointSimulator,
  stream: string,
  o: { now: number; checkpoint?: TimeWindowCheckpoint; pageSize?: number },
) =>
  drainStream<TimeWindowCheckpoint>({
    source: cse,
    kind,
    account: sim.account(),
    stream,
    settings: o.pageSize ? { pageSize: o.pageSize } : {},
    ...o,
    http: { maxRetryAfterMs: 2000 },
  });

describe('cisco-secure-endpoint', () => {
  it('resolves the regional hosts', () => {
    assert.equal(ciscoSecureEndpointUrl({}), 'https://api.amp.cisco.com');
    assert.equal(ciscoSecureEndpointUrl({ region: 'eu' }), 'https://api.eu.amp.cisco.com');
    assert.equal(ciscoSecureEndpointUrl({ region: 'apjc' }), 'https://api.apjc.amp.cisco.com');
    assert.deepEqual(kind.secrets, ['apiKey']);
    assert.equal(validateSettings('cisco-secure-endpoint', { pageSize: 501 }).ok, false);
  });

  it('reads newest-first events from start_date, following metadata.links.next, keeping each window', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new CiscoSecureEndpointSimulator({ clock: clock.now, records: 23, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'events', { now: clock.now(), pageSize: 10 });
    assert.deepEqual([...first.ids].sort(), sim.expectedIds('events').sort());
    const calls = sim.requests().filter((r) => r.path === '/v1/events');
    assert.equal(calls[0].query.get('start_date'), '2026-11-25T09:59:59.000Z');
    assert.equal(calls[0].query.get('limit'), '10');
    assert.equal(calls[1].query.get('offset'), '10', 'the next page is metadata.links.next');
    assert.match(String(calls[0].headers.authorization), /^Basic /);
    clock.advance(5 * 60_000);
    const added = sim.addRecords('events', 3, { from: clock.now() - 4 * 60_000 });
    const second = await drain(sim, 'events', { now: clock.now(), checkpoint: first.checkpoint });
    assert.deepEqual([...second.ids].sort(), [...added].sort());
    assert.equal(
      eventTime({ timestamp: 1764072000, timestamp_nanoseconds: 250_000_000 }),
      '2025-11-25T12:00:00.250Z',
    );
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('reads audit logs by start_time/end_time', async (t) => {
    const sim = new CiscoSecureEndpointSimulator({ clock: () => T0, records: 12, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, 'audit-logs', { now: T0, pageSize: 5 });
    assert.deepEqual([...r.ids].sort(), sim.expectedIds('audit').sort());
    const q = sim.requests().find((x) => x.path === '/v1/audit_logs');
    assert.ok(q?.query.get('start_time') && q.query.get('end_time'));
  });

  it('stops at the spent hourly budget with the wait the headers give; errors name the fix, not the key', async (t) => {
    const sim = new CiscoSecureEndpointSimulator({ clock: () => T0, records: 30, seed: 5, hourlyLimit: 2 });
    await sim.start();
    t.after(() => sim.stop());
    const err = await drain(sim, 'events', { now: T0, pageSize: 10 }).catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.retryAfter, 3600, 'until the next hour, from X-Rate-Limit-Reset');
    // The headers as Cisco's API reference names them ("Rate Limits"): X-Rate-Limit-Limit/-Remaining/-Reset.
    const a = sim.account();
    const res = await fetch(`${a.url}/v1/events?limit=1`, {
      headers: { authorization: `Basic ${Buffer.from(`${a.clientId}:${a.apiKey}`).toString('base64')}` },
    });
    await res.arrayBuffer();
    assert.equal(res.status, 429);
    assert.deepEqual(
      ['limit', 'remaining', 'reset'].map((h) => res.headers.get(`x-rate-limit-${h}`)),
      ['2', '0', '3600'],
    );
    const bad = await testConnection(
      cse,
      kind,
      { ...sim.account(), apiKey: 'not-the-key-123' },
      settingsOf(),
    );
    assert.equal(!bad.ok && bad.error.code, 'cisco_secure_endpoint_unauthorized');
    assert.doesNotMatch(JSON.stringify(bad), /not-the-key-123/);
    const ok = new CiscoSecureEndpointSimulator({ records: 2, seed: 6 });
    await ok.start();
    t.after(() => ok.stop());
    assert.deepEqual(await testConnection(cse, kind, ok.account(), settingsOf()), { ok: true });
  });
});
