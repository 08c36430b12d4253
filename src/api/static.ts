import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

/**
 * The web console's static files (the Vite build in dist/ui, `npm run build:ui`) at /: files by path,
 * index.html for any other page so the console's client-side routes work, a strict CSP (no inline
 * script or style), and hashed files under /assets/ cached for a year. Without a build, / says how to
 * make one.
 */

export const DEFAULT_UI_DIR = resolve(import.meta.dirname, '../../dist/ui');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Tributary</title>
<h1>Tributary</h1><p>The web console is not built. Run <code>npm run build:ui</code>, then reload this page.
The API is available meanwhile: <a href="/api/openapi.json">/api/openapi.json</a>.</p></html>`;

async function file(path: string): Promise<Buffer | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined;
    return await readFile(path);
  } catch {
    return undefined;
  }
}

/** Answers a GET or HEAD for a non-API path; returns false when there is nothing to serve (404). */
export async function serveConsole(
  root: string,
  pathname: string,
  res: ServerResponse,
  head: boolean,
): Promise<boolean> {
  const send = (status: number, type: string, body: Buffer | string, cache: string) => {
    res.setHeader('content-security-policy', CONSOLE_CSP);
    res.setHeader('referrer-policy', 'same-origin');
    res.setHeader('cache-control', cache);
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(head ? undefined : body);
    return true;
  };
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  // No traversal, no dotfiles, no NUL: the segments must be plain names.
  const segments = path.split('/').filter(Boolean);
  if (segments.some((s) => s.startsWith('.') || s.includes('\0') || s.includes('\\'))) return false;
  const target = resolve(root, ...segments);
  if (target !== root && !target.startsWith(root + sep)) return false;

  const asset = segments.length ? await file(target) : undefined;
  if (asset) {
    const hashed = segments[0] === 'assets';
    return send(
      200,
      TYPES[extname(target).toLowerCase()] ?? 'application/octet-stream',
      asset,
      hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    );
  }
  // A missing asset (or any other file-looking path) is a 404, not the console page.
  if (segments[0] === 'assets' || extname(segments.at(-1) ?? '')) return false;
  const index = await file(resolve(root, 'index.html'));
  if (!index) return send(503, 'text/html; charset=utf-8', NOT_BUILT, 'no-store');
  return send(200, 'text/html; charset=utf-8', index, 'no-cache');
}
