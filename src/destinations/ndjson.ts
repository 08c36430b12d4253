import { type Envelope, encodeLine } from '../core/envelope.ts';

const LINE_BREAK = /[\r\n]/g;

/**
 * One envelope as exactly one line of JSON, without its newline. Readers split NDJSON on '\n', so a
 * line must never contain one. `encodeLine` splices a RawJson vendor text in verbatim; should that
 * text be pretty-printed, its line breaks are whitespace between tokens (valid JSON cannot hold a raw
 * line break inside a string), so removing them keeps every token, and the vendor's bytes, intact.
 */
export function envelopeLine(envelope: Envelope): string {
  const line = encodeLine(envelope);
  return line.includes('\n') || line.includes('\r') ? line.replace(LINE_BREAK, '') : line;
}

/** A batch as NDJSON text: one line per envelope, each ending with '\n'; '' for no envelopes. */
export function ndjson(events: readonly Envelope[]): string {
  let text = '';
  for (const e of events) text += `${envelopeLine(e)}\n`;
  return text;
}
