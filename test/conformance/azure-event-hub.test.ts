import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { azureEventHubs, azureEventHubsFields } from '../../src/accounts/azure-event-hubs.ts';
import { checkEventHub, eventHubReader, hubRecords } from '../../src/accounts/azure-event-hubs-reader.ts';
import type { Destination } from '../../src/core/destination.ts';
import { Http } from '../../src/engine/http.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import type { EventHubAmqpSim } from '../../src/sim/event-hub-amqp.ts';
import eventHub from '../../src/sources/azure-event-hub/index.ts';
import { sources } from '../../src/sources/index.ts';
import { listenAccount as account, consumerRig, hubSim, store, until } from '../support/event-hub-rig.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';

/**
 * Conformance of `azure-event-hub` (a stream-consumer source: its own suite, not the pull-source harness)
 * against the AMQP 1.0 Event Hubs simulator (src/sim/event-hub-amqp.ts) that the official `@azure/event-hubs`
 * client connects to unchanged — SAS tokens verified on CBS put-token, `$management` reads, receivers with
 * sequence-number filters — through the real stream consumer, store and `azure-event-hubs` account: every
 * partition delivered once, `{"records":[…]}` unwrapped, positions committed after delivery and resumed
 * after a restart, a hard kill during delivery repeating only the batch in flight, a connection cut
 * mid-stream losing and repeating nothing, retention gaps reported, bad credentials and unknown hubs or
 * consumer groups named, and no write. The exemptions of the pull-source harness do not apply: there are
 * no pages, time windows or HTTP answers (429, 5xx) — throttling is the client's ServerBusy retry.
 * Cluster hand-over of partitions is the stream consumer's (test/cluster/stream-consumer.test.ts).
 */

/** A diagnostic-settings event: `{"records":[…]}` (resource-logs-schema, "Top-level common schema"). */
function diagnostic(i: number, n = 2) {
  return {
    records: Array.from({ length: n }, (_, k) => ({
      time: `2026-12-07T04:${String(i % 60).padStart(2, '0')}:${String(k).padStart(2, '0')}.0000000Z`,
      resourceId: '/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV1',
      operationName: 'SecretGet',
      category: 'AuditEvent',
      resultType: 'Success',
      callerIpAddress: `10.0.0.${i % 250}`,
      properties: { id: `https://kv1.vault.azure.net/secrets/s${i}`, requestUri: `/secrets/s${i}` },
    })),
  };
}

/** The ids the hub's events make, unwrapped (two records each): the simulator's namespace is 127.0.0.1. */
const idsOf = (sim: EventHubAmqpSim, per = 2) =>
  sim
    .hub('insights')
    .all()
    .flatMap((e) =>
      Array.from({ length: per }, (_, k) => `127.0.0.1/insights/${e.partition}/${e.sequenceNumber}/${k}`),
    );

describe('conformance: azure-event-hub (AMQP simulator, official client)', () => {
  it('is registered as a queue source on the azure-event-hubs account, with no vendor writes', () => {
    assert.equal(sources['azure-event-hub'], eventHub);
    assert.equal(eventHub.family, 'queue');
    assert.equal(eventHub.account, 'azure-event-hubs');
    assert.equal(eventHub.vendorWrites, undefined);
    assert.ok(eventHub.streams.events?.consume, 'a long-running stream');
  });

  it('delivers every partition once, unwrapping records, commits {sequenceNumber, offset} after delivery, keeps consuming', async () => {
    const sim = await hubSim(3);
    for (let i = 0; i < 30; i++) sim.send('insights', [diagnostic(i)]);
    const s = await store();
    const start = consumerRig(s, eventHub, account(sim), {}, 'events');
    const dest = new MemoryDestination();
    const c = start([dest]);
    await until('the retained events', () => dest.ids().length === 60);
    for (let i = 30; i < 36; i++) sim.send('insights', [diagnostic(i)]);
    await until('events sent while it runs', () => dest.ids().length === 72);
    c.stop();
    await c.done;
    assert.deepEqual(sorted(dest.ids()), sorted(idsOf(sim)));
    assert.deepEqual(duplicates(dest.ids()), []);
    const e = dest.events.find((x) => x.id === '127.0.0.1/insights/1/3/1')!;
    const raw = JSON.parse(JSON.stringify(e.raw));
    assert.equal(raw.operationName, 'SecretGet', 'the record, not the wrapper');
    assert.equal(e.time, '2026-12-07T04:10:01.000Z', 'time = the record’s time');
    assert.equal(e.stream, 'events');
    const parts = await s.listPartitions('c-eh', 'events');
    assert.deepEqual(
      parts.map((p) => [p.partition, (p.position as { sequenceNumber: number }).sequenceNumber, p.owner]),
      [
        ['0', 11, undefined],
        ['1', 11, undefined],
        ['2', 11, undefined],
      ],
    );
    assert.match(
      (parts[0]!.position as { offset: string }).offset,
      /^\d+$/,
      'the offset, as Event Hubs gives it',
    );
    assert.equal(sim.stats.writes, 0, 'no write');
    assert.equal(sim.stats.refusedTokens, 0, 'every SAS token the client signed was accepted');
    assert.ok(sim.stats.putTokens >= 3, 'CBS put-token before each link');
    await until('receivers detached after the stop', () => sim.attached().length === 0);
    const [run] = await s.listRuns('c-eh');
    assert.equal(run!.status, 'succeeded');
    assert.equal(run!.events, 72);
  });

  it('resumes after a restart right after the committed sequence number (exclusive filter), and `latest` skips what is retained', async () => {
    const sim = await hubSim(2);
    sim.send(
      'insights',
      Array.from({ length: 10 }, (_, i) => diagnostic(i, 1)),
    );
    const s = await store();
    const start = consumerRig(s, eventHub, account(sim), {}, 'events');
    const dest = new MemoryDestination();
    let c = start([dest]);
    await until('the first events', () => dest.ids().length === 10);
    c.stop();
    await c.done;
    sim.send(
      'insights',
      Array.from({ length: 4 }, (_, i) => diagnostic(100 + i, 1)),
    );
    const before = sim.filters.length;
    c = start([dest]);
    await until('the new events', () => dest.ids().length === 14);
    c.stop();
    await c.done;
    assert.deepEqual(duplicates(dest.ids()), [], 'nothing read twice');
    assert.deepEqual(
      sim.filters.slice(before).sort(),
      ["amqp.annotation.x-opt-sequence-number > '4'", "amqp.annotation.x-opt-sequence-number > '4'"],
      'each partition from its committed sequence number',
    );

    // a new collector starting at the latest event reads only what is sent after it attached
    const s2 = await store();
    const late = consumerRig(s2, eventHub, account(sim), { startPosition: 'latest' }, 'events');
    const dest2 = new MemoryDestination();
    const l = late([dest2]);
    await until('both partitions attached', () => sim.attached().length === 2);
    sim.send('insights', [diagnostic(500, 1), diagnostic(501, 1)]);
    await until('the new events', () => dest2.ids().length === 2);
    l.stop();
    await l.done;
    assert.deepEqual(sorted(dest2.ids()), ['127.0.0.1/insights/0/7/0', '127.0.0.1/insights/1/7/0']);
  });

  it('`latest`: the start is committed before anything is read, so a kill before the first delivery loses nothing', async () => {
    const sim = await hubSim(2);
    sim.send('insights', [diagnostic(1, 1), diagnostic(2, 1)]); // retained before the collector starts: skipped
    const s = await store();
    const rig = consumerRig(s, eventHub, account(sim), { startPosition: 'latest' }, 'events');
    const down: Destination = {
      name: 'down',
      kind: 'memory',
      send: async () => {
        throw Object.assign(new Error('destination down'), { destination: true });
      },
      close: async () => {},
    };
    const first = rig([down], 'first');
    await until('the end of each partition committed', async () => {
      const parts = await s.listPartitions('c-eh', 'events');
      return parts.length === 2 && parts.every((p) => p.position !== undefined && p.position !== null);
    });
    sim.send('insights', [diagnostic(10, 1), diagnostic(11, 1)]); // arrive while the destination is down
    await until('the new events attempted', () => sim.attached().length === 2);
    first.kill();
    await first.done;
    const dest = new MemoryDestination();
    const next = rig([dest], 'second');
    await until('the events sent before the kill', () => dest.ids().length === 2, 20_000);
    next.stop();
    await next.done;
    assert.deepEqual(sorted(dest.ids()), ['127.0.0.1/insights/0/1/0', '127.0.0.1/insights/1/1/0']);
  });

  it('a hard kill during delivery: the next consumer repeats at most the batch in flight, loses nothing', async () => {
    for (const k of [1, 3]) {
      const sim = await hubSim(2);
      sim.send(
        'insights',
        Array.from({ length: 24 }, (_, i) => diagnostic(i, 1)),
      );
      const s = await store();
      const start = consumerRig(s, eventHub, account(sim), {}, 'events');
      const dest = new MemoryDestination();
      let inFlight: string[] = [];
      let sends = 0;
      let c: ReturnType<typeof start>;
      const crashing: Destination = {
        name: 'crashing',
        kind: 'memory',
        send: async (events) => {
          if (++sends === k) {
            await dest.send(events); // written, then the process dies before the commit
            inFlight = events.map((e) => e.id);
            c.kill();
            throw new Error('process killed');
          }
          return dest.send(events);
        },
        close: async () => {},
      };
      c = start([crashing], 'first');
      await c.done;
      const next = start([crashing], 'second');
      await until('a full drain', () => new Set(dest.ids()).size === 24, 30_000);
      next.stop();
      await next.done;
      assert.deepEqual(
        sorted([...new Set(dest.ids())]),
        sorted(idsOf(sim, 1)),
        `crash at batch ${k}: no loss`,
      );
      const dups = duplicates(dest.ids());
      assert.ok(dups.length > 0 && dups.length <= 7, `crash at batch ${k}: the batch in flight repeated`);
      for (const d of dups) assert.ok(inFlight.includes(d), `${d} was in flight`);
    }
  });

  it('a connection cut mid-stream: the client reconnects from the committed position; nothing lost or repeated', async () => {
    const sim = await hubSim(2);
    sim.send(
      'insights',
      Array.from({ length: 40 }, (_, i) => diagnostic(i, 1)),
    );
    const s = await store();
    const start = consumerRig(s, eventHub, account(sim), {}, 'events');
    const dest = new MemoryDestination();
    sim.dropAfter(9);
    const c = start([dest]);
    await until('a full drain after the cut', () => dest.ids().length >= 40, 30_000);
    c.stop();
    await c.done;
    assert.ok(sim.stats.connections >= 2, 'reconnected');
    assert.deepEqual(sorted(dest.ids()), sorted(idsOf(sim, 1)));
    assert.deepEqual(duplicates(dest.ids()), []);
  });

  it('a stop right after a network cut (the client reconnecting) ends within seconds', async () => {
    const sim = await hubSim(1);
    const s = await store();
    const c = consumerRig(s, eventHub, account(sim), {}, 'events')([new MemoryDestination()]);
    await until('the receiver attaching', () => sim.attached().length === 1);
    sim.disconnect();
    const at = Date.now();
    c.stop();
    let timer: NodeJS.Timeout | undefined;
    const res = await Promise.race([c.done, new Promise((ok) => (timer = setTimeout(ok, 15_000, 'stuck')))]);
    clearTimeout(timer);
    assert.notEqual(res, 'stuck', 'the consumer ended');
    assert.equal((res as { status: string }).status, 'succeeded');
    assert.ok(Date.now() - at < 12_000);
  });

  it('a position past the retention is a gap warning, and reading goes on from the earliest event kept', async () => {
    const sim = await hubSim(1);
    sim.send(
      'insights',
      Array.from({ length: 3 }, (_, i) => diagnostic(i, 1)),
    );
    const s = await store();
    const start = consumerRig(s, eventHub, account(sim), {}, 'events');
    const dest = new MemoryDestination();
    let c = start([dest]);
    await until('the first events', () => dest.ids().length === 3);
    c.stop();
    await c.done;
    sim.send(
      'insights',
      Array.from({ length: 6 }, (_, i) => diagnostic(10 + i, 1)),
    );
    sim.hub('insights').trim('0', 6); // 0-5 gone; 3-5 were never read
    c = start([dest]);
    await until('the events kept', () => dest.ids().length === 6);
    c.stop();
    await c.done;
    const errors = await s.listErrors('c-eh');
    assert.deepEqual(
      errors.map((e) => [e.type, e.code]),
      [['gap', 'partition_gap']],
    );
    assert.match(errors[0]!.message, /sequence numbers 3 to 5/);
  });

  it('events lost to the retention while the receiver is open are a gap warning too (every batch is checked)', async () => {
    const sim = await hubSim(1);
    sim.send(
      'insights',
      Array.from({ length: 3 }, (_, i) => diagnostic(i, 1)),
    );
    const s = await store();
    const start = consumerRig(s, eventHub, account(sim), {}, 'events');
    const dest = new MemoryDestination();
    const c = start([dest]);
    await until('the first events', () => dest.ids().length === 3);
    // 3 and 4 are enqueued and pass the retention before the open receiver gets them (a reader far behind):
    // the namespace goes on from the earliest event it keeps.
    sim.hub('insights').send([diagnostic(3, 1), diagnostic(4, 1)], '0');
    sim.hub('insights').trim('0', 5);
    sim.send('insights', [diagnostic(5, 1), diagnostic(6, 1)], '0');
    await until('the events after the gap', () => dest.ids().length === 5);
    c.stop();
    await c.done;
    assert.equal(sim.stats.attaches, 1, 'one receiver all along: the gap was found on an open subscription');
    const errors = await s.listErrors('c-eh');
    assert.deepEqual(
      errors.map((e) => [e.type, e.code]),
      [['gap', 'partition_gap']],
    );
    assert.match(errors[0]!.message, /sequence numbers 3 to 4/);
  });

  it('ids start with the fully qualified namespace: hubs of one name in two namespaces do not collide', () => {
    const e = {
      partition: '0',
      sequenceNumber: 7,
      offset: '1024',
      enqueuedTime: '2026-12-07T04:00:00.000Z',
      body: diagnostic(7, 2),
    };
    const ids = (namespace: string) =>
      hubRecords(e, { namespace, hub: 'insights' }, { unwrap: true }).map((r) => r.id);
    assert.deepEqual(ids('contoso.servicebus.windows.net'), [
      'contoso.servicebus.windows.net/insights/0/7/0',
      'contoso.servicebus.windows.net/insights/0/7/1',
    ]);
    const other = ids('fabrikam.servicebus.windows.net');
    assert.ok(
      other.every((id) => !ids('contoso.servicebus.windows.net').includes(id)),
      'distinct per namespace',
    );
    assert.deepEqual(
      hubRecords(e, { namespace: 'contoso.servicebus.windows.net', hub: 'insights' }, { unwrap: false }).map(
        (r) => r.id,
      ),
      ['contoso.servicebus.windows.net/insights/0/7'],
    );
  });

  it('a partition released while its receiver is being opened (the lease lost meanwhile) keeps no receiver', async () => {
    const sim = await hubSim(1);
    sim.send('insights', [diagnostic(1, 1)]);
    const parsed = azureEventHubsFields.parse(account(sim));
    const reader = eventHubReader({
      account: parsed,
      http: new Http({ vendor: 'Azure Event Hubs' }),
      start: 'earliest',
      toRecords: (ev, hub) => hubRecords(ev, hub, { unwrap: true }),
    });
    const signal = new AbortController().signal;
    try {
      const reading = reader.read('0', undefined, { max: 10, signal });
      // The consumer loses the lease while the read is still opening the client: the release finds no
      // receiver yet, so the read must not open one after it.
      await reader.release!('0');
      assert.deepEqual(await reading, { records: [], position: undefined });
      assert.deepEqual(reader.partitionsReading(), [], 'no subscription kept');
      // A later read (the partition owned again) opens one as usual.
      let got = 0;
      await until('the partition read again', async () => {
        got += (await reader.read('0', undefined, { max: 10, signal })).records.length;
        return got === 1;
      });
      assert.equal(sim.stats.attaches, 1, 'only the later read attached a receiver');
    } finally {
      await reader.close!();
    }
    await until('receivers detached', () => sim.attached().length === 0);
  });

  it('credentials refused, an unknown hub or consumer group: the consumer ends failed with a named error and no secret', async () => {
    const sim = await hubSim(2);
    sim.send('insights', [diagnostic(1, 1)]);
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [
        { connectionString: sim.connectionString({ policy: 'listen', key: 'd3Jvbmcta2V5' }) },
        'event_hubs_unauthorized',
        /connectionString/,
      ],
      [{ connectionString: sim.connectionString({ policy: 'send' }) }, 'event_hubs_unauthorized', /Listen/],
      [{ eventHubName: 'missing' }, 'event_hub_not_found', /eventHubName/],
      [{ consumerGroup: 'nobody' }, 'event_hub_not_found', /consumerGroup/],
    ];
    for (const [over, code, action] of cases) {
      const s = await store();
      const start = consumerRig(s, eventHub, account(sim, over), {}, 'events');
      const res = (await start([new MemoryDestination()]).done) as {
        status: string;
        error?: { code: string; action?: string; message: string; type: string };
      };
      assert.equal(res.status, 'failed', code);
      assert.equal(res.error?.code, code);
      assert.equal(res.error?.type, 'config');
      assert.match(res.error?.action ?? '', action);
      const text = JSON.stringify(res.error);
      for (const p of Object.values(sim.policies)) assert.ok(!text.includes(p.key), 'no key in the error');
      assert.ok(!text.includes('d3Jvbmcta2V5'));
    }
  });

  it('the connection string goes only to the account’s namespace: another origin is refused before the client connects', async () => {
    const sim = await hubSim(1);
    const s = await store();
    const start = consumerRig(s, eventHub, account(sim), {}, 'events', [
      'https://ns1.servicebus.windows.net:5671',
    ]);
    const res = await start([new MemoryDestination()]).done;
    assert.equal(res.status, 'failed');
    assert.equal(res.error?.code, 'credential_origin_refused');
    assert.equal(sim.stats.connections, 0, 'nothing sent');
  });

  it('Test Connection proves the credentials and Listen (management reads), and names what is wrong', async () => {
    const sim = await hubSim(2);
    const probe = (over: Record<string, unknown> = {}) =>
      testConnection(eventHub, azureEventHubs, azureEventHubsFields.parse(account(sim, over)), {}, [
        'events',
      ]);
    assert.deepEqual(await probe(), { ok: true });
    const reads = sim.stats.managementReads;
    assert.ok(reads >= 2, 'hub and partition properties read');
    const bad = await probe({ connectionString: sim.connectionString({ policy: 'send' }) });
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.error.code, 'event_hubs_unauthorized');
    const missing = await probe({ eventHubName: 'nope' });
    assert.equal(!missing.ok && missing.error.code, 'event_hub_not_found');
    const group = await probe({ consumerGroup: 'nobody' });
    assert.equal(!group.ok && group.error.code, 'event_hub_not_found', 'the consumer group, at the receiver');
    assert.match((!group.ok && group.error.action) || '', /consumerGroup/);
    assert.deepEqual(
      sim.filters,
      ["amqp.annotation.x-opt-offset > '@latest'"],
      'the good probe’s receiver, at the end of the stream (nothing received)',
    );
    assert.ok(sim.stats.refusedAttaches >= 1, 'the unknown consumer group refused at the attach');
    assert.equal(sim.stats.delivered, 0);
    await until('receivers detached', () => sim.attached().length === 0);
  });

  it('Test Connection answers within its close bound when the namespace goes silent before the detach and close', async () => {
    const sim = await hubSim(1);
    sim.freezeAfterAttach();
    const started = Date.now();
    // Without a bound the client waits its operation timeout (60 s) for the detach, then for the close.
    const res = await Promise.race([
      checkEventHub(azureEventHubsFields.parse(account(sim)), new Http({ vendor: 'Azure Event Hubs' }), {
        closeWithinMs: 300,
      }).then((r) => r.partitions),
      new Promise<string>((ok) => setTimeout(ok, 15_000, 'still closing after 15 s').unref()),
    ]);
    assert.deepEqual(res, ['0'], 'the check passed and returned');
    assert.ok(Date.now() - started < 10_000, `answered in ${Date.now() - started} ms`);
    assert.equal(sim.stats.attaches, 1, 'the receiver was attached before the namespace went silent');
  });

  it('the account names the field: no hub, a hub that contradicts EntityPath, a malformed connection string', () => {
    const cs = 'Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=abc=';
    const issue = (a: Record<string, unknown>) => {
      const r = azureEventHubsFields.safeParse(a);
      return r.success
        ? undefined
        : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    assert.match(issue({ connectionString: cs }) ?? '', /eventHubName: required/);
    assert.match(
      issue({ connectionString: `${cs};EntityPath=a`, eventHubName: 'b' }) ?? '',
      /eventHubName: expected a/,
    );
    assert.match(
      issue({ connectionString: 'hello', eventHubName: 'x' }) ?? '',
      /connectionString: expected a connection string/,
    );
    assert.ok(
      !(issue({ connectionString: 'hello', eventHubName: 'x' }) ?? '').includes('hello'),
      'the value is not echoed',
    );
    const ok = azureEventHubsFields.parse({ connectionString: `${cs};EntityPath=hub1` });
    assert.equal(ok.consumerGroup, '$Default');
    assert.deepEqual(azureEventHubs.origins!(ok), ['https://ns1.servicebus.windows.net:5671']);
    assert.deepEqual(azureEventHubs.secrets.sort(), ['clientSecret', 'connectionString', 'privateKey']);
  });
});

describe('azure-event-hub: two consumers of one collector (the stream consumer’s leases)', () => {
  it('split the partitions, each with its own receivers; a killed one’s partitions are taken over within a lease time, nothing lost', async () => {
    const sim = await hubSim(4);
    sim.send(
      'insights',
      Array.from({ length: 20 }, (_, i) => diagnostic(i, 1)),
    );
    const s = await store();
    const start = consumerRig(s, eventHub, account(sim), {}, 'events');
    const dest = new MemoryDestination();
    const a = start([dest], 'w1');
    await until('w1 reads every partition', () => sim.attached().length === 4);
    const b = start([dest], 'w2');
    await until('the partitions split 2 + 2', async () => {
      const owners = (await s.listPartitions('c-eh', 'events')).map((p) => p.owner);
      return owners.filter((o) => o === 'w1').length === 2 && owners.filter((o) => o === 'w2').length === 2;
    });
    await until('w1 detached the partitions it handed over', () => sim.attached().length === 4);
    assert.deepEqual(
      sim.attached(),
      ['insights/0', 'insights/1', 'insights/2', 'insights/3'],
      'one receiver per partition: the one handing over detached',
    );
    a.kill();
    await a.done;
    sim.send(
      'insights',
      Array.from({ length: 8 }, (_, i) => diagnostic(100 + i, 1)),
    );
    const killedAt = Date.now();
    await until('w2 owns every partition', async () =>
      (await s.listPartitions('c-eh', 'events')).every((p) => p.owner === 'w2'),
    );
    assert.ok(Date.now() - killedAt < 1500 * 3, 'taken over within about a lease time');
    await until('everything delivered', () => new Set(dest.ids()).size === 28);
    b.stop();
    await b.done;
    assert.deepEqual(sorted([...new Set(dest.ids())]), sorted(idsOf(sim, 1)));
  });
});
