import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainStream } from '../../../test/support/drain.ts';
import { accountKinds } from '../../accounts/index.ts';
import { testConnection } from '../../engine/test-connection.ts';
import { ManualClock } from '../../sim/kit.ts';
import { indicatorOp, patternEntity } from '../taxii.ts';
import source from './index.ts';
import { TaxiiSimulator } from './simulator.ts';

const T0 = '2026-12-01T12:00:00.000Z';

function read(
  sim: TaxiiSimulator,
  stream: string,
  o: { clock: ManualClock; checkpoint?: unknown; settings?: Record<string, unknown>; stopAfter?: number },
) {
  return drainStream(source, accountKinds.basic, stream, {
    account: { username: sim.username, password: sim.password },
    settings: { url: `${sim.url}/taxii2/`, ...o.settings },
    now: o.clock.now,
    checkpoint: o.checkpoint,
    stopAfter: o.stopAfter,
    window: { lookbackMs: 2 * 3_600_000 },
  });
}

describe('stix-taxii', () => {
  it('discovers the API root and readable collections, pages with next/more, indicators as context by pattern', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new TaxiiSimulator({ clock: clock.now, objects: 250, pageSize: 40 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await read(sim, 'indicators', { clock });
    assert.deepEqual(r.ids, sim.indicatorIds());
    assert.equal(r.markers.length, 1);
    assert.deepEqual(r.markers[0].context, { op: 'end', entity: '*', snapshot: T0 });
    const entities = new Set(r.records.map((e) => e.context?.entity));
    assert.deepEqual([...entities].sort(), ['domain', 'hash', 'ip', 'url']);
    const paths = sim.requests.all().map((q) => q.path);
    assert.deepEqual(paths.slice(0, 2), ['/taxii2/', '/api1/collections/']);
    const pages = sim.requests.all().filter((q) => q.path.endsWith('/objects/'));
    assert.equal(pages.length, 4, '125 indicators at 40 a page');
    assert.ok(
      pages.every((q) => q.path === `/api1/collections/${sim.collectionId}/objects/`),
      'the write-only collection is not read',
    );
    assert.equal(pages[0].query.get('match[type]'), 'indicator');
    assert.equal(pages[0].query.get('added_after'), null, 'a refresh reads everything');
    assert.equal(pages[0].headers.accept, 'application/taxii+json;version=2.1');
    assert.ok(pages[1].query.get('next'));
    assert.equal((r.records[0].raw as { type: string }).type, 'indicator', 'the STIX object whole in raw');
    assert.deepEqual(sim.writeCalls(), []);
  });

  it('reads other objects as events by added_after, resumes from the checkpoint, then only what was added', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new TaxiiSimulator({ clock: clock.now, objects: 120, pageSize: 25 });
    await sim.start();
    t.after(() => sim.stop());
    const part = await read(sim, 'objects', { clock, stopAfter: 2 });
    const rest = await read(sim, 'objects', { clock, checkpoint: part.checkpoint });
    assert.deepEqual(
      [...part.ids, ...rest.ids],
      sim.otherIds(),
      'every other object once, across the resume',
    );
    assert.ok(
      part.records.every((e) => e.context === undefined),
      'events, not context records',
    );
    clock.advance(60_000);
    const added = sim.addObjects(4);
    const more = await read(sim, 'objects', { clock, checkpoint: rest.checkpoint });
    assert.deepEqual(
      more.ids.map((i) => i.split('@')[0]),
      [added[1], added[3]],
    );
    const last = sim.requests
      .all()
      .filter((q) => q.path.endsWith('/objects/'))
      .at(-1)!;
    assert.ok(last.query.get('added_after'), 'asked with the date added of the last object seen');
  });

  it('between refreshes, revoked and expired indicators are deletions under the indicator id', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new TaxiiSimulator({ clock: clock.now, objects: 40 });
    await sim.start();
    t.after(() => sim.stop());
    const first = await read(sim, 'indicators', { clock });
    clock.advance(600_000);
    const [a, b, c] = sim.indicatorIds();
    sim.revoke(a);
    sim.expire(b);
    const [fresh] = sim.addObjects(1);
    const delta = await read(sim, 'indicators', { clock, checkpoint: first.checkpoint });
    assert.deepEqual(
      delta.records.map((e) => [e.id, e.context?.op]),
      [
        [a, 'delete'],
        [b, 'delete'],
        [fresh, 'upsert'],
      ],
    );
    assert.ok(!delta.ids.includes(c));
    assert.equal(delta.records[0].context?.snapshot, T0, 'a delta of the last refresh');
  });

  it('speaks TAXII 2.0: bundles paged by Range items', async (t) => {
    const clock = new ManualClock(T0);
    const sim = new TaxiiSimulator({ clock: clock.now, objects: 90, pageSize: 20 });
    await sim.start();
    t.after(() => sim.stop());
    const r = await read(sim, 'objects', {
      clock,
      settings: { url: `${sim.url}/taxii/`, version: '2.0', limit: 20 },
    });
    assert.deepEqual(r.ids, sim.otherIds());
    const pages = sim.requests.all().filter((q) => q.path.endsWith('/objects/'));
    assert.equal(pages[0].headers.range, 'items=0-19');
    assert.equal(pages[1].headers.range, 'items=20-39');
    assert.match(String(pages[0].headers.accept), /stix\+json; version=2\.0/);
  });

  it('maps the entity from the pattern, and revocation and validity to the op', () => {
    assert.equal(patternEntity({ pattern: "[ipv4-addr:value = '1.2.3.4']", pattern_type: 'stix' }), 'ip');
    assert.equal(patternEntity({ pattern: "[domain-name:value = 'x.example']" }), 'domain');
    assert.equal(patternEntity({ pattern: "[file:hashes.MD5 = 'ab']" }), 'hash');
    assert.equal(patternEntity({ pattern: 'alert tcp any', pattern_type: 'snort' }), 'indicator');
    const now = Date.parse(T0);
    assert.equal(indicatorOp({ valid_until: '2026-12-01T11:00:00Z' }, now), 'delete');
    assert.equal(indicatorOp({ valid_until: '2026-12-02T11:00:00Z' }, now), 'upsert');
    assert.equal(indicatorOp({ revoked: true }, now), 'delete');
  });

  it('Test Connection proves credentials and read access; errors name the action, never the password', async (t) => {
    const sim = new TaxiiSimulator({});
    await sim.start();
    t.after(() => sim.stop());
    const account = { username: sim.username, password: sim.password };
    const settings = { url: `${sim.url}/taxii2/` };
    assert.deepEqual(await testConnection(source, accountKinds.basic, account, settings), { ok: true });
    const wrong = await testConnection(
      source,
      accountKinds.basic,
      { ...account, password: 'not-the-password' },
      settings,
    );
    assert.ok(!wrong.ok);
    assert.equal(wrong.error.code, 'taxii_unauthorized');
    assert.ok(!JSON.stringify(wrong.error).includes('not-the-password'));
    const hidden = await testConnection(source, accountKinds.basic, account, {
      ...settings,
      collections: [sim.hiddenCollectionId],
    });
    assert.ok(!hidden.ok);
    assert.equal(hidden.error.code, 'taxii_forbidden');
    const missing = await testConnection(source, accountKinds.basic, account, {
      ...settings,
      collections: ['nope'],
    });
    assert.ok(!missing.ok);
    assert.equal(missing.error.code, 'taxii_collection_not_found');
    assert.match(missing.error.action, /settings\.collections/);
  });
});
