import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  EventHubConsumerClient,
  EventHubProducerClient,
  type EventPosition,
  type ReceivedEventData,
} from '@azure/event-hubs';
import { EventHubAmqpSim } from './event-hub-amqp.ts';

/**
 * The AMQP Event Hubs simulator against the official client, unchanged: position filters, partition
 * properties, token expiry, the reader limit, management faults, and writes refused.
 */

const sims: EventHubAmqpSim[] = [];
const clients: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  for (const s of sims) await s.close();
});

async function sim(o: { clock?: () => number } = {}) {
  const s = await new EventHubAmqpSim({ hubs: { h: { partitions: 2 } }, ...o }).start();
  sims.push(s);
  return s;
}

function consumer(s: EventHubAmqpSim) {
  const c = new EventHubConsumerClient('$Default', s.connectionString(), 'h', {
    retryOptions: { maxRetries: 1, retryDelayInMs: 20 },
  });
  clients.push(c);
  return c;
}

/** The sequence numbers a receiver from `startPosition` gets first (up to `n`). */
async function receive(
  c: EventHubConsumerClient,
  startPosition: EventPosition,
  n: number,
): Promise<number[]> {
  const got: ReceivedEventData[] = [];
  await new Promise<void>((ok, fail) => {
    const sub = c.subscribe(
      '0',
      {
        processEvents: async (events) => {
          got.push(...events);
          if (got.length >= n) void sub.close().then(ok);
        },
        processError: async (err) => fail(err),
      },
      { startPosition, maxWaitTimeInSeconds: 1 },
    );
  });
  return got.slice(0, n).map((e) => e.sequenceNumber);
}

describe('EventHubAmqpSim with the official client', () => {
  it('serves offset, sequence-number and enqueued-time filters, inclusive and exclusive', async () => {
    let now = Date.parse('2026-12-07T05:00:00Z');
    const s = await sim({ clock: () => now });
    const sent = [];
    for (let i = 0; i < 6; i++) {
      sent.push(...s.send('h', [{ i }], '0'));
      now += 1000;
    }
    now = Date.now(); // tokens are signed with the real clock
    const c = consumer(s);
    assert.deepEqual(await receive(c, { sequenceNumber: 2 }, 2), [3, 4]);
    assert.deepEqual(await receive(c, { sequenceNumber: 2, isInclusive: true }, 2), [2, 3]);
    assert.deepEqual(await receive(c, { offset: String(sent[3]!.offset) }, 1), [4]);
    assert.deepEqual(await receive(c, { offset: String(sent[3]!.offset), isInclusive: true }, 1), [3]);
    assert.deepEqual(await receive(c, { enqueuedOn: Date.parse('2026-12-07T05:00:01Z') }, 1), [2]);
    assert.deepEqual(await receive(c, { offset: '-1' }, 1), [0], 'the start of the stream');
  });

  it('reads hub and partition properties over $management', async () => {
    const s = await sim();
    s.send('h', [{ a: 1 }, { a: 2 }, { a: 3 }], '1');
    const c = consumer(s);
    const hub = await c.getEventHubProperties();
    assert.deepEqual([hub.name, hub.partitionIds], ['h', ['0', '1']]);
    const p = await c.getPartitionProperties('1');
    assert.deepEqual(
      [p.partitionId, p.beginningSequenceNumber, p.lastEnqueuedSequenceNumber, p.isEmpty],
      ['1', 0, 2, false],
    );
    assert.equal((await c.getPartitionProperties('0')).isEmpty, true);
  });

  it('refuses an expired token, a sixth reader of a partition, and any write; retries past a busy answer', async () => {
    const late = await sim({ clock: () => Date.now() + 2 * 3600_000 }); // the client's tokens last 1 h
    await assert.rejects(consumer(late).getPartitionIds(), (err: AggregateError) =>
      /ExpiredToken/.test(String(err.errors?.at(-1)?.message)),
    );
    assert.ok(late.stats.refusedTokens >= 1);

    const s = await sim();
    s.failManagement(1);
    assert.deepEqual(await consumer(s).getPartitionIds(), ['0', '1'], 'ServerBusy retried by the client');
    assert.ok(s.stats.managementReads >= 2);

    // one client may subscribe to a partition once: five clients, then a sixth
    const subs = [];
    for (let i = 0; i < 5; i++)
      subs.push(
        consumer(s).subscribe(
          '0',
          { processEvents: async () => {}, processError: async () => {} },
          { maxWaitTimeInSeconds: 1 },
        ),
      );
    const deadline = Date.now() + 10_000;
    while (s.attached().length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.attached().length, 5);
    const sixth = await new Promise<Error>((ok) => {
      const sub = consumer(s).subscribe(
        '0',
        { processEvents: async () => {}, processError: async (err) => void sub.close().then(() => ok(err)) },
        { maxWaitTimeInSeconds: 1 },
      );
    });
    assert.equal((sixth as { code?: string }).code, 'QuotaExceededError');
    for (const sub of subs) await sub.close();

    const producer = new EventHubProducerClient(s.connectionString(), 'h', {
      retryOptions: { maxRetries: 0 },
    });
    clients.push(producer);
    await assert.rejects(producer.sendBatch([{ body: 'x' }]));
    assert.ok(s.stats.writes >= 1, 'the write was seen and refused');
    assert.equal(s.hub('h').all().length, 0);
  });
});
