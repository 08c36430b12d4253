import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import type { Batch } from '../core/source.ts';
import { Http } from './http.ts';
import { type PageRequest, type ParamPlace, pageKey, paginate, queryParam } from './paginate.ts';
import { restPoll } from './rest-poll.ts';

/** A read-only POST query API: the time range and the cursor travel in a JSON body. */
const items = Array.from({ length: 23 }, (_, i) => ({
  id: `p${i}`,
  at: new Date(Date.now() - 30 * 60_000 + i * 1000).toISOString(),
}));
const seen: Array<{ method: string; type: string | undefined; body: any }> = [];
const server = createServer((req, res) => {
  let text = '';
  req.on('data', (c) => {
    text += c;
  });
  req.on('end', () => {
    const body = text ? JSON.parse(text) : undefined;
    seen.push({ method: req.method ?? '', type: req.headers['content-type'], body });
    if (req.method !== 'POST' || !body?.range) return res.writeHead(400).end('{"error":"bad query"}');
    const from = Number(body.after ?? 0);
    const inRange = items.filter((i) => i.at >= body.range.from && i.at < body.range.to);
    const page = inRange.slice(from, from + 10);
    const next = from + 10 < inRange.length ? String(from + 10) : null;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hits: page, next }));
  });
});
let base = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

/** The cursor lives in the JSON body's `after` field. */
const bodyCursor: ParamPlace = {
  get: (r) => (r.body ? JSON.parse(r.body).after : undefined),
  set: (r, v) => ({ ...r, body: JSON.stringify({ ...JSON.parse(r.body ?? '{}'), after: v }) }),
};

describe('restPoll: read-only POST queries', () => {
  it('sends each page as a JSON POST with its body, the cursor placed in the body', async () => {
    seen.length = 0;
    const stream = restPoll({
      title: 'search',
      method: 'POST',
      url: () => `${base}/search`,
      request: (_ctx, w) => ({
        url: `${base}/search`,
        body: JSON.stringify({ range: { from: w.start.toISOString(), to: w.end.toISOString() } }),
      }),
      records: (b) => b.hits,
      paginate: paginate.cursor({ place: bodyCursor, from: 'next' }),
      cursor: { time: 'at', lag: '0s' },
      eventId: (r) => r.id,
    });
    const http = new Http({ vendor: 'Fake', backoffBaseMs: 1 });
    const out: Batch[] = [];
    for await (const b of stream.read(readContext(http))) out.push(b);
    assert.deepEqual(
      out.flatMap((b) => b.events.map((e) => e.id)),
      items.map((i) => i.id),
    );
    assert.equal(seen.length, 3);
    assert.ok(seen.every((r) => r.method === 'POST' && r.type === 'application/json'));
    assert.deepEqual(
      seen.map((r) => r.body.after),
      [undefined, '10', '20'],
    );
  });

  it('waits the delayMs of a page request before sending it, and hands records the page request', async () => {
    seen.length = 0;
    const sent: number[] = [];
    const stream = restPoll({
      title: 'job',
      method: 'POST',
      url: () => `${base}/search`,
      request: (_ctx, w) => ({
        url: `${base}/search`,
        body: JSON.stringify({ range: { from: w.start.toISOString(), to: w.end.toISOString() } }),
      }),
      // What the first page said about every page (Snowflake's column names) travels in the state.
      records: (b, request) => b.hits.map((h: object) => ({ ...h, page: request?.state?.page ?? 0 })),
      paginate: {
        next: ({ body, request }) => {
          sent.push(Date.now());
          if (!body.next) return undefined;
          const page = Number(request.state?.page ?? 0) + 1;
          const q = { ...JSON.parse(request.body ?? '{}'), after: body.next };
          return { url: request.url, body: JSON.stringify(q), state: { page }, delayMs: 40 };
        },
      },
      cursor: { time: 'at', lag: '0s' },
      eventId: (r) => r.id,
    });
    const http = new Http({ vendor: 'Fake', backoffBaseMs: 1 });
    const out: Batch[] = [];
    for await (const b of stream.read(readContext(http))) out.push(b);
    const raws = out.flatMap((b) => b.events.map((e) => e.raw as { id: string; page: number }));
    assert.deepEqual(
      raws.map((r) => r.id),
      items.map((i) => i.id),
    );
    assert.deepEqual([...new Set(raws.map((r) => r.page))], [0, 1, 2]);
    assert.ok(sent[1] - sent[0] >= 35 && sent[2] - sent[1] >= 35, 'each later page waited its delay');
  });

  it('keeps the body in an opaque position, and the loop guard tells bodies apart', async () => {
    seen.length = 0;
    const stream = restPoll({
      title: 'search',
      method: 'POST',
      url: () => `${base}/search`,
      request: () => ({
        url: `${base}/search`,
        body: JSON.stringify({ range: { from: '2000-01-01T00:00:00Z', to: '2999-01-01T00:00:00Z' } }),
      }),
      records: (b) => b.hits,
      paginate: paginate.cursor({ place: bodyCursor, from: 'next' }),
      cursor: { kind: 'opaque', time: 'at' },
      eventId: (r) => r.id,
    });
    const http = new Http({ vendor: 'Fake', backoffBaseMs: 1 });
    const out: Batch[] = [];
    for await (const b of stream.read(readContext(http))) out.push(b);
    const first = out[0].checkpoint as { next: PageRequest };
    assert.equal(JSON.parse(first.next.body ?? '{}').after, '10');
    const a: PageRequest = { url: `${base}/search`, body: '{"after":"1"}' };
    assert.notEqual(pageKey(a), pageKey({ ...a, body: '{"after":"2"}' }));
    assert.equal(pageKey({ url: `${base}/x`, query: { b: 1, a: 2 } }), `${base}/x?a=2&b=1`);
  });

  it('queryParam places read and write the query; offsets and pages keep body and state', () => {
    const p = queryParam('offset');
    const r = p.set({ url: 'https://x/y', query: { limit: 5 }, body: '{}', state: { s: 1 } }, 10);
    assert.deepEqual(r, { url: 'https://x/y', query: { limit: 5, offset: 10 }, body: '{}', state: { s: 1 } });
    assert.equal(p.get(r), 10);
    const next = paginate
      .offset({ param: 'offset', size: 2, sizeParam: 'limit' })
      .next({ request: r, response: undefined as never, body: {}, records: [1, 2] });
    assert.deepEqual(next?.query, { limit: 2, offset: 12 });
    assert.equal(next?.body, '{}');
  });

  it('a job query: POST as a declared write, then GET polls numbered in state.poll, which the loop guard accepts', async () => {
    const polls = { n: 0 };
    const jobs = createServer((req, res) => {
      const reply = (o: unknown) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
      if (req.method === 'POST') return reply({ job: 'j1', done: false });
      // The same GET three times while the job runs, then its one page.
      if (++polls.n <= 4) return reply({ job: 'j1', done: false });
      return reply({ job: 'j1', done: true, hits: items.slice(0, 3) });
    });
    await new Promise<void>((ok) => jobs.listen(0, '127.0.0.1', ok));
    const root = `http://127.0.0.1:${(jobs.address() as AddressInfo).port}`;
    try {
      const stream = restPoll({
        title: 'jobs',
        method: 'POST',
        vendorWrite: 'starts a query job',
        url: () => `${root}/queries`,
        request: () => ({ url: `${root}/queries`, body: '{}' }),
        records: (b) => (b.done ? b.hits : []),
        paginate: {
          next: ({ body, request }) =>
            body.done
              ? undefined
              : {
                  url: `${root}/queries/${body.job}`,
                  method: 'GET',
                  state: { poll: Number(request.state?.poll ?? 0) + 1 },
                },
        },
        cursor: { time: 'at', lag: '0s' },
        eventId: (r) => r.id,
      });
      const writes: string[] = [];
      const http = new Http({
        vendor: 'Fake',
        backoffBaseMs: 1,
        log: {
          debug() {},
          info: (m: string, f?: Record<string, unknown>) => writes.push(`${m}: ${f?.reason}`),
          warn() {},
          error() {},
        },
      });
      const out: Batch[] = [];
      for await (const b of stream.read(readContext(http))) out.push(b);
      assert.deepEqual(
        out.flatMap((b) => b.events.map((e) => e.id)),
        ['p0', 'p1', 'p2'],
      );
      assert.equal(polls.n, 5, 'polled until the job was done, the same URL each time');
      assert.ok(writes.includes('vendor write: starts a query job'), 'the POST went as the declared write');
      const a: PageRequest = { url: `${root}/queries/j1`, state: { poll: 1 } };
      assert.notEqual(pageKey(a), pageKey({ ...a, state: { poll: 2 } }));
      assert.equal(
        pageKey({ url: `${root}/x`, state: { offset: 1 } }),
        pageKey({ url: `${root}/x`, state: { offset: 2 } }),
      );
    } finally {
      jobs.close();
    }
  });
});
