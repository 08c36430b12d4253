import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { makeEnvelope } from '../../core/envelope.ts';
import { StdoutDestination } from './stdout-destination.ts';

it('stdout destination writes NDJSON and acknowledges after the write', async () => {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const d = new StdoutDestination('out', out);
  await d.send(
    [
      makeEnvelope(
        { source: 's', stream: 't', collector: 'c' },
        { a: 1 },
        'x',
        undefined,
        '2026-11-25T10:00:00.000Z',
      ),
    ],
    new AbortController().signal,
  );
  assert.equal(
    chunks.join(''),
    `${JSON.stringify({ id: 'x', time: '2026-11-25T10:00:00.000Z', source: 's', stream: 't', collector: 'c', ingested_at: '2026-11-25T10:00:00.000Z', raw: { a: 1 } })}\n`,
  );
});
