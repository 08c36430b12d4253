import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { destinationCatalog, destinationConfigSchema } from './index.ts';

const problems = (config: unknown) => {
  const r = destinationConfigSchema.safeParse(config);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('the buffer setting', () => {
  it('is off when absent, and takes defaults when present', () => {
    const off = destinationConfigSchema.parse({ kind: 'stdout' });
    assert.equal((off as { buffer?: unknown }).buffer, undefined);
    const on = destinationConfigSchema.parse({
      kind: 'file',
      path: 'out.ndjson',
      buffer: { maxBytes: 1 << 20 },
    });
    assert.deepEqual(on.buffer, {
      maxBytes: 1 << 20,
      spillAfterMs: 5000,
      backoffBaseMs: 1000,
      backoffMaxMs: 60_000,
    });
  });

  it('reports bad values naming the field and what was expected', () => {
    assert.deepEqual(problems({ kind: 'stdout', buffer: {} }), [
      'buffer.maxBytes: expected the buffer’s size cap in bytes, e.g. 268435456 for 256 MiB',
    ]);
    assert.deepEqual(problems({ kind: 'stdout', buffer: { maxBytes: 1000 } }), [
      'buffer.maxBytes: expected at least 65536 bytes (64 KiB)',
    ]);
    assert.deepEqual(problems({ kind: 'stdout', buffer: { maxBytes: 1.5e6 + 0.5 } }), [
      'buffer.maxBytes: expected a whole number of bytes',
    ]);
    assert.match(
      problems({ kind: 'stdout', buffer: { maxBytes: 1 << 20, size: 3 } })[0]!,
      /^buffer: unknown key "size"/,
    );
    assert.deepEqual(
      problems({ kind: 'stdout', buffer: { maxBytes: 1 << 20, backoffBaseMs: 10, backoffMaxMs: 5 } }),
      ['buffer.backoffMaxMs: backoffMaxMs must be at least backoffBaseMs'],
    );
  });

  it('keeps each kind’s own checks', () => {
    // syslog's refinement (a TLS option without protocol tls) still applies with a buffer.
    assert.deepEqual(
      problems({
        kind: 'syslog',
        host: 'h',
        port: 514,
        protocol: 'udp',
        maxMessageBytes: 70_000,
        buffer: { maxBytes: 1 << 20 },
      }),
      ['maxMessageBytes: a UDP datagram carries at most 65000 bytes of message here'],
    );
    assert.deepEqual(problems({ kind: 'file', path: 'x', nope: 1, buffer: { maxBytes: 1 << 20 } }).length, 1);
  });

  it('is in every kind’s settings schema (the console form and `tributary destinations --json`)', () => {
    for (const k of destinationCatalog()) {
      const props = (k.settings as { properties: Record<string, { description?: string }> }).properties;
      assert.ok(props.buffer, k.kind);
      assert.match(props.buffer.description ?? '', /Durable buffer/);
      assert.ok((k.settings as { description?: string }).description, `${k.kind} keeps its description`);
    }
  });
});
