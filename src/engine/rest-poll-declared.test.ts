import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import { configError, type TributaryError } from '../core/errors.ts';
import type { Batch, ReadContext } from '../core/source.ts';
import { Http } from './http.ts';
import { paginate } from './paginate.ts';
import { type RestPollDef, restPoll } from './rest-poll.ts';

/**
 * What a source declares to restPoll instead of writing its own loop: records split into events, a lag
 * from its settings, a least overlap, a shorter retention of part of the stream, an account check, and
 * offset-paged windows that settle.
 */

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const min = 60_000;

/** Newest first, `skip`/`top` offsets, `count` on every page; `shift` moves the list between pages. */
let rows: Array<{ id: string; at: string; events?: string[] }> = [];
let shifts = 0;
let shiftEvery = false;
/** The shifted record moves to the end of the window instead of out of it (a newer version, still inside). */
let shiftInside = false;
const requests: URLSearchParams[] = [];
const server = createServer((req, res) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  requests.push(q);
  const from = Date.parse(q.get('from') ?? '');
  const to = Date.parse(q.get('to') ?? '');
  const skip = Number(q.get('skip') ?? 0);
  const top = Number(q.get('top') ?? 10);
  const inside = rows
    .filter((r) => Date.parse(r.at) >= from && Date.parse(r.at) < to)
    .sort((a, b) => b.at.localeCompare(a.at));
  const page = inside.slice(skip, skip + top).map((r) => ({ ...r })); // as it was when asked
  const next =
    skip + top < inside.length
      ? `/list?${new URLSearchParams({ ...Object.fromEntries(q), skip: String(skip + top) })}`
      : undefined;
  // A record already read is updated out of the window: every later one moves up a place.
  if ((shifts > 0 || shiftEvery) && skip === 0 && next) {
    shifts--;
    const moved = inside[0];
    moved.at = new Date(shiftInside ? from + 1 : to + 3_600_000).toISOString();
  }
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify({ value: page, count: inside.length, next }));
});
let base = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

function def(over: Partial<RestPollDef> = {}): RestPollDef {
  return {
    title: 'list',
    url: () => `${base}/list`,
    params: (_ctx, w) => ({ from: w.start.toISOString(), to: w.end.toISOString(), top: 10 }),
    records: (b) => b.value,
    paginate: paginate.nextUrl('next'),
    cursor: { time: 'at', lag: '0s', order: 'desc' },
    eventId: (r) => r.id,
    ...over,
  };
}

async function read(d: RestPollDef, over: Partial<ReadContext> = {}) {
  const warnings: TributaryError[] = [];
  const ctx = readContext(new Http({ vendor: 'Fake', backoffBaseMs: 1 }), {
    now: () => T0,
    window: { lookbackMs: 60 * min },
    warn: (w) => warnings.push(w),
    ...over,
  });
  const out: Batch[] = [];
  for await (const b of restPoll(d).read(ctx)) out.push(b);
  return {
    out,
    warnings,
    ids: out.flatMap((b) => b.events.map((e) => e.id)),
    dead: out.flatMap((b) => b.deadLetters ?? []),
  };
}

const at = (ago: number) => new Date(T0 - ago * min).toISOString();

describe('restPoll: what a source declares instead of a loop', () => {
  it('split: one envelope per event of a record, each with its id and the record time; unsplittable records are dead letters with the declared reason', async () => {
    rows = [
      { id: 'a', at: at(5), events: ['login', 'logout'] },
      { id: '', at: at(4), events: ['x'] },
    ];
    const r = await read(
      def({
        eventId: undefined,
        split: (rec) =>
          rec.id
            ? rec.events.map((e: string, i: number) => ({
                id: `${rec.id}:${i}`,
                raw: { ...rec, events: [e] },
              }))
            : undefined,
        missingId: 'activity has no id',
      }),
    );
    assert.deepEqual(r.ids, ['a:0', 'a:1']);
    assert.deepEqual(
      r.out.flatMap((b) => b.events.map((e) => (e.raw as { events: string[] }).events)),
      [['login'], ['logout']],
    );
    assert.deepEqual(
      r.out.flatMap((b) => b.events.map((e) => e.time)),
      [at(5), at(5)],
    );
    assert.deepEqual(
      r.dead.map((d) => d.reason),
      ['activity has no id'],
    );
  });

  it('lagSetting wins over the collector lag, which wins over the cursor default', async () => {
    rows = [];
    requests.length = 0;
    await read(def({ cursor: { time: 'at', lag: '10m', order: 'desc' }, lagSetting: () => '3m' }), {
      window: { lookbackMs: 60 * min, lagMs: 20 * min },
    });
    assert.equal(requests[0].get('to'), at(3));
    requests.length = 0;
    await read(def({ cursor: { time: 'at', lag: '10m', order: 'desc' }, lagSetting: () => undefined }), {
      window: { lookbackMs: 60 * min, lagMs: 20 * min },
    });
    assert.equal(requests[0].get('to'), at(20));
  });

  it('minOverlap: a second of overlap whatever the collector sets', async () => {
    rows = [];
    requests.length = 0;
    const checkpoint = { since: at(30) };
    await read(def({ cursor: { time: 'at', lag: '0s', minOverlap: '1s' } }), {
      checkpoint,
      window: { lookbackMs: 60 * min, overlapMs: 0 },
    });
    assert.equal(requests[0].get('from'), new Date(T0 - 30 * min - 1000).toISOString());
  });

  it('partRetention: a saved position older than a part of the stream is kept warns for that part and reads on', async () => {
    rows = [{ id: 'old', at: at(60 * 24 * 9) }];
    const part = {
      what: 'Git events',
      retention: '7d',
      code: 'git_events_beyond_retention',
      action: 'Run daily.',
    };
    const r = await read(
      def({ cursor: { time: 'at', lag: '0s', order: 'asc' }, partRetention: () => part }),
      {
        checkpoint: { since: at(60 * 24 * 10) },
      },
    );
    assert.deepEqual(r.ids, ['old'], 'the rest of the stream is read from the saved position');
    assert.deepEqual(
      r.warnings.map((w) => [w.code, w.type]),
      [['git_events_beyond_retention', 'gap']],
    );
    assert.match(r.warnings[0].message, /Git events \(7d\)/);
  });

  it('check: a config error before the first request', async () => {
    requests.length = 0;
    await assert.rejects(
      read(
        def({
          check: () => {
            throw configError('no_scope', 'The account lacks a scope.', 'Add it.');
          },
        }),
      ),
      /lacks a scope/,
    );
    assert.equal(requests.length, 0);
  });

  describe('settle: offset pages that a change during paging shifts', () => {
    const many = () => Array.from({ length: 25 }, (_, i) => ({ id: `r${i}`, at: at(30 - i) }));
    const settled = def({
      cursor: { time: 'at', lag: '0s', order: 'any', overlap: '10m' },
      settle: {
        count: (b) => b.count,
        gapCode: 'window_unstable',
        record: () => 'record',
        action: 'Lower the interval.',
      },
    });

    it('without settle the neighbour of a record updated during paging is lost', async () => {
      rows = many();
      shifts = 1;
      const r = await read(def({ cursor: { time: 'at', lag: '0s', order: 'any' } }));
      assert.equal(new Set(r.ids).size, 24, 'one record is never returned');
    });

    it('reads the window again until a pass is complete: nothing lost, nothing repeated', async () => {
      rows = many();
      const expected = rows.map((r) => r.id);
      shifts = 1;
      const r = await read(settled);
      assert.deepEqual([...new Set(r.ids)].sort(), [...expected].sort());
      assert.equal(r.ids.length, new Set(r.ids).size, 'the second pass delivers only what the first missed');
      assert.deepEqual(r.warnings, []);
      // Mid-window checkpoints keep the window's first request, never an offset.
      const mid = r.out
        .slice(0, -1)
        .map((b) => (b.checkpoint as { next?: { query?: { skip?: unknown } } }).next);
      assert.ok(mid.every((n) => n && n.query?.skip === undefined));
      assert.equal((r.out.at(-1)!.checkpoint as { next?: unknown }).next, undefined);
    });

    it('a record moved to a later page counts once as two versions (identity), so the one it hid is read', async () => {
      const versioned = { eventId: (r: { id: string; at: string }) => `${r.id}@${r.at}` };
      rows = many();
      const expected = rows.map((r) => r.id);
      shifts = 1;
      shiftInside = true;
      try {
        const blind = await read({ ...settled, ...versioned });
        assert.equal(
          new Set(blind.ids.map((id) => id!.split('@')[0])).size,
          24,
          'without identity one is lost',
        );
        rows = many();
        shifts = 1;
        const r = await read({
          ...settled,
          ...versioned,
          settle: { ...settled.settle!, identity: (id) => id!.split('@')[0] },
        });
        assert.deepEqual([...new Set(r.ids.map((id) => id!.split('@')[0]))].sort(), [...expected].sort());
        assert.equal(r.ids.length, 26, 'every record once, plus the moved record’s new version');
        assert.deepEqual(r.warnings, []);
      } finally {
        shiftInside = false;
        shifts = 0;
      }
    });

    it('closes a window that never settles after maxPasses with the declared gap warning', async () => {
      rows = many();
      shiftEvery = true;
      try {
        const r = await read({ ...settled, settle: { ...settled.settle!, maxPasses: 3 } });
        assert.deepEqual(
          r.warnings.map((w) => [w.code, w.type]),
          [['window_unstable', 'gap']],
        );
        assert.equal((r.out.at(-1)!.checkpoint as { next?: unknown }).next, undefined);
      } finally {
        shiftEvery = false;
        shifts = 0;
      }
    });
  });
});
