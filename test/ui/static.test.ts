import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveConsole } from '../../src/api/static.ts';

/** How `tributary serve` serves the built console (src/api/static.ts), on a fake build. */

const dir = mkdtempSync(join(tmpdir(), 'tributary-static-'));
const built = join(dir, 'built');
let server: Server;
let base = '';

before(async () => {
  mkdirSync(join(built, 'assets'), { recursive: true });
  writeFileSync(join(built, 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(join(built, 'assets', 'index-AbC123.js'), 'console.log(1)');
  writeFileSync(join(built, 'assets', 'index-AbC123.css'), 'body{}');
  writeFileSync(join(built, 'favicon.svg'), '<svg/>');
  writeFileSync(join(dir, 'secret.txt'), 'outside the build');
  server = createServer((req, res) => {
    const root = req.headers['x-root'] === 'missing' ? join(dir, 'nothing') : built;
    const url = new URL(req.url ?? '/', 'http://x');
    void serveConsole(root, url.pathname, res, req.method === 'HEAD').then((served) => {
      if (!served) res.writeHead(404).end('not found');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('console static files', () => {
  it('serves files with their content type; hashed assets immutable, pages revalidated', async () => {
    const js = await fetch(`${base}/assets/index-AbC123.js`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(
      (await fetch(`${base}/assets/index-AbC123.css`)).headers.get('content-type'),
      'text/css; charset=utf-8',
    );
    const svg = await fetch(`${base}/favicon.svg`);
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    assert.equal(svg.headers.get('cache-control'), 'no-cache');
  });

  it('answers index.html for client routes, with a CSP that allows no inline script or style', async () => {
    for (const path of ['/', '/collectors/okta-prod', '/settings/audit']) {
      const r = await fetch(base + path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(r.headers.get('cache-control'), 'no-cache');
      assert.match(await r.text(), /id="root"/);
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self';/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe/);
    }
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('404s missing assets and file-like paths; nothing outside the build, no dotfiles', async () => {
    for (const path of [
      '/assets/gone-123.js',
      '/robots.txt',
      '/..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/.env',
      '/%E0%A4%A',
    ])
      assert.equal((await fetch(base + path)).status, 404, path);
  });

  it('without a build, / says to run npm run build:ui', async () => {
    const r = await fetch(`${base}/`, { headers: { 'x-root': 'missing' } });
    assert.equal(r.status, 503);
    assert.match(await r.text(), /npm run build:ui/);
  });
});
