import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeLine, makeEnvelope } from '../../core/envelope.ts';
import {
  type BodyError,
  BodySplitter,
  decodeBody,
  decodedChunks,
  OVERSIZED_KEPT_CHARS,
  type SplitLimits,
  splitBody,
  splitChunks,
  splitJson,
  splitLines,
} from './body.ts';

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

/** Splits `text` fed in pieces cut at `cuts`, as the streaming path does. */
function splitInPieces(text: string, format: 'auto' | 'json' | 'raw', cuts: number[], limits?: SplitLimits) {
  const records: unknown[] = [];
  const s = new BodySplitter(format, limits ?? { maxRecords: 1e9, maxDepth: 1e9, maxRecordChars: 1e9 }, (r) =>
    records.push(r),
  );
  let at = 0;
  for (const c of [...cuts, text.length]) {
    s.push(text.slice(at, c));
    at = c;
  }
  s.end();
  return { records, deadLetters: s.deadLetters };
}

describe('ingest bodies: streaming', () => {
  it('any cut into pieces splits the same as the whole text', () => {
    const bodies: Array<[string, 'auto' | 'json' | 'raw']> = [
      [
        '{"a":1} {"m":"} { [ ] \\" \\\\"}\n[{"x":[1,{"y":2}]}, "t", 3 ,null]\nnot json\n{"a":2,}\n{"z":',
        'json',
      ],
      ['\ufeff  \n  first line\r\nsecond\n\n third', 'auto'],
      ['  \n\t[1,2,[3]] {"b":"é"}', 'auto'],
      ['a\nb\r\n\nc', 'raw'],
    ];
    for (const [text, format] of bodies) {
      const whole = splitBody(text, format);
      for (let a = 0; a <= text.length; a++)
        for (let b = a; b <= text.length; b += 3) {
          const got = splitInPieces(text, format, [a, b]);
          assert.deepEqual(got, whole, `${JSON.stringify(text)} cut at ${a}, ${b}`);
        }
    }
  });

  it('a broken array element is a dead letter; its neighbours are accepted', () => {
    const r = splitJson('[{"a":1}, {"a":2,}, 3, , 4,]');
    assert.deepEqual(r.records, [{ a: 1 }, 3, 4]);
    assert.deepEqual(
      r.deadLetters.map((d) => d.raw),
      ['{"a":2,}', '', ''],
    );
    assert.match(r.deadLetters[1]!.reason, /empty array element/);
  });

  it('a record nested deeper than maxDepth is a dead letter, not parsed; the rest is accepted', () => {
    const limits = { maxRecords: 100, maxDepth: 3, maxRecordChars: 1e6 };
    const ok = '{"a":{"b":[1]}}';
    const deep = '{"a":{"b":[[1]]}}';
    const r = splitBody(`${ok}\n${deep}\n[${ok}, ${deep}]`, 'json', limits);
    assert.deepEqual(r.records, [{ a: { b: [1] } }, { a: { b: [1] } }]);
    assert.deepEqual(
      r.deadLetters.map((d) => [d.raw, d.reason]),
      [
        [deep, 'nested deeper than 3 levels (maxDepth)'],
        [deep, 'nested deeper than 3 levels (maxDepth)'],
      ],
    );
    // The body is that one record: refused whole (400), with or without an array around it.
    for (const body of [deep, `[${deep}]`, '['.repeat(100_000) + ']'.repeat(100_000)])
      assert.throws(
        () => splitBody(body, 'auto', limits),
        (e: BodyError) => e.status === 400 && e.code === 'too_deeply_nested' && /3 levels/.test(e.message),
      );
  });

  it('a record longer than maxRecordChars is a dead letter keeping its start; alone, the body is refused (413)', () => {
    const limits = { maxRecords: 100, maxDepth: 64, maxRecordChars: 100_000 };
    const big = `{"pad":"${'x'.repeat(200_000)}"}`;
    const r = splitInPieces(`{"a":1}\n${big}\n{"a":2}`, 'json', [5, 50_000, 150_000, 190_000], limits);
    assert.deepEqual(r.records, [{ a: 1 }, { a: 2 }]);
    assert.equal(r.deadLetters.length, 1);
    assert.equal(r.deadLetters[0]!.raw, big.slice(0, OVERSIZED_KEPT_CHARS));
    assert.match(r.deadLetters[0]!.reason, /record too large: 200010 characters, over the limit of 100000/);
    const line = 'y'.repeat(300_000);
    const raw = splitInPieces(`short\n${line}\nshort`, 'raw', [3, 100_000, 200_000], limits);
    assert.deepEqual(raw.records, ['short', 'short']);
    assert.equal((raw.deadLetters[0]!.raw as string).length, OVERSIZED_KEPT_CHARS);
    assert.throws(
      () => splitInPieces(line, 'auto', [1000, 200_000], limits),
      (e: BodyError) => e.status === 413 && e.code === 'record_too_large',
    );
    // A record over the limit but shorter than 64 K is kept whole, wherever the pieces were cut
    // (it used to keep only what had arrived when the limit was crossed).
    const small = { maxRecords: 100, maxDepth: 64, maxRecordChars: 100 };
    const record = `{"pad":"${'z'.repeat(300)}"}`;
    for (const cuts of [[], [50], [120], [10, 110, 250]]) {
      const r = splitInPieces(`${record}\n{"a":1}`, 'json', cuts, small);
      assert.equal(r.deadLetters[0]!.raw, record, `cut at ${cuts}`);
    }
  });

  it('more than maxRecords records and dead letters: 413 at once, before the rest is read', () => {
    const limits = { maxRecords: 3, maxDepth: 64, maxRecordChars: 1e6 };
    assert.equal(splitBody('1\n2\nx', 'json', limits).records.length, 2, 'three in all is within the cap');
    let seen = 0;
    const s = new BodySplitter('raw', limits, () => seen++);
    assert.throws(
      () => s.push('a\nb\nc\nd\n'),
      (e: BodyError) =>
        e.status === 413 && e.code === 'too_many_records' && /at most 3 records/.test(e.message),
    );
    assert.equal(seen, 3);
    assert.throws(() => splitBody('1\nx\ny\nz', 'json', limits), { code: 'too_many_records' });
  });

  it('splitChunks: decodes UTF-8 split across chunks and yields to the event loop between pieces', async () => {
    const text = `${'{"s":"é€😀"}\n'.repeat(5000)}`;
    const bytes = Buffer.from(text);
    const chunks = (async function* () {
      for (let at = 0; at < bytes.length; at += 7) yield bytes.subarray(at, at + 7);
    })();
    const records: unknown[] = [];
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    await splitChunks(
      chunks,
      new BodySplitter('json', { maxRecords: 1e6, maxDepth: 64, maxRecordChars: 1e6 }, (r) =>
        records.push(r),
      ),
    );
    clearInterval(timer);
    assert.equal(records.length, 5000);
    assert.deepEqual(records[4999], { s: 'é€😀' });
    assert.ok(turns > 0, 'timers ran while the body was split');
  });

  it('a gzip bomb is inflated only up to the limit', async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20)); // 64 MB of zeros, ≈64 KB compressed
    let out = 0;
    await assert.rejects(
      (async () => {
        for await (const c of decodedChunks(bomb, 'gzip', 1 << 20)) out += c.length;
      })(),
      { status: 413, code: 'decompressed_body_too_large' },
    );
    assert.ok(out <= 1 << 20, `${out} bytes handed on`);
  });
});
