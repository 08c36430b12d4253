import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { azureStorage, azureStorageFields } from '../../src/accounts/azure-storage.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import { ManualClock } from '../../src/sim/kit.ts';
import source from '../../src/sources/azure-vnet-flow-logs/index.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { AzureStorageRig, storageCollector } from '../support/azure-storage.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { crashingAt, MemoryDestination } from '../support/memory-destination.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Conformance of `azure-vnet-flow-logs` (append-aware object storage: its own suite) against Azurite, the real
 * Azure Storage emulator, through the official SDK, the real runner and store: PT1H.json block blobs built
 * as Network Watcher builds them (learn.microsoft.com/azure/network-watcher/nsg-flow-logs-read: a
 * `{"records":[` block, one record per block, `,`-prefixed after the first, and a closing `]}` block, the
 * blob growing by blocks committed before the closing one) with VNet flow-log records
 * (learn.microsoft.com/azure/network-watcher/vnet-flow-logs-overview, "Log format"); a grown blob read on
 * from its last record block; one event per flow tuple on request; a crash at every batch boundary; a bad
 * block as a dead letter; no write call.
 */

const fresh = tempDirs('tributary-azvnet');
const az = new AzureStorageRig();
const stores: SqliteStore[] = [];
before(() => az.start());
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await az.stop();
});

let n = 0;
const MAC = '00224871C205';

async function rig(settings: Record<string, unknown> = {}) {
  n++;
  const container = `flowlogs-${n}`;
  await az.blobs.getContainerClient(container).create();
  const store = await SqliteStore.open(fresh());
  stores.push(store);
  const parsed = source.settings.parse({ container, ...settings }) as unknown as Record<string, unknown>;
  const c = await storageCollector(az, {
    source,
    settings: parsed,
    streams: ['flows'],
    store,
    clock: new ManualClock(Date.parse('2026-12-06T12:30:00Z')),
    key: `vnet-${n}`,
  });
  return { container, ...c };
}

/** A VNet flow-log record of minute `m` with `tuples` flow tuples (vnet-flow-logs-overview, "Sample log record"). */
function record(hour: number, m: number, tuples: number) {
  const t0 = Date.UTC(2026, 11, 6, hour, m, 0);
  return {
    time: new Date(t0 + 59_000).toISOString().replace('Z', '0000Z'),
    flowLogVersion: 4,
    flowLogGUID: '66aa66aa-bb55-cc44-dd33-ee22ee22ee22',
    macAddress: MAC,
    category: 'FlowLogFlowEvent',
    flowLogResourceID:
      '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS2EUAP/FLOWLOGS/VNETFLOWLOG',
    targetResourceID:
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Network/virtualNetworks/myVNet',
    operationName: 'FlowLogFlowEvent',
    flowRecords: {
      flows: [
        {
          aclID: '00000000-1234-abcd-ef00-c1c2c3c4c5c6',
          flowGroups: [
            {
              rule: 'DefaultRule_AllowInternetOutBound',
              flowTuples: Array.from(
                { length: tuples },
                (_, i) =>
                  `${t0 + i * 1000},10.0.0.6,192.0.2.${i + 1},${23956 + i},443,6,O,B,NX,${i},${i * 100},${i},${i * 90}`,
              ),
            },
          ],
        },
      ],
    },
  };
}

const blockId = (i: number) => Buffer.from(String(i).padStart(6, '0')).toString('base64');

/** A PT1H.json blob of hour `hour` holding `records`, built block by block; `grow` adds more later. */
async function flowBlob(container: string, hour: number, records: object[]) {
  const name = `flowLogResourceID=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS2EUAP/FLOWLOGS/VNETFLOWLOG/y=2026/m=12/d=06/h=${String(hour).padStart(2, '0')}/m=00/macAddress=${MAC}/PT1H.json`;
  const blob = az.blobs.getContainerClient(container).getBlockBlobClient(name);
  const ids: string[] = [];
  let count = 0;
  let staged = 0;
  const stage = async (text: string) => {
    const id = blockId(++staged);
    await blob.stageBlock(id, text, Buffer.byteLength(text));
    return id;
  };
  const head = await stage('{"records":[');
  const foot = await stage(']}');
  const grow = async (more: object[]) => {
    for (const r of more) ids.push(await stage(`${count++ ? ',' : ''}${JSON.stringify(r)}`));
    await blob.commitBlockList([head, ...ids, foot]);
  };
  await grow(records);
  return { grow, name };
}

describe('conformance: azure-vnet-flow-logs (Azurite)', () => {
  it('reads each record block once, and a grown blob on from its last record block', async () => {
    const r = await rig();
    const h10 = await flowBlob(r.container, 10, [record(10, 0, 2), record(10, 1, 3)]);
    await flowBlob(r.container, 11, [record(11, 0, 1)]);
    const first = await r.run();
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.equal(r.dest.ids().length, 3);
    const raw = r.dest.events[0].raw as any;
    assert.equal(raw.category, 'FlowLogFlowEvent');
    assert.equal(r.dest.events[0].time, '2026-12-06T10:00:59.000Z');
    // The whole document is valid JSON, as Azure keeps it.
    const doc = await az.blobs
      .getContainerClient(r.container)
      .getBlockBlobClient(h10.name)
      .downloadToBuffer();
    assert.equal(JSON.parse(doc.toString()).records.length, 2);
    await h10.grow([record(10, 2, 1), record(10, 3, 2)]);
    assert.equal((await r.run()).status, 'succeeded');
    assert.equal(r.dest.ids().length, 5);
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.equal((await r.run()).status, 'succeeded');
    assert.equal(r.dest.ids().length, 5, 'nothing new, nothing repeated');
    assert.ok(
      az.ranges.some((x) => / bytes=[1-9]\d*-/.test(x)),
      'the grown blob was read on from a byte after its start',
    );
    assert.deepEqual(
      az.calls.filter((c) => !/^GET /.test(c)),
      [],
      'no write calls',
    );
  });

  it('expandTuples: one event per flow tuple, with its fields named and its own time', async () => {
    const r = await rig({ expandTuples: true });
    const b = await flowBlob(r.container, 9, [record(9, 0, 2), record(9, 1, 3)]);
    assert.equal((await r.run()).status, 'succeeded');
    assert.equal(r.dest.ids().length, 5);
    const t = r.dest.events.find((e) => (e.raw as any).destinationIp === '192.0.2.2')!;
    const raw = t.raw as any;
    assert.equal(raw.sourceIp, '10.0.0.6');
    assert.equal(raw.destinationPort, '443');
    assert.equal(raw.direction, 'O');
    assert.equal(raw.rule, 'DefaultRule_AllowInternetOutBound');
    assert.equal(raw.macAddress, MAC);
    assert.match(t.time, /^2026-12-06T09:0[01]:01\.000Z$/);
    await b.grow([record(9, 2, 4)]);
    assert.equal((await r.run()).status, 'succeeded');
    assert.equal(r.dest.ids().length, 9);
    assert.deepEqual(duplicates(r.dest.ids()), []);
  });

  it('a block that is not a JSON record becomes a dead letter; the others are delivered', async () => {
    const r = await rig();
    await flowBlob(r.container, 8, [record(8, 0, 1), { bad: true }]);
    const blob = az.blobs
      .getContainerClient(r.container)
      .getBlockBlobClient('flowLogResourceID=/x/y=2026/m=12/d=06/h=08/m=00/macAddress=AA/PT1H.json');
    const parts = ['{"records":[', '{"time":"2026-12-06T08:00:59Z"}', ',{not json', ']}'];
    for (let i = 0; i < parts.length; i++) await blob.stageBlock(blockId(i + 1), parts[i], parts[i].length);
    await blob.commitBlockList(parts.map((_, i) => blockId(i + 1)));
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(res.deadLetters, 1);
    assert.equal(r.dest.ids().length, 3);
  });

  it('a crash at every batch boundary loses nothing; duplicates only from the batch in flight', async () => {
    const fill = async (container: string) => {
      for (let h = 0; h < 5; h++) await flowBlob(container, h, [record(h, 0, 1), record(h, 1, 1)]);
    };
    const probe = await rig();
    await fill(probe.container);
    await probe.run();
    const expected = probe.dest.ids();
    const batches = probe.dest.batches.length;
    assert.ok(batches >= 4, `several batches (${batches})`);
    for (let k = 1; k <= batches; k++) {
      for (const written of [false, true]) {
        const r = await rig();
        await fill(r.container);
        const crash = new AbortController();
        const dest = new MemoryDestination();
        const crashing = crashingAt(k, written, dest, crash);
        assert.equal((await r.run({ signal: crash.signal }, [crashing])).status, 'cancelled');
        const second = await r.run({}, [crashing]);
        assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
        const ids = dest.ids();
        assert.equal(new Set(ids).size, expected.length, `crash at batch ${k}: no loss`);
        if (!written) assert.deepEqual(duplicates(ids), [], `crash at batch ${k} before the write`);
        else
          for (const d of duplicates(ids))
            assert.ok(crashing.inFlight().includes(d), `duplicate ${d} in flight`);
      }
    }
    assert.deepEqual(sorted(expected), sorted([...new Set(expected)]));
  });

  it('Test Connection lists the container, and names it when it is missing', async () => {
    const r = await rig();
    const account = azureStorageFields.parse(az.account());
    const ok = await testConnection(
      source,
      azureStorage,
      account,
      source.settings.parse({ container: r.container }),
    );
    assert.deepEqual(ok, { ok: true });
    const missing = await testConnection(
      source,
      azureStorage,
      account,
      source.settings.parse({ container: 'no-such-flows' }),
    );
    assert.ok(!missing.ok);
    assert.equal(missing.error.code, 'azure_container_not_found');
  });
});
