import { keepVendorText } from '../core/envelope.ts';
import type { HttpResponse } from '../core/source.ts';

/**
 * Reads a stream of JSON objects that is either newline-delimited (JSONL) or concatenated JSON
 * (`{…}{…}`, as some vendors' "JSONL" files are), in bounded memory. Each line is tried with
 * JSON.parse first (the fast path); a line that fails is re-scanned for concatenated objects, and
 * whatever still does not parse is reported as bad text rather than dropped silently.
 */
/** `text` is the item's exact JSON text; `size` its length in characters, for batching by volume. */
export type JsonItem = ({ value: unknown; text: string } | { error: string; text: string }) & {
  size: number;
};

export async function* jsonObjects(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<JsonItem> {
  for await (const items of jsonObjectChunks(chunks)) yield* items;
}

/**
 * `jsonObjects`, the items of each chunk together: a reader of millions of small records pays for one
 * async step per chunk rather than per record.
 */
export async function* jsonObjectChunks(
  chunks: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<JsonItem[]> {
  const decoder = new TextDecoder();
  // Lines are cut straight out of each decoded chunk; only a line that spans chunks is joined. (Joining
  // every chunk to the rest of the previous one would copy the whole stream once more.)
  let carry = '';
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl = text.indexOf('\n');
    if (nl === -1) {
      carry += text;
      if (carry.length > 1 << 20) {
        // A long run without newlines: concatenated JSON. Emit the complete objects, keep the rest.
        const { items, rest } = scanObjects(carry);
        if (items.length) yield items;
        carry = rest;
      }
      continue;
    }
    const items: JsonItem[] = [];
    parseLine(carry ? carry + text.slice(0, nl) : text.slice(0, nl), items);
    let start = nl + 1;
    while ((nl = text.indexOf('\n', start)) !== -1) {
      parseLine(text.slice(start, nl), items);
      start = nl + 1;
    }
    carry = text.slice(start);
    if (items.length) yield items;
  }
  const items: JsonItem[] = [];
  parseLine(carry + decoder.decode(), items);
  if (items.length) yield items;
}

/** The items of one line, added to `out`. */
export function parseLine(line: string, out: JsonItem[]): void {
  const text = line.trim();
  if (!text) return;
  try {
    out.push({ value: JSON.parse(text), text, size: text.length });
  } catch {
    const { items, rest } = scanObjects(text);
    for (const item of items) out.push(item);
    if (rest.trim())
      out.push({ error: 'not valid JSON', text: rest.trim().slice(0, 10_000), size: rest.length });
  }
}

/** Splits `{…}{…}` at top-level object boundaries, honouring strings and escapes. */
function scanObjects(text: string): { items: JsonItem[]; rest: string } {
  const items: JsonItem[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let begin = -1;
  let consumed = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 92 /* \\ */) escaped = true;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (depth === 0) begin = i;
      depth++;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
      if (depth === 0 && begin !== -1) {
        const piece = text.slice(begin, i + 1);
        try {
          items.push({ value: JSON.parse(piece), text: piece, size: piece.length });
        } catch (err) {
          items.push({ error: (err as Error).message, text: piece.slice(0, 10_000), size: piece.length });
        }
        consumed = i + 1;
        begin = -1;
      } else if (depth < 0) {
        items.push({
          error: 'unbalanced brackets',
          text: text.slice(consumed, i + 1).slice(0, 10_000),
          size: i + 1 - consumed,
        });
        depth = 0;
        consumed = i + 1;
      }
    }
  }
  return { items, rest: text.slice(consumed) };
}

/** Pieces decoded separately stay under the size at which Node decodes text into a two-byte string. */
const DECODE_PIECE = 256 * 1024;

/**
 * A response body parsed with `parseJson`. The body is decoded piece by piece rather than with
 * `text()`: Node decodes a body of more than about 1 MB into a two-byte (UTF-16) string as soon as
 * it holds one non-ASCII character, and every record text sliced from it, and every NDJSON line
 * built from those, would be two-byte too: twice the memory, and a slow UTF-8 encoding when written.
 * Smaller pieces come out one byte per character whenever they fit Latin-1; JSON.parse joins them.
 * (Measured: reading them into one Latin-1 string outside the JavaScript heap instead is slower.)
 */
export async function readJson(response: HttpResponse): Promise<unknown> {
  // 204 No Content has no body (RFC 9110 §15.3.5): Proofpoint's SIEM API answers it when nothing matched.
  if (response.status === 204) {
    await response.body?.cancel();
    return null;
  }
  let text = '';
  if (!response.body) text = await response.text();
  else {
    const decoder = new TextDecoder(); // like text(): a UTF-8 BOM is dropped, bad bytes become U+FFFD
    for await (const chunk of response.body) text += decodePieces(decoder, chunk);
    text += decoder.decode();
  }
  return parseBody(response, text);
}

/** `bytes` decoded with `decoder` (streaming) in pieces of `DECODE_PIECE`: see readJson. */
function decodePieces(decoder: InstanceType<typeof TextDecoder>, bytes: Uint8Array): string {
  let text = '';
  for (let at = 0; at < bytes.byteLength; at += DECODE_PIECE) {
    text += decoder.decode(bytes.subarray(at, at + DECODE_PIECE), { stream: true });
  }
  return text;
}

/** `readJson` of a body already read whole: the same text, the same errors. */
export function readJsonBytes(response: HttpResponse, bytes: Uint8Array): unknown {
  const decoder = new TextDecoder();
  return parseBody(response, decodePieces(decoder, bytes) + decoder.decode());
}

function parseBody(response: HttpResponse, text: string): unknown {
  try {
    return parseJson(text);
  } catch (err) {
    if (err instanceof SyntaxError) throw new UnexpectedBodyError(response, text, err);
    throw err;
  }
}

/** Characters shown of a body that is not JSON. */
const HEAD_CHARS = 200;

/**
 * A response body that JSON.parse refused. `truncated`: it is empty or starts like JSON, so it was most
 * likely cut off on the way and is worth asking for again. Otherwise the vendor, or something between
 * (a sign-in portal, a proxy, a web server at a wrong URL), answered with something else, such as an
 * HTML page: `contentType` and `head` (its first characters, control characters blanked) say what.
 */
export class UnexpectedBodyError extends Error {
  readonly status: number;
  readonly contentType: string;
  readonly head: string;
  readonly bytes: number;
  readonly truncated: boolean;

  constructor(response: HttpResponse, text: string, cause: SyntaxError) {
    super(cause.message, { cause });
    this.name = 'UnexpectedBodyError';
    this.status = response.status;
    this.contentType = printable(response.headers.get('content-type') ?? '').slice(0, 100);
    this.bytes = Buffer.byteLength(text);
    const start = text.slice(0, 4 * HEAD_CHARS).trimStart();
    const type = this.contentType.toLowerCase();
    this.truncated = (start === '' || start[0] === '{' || start[0] === '[') && !/html|xml/.test(type);
    // A copy, not a slice that would keep the whole body alive.
    this.head = Array.from(printable(start)).slice(0, HEAD_CHARS).join('');
  }
}

/** Control and format characters (line breaks, escapes, bidi overrides) blanked, runs of spaces joined. */
function printable(text: string): string {
  return text
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * JSON.parse of a vendor's response that also keeps each record's exact text (core/envelope.ts
 * `keepVendorText`): the records are the elements of a top-level array (`[{…},{…}]`) or of an array
 * that is a property of a top-level object (`{"data":[{…}],"next":…}`, `{"value":[…]}`). The envelope
 * then carries the vendor's own bytes in `raw`, spliced in rather than serialised again. JSON.parse
 * validates the whole text first; the scan that finds the records' boundaries relies on that.
 */
export function parseJson(text: string): unknown {
  const value = JSON.parse(text);
  if (typeof value === 'object' && value !== null) keepRecordTexts(text, value);
  return value;
}

/** Finds the records' spans in `text` (valid JSON, parsed to `value`) and remembers each one's text. */
function keepRecordTexts(text: string, value: object): void {
  const topArray = Array.isArray(value);
  const level = topArray ? 1 : 2; // depth at which a record's opening bracket appears
  const n = text.length;
  let depth = 0;
  let spans: number[] | undefined = topArray ? [] : undefined; // start, end of each object/array element
  let begin = -1;
  let keyStart = -1; // the last string at depth 1 of the top-level object: the key of the next value
  let keyEnd = -1;
  let key = '';
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      let j = text.indexOf('"', i + 1);
      while (text.charCodeAt(j - 1) === 92 /* \ */) {
        let k = j - 1;
        while (text.charCodeAt(k - 1) === 92) k--;
        if ((j - k) % 2 === 0) break; // an even run of backslashes escapes itself, not the quote
        j = text.indexOf('"', j + 1);
      }
      if (j === -1) return; // not valid JSON after all (JSON.parse would have thrown)
      if (depth === 1 && !topArray) {
        keyStart = i;
        keyEnd = j + 1;
      }
      i = j;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (depth === level && spans) begin = i;
      else if (depth === 1 && c === 91 && !topArray) {
        // An array value of the top-level object: its elements may be records.
        const k = text.slice(keyStart, keyEnd);
        key = k.includes('\\') ? JSON.parse(k) : k.slice(1, -1);
        spans = [];
      }
      depth++;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
      if (depth === level && spans) spans.push(begin, i + 1);
      else if (depth === 1 && spans && !topArray) {
        if (key !== '__proto__') keep(text, (value as Record<string, unknown>)[key], spans);
        spans = undefined;
      }
    }
  }
  if (topArray && spans) keep(text, value, spans);
}

/** Pairs the object elements of `list` with their spans, in order; nothing unless they match one to one. */
function keep(text: string, list: unknown, spans: number[]): void {
  if (!Array.isArray(list)) return;
  let objects = 0;
  for (const item of list) if (typeof item === 'object' && item !== null) objects++;
  if (objects * 2 !== spans.length) return;
  let s = 0;
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    keepVendorText(item, text.slice(spans[s], spans[s + 1]));
    s += 2;
  }
}
