import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { RawJsonBytes, vendorText } from '../core/envelope.ts';
import {
  csvColumns,
  csvRows,
  type DecodedRecord,
  decodeObject,
  decodeObjectChunks,
  lines,
  type ObjectFormat,
  type RecordDecoder,
} from './object-decode.ts';

/** The bytes in chunks of `size` (1 splits every character, multi-byte ones included, across chunks). */
async function* chunked(bytes: Buffer | string, size: number): AsyncGenerator<Uint8Array> {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function all(bytes: Buffer | string, format: ObjectFormat, size = 3): Promise<DecodedRecord[]> {
  const out: DecodedRecord[] = [];
  for await (const r of decodeObject(chunked(bytes, size), format)) out.push(r);
  return out;
}
const values = (rs: DecodedRecord[]) => rs.map((r) => ('value' in r ? r.value : { error: r.error }));

describe('object decoding', () => {
  for (const size of [1, 3, 64 * 1024]) {
    it(`NDJSON, chunks of ${size} bytes, a bad line as a dead letter`, async () => {
      const rs = await all('{"a":1}\n\n{"b":"é€"}\r\nnot json\n{"c":3}', 'ndjson', size);
      assert.deepEqual(values(rs), [{ a: 1 }, { b: 'é€' }, { error: 'not valid JSON' }, { c: 3 }]);
      // each record keeps its exact text (the envelope carries the vendor's bytes)
      assert.equal(vendorText((rs[0] as { value: object }).value), '{"a":1}');
      assert.equal(vendorText((rs[1] as { value: object }).value), '{"b":"é€"}');
    });

    it(`NDJSON keeps a record's text as it came, large integers and spacing included (chunks of ${size})`, async () => {
      const rs = await all('{"n": 12345678901234567890}\n  [1, 2]\n', 'ndjson', size);
      assert.equal(vendorText((rs[0] as { value: object }).value), '{"n": 12345678901234567890}');
      assert.equal(vendorText((rs[1] as { value: object }).value), '[1, 2]');
    });

    it(`a JSON array, chunks of ${size} bytes, keeping each element's exact text`, async () => {
      const text = '[ {"a":1,"n":12345678901234567890}, {"s":"x,]}{\\"y"} ,\n{"z":[1,[2]]}, 7, "str" ]';
      const rs = await all(text, 'json-array', size);
      assert.equal(rs.length, 5);
      assert.deepEqual(values(rs).slice(1), [{ s: 'x,]}{"y' }, { z: [1, [2]] }, 7, 'str']);
      assert.equal(vendorText((rs[0] as { value: object }).value), '{"a":1,"n":12345678901234567890}');
    });

    it(`CloudTrail's {"Records":[…]}, chunks of ${size} bytes, other keys ignored`, async () => {
      const text =
        '{"Other":[{"x":1}],"Records":[{"eventID":"e1","k":"Records"},{"eventID":"e2"}],"After":{"y":[2]}}';
      const rs = await all(text, 'records', size);
      assert.deepEqual(values(rs), [{ eventID: 'e1', k: 'Records' }, { eventID: 'e2' }]);
    });

    it(`CSV with a header, quotes, quoted commas and line breaks, CRLF, chunks of ${size} bytes`, async () => {
      const text =
        '\ufefftime,user,msg\r\n2026-01-01,"Smith, J","said ""hi""\r\nthen left"\r\n\r\n2026-01-02,bob,\r\nbad,row\n';
      const rs = await all(text, 'csv', size);
      assert.deepEqual(values(rs), [
        { time: '2026-01-01', user: 'Smith, J', msg: 'said "hi"\r\nthen left' },
        { time: '2026-01-02', user: 'bob', msg: '' },
        { error: 'a CSV row with 2 fields where the header names 3' },
      ]);
    });

    it(`plain lines, chunks of ${size} bytes`, async () => {
      const rs = await all('<13>Jan 1 a\r\n\n<13>Jan 1 b€\n<13>Jan 1 c', 'lines', size);
      assert.deepEqual(values(rs), ['<13>Jan 1 a', '<13>Jan 1 b€', '<13>Jan 1 c']);
    });
  }

  it('gunzips any format, detected from the bytes', async () => {
    const gz = gzipSync('{"Records":[{"eventID":"e1"},{"eventID":"e2"}]}');
    assert.deepEqual(values(await all(gz, 'records', 5)), [{ eventID: 'e1' }, { eventID: 'e2' }]);
    const gzLines = gzipSync('a\nb\n');
    assert.deepEqual(values(await all(gzLines, 'lines', 2)), ['a', 'b']);
  });

  it('NDJSON as ASCII lines: the same records and texts as parsed, valid ASCII lines kept as their bytes', async () => {
    const body = [
      '\uFEFF{"a":1}', // a byte-order mark: decoded, like any line beyond ASCII
      '  {"b": [1, 2.5e3, true, null, "x\\"y"]}\t\r',
      '',
      '{"c":"é€"}',
      'not json',
      '{"d":1}{"e":2}', // concatenated
      '{"f":\u000b1}', // a vertical tab inside: not JSON whitespace
      '[1,2]',
      `{"long":"${'z'.repeat(70_000)}"}`, // spans chunks
      '{"g":\r1}', // a CR inside: JSON whitespace, left to JSON.parse
      '{"h":"\\u00e9"}',
    ].join('\n');
    const plain = (r: DecodedRecord) =>
      'error' in r
        ? { error: r.error, text: r.text, size: r.size }
        : { text: vendorText(r.value) ?? JSON.stringify(r.value), size: r.size };
    // (gzip in 1-byte chunks is not detected from a first chunk of one byte: not what is tested here)
    for (const gzip of [false, true])
      for (const size of gzip ? [7, 64 * 1024, 1 << 20] : [1, 7, 64 * 1024, 1 << 20]) {
        const bytes = gzip ? gzipSync(body) : Buffer.from(body);
        const expected = (await all(bytes, 'ndjson', size)).map(plain);
        const got: DecodedRecord[] = [];
        for await (const run of decodeObjectChunks(chunked(bytes, size), 'ndjson', 'auto', {
          asciiLines: true,
        }))
          got.push(...run);
        assert.deepEqual(got.map(plain), expected, `chunks of ${size}, gzip ${gzip}`);
        const kept = got.filter((r) => 'value' in r && r.value instanceof RawJsonBytes).length;
        assert.equal(kept, 4, `chunks of ${size}, gzip ${gzip}`); // b, [1,2], long, h
      }
  });

  it('NDJSON as ASCII lines: chunks in one reused buffer are copied before being kept', async () => {
    const body = Array.from({ length: 5_000 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i % 40)}"}`).join(
      '\n',
    );
    const buffer = Buffer.alloc(1000);
    async function* reused(): AsyncGenerator<Uint8Array> {
      const b = Buffer.from(body);
      for (let at = 0; at < b.length; at += buffer.length)
        yield buffer.subarray(0, b.copy(buffer, 0, at, at + buffer.length));
    }
    const got: DecodedRecord[] = [];
    for await (const run of decodeObjectChunks(reused(), 'ndjson', 'none', { asciiLines: true }))
      got.push(...run);
    assert.deepEqual(
      got.map((r) => ('value' in r ? JSON.parse(vendorText(r.value)!).n : r)),
      Array.from({ length: 5_000 }, (_, i) => i),
    );
  });

  it('NDJSON as ASCII lines: a long run without newlines is read as concatenated JSON', async () => {
    const body = Array.from({ length: 30_000 }, (_, i) => `{"n":${i}}`).join('');
    const got: DecodedRecord[] = [];
    for await (const run of decodeObjectChunks(chunked(body, 64 * 1024), 'ndjson', 'none', {
      asciiLines: true,
    }))
      got.push(...run);
    assert.equal(got.length, 30_000);
    assert.deepEqual((got[29_999] as { value: unknown }).value, { n: 29_999 });
  });

  it('gunzips chunks handed out in one reused buffer (a downloaded file read through one buffer)', async () => {
    const text = Array.from({ length: 20_000 }, (_, i) => `"n${i}","${'x'.repeat(i % 50)}"`).join('\n');
    const gz = gzipSync(`"Name","Pad"\n${text}\n`);
    const buffer = Buffer.alloc(1024);
    async function* reused(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < gz.length; at += buffer.length) {
        const n = gz.copy(buffer, 0, at, at + buffer.length);
        yield buffer.subarray(0, n); // valid until the next chunk is asked for
      }
    }
    let count = 0;
    for await (const r of decodeObject(reused(), 'csv')) {
      assert.ok('value' in r, JSON.stringify(r));
      count++;
    }
    assert.equal(count, 20_000);
  });

  it('a gzip object cut off is an error, not a short object', async () => {
    const gz = gzipSync('{"a":1}\n'.repeat(1000));
    await assert.rejects(all(gz.subarray(0, gz.length - 10), 'ndjson'), /unexpected end of file/);
  });

  it('an array cut off, and an object without Records, are dead letters saying so', async () => {
    assert.deepEqual(values(await all('[{"a":1},{"b":', 'json-array')), [
      { a: 1 },
      { error: 'the object ends inside its array (cut off)' },
    ]);
    assert.deepEqual(values(await all('{"Nope":[]}', 'records')), [
      { error: 'no "Records" array in the object' },
    ]);
  });

  it('takes a pluggable decoder (Parquet) for formats it does not read itself', async () => {
    const decoder: RecordDecoder = {
      async *decode(bytes) {
        let n = 0;
        for await (const c of bytes) n += c.length;
        yield { value: { bytes: n }, size: 1 };
      },
    };
    assert.deepEqual(values(await all(gzipSync('x'.repeat(100)), decoder)), [{ bytes: 100 }]);
  });

  it('gives complete lines with their byte offsets, holding back an unfinished last line', async () => {
    const out = [];
    for await (const l of lines(chunked('ab\né\ncd', 1), { completeOnly: true })) out.push(l);
    assert.deepEqual(out, [
      { line: 'ab', start: 0, end: 3 },
      { line: 'é', start: 3, end: 6 },
    ]);
  });

  for (const size of [1, 5, 64 * 1024]) {
    it(`CSV without a header, columns named; fewer fields named first, more kept as columnN (chunks of ${size})`, async () => {
      const format = csvColumns({
        columns: ['timestamp', 'identity', 'action'],
        isHeader: (row) => row[0].toLowerCase() === 'timestamp',
      });
      const body =
        '\uFEFF"Timestamp","Identity","Action"\r\n' +
        '"2026-11-25 10:00:00","laptop, Site","Allowed"\r\n' +
        '"2026-11-25 10:00:01","x"\n\n' +
        '"2026-11-25 10:00:02","y","Blocked","extra ""v12"""\n';
      assert.deepEqual(values(await all(body, format, size)), [
        { timestamp: '2026-11-25 10:00:00', identity: 'laptop, Site', action: 'Allowed' },
        { timestamp: '2026-11-25 10:00:01', identity: 'x' },
        { timestamp: '2026-11-25 10:00:02', identity: 'y', action: 'Blocked', column4: 'extra "v12"' },
      ]);
    });
  }

  for (const size of [1, 4, 64 * 1024]) {
    it(`CSV rows as arrays, no header taken, a quoted field cut off an error (chunks of ${size})`, async () => {
      const rows = async (text: string) => {
        const out: unknown[] = [];
        for await (const r of csvRows(chunked(text, size)))
          out.push('value' in r ? r.value : { error: r.error });
        return out;
      };
      assert.deepEqual(await rows('----BEGIN\r\n"A","B"\n\n"1","x, ""y"""\n----END\n'), [
        ['----BEGIN'],
        ['A', 'B'],
        ['1', 'x, "y"'],
        ['----END'],
      ]);
      assert.deepEqual(await rows('"A"\n"cut'), [
        ['A'],
        { error: 'the object ends inside a quoted CSV field (cut off)' },
      ]);
    });
  }

  it('CSV without a header: a first row that is data is kept, and gzip is undone', async () => {
    const format = csvColumns({ columns: ['a', 'b'], isHeader: (row) => row[0] === 'a' });
    assert.deepEqual(values(await all(gzipSync('1,2\na,b\n'), format)), [
      { a: '1', b: '2' },
      { a: 'a', b: 'b' },
    ]);
    assert.throws(() => csvColumns({ columns: [] }), /at least one column/);
  });
});
