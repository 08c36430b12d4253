import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirs } from './support/temp-dirs.ts';

/** The import rule (scripts/check-layers.ts, run by `npm run lint`) holds, and would catch a breach. */

const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'check-layers.ts');
const fresh = tempDirs('tributary-layers');
const check = (root?: string) =>
  spawnSync(process.execPath, [SCRIPT], {
    encoding: 'utf8',
    env: { ...process.env, ...(root ? { TRIBUTARY_LAYERS_ROOT: root } : {}) },
  });

function tree(files: Record<string, string>): string {
  const root = fresh();
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('layers', () => {
  it('every import in src/ points down', () => {
    const r = check();
    assert.equal(r.status, 0, r.stderr);
  });

  it('refuses the engine importing a source registry, and shipped code importing test/', () => {
    const root = tree({
      'src/sources/index.ts': 'export const sources = {};\n',
      'src/engine/runner.ts': "import { sources } from '../sources/index.ts';\nexport const x = sources;\n",
      'src/core/x.ts': "import { helper } from '../../test/support/helper.ts';\nexport const y = helper;\n",
      'src/core/x.test.ts':
        "import { helper } from '../../test/support/helper.ts';\nexport const z = helper;\n",
      'test/support/helper.ts': 'export const helper = 1;\n',
    });
    const r = check(root);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /src\/engine\/runner\.ts: imports \.\.\/sources\/index\.ts \(engine may not import sources\)/,
    );
    assert.match(
      r.stderr,
      /src\/core\/x\.ts: imports \.\.\/\.\.\/test\/support\/helper\.ts \(only tests may use test\/\)/,
    );
    assert.doesNotMatch(r.stderr, /x\.test\.ts/, 'tests beside the code may use test/support');
  });
});
