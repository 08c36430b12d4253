import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CHROMIUM, ROOT } from '../support/console.ts';

/**
 * `npm run screenshots` keeps working: the script that regenerates docs/screenshots runs here, into a
 * temporary directory, so CI fails when it breaks (it had silently broken once: a collector it made was
 * refused after a change to where credentials may go). Only that it runs and writes each picture is
 * checked, never what the pixels are.
 */

const EXPECTED = [
  'overview',
  'collector-details',
  'collector-error',
  'new-collector-sources',
  'new-collector-guide',
  'new-collector-form',
  'accounts',
  'settings-destinations',
  'settings-audit',
  'rest-api-preview',
  'push-collector-token',
  'push-collector',
];

const available = existsSync(CHROMIUM);
const skip =
  !available && process.env.CI !== 'true' ? `${CHROMIUM} is missing: apt-get install -y chromium` : false;

describe('npm run screenshots', { skip }, () => {
  it('writes every screenshot (into a temporary directory here)', async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'tributary-screenshots-'));
    const docs = join(ROOT, 'docs/screenshots');
    const stamps = () => readdirSync(docs).map((f) => `${f}@${statSync(join(docs, f)).mtimeMs}`);
    const before = stamps();
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const child = spawn(process.execPath, [join(ROOT, 'ui/scripts/screenshots.ts')], {
      cwd: ROOT,
      env: { ...process.env, TRIBUTARY_SCREENSHOTS_DIR: out, TRIBUTARY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((ok) => child.once('exit', ok));
    assert.equal(code, 0, `the screenshot script failed:\n${output}`);
    assert.deepEqual(readdirSync(out).sort(), EXPECTED.map((n) => `${n}.png`).sort());
    for (const name of EXPECTED) {
      const png = readFileSync(join(out, `${name}.png`));
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], `${name}.png is a PNG`);
      assert.equal(png.readUInt32BE(16), 1366, `${name}.png is a page 1366 pixels wide`);
    }
    assert.deepEqual(stamps(), before, 'docs/screenshots left alone');
  });
});
