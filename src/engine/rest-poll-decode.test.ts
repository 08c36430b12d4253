import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import type { Batch, HttpResponse } from '../core/source.ts';
import { Http } from './http.ts';
import { paginate } from './paginate.ts';
import { restPoll } from './rest-poll.ts';
import { xmlElements } from './xml-stream.ts';

/** An XML list: `<LIST><ITEM>…</ITEM>…<NEXT>url</NEXT></LIST>`, the first answer of page 2 cut off mid-body. */
const T = Date.now() - 30 * 60_000;
const items = Array.from({ length: 7 }, (_, i) => ({
  id: `x${i}`,
  at: new Date(T + i * 1000).toISOString(),
}));
let cut = 1;
let requests = 0;
const server = createServer((req, res) => {
  requests++;
  const url = new URL(req.url ?? '/', 'http://x');
  const page = Number(url.searchParams.get('page') ?? 0);
  const slice = items.slice(page * 4, page * 4 + 4);
  const next =
    page * 4 + 4 < items.length ? `<NEXT>http://${req.headers.host}/list?page=${page + 1}</NEXT>` : '';
  const body = `<LIST>${slice.map((i) => `<ITEM><ID>${i.id}</ID><AT>${i.at}</AT></ITEM>`).join('')}${next}</LIST>`;
  if (page === 1 && cut > 0) {
    cut--;
    res.writeHead(200, { 'content-type': 'text/xml', 'content-length': String(body.length) });
    res.write(body.slice(0, 20));
    setImmediate(() => res.destroy());
    return;
  }
  res.writeHead(200, { 'content-type': 'text/xml' }).end(body);
});
let base = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

async function decode(res: HttpResponse) {
  const records: unknown[] = [];
  let next: string | undefined;
  for await (const { name, value } of xmlElements(res.body as unknown as AsyncIterable<Uint8Array>, {
    select: ['ITEM', 'NEXT'],
  }))
    if (name === 'ITEM') records.push(value);
    else next = value as string;
  return { records, next };
}

describe('restPoll: decoded (non-JSON) answers', () => {
  it('reads XML pages through `decode` and asks a page cut off mid-body again', async () => {
    const stream = restPoll({
      title: 'xml',
      url: () => `${base}/list`,
      decode,
      records: (b) => b.records,
      paginate: paginate.nextUrl((b) => b.next),
      cursor: { time: 'AT', lag: '0s' },
      eventId: (r) => r.ID,
    });
    const http = new Http({ vendor: 'X', backoffBaseMs: 1 });
    const batches: Batch[] = [];
    for await (const b of stream.read(readContext(http, { window: { lookbackMs: 3_600_000, lagMs: 0 } })))
      batches.push(b);
    assert.deepEqual(
      batches.flatMap((b) => b.events.map((e) => e.id)),
      items.map((i) => i.id),
    );
    assert.equal(cut, 0, 'the cut answer was served');
    assert.equal(requests, 3, 'page 1, page 2 cut off, page 2 again');
  });
});
