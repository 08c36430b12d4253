import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirs } from '../../../test/support/temp-dirs.ts';
import { type Envelope, makeEnvelope } from '../../core/envelope.ts';
import { FileDestination } from './file-destination.ts';

const fresh = tempDirs('tributary-file');
const signal = new AbortController().signal;
const envs = (n: number, tag = 'e'): Envelope[] =>
  Array.from({ length: n }, (_, i) =>
    makeEnvelope(
      { source: 's', stream: 't', collector: 'c' },
      { n: i, tag },
      `${tag}${i}`,
      undefined,
      '2026-11-25T10:00:00.000Z',
    ),
  );
const lines = (p: string) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('file destination', () => {
  it('writes one envelope per line, durable when send resolves, creating directories', async () => {
    const path = join(fresh(), 'deep', 'events.ndjson');
    const d = new FileDestination('f', { path, maxBytes: 1 << 30, maxFiles: 3 });
    await d.send(envs(3), signal);
    assert.deepEqual(
      lines(path).map((e) => e.id),
      ['e0', 'e1', 'e2'],
    ); // readable right after the ack
    await d.send(envs(2, 'x'), signal);
    assert.deepEqual(
      lines(path).map((e) => e.id),
      ['e0', 'e1', 'e2', 'x0', 'x1'],
    );
    assert.deepEqual(lines(path)[0].raw, { n: 0, tag: 'e' });
    await d.close();
  });

  it('cuts a torn trailing line left by a crash before appending', async () => {
    const path = join(fresh(), 'events.ndjson');
    writeFileSync(path, '{"id":"a"}\n{"id":"b"}\n{"id":"tor');
    const d = new FileDestination('f', { path, maxBytes: 1 << 30, maxFiles: 3 });
    await d.send(envs(1), signal);
    assert.deepEqual(
      lines(path).map((e) => e.id),
      ['a', 'b', 'e0'],
    );
    await d.close();
  });

  it('rotates by size, keeps maxFiles, never splits a line', async () => {
    const path = join(fresh(), 'events.ndjson');
    const d = new FileDestination('f', { path, maxBytes: 600, maxFiles: 2 });
    for (let i = 0; i < 10; i++) await d.send(envs(3, `b${i}-`), signal);
    await d.close();
    assert.ok(existsSync(`${path}.1`) && existsSync(`${path}.2`));
    assert.ok(!existsSync(`${path}.3`));
    const all = [...lines(`${path}.2`), ...lines(`${path}.1`), ...lines(path)].map((e) => e.id);
    assert.deepEqual(all.slice(-3), ['b9-0', 'b9-1', 'b9-2'], 'newest last, every line whole');
    for (let i = 1; i < all.length; i++) assert.ok(all[i] !== all[i - 1]);
  });

  it('serialises concurrent sends so lines never interleave', async () => {
    const path = join(fresh(), 'events.ndjson');
    const d = new FileDestination('f', { path, maxBytes: 1 << 30, maxFiles: 1 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => d.send(envs(50, `p${i}-`), signal)));
    await d.close();
    const got = lines(path);
    assert.equal(got.length, 1000);
    for (let i = 0; i < 20; i++) {
      const ids = got.filter((e) => e.id.startsWith(`p${i}-`)).map((e) => e.id);
      assert.equal(ids.length, 50);
    }
  });

  it('reports an unwritable path as a transient error naming the destination', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'file'), 'x');
    const d = new FileDestination('archive', {
      path: join(dir, 'file', 'events.ndjson'),
      maxBytes: 1 << 30,
      maxFiles: 1,
    });
    await assert.rejects(
      d.send(envs(1), signal),
      (e: Error & { type?: string }) => e.type === 'transient' && /archive/.test(e.message),
    );
    await assert.rejects(d.test(), /archive cannot write/);
  });
});
