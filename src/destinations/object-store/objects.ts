import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { z } from 'zod';
import type { Envelope } from '../../core/envelope.ts';
import { destinationUrlProblem } from '../http/http-destination.ts';
import { NdjsonEncoder } from '../ndjson.ts';

const gzip = promisify(gzipCallback);

/**
 * What the object-store destinations (s3, azure-blob, gcs) share: how a batch becomes objects, named
 * by a key template, and the settings for it (docs/destinations.md, "Object stores").
 *
 * - Each `send` writes its own objects and resolves once every PUT has succeeded: nothing is held
 *   across sends (a time-based rollover that kept events in memory until the hour ends would move
 *   the checkpoint past events that are not durable anywhere). A batch is one vendor page or one
 *   pushed request, so an object holds one batch's events of one hour; a batch larger than
 *   `maxObjectBytes` becomes several objects.
 * - Object names are deterministic for a given batch: the partition comes from each event's own
 *   `time` (stable across re-reads, unlike the ingest time), and the name ends with the first
 *   event's id and a hash of every id in the object. A batch re-sent after a failure or a crash is
 *   the same events, so it overwrites the same objects instead of adding copies. A different set of
 *   events never gets the same name (the hash), so an overwrite can never drop events that were
 *   acknowledged earlier.
 */

export const KEY_PLACEHOLDERS = [
  'prefix',
  'source',
  'stream',
  'collector',
  'sitename',
  'yyyy',
  'mm',
  'dd',
  'HH',
  'firstId',
  'hash',
  'count',
  'ext',
] as const;
type Placeholder = (typeof KEY_PLACEHOLDERS)[number];

export const DEFAULT_KEY_TEMPLATE =
  '{prefix}/source={source}/dt={yyyy}-{mm}-{dd}/hour={HH}/{collector}-{firstId}-{hash}.{ext}';

/** Object names are at most 1024 bytes in S3 and GCS, 1024 characters in Azure Blob Storage. */
export const MAX_KEY_BYTES = 1024;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Problems of a key template, or [] when it is usable. */
export function keyTemplateProblems(template: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    if (!(KEY_PLACEHOLDERS as readonly string[]).includes(name))
      problems.push(
        `unknown placeholder {${name}}; expected some of ${KEY_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`,
      );
    seen.add(name);
  }
  if (!seen.has('hash'))
    problems.push(
      'must contain {hash}: without it a re-read batch holding other events could overwrite an object and lose the events in it',
    );
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) problems.push('has an unmatched { or }');
  return problems;
}

/** Settings every object-store destination has. */
export const objectStoreFields = {
  prefix: z
    .string()
    .trim()
    .max(256)
    .regex(/^[^{}\\]*$/, 'no { } or \\ in the prefix')
    .default('tributary')
    .meta({ title: 'Prefix' })
    .describe('Start of every object name ({prefix} in the key template), e.g. logs/tributary'),
  keyTemplate: z
    .string()
    .trim()
    .min(1)
    .max(512)
    .superRefine((t, ctx) => {
      for (const message of keyTemplateProblems(t)) ctx.addIssue({ code: 'custom', message });
    })
    .default(DEFAULT_KEY_TEMPLATE)
    .meta({ title: 'Object name template' })
    .describe(
      `How objects are named: {prefix} {source} {stream} {collector} {sitename} {yyyy} {mm} {dd} {HH} (UTC, of the time chosen by partitionTime) {firstId} {hash} {count} {ext}; must contain {hash}. Default ${DEFAULT_KEY_TEMPLATE}`,
    ),
  partitionTime: z
    .enum(['event', 'ingest'])
    .default('event')
    .meta({ title: 'Partition by' })
    .describe(
      "event: each event's own time (stable, so a re-sent batch overwrites the same objects; late events land in older partitions); ingest: when Tributary read it",
    ),
  compression: z
    .enum(['gzip', 'none'])
    .default('gzip')
    .meta({ title: 'Compression' })
    .describe('gzip (objects end in .ndjson.gz) or none (.ndjson)'),
  maxObjectBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(16 * 1024 * 1024)
    .meta({ title: 'Largest object (bytes of NDJSON)' })
    .describe(
      'A batch with more NDJSON than this (before compression) is written as several objects (default 16 MiB)',
    ),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(32)
    .default(4)
    .meta({ title: 'Parallel uploads' })
    .describe('Objects of one batch uploaded at once (default 4)'),
  timeout: z
    .number()
    .int()
    .positive()
    .default(60_000)
    .meta({ title: 'Request timeout (ms)' })
    .describe('Milliseconds one upload may take before it counts as failed (default 60000)'),
};

export interface ObjectLayout {
  prefix: string;
  keyTemplate: string;
  partitionTime: 'event' | 'ingest';
  compression: 'gzip' | 'none';
  maxObjectBytes: number;
}

/** One object to write: its name, its body, and what it holds. */
export interface PlannedObject {
  key: string;
  body: Buffer;
  contentType: string;
  events: number;
  /** Base64 MD5 of the body, which the stores verify on upload. */
  md5: string;
}

/** A name part made safe for an object name: no '/', no control or unusual characters. */
function safe(value: string, max = 128): string {
  const s = value.replace(/[^A-Za-z0-9._=@+-]/g, '_').slice(0, max);
  return /^\.+$/.test(s) ? s.replace(/\./g, '_') : s;
}

/** `[yyyy, mm, dd, HH]` of an ISO time (the envelope's canonical form is sliced, others parsed). */
function hourParts(iso: string): [string, string, string, string] {
  if (/^\d{4}-\d\d-\d\dT\d\d/.test(iso) && iso.endsWith('Z'))
    return [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10), iso.slice(11, 13)];
  const ms = Date.parse(iso);
  const d = new Date(Number.isFinite(ms) ? ms : 0).toISOString();
  return [d.slice(0, 4), d.slice(5, 7), d.slice(8, 10), d.slice(11, 13)];
}

export function renderKey(template: string, values: Record<Placeholder, string>): string {
  const key = template.replace(PLACEHOLDER, (_, name: Placeholder) => values[name] ?? '');
  return key.replace(/\/{2,}/g, '/').replace(/^\/+/, '');
}

/**
 * Splits a batch into objects: grouped by everything the key template names but the ids (source,
 * stream, collector, site and hour), in batch order, each group cut so that no object holds more than
 * `maxObjectBytes` of NDJSON (one event always fits). Bodies are gzipped unless compression is none.
 */
export async function planObjects(
  events: readonly Envelope[],
  layout: ObjectLayout,
  encoder = new NdjsonEncoder(),
): Promise<PlannedObject[]> {
  const groups = new Map<string, { parts: string[]; events: Envelope[] }>();
  for (const e of events) {
    const [yyyy, mm, dd, HH] = hourParts(layout.partitionTime === 'event' ? e.time : e.ingested_at);
    const parts = [e.source, e.stream, e.collector, e.sitename ?? '', yyyy, mm, dd, HH];
    const id = parts.join('\u0000');
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { parts, events: [] }));
    g.events.push(e);
  }
  const gz = layout.compression === 'gzip';
  const out: PlannedObject[] = [];
  for (const { parts, events: group } of groups.values()) {
    const [source, stream, collector, sitename, yyyy, mm, dd, HH] = parts as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const ndjson = encoder.encode(group); // valid until the next encode: cut and copied (gzipped) here
    let start = 0;
    let first = 0;
    let at = 0;
    for (let i = 0; i < group.length; i++) {
      const end = ndjson.indexOf(0x0a, at) + 1;
      if (end - start > layout.maxObjectBytes && i > first) {
        out.push(await object(ndjson.subarray(start, at), group.slice(first, i)));
        start = at;
        first = i;
      }
      at = end;
    }
    out.push(await object(ndjson.subarray(start, at), group.slice(first)));

    async function object(bytes: Buffer, held: Envelope[]): Promise<PlannedObject> {
      const body = gz ? await gzip(bytes) : Buffer.from(bytes);
      const hash = createHash('sha256');
      for (const e of held) hash.update(e.id).update('\n');
      const key = renderKey(layout.keyTemplate, {
        prefix: layout.prefix.replace(/^\/+|\/+$/g, ''),
        source: safe(source),
        stream: safe(stream),
        collector: safe(collector),
        sitename: safe(sitename),
        yyyy,
        mm,
        dd,
        HH,
        firstId: safe(held[0]!.id, 64),
        hash: hash.digest('hex').slice(0, 16),
        count: String(held.length),
        ext: gz ? 'ndjson.gz' : 'ndjson',
      });
      return {
        key,
        body,
        contentType: gz ? 'application/gzip' : 'application/x-ndjson',
        events: held.length,
        md5: createHash('md5').update(body).digest('base64'),
      };
    }
  }
  return out;
}

/** The object Test Connection writes, and overwrites at every test: `{prefix}/_tributary/connection-test.txt`. */
export function probeKey(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return `${p ? `${p}/` : ''}_tributary/connection-test.txt`;
}

export const PROBE_BODY = Buffer.from('Tributary connection test: this object may be deleted.\n');

/** Runs `work` on every item, at most `limit` at once; rejects with the first failure once all settled. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}

/**
 * An endpoint URL setting: https, or plain http only to a loopback host (a local emulator), no
 * credentials in it (destinations/http, `destinationUrlProblem`). Kept as written: a transform would
 * not survive the JSON Schema the console and `tributary destinations` are generated from.
 */
export const endpointUrl = () =>
  z
    .string()
    .trim()
    .superRefine((url, ctx) => {
      const problem = destinationUrlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/** An endpoint setting without its trailing slashes. */
export const trimUrl = (url: string) => url.replace(/\/+$/, '');
