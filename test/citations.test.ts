import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { it } from 'node:test';

/**
 * Code cites what the repository holds (docs/, the code itself) or the vendor's documentation, never a
 * document outside it: a design brief, a catalogue next to the repository, a path on someone's machine.
 */

const root = join(import.meta.dirname, '..');
const DIRS = ['src', 'test', 'bench', 'ui', 'bin', 'docs'];
const SKIP = new Set(['node_modules', 'dist', 'lib']);

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* files(path);
    else if (/\.(ts|tsx|js|mjs|md|html|css)$/.test(e.name) || dir.endsWith('bin')) yield path;
  }
}

const OUTSIDE: Array<[RegExp, string]> = [
  [/\bDESIGN(\.md)?\s*§/, 'a design brief outside the repository'],
  [/(?:\.\.\/)+shared\//, 'a file beside the repository'],
  [/\bvendors\/catalog\.md\b/, 'a catalogue outside the repository'],
  [/\/work\/(?:main|wt|shared|notes)\b/, 'a path on a build machine'],
];

it('no file cites a document outside the repository', () => {
  const found: string[] = [];
  for (const dir of DIRS) {
    let all: string[];
    try {
      all = [...files(join(root, dir))];
    } catch {
      continue; // a directory this checkout does not have
    }
    for (const path of all) {
      if (path === import.meta.filename) continue;
      const lines = readFileSync(path, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const [re, what] of OUTSIDE)
          if (re.test(line)) found.push(`${relative(root, path)}:${i + 1} cites ${what}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(found, []);
});

/**
 * A simulator follows its vendor's documentation, so its header comment cites it: at least one URL of a page
 * (`https://…` or a host with a path), or, for a simulator with no vendor to follow (the generic REST API,
 * a pipeline whose vendor publishes nothing), the words "No vendor documentation".
 */

const PAGE_URL = /https:\/\/[^\s)`"]+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}\/[^\s)`"]*/;

it('every vendor simulator cites the documentation it follows by URL, or says there is none', () => {
  const uncited: string[] = [];
  for (const dir of ['src/sources', 'src/destinations']) {
    for (const path of files(join(root, dir))) {
      if (!/simulator\.ts$/.test(path)) continue;
      const file = relative(root, path);
      const header = /\/\*\*[\s\S]*?\*\//.exec(readFileSync(path, 'utf8'))?.[0] ?? '';
      const cited = PAGE_URL.test(header) || /No vendor documentation/.test(header);
      if (!cited) uncited.push(file);
    }
  }
  assert.deepEqual(uncited, [], 'simulator headers without a documentation URL');
});
