import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirs } from '../../test/support/temp-dirs.ts';
import { makeEnvelope } from '../core/envelope.ts';
import { fileScope } from './file/file-scope.ts';
import { createDestination, destinationConfigSchema, destinationKinds } from './index.ts';

const fresh = tempDirs('tributary-dest');
const parse = (v: unknown) => destinationConfigSchema.parse(v);

describe('destination config', () => {
  it("accepts every registered kind's schema, and only those", () => {
    const options = destinationConfigSchema.options as unknown[];
    assert.equal(options.length, Object.keys(destinationKinds).length);
    for (const k of Object.values(destinationKinds)) assert.ok(options.includes(k.schema), k.kind);
  });

  it('fills in the documented defaults', () => {
    assert.deepEqual(parse({ kind: 'file', path: 'out/events.ndjson' }), {
      kind: 'file',
      path: 'out/events.ndjson',
      maxBytes: 100 * 1024 * 1024,
      maxFiles: 10,
    });
    assert.deepEqual(parse({ kind: 'http', url: 'https://siem.example.com/ingest/' }), {
      kind: 'http',
      url: 'https://siem.example.com/ingest/',
      format: 'ndjson',
      gzip: false,
      headers: {},
      timeout: 30_000,
      maxBatchBytes: 5 * 1024 * 1024,
      maxBatchEvents: 10_000,
      concurrency: 4,
      maxAttempts: 5,
      backoffBaseMs: 500,
      backoffMaxMs: 15_000,
    });
  });

  it('rejects unknown fields, unknown kinds, bad auth and reserved headers, with paths', () => {
    const issues = (v: unknown) => {
      const r = destinationConfigSchema.safeParse(v);
      assert.equal(r.success, false, JSON.stringify(v));
      return r.error!.issues.map((i) => i.path.join('.'));
    };
    assert.deepEqual(issues({ kind: 'file', path: 'x', maxbytes: 1 }), ['']);
    assert.deepEqual(issues({ kind: 'kafka' }), ['kind']);
    assert.deepEqual(issues({ kind: 'stdout', path: 'x' }), ['']);
    assert.deepEqual(issues({ kind: 'http', url: 'https://x.example', auth: { type: 'bearer' } }), [
      'auth.token',
    ]);
    assert.deepEqual(issues({ kind: 'http', url: 'https://x.example', headers: { 'Content-Length': '1' } }), [
      'headers.Content-Length',
    ]);
    assert.deepEqual(issues({ kind: 'http', url: 'https://x.example', headers: { 'bad name': 'v' } }), [
      'headers.bad name',
    ]);
  });

  it('describes every field (the UI form and the docs are derived from it)', () => {
    const undescribed: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (!node || typeof node !== 'object') return;
      const { properties, ...rest } = node as { properties?: Record<string, { description?: string }> };
      for (const [key, field] of Object.entries(properties ?? {})) {
        if (key !== 'kind' && key !== 'type' && !field.description) undescribed.push(`${path}.${key}`);
        walk(field, `${path}.${key}`);
      }
      for (const [key, child] of Object.entries(rest)) walk(child, `${path}/${key}`);
    };
    walk(destinationConfigSchema.toJSONSchema(), '');
    assert.deepEqual(undescribed, []);
  });
});

describe('createDestination', () => {
  it('resolves a relative file path against baseDir', async () => {
    const baseDir = fresh();
    const d = createDestination('local', parse({ kind: 'file', path: 'out/events.ndjson' }), {
      baseDir,
      files: fileScope(baseDir),
    });
    assert.equal(d.kind, 'file');
    assert.equal(d.name, 'local');
    await d.send(
      [
        makeEnvelope(
          { source: 's', stream: 't', collector: 'c' },
          {},
          'x',
          undefined,
          '2026-11-25T10:00:00.000Z',
        ),
      ],
      new AbortController().signal,
    );
    await d.close();
    assert.equal(JSON.parse(readFileSync(join(baseDir, 'out', 'events.ndjson'), 'utf8')).id, 'x');
  });

  it('builds stdout and http destinations', () => {
    const files = fileScope(fresh());
    assert.equal(createDestination('o', parse({ kind: 'stdout' }), { baseDir: '/', files }).kind, 'stdout');
    const h = createDestination('h', parse({ kind: 'http', url: 'https://siem.example.com/' }), {
      baseDir: '/',
      files,
    });
    assert.equal(h.kind, 'http');
  });
});
