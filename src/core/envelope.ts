import { createHash } from 'node:crypto';

/** The wire contract every destination receives (DESIGN §2). */
export interface Envelope {
  id: string;
  time: string;
  source: string;
  stream: string;
  collector: string;
  sitename?: string;
  timezone?: string;
  ingested_at: string;
  raw: unknown;
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
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
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
  return `h:${createHash('sha256').update(canonicalJson(raw)).digest('hex').slice(0, 40)}`;
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

export function makeEnvelope(
  ctx: EnvelopeContext,
  raw: unknown,
  id: string | undefined,
  time: string | undefined,
  ingestedAt: string,
): Envelope {
  const env: Envelope = {
    id: id ?? hashId(raw),
    time: time ?? ingestedAt,
    source: ctx.source,
    stream: ctx.stream,
    collector: ctx.collector,
    ingested_at: ingestedAt,
    raw,
  };
  if (ctx.sitename) env.sitename = ctx.sitename;
  if (ctx.timezone) env.timezone = ctx.timezone;
  // Keep the documented key order on the wire: id, time, source, stream, collector, sitename, timezone, ...
  if (ctx.sitename || ctx.timezone) {
    const { ingested_at, raw: r, ...head } = env;
    return { ...head, ingested_at, raw: r } as Envelope;
  }
  return env;
}

const encoded = new WeakMap<Envelope, string>();

/** The envelope as one JSON line (no newline), serialised once however many destinations need it. */
export function encodeLine(env: Envelope): string {
  let line = encoded.get(env);
  if (line === undefined) {
    if (env.raw instanceof RawJson) {
      const { raw, ...head } = env; // raw is the last key: splice the vendor's text in as it came
      line = `${JSON.stringify(head).slice(0, -1)},"raw":${raw.text}}`;
    } else {
      line = JSON.stringify(env);
    }
    encoded.set(env, line);
  }
  return line;
}
