import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { keepVendorText, type RawJson } from '../../core/envelope.ts';
import type { BodyFormat, DeadLetter } from '../../core/source.ts';
import { type PageScan, scannedRaw, scanRecords, spanValue } from '../json-page.ts';

/**
 * Request bodies pushed to an ingest endpoint, as they arrive: read within a size limit, gunzipped as a
 * stream within a second limit, and split into records piece by piece, the event loop served between
 * pieces (never held whole). JSON
 * bodies may be one object, an array of records, NDJSON, or "stacked" JSON (values one after another,
 * as Palo Alto Cortex Data Lake and Splunk HEC clients send them); raw bodies are one event per line.
 * Records keep the exact text they came in (`keepVendorText`), so the envelope carries the vendor's
 * bytes. A part that is not JSON, nested too deep or too large becomes a dead letter with the reason:
 * never dropped, and never a reason to refuse the rest of the body. What bounds the work one request
 * can cost (docs/sources.md, push sources): its size as sent and decompressed, its number of records
 * (`maxRecords`: over it, 413 and nothing delivered), each record's size and nesting depth.
 */

/** A refusal the receiver answers with this status and code (no internals in the message). */
export class BodyError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'BodyError';
    this.status = status;
    this.code = code;
  }
}

const MB = 1024 * 1024;
const size = (bytes: number) => (bytes % MB === 0 ? `${bytes / MB} MB` : `${bytes} bytes`);

/**
 * The request body as it arrives, refusing (413) before reading when Content-Length says it is too
 * large and as soon as more than `maxBytes` came; each chunk is also handed to `onChunk` (the HMAC of
 * the body as sent). Nothing of it is kept here: the parser holds only the records cut from it.
 */
export async function* requestChunks(
  req: IncomingMessage,
  maxBytes: number,
  onChunk?: (chunk: Buffer) => void,
): AsyncGenerator<Buffer> {
  const tooLarge = () =>
    new BodyError(
      413,
      'body_too_large',
      `Request bodies are limited to ${size(maxBytes)} as sent; send smaller batches.`,
    );
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  let total = 0;
  try {
    // Not destroyed when the parser stops early (a refusal): the receiver answers, then drains the rest.
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge();
      onChunk?.(chunk);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof BodyError) throw err;
    throw new BodyError(400, 'incomplete_body', 'The request body ended before it was complete.');
  }
}

/** Decoded bytes are handed on in chunks of at most this size (gunzip's output, or slices of others). */
const CHUNK = 64 * 1024;

/**
 * The body with its Content-Encoding (gzip or none) undone, in chunks, refusing (413) as soon as more
 * than `maxBytes` came out: a gzip bomb is inflated only up to the limit, never whole. Gunzip follows
 * the reader (stream backpressure), so at most a few chunks exist ahead of the parser.
 */
export async function* decodedChunks(
  body: Buffer | AsyncIterable<Buffer>,
  contentEncoding: string | undefined,
  maxBytes: number,
): AsyncGenerator<Buffer> {
  const source: AsyncIterable<Buffer> = Buffer.isBuffer(body) ? slices(body) : body;
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') {
    let total = 0;
    for await (const chunk of source) {
      total += chunk.length;
      if (total > maxBytes) throw decompressedTooLarge(maxBytes);
      yield chunk;
    }
    return;
  }
  if (encoding !== 'gzip' && encoding !== 'x-gzip')
    throw new BodyError(
      415,
      'unsupported_encoding',
      `Content-Encoding ${encoding} is not supported; send gzip or an uncompressed body.`,
    );
  const gunzip = createGunzip({ chunkSize: CHUNK });
  // The body as sent is fed to gunzip as fast as gunzip takes it; a refusal of the body (too large,
  // cut short) ends gunzip with that error, which the loop below rethrows.
  let fed: unknown;
  pipeline(Readable.from(source), gunzip).catch((err) => {
    fed = err;
  });
  let total = 0;
  try {
    for await (const out of gunzip) {
      total += (out as Buffer).length;
      if (total > maxBytes) throw decompressedTooLarge(maxBytes);
      yield out as Buffer;
    }
  } catch (err) {
    if (err instanceof BodyError) throw err;
    if (fed instanceof BodyError) throw fed;
    throw new BodyError(400, 'invalid_gzip', 'The body is not valid gzip (Content-Encoding: gzip).');
  } finally {
    gunzip.destroy();
  }
}

async function* slices(body: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < body.length; at += CHUNK) yield body.subarray(at, at + CHUNK);
}

/** Undoes Content-Encoding within `maxBytes` of output, as one buffer (tests, small bodies). */
export async function decodeBody(
  body: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of decodedChunks(body, contentEncoding, maxBytes)) chunks.push(c);
  return Buffer.concat(chunks);
}

const decompressedTooLarge = (maxBytes: number) =>
  new BodyError(
    413,
    'decompressed_body_too_large',
    `Request bodies are limited to ${size(maxBytes)} once decompressed; send smaller batches.`,
  );

/** What one request may hold (the collector's settings; see push-source.ts). */
export interface SplitLimits {
  /** Records and dead letters together; one more refuses the whole request (413). */
  maxRecords: number;
  /** Nesting of objects and arrays within one record (a top-level array of records not counted). */
  maxDepth: number;
  /** Characters of one record's text; a longer record is a dead letter keeping its start. */
  maxRecordChars: number;
}

export const NO_LIMITS: SplitLimits = {
  maxRecords: Number.POSITIVE_INFINITY,
  maxDepth: Number.POSITIVE_INFINITY,
  maxRecordChars: Number.POSITIVE_INFINITY,
};

/** How much of a record over the size limit its dead letter keeps. */
export const OVERSIZED_KEPT_CHARS = 64 * 1024;

export interface SplitBody {
  /** JSON values (objects, arrays' elements, primitives) or, for raw bodies, one string a line. */
  records: unknown[];
  deadLetters: DeadLetter[];
}

/** Splits a whole decoded body into records as `format` says (at once: tests and small bodies). */
export function splitBody(text: string, format: BodyFormat, limits: SplitLimits = NO_LIMITS): SplitBody {
  const records: unknown[] = [];
  const splitter = new BodySplitter(format, limits, (r, text) => {
    if (text !== undefined) keepVendorText(r as object, text);
    records.push(r);
  });
  splitter.push(text);
  splitter.end();
  return { records, deadLetters: splitter.deadLetters };
}

/** Every top-level JSON value of `text`, arrays flattened into their elements (see BodySplitter). */
export const splitJson = (text: string): SplitBody => splitBody(text, 'json');

/** One event per non-blank line, without its line break. */
export const splitLines = (text: string): string[] => splitBody(text, 'raw').records as string[];

/** Text is handed to the splitter in pieces of this many characters. */
const PIECE = 4 * 1024;
/** After this much splitting (ms) the event loop is served before the next piece. */
const TURN_MS = 8;

/**
 * Splits a body arriving in chunks: decoded as UTF-8 (a character split across chunks is kept whole),
 * handed to `splitter` a piece at a time, and once pieces have taken 8 ms the event loop runs
 * (setImmediate) before the next, so other requests, `/healthz` and deliveries go on while a large
 * body is parsed. A piece is at most 4 K characters: its records' parsing and envelopes take a few
 * milliseconds even when every record is two bytes long. (Yielding after every piece instead would let
 * a stream of small requests slow a large one down to a crawl.)
 */
export async function splitChunks(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  splitter: BodySplitter,
): Promise<void> {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let turn = performance.now();
  for await (const chunk of chunks) {
    const text = decoder.decode(chunk, { stream: true });
    for (let at = 0; at < text.length; at += PIECE) {
      splitter.push(text.length <= PIECE ? text : text.slice(at, at + PIECE));
      if (performance.now() - turn >= TURN_MS) {
        await nextTurn();
        turn = performance.now();
      }
    }
  }
  splitter.push(decoder.decode());
  splitter.end();
}

/** Where a body's records go (`readRecords`). */
export interface RecordSink {
  /** A record split from the body's text: its value and, for an object or array, its exact text. */
  record(value: unknown, text?: string): void;
  /**
   * A record of a body that was scanned instead (an object): its exact bytes, and an object holding only
   * those of its top-level keys `fields` that it has, with their values.
   */
  scanned(raw: RawJson, fields: Record<string, unknown>): void;
}

/** A body of at most this many bytes (decoded) is read whole and scanned before it is split as text. */
export const SCAN_MAX_BYTES = 1024 * 1024;

/**
 * Reads a decoded body's records into `sink` and returns its dead letters. With `fields` (the top-level
 * keys the collector reads of each record, format json or auto) a body of at most 1 MB is read whole and
 * scanned (`scanRecords`, engine/json-page.ts): when it is nothing but valid JSON objects within the
 * limits, which is what senders send, its records are handed on as their bytes with the values of those
 * keys, and no record is decoded or parsed: nothing of them is on the JavaScript heap while they wait for
 * delivery. Any other body is split as text (`BodySplitter`), which finds and explains what is wrong
 * with it; what the two give for a body both accept is the same (scanned-body.test.ts).
 */
export async function readRecords(
  chunks: AsyncIterable<Buffer>,
  format: BodyFormat,
  limits: SplitLimits,
  sink: RecordSink,
  fields?: string[],
): Promise<DeadLetter[]> {
  let rest: AsyncIterable<Buffer> | Iterable<Buffer> = chunks;
  if (fields && format !== 'raw') {
    const it = chunks[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let size = 0;
    let next = await it.next();
    for (; !next.done; next = await it.next()) {
      head.push(next.value);
      size += next.value.length;
      if (size > SCAN_MAX_BYTES) break;
    }
    if (next.done) {
      const body = head.length === 1 ? head[0]! : Buffer.concat(head, size);
      const scan = scanRecords(body, fields, {
        maxDepth: limits.maxDepth,
        maxRecords: limits.maxRecords,
        // A character is at least a byte: within this many bytes, a record is within the limit.
        maxRecordBytes: limits.maxRecordChars,
      });
      if (scan) {
        await handScanned(body, scan, fields, sink);
        return [];
      }
      rest = [body];
    } else
      rest = (async function* () {
        try {
          yield* head;
          for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
        } finally {
          await it.return?.();
        }
      })();
  }
  const splitter = new BodySplitter(format, limits, (value, text) => sink.record(value, text));
  await splitChunks(rest, splitter);
  return splitter.deadLetters;
}

/** The records of a scanned body into `sink`, the event loop served every 8 ms. */
async function handScanned(body: Buffer, scan: PageScan, fields: string[], sink: RecordSink): Promise<void> {
  const values = scan.values;
  const n = fields.length;
  let turn = performance.now();
  for (let r = 0; r < scan.records.length / 2; r++) {
    const raw = scannedRaw(body, scan, r);
    // A plain object, as JSON.parse makes (its prototype read the same way); `__proto__` as a key is
    // defined, as JSON.parse does, not set.
    const picked: Record<string, unknown> = {};
    for (let f = 0; f < n; f++) {
      const k = 2 * (r * n + f);
      if (values[k]! < 0) continue;
      const value = spanValue(body, values[k]!, values[k + 1]!);
      if (fields[f] === '__proto__')
        Object.defineProperty(picked, '__proto__', {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else picked[fields[f]!] = value;
    }
    sink.scanned(raw, picked);
    if ((r & 255) === 255 && performance.now() - turn >= TURN_MS) {
      await nextTurn();
      turn = performance.now();
    }
  }
}

const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

/** How many backslashes end `text[from, to)`. */
function trailingBackslashes(text: string, from: number, to: number): number {
  let k = to - 1;
  while (k >= from && text.charCodeAt(k) === BACKSLASH) k--;
  return to - 1 - k;
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Where the splitter is in the body:
 * - `start`: `auto` before its first non-blank character (which picks json or raw);
 * - `between`: json, between top-level values;
 * - `value`: json, inside a top-level object;
 * - `elements`: json, inside a top-level array, between its elements; `element`: inside one;
 * - `line`: json, a primitive or plain text, to the end of its line; `raw`: raw, a line.
 */
type State = 'start' | 'between' | 'value' | 'elements' | 'element' | 'line' | 'raw';

const reason = (err: unknown) => `not valid JSON: ${(err as Error).message}`;
const EMPTY_ELEMENT = 'not valid JSON: an empty array element (a comma too many)';

/**
 * A push body split into records as it arrives (`push` each piece of text, then `end`), in memory
 * bounded by the records themselves: what was scanned is not kept beyond the records cut from it.
 *
 * JSON: every top-level value; a top-level array is its elements, each one a record cut and parsed on
 * its own (a broken element is a dead letter, its neighbours are accepted; an array cut short keeps
 * the elements before the cut). Whitespace between values is optional (stacked JSON). A value that
 * does not parse, or text that is not JSON (up to the end of its line), is a dead letter and the split
 * continues after it. Raw: one record per non-blank line, without its line break.
 *
 * Limits (`SplitLimits`): a record nested deeper than `maxDepth` is a dead letter without being
 * parsed; one longer than `maxRecordChars` is a dead letter keeping its first 64 K characters (only
 * those are held while the rest is scanned); more than `maxRecords` records and dead letters refuse the
 * request at once (413). A body that is nothing but one record too deep (400) or too large (413) is
 * refused the same way, since nothing of it could be accepted.
 */
export class BodySplitter {
  readonly deadLetters: DeadLetter[] = [];
  /** Records handed to `onRecord` so far. */
  records = 0;
  private readonly limits: SplitLimits;
  private readonly onRecord: (record: unknown, text?: string) => void;
  private state: State;
  private first = true;
  /** `start`: the blank characters of the current line, which belong to a raw body's first line. */
  private pending = '';
  // The record being cut: its parts from earlier pieces, its length, and where it starts in this piece.
  private parts: string[] = [];
  private length = 0;
  private from = 0;
  private oversized = false;
  // Scanning a value: bracket depth (within the record), strings, the deepest point reached.
  private depth = 0;
  private deepest = 0;
  private inString = false;
  private escaped = false;
  /** `elements`: whether the array has had an element (or a comma) yet. */
  private elementSeen = false;
  /** The refusal for a body that is this one dead letter and nothing else. */
  private lastRefusal: BodyError | undefined;

  /**
   * `onRecord` gets each record as it is cut; a JSON object or array comes with its exact text (the
   * vendor's bytes for the envelope's `raw`, core/envelope.ts RawJson).
   */
  constructor(format: BodyFormat, limits: SplitLimits, onRecord: (record: unknown, text?: string) => void) {
    this.limits = limits;
    this.onRecord = onRecord;
    this.state = format === 'auto' ? 'start' : format === 'raw' ? 'raw' : 'between';
  }

  /** The next piece of the body's text. */
  push(text: string): void {
    let i = 0;
    if (this.first && text.length) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) i = 1; // a UTF-8 byte order mark
    }
    this.from = i;
    while (i < text.length) {
      switch (this.state) {
        case 'start':
          i = this.start(text, i);
          break;
        case 'raw':
        case 'line':
          i = this.line(text, i);
          break;
        case 'between':
          i = this.between(text, i);
          break;
        case 'elements':
          i = this.elements(text, i);
          break;
        case 'value':
        case 'element':
          i = this.value(text, i);
          break;
      }
    }
    const s = this.state;
    if (s === 'value' || s === 'element' || s === 'line' || s === 'raw') this.carry(text.slice(this.from));
  }

  /** The body ended: what is left is the last record, or a truncated value. */
  end(): void {
    switch (this.state) {
      case 'raw':
      case 'line':
        if (this.length) this.completeLine(this.take('', 0, 0));
        break;
      case 'value':
      case 'element':
        if (this.length) this.completeValue(this.take('', 0, 0), true);
        else if (this.state === 'element') this.dead('', 'truncated JSON: the body ends inside an array');
        break;
      case 'elements':
        this.dead('', 'truncated JSON: the body ends inside an array');
        break;
    }
    this.state = 'between';
    if (this.records === 0 && this.deadLetters.length === 1 && this.lastRefusal) throw this.lastRefusal;
  }

  /** Keeps the part of the current record that is in this piece, within the size limit. */
  private carry(part: string): void {
    if (!part) return;
    this.length += part.length;
    if (this.oversized) {
      this.parts[0] = this.keep(this.parts[0]!, part, 0, part.length);
      return;
    }
    this.parts.push(part);
    if (this.length > this.limits.maxRecordChars) {
      // Over the limit: only its start is kept from now on.
      this.parts = [this.parts.join('').slice(0, OVERSIZED_KEPT_CHARS)];
      this.oversized = true;
    }
  }

  /** An oversized record's start: `kept` and `text[from, to)`, up to OVERSIZED_KEPT_CHARS in all. */
  private keep(kept: string, text: string, from: number, to: number): string {
    const room = OVERSIZED_KEPT_CHARS - kept.length;
    return room > 0 ? kept + text.slice(from, Math.min(to, from + room)) : kept;
  }

  /** The current record's text: earlier parts and `text[from, to)` (only its start when oversized). */
  private take(text: string, from: number, to: number): string {
    let whole: string;
    if (this.oversized) whole = this.keep(this.parts[0]!, text, from, to);
    else if (!this.parts.length) whole = text.slice(from, to);
    else {
      this.parts.push(text.slice(from, to));
      whole = this.parts.join('');
    }
    this.parts = [];
    this.length += to - from;
    if (!this.oversized && this.length > this.limits.maxRecordChars) {
      this.oversized = true;
      whole = whole.slice(0, OVERSIZED_KEPT_CHARS);
    }
    return whole;
  }

  /** Starts a record at `i` of this piece. */
  private open(i: number): void {
    this.parts = [];
    this.length = 0;
    this.oversized = false;
    this.from = i;
  }

  /** Ends the current record's bookkeeping (after `take`): its length, and whether it was too long. */
  private close(): { oversized: boolean; length: number } {
    const r = { oversized: this.oversized, length: this.length };
    this.length = 0;
    this.oversized = false;
    return r;
  }

  private count(): void {
    if (this.records + this.deadLetters.length >= this.limits.maxRecords)
      throw new BodyError(
        413,
        'too_many_records',
        `A request may carry at most ${this.limits.maxRecords} records (maxRecords); this one has more. Nothing was accepted: send smaller batches.`,
      );
  }

  private accept(record: unknown, text?: string): void {
    this.count();
    this.records++;
    this.onRecord(record, text);
  }

  private dead(raw: string, why: string, refusal?: BodyError): void {
    this.count();
    this.deadLetters.push({ raw, reason: why });
    this.lastRefusal = refusal;
  }

  private oversizedDead(raw: string, length: number): void {
    const limit = this.limits.maxRecordChars;
    this.dead(
      raw,
      `record too large: ${length} characters, over the limit of ${limit} (maxRecordKB); its first ${raw.length} are kept here`,
      new BodyError(
        413,
        'record_too_large',
        `The body is one record of more than ${limit} characters (maxRecordKB); send smaller records.`,
      ),
    );
  }

  // --- auto: the first non-blank character decides ---
  private start(text: string, i: number): number {
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === NEWLINE) {
        this.pending = '';
        continue;
      }
      if (c === 0x20 || c === 0x09 || c === 0x0d || /\s/.test(text[i]!)) {
        if (this.pending.length < OVERSIZED_KEPT_CHARS) this.pending += text[i];
        continue;
      }
      const json = c === OPEN_OBJECT || c === OPEN_ARRAY;
      this.state = json ? 'between' : 'raw';
      if (!json) {
        this.open(i);
        this.carry(this.pending); // the line's leading blanks are part of the first raw line
      }
      this.pending = '';
      return i;
    }
    return i;
  }

  // --- raw lines, and json lines that are not objects or arrays ---
  private line(text: string, i: number): number {
    const nl = text.indexOf('\n', i);
    if (nl < 0) return text.length; // the rest is carried at the end of the piece
    this.completeLine(this.take(text, this.from, nl));
    this.from = nl + 1;
    if (this.state === 'line') this.state = 'between';
    return nl + 1;
  }

  private completeLine(whole: string): void {
    const { oversized, length } = this.close();
    if (this.state === 'raw') {
      const l = whole.endsWith('\r') ? whole.slice(0, -1) : whole;
      if (!l.trim()) return;
      if (oversized) this.oversizedDead(l, length);
      else this.accept(l);
      return;
    }
    if (oversized) this.oversizedDead(whole, length);
    else this.parse(whole);
  }

  /** A record's text that is within the limits: a record, or a dead letter when it is not JSON. */
  private parse(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.dead(text.trimEnd(), reason(err));
      return;
    }
    this.accept(value, value !== null && typeof value === 'object' ? text : undefined);
  }

  // --- json: between top-level values ---
  private between(text: string, i: number): number {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i >= text.length) return i;
    const c = text.charCodeAt(i);
    if (c === OPEN_ARRAY) {
      this.state = 'elements';
      this.elementSeen = false;
      return i + 1;
    }
    this.open(i);
    if (c === OPEN_OBJECT) this.scanFrom('value');
    else this.state = 'line';
    return i; // an object's brace is scanned as part of it
  }

  private scanFrom(state: 'value' | 'element'): void {
    this.state = state;
    this.depth = 0;
    this.deepest = 0;
    this.inString = false;
    this.escaped = false;
  }

  // --- json: inside a top-level array, before an element ---
  private elements(text: string, i: number): number {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i >= text.length) return i;
    const c = text.charCodeAt(i);
    if (c === CLOSE_ARRAY) {
      if (this.elementSeen) this.dead('', EMPTY_ELEMENT);
      this.state = 'between';
      return i + 1;
    }
    if (c === COMMA) {
      this.dead('', EMPTY_ELEMENT);
      this.elementSeen = true;
      return i + 1;
    }
    this.open(i);
    this.scanFrom('element');
    return i;
  }

  // --- json: scanning a top-level object, or an array's element, to its end ---
  private value(text: string, i: number): number {
    const element = this.state === 'element';
    let depth = this.depth;
    let deepest = this.deepest;
    let inString = this.inString;
    let escaped = this.escaped;
    let end = -1;
    let next: State = 'between';
    for (; i < text.length; i++) {
      if (inString) {
        // To the closing quote with indexOf (string contents are most of a record's text).
        if (escaped) {
          escaped = false;
          continue; // the character after a backslash that ended the previous piece
        }
        const q = text.indexOf('"', i);
        if (q < 0) {
          escaped = trailingBackslashes(text, i, text.length) % 2 === 1;
          i = text.length;
          break;
        }
        if (trailingBackslashes(text, i, q) % 2 === 0) inString = false;
        i = q;
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === QUOTE) inString = true;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (++depth > deepest) deepest = depth;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (element && depth === 0) {
          end = i; // the element ends with its array
          break;
        }
        if (--depth === 0 && !element) {
          end = i + 1;
          break;
        }
      } else if (c === COMMA && element && depth === 0) {
        end = i;
        next = 'elements';
        break;
      }
    }
    this.depth = depth;
    this.deepest = deepest;
    this.inString = inString;
    this.escaped = escaped;
    if (end < 0) return i;
    this.completeValue(this.take(text, this.from, end), false);
    this.state = next;
    if (next === 'elements') this.elementSeen = true;
    return i + 1;
  }

  private completeValue(whole: string, truncated: boolean): void {
    const { oversized, length } = this.close();
    const maxDepth = this.limits.maxDepth;
    const text = oversized ? whole : whole.trim();
    if (this.deepest > maxDepth)
      this.dead(
        text,
        `nested deeper than ${maxDepth} levels (maxDepth)${oversized ? `; only its first ${text.length} characters are kept here` : ''}`,
        new BodyError(
          400,
          'too_deeply_nested',
          `The body is one record nested deeper than ${maxDepth} levels (maxDepth); flatten it.`,
        ),
      );
    else if (oversized) this.oversizedDead(text, length);
    else if (truncated) this.dead(text, 'truncated JSON: the body ends inside this value');
    else if (!text) this.dead('', EMPTY_ELEMENT);
    else this.parse(text);
  }
}
