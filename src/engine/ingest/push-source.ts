import { z } from 'zod';
import { SECRET } from '../../core/secret-spec.ts';
import type { BodyFormat, ReceiveDef, SourceDef, Stability } from '../../core/source.ts';
import { httpHeaderName } from '../../core/validation.ts';

/**
 * The declarative form of a push source (family `push`): vendor facts — the body format it sends,
 * where its records keep an id and a time, the stream name — become the defaults of the settings
 * every push collector has, and the generic receiver (receiver.ts) does the rest. Sugar over
 * `SourceDef.receive`, as restPoll is over `StreamDef.read`.
 */

export interface PushDefaults {
  format: BodyFormat;
  stream: string;
  /** Dotted path of the vendor's unique record id, when the vendor has one. */
  idPath?: string;
  /** Dotted path of the record's own time (ISO-8601 or epoch seconds/milliseconds). */
  timePath?: string;
}

const dottedPath = z
  .string()
  .trim()
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'expected a dotted path such as event.id')
  .max(200);

const headerName = httpHeaderName('X-Signature');

/**
 * The most `maxDecompressedMB` may be. A request's decompressed text stays in memory (in V8's heap, up
 * to 2 bytes a character) with its envelopes until every destination has acknowledged it, and the file
 * destination encodes each slice once more: within about 3× the body (README, Performance). 256 MB keeps
 * one maximal request under 1 GB, within Node's default heap on a small host; bigger batches are better
 * sent as several requests (docs/sources.md, push sources).
 */
export const MAX_DECOMPRESSED_MB = 256;

const DEFAULT_SIGNATURE_HEADER = 'X-Tributary-Signature';

/** The header a collector's HMAC signature travels in: `hmac.header`, else the default. */
export const signatureHeaderOf = (hmac: { header?: string }) => hmac.header ?? DEFAULT_SIGNATURE_HEADER;

/** The settings of a push collector, with the source's defaults. */
export function pushSettings(d: PushDefaults) {
  const path = (title: string, what: string, dflt: string | undefined) =>
    (dflt === undefined ? dottedPath.optional() : dottedPath.default(dflt)).describe(what).meta({ title });
  return z
    .object({
      format: z
        .enum(['auto', 'json', 'raw'])
        .default(d.format)
        .describe(
          'Body format: json (an object, an array of records, NDJSON or stacked JSON), raw (one event per line), or auto (json when the body starts with { or [, else raw)',
        )
        .meta({ title: 'Body format' }),
      stream: z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1–64 letters, digits, ".", "_" or "-"')
        .default(d.stream)
        .describe('Stream name stamped on every event this collector receives')
        .meta({ title: 'Stream' }),
      idPath: path(
        'Event id path',
        "Dotted path of the vendor's unique event id in each JSON record; records without it get a hash of the record as id",
        d.idPath,
      ),
      timePath: path(
        'Event time path',
        "Dotted path of the event's own time in each JSON record (ISO-8601 or epoch seconds/ms); else the time it was received",
        d.timePath,
      ),
      hmac: z
        .object({
          // Not a schema default: the console's form would then make up an `hmac` object (turning the
          // signature on) for every new collector.
          header: headerName
            .optional()
            .describe(
              `Header carrying HMAC-SHA256 of the body as sent: hex, sha256=hex, or base64 (default ${DEFAULT_SIGNATURE_HEADER})`,
            )
            .meta({ title: 'Signature header' }),
          secret: z
            .string()
            .min(16, 'expected at least 16 characters')
            .max(1024)
            .optional()
            .meta(SECRET)
            .describe('Shared secret (write-only; stored encrypted). Required when hmac is first set')
            .meta({ title: 'HMAC secret' }),
        })
        .strict()
        .optional()
        .describe('Require a signature on every request, in addition to the bearer token')
        .meta({ title: 'Signed requests (HMAC)' }),
      maxEventsPerSecond: z
        .number()
        .int()
        .positive()
        .max(10_000_000)
        .optional()
        .describe('Above this rate the endpoint answers 429 with Retry-After (the sender retries)')
        .meta({ title: 'Most events per second' }),
      maxBodyMB: z
        .number()
        .positive()
        .max(100)
        .default(10)
        .describe('Largest request body as sent (compressed), in MB; larger ones get 413')
        .meta({ title: 'Largest body as sent (MB)' }),
      maxDecompressedMB: z
        .number()
        .positive()
        .max(
          MAX_DECOMPRESSED_MB,
          `expected at most ${MAX_DECOMPRESSED_MB} (MB): one request's text and events are held in memory until its destinations acknowledge them; send smaller batches instead`,
        )
        .default(100)
        .describe(
          `Largest request body once decompressed, in MB (at most ${MAX_DECOMPRESSED_MB}); larger ones get 413`,
        )
        .meta({ title: 'Largest body decompressed (MB)' }),
      maxRecords: z
        .number()
        .int()
        .positive()
        .max(1_000_000)
        .default(100_000)
        .describe(
          'Most records (events and dead letters) one request may carry; a request with more gets 413 and nothing of it is delivered',
        )
        .meta({ title: 'Most records per request' }),
      maxDepth: z
        .number()
        .int()
        .positive()
        .max(512)
        .default(64)
        .describe(
          'Deepest nesting of objects and arrays in one JSON record; a deeper record goes to the dead letters (a body that is only that record gets 400)',
        )
        .meta({ title: 'Deepest JSON nesting' }),
      maxRecordKB: z
        .number()
        .positive()
        .max(8192)
        .default(1024)
        .describe(
          'Largest record (one line, object or array element), in KB of text; a larger one goes to the dead letters with its first 64 KB (a body that is only that record gets 413)',
        )
        .meta({ title: 'Largest record (KB)' }),
    })
    .strict();
}

export type PushSettings = z.infer<ReturnType<typeof pushSettings>>;

/** Dotted paths split, as they are read for every record (a collector has one or two). */
const splitPaths = new Map<string, string[]>();

/** The value at a dotted path of a JSON record, or undefined. */
export function valueAt(record: unknown, path: string | undefined): unknown {
  if (!path) return undefined;
  let keys = splitPaths.get(path);
  if (!keys) {
    if (splitPaths.size >= 1000) splitPaths.clear();
    keys = path.split('.');
    splitPaths.set(path, keys);
  }
  let v: unknown = record;
  for (const k of keys) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

const MB = 1024 * 1024;

/** The generic receiving side: everything comes from the collector's settings. */
export const settingsReceive: ReceiveDef<PushSettings> = {
  options: (s) => ({
    format: s.format,
    stream: s.stream,
    maxBodyBytes: Math.floor(s.maxBodyMB * MB),
    maxDecompressedBytes: Math.floor(s.maxDecompressedMB * MB),
    maxRecords: s.maxRecords,
    maxDepth: s.maxDepth,
    maxRecordChars: Math.floor(s.maxRecordKB * 1024),
    maxEventsPerSecond: s.maxEventsPerSecond,
    signatureHeader: s.hmac ? signatureHeaderOf(s.hmac) : undefined,
  }),
  eventId(record, s) {
    const v = valueAt(record, s.idPath);
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    return undefined;
  },
  eventTime: (record, s) => valueAt(record, s.timePath),
  fields: (s) => [...new Set([s.idPath, s.timePath].flatMap((p) => (p ? [p.split('.')[0]!] : [])))],
};

export interface PushSourceSpec {
  id: string;
  title: string;
  stability: Stability;
  description: string;
  /** The vendor-side configuration, in Markdown. */
  setupGuide: string;
  defaults: PushDefaults;
}

/** A push source from its vendor facts. */
export function pushSource(spec: PushSourceSpec): SourceDef<PushSettings, never> {
  return {
    id: spec.id,
    title: spec.title,
    account: '',
    stability: spec.stability,
    family: 'push',
    description: spec.description,
    setupGuide: spec.setupGuide,
    settings: pushSettings(spec.defaults),
    streams: {},
    receive: settingsReceive,
    // Test Connection has nothing to reach: the vendor calls us. A test event proves the path instead.
    async test() {},
  };
}
