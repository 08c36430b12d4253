import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { azureEventHubs, azureEventHubsFields } from '../../src/accounts/azure-event-hubs.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import { sources } from '../../src/sources/index.ts';
import defender from '../../src/sources/microsoft-defender-xdr/index.ts';
import { consumerRig, hubSim, listenAccount, store, until } from '../support/event-hub-rig.ts';
import { duplicates } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';

/**
 * Conformance of `microsoft-defender-xdr` (the Streaming API to an event hub; a stream-consumer source with
 * its own suite): records shaped as learn.microsoft.com/defender-xdr/streaming-api-event-hub documents them
 * ("The schema of the events in Azure Event Hub"), sent to the AMQP Event Hubs simulator and read with the
 * official client through the stream consumer. The hub reader itself — crash, resume, gaps, cuts, bad
 * credentials — is covered by azure-event-hub.test.ts; here: the vendor facts (a stream per Advanced Hunting
 * table, the row's Timestamp as time, the table filter), Test Connection, and no write.
 */

const TENANT = '11111111-2222-3333-4444-555555555555';

/** One streamed event: rows of several tables, as Defender batches them. */
function streamed(i: number) {
  const at = (s: number) => `2026-12-07T05:0${i % 10}:${String(s).padStart(2, '0')}.1234567Z`;
  return {
    records: [
      {
        time: at(30),
        tenantId: TENANT,
        operationName: 'Publish',
        category: 'AdvancedHunting-DeviceProcessEvents',
        properties: {
          Timestamp: at(1),
          DeviceId: `d${i}`,
          DeviceName: `ws-${i}.contoso.com`,
          ActionType: 'ProcessCreated',
          FileName: 'powershell.exe',
          ProcessCommandLine: 'powershell.exe -NoProfile',
          MachineGroup: 'Workstations',
        },
      },
      {
        time: at(31),
        tenantId: TENANT,
        operationName: 'Publish',
        category: 'AdvancedHunting-EmailEvents',
        properties: {
          Timestamp: at(2),
          NetworkMessageId: `m-${i}`,
          SenderFromAddress: 'billing@fabrikam.example',
          RecipientEmailAddress: 'ap@contoso.com',
          DeliveryAction: 'Delivered',
        },
      },
      {
        time: at(32),
        tenantId: TENANT,
        operationName: 'Publish',
        category: 'AdvancedHunting-AlertInfo',
        properties: { Timestamp: at(3), AlertId: `da${i}`, Severity: 'High', Title: 'Suspicious PowerShell' },
      },
    ],
  };
}

describe('conformance: microsoft-defender-xdr (Streaming API via Event Hubs, AMQP simulator)', () => {
  it('is registered on the azure-event-hubs account, early access, no vendor writes', () => {
    assert.equal(sources['microsoft-defender-xdr'], defender);
    assert.equal(defender.account, 'azure-event-hubs');
    assert.equal(defender.stability, 'early-access');
    assert.equal(defender.family, 'queue');
    assert.equal(defender.vendorWrites, undefined);
  });

  it('one event per Advanced Hunting row, its stream the table, its time the row’s Timestamp; the table filter keeps only the tables named', async () => {
    const sim = await hubSim(2);
    for (let i = 0; i < 8; i++) sim.send('insights', [streamed(i)]);
    const s = await store('microsoft-defender-xdr');
    const dest = new MemoryDestination();
    const c = consumerRig(s, defender, listenAccount(sim), {}, 'advanced-hunting')([dest]);
    await until('every row', () => dest.ids().length === 24);
    c.stop();
    await c.done;
    assert.deepEqual(duplicates(dest.ids()), []);
    const byStream = (t: string) => dest.events.filter((e) => e.stream === t).length;
    assert.deepEqual(
      [byStream('DeviceProcessEvents'), byStream('EmailEvents'), byStream('AlertInfo')],
      [8, 8, 8],
    );
    const e = dest.events.find((x) => x.stream === 'EmailEvents' && x.id === '127.0.0.1/insights/0/0/1')!;
    const raw = JSON.parse(JSON.stringify(e.raw));
    assert.equal(raw.category, 'AdvancedHunting-EmailEvents');
    assert.equal(raw.properties.NetworkMessageId, 'm-0', 'the row as streamed');
    assert.equal(e.time, '2026-12-07T05:00:02.123Z', 'the row’s Timestamp');
    assert.equal(sim.stats.writes, 0);

    const s2 = await store('microsoft-defender-xdr');
    const only = new MemoryDestination();
    const f = consumerRig(
      s2,
      defender,
      listenAccount(sim),
      { tables: ['AlertInfo'] },
      'advanced-hunting',
    )([only]);
    await until('the alert rows, and every position committed', async () => {
      const parts = await s2.listPartitions('c-eh', 'advanced-hunting');
      return (
        only.ids().length === 8 &&
        parts.length === 2 &&
        parts.every((p) => (p.position as { sequenceNumber: number } | undefined)?.sequenceNumber === 3)
      );
    });
    f.stop();
    await f.done;
    assert.deepEqual(new Set(only.events.map((x) => x.stream)), new Set(['AlertInfo']));
  });

  it('Test Connection reads the hub’s properties with the Listen policy and names a missing right', async () => {
    const sim = await hubSim(2);
    const probe = (over: Record<string, unknown> = {}) =>
      testConnection(defender, azureEventHubs, azureEventHubsFields.parse(listenAccount(sim, over)), {}, [
        'advanced-hunting',
      ]);
    assert.deepEqual(await probe(), { ok: true });
    const bad = await probe({ connectionString: sim.connectionString({ policy: 'send' }) });
    assert.equal(!bad.ok && bad.error.code, 'event_hubs_unauthorized');
  });
});
