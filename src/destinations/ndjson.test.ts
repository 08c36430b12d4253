import assert from 'node:assert/strict';
import { it } from 'node:test';
import { makeEnvelope, RawJson } from '../core/envelope.ts';
import { envelopeLine, NdjsonEncoder, ndjson } from './ndjson.ts';

const ctx = { source: 's', stream: 't', collector: 'c' };
const at = '2026-11-25T10:00:00.000Z';

it('keeps a pretty-printed vendor record on one line, its tokens intact', () => {
  const raw = new RawJson('{\r\n  "msg": "a\\nb",\n  "big": 12345678901234567890\n}');
  const line = envelopeLine(makeEnvelope(ctx, raw, 'x', undefined, at));
  assert.ok(!/[\r\n]/.test(line));
  assert.ok(line.endsWith(',"raw":{  "msg": "a\\nb",  "big": 12345678901234567890}}'), line);
  assert.equal(JSON.parse(line).raw.msg, 'a\nb');
});

it('renders a batch as newline-terminated lines, and nothing for no events', () => {
  const events = [
    makeEnvelope(ctx, { a: 1 }, 'x', undefined, at),
    makeEnvelope(ctx, { a: 2 }, 'y', undefined, at),
  ];
  assert.equal(ndjson(events), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  assert.equal(ndjson([]), '');
});

it('encodes batches into the same bytes as the text, across batches of every size', () => {
  const encoder = new NdjsonEncoder();
  const site = { ...ctx, sitename: 'hq', timezone: 'Europe/Berlin' };
  // Ids written as they are, and ids JSON.stringify escapes (a quote, a control character, a lone surrogate).
  const ids = [
    (i: number) => `id${i}`,
    (i: number) => `id"${i}`,
    (i: number) => `idé\t${i}`,
    (i: number) => `id\udc00${i}`,
  ];
  const batch = (n: number, text: string) =>
    Array.from({ length: n }, (_, i) =>
      i % 3 === 2 // a record without a vendor text is serialised whole
        ? makeEnvelope(site, { m: `${text}${i}`, n: i }, `id${i}`, undefined, at)
        : makeEnvelope(i % 2 ? site : ctx, new RawJson(`{"m":"${text}${i}"}`), ids[i % 4]!(i), undefined, at),
    );
  // Multi-byte characters; a batch past the kept size, then small ones; an empty one.
  const batches = [
    batch(3000, 'é€😀\ud800'.repeat(7)),
    batch(2, 'a'),
    batch(0, ''),
    batch(40_000, 'x'.repeat(300)),
    batch(5, 'ü'),
  ];
  for (const events of batches) {
    const bytes = encoder.encode(events);
    // Compared as bytes: a lone surrogate is encoded (as U+FFFD) the same way by both.
    assert.ok(bytes.equals(Buffer.from(ndjson(events))), `batch of ${events.length}`);
  }
});
