import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { envelopes } from '../../../test/support/envelopes.ts';
import { ndjson } from '../ndjson.ts';
import { DEFAULT_KEY_TEMPLATE, keyTemplateProblems, type ObjectLayout, planObjects } from './objects.ts';

const layout: ObjectLayout = {
  prefix: 'logs/tributary',
  keyTemplate: DEFAULT_KEY_TEMPLATE,
  partitionTime: 'event',
  compression: 'gzip',
  maxObjectBytes: 16 * 1024 * 1024,
};

describe('object-store planning', () => {
  it('partitions by event hour, names objects by first id and id hash, and gzips NDJSON', async () => {
    const events = envelopes(30); // 10:59:50 … 11:00:19: two hours
    const objects = await planObjects(events, layout);
    assert.equal(objects.length, 2);
    assert.match(
      objects[0]!.key,
      /^logs\/tributary\/source=okta\/dt=2026-03-01\/hour=10\/okta-prod-ev-0001-[0-9a-f]{16}\.ndjson\.gz$/,
    );
    assert.match(objects[1]!.key, /\/hour=11\/okta-prod-ev-0011-[0-9a-f]{16}\.ndjson\.gz$/);
    assert.equal(gunzipSync(objects[0]!.body).toString(), ndjson(events.slice(0, 10)));
    assert.equal(gunzipSync(objects[1]!.body).toString(), ndjson(events.slice(10)));
    assert.deepEqual(
      objects.map((o) => o.events),
      [10, 20],
    );
    assert.equal(objects[0]!.contentType, 'application/gzip');
  });

  it('is deterministic for a batch, and a different set of events never gets the same name', async () => {
    const events = envelopes(20, { start: '2026-03-01T10:00:00.000Z' });
    const a = await planObjects(events, layout);
    const b = await planObjects(envelopes(20, { start: '2026-03-01T10:00:00.000Z' }), layout);
    assert.deepEqual(
      a.map((o) => o.key),
      b.map((o) => o.key),
    );
    const fewer = await planObjects(events.slice(0, 19), layout); // same first id, other events
    assert.notEqual(fewer[0]!.key, a[0]!.key);
  });

  it('partitions by ingest time when asked', async () => {
    const objects = await planObjects(envelopes(30), { ...layout, partitionTime: 'ingest' });
    assert.equal(objects.length, 1);
    assert.match(objects[0]!.key, /\/hour=12\//);
  });

  it('cuts a batch above maxObjectBytes into several objects holding every event once, in order', async () => {
    const events = envelopes(100, { start: '2026-03-01T10:00:00.000Z', size: 1000 });
    const objects = await planObjects(events, { ...layout, compression: 'none', maxObjectBytes: 10_000 });
    assert.ok(objects.length >= 10, `${objects.length} objects`);
    for (const o of objects) assert.ok(o.body.length <= 10_000, `${o.body.length} bytes`);
    assert.equal(objects.map((o) => o.body.toString()).join(''), ndjson(events));
    assert.equal(new Set(objects.map((o) => o.key)).size, objects.length);
    assert.match(objects[0]!.key, /\.ndjson$/);
    // one event larger than the limit still goes, alone
    const big = await planObjects(envelopes(2, { size: 5000 }), { ...layout, maxObjectBytes: 1024 });
    assert.equal(big.length, 2);
  });

  it('validates templates: {hash} required, unknown placeholders named', () => {
    assert.deepEqual(keyTemplateProblems(DEFAULT_KEY_TEMPLATE), []);
    assert.match(keyTemplateProblems('{prefix}/{firstId}.gz').join(), /must contain \{hash\}/);
    assert.match(keyTemplateProblems('{prefix}/{hash}/{bucket}').join(), /unknown placeholder \{bucket\}/);
  });
});
