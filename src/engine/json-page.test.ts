import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mutate, randomValue, rng, spell } from '../../test/support/json-fuzz.ts';
import type { HttpResponse } from '../core/source.ts';
import { readJsonPage, scanPage } from './json-page.ts';
import { UnexpectedBodyError } from './json-stream.ts';

const utf8 = (s: string) => Buffer.from(s);
const texts = (b: Buffer, spans: number[]) =>
  Array.from({ length: spans.length / 2 }, (_, r) => b.toString('utf8', spans[2 * r], spans[2 * r + 1]));

describe('scanPage', () => {
  it('finds the records of a top-level array and the values of their wanted top-level fields', () => {
    const page = utf8(
      '[{"uuid":"a","published":"2026-01-01T00:00:00.000Z","nested":{"uuid":"inner"}} , {"published":5,"uuid":7},3,{"x":[1,{"uuid":"no"}]}]',
    );
    const s = scanPage(page, '', ['uuid', 'published'])!;
    assert.deepEqual(texts(page, s.records), [
      '{"uuid":"a","published":"2026-01-01T00:00:00.000Z","nested":{"uuid":"inner"}}',
      '{"published":5,"uuid":7}',
      '3',
      '{"x":[1,{"uuid":"no"}]}',
    ]);
    const value = (r: number, f: number) => {
      const k = (r * 2 + f) * 2;
      return s.values[k] < 0 ? undefined : page.toString('utf8', s.values[k], s.values[k + 1]);
    };
    assert.deepEqual(
      [0, 1, 2, 3].map((r) => [value(r, 0), value(r, 1)]),
      [
        ['"a"', '"2026-01-01T00:00:00.000Z"'],
        ['7', '5'],
        [undefined, undefined],
        [undefined, undefined], // a nested uuid is not the record's
      ],
    );
    assert.deepEqual(texts(page, [...s.array]), [page.toString()]);
  });

  it('finds the records under a key of the answer object, whatever its other members hold', () => {
    const page = utf8('{"meta":{"data":[9]},"data":[{"id":"x"},{"id":"y"}],"next":"c2","list":[{"id":"z"}]}');
    const s = scanPage(page, 'data', ['id'])!;
    assert.deepEqual(texts(page, s.records), ['{"id":"x"}', '{"id":"y"}']);
    assert.equal(page.toString('utf8', ...s.array), '[{"id":"x"},{"id":"y"}]');
    assert.equal(scanPage(utf8('{"next":null}'), 'data', ['id']), undefined, 'no records array');
    assert.equal(scanPage(utf8('{"data":{"id":1}}'), 'data', ['id']), undefined, 'not an array');
    assert.equal(
      scanPage(utf8('{"data":[],"data":[1]}'), 'data', ['id']),
      undefined,
      'twice: left to JSON.parse',
    );
    assert.equal(
      scanPage(utf8('{"d\\u0061ta":[1]}'), 'data', ['id'])?.records.length,
      2,
      'the key spelled with an escape',
    );
    assert.equal(scanPage(utf8('[1]'), 'data', ['id']), undefined, 'an array where an object is expected');
  });

  it('marks records that span line breaks and leaves the rest of the page to JSON.parse in odd cases', () => {
    const page = utf8('[\n  {"id":"a",\n "t":1},\n  {"id":"b"}\n]\n');
    const s = scanPage(page, '', ['id'])!;
    assert.deepEqual([...s.broken], [0]);
    assert.equal(scanPage(utf8('\uFEFF[]'), '', []), undefined, 'a byte-order mark');
    assert.equal(scanPage(Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]), '', []), undefined, 'invalid UTF-8');
    assert.equal(scanPage(utf8(`[${'['.repeat(300)}${']'.repeat(300)}]`), '', []), undefined, 'too deep');
    // A \u escape's digits: a control character is not one (0x10–0x19 look like digits with bit 5 set).
    for (const c of [0x10, 0x19, 0x01, 0x47, 0x67]) {
      const page = Buffer.concat([utf8('["\\u00'), Buffer.from([c]), utf8('0"]')]);
      assert.throws(() => JSON.parse(page.toString()));
      assert.equal(scanPage(page, '', []), undefined, `byte ${c} in a \\u escape`);
    }
    assert.ok(scanPage(utf8('["\\u00aF"]'), '', []));
    const escaped = utf8('[{"i\\u0064":"x"}]');
    assert.deepEqual(
      texts(escaped, scanPage(escaped, '', ['id'])!.values),
      ['"x"'],
      'a wanted key spelled with an escape',
    );
    assert.ok(scanPage(utf8('[{"\\u00e9t\\u00e9":"x"}]'), '', ['id']), 'an escaped key no wanted one can be');
  });

  it('accepts exactly what JSON.parse accepts (random values, spellings and damage)', () => {
    const next = rng(20261207);
    let valid = 0;
    for (let n = 0; n < 4000; n++) {
      const records = Array.from({ length: 1 + Math.floor(next() * 4) }, () => randomValue(next));
      // (through UTF-8 and back: a cut through a surrogate pair becomes U+FFFD, as on the wire)
      const text = utf8(mutate(spell(records, next), next)).toString();
      let parsed: unknown;
      let ok = true;
      try {
        parsed = JSON.parse(text);
      } catch {
        ok = false;
      }
      const s = scanPage(utf8(text), '', ['uuid', 'published']);
      if (!ok) {
        assert.equal(s, undefined, `accepted what JSON.parse refuses: ${JSON.stringify(text)}`);
        continue;
      }
      if (!Array.isArray(parsed)) {
        assert.equal(s, undefined, `records found in a non-array: ${JSON.stringify(text)}`);
        continue;
      }
      assert.ok(s, `refused what JSON.parse accepts: ${JSON.stringify(text)}`);
      valid++;
      const b = utf8(text);
      const got = texts(b, s.records).map((t) => JSON.parse(t));
      assert.deepEqual(got, parsed, text);
      parsed.forEach((record, r) => {
        for (const [f, name] of ['uuid', 'published'].entries()) {
          const k = (r * 2 + f) * 2;
          const want =
            record !== null &&
            typeof record === 'object' &&
            !Array.isArray(record) &&
            Object.hasOwn(record, name)
              ? (record as Record<string, unknown>)[name]
              : undefined;
          const found: unknown =
            s.values[k] < 0 ? undefined : JSON.parse(b.toString('utf8', s.values[k], s.values[k + 1]));
          assert.deepEqual(found, want, `${name} of record ${r} in ${text}`);
        }
        assert.equal(
          s.broken.has(r),
          /[\r\n]/.test(b.toString('utf8', s.records[2 * r], s.records[2 * r + 1])),
        );
      });
    }
    assert.ok(valid > 1000, `only ${valid} valid cases`);
  });
});

function response(body: Uint8Array | null, status = 200): HttpResponse {
  return new Response(body, {
    status,
    headers: { 'content-type': 'application/json' },
  }) as unknown as HttpResponse;
}

describe('readJsonPage', () => {
  it('scans a page, with the answer less its records as the skeleton', async () => {
    const page = await readJsonPage(response(utf8('{"data":[{"id":"x"}],"next":"c2"}')), 'data', ['id']);
    assert.ok(page.scanned);
    assert.deepEqual(page.skeleton, { data: [], next: 'c2' });
  });

  it('parses what it cannot scan, as readJson would, and fails as readJson does on what is not JSON', async () => {
    const odd = await readJsonPage(response(Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d])), '', []);
    assert.equal(odd.scanned, undefined);
    assert.deepEqual(
      (odd as { body: unknown }).body,
      ['\ufffd'],
      'invalid UTF-8 decoded as U+FFFD, like text()',
    );
    const bom = await readJsonPage(response(utf8('\uFEFF[{"id":"a"}]')), '', ['id']);
    assert.deepEqual((bom as { body: unknown }).body, [{ id: 'a' }]);
    await assert.rejects(readJsonPage(response(utf8('[{"id":"a"}')), '', ['id']), (err: unknown) => {
      assert.ok(err instanceof UnexpectedBodyError);
      assert.equal(err.truncated, true, 'a body cut off is worth asking again');
      return true;
    });
    await assert.rejects(readJsonPage(response(utf8('<html>sign in</html>')), '', []), (err: unknown) => {
      assert.ok(err instanceof UnexpectedBodyError);
      assert.equal(err.truncated, false);
      return true;
    });
    const empty = await readJsonPage(response(null, 204), '', []);
    assert.deepEqual(empty, { body: null });
  });
});
