import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineFeed } from './line-feed.ts';

/** A body the test writes to chunk by chunk, as a server would over a kept-open connection. */
function body() {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        ctl = c;
      },
      pull: () => {
        pulls++;
      },
    },
    { highWaterMark: 0 },
  );
  const enc = new TextEncoder();
  return {
    stream,
    write: (s: string) => ctl.enqueue(enc.encode(s)),
    end: () => ctl.close(),
    fail: () => ctl.error(new Error('connection reset')),
    pulls: () => pulls,
  };
}

describe('LineFeed', () => {
  it('returns complete lines up to max, keeps a partial line, skips keep-alive blank lines', async () => {
    const b = body();
    const feed = new LineFeed(b.stream);
    b.write('{"a":1}\n\r\n{"a":2}\r\n{"a":');
    assert.deepEqual(await feed.take(10, 50), { lines: ['{"a":1}', '{"a":2}'], ended: false });
    b.write('3}\n{"a":4}\n{"a":5}\n');
    assert.deepEqual(await feed.take(2, 50), { lines: ['{"a":3}', '{"a":4}'], ended: false });
    assert.deepEqual(await feed.take(2, 50), { lines: ['{"a":5}'], ended: false });
    b.write('{"a":6}');
    b.end();
    assert.deepEqual(
      await feed.take(5, 50),
      { lines: ['{"a":6}'], ended: true },
      'the last line without its end',
    );
  });

  it('waits at most waitMs when nothing is there, and the pending read is not lost', async () => {
    const b = body();
    const feed = new LineFeed(b.stream);
    const t0 = Date.now();
    assert.deepEqual(await feed.take(5, 30), { lines: [], ended: false });
    assert.ok(Date.now() - t0 >= 25);
    b.write('{"late":true}\n');
    assert.deepEqual(await feed.take(5, 1000), { lines: ['{"late":true}'], ended: false });
  });

  it('a dropped connection ends the feed with its error; a line it cut off is not returned', async () => {
    const b = body();
    const feed = new LineFeed(b.stream);
    b.write('{"a":1}\n{"metadata":{"off');
    assert.deepEqual((await feed.take(5, 50)).lines, ['{"a":1}']);
    b.fail();
    const r = await feed.take(5, 1000);
    assert.deepEqual(
      r,
      { lines: [], ended: true },
      'the half line is dropped: it comes again on the reconnect',
    );
    assert.match(String(feed.error), /connection reset/);
  });

  it('close() drops a partial line too', async () => {
    const b = body();
    const feed = new LineFeed(b.stream);
    b.write('{"a":1}\n{"a":');
    assert.deepEqual((await feed.take(1, 50)).lines, ['{"a":1}']);
    await feed.close();
    assert.deepEqual(await feed.take(5, 50), { lines: [], ended: true });
  });

  it('skips a line past the limit instead of growing without bound, and reads on', async () => {
    const b = body();
    const feed = new LineFeed(b.stream, { maxLineChars: 100 });
    b.write('{"before":1}\n');
    b.write('x'.repeat(150));
    b.write('y'.repeat(150));
    assert.deepEqual(await feed.take(5, 50), { lines: ['{"before":1}'], ended: false });
    b.write('z\n{"after":1}\n');
    assert.deepEqual(await feed.take(5, 50), { lines: ['{"after":1}'], ended: false });
    assert.equal(feed.skipped, 1);
  });
});
