import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Batch, ReadContext } from '../core/source.ts';
import { silentLogger } from './log.ts';
import type { NotificationQueue, QueueMessage } from './object-notification.ts';
import { type QueueCheckpoint, readQueueMessages } from './queue-messages.ts';

/** A queue of `n` messages, received in order, that records deletes; no batch delete, no extension. */
function queue(n: number) {
  const left: QueueMessage[] = Array.from({ length: n }, (_, i) => ({
    id: `m${i}`,
    receipt: `r${i}`,
    body: `body ${i}`,
  }));
  const deleted: string[] = [];
  const q: NotificationQueue = {
    receive: async ({ max }) => left.splice(0, max),
    delete: async (receipt) => {
      deleted.push(receipt);
    },
  };
  return { q, deleted, left };
}

const ctx = (checkpoint?: QueueCheckpoint): ReadContext =>
  ({
    collector: 'c',
    stream: 's',
    settings: {},
    account: {},
    checkpoint,
    http: {} as never,
    window: { lookbackMs: 3_600_000 },
    signal: new AbortController().signal,
    log: silentLogger,
    now: Date.now,
    warn: () => {},
  }) as ReadContext;

async function drain(read: AsyncGenerator<Batch<QueueCheckpoint>>, commit = true) {
  const batches: Batch<QueueCheckpoint>[] = [];
  for await (const b of read) {
    batches.push(b);
    if (commit) await b.committed?.();
  }
  return batches;
}

describe('queue-message reader', () => {
  it('one batch per receive; deletes one by one after the commit when the queue has no batch delete', async () => {
    const { q, deleted } = queue(23);
    const read = readQueueMessages({ open: () => q, toEvent: (m) => ({ raw: m.body, id: m.id }) });
    const gen = read(ctx());
    const first = await gen.next();
    assert.equal(first.done, false);
    if (first.done) return;
    assert.equal(first.value.events.length, 10);
    assert.deepEqual(deleted, [], 'nothing deleted before the commit');
    await first.value.committed?.();
    assert.equal(deleted.length, 10);
    const rest = await drain(gen);
    assert.deepEqual(
      rest.map((b) => b.events.length),
      [10, 3],
    );
    assert.equal(deleted.length, 23);
  });

  it('messages in the committed checkpoint are deleted, not delivered again; the oldest ids are forgotten first', async () => {
    const a = queue(5);
    const read = readQueueMessages({
      open: () => a.q,
      toEvent: (m) => ({ raw: m.body, id: m.id }),
      maxDone: 3,
    });
    const [batch] = await drain(read(ctx()));
    assert.equal(batch.checkpoint.done?.length, 3, 'at most maxDone ids');
    // the same messages again (their deletes were lost): only the two forgotten ones are delivered
    const b = queue(5);
    const again = await drain(
      readQueueMessages({ open: () => b.q, toEvent: (m) => ({ raw: m.body, id: m.id }) })(
        ctx(batch.checkpoint),
      ),
    );
    assert.deepEqual(
      again.flatMap((x) => x.events.map((e) => e.id)),
      ['m0', 'm1'],
    );
    assert.equal(b.deleted.length, 5, 'all deleted');
  });
});
