import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { azureStorage, azureStorageFields } from '../../src/accounts/azure-storage.ts';
import type { Destination } from '../../src/core/destination.ts';
import type { RunOptions, runCollector } from '../../src/engine/runner.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import { ManualClock } from '../../src/sim/kit.ts';
import source from '../../src/sources/azure-storage-analytics/index.ts';
import { parseLogLine } from '../../src/sources/azure-storage-analytics/log-format.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { AzureStorageRig, storageCollector } from '../support/azure-storage.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { crashingAt, MemoryDestination } from '../support/memory-destination.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Conformance of `azure-storage-analytics` (a listing of log blobs: its own suite) against Azurite, the real
 * Azure Storage emulator, through the official SDK, the real runner, store and `azure-storage` account:
 * the exact entry set of log blobs named as Azure names them (`<service>/YYYY/MM/DD/hh00/<counter>.log`,
 * learn.microsoft.com/azure/storage/common/storage-analytics-logging, "Log naming conventions") with entries
 * in log formats 1.0 and 2.0 (learn.microsoft.com/rest/api/storageservices/storage-analytics-log-format);
 * hour folders read only after the lateness; a log written late into a folder not yet passed; a crash at
 * every batch boundary; 503 ServerBusy retried; no write call.
 */

const fresh = tempDirs('tributary-azsa');
const az = new AzureStorageRig();
const stores: SqliteStore[] = [];
before(() => az.start());
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await az.stop();
});

const T0 = Date.parse('2026-12-06T12:30:00.000Z');
let n = 0;

interface Rig {
  container: string;
  clock: ManualClock;
  dest: MemoryDestination;
  run(extra?: Partial<RunOptions>, destinations?: Destination[]): ReturnType<typeof runCollector>;
}

async function rig(container?: string): Promise<Rig> {
  n++;
  const name = container ?? `salogs-${n}`;
  await az.blobs.getContainerClient(name).createIfNotExists();
  const store = await SqliteStore.open(fresh());
  stores.push(store);
  const clock = new ManualClock(T0);
  const settings = source.settings.parse({ container: name }) as unknown as Record<string, unknown>;
  const c = await storageCollector(az, {
    source,
    settings,
    streams: ['blob', 'queue', 'table'],
    store,
    clock,
    key: `sa-${n}`,
  });
  return { container: name, clock, ...c };
}

/** One log entry, as the service writes it: quoted fields HTML-encoded. */
function entry(v: '1.0' | '2.0', service: string, hour: string, i: number): { line: string; id: string } {
  const request = `a1b2c3d4-${String(n).padStart(4, '0')}-4000-8000-${service.padEnd(4, 'x')}${hour}${String(i).padStart(4, '0')}`;
  const op = service === 'table' ? 'QueryEntities' : service === 'queue' ? 'GetMessages' : 'GetBlob';
  const v1 = [
    v,
    `2026-12-06T${hour.slice(0, 2)}:${String(i % 60).padStart(2, '0')}:12.3456789Z`,
    op,
    i % 5 ? 'Success' : 'AuthorizationFailure',
    i % 5 ? '200' : '403',
    '12',
    '10',
    v === '2.0' ? 'OAuth' : 'sas',
    'contoso',
    'contoso',
    service,
    `"https://contoso.${service}.core.windows.net/data/file${i}.json?sv=2023-11-03&amp;sig=XXXXX"`,
    `"/contoso/data/file${i}.json"`,
    request,
    '0',
    `198.51.100.${(i % 250) + 1}:50124`,
    '2023-11-03',
    '512',
    '0',
    '320',
    '4096',
    '0',
    '',
    '',
    '"0x8DC5D11F7E5B2C1"',
    'Friday, 06-Dec-26 09:00:00 GMT',
    '',
    `"Azure-Storage/12.34.0 (NODE-VERSION v24; Linux) &quot;tributary&quot;&#59; test"`,
    '',
    `"${request.slice(0, 8)}-client"`,
  ];
  const v2 =
    v === '2.0'
      ? [
          '7d3f1c2a-1111-4e0a-9c2b-0123456789ab',
          '72f988bf-86f1-41af-91ab-2d7cd011db47',
          '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
          'https://storage.azure.com/',
          'https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/',
          'kai@contoso.com',
          '',
          '"{&quot;action&quot;:&quot;Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read&quot;}"',
        ]
      : [];
  return { line: [...v1, ...v2].join(';'), id: `${request}:0` };
}

/** A log blob `<service>/2026/12/06/<hour>/<counter>.log` with `count` entries; returns their ids. */
async function putLog(
  r: Rig,
  service: string,
  hour: string,
  counter: number,
  count: number,
  v: '1.0' | '2.0',
) {
  const es = Array.from({ length: count }, (_, i) => entry(v, service, hour, counter * 100 + i));
  const body = `${es.map((e) => e.line).join('\n')}\n`;
  await az.blobs
    .getContainerClient(r.container)
    .getBlockBlobClient(`${service}/2026/12/06/${hour}/${String(counter).padStart(6, '0')}.log`)
    .upload(body, Buffer.byteLength(body));
  return es.map((e) => e.id);
}

/** Logs of 09:00, 10:00 (old enough at T0 = 12:30 with 60 minutes' lateness) and 11:00, 12:00 (not yet). */
async function fill(r: Rig) {
  const ready: string[] = [];
  const waiting: string[] = [];
  for (const service of ['blob', 'queue', 'table']) {
    const v = service === 'table' ? '1.0' : '2.0';
    ready.push(
      ...(await putLog(r, service, '0900', 0, 3, v)),
      ...(await putLog(r, service, '1000', 0, 2, v)),
    );
    ready.push(...(await putLog(r, service, '1000', 1, 2, '1.0')));
    waiting.push(
      ...(await putLog(r, service, '1100', 0, 2, v)),
      ...(await putLog(r, service, '1200', 0, 1, v)),
    );
  }
  return { ready, waiting };
}

describe('conformance: azure-storage-analytics (Azurite)', () => {
  it('decodes formats 1.0 and 2.0 into named fields, unquoting and HTML-decoding quoted fields', () => {
    const e2 = parseLogLine(entry('2.0', 'blob', '0900', 7).line);
    assert.equal(e2['version-number'], '2.0');
    assert.equal(e2['operation-type'], 'GetBlob');
    assert.equal(
      e2['request-url'],
      'https://contoso.blob.core.windows.net/data/file7.json?sv=2023-11-03&sig=XXXXX',
    );
    assert.equal(
      e2['user-agent-header'],
      'Azure-Storage/12.34.0 (NODE-VERSION v24; Linux) "tributary"; test',
    );
    assert.equal(e2['user-principal-name'], 'kai@contoso.com');
    assert.equal(
      e2['authorization-detail'],
      '{"action":"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}',
    );
    const e1 = parseLogLine(entry('1.0', 'table', '0900', 3).line);
    assert.equal(Object.keys(e1).length, 30);
    assert.equal(e1['requested-object-key'], '/contoso/data/file3.json');
    assert.throws(() => parseLogLine('3.0;x'), /unknown log version/);
    assert.throws(() => parseLogLine('1.0;a;b'), /30 fields, this line 3/);
    assert.throws(() => parseLogLine('1.0;"open'), /not closed/);
  });

  it('reads each service’s hour folders in order, only once their logs can no longer arrive, exactly once', async () => {
    const r = await rig();
    const { ready, waiting } = await fill(r);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(ready));
    const e = r.dest.events.find((x) => x.stream === 'blob') as any;
    assert.equal(e.raw['service-type'], 'blob');
    assert.match(e.time, /^2026-12-06T09:00:12\.345Z$/);
    // A log of 11:00 written late: still read, as 11:00 was not passed.
    const late = await putLog(r, 'blob', '1100', 1, 2, '2.0');
    r.clock.advance(2 * 3_600_000); // 14:30: 11:00 and 12:00 are complete
    assert.equal((await r.run()).status, 'succeeded');
    assert.deepEqual(sorted(r.dest.ids()), sorted([...ready, ...waiting, ...late]));
    assert.deepEqual(duplicates(r.dest.ids()), []);
    assert.deepEqual(
      az.calls.filter((c) => !/^GET /.test(c)),
      [],
      'no write calls',
    );
  });

  it('a bad line becomes a dead letter naming the blob and line; the rest is delivered', async () => {
    const r = await rig();
    const ids = await putLog(r, 'queue', '0900', 0, 2, '2.0');
    const body = `${entry('2.0', 'queue', '0900', 50).line}\n9.9;nonsense\n`;
    await az.blobs
      .getContainerClient(r.container)
      .getBlockBlobClient('queue/2026/12/06/0900/000001.log')
      .upload(body, body.length);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.equal(res.deadLetters, 1);
    assert.equal(r.dest.ids().length, ids.length + 1);
  });

  it('a crash at every batch boundary loses nothing; duplicates only from the batch in flight', async () => {
    const probe = await rig();
    await fill(probe);
    await probe.run();
    const batches = probe.dest.batches.length;
    assert.ok(batches >= 4, `several batches (${batches})`);
    for (let k = 1; k <= batches; k++) {
      for (const written of [false, true]) {
        const r = await rig();
        const { ready } = await fill(r);
        const crash = new AbortController();
        const dest = new MemoryDestination();
        const crashing = crashingAt(k, written, dest, crash);
        assert.equal((await r.run({ signal: crash.signal }, [crashing])).status, 'cancelled');
        const second = await r.run({}, [crashing]);
        assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
        const ids = dest.ids();
        assert.deepEqual(sorted([...new Set(ids)]), sorted(ready), `crash at batch ${k}: no loss`);
        if (!written) assert.deepEqual(duplicates(ids), [], `crash at batch ${k} before the write`);
        else
          for (const d of duplicates(ids))
            assert.ok(crashing.inFlight().includes(d), `duplicate ${d} in flight`);
      }
    }
  });

  it('retries 503 ServerBusy, and reads the real $logs container', async () => {
    const r = await rig('$logs');
    const { ready } = await fill(r);
    az.serverBusy(2);
    const res = await r.run();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(sorted(r.dest.ids()), sorted(ready));
  });

  it('Test Connection lists the container, and names Read and List when refused', async () => {
    await az.blobs.getContainerClient('$logs').createIfNotExists();
    const ok = await testConnection(
      source,
      azureStorage,
      azureStorageFields.parse(az.account()),
      source.settings.parse({ container: '$logs' }),
    );
    assert.deepEqual(ok, { ok: true });
    const missing = await testConnection(
      source,
      azureStorage,
      azureStorageFields.parse(az.account()),
      source.settings.parse({ container: 'no-such-container' }),
    );
    assert.ok(!missing.ok);
    assert.equal(missing.error.code, 'azure_container_not_found');
  });
});
