import { createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../core/duration.ts';
import { asRawJson } from '../core/envelope.ts';
import { TributaryError, transientError } from '../core/errors.ts';
import type { Batch, DeadLetter, RawEvent, ReadContext } from '../core/source.ts';
import { releasingChunks } from './buffers.ts';
import { jsonObjects } from './json-stream.ts';
import { decodeObject } from './object-decode.ts';
import { retentionGap } from './time-window.ts';

/**
 * Artifact lists (docs/architecture.md, "Artifact list" and "Artifact window"): a vendor lists artifacts
 * — log files, content blobs, export chunks — and each is fetched, checked and its records delivered in
 * parts, the checkpoint naming the artifacts already processed and the position inside the one being
 * delivered. Two listings share what follows the listing (this file):
 *
 * - `readArtifactList` here, for vendors that list artifacts in the order they became available strictly
 *   after a position the vendor names (ChatGPT Enterprise's Compliance Logs: `after`, `has_more`,
 *   `last_end_time`);
 * - `readArtifactWindows` (artifact-window.ts), for vendors that list artifacts of a time window (the
 *   Office 365 Management Activity API's content blobs).
 *
 * And the pieces an artifact's `fetch` is made of: `downloadArtifact` (to a temporary file, through a
 * signed redirect if the vendor uses one, checked against the vendor's sha256, tried up to three times;
 * `openArtifact` also tells the download's identity, its sha256 and the server's ETag / Last-Modified)
 * and `recordParts` (records in parts of bounded size, resuming after the records already delivered).
 */

/** Part of an artifact's records: `records` counts what it consumed (events, dead letters, skipped lines). */
export interface ArtifactPart {
  events: RawEvent[];
  deadLetters?: DeadLetter[];
  records: number;
  /**
   * Another part follows (`recordParts` knows it once it has read the next record): the part can be
   * delivered at once, not held back until the next one is read to learn whether it is the last.
   */
  more?: boolean;
}

/**
 * Delivers one artifact's parts: every part but the last carries `at(records consumed so far)` as its
 * checkpoint (a restart resumes inside the artifact), the last carries `done()` (the artifact processed)
 * and counts as one page. `skip` records were delivered before a restart. A part is held back until the
 * next one is read (to learn whether it is the last), unless it says that more follow (`more`): then it
 * goes at once, and is not kept alive while the next part is read.
 */
export async function* deliverArtifact<C>(
  parts: AsyncIterable<ArtifactPart>,
  skip: number,
  at: (records: number) => C,
  done: () => C,
): AsyncGenerator<Batch<C>> {
  let held: ArtifactPart | undefined;
  let consumed = skip;
  for await (const part of parts) {
    if (held) yield partBatch(held, at(consumed));
    held = undefined;
    consumed += part.records;
    if (part.more) yield partBatch(part, at(consumed));
    else held = part;
  }
  yield held ? { ...partBatch(held, done()), pages: 1 } : { events: [], checkpoint: done(), pages: 1 };
}

/**
 * A part as a batch, its events let go once the runner has delivered and committed it (`release`): the
 * generators it passes through keep the batch itself until their next one is read.
 */
function partBatch<C>(part: ArtifactPart, checkpoint: C): Batch<C> {
  const { events } = part;
  return {
    events,
    deadLetters: part.deadLetters,
    checkpoint,
    release: () => {
      events.length = 0;
    },
  };
}

/** What one record of an artifact becomes: an event (with its size, for the part's byte bound) or a dead letter. */
export type ArtifactRecord = { event: RawEvent; bytes: number } | { deadLetter: DeadLetter };

/**
 * An artifact's records in parts of at most `maxEvents` events or `maxBytes` bytes. The first `skip`
 * items are passed over (delivered before a restart). An array is emptied as it is read, so that each
 * record is held by its part only. A full part is given once the next record is read, marked `more`
 * (`deliverArtifact` then delivers it without waiting for the part after it).
 */
export async function* recordParts<R>(
  items: AsyncIterable<R> | R[] | { runs: AsyncIterable<R[]> },
  o: { skip?: number; maxEvents: number; maxBytes: number; record(item: R, index: number): ArtifactRecord },
): AsyncGenerator<ArtifactPart> {
  let events: RawEvent[] = [];
  let deadLetters: DeadLetter[] = [];
  let bytes = 0;
  let consumed = 0;
  const skip = o.skip ?? 0;
  const take = (item: R, index: number): ArtifactPart | undefined => {
    consumed++;
    const r = o.record(item, index);
    if ('deadLetter' in r) deadLetters.push(r.deadLetter);
    else {
      events.push(r.event);
      bytes += r.bytes;
    }
    if (events.length < o.maxEvents && bytes < o.maxBytes) return undefined;
    const part = { events, deadLetters, records: consumed };
    events = [];
    deadLetters = [];
    bytes = 0;
    consumed = 0;
    return part;
  };
  // A full part waits for the next record: then it is known not to be the last.
  let full: ArtifactPart | undefined;
  if (Array.isArray(items)) {
    for (let i = skip; i < items.length; i++) {
      const item = items[i];
      items[i] = undefined as R; // the part holds it from here on
      if (full) yield Object.assign(full, { more: true });
      full = take(item, i);
    }
  } else if ('runs' in items) {
    // Records in runs (a decoded chunk's): one async step per run.
    let i = 0;
    for await (const run of items.runs) {
      for (let k = 0; k < run.length; k++) {
        const item = run[k];
        run[k] = undefined as R; // the part holds it from here on
        if (i++ < skip) continue;
        if (full) yield Object.assign(full, { more: true });
        full = take(item, i - 1);
      }
    }
  } else {
    let i = 0;
    for await (const item of items) {
      if (i++ < skip) continue;
      if (full) yield Object.assign(full, { more: true });
      full = take(item, i - 1);
    }
  }
  if (full) yield full;
  if (events.length || deadLetters.length || consumed) yield { events, deadLetters, records: consumed };
}

/** JSON records of JSON Lines (or concatenated JSON) text; a line that is not JSON is a dead letter naming `label`. */
export function jsonLineParts(
  chunks: AsyncIterable<Uint8Array>,
  o: {
    skip: number;
    label: string;
    maxEvents: number;
    maxBytes: number;
    /** The event of one record: its id and time from the parsed value, `raw` usually its text. */
    event(value: unknown, text: string): RawEvent;
  },
): AsyncGenerator<ArtifactPart> {
  return recordParts(jsonObjects(chunks), {
    ...o,
    record: (item) =>
      'error' in item
        ? { deadLetter: { raw: item.text, reason: `${o.label}: ${item.error}` } }
        : { event: o.event(item.value, item.text), bytes: item.size },
  });
}

/**
 * CSV records (the first row naming the fields, RFC 4180 quoting) as events, streamed: one row is held at a
 * time, so a file of any size is read in bounded memory. A row whose field count differs from the
 * header's, or a file cut off inside a quoted field, is a dead letter naming `label`. `index` counts the
 * file's rows from 0 (header excluded, dead letters included): with the file's id, a stable event id.
 */
export function csvParts(
  chunks: AsyncIterable<Uint8Array>,
  o: {
    skip: number;
    label: string;
    maxEvents: number;
    maxBytes: number;
    event(row: Record<string, string>, index: number): RawEvent;
  },
): AsyncGenerator<ArtifactPart> {
  return recordParts(decodeObject(chunks, 'csv', 'none'), {
    ...o,
    record: (item, index) =>
      'error' in item
        ? { deadLetter: { raw: item.text, reason: `${o.label}: ${item.error}` } }
        : {
            event: ownStrings(asJsonText(o.event(item.value as Record<string, string>, index))),
            bytes: item.size,
          },
  });
}

/** The event with its row as JSON text (`asRawJson`): the row's object dies young, the part holds a string. */
function asJsonText(e: RawEvent): RawEvent {
  e.raw = asRawJson(e.raw);
  return e;
}

/**
 * The event's id and time as strings of their own. A field of a decoded row is a slice of the chunk's
 * text (V8 keeps a slice of 13 characters or more as a pointer into its parent string): an event whose
 * time is a row's field as it came would keep the whole 64 KB chunk alive until its part is delivered,
 * which doubled what each part held (README, Performance).
 */
function ownStrings(e: RawEvent): RawEvent {
  if (typeof e.id === 'string') e.id = ownString(e.id);
  if (typeof e.time === 'string') e.time = ownString(e.time);
  return e;
}

/** A copy of a string that shares no memory with it (JSON.parse makes every string anew). */
function ownString(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

export interface ArtifactDownload {
  /** The artifact's URL on the vendor API (sent with the account's credentials). */
  url: string;
  /**
   * The API answers with a redirect to a signed URL, fetched without the account's credentials (the
   * redirect is taken by hand, so the signed URL never receives them, whatever its origin).
   */
  signedRedirect?: boolean;
  /** The hex sha256 the vendor lists for the bytes: a download that differs is refused and tried again. */
  sha256?: string;
  /** The artifact in messages: `Log file f-123`. */
  label: string;
  /**
   * How long one download attempt may take, body included (default: the HTTP client's request timeout):
   * a vendor whose files reach gigabytes needs minutes at an ordinary link speed.
   */
  timeoutMs?: number;
}

/** Attempts at one download, the first included, before the run fails (the next run tries again). */
export const DOWNLOAD_ATTEMPTS = 3;

/**
 * Downloads an artifact to a temporary file, checked against its sha256, and yields the file's bytes in
 * chunks of one reused buffer (each valid only until the next is asked for); the file is removed when the
 * caller stops reading. A failed download (a broken connection after the HTTP client's own retries, an
 * empty body, a checksum that differs) is tried again, `DOWNLOAD_ATTEMPTS` in all; config errors and
 * cancellation end it at once.
 */
export async function* downloadArtifact(ctx: ReadContext, d: ArtifactDownload): AsyncGenerator<Uint8Array> {
  const file = await openArtifact(ctx, d);
  try {
    yield* file.chunks();
  } finally {
    await file.close();
  }
}

/**
 * What identifies one download of an artifact: the sha256 of its bytes as sent, and the validators the
 * server gave with them (absent when it gave none). Two downloads of a URL with the same `sha256` carry
 * the same content, so a position inside the first is valid inside the second (context-snapshot.ts,
 * `readWholeList`).
 */
export interface ArtifactIdentity {
  sha256: string;
  etag?: string;
  lastModified?: string;
}

/** An artifact downloaded to a temporary file (`openArtifact`): its identity, and its bytes to read once. */
export interface DownloadedArtifact extends ArtifactIdentity {
  /** The file's bytes in chunks of one reused buffer (each valid only until the next is asked for). */
  chunks(): AsyncGenerator<Uint8Array>;
  /** Removes the temporary file. */
  close(): Promise<void>;
}

/**
 * `downloadArtifact`, with the download's identity known before its first byte is read: the caller
 * decides from it where to start (and must `close` it).
 */
export async function openArtifact(ctx: ReadContext, d: ArtifactDownload): Promise<DownloadedArtifact> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-artifact-'));
  const path = join(dir, 'artifact');
  const close = () => rm(dir, { recursive: true, force: true });
  try {
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      ctx.signal.throwIfAborted();
      try {
        const identity = await downloadOnce(ctx, d, path);
        return { ...identity, chunks: () => fileChunks(path), close };
      } catch (err) {
        if (ctx.signal.aborted || (err instanceof TributaryError && err.type === 'config')) throw err;
        lastError = err;
        if (attempt + 1 >= DOWNLOAD_ATTEMPTS) throw lastError;
        ctx.log.warn('artifact download failed, retrying', { artifact: d.label, attempt: attempt + 1 });
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
}

async function downloadOnce(ctx: ReadContext, d: ArtifactDownload, path: string): Promise<ArtifactIdentity> {
  let res = await ctx.http.request({ url: d.url, manualRedirect: d.signedRedirect, timeoutMs: d.timeoutMs });
  const location = d.signedRedirect ? res.headers.get('location') : null;
  if (d.signedRedirect) {
    await res.body?.cancel();
    res = location
      ? await ctx.http.request({
          url: new URL(location, res.url).toString(),
          noAuth: true,
          timeoutMs: d.timeoutMs,
        })
      : await ctx.http.request({ url: d.url, timeoutMs: d.timeoutMs });
  }
  if (!res.body) throw transientError('empty_download', `${d.label} had no body.`, 'Retried automatically.');
  // One chunk at a time, hashed and written before the next is read; dead chunks are given back as the
  // download goes (buffers.ts), not left to pile up outside the heap.
  const hash = createHash('sha256');
  const out = await open(path, 'w');
  try {
    for await (const chunk of releasingChunks(res.body as AsyncIterable<Uint8Array>)) {
      ctx.signal.throwIfAborted();
      hash.update(chunk);
      for (let at = 0; at < chunk.byteLength; ) at += (await out.write(chunk, at)).bytesWritten;
    }
  } finally {
    await out.close();
  }
  const sha256 = hash.digest('hex');
  if (d.sha256 && sha256 !== d.sha256.toLowerCase()) {
    throw transientError(
      'checksum_mismatch',
      `${d.label} did not match its sha256; it was not delivered.`,
      'Retried automatically; if it persists, report the artifact to the vendor.',
    );
  }
  const identity: ArtifactIdentity = { sha256 };
  const etag = res.headers.get('etag');
  const lastModified = res.headers.get('last-modified');
  if (etag) identity.etag = etag;
  if (lastModified) identity.lastModified = lastModified;
  return identity;
}

/**
 * A file's bytes in chunks read into one reused buffer: each chunk is valid only until the next is asked
 * for (the JSON decoder decodes it at once). A read stream would allocate a fresh buffer per chunk, a
 * gigabyte of them for a large log file, each waiting for the garbage collector to be given back.
 */
async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

/**
 * Artifact-list checkpoint (small and flat):
 *   after  the position the listing being worked through starts after (an ISO time, never null);
 *   done   ids of artifacts already delivered that the listing at `after` may return again (the
 *          boundary: artifacts at exactly `after`, and those of the listing in progress);
 *   file   {id, records}: the artifact being delivered and how many of its records are, to resume inside it.
 */
export interface ArtifactListCheckpoint {
  after: string;
  done: string[];
  file?: { id: string; records: number };
}

/** One listing page: its artifacts, whether more follow, and the position of its last artifact. */
export interface ArtifactListing<T> {
  artifacts: T[];
  hasMore: boolean;
  /** Where the next listing starts (the position of the page's last artifact); absent on an empty page. */
  last?: string;
}

export interface ArtifactListOptions<T> {
  /** How long the vendor keeps artifacts: a first position is no older; a saved one older moves up with a gap warning. */
  retention: string;
  /** What the artifacts are, in the plural, for the gap warning (`log files`). */
  what: string;
  /** The listing page of artifacts strictly after `after`. */
  list(after: string): Promise<ArtifactListing<T>>;
  id(artifact: T): string;
  /** The artifact's position in the listing (an ISO time: the value `after` moves to). */
  position(artifact: T): string;
  /** The artifact's records in parts; the first `skip` were delivered before a restart. */
  fetch(artifact: T, skip: number): AsyncIterable<ArtifactPart>;
}

/**
 * Reads a listing after a position: each page's artifacts not yet done are delivered in listing order,
 * then the next listing starts at the page's last position, the artifacts at exactly that position kept
 * as the new boundary (the vendor lists them again after it when it means "at or after"). A page that has
 * more to list but would start the next listing where this one did, with nothing new, is a vendor loop:
 * the run stops with `pagination_loop` instead of asking forever.
 */
export async function* readArtifactList<T>(
  ctx: ReadContext,
  o: ArtifactListOptions<T>,
): AsyncGenerator<Batch<ArtifactListCheckpoint>> {
  const now = ctx.now();
  const oldest = now - parseDuration(o.retention);
  const saved = ctx.checkpoint as ArtifactListCheckpoint | undefined;
  let cp: ArtifactListCheckpoint = saved ?? {
    after: new Date(
      Math.max(oldest, ctx.window.start ? Date.parse(ctx.window.start) : now - ctx.window.lookbackMs),
    ).toISOString(),
    done: [],
  };
  if (saved && Date.parse(cp.after) < oldest) {
    ctx.warn(retentionGap({ saved: cp.after, oldest, retention: o.retention, what: o.what }));
    cp = { after: new Date(oldest).toISOString(), done: [] };
  }

  for (;;) {
    ctx.signal.throwIfAborted();
    const page = await o.list(cp.after);
    for (const artifact of page.artifacts) {
      const id = o.id(artifact);
      if (cp.done.includes(id)) continue; // a boundary artifact listed again for the same `after`
      const skip = cp.file?.id === id ? cp.file.records : 0;
      const { after, done } = cp;
      yield* deliverArtifact(
        o.fetch(artifact, skip),
        skip,
        (records) => ({ after, done, file: { id, records } }),
        () => ({ after, done: [...done, id] }),
      );
      cp = { after, done: [...done, id] };
    }
    const last = page.last;
    if (!page.hasMore || !last) {
      if (last && last !== cp.after) cp = nextListing(o, cp, page.artifacts, last);
      yield { events: [], checkpoint: cp, pages: 1 };
      return;
    }
    if (last === cp.after && page.artifacts.every((a) => cp.done.includes(o.id(a)))) {
      throw transientError(
        'pagination_loop',
        `The vendor kept listing ${ctx.stream} after ${cp.after} without moving forward.`,
        'A vendor-side pagination fault; the collector resumes from its checkpoint on the next run. Report it to the vendor if it repeats.',
      );
    }
    cp = nextListing(o, cp, page.artifacts, last);
    yield { events: [], checkpoint: cp, pages: 1 };
  }
}

/** The next listing starts at the page's last position; artifacts at exactly that position are the new boundary. */
function nextListing<T>(
  o: ArtifactListOptions<T>,
  cp: ArtifactListCheckpoint,
  artifacts: T[],
  last: string,
): ArtifactListCheckpoint {
  const boundary = artifacts.filter((a) => o.position(a) === last).map((a) => o.id(a));
  return { after: last, done: last === cp.after ? [...new Set([...cp.done, ...boundary])] : boundary };
}
