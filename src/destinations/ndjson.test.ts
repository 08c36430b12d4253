import assert from 'node:assert/strict';
import { it } from 'node:test';
import { makeEnvelope, RawJson } from '../core/envelope.ts';
import { envelopeLine, ndjson } from './ndjson.ts';

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
