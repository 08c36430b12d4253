import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadedIds } from '../core/lazy.ts';
import { accountKindManifest, accountKinds } from './index.ts';

/** The registry's manifest (ids known without loading an account kind, core/lazy.ts) against the kinds. */
describe('account kind registry', () => {
  it('names its ids without loading any kind', () => {
    assert.ok(Object.keys(accountKinds).length >= 40);
    assert.ok(!Object.hasOwn(accountKinds, 'toString'));
    assert.deepEqual(loadedIds(accountKinds), []);
    assert.equal(accountKinds.okta!.id, 'okta');
    assert.deepEqual(loadedIds(accountKinds), ['okta']);
  });

  it("each entry is its module's kind of that id", () => {
    for (const [id, [path, name]] of Object.entries(accountKindManifest)) {
      assert.match(
        readFileSync(join(import.meta.dirname, path), 'utf8'),
        new RegExp(`export const ${name}\\b`),
      );
      assert.equal(accountKinds[id]!.id, id, `${path} ${name} has the id ${id}`);
    }
  });

  it('every account kind defined in src/accounts is in the manifest', () => {
    const defined: string[] = [];
    for (const file of readdirSync(import.meta.dirname).filter(
      (f) => /^[\w-]+\.ts$/.test(f) && !f.endsWith('.test.ts'),
    ))
      for (const m of readFileSync(join(import.meta.dirname, file), 'utf8').matchAll(
        /export const (\w+) = defineAccountKind(?:<[^(]*>)?\(/g,
      ))
        defined.push(`./${file} ${m[1]}`);
    assert.ok(defined.length >= 40);
    const listed = Object.values(accountKindManifest).map(([path, name]) => `${path} ${name}`);
    assert.deepEqual(defined.sort(), listed.sort());
  });

  it('every kind a polled source names is in the manifest', async () => {
    const { sources } = await import('../sources/index.ts');
    const { accountKindsOf, isPushSource } = await import('../core/source.ts');
    for (const s of Object.values(sources).filter((s) => !isPushSource(s)))
      for (const k of accountKindsOf(s)) assert.ok(Object.hasOwn(accountKindManifest, k), `${s.id}: ${k}`);
  });
});
