import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadedIds } from '../core/lazy.ts';
import { isPushSource } from '../core/source.ts';
import { pushSourceIds, sourceManifest, sources } from './index.ts';

/** The registry's manifest (ids known without loading a source, core/lazy.ts) against the sources. */
describe('source registry', () => {
  it('names its ids without loading any source', () => {
    assert.equal(Object.keys(sources).length, 80);
    assert.ok(Object.hasOwn(sources, 'okta'));
    assert.ok(!Object.hasOwn(sources, 'constructor'));
    assert.equal(sources.constructor, undefined);
    assert.deepEqual(loadedIds(sources), []);
    assert.equal(sources.okta!.id, 'okta');
    assert.deepEqual(loadedIds(sources), ['okta']);
    assert.equal(sources.okta, sources.okta, 'loaded once');
  });

  it('lists every folder of src/sources, each under its own id', () => {
    const folders = readdirSync(import.meta.dirname, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    assert.deepEqual(Object.keys(sourceManifest).sort(), folders);
    for (const [id, [path]] of Object.entries(sourceManifest)) {
      assert.equal(path, `./${id}/index.ts`);
      assert.equal(sources[id]!.id, id, `${path} defines the source ${id}`);
    }
    assert.deepEqual(loadedIds(sources).sort(), folders);
  });

  it('knows the push sources without loading them', () => {
    const push = Object.values(sources)
      .filter((s) => isPushSource(s))
      .map((s) => s.id);
    assert.deepEqual([...pushSourceIds].sort(), push.sort());
  });
});
