import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream } from '../../../test/support/drain.ts';
import { accountKinds } from '../../accounts/index.ts';
import { validateSettings } from '../../config/config-file.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import { TaxiiSimulator } from '../stix-taxii/simulator.ts';
import { patternEntity } from '../taxii.ts';
import source from './index.ts';

/** ThreatStream's TAXII server follows the TAXII standard: the stix-taxii simulator plays it (see index.ts). */
const T0 = '2026-12-01T12:00:00.000Z';

function read(
  sim: TaxiiSimulator,
  clock: ManualClock,
  settings: Record<string, unknown>,
  checkpoint?: unknown,
) {
  const checked = validateSettings('anomali', { discoveryUrl: `${sim.url}/taxii2/`, ...settings });
  assert.ok(checked.ok, JSON.stringify(checked));
  return drainStream(source, accountKinds.basic, 'indicators', {
    account: { username: sim.username, password: sim.password },
    settings: checked.settings,
    now: clock.now,
    checkpoint,
  });
}

describe('anomali', () => {
  it('auto discovery: IP and domain indicators only, as context records with a marker', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new TaxiiSimulator({ clock: clock.now, objects: 120, pageSize: 30 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await read(sim, clock, {});
    const expected = sim.indicatorIds().filter((id) => {
      const e = r.records.find((x) => x.id === id);
      return e !== undefined;
    });
    assert.ok(r.records.length > 0);
    assert.deepEqual(
      [...new Set(r.records.map((e) => e.context?.entity))].sort(),
      ['domain', 'ip'],
      'urls and hashes are not Anomali context here',
    );
    assert.equal(r.records.length, expected.length);
    assert.equal(r.markers.length, 1);
  });

  it('manual discovery reads the listed collections; domains only when asked', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new TaxiiSimulator({ clock: clock.now, objects: 60 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await read(sim, clock, {
      collectionDiscovery: 'manual',
      collections: [sim.collectionId],
      indicatorTypes: ['domain'],
    });
    assert.ok(r.records.length > 0);
    assert.ok(r.records.every((e) => patternEntity(e.raw) === 'domain'));
    const bad = validateSettings('anomali', {
      discoveryUrl: `${sim.url}/taxii2/`,
      collectionDiscovery: 'manual',
    });
    assert.ok(!bad.ok);
    assert.match(bad.issues.join(), /collections: required with manual collection discovery/);
  });

  it('Test Connection names the discovery URL setting on a 404 and never the API key', async (t) => {
    const sim = new TaxiiSimulator({});
    await sim.start();
    t.after(() => sim.stop());
    const ok = await testConnection(
      source,
      accountKinds.basic,
      { username: sim.username, password: sim.password },
      {
        discoveryUrl: `${sim.url}/taxii2/`,
      },
    );
    assert.deepEqual(ok, { ok: true });
    const nf = await testConnection(
      source,
      accountKinds.basic,
      { username: sim.username, password: sim.password },
      {
        discoveryUrl: `${sim.url}/nothing/`,
      },
    );
    assert.ok(!nf.ok);
    assert.equal(nf.error.code, 'taxii_not_found');
    assert.match(nf.error.action, /settings\.discoveryUrl/);
    const wrong = await testConnection(
      source,
      accountKinds.basic,
      { username: sim.username, password: 'ts-api-key-0000' },
      {
        discoveryUrl: `${sim.url}/taxii2/`,
      },
    );
    assert.ok(!wrong.ok);
    assert.ok(!JSON.stringify(wrong.error).includes('ts-api-key-0000'));
  });
});
