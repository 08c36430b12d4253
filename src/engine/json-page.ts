import { isUtf8 } from 'node:buffer';
import { RawJson, RawJsonBytes } from '../core/envelope.ts';
import type { HttpResponse } from '../core/source.ts';
import { readJson, readJsonBytes } from './json-stream.ts';

/**
 * Pages read without being parsed (docs/architecture.md, "Reading a page"). A stream whose records are the
 * elements of one array of the answer and whose id and time are top-level fields of each record needs
 * nothing else of them: the envelope carries the record's exact JSON bytes. Such a page is checked and
 * split in one pass over its bytes, `scanPage`: valid JSON (RFC 8259) in valid UTF-8, each record's span,
 * the spans of the wanted fields' values, and the rest of the answer (paging fields, GraphQL errors) as a
 * small "skeleton" that is parsed. No parsed tree of the records is built, so none has to be collected.
 *
 * Anything the scan does not handle — invalid UTF-8, a byte-order mark, nesting deeper than 256, the
 * records key twice — answers undefined, and the
 * caller parses the page as before (`readJson`), which also reports invalid JSON the usual way.
 */

/** What `scanPage` found: flat [start, end) pairs of byte offsets into the page. */
export interface PageScan {
  /** Each record's span. */
  records: number[];
  /** For record r and wanted field f: the value's span at `(r * fields + f) * 2`, or -1, -1 when absent. */
  values: number[];
  /** Records whose span holds a line break between tokens (pretty-printed JSON), by index. */
  broken: Set<number>;
  /** The records array's span (`[` to `]`), for the skeleton. */
  array: [number, number];
}

const MAX_DEPTH = 256;

/** 1 for the hexadecimal digits of a `\u` escape. */
const HEX = new Uint8Array(256);
for (const c of Buffer.from('0123456789abcdefABCDEF')) HEX[c] = 1;

/** 1 for the bytes a JSON string holds as they are (not `"`, `\`, or a control character). */
const PLAIN = new Uint8Array(256).map((_, c) => (c >= 32 && c !== 34 && c !== 92 ? 1 : 0));
/** `PLAIN` within ASCII: for text whose UTF-8 was not checked beforehand (`jsonLine`). */
const PLAIN_ASCII = PLAIN.map((p, c) => (c < 128 ? p : 0));

/** Thrown inside the scan for anything it does not accept; never leaves this module. */
class Refused extends Error {}
const REFUSED = new Refused();

class Scan {
  i = 0;
  /** The deepest nesting accepted (`scanRecords` lowers it to the body's limit). */
  maxDepth = MAX_DEPTH;
  /** `scanRecords`: a record that is not an object is refused; a longer one, or one too many, too. */
  objectsOnly = false;
  maxRecordBytes = Number.POSITIVE_INFINITY;
  maxRecords = Number.POSITIVE_INFINITY;
  /** A line break seen in whitespace since `breaks` was last cleared. */
  breaks = false;
  /** The bytes a string holds as they are: any UTF-8 (checked before the scan), or ASCII only. */
  plain = PLAIN;
  readonly out: PageScan = { records: [], values: [], broken: new Set(), array: [-1, -1] };
  b: Uint8Array;
  end: number;
  /** The wanted fields' names as UTF-8 bytes. */
  readonly fields: Uint8Array[];
  readonly names: string[];
  /** The answer object's member that holds the records ('' when the answer is the records array). */
  readonly recordsKey: string;
  readonly key: Uint8Array | undefined;
  constructor(b: Uint8Array, end: number, names: string[], recordsKey: string) {
    this.b = b;
    this.end = end;
    this.names = names;
    this.fields = names.map((f) => Buffer.from(f));
    this.recordsKey = recordsKey;
    this.key = recordsKey === '' ? undefined : Buffer.from(recordsKey);
  }

  ws(): void {
    const b = this.b;
    const end = this.end;
    let i = this.i;
    while (i < end) {
      const c = b[i]!;
      if (c === 32 || c === 9) i++;
      else if (c === 10 || c === 13) {
        this.breaks = true;
        i++;
      } else break;
    }
    this.i = i;
  }

  /** A value of no interest, checked; `depth` containers are open around it. */
  value(depth: number): void {
    const b = this.b;
    const c = b[this.i];
    if (c === 34) this.string();
    else if (c === 123) this.object(depth + 1, -1);
    else if (c === 91) this.array(depth + 1, false);
    else if (c === 45 || (c >= 48 && c <= 57)) this.number();
    else if (c === 116 && b[this.i + 1] === 114 && b[this.i + 2] === 117 && b[this.i + 3] === 101)
      this.i += 4;
    else if (
      c === 102 &&
      b[this.i + 1] === 97 &&
      b[this.i + 2] === 108 &&
      b[this.i + 3] === 115 &&
      b[this.i + 4] === 101
    )
      this.i += 5;
    else if (c === 110 && b[this.i + 1] === 117 && b[this.i + 2] === 108 && b[this.i + 3] === 108)
      this.i += 4;
    else throw REFUSED;
    if (this.i > this.end) throw REFUSED;
  }

  /**
   * An object; `record` ≥ 0 when it is that record (its wanted fields' values noted). Returns nothing;
   * `this.i` is after its `}`.
   */
  object(depth: number, record: number): void {
    if (depth > this.maxDepth) throw REFUSED;
    const b = this.b;
    this.i++;
    this.ws();
    if (b[this.i] === 125) {
      this.i++;
      return;
    }
    for (;;) {
      if (b[this.i] !== 34) throw REFUSED;
      const keyStart = this.i + 1;
      const escaped = this.string();
      const keyEnd = this.i - 1;
      this.ws();
      if (b[this.i] !== 58) throw REFUSED;
      this.i++;
      this.ws();
      const at = this.i;
      if (depth === 1 && this.key && this.isKey(keyStart, keyEnd, escaped)) {
        // The answer object's member that holds the records: an array, and the only member of that name.
        if (this.out.array[0] >= 0 || b[this.i] !== 91) throw REFUSED;
        this.array(2, true);
      } else this.value(depth);
      if (record >= 0) {
        const f = this.field(keyStart, keyEnd, escaped);
        if (f >= 0) {
          const k = (record * this.fields.length + f) * 2;
          this.out.values[k] = at;
          this.out.values[k + 1] = this.i;
        }
      }
      this.ws();
      const c = b[this.i++];
      if (c === 44) {
        this.ws();
        continue;
      }
      if (c === 125) return;
      throw REFUSED;
    }
  }

  /**
   * One record from `this.i`, `depth` containers open around it: its span, whether it spans a line break,
   * and its wanted fields' values noted. Returns where it starts.
   */
  record(depth: number): number {
    const at = this.i;
    const r = this.out.records.length / 2;
    for (let f = 0; f < this.fields.length; f++) this.out.values.push(-1, -1);
    this.breaks = false;
    if (this.b[at] === 123) this.object(depth + 1, r);
    else if (this.objectsOnly) throw REFUSED;
    else this.value(depth);
    this.out.records.push(at, this.i);
    if (this.breaks) this.out.broken.add(r);
    return at;
  }

  /** Refuses a record of more than `maxRecordBytes` (its bytes `from`…`to`), or one record too many. */
  counted(from: number, to: number): void {
    if (to - from > this.maxRecordBytes || this.out.records.length / 2 > this.maxRecords) throw REFUSED;
  }

  /** Whether a key (its bytes `from`…`to`) names the records' member of the answer object. */
  isKey(from: number, to: number, escaped: boolean): boolean {
    const key = this.key!;
    if (escaped) return keyText(this.b, from, to) === this.recordsKey;
    if (to - from !== key.length) return false;
    for (let k = 0; k < key.length; k++) if (this.b[from + k] !== key[k]) return false;
    return true;
  }

  /** The wanted field a key names (its bytes `from`…`to`), or -1. */
  field(from: number, to: number, escaped: boolean): number {
    // A key spelled with escapes (rare) is decoded to be compared.
    if (escaped) return this.names.indexOf(keyText(this.b, from, to));
    const n = to - from;
    for (let f = 0; f < this.fields.length; f++) {
      const name = this.fields[f]!;
      if (name.length !== n) continue;
      let k = 0;
      while (k < n && this.b[from + k] === name[k]) k++;
      if (k === n) return f;
    }
    return -1;
  }

  /** An array; `records` when its elements are the records. */
  array(depth: number, records: boolean): void {
    if (depth > this.maxDepth) throw REFUSED;
    const b = this.b;
    const start = this.i;
    this.i++;
    this.ws();
    if (b[this.i] === 93) {
      this.i++;
    } else {
      for (;;) {
        if (records) {
          const at = this.record(depth);
          this.ws();
          // What a record's size is measured on when a body is split as text: up to the next comma.
          this.counted(at, this.i);
        } else this.value(depth);
        this.ws();
        const c = b[this.i++];
        if (c === 44) {
          this.ws();
          continue;
        }
        if (c === 93) break;
        throw REFUSED;
      }
    }
    if (records) this.out.array = [start, this.i];
  }

  /** A string from its opening quote; `this.i` after its closing one. Whether it holds an escape. */
  string(): boolean {
    const b = this.b;
    const end = this.end;
    const plain = this.plain;
    let i = this.i + 1;
    let escaped = false;
    while (i < end) {
      // Bytes that need no look: one table load each (most of a page is string content).
      while (i < end && plain[b[i]!] === 1) i++;
      if (i >= end) break;
      const c = b[i++]!;
      if (c === 34) {
        this.i = i;
        return escaped;
      }
      if (c === 92) {
        escaped = true;
        if (i >= end) break;
        const e = b[i++]!;
        if (e === 117) {
          if (end - i < 4) break;
          for (let k = 0; k < 4; k++) if (HEX[b[i++]!] !== 1) throw REFUSED;
        } else if (
          e !== 34 &&
          e !== 92 &&
          e !== 47 &&
          e !== 98 &&
          e !== 102 &&
          e !== 110 &&
          e !== 114 &&
          e !== 116
        )
          throw REFUSED;
      } else if (c < 32 || c >= 128) throw REFUSED; // a control character, or not ASCII (`PLAIN_ASCII`)
    }
    throw REFUSED; // the end
  }

  /** `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?` */
  number(): void {
    const b = this.b;
    const end = this.end;
    let i = this.i;
    if (b[i] === 45) i++;
    if (i >= end) throw REFUSED;
    let c = b[i]!;
    if (c === 48) i++;
    else if (c >= 49 && c <= 57) {
      i++;
      while (i < end && (c = b[i]!) >= 48 && c <= 57) i++;
    } else throw REFUSED;
    if (i < end && b[i] === 46) {
      i++;
      if (i >= end || (c = b[i]!) < 48 || c > 57) throw REFUSED;
      while (i < end && (c = b[i]!) >= 48 && c <= 57) i++;
    }
    if (i < end && (b[i]! | 32) === 101) {
      i++;
      if (i < end && (b[i] === 43 || b[i] === 45)) i++;
      if (i >= end || (c = b[i]!) < 48 || c > 57) throw REFUSED;
      while (i < end && (c = b[i]!) >= 48 && c <= 57) i++;
    }
    this.i = i;
  }
}

/**
 * Scans `page` (one JSON value, UTF-8) for the records at `recordsKey` ('' for a top-level array, else a
 * key of the top-level object) and, in each record that is an object, the values of the top-level keys
 * `fields`. Undefined when the page is not valid JSON in valid UTF-8, or is something the scan leaves to
 * JSON.parse (see the module's comment), or has no records array where expected.
 */
export function scanPage(page: Uint8Array, recordsKey: string, fields: string[]): PageScan | undefined {
  if (!isUtf8(page)) return undefined;
  const s = new Scan(page, page.length, fields, recordsKey);
  try {
    s.ws();
    const c = page[s.i];
    if (recordsKey === '') {
      if (c !== 91) return undefined;
      s.array(1, true);
    } else {
      if (c !== 123) return undefined;
      s.object(1, -1);
    }
    s.ws();
    if (s.i !== page.length) return undefined;
  } catch (err) {
    if (err instanceof Refused) return undefined;
    throw err;
  }
  return s.out.array[0] < 0 ? undefined : s.out;
}

/** What one request body may hold to be scanned (`scanRecords`); the splitter decides anything beyond. */
export interface RecordLimits {
  /** Nesting of objects and arrays within one record. */
  maxDepth: number;
  /** Records in the body. */
  maxRecords: number;
  /** Bytes of one record (counted to the comma after it in an array). */
  maxRecordBytes: number;
}

/**
 * Scans a pushed body (UTF-8) whose records are JSON objects one after another — NDJSON, stacked, one
 * object, or top-level arrays of objects — for each record's span and the spans of the values of its
 * top-level keys `fields`. Undefined for anything else, or for a body over `limits`: a record that is not
 * an object, not valid JSON, not valid UTF-8, a byte-order mark, a record too deep, too large or one too
 * many. Such a body is split as text instead (engine/ingest/body.ts), which says what is wrong with it.
 */
export function scanRecords(body: Uint8Array, fields: string[], limits: RecordLimits): PageScan | undefined {
  if (!isUtf8(body)) return undefined;
  const s = new Scan(body, body.length, fields, '');
  s.objectsOnly = true;
  s.maxRecords = limits.maxRecords;
  s.maxRecordBytes = limits.maxRecordBytes;
  const depth = Math.min(limits.maxDepth, MAX_DEPTH);
  try {
    for (;;) {
      s.ws();
      if (s.i >= body.length) return s.out;
      const c = body[s.i];
      if (c === 123) {
        s.maxDepth = depth;
        s.counted(s.record(0), s.i);
      } else if (c === 91) {
        s.maxDepth = depth + 1; // the array itself is not part of its elements' nesting
        s.array(1, true);
      } else return undefined;
    }
  } catch (err) {
    if (err instanceof Refused) return undefined;
    throw err;
  }
}

/**
 * Record `r` of a scan of `bytes` as it goes into an event: a view of its bytes, or its text when it
 * spans line breaks (pretty-printed), which the envelope then writes on one line.
 */
export function scannedRaw(bytes: Buffer, scan: PageScan, r: number): RawJson {
  const start = scan.records[2 * r]!;
  const end = scan.records[2 * r + 1]!;
  return scan.broken.has(r)
    ? new RawJson(bytes.toString('utf8', start, end))
    : new RawJsonBytes(bytes, start, end);
}

/** The JSON value at `start`…`end` of `bytes` (undefined for -1): a plain string without JSON.parse. */
export function spanValue(bytes: Buffer, start: number, end: number): unknown {
  if (start < 0) return undefined;
  if (bytes[start] === 0x22) {
    let i = start + 1;
    while (i < end - 1 && bytes[i] !== 0x5c) i++;
    if (i === end - 1) return bytes.toString('utf8', start + 1, end - 1); // no escape in it
  }
  return JSON.parse(bytes.toString('utf8', start, end));
}

/** The scan `jsonLine` reuses: lines are checked one at a time, and nothing of a line is kept. */
const lineScan = new Scan(new Uint8Array(0), 0, [], '');
lineScan.plain = PLAIN_ASCII;
const NO_BYTES = new Uint8Array(0);

/**
 * Whether bytes `start`…`end` of `b` are exactly one JSON value (RFC 8259; spaces and tabs around and
 * between tokens) in ASCII, with no line break: what JSON.parse accepts, checked without building
 * anything. A byte ≥ 0x80, CR, LF or nesting deeper than 256 answers false, as does invalid JSON: the
 * caller then decodes the line and parses it (which also tells the error). The NDJSON reader of large
 * objects keeps a line it accepts as its bytes (core/envelope.ts `RawJsonBytes`) when nothing of the
 * record is read.
 */
export function jsonLine(b: Uint8Array, start: number, end: number): boolean {
  const s = lineScan;
  s.b = b;
  s.end = end;
  s.i = start;
  s.breaks = false;
  try {
    s.ws();
    if (s.i >= end) return false;
    s.value(0);
    s.ws();
    return s.i === end && !s.breaks;
  } catch (err) {
    if (err instanceof Refused) return false;
    throw err;
  } finally {
    s.b = NO_BYTES;
  }
}

/** The name a key with escapes spells (its bytes `from`…`to`, between the quotes, checked valid). */
function keyText(b: Uint8Array, from: number, to: number): string {
  return JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', from - 1, to + 1));
}

/** A page scanned (`scanPage`), or parsed as usual when the scan left it to JSON.parse. */
export type ReadPage =
  | { scanned: PageScan; bytes: Buffer; skeleton: unknown }
  | { scanned?: undefined; body: unknown };

/**
 * Reads a response body as a page of records at `recordsKey` with top-level `fields`: scanned when it can
 * be, else `readJson` (which throws as it always did on a body that is not JSON). The skeleton is the
 * answer with the records array emptied (`[]`, or `{…,"records":[],…}`), parsed.
 */
export async function readJsonPage(
  response: HttpResponse,
  recordsKey: string,
  fields: string[],
): Promise<ReadPage> {
  if (response.status === 204 || !response.body) return { body: await readJson(response) };
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  const bytes = Buffer.concat(chunks, size);
  chunks.length = 0;
  const scanned = scanPage(bytes, recordsKey, fields);
  if (!scanned) return { body: readJsonBytes(response, bytes) };
  const [from, to] = scanned.array;
  const skeleton =
    recordsKey === '' ? [] : JSON.parse(`${bytes.toString('utf8', 0, from)}[]${bytes.toString('utf8', to)}`);
  return { scanned, bytes, skeleton };
}
