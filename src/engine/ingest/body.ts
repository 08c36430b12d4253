import type { IncomingMessage } from 'node:http';
import { gunzip } from 'node:zlib';
import { keepVendorText } from '../../core/envelope.ts';
import type { BodyFormat, DeadLetter } from '../../core/source.ts';

/**
 * Request bodies pushed to an ingest endpoint: read within a size limit, gunzipped within a second
 * limit, and split into records. JSON bodies may be one object, an array of records, NDJSON, or
 * "stacked" JSON (values one after another, as Palo Alto Cortex Data Lake and Splunk HEC clients send
 * them); raw bodies are one event per line. Records keep the exact text they came in (`keepVendorText`),
 * so the envelope carries the vendor's bytes. A part that is not JSON becomes a dead letter with the
 * reason: never dropped, and never a reason to refuse the rest of the body.
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

/** Reads the whole body, refusing (413) before reading when Content-Length says it is too large. */
export async function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new BodyError(
      413,
      'body_too_large',
      `Request bodies are limited to ${size(maxBytes)} as sent; send smaller batches.`,
    );
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** Undoes Content-Encoding (gzip or none) within `maxBytes` of output. */
export async function decodeBody(
  body: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') {
    if (body.length > maxBytes) throw decompressedTooLarge(maxBytes);
    return body;
  }
  if (encoding !== 'gzip' && encoding !== 'x-gzip')
    throw new BodyError(
      415,
      'unsupported_encoding',
      `Content-Encoding ${encoding} is not supported; send gzip or an uncompressed body.`,
    );
  return new Promise((ok, fail) =>
    gunzip(body, { maxOutputLength: maxBytes }, (err, out) => {
      if (!err) return ok(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        return fail(decompressedTooLarge(maxBytes));
      fail(new BodyError(400, 'invalid_gzip', 'The body is not valid gzip (Content-Encoding: gzip).'));
    }),
  );
}

const decompressedTooLarge = (maxBytes: number) =>
  new BodyError(
    413,
    'decompressed_body_too_large',
    `Request bodies are limited to ${size(maxBytes)} once decompressed; send smaller batches.`,
  );

export interface SplitBody {
  /** JSON values (objects, arrays' elements, primitives) or, for raw bodies, one string a line. */
  records: unknown[];
  deadLetters: DeadLetter[];
}

/** Splits a decoded body into records as `format` says. */
export function splitBody(text: string, format: BodyFormat): SplitBody {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a UTF-8 byte order mark
  if (format === 'raw') return { records: splitLines(body), deadLetters: [] };
  if (format === 'auto') {
    const first = body.search(/\S/);
    if (first < 0 || (body[first] !== '{' && body[first] !== '['))
      return { records: splitLines(body), deadLetters: [] };
  }
  return splitJson(body);
}

/** One event per non-blank line, without its line break. */
export function splitLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l.trim()) out.push(l);
  }
  return out;
}

const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Index just after the string whose opening quote is at `i`, or -1 when it never closes. */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return -1;
    let slashes = 0;
    for (let k = q - 1; text.charCodeAt(k) === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just after the object or array opening at `i` (brackets balanced, strings skipped), or -1. */
function valueEnd(text: string, i: number): number {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) {
      const end = stringEnd(text, j);
      if (end < 0) return -1;
      j = end - 1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (--depth === 0) return j + 1;
    }
  }
  return -1;
}

/** The texts of a valid JSON array's elements, in order. */
function elementTexts(array: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 1;
  for (let j = 1; j < array.length - 1; j++) {
    const c = array.charCodeAt(j);
    if (c === QUOTE) j = stringEnd(array, j) - 1;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
    else if (c === COMMA && depth === 0) {
      out.push(array.slice(start, j));
      start = j + 1;
    }
  }
  const last = array.slice(start, -1);
  if (last.trim()) out.push(last);
  return out;
}

function record(value: unknown, text: string, records: unknown[]): void {
  if (value !== null && typeof value === 'object') keepVendorText(value, text.trim());
  records.push(value);
}

const reason = (err: unknown) => `not valid JSON: ${(err as Error).message}`;

/**
 * Every top-level JSON value of `text`, arrays flattened into their elements. Whitespace between
 * values is optional (stacked JSON); a value that does not parse, or text that is not JSON at all (up
 * to the end of its line), is a dead letter and the split continues after it.
 */
export function splitJson(text: string): SplitBody {
  const records: unknown[] = [];
  const deadLetters: DeadLetter[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const end = valueEnd(text, i);
      if (end < 0) {
        deadLetters.push({ raw: text.slice(i), reason: 'truncated JSON: the body ends inside this value' });
        break;
      }
      const slice = text.slice(i, end);
      i = end;
      let value: unknown;
      try {
        value = JSON.parse(slice);
      } catch (err) {
        deadLetters.push({ raw: slice, reason: reason(err) });
        continue;
      }
      if (!Array.isArray(value)) record(value, slice, records);
      else {
        const texts = elementTexts(slice);
        value.forEach((v, k) => {
          record(v, texts[k] ?? '', records);
        });
      }
      continue;
    }
    // A primitive value or plain text: to the end of the line.
    const nl = text.indexOf('\n', i);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(i, end);
    i = end;
    try {
      records.push(JSON.parse(line));
    } catch (err) {
      deadLetters.push({ raw: line.trimEnd(), reason: reason(err) });
    }
  }
  return { records, deadLetters };
}
