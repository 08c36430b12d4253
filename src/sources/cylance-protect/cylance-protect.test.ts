import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream } from '../../../test/support/drain-stream.ts';
import { cylance, cylanceFields, cylanceUrl } from '../../accounts/cylance.ts';
import { validateSettings } from '../../config/config-file.ts';
import { newJti, signJwtHs256 } from '../../engine/jwt.ts';
import { testConnection } from '../../engine/test-connection.ts';
import type { TimeWindowCheckpoint } from '../../engine/time-window.ts';
import { ManualClock } from '../../sim/kit.ts';
import protect, { utc } from './index.ts';
import { CylanceSimulator } from './simulator.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const settingsOf = (raw: Record<string, unknown> = {}) => {
  const r = validateSettings('cylance-protect', raw);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.settings;
};

const drain = (
  sim: CylanceSimulator,
  stream: string,
  o: { now: number; checkpoint?: TimeWindowCheckpoint; pageSize?: number },
) =>
  drainStream<TimeWindowCheckpoint>({
    source: protect,
    kind: cylance,
    account: sim.account(),
    stream,
    settings: o.pageSize ? { pageSize: o.pageSize } : {},
    ...o,
  });

describe('cylance-protect', () => {
  it('regional hosts, UUID fields, the secret a secret; zone-less times are UTC', () => {
    assert.equal(cylanceUrl({}), 'https://protectapi.cylance.com');
    assert.equal(cylanceUrl({ region: 'euc1' }), 'https://protectapi-euc1.cylance.com');
    assert.equal(cylanceUrl({ region: 'gov' }), 'https://protectapi.us.cylance.com');
    assert.match(
      JSON.stringify(cylanceFields.safeParse({ tenantId: 'x', appId: 'y', appSecret: 'z' }).error?.issues),
      /tenant ID/,
    );
    assert.deepEqual(cylance.secrets, ['appSecret']);
    assert.equal(utc('2026-11-25T10:00:00'), '2026-11-25T10:00:00Z');
    assert.equal(utc('2026-11-25T10:00:00+02:00'), '2026-11-25T10:00:00+02:00');
  });

  it('signs an HS256 auth token (tid, sub, iss, jti, exp ≤ 30 min) and reads detections by start/end', async (t) => {
    const sim = new CylanceSimulator({ clock: () => T0, records: 25, seed: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await drain(sim, 'detections', { now: T0, pageSize: 10 });
    assert.deepEqual([...r.ids].sort(), sim.expectedIds('detections').sort());
    assert.deepEqual(sim.refusals, []);
    assert.equal(sim.tokensIssued(), 1);
    const [c] = sim.claims;
    assert.equal(c.iss, 'http://cylance.com');
    assert.equal(c.sub, sim.appId);
    assert.equal(c.tid, sim.tenantId);
    assert.match(String(c.jti), /^[0-9a-f-]{36}$/);
    assert.equal(Number(c.exp) - Number(c.iat), 1800, 'the longest lifetime Cylance accepts, 30 minutes');
    const tokenCall = sim.requests().find((x) => x.path === '/auth/v2/token');
    assert.ok(tokenCall);
    const lists = sim.requests().filter((x) => x.path === '/detections/v2');
    assert.equal(lists.length, 3);
    assert.equal(lists[0].query.get('start'), '2026-11-25T09:59:59Z');
    assert.equal(lists[1].query.get('page'), '2');
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('refuses a token signed with another secret: a config error naming the fields and the clock, not the secret', async (t) => {
    const sim = new CylanceSimulator({ clock: () => T0, records: 2, seed: 4 });
    await sim.start();
    t.after(() => sim.stop());
    const res = await testConnection(
      protect,
      cylance,
      { ...sim.account(), appSecret: 'another-secret-0123456789' },
      settingsOf(),
    );
    assert.equal(!res.ok && res.error.code, 'cylance_token_refused');
    if (!res.ok) assert.match(res.error.action, /clock/);
    assert.doesNotMatch(JSON.stringify(res), /another-secret/);
    assert.deepEqual(sim.refusals, ['signature']);
    assert.deepEqual(await testConnection(protect, cylance, sim.account(), settingsOf()), { ok: true });
  });

  it('answers 400 to an auth token living longer than 30 minutes, as the guide says, and 200 to one of 30', async (t) => {
    const sim = new CylanceSimulator({ clock: () => T0, records: 1, seed: 6 });
    await sim.start();
    t.after(() => sim.stop());
    const exchange = async (lifetime: number) => {
      const iat = Math.floor(Date.now() / 1000);
      const claims = {
        exp: iat + lifetime,
        iat,
        iss: 'http://cylance.com',
        sub: sim.appId,
        tid: sim.tenantId,
      };
      const jwt = await signJwtHs256({ ...claims, jti: newJti() }, sim.appSecret);
      const res = await fetch(`${sim.url}/auth/v2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth_token: jwt }),
      });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await exchange(1801), 400);
    assert.deepEqual(sim.refusals, ['lifetime']);
    assert.equal(await exchange(1800), 200);
  });

  it('delivers a threat again when it is found again, and devices as they register; 403 names the permission', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new CylanceSimulator({ clock: clock.now, records: 12, seed: 5, forbidden: ['devices'] });
    await sim.start();
    t.after(() => sim.stop());
    const first = await drain(sim, 'threats', { now: clock.now(), pageSize: 5 });
    assert.deepEqual([...first.ids].sort(), sim.expectedIds('threats').sort());
    clock.advance(5 * 60_000);
    const [again] = sim.addRecords('threats', 1, { seq: 3, from: clock.now() - 60_000 });
    const second = await drain(sim, 'threats', { now: clock.now(), checkpoint: first.checkpoint });
    assert.deepEqual(second.ids, [again]);
    const err = await drain(sim, 'devices', { now: clock.now() }).catch((e) => e);
    assert.equal(err.code, 'cylance_forbidden');
    assert.match(err.action, /Devices: Read/);
  });
});
