import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import type { Batch } from '../core/source.ts';
import { Http } from './http.ts';
import { type Paginator, paginate, parseLinkHeader } from './paginate.ts';
import { restPoll } from './rest-poll.ts';

/** A small vendor with every pagination style over one list of items (ids i0…iN). */
let items = Array.from({ length: 25 }, (_, i) => ({
  id: `i${i}`,
  at: new Date(Date.UTC(2026, 10, 25, 10, 0, i)).toISOString(),
}));
const server = createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://x');
  const q = u.searchParams;
  const size = Number(q.get('limit') ?? 10);
  const json = (b: unknown, h: Record<string, string> = {}) =>
    res.writeHead(200, { 'content-type': 'application/json', ...h }).end(JSON.stringify(b));
  if (u.pathname === '/cursor') {
    const from = Number(q.get('cursor') ?? 0);
    const page = items.slice(from, from + size);
    return json({ data: page, meta: { next_cursor: from + size < items.length ? String(from + size) : '' } });
  }
  if (u.pathname.startsWith('/detail/')) {
    // Two parts per item: one in its own second, one a day later (outside any window of the test).
    const id = u.pathname.slice('/detail/'.length);
    const item = items.find((i) => i.id === id);
    if (!item) return res.writeHead(404).end();
    const later = new Date(Date.parse(item.at) + 86_400_000).toISOString();
    return json({
      id,
      parts: [
        { pid: `${id}.a`, at: item.at },
        { pid: `${id}.b`, at: later },
      ],
    });
  }
  if (u.pathname === '/offset')
    return json({ rows: items.slice(Number(q.get('offset') ?? 0), Number(q.get('offset') ?? 0) + size) });
  if (u.pathname === '/pages') {
    const p = Number(q.get('page') ?? 1);
    return json({ rows: items.slice((p - 1) * size, p * size) });
  }
  if (u.pathname === '/nexturl') {
    const from = Number(q.get('from') ?? 0);
    const more = from + size < items.length;
    return json({
      value: items.slice(from, from + size),
      '@odata.nextLink': more ? `/nexturl?from=${from + size}&limit=${size}` : undefined,
    });
  }
  res.writeHead(404).end();
});
let base = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

async function drain(
  path: string,
  pager: Paginator,
  records: (b: any) => unknown[],
  checkpoint?: unknown,
  query = { limit: 10 },
) {
  const stream = restPoll({
    title: 't',
    url: () => `${base}${path}`,
    params: () => query,
    records,
    paginate: pager,
    cursor: { kind: 'opaque', time: 'at' },
    eventId: (r) => r.id,
  });
  const http = new Http({ vendor: 'Fake', backoffBaseMs: 1 });
  const out: Batch[] = [];
  for await (const b of stream.read(readContext(http, { checkpoint, window: { lookbackMs: 0 } })))
    out.push(b);
  return { out, ids: out.flatMap((b) => b.events.map((e) => e.id)), last: out.at(-1)?.checkpoint };
}

const all = () => items.map((i) => i.id);

describe('pagination strategies', () => {
  it('cursor token in the body', async () => {
    const { ids, out } = await drain(
      '/cursor',
      paginate.cursor({ param: 'cursor', from: 'meta.next_cursor' }),
      (b) => b.data,
    );
    assert.deepEqual(ids, all());
    assert.equal(out.length, 3);
    assert.equal(out[0].events[0].time, items[0].at);
  });

  it('offset and limit', async () => {
    const { ids } = await drain('/offset', paginate.offset({ param: 'offset', size: 10 }), (b) => b.rows);
    assert.deepEqual(ids, all());
  });

  it('page numbers', async () => {
    const { ids } = await drain(
      '/pages',
      paginate.page({ param: 'page', first: 1, size: 10 }),
      (b) => b.rows,
    );
    assert.deepEqual(ids, all());
  });

  it('next URL in the body', async () => {
    const { ids } = await drain('/nexturl', paginate.nextUrl('@odata.nextLink'), (b) => b.value);
    assert.deepEqual(ids, all());
  });

  it('parses Link headers with several relations', () => {
    const links = parseLinkHeader('<https://a/x?after=1>; rel="next", <https://a/x>; rel="self"');
    assert.deepEqual(links, { next: 'https://a/x?after=1', self: 'https://a/x' });
  });
});

describe('opaque cursor', () => {
  it('stores the vendor position verbatim, and at the end re-asks the last page skipping what it delivered', async () => {
    const pager = paginate.cursor({ param: 'cursor', from: 'meta.next_cursor' });
    const first = await drain('/cursor', pager, (b) => b.data);
    assert.deepEqual((first.out[0].checkpoint as { next: unknown }).next, {
      url: `${base}/cursor`,
      query: { limit: 10, cursor: '10' },
    });
    assert.deepEqual((first.last as { seen: string[] }).seen, ['i20', 'i21', 'i22', 'i23', 'i24']);
    const idle = await drain('/cursor', pager, (b) => b.data, first.last);
    assert.deepEqual(idle.ids, [], 'nothing new');
    items = [
      ...items,
      ...Array.from({ length: 7 }, (_, i) => ({ id: `n${i}`, at: new Date().toISOString() })),
    ];
    const more = await drain('/cursor', pager, (b) => b.data, idle.last);
    assert.deepEqual(more.ids, ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'], 'only the new items, none again');
  });
});

describe('expand (N+1: a list, then a detail call per record)', () => {
  it("builds each listed record's events from its detail call, clipped to the window, and pages on the list", async () => {
    const details: string[] = [];
    const stream = restPoll<unknown, unknown>({
      title: 't',
      url: () => `${base}/cursor`,
      params: () => ({ limit: 10 }),
      records: (b) => b.data,
      paginate: paginate.cursor({ param: 'cursor', from: 'meta.next_cursor' }),
      cursor: { time: 'at', order: 'any', lag: '0s', clip: true },
      eventId: () => undefined,
      async expand(ctx, listed) {
        details.push(listed.id);
        const { body } = await ctx.http.getJson(`${base}/detail/${listed.id}`);
        return body.parts.map((p: { pid: string; at: string }) => ({ raw: p, id: p.pid, time: p.at }));
      },
    });
    const http = new Http({ vendor: 'Fake', backoffBaseMs: 1 });
    const start = Date.UTC(2026, 10, 25, 9, 0, 0);
    const ctx = readContext(http, {
      now: () => Date.UTC(2026, 10, 25, 11, 0, 0),
      window: { lookbackMs: 0, start: new Date(start).toISOString() },
    });
    const out: Batch[] = [];
    for await (const b of stream.read(ctx)) out.push(b);
    const ids = out.flatMap((b) => b.events.map((e) => e.id));
    assert.deepEqual(details, all(), 'one detail call per listed record');
    const inside = items.filter((i) => Date.parse(i.at) < ctx.now()).map((i) => `${i.id}.a`);
    assert.ok(inside.length >= 25);
    assert.deepEqual(ids, inside, 'parts outside the window are left to their own window');
    assert.equal(out[0].events[0].time, items[0].at);
    assert.equal(out.length, Math.ceil(items.length / 10), 'one batch per list page');
  });
});
