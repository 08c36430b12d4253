import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpResponse } from '../core/source.ts';
import { jsonLine } from './json-page.ts';
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

describe('jsonLine', () => {
  const accepts = (text: string) => {
    const b = Buffer.from(`xx${text}yy`, 'latin1'); // checked in the middle of a larger buffer
    return jsonLine(b, 2, b.length - 2);
  };
  const parses = (text: string) => {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  };

  it('agrees with JSON.parse on valid and invalid lines', () => {
    const valid = [
      '{}',
      '[]',
      '0',
      '-0',
      '1.5e+10',
      '-12.25E-3',
      '"a\\\\"',
      '"\\u00e9\\/"',
      'true',
      'false',
      'null',
      '{"a":1,"b":[1,2,{"c":null}],"d":"x"}',
      ' { "a" :\t[ ] , "b" : { } } ',
      '[[[[[]]]]]',
      '{"n":12345678901234567890}',
    ];
    const invalid = [
      '',
      '{',
      '}',
      '[1,]',
      '{"a":1,}',
      '{"a" 1}',
      '{a:1}',
      "{'a':1}",
      '01',
      '1.',
      '.5',
      '-',
      '1e',
      '+1',
      'tru',
      'nul',
      'falsey',
      '"a',
      '"\\x"',
      '"\\u12g4"',
      '{"a":1}}',
      '[1 2]',
      '{"a":1} {"b":2}',
      '{"a":1}x',
      '"\t"',
      '{"a":[}',
      '[{]}',
      '{,}',
      '[,1]',
      '1 2',
      '"\\u00\x10\x11"', // control characters where a \u escape wants hex digits
      '"\\u00\x1a0"',
      '"\\uABCG"',
      '"a\x7fb"', // DEL is allowed in a string
    ];
    for (const t of valid) assert.equal(accepts(t), true, t);
    for (const t of invalid) assert.equal(accepts(t), parses(t), t);
  });

  it('leaves lines with bytes beyond ASCII, line breaks or deep nesting to JSON.parse', () => {
    assert.equal(accepts('{"a":"\\u00e9"}'), true);
    assert.equal(jsonLine(Buffer.from('{"a":"é"}'), 0, Buffer.byteLength('{"a":"é"}')), false);
    assert.equal(accepts('{"a":\r1}'), false);
    assert.equal(accepts('{"a":\n1}'), false);
    assert.equal(accepts(`${'['.repeat(300)}${']'.repeat(300)}`), false);
    assert.equal(accepts(`${'['.repeat(256)}${']'.repeat(256)}`), true);
  });

  it('agrees with JSON.parse on 20,000 random mutations of valid records', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = '{}[]":,.-+eE0123456789 \ttruefalsnu\\/abx';
    const base = [
      '{"timestamp":1795000000000,"action":"ALLOW","httpRequest":{"clientIp":"198.51.0.1","args":"page=1"},"n":-1.5e3}',
      '[1,"two",{"three":[true,false,null]},"\\u0041\\n"]',
    ];
    let agreed = 0;
    for (let k = 0; k < 20_000; k++) {
      let t = base[rand(base.length)];
      for (let m = rand(3) + 1; m > 0; m--) {
        const at = rand(t.length + 1);
        const op = rand(3);
        const ch = alphabet[rand(alphabet.length)];
        t =
          op === 0
            ? t.slice(0, at) + ch + t.slice(at)
            : op === 1
              ? t.slice(0, at) + t.slice(at + 1)
              : t.slice(0, at) + ch + t.slice(at + 1);
      }
      const expected = parses(t) && !/[\r\n]/.test(t);
      assert.equal(accepts(t), expected, t);
      if (expected) agreed++;
    }
    assert.ok(agreed > 1000, `${agreed} valid mutations`); // both answers were exercised
  });
});
