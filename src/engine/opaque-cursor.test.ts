import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import type { TributaryError } from '../core/errors.ts';
import type { Batch } from '../core/source.ts';
import { Http } from './http.ts';
import type { OpaqueCheckpoint } from './opaque-cursor.ts';
import { restPoll } from './rest-poll.ts';

/**
 * A vendor stream of positions: `GET /stream?pos=N&limit=L` answers the events after position N and the
 * position after them (always, also when there is nothing new), like Box's `next_stream_position`.
 * `repeatLast` sends the previous page's last event again at the head of the next page; positions below
 * `expiredBelow` are refused with 409 `{"error": "reset"}` (like Dropbox's `reset`); `?from=ISO` starts a
 * new cursor at the first event at or after that time.
 */
const T0 = Date.parse('2026-11-25T12:00:00.000Z');
let events: Array<{ id: string; at: string }> = [];
let repeatLast = false;
let expiredBelow = -1;
const asked: string[] = [];
const server = createServer((req, res) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  asked.push(q.toString());
  const limit = Number(q.get('limit') ?? 10);
  let pos: number;
  if (q.has('from')) {
    const from = Date.parse(q.get('from') ?? '');
    pos = events.findIndex((e) => Date.parse(e.at) >= from);
    if (pos < 0) pos = events.length;
  } else {
    pos = Number(q.get('pos') ?? 0);
    if (pos < expiredBelow) {
      res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'reset' }));
      return;
    }
  }
  const page = events.slice(pos, pos + limit);
  const entries = repeatLast && pos > 0 && page.length > 0 ? [events[pos - 1], ...page] : page;
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify({ entries, chunk_size: page.length, next: String(pos + page.length) }));
});
let base = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());
beforeEach(() => {
  events = Array.from({ length: 25 }, (_, i) => ({
    id: `e${i}`,
    at: new Date(T0 - 3_600_000 + i * 60_000).toISOString(),
  }));
  repeatLast = false;
  expiredBelow = -1;
  asked.length = 0;
});

const stream = (o: { repeats?: boolean; retention?: string } = {}) =>
  restPoll<unknown, unknown>({
    title: 'stream',
    url: () => `${base}/stream`,
    params: (_ctx, w) => ({ from: w.start.toISOString(), limit: 10 }),
    records: (b) => b.entries,
    paginate: {
      next: ({ request, body }) => ({ url: request.url, query: { pos: body.next, limit: 10 } }),
    },
    cursor: {
      kind: 'opaque',
      time: 'at',
      caughtUp: (b) => b.chunk_size < 10,
      repeats: o.repeats,
      expired: (err: TributaryError) => err.code === 'cursor_reset',
    },
    eventId: (e) => e.id,
    retention: o.retention,
  });

const http = () =>
  new Http({
    vendor: 'Fake',
    backoffBaseMs: 1,
    explain: ({ body }) => (body.includes('reset') ? { code: 'cursor_reset' } : undefined),
  });

async function drain(
  s: ReturnType<typeof stream>,
  o: { checkpoint?: OpaqueCheckpoint; now?: number; overlapMs?: number } = {},
) {
  const warnings: TributaryError[] = [];
  const out: Batch[] = [];
  const ctx = readContext(http(), {
    now: () => o.now ?? T0,
    checkpoint: o.checkpoint,
    window: { lookbackMs: 2 * 3_600_000, overlapMs: o.overlapMs },
    warn: (w) => warnings.push(w),
  });
  for await (const b of s.read(ctx)) out.push(b);
  const last = out.at(-1)?.checkpoint as OpaqueCheckpoint;
  return { out, ids: out.flatMap((b) => b.events.map((e) => e.id)), last, warnings };
}

describe('opaque cursor: the vendor position', () => {
  it('keeps the vendor’s newest position when it says it is caught up, and asks it next run', async () => {
    const first = await drain(stream());
    assert.deepEqual(
      first.ids,
      events.map((e) => e.id),
    );
    assert.deepEqual(first.last.next.query, { pos: '25', limit: 10 }, 'the position after the last event');
    assert.equal(first.last.last, events[24].at, 'the newest event time delivered');
    assert.equal(first.last.at, new Date(T0).toISOString());
    assert.equal(first.out.length, 3);
    const idle = await drain(stream(), { checkpoint: first.last });
    assert.deepEqual(idle.ids, []);
    assert.equal(asked.at(-1), 'pos=25&limit=10', 'the saved position, verbatim');
    events.push({ id: 'n0', at: new Date(T0).toISOString() });
    const more = await drain(stream(), { checkpoint: idle.last });
    assert.deepEqual(more.ids, ['n0']);
  });

  it('suppresses an event the vendor repeats on the next page, across a restart from the checkpoint too', async () => {
    repeatLast = true;
    const whole = await drain(stream({ repeats: true }));
    assert.deepEqual(
      whole.ids,
      events.map((e) => e.id),
      'each once',
    );
    // A crash after the first page: the next run starts from its checkpoint, which carries its ids.
    const firstPage = whole.out[0].checkpoint as OpaqueCheckpoint;
    assert.deepEqual(
      firstPage.seen,
      events.slice(0, 10).map((e) => e.id),
    );
    const resumed = await drain(stream({ repeats: true }), { checkpoint: firstPage });
    assert.deepEqual(
      resumed.ids,
      events.slice(10).map((e) => e.id),
      'e9, repeated at the head of the next page, is not delivered again',
    );
    const without = await drain(stream(), { checkpoint: { ...firstPage, seen: undefined } });
    assert.equal(without.ids[0], 'e9', 'without `repeats` the vendor’s repeat goes through');
  });

  it('warns when the saved position is older than the vendor keeps, and reads on from it', async () => {
    const first = await drain(stream({ retention: '14d' }));
    const later = T0 + 15 * 86_400_000;
    const res = await drain(stream({ retention: '14d' }), { checkpoint: first.last, now: later });
    assert.equal(res.warnings.length, 1);
    assert.equal(res.warnings[0].type, 'gap');
    assert.equal(res.warnings[0].code, 'cursor_beyond_retention');
    assert.match(res.warnings[0].message, new RegExp(new Date(T0).toISOString()));
    assert.equal(asked.at(-1), 'pos=25&limit=10');
    const fresh = await drain(stream({ retention: '14d' }), { checkpoint: first.last, now: T0 + 86_400_000 });
    assert.deepEqual(fresh.warnings, [], 'a position inside the retention is no gap');
  });

  it('starts a new cursor from the newest event delivered when the vendor refuses the saved one, with a gap warning', async () => {
    const first = await drain(stream());
    events.push(
      ...Array.from({ length: 5 }, (_, i) => ({
        id: `n${i}`,
        at: new Date(T0 + (i + 1) * 1000).toISOString(),
      })),
    );
    expiredBelow = 100; // every saved position is refused
    asked.length = 0;
    const res = await drain(stream(), { checkpoint: first.last, overlapMs: 0, now: T0 + 60_000 });
    assert.equal(res.warnings.length, 1);
    const w = res.warnings[0];
    assert.equal(w.type, 'gap');
    assert.equal(w.code, 'cursor_expired');
    assert.match(w.message, new RegExp(`reading starts again from ${events[24].at}`));
    assert.doesNotMatch(w.message, /no longer keeps/);
    assert.deepEqual(
      res.ids,
      ['e24', 'n0', 'n1', 'n2', 'n3', 'n4'],
      'from the newest event delivered (again, same id)',
    );
    assert.equal(asked.filter((a) => a.startsWith('from=')).length, 1, 'one new cursor');
  });

  it('names the range lost when the resumption point is older than the vendor keeps', async () => {
    const first = await drain(stream({ retention: '1h' }));
    expiredBelow = 100;
    const now = T0 + 2 * 3_600_000;
    const res = await drain(stream({ retention: '1h' }), { checkpoint: first.last, now, overlapMs: 0 });
    const w = res.warnings.find((x) => x.code === 'cursor_expired');
    assert.ok(w);
    assert.match(
      w.message,
      new RegExp(
        `no longer keeps events from ${events[24].at} to ${new Date(now - 3_600_000).toISOString()}`,
      ),
    );
  });

  it('does not loop when a fresh cursor is refused too: the run fails with the vendor’s error', async () => {
    const first = await drain(stream());
    expiredBelow = 100;
    const failing = restPoll<unknown, unknown>({
      title: 'always-expired',
      url: () => `${base}/stream`,
      params: () => ({ pos: '0', limit: 10 }),
      records: (b) => b.entries,
      paginate: { next: () => undefined },
      cursor: { kind: 'opaque', expired: () => true },
      eventId: (e) => e.id,
    });
    const ctx = readContext(http(), { checkpoint: first.last, warn: () => {} });
    await assert.rejects(
      (async () => {
        for await (const _ of failing.read(ctx));
      })(),
      (err: TributaryError) => err.code === 'cursor_reset',
    );
    assert.deepEqual(
      asked.slice(-2),
      ['pos=25&limit=10', 'pos=0&limit=10'],
      'the new cursor was asked for once',
    );
  });
});
