/** What `--expose-gc` (set by bin/tributary, see bin/node-flags) puts on the global object. */
type Gc = (options: { type: 'minor' | 'major' }) => void;

/**
 * The chunks of a large body, passed through; after every `every` bytes the young generation is
 * collected (when the process has `--expose-gc`, as bin/tributary gives it; otherwise nothing more).
 * Each chunk is a buffer outside the JavaScript heap behind a small object inside it, and V8 decides
 * when to collect by the heap alone: on a gigabyte download tens of MB of dead chunks wait for a
 * collection that a few hundred bytes of heap per chunk do not bring. A young-generation collection
 * takes well under a millisecond and gives them back at once.
 */
export async function* releasingChunks<T extends { byteLength: number }>(
  chunks: AsyncIterable<T>,
  every = 8 * 1024 * 1024,
): AsyncGenerator<T> {
  const gc = (globalThis as { gc?: Gc }).gc;
  let since = 0;
  for await (const chunk of chunks) {
    yield chunk;
    since += chunk.byteLength;
    if (since >= every) {
      since = 0;
      gc?.({ type: 'minor' });
    }
  }
}
