import { type Envelope, encodeLine } from '../core/envelope.ts';

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
