import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpResponse } from '../core/source.ts';
import { jsonObjects, readJson } from './json-stream.ts';

async function collect(chunks: string[]) {
  const out = [];
  async function* gen() {
    for (const c of chunks) yield new TextEncoder().encode(c);
  }
  for await (const item of jsonObjects(gen())) out.push(item);
  return out;
}

describe('jsonObjects', () => {
  it('reads JSONL split across chunks', async () => {
    const items = await collect(['{"a":1}\n{"b"', ':2}\n', '\n{"c":"x\\ny"}']);
    assert.deepEqual(
      items.map((i) => ('value' in i ? i.value : i)),
      [{ a: 1 }, { b: 2 }, { c: 'x\ny' }],
    );
  });

  it('reads concatenated JSON without newlines, braces inside strings included', async () => {
    const items = await collect(['{"a":"}{"}{"b":', '[1,{"c":2}]}', '{"d":"\\"}"}']);
    assert.deepEqual(
      items.map((i) => ('value' in i ? i.value : i)),
      [{ a: '}{' }, { b: [1, { c: 2 }] }, { d: '"}' }],
    );
  });

  it('reports a malformed line instead of dropping it, and goes on', async () => {
    const items = await collect(['{"ok":1}\n{"broken": \n{"ok":2}\n']);
    assert.equal(items.length, 3);
    assert.deepEqual('value' in items[0] && items[0].value, { ok: 1 });
    assert.ok('error' in items[1]);
    assert.deepEqual('value' in items[2] && items[2].value, { ok: 2 });
  });

  it('handles a very long run of concatenated objects in bounded pieces', async () => {
    const one = JSON.stringify({ event_id: 'x', pad: 'y'.repeat(1000) });
    const big = one.repeat(3000); // ~3 MB without a newline
    const chunks = [];
    for (let i = 0; i < big.length; i += 65536) chunks.push(big.slice(i, i + 65536));
    const items = await collect(chunks);
    assert.equal(items.length, 3000);
    assert.ok(items.every((i) => 'value' in i));
  });
});

describe('readJson', () => {
  const response = (status: number, text: string): HttpResponse => ({
    status,
    url: 'http://x/',
    headers: new Headers(),
    body: null,
    text: async () => text,
    json: async () => JSON.parse(text),
  });
  it('reads 204 No Content as null (no body to parse), and an empty 200 as a cut-off body', async () => {
    assert.equal(await readJson(response(204, '')), null);
    await assert.rejects(readJson(response(200, '')), { name: 'UnexpectedBodyError' });
    assert.deepEqual(await readJson(response(200, '{"a":1}')), { a: 1 });
  });
});
