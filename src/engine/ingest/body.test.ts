import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeLine, makeEnvelope } from '../../core/envelope.ts';
import { type BodyError, decodeBody, splitBody, splitJson, splitLines } from './body.ts';

const ctx = { source: 'webhook', stream: 'events', collector: 'c' };
const line = (raw: unknown) =>
  encodeLine(makeEnvelope(ctx, raw, 'id', undefined, '2026-01-01T00:00:00.000Z'));

describe('ingest bodies: splitting', () => {
  it('one JSON object is one record', () => {
    assert.deepEqual(splitJson('{"a":1}').records, [{ a: 1 }]);
  });

  it('a JSON array is its elements; primitives and nested arrays stay values', () => {
    const r = splitJson('[{"a":1}, "text", 3, [1,2], null]');
    assert.deepEqual(r.records, [{ a: 1 }, 'text', 3, [1, 2], null]);
    assert.deepEqual(splitJson('[]').records, []);
    assert.deepEqual(splitJson('[ ]').records, []);
  });

  it('NDJSON, stacked JSON on one line, and pretty-printed stacked JSON', () => {
    assert.deepEqual(splitJson('{"a":1}\n{"a":2}\r\n\n{"a":3}\n').records, [{ a: 1 }, { a: 2 }, { a: 3 }]);
    assert.deepEqual(splitJson('{"a":1} {"a":2}{"a":3}').records, [{ a: 1 }, { a: 2 }, { a: 3 }]);
    assert.deepEqual(splitJson('{\n  "a": {\n    "b": [1, 2]\n  }\n}\n{\n  "a": 2\n}').records, [
      { a: { b: [1, 2] } },
      { a: 2 },
    ]);
    assert.deepEqual(splitJson('[{"a":1}]\n[{"a":2},{"a":3}]').records, [{ a: 1 }, { a: 2 }, { a: 3 }]);
  });

  it('braces, brackets and escaped quotes inside strings do not split records', () => {
    const text = '{"m":"} { [ ] \\" \\\\"}{"m":"a\\\\\\"b}"}';
    assert.deepEqual(splitJson(text).records, [{ m: '} { [ ] " \\' }, { m: 'a\\"b}' }]);
  });

  it('what is not JSON becomes a dead letter with the reason; the rest is kept', () => {
    const r = splitJson('{"a":1}\nnot json at all\n{"a":2,}\n{"a":3}\n{"a":');
    assert.deepEqual(r.records, [{ a: 1 }, { a: 3 }]);
    assert.deepEqual(
      r.deadLetters.map((d) => d.raw),
      ['not json at all', '{"a":2,}', '{"a":'],
    );
    assert.match(r.deadLetters[0]!.reason, /^not valid JSON/);
    assert.match(r.deadLetters[2]!.reason, /^truncated JSON/);
  });

  it("keeps each record's exact text: the envelope carries the vendor's bytes (big integers too)", () => {
    const body = '{ "id" : 18446744073709551615, "n": 1.50 }\n[ {"x": 1e2} ,{"y":"é"} ]';
    const { records } = splitJson(body);
    assert.equal(records.length, 3);
    assert.match(line(records[0]), /"raw":\{ "id" : 18446744073709551615, "n": 1\.50 \}\}$/);
    assert.match(line(records[1]), /"raw":\{"x": 1e2\}\}$/);
    assert.match(line(records[2]), /"raw":\{"y":"é"\}\}$/);
  });

  it('raw lines: one string per non-blank line, CRLF handled, text kept as is', () => {
    assert.deepEqual(splitLines('a b\r\n\n  \nc\td\n'), ['a b', 'c\td']);
    assert.deepEqual(splitBody('2026-01-01 first\n2026-01-01 second', 'raw').records, [
      '2026-01-01 first',
      '2026-01-01 second',
    ]);
    assert.deepEqual(splitBody('{"a":1}', 'raw').records, ['{"a":1}'], 'raw keeps JSON lines as strings');
  });

  it('auto: JSON when the body starts with { or [ (after whitespace or a BOM), else lines', () => {
    assert.deepEqual(splitBody('\ufeff  {"a":1}', 'auto').records, [{ a: 1 }]);
    assert.deepEqual(splitBody('\n[1]', 'auto').records, [1]);
    assert.deepEqual(splitBody('<134>1 2026 host app - msg\nsecond', 'auto').records, [
      '<134>1 2026 host app - msg',
      'second',
    ]);
    assert.deepEqual(splitBody('', 'auto').records, []);
    assert.deepEqual(splitBody('   ', 'json'), { records: [], deadLetters: [] });
  });
});

describe('ingest bodies: decoding', () => {
  it('gunzips within the limit, passes identity through', async () => {
    const text = '{"a":1}\n'.repeat(1000);
    assert.equal((await decodeBody(gzipSync(text), 'gzip', 1 << 20)).toString(), text);
    assert.equal((await decodeBody(gzipSync(text), 'x-gzip', 1 << 20)).toString(), text);
    assert.equal((await decodeBody(Buffer.from(text), undefined, 1 << 20)).toString(), text);
    assert.equal((await decodeBody(Buffer.from(text), 'identity', 1 << 20)).toString(), text);
    const twoMembers = Buffer.concat([gzipSync('{"a":1}\n'), gzipSync('{"a":2}\n')]);
    assert.equal((await decodeBody(twoMembers, 'gzip', 1 << 20)).toString(), '{"a":1}\n{"a":2}\n');
  });

  it('refuses a decompressed body over the limit with 413, bad gzip with 400, other encodings with 415', async () => {
    const bomb = gzipSync(Buffer.alloc(5 << 20)); // 5 MB of zeros, ≈5 KB compressed
    await assert.rejects(decodeBody(bomb, 'gzip', 1 << 20), (e: BodyError) => {
      assert.equal(e.status, 413);
      assert.equal(e.code, 'decompressed_body_too_large');
      assert.match(e.message, /1 MB once decompressed/);
      return true;
    });
    await assert.rejects(decodeBody(Buffer.alloc(2 << 20), undefined, 1 << 20), { status: 413 });
    await assert.rejects(decodeBody(Buffer.from('not gzip'), 'gzip', 1 << 20), {
      status: 400,
      code: 'invalid_gzip',
    });
    await assert.rejects(decodeBody(Buffer.from('x'), 'br', 1 << 20), {
      status: 415,
      code: 'unsupported_encoding',
    });
  });
});
