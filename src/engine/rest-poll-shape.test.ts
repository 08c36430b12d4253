import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import { encodeLine, makeEnvelope, RawJson, RawJsonBytes } from '../core/envelope.ts';
import type { Batch } from '../core/source.ts';
import { Http } from './http.ts';
import { type Paginator, paginate } from './paginate.ts';
import { type RestPollDef, restPoll } from './rest-poll.ts';

/**
 * restPoll `shape`: a page scanned instead of parsed gives the same events, ids, times, dead letters,
 * checkpoints and envelope lines as the same page parsed with the equivalent `records` and `eventId`.
 */
const now = Date.now();
const at = (s: number) => new Date(now - 600_000 + s * 1000).toISOString();

/** Answers as a vendor writes them, odd ones included; each page links to the next. */
const PAGES: Array<string | Buffer> = [
  // compact, non-ASCII raw and escaped, every JSON type, large integers kept as written
  `[{"uuid":"a1","published":"${at(1)}","actor":{"displayName":"Zoë 日本 😀","uuid":"not-this"},"n":12345678901234567890,"f":-1.5e-3,"ok":true,"no":null},` +
    `{"published":"${at(2)}","uuid":"a\\/2\\u00e9","msg":"quote \\" backslash \\\\ line\\nbreak \\u2028"},` +
    `{"uuid":3,"published":${Date.parse(at(3))}},` +
    `{"published":"${at(4)}"},` +
    `7,"just a string",null,[1,2],` +
    `{"uuid":"a5","published":"${at(5)}","uuid":"a5-last"}]`,
  // pretty-printed: records span line breaks
  `[\n  {\n    "uuid": "b1",\n    "published": "${at(6)}"\n  },\n  {"uuid": "b2", "published": "${at(7)}"}\n]\n`,
  // invalid UTF-8: left to the usual decoding (U+FFFD), like every other client
  Buffer.concat([
    Buffer.from(`[{"uuid":"c1","published":"${at(8)}","x":"`),
    Buffer.from([0xff]),
    Buffer.from('"}]'),
  ]),
  // a time that is not top-level, an empty last page
  `[{"uuid":"d1","published":"${at(9)}","published.x":1}]`,
  '[]',
];

const asked: string[] = [];
const server = createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://x');
  const n = Number(u.searchParams.get('page') ?? 0);
  asked.push(`${u.pathname}?page=${n}`);
  if (u.pathname === '/gone' && n === 1) return res.writeHead(404).end('{"errorCode":"E0000007"}');
  if (u.pathname === '/hang' && n === 1) {
    req.on('close', () => asked.push('closed /hang?page=1')); // never answered: only the client ends it
    return;
  }
  const body = PAGES[n]!;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (u.pathname === '/wrapped') {
    const inner = typeof body === 'string' ? Buffer.from(body) : body;
    const more = n + 1 < PAGES.length;
    return res
      .writeHead(200, headers)
      .end(
        Buffer.concat([
          Buffer.from('{"total": 99, "items":'),
          inner,
          Buffer.from(`, "next": ${more ? `"${n + 1}"` : 'null'}}`),
        ]),
      );
  }
  if (n + 1 < PAGES.length)
    headers.link = `<http://${req.headers.host}${u.pathname}?page=${n + 1}>; rel="next"`;
  res.writeHead(200, headers).end(body);
});
let base = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

async function read(def: RestPollDef) {
  const http = new Http({ vendor: 'Fake', backoffBaseMs: 1 });
  const out: Batch[] = [];
  for await (const b of restPoll(def).read(readContext(http, { now: () => now }))) out.push(b);
  const ctx = { source: 's', stream: 't', collector: 'c' };
  return {
    batches: out,
    view: out.map((b) => ({
      events: b.events.map((e) => ({
        id: e.id,
        time: e.time,
        line: encodeLine(makeEnvelope(ctx, e.raw, e.id, e.time, '2026-01-01T00:00:00.000Z')),
      })),
      deadLetters: b.deadLetters?.map((d) => ({ reason: d.reason, raw: JSON.stringify(d.raw) })),
      checkpoint: b.checkpoint,
    })),
  };
}

function defs(path: string, pager: Paginator, records: string) {
  const common = {
    title: 't',
    url: () => `${base}${path}`,
    paginate: pager,
    cursor: { time: 'published', lag: '0s', order: 'asc' as const },
  };
  const scanned: RestPollDef = { ...common, shape: { records, id: 'uuid' } };
  const parsed: RestPollDef = {
    ...common,
    records: records === '' ? (b) => b : (b) => b[records],
    eventId: (r) =>
      typeof r?.uuid === 'string' ? r.uuid : typeof r?.uuid === 'number' ? String(r.uuid) : undefined,
  };
  return { scanned, parsed };
}

describe('restPoll shape: pages scanned instead of parsed', () => {
  it('gives what parsing gives, for a top-level array paged by Link headers', async () => {
    const { scanned, parsed } = defs('/list', paginate.linkHeader(), '');
    const a = await read(scanned);
    const b = await read(parsed);
    assert.deepEqual(a.view, b.view);
    const ids = a.view.flatMap((p) => p.events.map((e) => e.id));
    assert.deepEqual(ids, ['a1', 'a/2é', '3', 'a5-last', 'b1', 'b2', 'c1', 'd1']);
    assert.equal(a.view[0]!.deadLetters!.length, 5, 'no id: one without uuid, four that are not objects');
    // The scan was used: compact records as their bytes, pretty-printed ones as a text, the rest parsed.
    const raws = a.batches.map((p) => p.events.map((e) => e.raw));
    assert.ok(raws[0]!.every((r) => r instanceof RawJsonBytes));
    assert.ok(raws[1]![0] instanceof RawJson && !(raws[1]![0] instanceof RawJsonBytes), 'across lines');
    assert.ok(raws[1]![1] instanceof RawJsonBytes, 'on one line');
    assert.ok(!(raws[2]![0] instanceof RawJson), 'invalid UTF-8: parsed as before');
    assert.ok(b.batches.flat().every((p) => p.events.every((e) => !(e.raw instanceof RawJsonBytes))));
  });

  it('gives what parsing gives for records under a key, paged by a field of the answer', async () => {
    const pager = paginate.cursor({ param: 'page', from: 'next' });
    const { scanned, parsed } = defs('/wrapped', pager, 'items');
    const a = await read(scanned);
    const b = await read(parsed);
    assert.deepEqual(a.view, b.view);
    assert.equal(a.view.flatMap((p) => p.events).length, 8);
    assert.ok(a.batches[0]!.events.every((e) => e.raw instanceof RawJsonBytes));
  });

  it('asks for the next page while the page before is delivered, and fails where that page fails', async () => {
    const { scanned } = defs('/gone', paginate.linkHeader(), '');
    const http = new Http({ vendor: 'Fake', backoffBaseMs: 1 });
    asked.length = 0;
    const it = restPoll(scanned)
      .read(readContext(http, { now: () => now }))
      [Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value?.events.length, 4, 'the first page is delivered');
    const deadline = Date.now() + 5000;
    while (!asked.includes('/gone?page=1') && Date.now() < deadline)
      await new Promise((ok) => setImmediate(ok));
    assert.deepEqual(
      asked,
      ['/gone?page=0', '/gone?page=1'],
      'the second page was asked for before it was wanted',
    );
    await assert.rejects(it.next(), (err: Error & { code?: string }) =>
      /404|not found/i.test(`${err.message} ${err.code}`),
    );
  });

  it('cancels a next page asked for ahead when the reader stops', async () => {
    const { scanned } = defs('/hang', paginate.linkHeader(), '');
    const http = new Http({ vendor: 'Fake', backoffBaseMs: 1 });
    asked.length = 0;
    const it = restPoll(scanned)
      .read(readContext(http, { now: () => now }))
      [Symbol.asyncIterator]();
    assert.ok((await it.next()).value?.events.length);
    const until = async (what: string) => {
      const deadline = Date.now() + 5000;
      while (!asked.includes(what) && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 10));
    };
    await until('/hang?page=1'); // the second page is in flight, never answered
    await it.return?.(undefined); // the reader stops: that request is cancelled, nothing thrown or left open
    await until('closed /hang?page=1');
    assert.deepEqual(asked, ['/hang?page=0', '/hang?page=1', 'closed /hang?page=1']);
  });

  it('parses as before where the definition needs more than the scan gives', async () => {
    const { scanned } = defs('/list', { next: paginate.linkHeader().next }, '');
    const a = await read(scanned);
    assert.ok(
      a.batches.every((p) => p.events.every((e) => !(e.raw instanceof RawJsonBytes))),
      'a paginator that may read records',
    );
    const nested = await read({
      ...scanned,
      paginate: paginate.linkHeader(),
      cursor: { time: 'actor.when', lag: '0s' },
    });
    assert.ok(
      nested.batches.every((p) => p.events.every((e) => !(e.raw instanceof RawJsonBytes))),
      'a nested time',
    );
  });
});
