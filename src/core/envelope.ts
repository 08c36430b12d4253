import { hash } from 'node:crypto';

/** The wire contract every destination receives (docs/architecture.md, "The envelope"). */
export interface Envelope {
  id: string;
  time: string;
  source: string;
  stream: string;
  collector: string;
  sitename?: string;
  timezone?: string;
  /** Absent on events; `context` on context records (docs/architecture.md, "Context records"). */
  kind?: 'context';
  /** Context records: the change. `end` is the end-of-snapshot marker (every entity of `snapshot` was delivered). */
  op?: ContextOp;
  /** Context records: the entity type (user, group, ip, domain, hash, url, indicator, vulnerability, …). */
  entity?: string;
  /** Context records: the full refresh this record belongs to (or, for a change between refreshes, the last complete one). */
  snapshot?: string;
  ingested_at: string;
  raw: unknown;
}

export type ContextOp = 'upsert' | 'delete' | 'end';

/** What makes a record a context record (docs/architecture.md, "Context records"). */
export interface ContextFields {
  op: ContextOp;
  entity: string;
  snapshot: string;
}

export interface EnvelopeContext {
  source: string;
  stream: string;
  collector: string;
  sitename?: string;
  timezone?: string;
}

/**
 * A vendor record kept as the exact JSON text the vendor sent (byte-for-byte in `raw`, and no
 * re-serialisation cost). Sources that read line-delimited files use it; `toJSON` keeps plain
 * JSON.stringify correct wherever an envelope is serialised some other way.
 */
export class RawJson {
  declare readonly text: string;
  /** `text` as it goes into a line (`oneLine`) and its UTF-8 bytes, once asked for. */
  #line: string | undefined;
  #bytes = -1;
  constructor(text: string) {
    // An own property (a RawJsonBytes has none: its text is made from its bytes when asked for).
    if (typeof text === 'string') (this as { text: string }).text = text;
  }
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
  /** The text as it goes into an NDJSON line: without line breaks between its tokens. */
  get line(): string {
    this.#line ??= oneLine(this.text);
    return this.#line;
  }
  /** The UTF-8 bytes of `line`. */
  get lineBytes(): number {
    if (this.#bytes < 0) this.#bytes = Buffer.byteLength(this.line);
    return this.#bytes;
  }
}

/**
 * A vendor record held as its exact JSON bytes in a page or chunk it came in: valid JSON in valid UTF-8 with
 * no line break in it (engine/json-page.ts checks all three: `scanPage` for a page's records, `scanRecords`
 * for a pushed body's, `jsonLine` for the NDJSON lines of large objects, which it takes in ASCII only). Nothing of the record is on the JavaScript heap
 * while it waits for delivery, and the file destination copies the bytes straight into its buffer; `text`
 * is decoded from the bytes each time it is asked for (other destinations, JSON.parse).
 */
export class RawJsonBytes extends RawJson {
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
  constructor(bytes: Buffer, start: number, end: number) {
    super(undefined as unknown as string);
    this.bytes = bytes;
    this.start = start;
    this.end = end;
  }
  // @ts-expect-error RawJson's `text` is an own property its constructor sets for a text, never for
  // bytes: on a RawJsonBytes nothing shadows this accessor.
  override get text(): string {
    return this.bytes.toString('utf8', this.start, this.end);
  }
  override get line(): string {
    return this.text; // no line break in it
  }
  override get lineBytes(): number {
    return this.end - this.start;
  }
}

/**
 * Records parsed from a vendor's response (`parseJson` in engine/json-stream.ts) carry their exact
 * JSON text, so that the envelope writes the vendor's own bytes into `raw` instead of serialising
 * the parsed object again: the same meaning (docs/architecture.md, "The envelope": the vendor record is kept intact,
 * large integers included), at a fraction of the cost. The text hangs on the record under a symbol that is
 * neither enumerable nor copied: JSON.stringify, Object.keys, assert.deepEqual and `{ ...record }`
 * do not see it, and it lives exactly as long as the record (no table for the garbage collector).
 * A record must not be changed in place after parsing; a source that reshapes records builds new
 * objects (`{ ...r, events: [e] }`), which carry no text and are serialised as they are.
 */
const VENDOR_TEXT = Symbol('tributary.vendorText');

/** Remembers `text` as the JSON `record` was parsed from. */
export function keepVendorText(record: object, text: string): void {
  if (Object.isExtensible(record)) {
    Object.defineProperty(record, VENDOR_TEXT, { value: text, writable: true, configurable: true });
  }
}

/** The vendor's exact JSON text of a raw record: a RawJson's, or a remembered one; else undefined. */
export function vendorText(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  return raw instanceof RawJson ? raw.text : (raw as { [VENDOR_TEXT]?: string })[VENDOR_TEXT];
}

/**
 * A raw record as JSON text now: the vendor's own text when it was parsed from one, else serialised
 * (what the envelope would write later anyway). For readers of large files: a part's records then wait
 * for delivery as one compact string each, and their parsed objects die young instead of filling V8's
 * old space (README, Performance). Strings, numbers and records already RawJson are left as they are.
 */
export function asRawJson(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || raw instanceof RawJson) return raw;
  return new RawJson(vendorText(raw) ?? JSON.stringify(raw));
}

/** Canonical JSON: object keys sorted, so the same record always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value instanceof RawJson) return canonicalJson(JSON.parse(value.text));
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as object).sort();
  return `{${keys
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

/** A deterministic id for records without a vendor id: sha256 of the canonical record, prefixed. */
export function hashId(raw: unknown): string {
  return `h:${hash('sha256', canonicalJson(raw), 'hex').slice(0, 40)}`;
}

const CANONICAL_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Normalises a vendor timestamp (ISO string, epoch seconds or milliseconds) to UTC ISO-8601, or undefined. */
export function toIsoTime(value: unknown): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  let ms: number;
  if (typeof value === 'number') ms = value < 1e11 ? value * 1000 : value;
  else if (typeof value === 'string') {
    if (CANONICAL_ISO.test(value)) return value; // already what we emit: skip the parse and format
    ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) * (Number(value) < 1e11 ? 1000 : 1) : Date.parse(value);
  } else if (value instanceof Date) ms = value.getTime();
  else return undefined;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/**
 * Wraps a vendor record. A record whose exact JSON text is known (a RawJson, or parsed by
 * `parseJson`) is carried as a RawJson: the envelope then holds the vendor's text rather than the
 * parsed object, which the garbage collector can drop as soon as the batch has been read.
 */
export function makeEnvelope(
  ctx: EnvelopeContext,
  raw: unknown,
  id: string | undefined,
  time: string | undefined,
  ingestedAt: string,
  context?: ContextFields,
): Envelope {
  const text = raw instanceof RawJson ? undefined : vendorText(raw);
  const kept = text === undefined ? raw : new RawJson(text);
  const eventId = id ?? hashId(raw);
  const at = time ?? ingestedAt;
  // The documented key order on the wire: id, time, source, stream, collector, sitename, timezone,
  // kind, op, entity, snapshot (context records only), ingested_at, raw.
  if (!ctx.sitename && !ctx.timezone && !context) {
    return {
      id: eventId,
      time: at,
      source: ctx.source,
      stream: ctx.stream,
      collector: ctx.collector,
      ingested_at: ingestedAt,
      raw: kept,
    };
  }
  const env: Partial<Envelope> = {
    id: eventId,
    time: at,
    source: ctx.source,
    stream: ctx.stream,
    collector: ctx.collector,
  };
  if (ctx.sitename) env.sitename = ctx.sitename;
  if (ctx.timezone) env.timezone = ctx.timezone;
  if (context) {
    env.kind = 'context';
    env.op = context.op;
    env.entity = context.entity;
    env.snapshot = context.snapshot;
  }
  env.ingested_at = ingestedAt;
  env.raw = kept;
  return env as Envelope;
}

const encoded = new WeakMap<Envelope, string>();

/**
 * The part of a line between `time` and the vendor text, the same for every envelope of a batch
 * (`,"source":…,"ingested_at":…,"raw":`): computed once per batch rather than once per line.
 */
let shared: Pick<
  Envelope,
  'source' | 'stream' | 'collector' | 'sitename' | 'timezone' | 'op' | 'entity' | 'snapshot' | 'ingested_at'
> & {
  json: string;
  /** `json` as UTF-8, for writers that copy it into a buffer. */
  utf8: Buffer;
} = { source: '', stream: '', collector: '', ingested_at: '', json: '', utf8: Buffer.alloc(0) };

function sharedPart(env: Envelope): string {
  return shared_(env).json;
}

function shared_(env: Envelope): typeof shared {
  const { source, stream, collector, sitename, timezone, op, entity, snapshot, ingested_at } = env;
  if (
    source !== shared.source ||
    stream !== shared.stream ||
    collector !== shared.collector ||
    sitename !== shared.sitename ||
    timezone !== shared.timezone ||
    op !== shared.op ||
    entity !== shared.entity ||
    snapshot !== shared.snapshot ||
    ingested_at !== shared.ingested_at
  ) {
    let json = `,"source":${JSON.stringify(source)},"stream":${JSON.stringify(stream)},"collector":${JSON.stringify(collector)}`;
    if (sitename !== undefined) json += `,"sitename":${JSON.stringify(sitename)}`;
    if (timezone !== undefined) json += `,"timezone":${JSON.stringify(timezone)}`;
    // A context record's fields (op, entity and snapshot come with kind; a deletion now and then only
    // changes `op`, which rebuilds this small part).
    if (op !== undefined)
      json += `,"kind":"context","op":${JSON.stringify(op)},"entity":${JSON.stringify(entity)},"snapshot":${JSON.stringify(snapshot)}`;
    json += `,"ingested_at":${JSON.stringify(ingested_at)},"raw":`;
    shared = {
      source,
      stream,
      collector,
      sitename,
      timezone,
      op,
      entity,
      snapshot,
      ingested_at,
      json,
      utf8: Buffer.from(json),
    };
  }
  return shared;
}

const LINE_BREAKS = /[\r\n]/g;

/** A vendor text as it goes into a line: JSON.parse-valid, so a line break can only be whitespace. */
function oneLine(text: string): string {
  return text.includes('\n') || text.includes('\r') ? text.replace(LINE_BREAKS, '') : text;
}

/**
 * The envelope as one JSON line, without a newline, its keys in the documented order (id, time,
 * source, stream, collector, sitename, timezone, [kind, op, entity, snapshot,] ingested_at, raw). A vendor text is spliced in as it
 * came (cheap, so built again for each destination); any other record is serialised once, however
 * many destinations need it. JSON.stringify never writes a raw line break; a vendor text can hold one
 * only as whitespace between tokens (pretty-printed JSON), where removing it keeps every token.
 */
export function encodeLine(env: Envelope): string {
  const text = lineText(env.raw);
  if (text !== undefined) return `${lineHead(env)}${text}}`;
  let line = encoded.get(env);
  if (line === undefined) {
    line = JSON.stringify(env);
    encoded.set(env, line);
  }
  return line;
}

/** A line with a vendor text is `head + text + '}'`: this head (`{"id":…,"time":…,…,"raw":`). */
function lineHead(env: Envelope): string {
  return `{"id":${JSON.stringify(env.id)},"time":${JSON.stringify(env.time)}${sharedPart(env)}`;
}

/**
 * `encodeLine(env)` in parts, for writers that copy them straight into a buffer without joining
 * them into one string first: `[head, text]` for a line that is `head + text + '}'` (a vendor text),
 * or `[line]` for a line that is whole.
 */
export function lineParts(env: Envelope): [head: string, text: string] | [line: string] {
  const text = lineText(env.raw);
  return text === undefined ? [encodeLine(env)] : [lineHead(env), text];
}

/** A vendor text as it goes into a line (computed once for a RawJson), or undefined. */
function lineText(raw: unknown): string | undefined {
  if (raw instanceof RawJson) return raw.line;
  const text = vendorText(raw);
  return text === undefined ? undefined : oneLine(text);
}

/** Strings JSON.stringify writes as they are, between quotes: no quote, backslash, control character or surrogate. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;
const ID_OPEN = Buffer.from('{"id":');
const TIME_OPEN = Buffer.from(',"time":');
const QUOTE = 0x22;

/** Writes `value` as a JSON string at `at` of `buffer` (room checked by the caller); the new offset. */
function writeJsonString(buffer: Buffer, at: number, value: string): number {
  if (!PLAIN.test(value)) return at + buffer.write(JSON.stringify(value), at);
  buffer[at++] = QUOTE;
  at += buffer.write(value, at);
  buffer[at++] = QUOTE;
  return at;
}

/**
 * Writes `encodeLine(env)` and a newline into `buffer` at `at`, copying the parts straight in (no
 * line or head string is built); returns the new offset, or -1 when the buffer might be too small
 * (nothing usable written: grow it and call again).
 */
export function writeLine(buffer: Buffer, at: number, env: Envelope): number {
  const bytes = env.raw instanceof RawJsonBytes ? env.raw : undefined;
  const text = bytes ? '' : lineText(env.raw);
  if (text === undefined) {
    const line = encodeLine(env);
    if (at + 3 * line.length + 1 > buffer.length) return -1;
    at += buffer.write(line, at);
    buffer[at++] = 0x0a;
    return at;
  }
  const part = shared_(env).utf8;
  // A UTF-16 code unit is at most 3 bytes of UTF-8; a string needing escapes at most 6 a code unit.
  const textMost = bytes ? bytes.end - bytes.start : 3 * text.length;
  const most = 6 * (env.id.length + env.time.length) + part.length + textMost + 24;
  if (at + most > buffer.length) return -1;
  buffer.set(ID_OPEN, at);
  at = writeJsonString(buffer, at + ID_OPEN.length, env.id);
  buffer.set(TIME_OPEN, at);
  at = writeJsonString(buffer, at + TIME_OPEN.length, env.time);
  buffer.set(part, at);
  at += part.length;
  if (bytes) at += bytes.bytes.copy(buffer, at, bytes.start, bytes.end);
  else at += buffer.write(text, at);
  buffer[at++] = 0x7d; // }
  buffer[at++] = 0x0a; // \n
  return at;
}

/**
 * The UTF-8 bytes of `encodeLine(env)`, the figure runs and the bytes-delivered metric report, without
 * building the line when the record is a vendor text. Ids and times are counted as written without
 * escapes (JSON.stringify would escape a quote, a backslash or a control character in them: a few
 * bytes more, in ids that have any).
 */
export function lineBytes(env: Envelope): number {
  const raw = env.raw;
  const text = raw instanceof RawJson ? undefined : vendorText(raw);
  if (!(raw instanceof RawJson) && text === undefined) return Buffer.byteLength(encodeLine(env));
  // {"id":"…","time":"…" + the shared part + the text + }
  return (
    19 +
    Buffer.byteLength(env.id) +
    env.time.length +
    shared_(env).utf8.length +
    (raw instanceof RawJson ? raw.lineBytes : Buffer.byteLength(oneLine(text!)))
  );
}
