import { createHash } from 'node:crypto';
import { asRawJson, RawJsonBytes, toIsoTime } from '../core/envelope.ts';
import { gapWarning, TributaryError, transientError } from '../core/errors.ts';
import type { Batch, DeadLetter, RawEvent, ReadContext } from '../core/source.ts';
import { type ArtifactPart, recordParts } from './artifact-list.ts';
import {
  type Compression,
  type DecodedRecord,
  decodeObjectChunks,
  lines,
  type ObjectFormat,
} from './object-decode.ts';

/**
 * The object-notification reader (docs/architecture.md, "Object notifications"): objects in a bucket
 * (S3, Blob Storage, Cloud Storage), named by notifications on a queue (SQS, Storage Queue, Pub/Sub) or
 * found by listing, are streamed, decoded and delivered in parts. The source declares the vendor facts
 * — how to reach its store and queue, which objects a message names, the format, ids and times — and
 * this file owns the rest:
 *
 * - a message is deleted only once every record of every object it names is delivered and committed
 *   (`Batch.committed`, called by the runner after the commit);
 * - processed objects are remembered in the checkpoint, so a redelivered message repeats nothing;
 * - an object delivered in part resumes after the records already delivered;
 * - `listing`: keys under a prefix in key order, resuming after the last key done;
 * - `append`: objects that grow (Azure append blobs) resume at the byte after the last complete line.
 */

/** An object as a notification or a listing names it. */
export interface ObjectRef {
  bucket?: string;
  key: string;
  /** The content's version as the store tags it: with `key`, what makes the object's id. */
  etag?: string;
  version?: string;
  size?: number;
  /**
   * When the store last wrote the object (ISO 8601): from the listing (S3 `LastModified`), or filled in
   * by `ObjectStore.get` from the answer (S3's `Last-Modified` header) — a time for records without one.
   */
  lastModified?: string;
}

/** Reading a bucket: what a source implements over the vendor's API (S3, Blob Storage, Cloud Storage). */
export interface ObjectStore {
  /**
   * The object's bytes from byte `start` on (a ranged GET), streamed; undefined when the object no longer
   * exists (deleted by a lifecycle rule before it was read). It may fill in `ref.lastModified` from the
   * answer when the ref has none (a notification does not carry it).
   */
  get(
    ref: ObjectRef,
    o: { start?: number; signal: AbortSignal },
  ): Promise<AsyncIterable<Uint8Array> | undefined>;
  /**
   * The sizes of a block blob's committed blocks, in order (Azure Get Block List), for objects grown block by
   * block (`appendUnit: 'json-blocks'`); undefined when the object no longer exists.
   */
  blocks?(ref: ObjectRef, o: { signal: AbortSignal }): Promise<number[] | undefined>;
  /** One page of objects under `prefix` whose keys sort after `startAfter`, in key order (S3 ListObjectsV2). */
  list(o: {
    prefix: string;
    startAfter?: string;
    signal: AbortSignal;
  }): Promise<{ objects: ObjectRef[]; more: boolean }>;
}

/** A message received from a notification queue. `receipt` is what deletes this delivery of it. */
export interface QueueMessage {
  id: string;
  receipt: string;
  body: string;
  /** The queue's own attributes of the message (SQS `Attributes`: `SentTimestamp`, …), when asked for. */
  attributes?: Record<string, string>;
  /** The sender's attributes (SQS `MessageAttributes`), when asked for. */
  messageAttributes?: Record<string, unknown>;
}

/** A queue with visibility timeouts (SQS, Azure Storage Queue): received messages reappear unless deleted. */
export interface NotificationQueue {
  /** Up to `max` messages; none when the queue is empty (the run is caught up). */
  receive(o: { max: number; signal: AbortSignal }): Promise<QueueMessage[]>;
  delete(receipt: string, o: { signal: AbortSignal }): Promise<void>;
  /** Deletes several at once (SQS DeleteMessageBatch); else `delete` one by one. */
  deleteMany?(receipts: string[], o: { signal: AbortSignal }): Promise<void>;
  /** Hides these received messages `seconds` longer from now (SQS ChangeMessageVisibilityBatch). */
  extend?(receipts: string[], seconds: number, o: { signal: AbortSignal }): Promise<void>;
  /** The queue's visibility timeout in seconds (SQS GetQueueAttributes `VisibilityTimeout`). */
  visibilityTimeout?(o: { signal: AbortSignal }): Promise<number | undefined>;
}

export interface ObjectCheckpoint {
  /** notifications: objects delivered whole (the first 16 hex digits of their ids), newest last (at most `maxDone`). */
  done?: string[];
  /** Objects delivered in part: object id → records (or, in append mode, bytes) delivered. */
  partial?: Record<string, number>;
  /** listing: the last key delivered whole. */
  after?: string;
  /** append: key → bytes delivered (up to the end of the last complete line). */
  offsets?: Record<string, number>;
}

export interface ObjectReaderDef<S = any, A = any> {
  mode: 'notifications' | 'listing' | 'append';
  /** The vendor's bucket and, for `notifications`, its queue, for this collector. */
  open(ctx: ReadContext<S, A>): { objects: ObjectStore; queue?: NotificationQueue };
  /**
   * notifications: the objects a message names (an S3 event notification's `Records[].s3`). A message that
   * names none (S3's `s3:TestEvent`) returns []; one that cannot be read throws, and becomes a dead letter.
   * `ELSEWHERE`: the message is another stream's of the same collector (several streams share one queue,
   * each reading its own objects): it is neither read nor deleted, but handed back to the queue at once
   * (visibility 0, when the queue can) for the stream it belongs to.
   */
  objectsOf?(message: QueueMessage, settings: S): ObjectRef[] | typeof ELSEWHERE;
  /** listing: whether a listed object is read (key include/exclude patterns); default all. */
  accept?(ref: ObjectRef, settings: S): boolean;
  /** listing and append: the prefix listed. */
  prefix?(settings: S): string;
  /**
   * listing: where a first run starts — keys after this one (CloudTrail's date folders: the day the
   * collector's lookback reaches); default the start of the prefix.
   */
  firstAfter?(ctx: ReadContext<S, A>): string | undefined;
  /**
   * listing: keys at or after this one are left for a later run (folders still being written to, e.g.
   * Storage Analytics' hour folders, whose logs arrive up to an hour late): the position never passes a
   * folder that may still receive objects. Default: no bound.
   */
  before?(ctx: ReadContext<S, A>): string | undefined;
  /**
   * append: what an object grows by. `lines` (default): complete lines, `ndjson` or `lines` format.
   * `json-blocks`: a JSON document `{"records":[` … `]}` whose committed blocks are its first block, one
   * record per block (each after the first `,`-prefixed) and the closing block, grown by committing new
   * record blocks before the closing one (Azure flow logs); the offset is the end of the last record block
   * delivered, a record is JSON-parsed from its block.
   */
  appendUnit?: 'lines' | 'json-blocks';
  /** append with `json-blocks`: the events of one record (flow tuples of a flow-log record); default the record. */
  explode?(record: unknown, ref: ObjectRef): unknown[];
  format: ObjectFormat | ((ref: ObjectRef) => ObjectFormat);
  compression?: Compression;
  /** The record's own unique id, if it has one (CloudTrail's `eventID`); else the object's id and the record's place. */
  eventId?(record: unknown, ref: ObjectRef): string | undefined;
  /** The record's own time, in any form `toIsoTime` reads (or the object's: `ref.lastModified`). */
  eventTime?(record: unknown, ref: ObjectRef): unknown;
  /**
   * Records whose `eventTime` gives none (or all records, without `eventTime`) take the object's time
   * (`ref.lastModified`). Without `eventId` and `eventTime`, the reader need not parse a record to make
   * its event: an NDJSON line is then only checked and handed on as its bytes.
   */
  objectTime?: boolean;
  /** Messages asked for at once (SQS allows 1–10). */
  maxMessages?: number;
  /** A part (batch) holds at most this many events … */
  maxEvents?: number;
  /** … or about this many bytes of records. */
  maxBytes?: number;
  /**
   * Objects remembered as done (notifications; default 2,000, about 38 KB of checkpoint); the oldest are
   * forgotten first. Raise it for buckets that receive more objects than this within a visibility timeout.
   */
  maxDone?: number;
}

/** What `objectsOf` answers for a message another stream of the collector reads. */
export const ELSEWHERE = 'elsewhere' as const;

/** Objects delivered in part remembered at once (one is in progress; the others await a redelivery). */
const MAX_PARTIAL = 100;

/** The id of an object's content: its bucket, key and version (or etag), hashed. */
export function objectId(ref: ObjectRef): string {
  return createHash('sha256')
    .update(`${ref.bucket ?? ''}\n${ref.key}\n${ref.version ?? ref.etag ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}

const toTransient = (err: unknown, what: string): unknown =>
  err instanceof TributaryError || (err as Error)?.name === 'AbortError'
    ? err
    : transientError(
        'object_read_failed',
        `${what} failed: ${(err as Error)?.message ?? String(err)}`,
        'None needed if it passes: the next run resumes from the checkpoint. If it persists, check the bucket and its permissions.',
      );

/** The stream's `read`: `streams: { logs: { title, read: readObjects({...}) } }`. */
export function readObjects<S, A>(
  def: ObjectReaderDef<S, A>,
): (ctx: ReadContext<S, A, ObjectCheckpoint>) => AsyncGenerator<Batch<ObjectCheckpoint>> {
  return (ctx) => {
    switch (def.mode) {
      case 'notifications':
        return readNotifications(def, ctx);
      case 'listing':
        return readListing(def, ctx);
      case 'append':
        return readAppend(def, ctx);
    }
  };
}

const formatOf = (def: ObjectReaderDef, ref: ObjectRef) =>
  typeof def.format === 'function' ? def.format(ref) : def.format;

/** An object's records in parts; `skip` records were delivered before. */
async function* objectParts(
  def: ObjectReaderDef,
  ctx: ReadContext,
  objects: ObjectStore,
  ref: ObjectRef,
  skip: number,
): AsyncGenerator<ArtifactPart> {
  const id = objectId(ref);
  let bytes: AsyncIterable<Uint8Array> | undefined;
  try {
    bytes = await objects.get(ref, { signal: ctx.signal });
  } catch (err) {
    throw toTransient(err, `Reading object ${ref.key}`);
  }
  if (!bytes) {
    ctx.warn(
      gapWarning(
        'object_missing',
        `Object ${ref.key} no longer exists; its records were not collected.`,
        'Keep objects longer than the collector may take to read them (lifecycle rules), or check who deletes them.',
      ),
    );
    return;
  }
  const runs = guarded(
    decodeObjectChunks(bytes, formatOf(def, ref), def.compression, { asciiLines: true }),
    ref.key,
  );
  const objectTime = def.objectTime ? toIsoTime(ref.lastModified) : undefined;
  yield* recordParts<DecodedRecord>(
    { runs },
    {
      skip,
      maxEvents: def.maxEvents ?? 1000,
      maxBytes: def.maxBytes ?? 4 << 20,
      record: (r, index) => {
        if ('error' in r)
          return {
            deadLetter: { raw: r.text, reason: `object ${ref.key}, record ${index + 1}: ${r.error}` },
          };
        return { event: toEvent(def, r.value, ref, `${id}:${index}`, objectTime), bytes: r.size };
      },
    },
  );
}

async function* guarded<T>(items: AsyncIterable<T>, key: string): AsyncGenerator<T> {
  try {
    yield* items;
  } catch (err) {
    throw toTransient(err, `Reading object ${key}`);
  }
}

/**
 * A record as an event, handed over as its JSON text (core/envelope.ts `asRawJson`; a line keeps its exact
 * text): the parsed tree dies at once, young, once its id and time are read, instead of waiting (and being
 * promoted) in its part and the batches read ahead, which was most of what a large object's read kept in
 * memory.
 */
function toEvent(
  def: ObjectReaderDef,
  value: unknown,
  ref: ObjectRef,
  fallbackId: string,
  objectTime = def.objectTime ? toIsoTime(ref.lastModified) : undefined,
): RawEvent {
  let raw: unknown;
  if (value instanceof RawJsonBytes) {
    // An NDJSON line kept as its bytes: parsed only when its id or time is read from it.
    raw = value;
    value = def.eventId || def.eventTime ? JSON.parse(value.text) : undefined;
  } else raw = asRawJson(value);
  const id = def.eventId?.(value, ref);
  const own = def.eventTime?.(value, ref);
  const time = own === undefined || own === null ? objectTime : toIsoTime(own);
  // An id made from the record's place (object and number, or byte offset) is not repeated within a run:
  // objects done are remembered and a part read again resumes after what was delivered. (Were one read
  // twice, its events would go again under the same ids, which at-least-once delivery allows.)
  return id === undefined ? { raw, id: fallbackId, time, positional: true } : { raw, id, time };
}

async function* readNotifications(
  def: ObjectReaderDef,
  ctx: ReadContext,
): AsyncGenerator<Batch<ObjectCheckpoint>> {
  const { objects, queue } = def.open(ctx);
  if (!queue || !def.objectsOf) throw new Error('an object-notification stream needs a queue and objectsOf');
  const cp = ctx.checkpoint as ObjectCheckpoint | undefined;
  const done = new Set(cp?.done ?? []);
  const partial = { ...(cp?.partial ?? {}) };
  const maxDone = def.maxDone ?? 2000;
  // 64 bits of the object id tell apart the few thousand objects remembered; event ids keep all 128.
  const doneKey = (id: string) => id.slice(0, 16);
  const snapshot = (): ObjectCheckpoint => ({ done: [...done], partial: { ...partial } });
  const markDone = (id: string) => {
    done.delete(doneKey(id));
    done.add(doneKey(id)); // newest last
    delete partial[id];
    if (done.size > maxDone) done.delete(done.values().next().value!);
    // Objects left in part whose message never came back (deleted elsewhere, past the queue's retention).
    const left = Object.keys(partial);
    for (let i = 0; i < left.length - MAX_PARTIAL; i++) delete partial[left[i]];
  };
  // Other streams' messages handed back in this run: seeing only those again means this stream is caught up.
  const handedBack = new Set<string>();
  for (;;) {
    let messages: QueueMessage[];
    try {
      messages = await queue.receive({ max: def.maxMessages ?? 10, signal: ctx.signal });
    } catch (err) {
      throw toTransient(err, 'Receiving notifications');
    }
    if (!messages.length) return; // caught up
    // Other streams' messages are handed back first, so their stream need not wait for this one's reading.
    const named = new Map<QueueMessage, ObjectRef[] | Error>();
    const others: QueueMessage[] = [];
    for (const m of messages) {
      try {
        const refs = def.objectsOf(m, ctx.settings);
        if (refs === ELSEWHERE) others.push(m);
        else named.set(m, refs);
      } catch (err) {
        named.set(m, err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (others.length) await handBack(queue, others, ctx.signal);
    if (!named.size && others.every((m) => handedBack.has(m.id))) return; // only those seen before: caught up
    for (const m of others) handedBack.add(m.id);
    for (const [m, refs] of named) {
      const ack = () => queue.delete(m.receipt, { signal: ctx.signal });
      if (refs instanceof Error) {
        // Not a notification the source reads: kept as a dead letter, and deleted once that is committed.
        const reason = `message ${m.id} is not a notification this source reads: ${refs.message}`;
        yield { events: [], deadLetters: [{ raw: m.body, reason }], checkpoint: snapshot(), committed: ack };
        continue;
      }
      // The same object named twice (in one message or by a redelivery) is read once.
      const seen = new Set<string>();
      const todo = refs.filter((r) => {
        const id = objectId(r);
        if (done.has(doneKey(id)) || seen.has(id)) return false;
        seen.add(id);
        return true;
      });
      if (!todo.length) {
        yield { events: [], checkpoint: snapshot(), committed: ack };
        continue;
      }
      for (let i = 0; i < todo.length; i++) {
        const ref = todo[i];
        const id = objectId(ref);
        const last = i === todo.length - 1;
        let consumed = partial[id] ?? 0;
        let held: ArtifactPart | undefined;
        for await (const part of objectParts(def, ctx, objects, ref, consumed)) {
          if (held) yield { events: held.events, deadLetters: held.deadLetters, checkpoint: snapshot() };
          held = part;
          consumed += part.records;
          partial[id] = consumed;
        }
        markDone(id);
        yield {
          events: held?.events ?? [],
          deadLetters: held?.deadLetters,
          checkpoint: snapshot(),
          pages: 1,
          committed: last ? ack : undefined,
        };
      }
    }
  }
}

/** Makes other streams' messages visible again at once (when the queue can), so their stream need not wait. */
async function handBack(queue: NotificationQueue, messages: QueueMessage[], signal: AbortSignal) {
  if (!queue.extend) return; // they reappear after the visibility timeout
  try {
    await queue.extend(
      messages.map((m) => m.receipt),
      0,
      { signal },
    );
  } catch (err) {
    throw toTransient(err, 'Handing back other streams’ notifications');
  }
}

async function* readListing(def: ObjectReaderDef, ctx: ReadContext): AsyncGenerator<Batch<ObjectCheckpoint>> {
  const { objects } = def.open(ctx);
  const prefix = def.prefix?.(ctx.settings) ?? '';
  const cp = ctx.checkpoint as ObjectCheckpoint | undefined;
  let after = cp?.after ?? def.firstAfter?.(ctx);
  let saved = after;
  const bound = def.before?.(ctx);
  const partial = { ...(cp?.partial ?? {}) };
  const snapshot = (): ObjectCheckpoint => {
    saved = after;
    return { after, partial: { ...partial } };
  };
  for (;;) {
    let page: { objects: ObjectRef[]; more: boolean };
    try {
      page = await objects.list({ prefix, startAfter: after, signal: ctx.signal });
    } catch (err) {
      throw toTransient(err, `Listing ${prefix || 'the bucket'}`);
    }
    const fresh = page.objects.filter((o) => after === undefined || o.key > after);
    for (const ref of fresh) {
      if (bound !== undefined && ref.key >= bound) {
        // Keys come in order: this one and all after it wait for a later run.
        if (after !== saved) yield { events: [], checkpoint: snapshot() };
        return;
      }
      if (def.accept && !def.accept(ref, ctx.settings)) {
        after = ref.key; // not read; saved with the next object delivered
        continue;
      }
      const id = objectId(ref);
      let consumed = partial[id] ?? 0;
      let held: ArtifactPart | undefined;
      for await (const part of objectParts(def, ctx, objects, ref, consumed)) {
        if (held) yield { events: held.events, deadLetters: held.deadLetters, checkpoint: snapshot() };
        held = part;
        consumed += part.records;
        partial[id] = consumed;
      }
      delete partial[id];
      after = ref.key;
      yield { events: held?.events ?? [], deadLetters: held?.deadLetters, checkpoint: snapshot(), pages: 1 };
    }
    if (!page.more) {
      // Objects skipped (not accepted) after the last one read: not listed again.
      if (after !== saved) yield { events: [], checkpoint: snapshot() };
      return;
    }
    if (!fresh.length)
      throw transientError(
        'pagination_loop',
        `Listing ${prefix || 'the bucket'} after ${after ?? 'the start'} says there is more but names nothing new.`,
        'Report this: the object store repeats a listing page.',
      );
  }
}

/**
 * Objects that grow: each listed object is read from the byte after its last complete line delivered. A
 * last line without its newline waits for the next run. Ids are the object's key and the line's byte
 * offset, which do not change as the object grows. Only `ndjson` and `lines` can be read this way.
 */
async function* readAppend(def: ObjectReaderDef, ctx: ReadContext): AsyncGenerator<Batch<ObjectCheckpoint>> {
  const { objects } = def.open(ctx);
  const prefix = def.prefix?.(ctx.settings) ?? '';
  const cp = ctx.checkpoint as ObjectCheckpoint | undefined;
  const saved = cp?.offsets ?? {};
  // Every run lists the whole prefix; offsets of objects no longer listed are dropped.
  const listed: ObjectRef[] = [];
  let startAfter: string | undefined;
  for (;;) {
    let page: { objects: ObjectRef[]; more: boolean };
    try {
      page = await objects.list({ prefix, startAfter, signal: ctx.signal });
    } catch (err) {
      throw toTransient(err, `Listing ${prefix || 'the bucket'}`);
    }
    listed.push(...page.objects);
    if (!page.more || !page.objects.length) break;
    startAfter = page.objects.at(-1)!.key;
  }
  const offsets: Record<string, number> = {};
  for (const r of listed) offsets[r.key] = saved[r.key] ?? 0;
  const snapshot = (): ObjectCheckpoint => ({ offsets: { ...offsets } });
  const maxEvents = def.maxEvents ?? 1000;
  const maxBytes = def.maxBytes ?? 4 << 20;
  for (const ref of listed) {
    let from = offsets[ref.key];
    if (ref.size !== undefined && ref.size < from) {
      ctx.warn(
        gapWarning(
          'object_shrank',
          `Object ${ref.key} is shorter (${ref.size} bytes) than what was read of it (${from}): it was replaced, and is read again from its start.`,
          'None needed if the object was replaced on purpose; append-mode objects are expected only to grow.',
        ),
      );
      from = offsets[ref.key] = 0;
    }
    if (def.appendUnit === 'json-blocks') {
      for await (const b of readBlocks(def, ctx, objects, ref, from, offsets))
        yield { ...b, checkpoint: snapshot() };
      continue;
    }
    if (ref.size !== undefined && ref.size === from) continue;
    const format = formatOf(def, ref);
    if (format !== 'ndjson' && format !== 'lines')
      throw new Error(
        `append mode reads ndjson or lines, not ${typeof format === 'string' ? format : 'a decoder'}`,
      );
    let bytes: AsyncIterable<Uint8Array> | undefined;
    try {
      bytes = await objects.get(ref, { start: from, signal: ctx.signal });
    } catch (err) {
      throw toTransient(err, `Reading object ${ref.key}`);
    }
    if (!bytes) continue; // deleted since the listing
    const keyId = objectId({ bucket: ref.bucket, key: ref.key });
    let events: RawEvent[] = [];
    let deadLetters: DeadLetter[] = [];
    let size = 0;
    for await (const { line, start, end } of guarded(lines(bytes, { completeOnly: true }), ref.key)) {
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      const at = from + start;
      offsets[ref.key] = from + end;
      if (!text.trim()) continue;
      if (format === 'lines') events.push(toEvent(def, text, ref, `${keyId}@${at}`));
      else {
        try {
          events.push(toEvent(def, JSON.parse(text), ref, `${keyId}@${at}`));
        } catch {
          deadLetters.push({
            raw: text.slice(0, 10_000),
            reason: `object ${ref.key}, byte ${at}: not valid JSON`,
          });
        }
      }
      size += text.length;
      if (events.length >= maxEvents || size >= maxBytes) {
        yield { events, deadLetters, checkpoint: snapshot() };
        events = [];
        deadLetters = [];
        size = 0;
      }
    }
    yield { events, deadLetters, checkpoint: snapshot(), pages: 1 };
  }
  if (!listed.length) yield { events: [], checkpoint: snapshot() };
}

/**
 * `appendUnit: 'json-blocks'`: the record blocks of `ref` committed after byte `from` (its header block
 * skipped, its closing block left), one record each; `offsets[ref.key]` moves to the end of each part's last
 * block. Ids are the object's key and the block's byte offset (with the place within the record when
 * `explode` splits it), which do not change as the blob grows.
 */
async function* readBlocks(
  def: ObjectReaderDef,
  ctx: ReadContext,
  objects: ObjectStore,
  ref: ObjectRef,
  from: number,
  offsets: Record<string, number>,
): AsyncGenerator<{ events: RawEvent[]; deadLetters: DeadLetter[]; pages?: number }> {
  if (!objects.blocks) throw new Error('json-blocks append mode needs ObjectStore.blocks');
  let sizes: number[] | undefined;
  try {
    sizes = await objects.blocks(ref, { signal: ctx.signal });
  } catch (err) {
    throw toTransient(err, `Listing the blocks of ${ref.key}`);
  }
  if (!sizes || sizes.length < 3) return; // header and footer only: no record yet
  const ends: number[] = [];
  let total = 0;
  for (const size of sizes) ends.push((total += size));
  const recordsEnd = ends[ends.length - 2];
  const start = Math.max(from, ends[0]);
  if (start >= recordsEnd) return;
  let bytes: AsyncIterable<Uint8Array> | undefined;
  try {
    bytes = await objects.get(ref, { start, signal: ctx.signal });
  } catch (err) {
    throw toTransient(err, `Reading object ${ref.key}`);
  }
  if (!bytes) return;
  const chunks: Buffer[] = [];
  let have = 0;
  for await (const c of guarded(bytes, ref.key)) {
    chunks.push(Buffer.from(c));
    have += c.byteLength;
    if (have >= recordsEnd - start) break;
  }
  const body = Buffer.concat(chunks);
  const keyId = objectId({ bucket: ref.bucket, key: ref.key });
  const maxEvents = def.maxEvents ?? 1000;
  let events: RawEvent[] = [];
  let deadLetters: DeadLetter[] = [];
  for (let i = 1; i < sizes.length - 1; i++) {
    const blockStart = ends[i - 1];
    if (blockStart < start) continue;
    if (ends[i] - start > body.length) break; // not all read (the blob was replaced): next run
    const text = body
      .subarray(blockStart - start, ends[i] - start)
      .toString('utf8')
      .trim()
      .replace(/^,/, '');
    try {
      const record = JSON.parse(text);
      const parts = def.explode ? def.explode(record, ref) : [record];
      for (let j = 0; j < parts.length; j++)
        events.push(
          toEvent(def, parts[j], ref, def.explode ? `${keyId}@${blockStart}#${j}` : `${keyId}@${blockStart}`),
        );
    } catch {
      deadLetters.push({
        raw: text.slice(0, 10_000),
        reason: `object ${ref.key}, block at byte ${blockStart}: not a JSON record`,
      });
    }
    offsets[ref.key] = ends[i];
    if (events.length >= maxEvents) {
      yield { events, deadLetters };
      events = [];
      deadLetters = [];
    }
  }
  yield { events, deadLetters, pages: 1 };
}
