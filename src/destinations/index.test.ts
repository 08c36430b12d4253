import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirs } from '../../test/support/temp-dirs.ts';
import { makeEnvelope } from '../core/envelope.ts';
import { loadedIds } from '../core/lazy.ts';
import { fileScope } from './file/file-scope.ts';
import {
  createDestination,
  destinationConfigSchema,
  destinationKindManifest,
  destinationKinds,
  destinationSpec,
  destinationSpecOf,
  parseDestinationConfig,
} from './index.ts';

const fresh = tempDirs('tributary-dest');
const parse = (v: unknown) => destinationConfigSchema.parse(v);

describe('destination registry', () => {
  // First in this file: nothing else has loaded a kind yet.
  it('loads a kind on first use: one config of a known kind loads only that kind', () => {
    assert.deepEqual(loadedIds(destinationKinds), []);
    assert.ok(Object.hasOwn(destinationKinds, 'syslog'));
    assert.ok(!Object.hasOwn(destinationKinds, 'constructor'));
    const r = parseDestinationConfig({ kind: 'file', path: 'out/events.ndjson' });
    assert.ok(r.success);
    assert.deepEqual(destinationSpecOf('file'), { secrets: [], origins: [] });
    assert.deepEqual(loadedIds(destinationKinds), ['file']);
    assert.deepEqual(destinationSpecOf('splunk-hec').secrets, ['token']);
    assert.deepEqual(loadedIds(destinationKinds), ['file', 'splunk-hec']);
  });

  it('lists every folder of src/destinations that defines a kind', () => {
    const defining = readdirSync(import.meta.dirname, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(import.meta.dirname, e.name, 'index.ts')))
      .map((e) => e.name)
      .filter((d) =>
        /defineDestinationKind\(/.test(readFileSync(join(import.meta.dirname, d, 'index.ts'), 'utf8')),
      );
    assert.deepEqual(Object.keys(destinationKindManifest).sort(), defining.sort());
  });

  it("each entry is its module's kind of that name", () => {
    for (const [kind, [path]] of Object.entries(destinationKindManifest)) {
      assert.equal(path, `./${kind}/index.ts`);
      assert.equal(destinationKinds[kind]!.kind, kind);
    }
  });

  it('checks a config against its kind as the union does, and an unknown kind against the union', () => {
    for (const v of [
      { kind: 'file', path: 'x', maxFiles: 0 },
      { kind: 'http', url: 'ftp://nope' },
      { kind: 'splunk-hec', url: 'https://hec.example.com:8088' },
      { kind: 'stdout', buffer: { maxBytes: 1 } },
      { kind: 'nope' },
      { path: 'x' },
      'file',
    ]) {
      const one = parseDestinationConfig(v);
      const all = destinationConfigSchema.safeParse(v);
      assert.equal(one.success, all.success, JSON.stringify(v));
      assert.deepEqual(one.error?.issues, all.error?.issues, JSON.stringify(v));
    }
  });

  it("the union's spec is every kind's spec together", () => {
    const each = Object.keys(destinationKinds).map((k) => destinationSpecOf(k));
    assert.deepEqual(
      [...destinationSpec.secrets].sort(),
      [...new Set(each.flatMap((s) => s.secrets))].sort(),
    );
    assert.deepEqual(
      [...destinationSpec.origins].sort(),
      [...new Set(each.flatMap((s) => s.origins))].sort(),
    );
    assert.deepEqual(destinationSpecOf('nope'), { secrets: [], origins: [] });
  });
});

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
