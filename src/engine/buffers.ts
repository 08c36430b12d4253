/** What `--expose-gc` (set by bin/tributary, see bin/node-flags) puts on the global object. */
type Gc = (options: { type: 'minor' | 'major' }) => void;

/**
 * Bytes between two young-generation collections. Every 8 MB let 20–27 MB of dead chunks pile up
 * between collections: V8 answered the external memory with a full mark-compact every ≈50 ms of a
 * download (twice as many as the rest of the run), and the freed chunks stayed in the resident set as
 * malloc's free lists under the heap that grew afterwards. Every 1 MB (bench: salesforce-eventlog, README
 * Performance) the download holds ≈5 MB of them, needs no mark-compact, and ends in half the time.
 */
export const RELEASE_EVERY = 1024 * 1024;

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
  every = RELEASE_EVERY,
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
