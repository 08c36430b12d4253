import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { keepVendorText, RawJsonBytes } from '../core/envelope.ts';
import { jsonLine } from './json-page.ts';
import { type JsonItem, jsonObjectChunks, parseLine } from './json-stream.ts';

/**
 * Decoding of stored objects (docs/architecture.md, "Object notifications"): an object's bytes, streamed,
 * become records one at a time, so memory holds one record and the chunks in flight, never the object.
 *
 * Formats: `ndjson` (JSON Lines, or concatenated JSON), `json-array` (a top-level `[…]`), `records` (an
 * object whose `Records` array holds the records: AWS CloudTrail log files), `csv` (RFC 4180, the first
 * row names the fields), `lines` (one record per non-empty line, as a string). Anything else — Parquet —
 * plugs in as a `RecordDecoder`. Gzip is undone first (`compression: 'auto'` looks at the first bytes).
 */

/** One decoded record, or a piece of the object that is not one (a dead letter, with the reason). */
export type DecodedRecord = { value: unknown; size: number } | { error: string; text: string; size: number };

/** A decoder of a format Tributary does not read itself (Parquet): bytes in, records out, streamed. */
export interface RecordDecoder {
  decode(bytes: AsyncIterable<Uint8Array>): AsyncIterable<DecodedRecord>;
}

export type ObjectFormat = 'ndjson' | 'json-array' | 'records' | 'csv' | 'lines' | RecordDecoder;
/** The named formats (what a collector's settings may choose). */
export const OBJECT_FORMATS = ['ndjson', 'json-array', 'records', 'csv', 'lines'] as const;
export type Compression = 'auto' | 'gzip' | 'none';

/** A record longer than this (characters) is a dead letter keeping its start, not a reason to hold more. */
export const MAX_RECORD_CHARS = 16 << 20;

export function decodeObject(
  bytes: AsyncIterable<Uint8Array>,
  format: ObjectFormat,
  compression: Compression = 'auto',
): AsyncIterable<DecodedRecord> {
  if (format === 'ndjson') return flat(decodeObjectChunks(bytes, format, compression));
  const plain = decompress(bytes, compression);
  if (typeof format === 'object') return format.decode(plain);
  switch (format) {
    case 'json-array':
      return jsonArrayElements(plain, null);
    case 'records':
      return jsonArrayElements(plain, 'Records');
    case 'csv':
      return csvRecords(plain);
    case 'lines':
      return lineRecords(plain);
  }
}

/**
 * `decodeObject` in runs of records: NDJSON gives each decompressed chunk's records together (one async
 * step per chunk rather than per record, which dominated reading millions of small records); the other
 * formats give their records one at a time.
 */
export async function* decodeObjectChunks(
  bytes: AsyncIterable<Uint8Array>,
  format: ObjectFormat,
  compression: Compression = 'auto',
  o: {
    /**
     * NDJSON: a line that is ASCII JSON on one line (nearly all of them) is given unparsed, as its bytes
     * (`value` a `RawJsonBytes`, core/envelope.ts): the caller parses it only if it needs to read it.
     */
    asciiLines?: boolean;
  } = {},
): AsyncGenerator<DecodedRecord[]> {
  if (format !== 'ndjson') {
    for await (const record of decodeObject(bytes, format, compression)) yield [record];
    return;
  }
  if (o.asciiLines) return yield* ndjsonLines(decompress(bytes, compression, { own: true }));
  for await (const items of jsonObjectChunks(decompress(bytes, compression))) {
    const records: DecodedRecord[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) records[i] = ndjsonRecord(items[i]);
    yield records;
  }
}

/** A line longer than this without a newline is read as text (concatenated JSON: `{…}{…}`), as `jsonObjectChunks` does. */
const LONG_LINE = 1 << 20;

/**
 * NDJSON lines cut from the bytes, without decoding them: a line that `jsonLine` accepts is a
 * `RawJsonBytes` over the chunk it came in (a line spanning chunks over a copy of its pieces); any other
 * line (not ASCII, a line break inside, invalid) is decoded and parsed as `jsonObjectChunks` would, its
 * errors included. `bytes` must not be reused by their source (`decompress` with `own`).
 */
async function* ndjsonLines(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<DecodedRecord[]> {
  const it = bytes[Symbol.asyncIterator]();
  let carry: Buffer[] = []; // the pieces of a line begun in earlier chunks
  let carryBytes = 0;
  for (;;) {
    const next = await it.next();
    if (next.done) break;
    const chunk = next.value;
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let nl = buf.indexOf(10);
    if (nl === -1) {
      carry.push(buf);
      carryBytes += buf.length;
      if (carryBytes > LONG_LINE) {
        // Concatenated JSON, or one very long line: the rest is read as text, as it always was.
        const pieces = carry;
        const rest: AsyncIterable<Uint8Array> = {
          async *[Symbol.asyncIterator]() {
            yield* pieces;
            for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
          },
        };
        for await (const items of jsonObjectChunks(rest)) yield items.map(ndjsonRecord);
        return;
      }
      continue;
    }
    const out: DecodedRecord[] = [];
    let from = 0;
    if (carryBytes) {
      carry.push(buf.subarray(0, nl));
      const line = Buffer.concat(carry);
      carry = [];
      carryBytes = 0;
      lineRecord(line, 0, line.length, out);
      from = nl + 1;
      nl = buf.indexOf(10, from);
    }
    while (nl !== -1) {
      lineRecord(buf, from, nl, out);
      from = nl + 1;
      nl = buf.indexOf(10, from);
    }
    if (from < buf.length) {
      carry.push(buf.subarray(from));
      carryBytes = buf.length - from;
    }
    if (out.length) yield out;
  }
  if (carryBytes) {
    const line = Buffer.concat(carry);
    const out: DecodedRecord[] = [];
    lineRecord(line, 0, line.length, out);
    if (out.length) yield out;
  }
}

/** Whitespace String.prototype.trim removes that is ASCII: tab, LF, VT, FF, CR, space. */
const asciiSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/** The record (or records, or dead letter) of the line at `start`…`end` of `buf`, added to `out`. */
function lineRecord(buf: Buffer, start: number, end: number, out: DecodedRecord[]): void {
  while (start < end && asciiSpace(buf[start])) start++;
  while (end > start && asciiSpace(buf[end - 1])) end--;
  if (start === end) return; // a blank line
  if (jsonLine(buf, start, end)) {
    out.push({ value: new RawJsonBytes(buf, start, end), size: end - start });
    return;
  }
  const items: JsonItem[] = [];
  parseLine(buf.toString('utf8', start, end), items);
  for (const item of items) out.push(ndjsonRecord(item));
}

async function* flat<T>(runs: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const run of runs) yield* run;
}

/**
 * A JSON Lines record, keeping its exact text (like `jsonArrayElements`): the envelope carries the
 * vendor's bytes, spliced in rather than serialised again, and the parsed value can die as soon as the
 * record's id and time are read instead of waiting for delivery.
 */
function ndjsonRecord(item: JsonItem): DecodedRecord {
  if ('error' in item) return { error: item.error, text: item.text, size: item.size };
  if (item.value && typeof item.value === 'object') keepVendorText(item.value, item.text);
  return { value: item.value, size: item.size };
}

/**
 * Bytes gunzip hands on at a time: 64 KB rather than zlib's 16 KB, a quarter of the steps through the
 * stream and the reader per object (a 1 GB object: 16,384 instead of 65,536). Measured on the objects
 * benchmark (256 MB, three runs each, alternately): 3.9–4.0 CPU seconds against 4.4–4.8 with 16 KB, and
 * 76–78 scavenges and 32 mark-compacts against 91–95 and 38–40 (128 KB: 4.1–4.2 CPU seconds). Larger
 * chunks also keep more of a chunk alive behind each line handed on as its bytes.
 */
const GUNZIP_CHUNK = 64 * 1024;

/** Gunzips when asked, or (auto) when the object starts with gzip's magic bytes 1f 8b. */
export async function* decompress(
  bytes: AsyncIterable<Uint8Array>,
  compression: Compression,
  o: {
    /** Chunks the caller may keep: uncompressed chunks are copied (a source may reuse its buffer). */
    own?: boolean;
  } = {},
): AsyncGenerator<Uint8Array> {
  if (compression === 'none') return yield* o.own ? copies(bytes) : bytes;
  const it = bytes[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) return;
  const head = first.value;
  const rest: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      let sentHead = false;
      return {
        next: async () => {
          if (!sentHead) {
            sentHead = true;
            return { value: head, done: false };
          }
          return it.next();
        },
        return: async () => (await it.return?.()) ?? { value: undefined, done: true },
      };
    },
  };
  const gzip = compression === 'gzip' || (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);
  if (!gzip) return yield* o.own ? copies(rest) : rest;
  // pipeline hands back the gunzip stream; an error anywhere (bad gzip, a cut body) ends its iteration.
  // The stream reads ahead of the gunzip, so each chunk is copied first: a source may hand out one
  // reused buffer (downloadArtifact's file chunks), whose bytes would change under the queued chunk.
  const out = pipeline(Readable.from(copies(rest)), createGunzip({ chunkSize: GUNZIP_CHUNK }), () => {});
  for await (const chunk of out) yield chunk as Uint8Array;
}

async function* copies(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) yield Buffer.from(chunk);
}

/** Non-empty lines as strings (`\n` or `\r\n`). */
async function* lineRecords(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<DecodedRecord> {
  for await (const { line } of lines(bytes)) {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim()) yield { value: text, size: text.length };
  }
}

/**
 * Complete lines with the byte offset each starts at and ends after (its newline included). With
 * `completeOnly`, a last line without a newline is not given (an object still being appended to).
 */
export async function* lines(
  bytes: AsyncIterable<Uint8Array>,
  o: { completeOnly?: boolean } = {},
): AsyncGenerator<{ line: string; start: number; end: number }> {
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let offset = 0; // bytes of the stream before `carry`
  for await (const chunk of bytes) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let from = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, from)) {
      const piece = buf.subarray(from, nl);
      const whole = carryBytes ? Buffer.concat([...carry, piece]) : piece;
      const end = offset + carryBytes + (nl - from) + 1;
      yield { line: whole.toString('utf8'), start: end - whole.length - 1, end };
      offset = end;
      carry = [];
      carryBytes = 0;
      from = nl + 1;
    }
    if (from < buf.length) {
      carry.push(Buffer.from(buf.subarray(from))); // copied: the source may reuse its chunk
      carryBytes += buf.length - from;
    }
  }
  if (carryBytes && !o.completeOnly) {
    const whole = Buffer.concat(carry);
    yield { line: whole.toString('utf8'), start: offset, end: offset + carryBytes };
  }
}

/**
 * The elements of a JSON array, streamed: the top-level array (`key` null) or the array under `key` of
 * the top-level object (`Records`). Each element's exact text is kept with the parsed value, so the
 * envelope carries the vendor's bytes. Only the element being read is held.
 */
async function* jsonArrayElements(
  bytes: AsyncIterable<Uint8Array>,
  key: string | null,
): AsyncGenerator<DecodedRecord> {
  const decoder = new TextDecoder();
  let depth = 0;
  let inString = false;
  let escaped = false;
  let arrayDepth = -1; // depth inside the target array while reading it
  let found = false;
  let expectKey = false;
  let keyText: string | undefined;
  let lastKey: string | undefined;
  let element = ''; // the element being read: text carried from earlier chunks
  let elementStart = -1; // its start in the current chunk, -1 when it began in an earlier one or none
  let inElement = false;
  const finish = (text: string): DecodedRecord | undefined => {
    const t = text.trim();
    if (!t) return undefined;
    if (t.length > MAX_RECORD_CHARS)
      return {
        error: `a record longer than ${MAX_RECORD_CHARS} characters`,
        text: t.slice(0, 10_000),
        size: t.length,
      };
    try {
      const value = JSON.parse(t);
      if (value && typeof value === 'object') keepVendorText(value, t);
      return { value, size: t.length };
    } catch {
      return { error: 'not valid JSON', text: t.slice(0, 10_000), size: t.length };
    }
  };
  const feed = function* (text: string): Generator<DecodedRecord> {
    elementStart = inElement ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92) escaped = true;
        else if (c === 34) {
          inString = false;
          if (keyText !== undefined) {
            lastKey = keyText;
            keyText = undefined;
          }
        } else if (keyText !== undefined) keyText += text[i];
        continue;
      }
      const atTop = inElement && depth === arrayDepth;
      if (atTop && (c === 44 /* , */ || c === 93) /* ] */) {
        const r = finish(element + text.slice(elementStart === -1 ? 0 : elementStart, i));
        element = '';
        inElement = c === 44;
        elementStart = c === 44 ? i + 1 : -1;
        if (r) yield r;
        if (c === 93) {
          depth--;
          arrayDepth = -1;
        }
        continue;
      }
      if (c === 34) {
        inString = true;
        if (expectKey && depth === 1 && !inElement) {
          keyText = '';
          expectKey = false;
        }
      } else if (c === 123 /* { */) {
        depth++;
        if (depth === 1 && !found) expectKey = true;
      } else if (c === 91 /* [ */) {
        depth++;
        if (
          !found &&
          arrayDepth === -1 &&
          ((key === null && depth === 1) || (key !== null && depth === 2 && lastKey === key))
        ) {
          found = true;
          arrayDepth = depth;
          inElement = true;
          elementStart = i + 1;
          element = '';
        }
      } else if (c === 125 /* } */ || c === 93) depth--;
      else if (c === 44 && depth === 1 && !found) expectKey = true;
    }
    if (inElement) {
      element += text.slice(elementStart === -1 ? 0 : elementStart);
      if (element.length > MAX_RECORD_CHARS + 1024) {
        // Too long to hold: keep its start for the dead letter and drop the rest as it comes.
        element = element.slice(0, MAX_RECORD_CHARS + 1024);
      }
    }
  };
  for await (const chunk of bytes) yield* feed(decoder.decode(chunk, { stream: true }));
  yield* feed(decoder.decode());
  if (!found)
    yield { error: key ? `no "${key}" array in the object` : 'not a JSON array', text: '', size: 0 };
  else if (arrayDepth !== -1)
    yield {
      error: 'the object ends inside its array (cut off)',
      text: element.slice(0, 10_000),
      size: element.length,
    };
}

export interface CsvColumns {
  /** The fields' names in order: the rows have no header row naming them. */
  columns: string[];
  /** A first row that is a header after all (a vendor's optional header): skipped. */
  isHeader?(row: string[]): boolean;
}

/**
 * CSV without a header row, its columns named by the vendor's documented order (`csv` with the names
 * given). A row with fewer fields than named gets the first ones (an older log version that had fewer
 * columns); one with more gets the extra ones as `column<N>` (1-based: a newer version's additions), so
 * no value is dropped.
 */
export function csvColumns(o: CsvColumns): RecordDecoder {
  if (!o.columns.length) throw new Error('csvColumns needs at least one column name');
  return { decode: (bytes) => csvRecords(bytes, o) };
}

/**
 * CSV rows as they are, each an array of its fields (`value: string[]`), no row taken as a header: for an
 * answer that is more than one table (Qualys's CSV, sections between marker lines, each with its own
 * header), which the caller splits. Blank lines are skipped; a row cut off inside quotes is an error item.
 */
export function csvRows(bytes: AsyncIterable<Uint8Array>): AsyncIterable<DecodedRecord> {
  return csvRecords(bytes, undefined, true);
}

/**
 * CSV records (RFC 4180: fields quoted with `"`, `""` inside quotes, line breaks inside quoted fields,
 * `\r\n` or `\n`), the first row naming the fields. A record with another number of fields than the
 * header is a dead letter. With `named` (`csvColumns`), the names are given and every row is a record;
 * with `rows` (`csvRows`), every row is given as its array of fields.
 */
const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

async function* csvRecords(
  bytes: AsyncIterable<Uint8Array>,
  named?: CsvColumns,
  rows = false,
): AsyncGenerator<DecodedRecord> {
  const decoder = new TextDecoder();
  let header: string[] | undefined = named?.columns;
  let first = true;
  let fields: string[] = [];
  let field = '';
  let quoted = false; // inside quotes
  let quoteSeen = false; // the previous char was a quote inside a quoted field
  let rowChars = 0;
  let rowHasData = false;
  const endRow = (): DecodedRecord | undefined => {
    fields.push(field);
    const row = fields;
    const size = rowChars;
    fields = [];
    field = '';
    rowChars = 0;
    const had = rowHasData;
    rowHasData = false;
    if (!had && row.length === 1 && row[0] === '') return undefined; // a blank line
    if (first && row[0]?.charCodeAt(0) === 0xfeff) row[0] = row[0].slice(1); // a byte-order mark
    const wasFirst = first;
    first = false;
    if (rows) return { value: row, size };
    if (!header) {
      header = row;
      return undefined;
    }
    if (named) {
      if (wasFirst && named.isHeader?.(row)) return undefined;
      const value: Record<string, string> = {};
      for (let i = 0; i < row.length; i++) value[header[i] ?? `column${i + 1}`] = row[i];
      return { value, size };
    }
    if (row.length !== header.length)
      return {
        error: `a CSV row with ${row.length} fields where the header names ${header.length}`,
        text: row.join(',').slice(0, 10_000),
        size,
      };
    const value: Record<string, string> = {};
    for (let i = 0; i < header.length; i++) value[header[i]] = row[i];
    return { value, size };
  };
  // Runs of ordinary characters are appended as one slice, not character by character: a field of a
  // few kilobytes built one character at a time is a rope of thousands of nodes until it is flattened.
  const feed = function* (text: string): Generator<DecodedRecord> {
    const n = text.length;
    let i = 0;
    while (i < n) {
      if (quoted) {
        if (quoteSeen) {
          quoteSeen = false;
          if (text.charCodeAt(i) === QUOTE) {
            field += '"';
            rowChars++;
            i++;
            continue;
          }
          quoted = false; // the closing quote; this char is read below
        } else {
          const q = text.indexOf('"', i);
          const end = q === -1 ? n : q;
          field += text.slice(i, end);
          rowChars += end - i;
          if (q === -1) break;
          quoteSeen = true;
          rowChars++;
          i = q + 1;
          continue;
        }
      }
      const ch = text.charCodeAt(i);
      if (ch === QUOTE && field === '') {
        quoted = true;
        rowHasData = true;
        rowChars++;
        i++;
      } else if (ch === COMMA) {
        fields.push(field);
        field = '';
        rowHasData = true;
        rowChars++;
        i++;
      } else if (ch === NEWLINE) {
        rowChars++;
        i++;
        if (field.endsWith('\r')) field = field.slice(0, -1);
        const r = endRow();
        if (r) yield r;
      } else {
        let j = i + 1;
        for (; j < n; j++) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === NEWLINE || c === QUOTE) break;
        }
        const run = text.slice(i, j);
        field += run;
        rowChars += j - i;
        if (!rowHasData && /[^\r]/.test(run)) rowHasData = true;
        i = j;
      }
    }
  };
  for await (const chunk of bytes) yield* feed(decoder.decode(chunk, { stream: true }));
  yield* feed(decoder.decode());
  if (quoted && !quoteSeen) {
    yield {
      error: 'the object ends inside a quoted CSV field (cut off)',
      text: field.slice(0, 10_000),
      size: field.length,
    };
    return;
  }
  if (field !== '' || fields.length) {
    const r = endRow();
    if (r) yield r;
  }
}

/** Bytes looked at to detect a format: enough for any whitespace before the first character. */
const DETECT_BYTES = 64 * 1024;

/**
 * The format of an object whose collector does not name one, from its first (decompressed) bytes: `[` is a
 * JSON array; `{` whose first key is `"Records"` holding an array is `records` (CloudTrail-like), any other
 * `{` is NDJSON; anything else is CSV when the key ends in `.csv` (or `.csv.gz`), else plain lines, each
 * kept as its text (space-delimited logs: ALB/ELB access logs, VPC flow logs). A byte-order mark is skipped.
 */
export function detectedFormat(key: string): RecordDecoder {
  return {
    async *decode(bytes) {
      const it = bytes[Symbol.asyncIterator]();
      const head: Uint8Array[] = [];
      let text = '';
      let seen = 0;
      for (;;) {
        const n = await it.next();
        if (n.done) break;
        head.push(n.value);
        seen += n.value.length;
        text += new TextDecoder().decode(n.value, { stream: true });
        const t = text.replace(/^\uFEFF/, '').trimStart();
        // "{" alone does not yet say whether a "Records" array follows: read until the first key is known.
        if (t && (t[0] !== '{' || /^\{\s*"[^"]*"\s*:\s*\S/.test(t) || t.length > 256)) break;
        if (seen >= DETECT_BYTES) break;
      }
      const t = text.replace(/^\uFEFF/, '').trimStart();
      const format: ObjectFormat =
        t[0] === '['
          ? 'json-array'
          : t[0] === '{'
            ? /^\{\s*"Records"\s*:\s*\[/.test(t)
              ? 'records'
              : 'ndjson'
            : /\.csv(\.gz)?$/i.test(key)
              ? 'csv'
              : 'lines';
      const whole: AsyncIterable<Uint8Array> = {
        async *[Symbol.asyncIterator]() {
          yield* head;
          for (;;) {
            const n = await it.next();
            if (n.done) return;
            yield n.value;
          }
        },
      };
      yield* decodeObject(whole, format, 'none');
    },
  };
}
