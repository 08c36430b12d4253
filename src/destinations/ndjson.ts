import { type Envelope, encodeLine, writeLine } from '../core/envelope.ts';

/**
 * One envelope as exactly one line of JSON, without its newline. Readers split NDJSON on '\n', so a
 * line must never contain one: `encodeLine` guarantees it (a RawJson vendor text that is
 * pretty-printed loses the line breaks between its tokens, which keeps every token intact).
 */
export function envelopeLine(envelope: Envelope): string {
  return encodeLine(envelope);
}

/** A batch as NDJSON text: one line per envelope, each ending with '\n'; '' for no envelopes. */
export function ndjson(events: readonly Envelope[]): string {
  let text = '';
  for (const e of events) text += `${envelopeLine(e)}\n`;
  return text;
}

/** A buffer bigger than this is not kept for the next batch once a batch a quarter its size comes. */
const KEEP = 8 * 1024 * 1024;

/**
 * Encodes batches as NDJSON bytes (UTF-8) into one buffer reused from batch to batch: the same bytes
 * as `Buffer.from(ndjson(events))`, with each line's parts (the envelope's head, the vendor's text)
 * copied straight in. No batch-sized string is built (only to be flattened and encoded once) and no
 * fresh batch-sized buffer is allocated each time: on a gigabyte log file those were most of the
 * process's memory, as garbage in the old generation and fragments of the C heap. The returned view
 * is valid until the next `encode`, so a destination whose sends are serialised owns one encoder.
 */
export class NdjsonEncoder {
  private buffer = Buffer.allocUnsafeSlow(64 * 1024);

  encode(events: readonly Envelope[]): Buffer {
    if (this.buffer.length > KEEP) this.buffer = Buffer.allocUnsafeSlow(KEEP / 4);
    let at = 0;
    for (const e of events) {
      // Grown first when it might not fit: a line is never written in part.
      let end = writeLine(this.buffer, at, e);
      while (end < 0) {
        this.grow(at, 2 * this.buffer.length);
        end = writeLine(this.buffer, at, e);
      }
      at = end;
    }
    return this.buffer.subarray(0, at);
  }

  /** A buffer of at least `size` bytes holding the first `used` bytes of the current one. */
  private grow(used: number, size: number): void {
    const bigger = Buffer.allocUnsafeSlow(Math.max(size, 2 * this.buffer.length));
    this.buffer.copy(bigger, 0, 0, used);
    this.buffer = bigger;
  }
}
