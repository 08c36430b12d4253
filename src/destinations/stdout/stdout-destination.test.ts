import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { type Envelope, makeEnvelope, RawJson } from '../../core/envelope.ts';
import type { TributaryError } from '../../core/errors.ts';
import { StdoutDestination } from './stdout-destination.ts';

const signal = new AbortController().signal;
const env = (id: string, raw: unknown): Envelope =>
  makeEnvelope({ source: 's', stream: 't', collector: 'c' }, raw, id, undefined, '2026-11-25T10:00:00.000Z');

/** A writable that collects what it is given and finishes each write only when told to. */
function heldStream(highWaterMark: number) {
  const chunks: string[] = [];
  const pending: Array<() => void> = [];
  const out = new Writable({
    highWaterMark,
    write(chunk, _enc, done) {
      chunks.push(chunk.toString());
      pending.push(done);
      out.emit('took');
    },
  });
  const release = () => {
    for (const done of pending.splice(0)) done();
  };
  return { out, chunks, release };
}

describe('stdout destination', () => {
  it('writes each envelope as one NDJSON line', async () => {
    const chunks: string[] = [];
    const out = new Writable({
      write(chunk, _enc, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const d = new StdoutDestination('out', out);
    await d.send([env('x', { a: 1 }), env('y', new RawJson('{"big":12345678901234567890}'))], signal);
    assert.equal(chunks.length, 1, 'one write per batch: concurrent sends cannot interleave lines');
    assert.equal(
      chunks[0],
      `${JSON.stringify({ id: 'x', time: '2026-11-25T10:00:00.000Z', source: 's', stream: 't', collector: 'c', ingested_at: '2026-11-25T10:00:00.000Z', raw: { a: 1 } })}\n` +
        '{"id":"y","time":"2026-11-25T10:00:00.000Z","source":"s","stream":"t","collector":"c","ingested_at":"2026-11-25T10:00:00.000Z","raw":{"big":12345678901234567890}}\n',
    );
    await d.close();
  });

  it('resolves only once the stream has taken the bytes and drained', async () => {
    const { out, chunks, release } = heldStream(16);
    const d = new StdoutDestination('out', out);
    let resolved = false;
    const took = once(out, 'took');
    const sending = d.send([env('x', { a: 1 })], signal).then(() => (resolved = true));
    await took;
    assert.equal(chunks.length, 1);
    assert.equal(resolved, false, 'not acknowledged while the stream holds the write');
    release();
    await sending;
    assert.equal(out.writableNeedDrain, false);
    await d.close();
  });

  it('stops waiting for drain when cancelled', async () => {
    const { out } = heldStream(16);
    const d = new StdoutDestination('out', out);
    const ac = new AbortController();
    const took = once(out, 'took');
    const sending = d.send([env('x', { a: 1 })], ac.signal);
    await took;
    ac.abort();
    // The write callback is still outstanding: cancellation must not hang on it.
    await assert.rejects(sending, { name: 'AbortError' });
    await d.close();
  });

  it('reports a broken stream (the reader went away) as a config error, without crashing', async () => {
    const out = new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const d = new StdoutDestination('out', out);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        d.send([env('x', { a: 1 })], signal),
        (e: TributaryError) =>
          e.type === 'config' && e.code === 'destination_closed' && /EPIPE/.test(e.message),
      );
    }
    await d.close();
  });
});
