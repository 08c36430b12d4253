import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalJson,
  encodeLine,
  hashId,
  lineBytes,
  makeEnvelope,
  RawJson,
  toIsoTime,
  writeLine,
} from './envelope.ts';

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

  it('writes a context record with kind, op, entity and snapshot before ingested_at; events carry no kind', () => {
    const context = { op: 'delete' as const, entity: 'user', snapshot: at };
    const keys = [
      'id',
      'time',
      'source',
      'stream',
      'collector',
      'kind',
      'op',
      'entity',
      'snapshot',
      'ingested_at',
      'raw',
    ];
    for (const raw of [{ a: 1 }, new RawJson('{"a":1}')]) {
      const env = makeEnvelope(ctx, raw, 'u1', undefined, at, context);
      const line = encodeLine(env);
      assert.deepEqual(Object.keys(JSON.parse(line)), keys);
      assert.deepEqual(JSON.parse(line), {
        id: 'u1',
        time: at,
        source: 's',
        stream: 't',
        collector: 'c',
        kind: 'context',
        op: 'delete',
        entity: 'user',
        snapshot: at,
        ingested_at: at,
        raw: { a: 1 },
      });
      assert.equal(lineBytes(env), Buffer.byteLength(line));
      const buffer = Buffer.alloc(4096);
      assert.equal(buffer.subarray(0, writeLine(buffer, 0, env)).toString(), `${line}\n`);
    }
    // The shared part of a line follows the op of each record (an upsert after a deletion).
    const upsert = encodeLine(
      makeEnvelope(ctx, new RawJson('{}'), 'u2', undefined, at, { ...context, op: 'upsert' }),
    );
    assert.equal(JSON.parse(upsert).op, 'upsert');
    assert.equal('kind' in JSON.parse(encodeLine(makeEnvelope(ctx, new RawJson('{}'), 'e', at, at))), false);
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
