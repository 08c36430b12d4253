import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { azureEventHubs, azureEventHubsFields } from '../../src/accounts/azure-event-hubs.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import { sources } from '../../src/sources/index.ts';
import sentinel from '../../src/sources/microsoft-sentinel/index.ts';
import { consumerRig, hubSim, listenAccount, store, until } from '../support/event-hub-rig.ts';
import { duplicates } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';

/**
 * Conformance of `microsoft-sentinel` (a Log Analytics data export rule to an event hub; a stream-consumer
 * source with its own suite): exported rows of SecurityIncident and SecurityAlert (columns as in
 * learn.microsoft.com/azure/azure-monitor/reference/tables/securityincident and …/securityalert) in Azure
 * Monitor's `{"records":[…]}` body, read from the AMQP Event Hubs simulator with the official client. The hub
 * reader's own checks are in azure-event-hub.test.ts; here: a stream per `Type`, time `TimeGenerated`, the
 * table filter, a body that is not `{"records"}` kept whole, Test Connection, no write.
 */

function exported(i: number) {
  return {
    records: [
      {
        TenantId: '9f1c0000-0000-0000-0000-00000000abcd',
        TimeGenerated: `2026-12-07T05:1${i % 10}:00.0000000Z`,
        IncidentNumber: 100 + i,
        Title: 'Multistage attack involving credential access',
        Severity: 'High',
        Status: 'New',
        Type: 'SecurityIncident',
      },
      {
        TenantId: '9f1c0000-0000-0000-0000-00000000abcd',
        TimeGenerated: `2026-12-07T05:1${i % 10}:05.0000000Z`,
        SystemAlertId: `a-${i}`,
        AlertName: 'Suspicious sign-in',
        AlertSeverity: 'Medium',
        ProviderName: 'IPC',
        Type: 'SecurityAlert',
      },
    ],
  };
}

describe('conformance: microsoft-sentinel (data export via Event Hubs, AMQP simulator)', () => {
  it('is registered on the azure-event-hubs account, early access, no vendor writes', () => {
    assert.equal(sources['microsoft-sentinel'], sentinel);
    assert.equal(sentinel.account, 'azure-event-hubs');
    assert.equal(sentinel.stability, 'early-access');
    assert.equal(sentinel.vendorWrites, undefined);
  });

  it('one event per exported row in the stream of its Type, time TimeGenerated; the table filter; other bodies kept whole', async () => {
    const sim = await hubSim(3);
    for (let i = 0; i < 9; i++) sim.send('insights', [exported(i)]);
    sim.send('insights', ['not a records body'], '0');
    const s = await store('microsoft-sentinel');
    const dest = new MemoryDestination();
    const c = consumerRig(s, sentinel, listenAccount(sim), {}, 'exported-tables')([dest]);
    await until('every row', () => dest.ids().length === 19);
    c.stop();
    await c.done;
    assert.deepEqual(duplicates(dest.ids()), []);
    const count = (t: string) => dest.events.filter((e) => e.stream === t).length;
    assert.deepEqual(
      [count('SecurityIncident'), count('SecurityAlert'), count('exported-tables')],
      [9, 9, 1],
    );
    const inc = dest.events.find((e) => e.id === '127.0.0.1/insights/1/0/0')!;
    assert.equal(JSON.parse(JSON.stringify(inc.raw)).IncidentNumber, 101);
    assert.equal(inc.time, '2026-12-07T05:11:00.000Z');
    assert.equal(sim.stats.writes, 0);

    const s2 = await store('microsoft-sentinel');
    const only = new MemoryDestination();
    const f = consumerRig(
      s2,
      sentinel,
      listenAccount(sim),
      { tables: ['SecurityIncident'] },
      'exported-tables',
    )([only]);
    await until('the incidents', () => only.ids().length === 9);
    f.stop();
    await f.done;
    assert.deepEqual(new Set(only.events.map((e) => e.stream)), new Set(['SecurityIncident']));
  });

  it('Test Connection proves the Listen policy and names an unknown hub', async () => {
    const sim = await hubSim(1);
    const probe = (over: Record<string, unknown> = {}) =>
      testConnection(sentinel, azureEventHubs, azureEventHubsFields.parse(listenAccount(sim, over)), {}, [
        'exported-tables',
      ]);
    assert.deepEqual(await probe(), { ok: true });
    const missing = await probe({ eventHubName: 'am-SecurityIncident' });
    assert.equal(!missing.ok && missing.error.code, 'event_hub_not_found');
  });
});
