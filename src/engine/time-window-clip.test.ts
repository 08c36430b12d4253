import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import type { TributaryError } from '../core/errors.ts';
import type { Batch } from '../core/source.ts';
import { Http } from './http.ts';
import { paginate } from './paginate.ts';
import { restPoll } from './rest-poll.ts';
import type { TimeWindowCheckpoint } from './time-window.ts';

/**
 * A vendor that filters by whole UTC days (like Zoom's reports): `day` selects the records of that
 * date, pages of `size` follow a `token` that `expire()` invalidates. Records are listed in
 * `order` (desc by default), or shuffled within pages with `disorder`.
 */
const T0 = Date.parse('2026-11-25T12:00:00.000Z');
let records: Array<{ id: string; time: string }> = [];
let order: 'asc' | 'desc' = 'desc';
let disorder = false;
/** Tokens carry the generation that issued them; `expire()` makes every earlier one invalid. */
let generation = 0;
const expire = () => {
  generation++;
};
const requests: URLSearchParams[] = [];
const server = createServer((req, res) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  requests.push(q);
  const token = q.get('token');
  if (token && Number(token.split(':')[0]) < generation) {
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"message":"token expired"}');
    return;
  }
  const day = q.get('day');
  const size = Number(q.get('size') ?? 10);
  const list = records
    .filter((r) => r.time.slice(0, 10) === day)
    .sort((a, b) => (order === 'desc' ? b.time.localeCompare(a.time) : a.time.localeCompare(b.time)));
  const from = Number(token?.split(':')[1] ?? 0);
  const page = list.slice(from, from + size);
  if (disorder) page.reverse();
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(
      JSON.stringify({ data: page, next: from + size < list.length ? `${generation}:${from + size}` : '' }),
    );
});
let base = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const at = (ms: number, i: number) => ({ id: `e${i}`, time: new Date(ms).toISOString() });

function stream(o: { order: 'asc' | 'desc'; clip?: boolean }) {
  return restPoll({
    title: 't',
    url: () => `${base}/day`,
    params: (_ctx, w) => ({ day: w.start.toISOString().slice(0, 10), size: 10 }),
    records: (b) => b.data,
    paginate: paginate.cursor({ param: 'token', from: 'next' }),
    cursor: { time: 'time', lag: '0s', order: o.order, clip: o.clip ?? true, maxWindow: '1h' },
    eventId: (r) => r.id,
    cursorExpired: (err: TributaryError) => err.status === 400,
  });
}

async function read(
  s: ReturnType<typeof stream>,
  o: { now: number; checkpoint?: TimeWindowCheckpoint; stopAfter?: number; lookbackMs?: number },
) {
  const http = new Http({ vendor: 'Days', backoffBaseMs: 1 });
  const ctx = readContext(http, {
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: o.lookbackMs ?? 3 * 3_600_000, overlapMs: 1000 },
  });
  const out: Batch<TimeWindowCheckpoint>[] = [];
  for await (const b of s.read(ctx) as AsyncIterable<Batch<TimeWindowCheckpoint>>) {
    out.push(b);
    if (o.stopAfter !== undefined && out.length >= o.stopAfter) break;
  }
  return { ids: out.flatMap((b) => b.events.map((e) => e.id as string)), checkpoint: out.at(-1)?.checkpoint };
}

const dupes = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);

describe('time window: clip (vendors that filter by whole days)', () => {
  it('delivers only the window, each record once across runs that re-read the same day', async () => {
    order = 'desc';
    disorder = false;
    // 180 records over the 3 h before T0, one a minute apart.
    records = Array.from({ length: 180 }, (_, i) => at(T0 - 3 * 3_600_000 + i * 60_000 + 500, i));
    const s = stream({ order: 'desc' });
    const all: string[] = [];
    let checkpoint: TimeWindowCheckpoint | undefined;
    for (const now of [T0 - 2 * 3_600_000 - 1234, T0 - 3_600_000, T0 - 3_599_000, T0 - 61_000, T0]) {
      const r = await read(s, { now, checkpoint });
      all.push(...r.ids);
      checkpoint = r.checkpoint;
    }
    assert.deepEqual(dupes(all), []);
    assert.deepEqual(all.sort(), records.map((r) => r.id).sort());
  });

  it('newest first: stops paging at the first record older than the window', async () => {
    order = 'desc';
    disorder = false;
    records = Array.from({ length: 100 }, (_, i) => at(T0 - 100 * 60_000 + i * 60_000, i));
    const s = stream({ order: 'desc' });
    const first = await read(s, { now: T0 });
    requests.length = 0;
    // Ten minutes later with nothing new: the window is 10 min + overlap, one page of ten reaches past it.
    const again = await read(s, { now: T0 + 600_000, checkpoint: first.checkpoint });
    assert.deepEqual(again.ids, []);
    assert.equal(requests.length, 1, 'one page, not the whole day');
  });

  it('oldest first: stops paging at the first record at or after the window end', async () => {
    order = 'asc';
    disorder = false;
    records = Array.from({ length: 100 }, (_, i) => at(T0 - 100 * 60_000 + i * 60_000, i));
    const s = stream({ order: 'asc' });
    requests.length = 0;
    // A window ending 80 minutes before T0: 20 records inside, the page after them is never asked for.
    const r = await read(s, { now: T0 - 80 * 60_000, lookbackMs: 3_600_000 });
    assert.deepEqual(
      r.ids,
      records.slice(0, 20).map((x) => x.id),
    ); // the 21st sits exactly at the end
    assert.equal(requests.length, 3, 'the third page holds the first record past the window');
  });

  it('reads the whole day when the pages are not in the declared order, and still loses nothing', async () => {
    order = 'desc';
    disorder = true;
    records = Array.from({ length: 60 }, (_, i) => at(T0 - 60 * 60_000 + i * 60_000, i));
    const s = stream({ order: 'desc' });
    requests.length = 0;
    const r = await read(s, { now: T0, lookbackMs: 30 * 60_000 });
    assert.deepEqual(
      r.ids.sort(),
      records
        .filter((x) => Date.parse(x.time) >= T0 - 30 * 60_000 - 1000)
        .map((x) => x.id)
        .sort(),
    );
    assert.equal(requests.length, 6, 'every page of the day');
  });

  it('an expired page token saved by a crash re-reads the window from its first page without repeats', async () => {
    order = 'desc';
    disorder = false;
    records = Array.from({ length: 45 }, (_, i) => at(T0 - 50 * 60_000 + i * 60_000, i));
    const s = stream({ order: 'desc' });
    const first = await read(s, { now: T0, stopAfter: 2 });
    assert.ok(first.checkpoint?.next, 'mid-window: the next page token is committed');
    expire(); // the process was down longer than the vendor keeps page tokens
    requests.length = 0;
    const rest = await read(s, { now: T0, checkpoint: first.checkpoint });
    assert.ok(requests[0].get('token'), 'tried the saved token first');
    assert.equal(requests[1].get('token'), null, 'then the first page again');
    const ids = [...first.ids, ...rest.ids];
    assert.deepEqual(dupes(ids), []);
    assert.deepEqual(ids.sort(), records.map((r) => r.id).sort());
  });
});
