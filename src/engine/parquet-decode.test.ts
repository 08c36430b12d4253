import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { ocsfParquet } from '../../test/support/parquet.ts';
import { vendorText } from '../core/envelope.ts';
import { decodeObject } from './object-decode.ts';
import { jsonValue, parquetRecords } from './parquet-decode.ts';

async function decodeAll(bytes: Uint8Array, chunk = 4096, tmpDir?: string) {
  const src = (async function* () {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  })();
  const out = [];
  for await (const r of decodeObject(src, parquetRecords({ tmpDir }), 'none')) out.push(r);
  return out;
}

describe('parquet decoder', () => {
  for (const codec of ['ZSTD', 'SNAPPY', 'GZIP', 'UNCOMPRESSED'] as const) {
    it(`reads every row of every row group, in order (${codec})`, async () => {
      const rows = await decodeAll(ocsfParquet(250, { codec, rowGroupSize: 60 }), 97);
      assert.equal(rows.length, 250);
      const first = rows[0];
      assert.ok('value' in first);
      assert.deepEqual(first.value, {
        class_uid: 6003,
        class_name: 'API Activity',
        time: 1_795_000_000_000,
        metadata: { uid: 'uid-0', version: '1.1.0', product: { name: 'CloudTrail' } },
        api: { operation: 'Op0' },
      });
      assert.equal(vendorText(first.value), JSON.stringify(first.value), 'the JSON text is kept');
      assert.equal(first.size, JSON.stringify(first.value).length);
      const uids = rows.map((r) => ('value' in r ? (r.value as any).metadata.uid : r.error));
      assert.deepEqual(
        uids,
        Array.from({ length: 250 }, (_, i) => `uid-${i}`),
      );
    });
  }

  it('a body that is not Parquet, or is cut off, is one dead letter; the spool file is removed', async () => {
    const dir = tmpdir();
    const before = readdirSync(dir).filter((f) => f.startsWith('tributary-parquet-')).length;
    const notParquet = await decodeAll(new TextEncoder().encode('{"a":1}\n'), 4096, dir);
    assert.equal(notParquet.length, 1);
    assert.ok('error' in notParquet[0] && /not a Parquet file/.test(notParquet[0].error));
    const whole = ocsfParquet(10);
    const cut = await decodeAll(whole.subarray(0, whole.length - 100), 4096, dir);
    assert.equal(cut.length, 1);
    assert.ok('error' in cut[0] && /PAR1/.test(cut[0].error));
    const after = readdirSync(dir).filter((f) => f.startsWith('tributary-parquet-')).length;
    assert.equal(after, before, 'no spool left behind');
  });

  it('a reader that stops early (a run cancelled) leaves no spool file behind', async () => {
    const dir = tmpdir();
    const count = () => readdirSync(dir).filter((f) => f.startsWith('tributary-parquet-')).length;
    const before = count();
    const bytes = ocsfParquet(500, { rowGroupSize: 100 });
    const src = (async function* () {
      yield bytes;
    })();
    let seen = 0;
    for await (const r of parquetRecords({ tmpDir: dir }).decode(src)) {
      assert.ok('value' in r);
      if (++seen === 3) break;
    }
    assert.equal(seen, 3);
    assert.equal(count(), before);
  });

  it('JSON values: safe and unsafe INT64, dates, binary, nulls left out, -0', () => {
    assert.equal(jsonValue(42n), 42);
    assert.equal(jsonValue(2n ** 60n), '1152921504606846976');
    assert.equal(jsonValue(new Date(Date.UTC(2026, 10, 25))), '2026-11-25T00:00:00.000Z');
    assert.equal(jsonValue(new Uint8Array([1, 2, 3])), 'AQID');
    assert.deepEqual(jsonValue({ a: null, b: [1n, null], c: -0 }), { b: [1, null], c: 0 });
    assert.equal(jsonValue(Number.NaN), 'NaN');
  });
});
