import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, encodeLine, hashId, makeEnvelope, RawJson, toIsoTime } from './envelope.ts';

const ctx = { source: 's', stream: 't', collector: 'c' };
const at = '2026-11-25T10:00:00.000Z';

describe('envelope', () => {
  it('keeps a record sent as text byte-for-byte, big integers included', () => {
    const text = '{"event_id":"e1","n":12345678901234567890,"x":1.50}';
    const line = encodeLine(makeEnvelope(ctx, new RawJson(text), 'e1', at, at));
    assert.ok(line.endsWith(`,"raw":${text}}`));
    assert.equal(JSON.parse(line).id, 'e1');
    assert.ok(line.includes('12345678901234567890'), 'JSON.parse would have rounded it');
  });

  it('orders keys as documented, with sitename and timezone only when set', () => {
    const env = makeEnvelope({ ...ctx, sitename: 'hq', timezone: 'UTC' }, { a: 1 }, 'x', at, at);
    assert.deepEqual(Object.keys(JSON.parse(encodeLine(env))), [
      'id',
      'time',
      'source',
      'stream',
      'collector',
      'sitename',
      'timezone',
      'ingested_at',
      'raw',
    ]);
    assert.deepEqual(Object.keys(makeEnvelope(ctx, {}, 'x', at, at)), [
      'id',
      'time',
      'source',
      'stream',
      'collector',
      'ingested_at',
      'raw',
    ]);
  });

  it('hashes records without an id deterministically, whatever the key order or form', () => {
    assert.equal(hashId({ b: 1, a: [1, { d: 2, c: 3 }] }), hashId({ a: [1, { c: 3, d: 2 }], b: 1 }));
    assert.equal(hashId(new RawJson('{"b":1,"a":2}')), hashId({ a: 2, b: 1 }));
    assert.notEqual(hashId({ a: 1 }), hashId({ a: 2 }));
    assert.equal(canonicalJson({ z: undefined, y: null }), '{"y":null}');
    assert.equal(makeEnvelope(ctx, { a: 1 }, undefined, undefined, at).id, hashId({ a: 1 }));
  });

  it('normalises vendor times to UTC ISO-8601', () => {
    assert.equal(toIsoTime('2026-07-09T11:40:00.123456Z'), '2026-07-09T11:40:00.123Z');
    assert.equal(toIsoTime(1722461446), '2024-07-31T21:30:46.000Z');
    assert.equal(toIsoTime(1722461446000), '2024-07-31T21:30:46.000Z');
    assert.equal(toIsoTime('2026-11-25T11:00:00+01:00'), '2026-11-25T10:00:00.000Z');
    assert.equal(toIsoTime('not a time'), undefined);
    assert.equal(toIsoTime(null), undefined);
  });
});
