import { constants } from 'node:fs';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Destination, SendResult } from '../core/destination.ts';
import { type Envelope, encodeLine, RawJson } from '../core/envelope.ts';
import { type ErrorInfo, toTributaryError, transientError } from '../core/errors.ts';
import type { Logger } from '../core/source.ts';
import { metrics } from './metrics.ts';
import { privateDir } from './private-files.ts';
import { backoff, sleep } from './sleep.ts';

/**
 * A bounded, durable buffer in front of one destination (docs/destinations.md, "Buffering"): while the
 * destination is down or slow, batches go to files under the data directory instead, and the buffer
 * acknowledges them once they are fsynced there, so the collector's checkpoint moves and its other
 * destinations keep receiving. A drainer sends the buffered batches to the destination in order and
 * deletes each only after the destination acknowledged it. When the buffer is full, `send` fails with
 * `destination_buffer_full` (transient): the collector waits, as it does without a buffer, and nothing
 * is dropped.
 *
 * On disk: `<dir>/<seq>.batch`, one file per batch, 0600 in a 0700 directory: a header line
 * `{"tributaryBuffer":1,"at":ISO,"events":N}` then one envelope line per event (the wire line, the
 * vendor's text included byte for byte). A file is written as `<seq>.tmp`, fsynced, renamed and the
 * directory fsynced: a `.batch` file is whole, or absent; a `.tmp` found at start is a write the
 * process did not finish (its batch was never acknowledged, so the collector still has it) and is
 * removed.
 *
 * Context records (docs/architecture.md, "Context records"): the runner withholds the end-of-snapshot
 * marker of a refresh some of whose records became dead letters, but records the destination refuses while
 * a buffered batch drains become dead letters after the runner moved on. So the buffer remembers those
 * refreshes (`incomplete-snapshots.json` beside the batches, written before the batch leaves the buffer) and
 * never gives the destination their markers: it would drop the entities it refused.
 */
export interface BufferOptions {
  /** The buffer's directory (the runtime uses `<data dir>/buffers/<destination name>`). */
  dir: string;
  /** Buffered bytes (the files' sizes) above which no batch is taken; one batch may exceed it when the buffer is empty. */
  maxBytes: number;
  /** How long a direct delivery may take before its batch goes to the buffer (ms). */
  spillAfterMs: number;
  /** The drainer's backoff between failed deliveries: full jitter from `backoffBaseMs` doubling up to `backoffMaxMs`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  log: Logger;
  /**
   * Events the destination refused for good (`SendResult.rejected`) while a buffered batch was drained:
   * their collectors' checkpoints have moved already, so they become dead letters here.
   */
  deadLetters?: (
    items: Array<{ collector: string; stream: string; reason: string; raw: string }>,
  ) => Promise<void>;
  now?: () => number;
}

/** What the API, the console and the metrics show of a buffer. */
export interface BufferStatus {
  maxBytes: number;
  bytes: number;
  batches: number;
  events: number;
  /** When the oldest buffered batch was written (ISO), if any. */
  oldestAt?: string;
  /** A batch was refused since the last one drained: the collectors using the destination wait. */
  full: boolean;
  /** The drainer is delivering (or retrying). */
  draining: boolean;
  /** Why the destination did not take the last batch offered, until it takes one. */
  lastError?: ErrorInfo;
}

interface Entry {
  seq: number;
  file: string;
  bytes: number;
  events: number;
  at: number;
  /** A direct delivery still in flight when its batch was buffered: the drainer awaits it before sending again. */
  inflight?: Promise<SendResult | undefined>;
}

const HEADER = 'tributaryBuffer';

/** The batch as it is written: a header line, then one wire line per envelope. */
function encodeBatch(events: Envelope[], at: number): string {
  const lines = [JSON.stringify({ [HEADER]: 1, at: new Date(at).toISOString(), events: events.length })];
  for (const e of events) lines.push(encodeLine(e));
  return `${lines.join('\n')}\n`;
}

const ENVELOPE_KEYS = [
  'id',
  'time',
  'source',
  'stream',
  'collector',
  'sitename',
  'timezone',
  'ingested_at',
] as const;

/**
 * An envelope line read back. Its `raw` is the text that was written (a RawJson), so a vendor's record
 * reaches the destination as the same bytes, large integers included: the line is the head the
 * envelope's string fields give, then the record, then `}` (core/envelope.ts, encodeLine).
 */
export function decodeLine(line: string): Envelope {
  const env = JSON.parse(line) as Envelope;
  let head = '{';
  for (const k of ENVELOPE_KEYS) {
    const v = env[k];
    if (v === undefined) continue;
    head += `${head === '{' ? '' : ','}${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  head += ',"raw":';
  if (line.startsWith(head) && line.endsWith('}')) env.raw = new RawJson(line.slice(head.length, -1));
  return env;
}

function decodeBatch(text: string): Envelope[] {
  const lines = text.split('\n');
  if (!lines[0]?.includes(HEADER)) throw new Error('not a buffer batch (no header line)');
  const events: Envelope[] = [];
  for (let i = 1; i < lines.length; i++) if (lines[i]) events.push(decodeLine(lines[i]!));
  return events;
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, constants.O_RDONLY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

const seqName = (seq: number) => `${String(seq).padStart(16, '0')}.batch`;

/** Every buffer of this process by destination name, for the metrics scrape. */
const live = new Map<string, BufferedDestination>();

metrics.registerBufferGauges(() =>
  [...live.entries()].map(([destination, b]) => ({ destination, status: b.status() })),
);

/** A destination with a buffer in front of it (see BufferOptions). */
export class BufferedDestination implements Destination {
  readonly name: string;
  readonly kind: string;
  readonly inner: Destination;
  private readonly o: BufferOptions;
  private readonly now: () => number;
  private readonly entries: Entry[] = [];
  private seq = 0;
  private bytes = 0;
  /** Batches being written: counted so a direct delivery does not overtake them. */
  private writing = 0;
  private full = false;
  private lastError?: ErrorInfo;
  private readonly ready: Promise<void>;
  private drainer?: Promise<void>;
  private readonly stop = new AbortController();
  private closed = false;
  private emptied: Array<() => void> = [];
  /** Refreshes (snapshot ids by `collector\0stream`) whose records the destination refused while draining. */
  private readonly incomplete = new Map<string, Set<string>>();
  /** The latest marker given to the destination per `collector\0stream`: older refreshes are over. */
  private readonly completed = new Map<string, string>();

  constructor(inner: Destination, o: BufferOptions) {
    this.inner = inner;
    this.name = inner.name;
    this.kind = inner.kind;
    this.o = o;
    this.now = o.now ?? Date.now;
    this.ready = this.load();
    this.ready.catch(() => {}); // surfaces in send
    live.set(this.name, this);
  }

  /** Reads what an earlier process left, and starts draining it. */
  private async load(): Promise<void> {
    privateDir(this.o.dir);
    await this.loadIncomplete();
    const names = (await readdir(this.o.dir)).sort();
    for (const n of names) {
      if (n.endsWith('.tmp')) {
        await unlink(join(this.o.dir, n));
        continue;
      }
      const m = /^(\d{16})\.batch$/.exec(n);
      if (!m) continue;
      const file = join(this.o.dir, n);
      const text = await readFile(file, 'utf8');
      const first = text.slice(0, text.indexOf('\n'));
      let at = this.now();
      let events = 0;
      try {
        const h = JSON.parse(first) as { at?: string; events?: number };
        at = Date.parse(h.at ?? '') || at;
        events = h.events ?? 0;
      } catch {
        // read again (and reported) when drained
      }
      const bytes = Buffer.byteLength(text);
      this.entries.push({ seq: Number(m[1]), file, bytes, events, at });
      this.bytes += bytes;
    }
    this.seq = (this.entries.at(-1)?.seq ?? 0) + 1;
    if (this.entries.length) {
      this.o.log.info('destination buffer holds batches from before; draining', {
        destination: this.name,
        batches: this.entries.length,
        bytes: this.bytes,
      });
      this.kick();
    }
  }

  status(): BufferStatus {
    const events = this.entries.reduce((n, e) => n + e.events, 0);
    return {
      maxBytes: this.o.maxBytes,
      bytes: this.bytes,
      batches: this.entries.length,
      events,
      oldestAt: this.entries.length ? new Date(this.entries[0]!.at).toISOString() : undefined,
      full: this.full,
      draining: this.drainer !== undefined,
      lastError: this.lastError,
    };
  }

  /**
   * Delivers directly while nothing is buffered; a batch the destination fails (or takes longer than
   * `spillAfterMs` to acknowledge) is buffered and acknowledged once fsynced. While batches are
   * buffered, new ones join them behind, so the destination receives them in order.
   */
  async send(batch: Envelope[], signal: AbortSignal): Promise<SendResult | undefined> {
    await this.ready;
    if (this.closed)
      throw transientError('destination_closed', `Destination ${this.name} is closing.`, 'Retry.');
    if (this.entries.length === 0 && this.writing === 0) {
      const events = this.withholdMarkers(batch);
      if (!events.length) return undefined;
      const attempt = Promise.resolve().then(
        () => this.inner.send(events, signal) as Promise<SendResult | undefined>,
      );
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        attempt.then(
          (result) => ({ result }),
          (err: unknown) => ({ err }),
        ),
        new Promise<{ slow: true }>((resolve) => {
          timer = setTimeout(() => resolve({ slow: true }), this.o.spillAfterMs);
        }),
      ]).finally(() => clearTimeout(timer));
      if ('result' in outcome) {
        this.lastError = undefined;
        return outcome.result;
      }
      if ('err' in outcome) {
        if (signal.aborted) throw outcome.err;
        this.noteError(outcome.err);
        await this.spill(events, undefined, outcome.err);
        return undefined;
      }
      // Slow: the batch goes to the buffer with its delivery still running; if the buffer is full the
      // collector waits for that delivery, as it would without a buffer.
      attempt.catch(() => {});
      try {
        await this.spill(events, attempt);
      } catch {
        return attempt;
      }
      return undefined;
    }
    await this.spill(batch); // the drainer withholds markers when it sends it
    return undefined;
  }

  private noteError(err: unknown): void {
    const e = toTributaryError(err);
    this.lastError = (e.destination ? e : e.with({ destination: this.name })).toJSON();
  }

  /** Writes the batch durably and queues it; refuses (transient) when the buffer is full. */
  private async spill(
    events: Envelope[],
    inflight?: Promise<SendResult | undefined>,
    cause?: unknown,
  ): Promise<void> {
    const at = this.now();
    const text = encodeBatch(events, at);
    const bytes = Buffer.byteLength(text);
    const empty = this.entries.length === 0 && this.writing === 0;
    if (!empty && this.bytes + bytes > this.o.maxBytes) {
      this.full = true;
      metrics.destinationBufferFull.inc({ destination: this.name });
      throw transientError(
        'destination_buffer_full',
        `Destination ${this.name} is not taking events and its buffer is full (${this.bytes} of ${this.o.maxBytes} bytes, ${this.entries.length} batches): the collector waits.${cause ? ` Last error: ${toTributaryError(cause).message}` : ''}`,
        `Bring destination ${this.name} back (see its last error), or raise its buffer.maxBytes.`,
        { destination: this.name },
      );
    }
    const seq = this.seq++;
    const file = join(this.o.dir, seqName(seq));
    const tmp = `${file.slice(0, -'.batch'.length)}.tmp`;
    this.writing++;
    this.bytes += bytes;
    try {
      const h = await open(tmp, 'wx', 0o600);
      try {
        await h.writeFile(text);
        await h.sync();
      } finally {
        await h.close();
      }
      await rename(tmp, file);
      await fsyncDir(this.o.dir);
    } catch (err) {
      this.bytes -= bytes;
      await unlink(tmp).catch(() => {});
      throw transientError(
        'destination_buffer_write_failed',
        `Destination ${this.name}: could not write its buffer: ${(err as Error).message}`,
        'Check the data directory’s disk (space, permissions).',
        { destination: this.name },
      );
    } finally {
      this.writing--;
    }
    // Entries stay in sequence order: a later write finishing first waits its turn in the list.
    const entry: Entry = { seq, file, bytes, events: events.length, at, inflight };
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.seq > seq) i--;
    this.entries.splice(i, 0, entry);
    metrics.destinationBuffered.inc({ destination: this.name }, events.length);
    this.kick();
  }

  private kick(): void {
    if (this.drainer || this.closed) return;
    this.drainer = this.drain()
      .then(
        () => 0,
        (err: unknown) => {
          // The buffer's own disk or the store failed (not the destination): said, and tried again later.
          this.o.log.error('destination buffer could not go on draining; trying again later', {
            destination: this.name,
            message: (err as Error)?.message,
          });
          return this.o.backoffMaxMs;
        },
      )
      .then(async (pause) => {
        if (pause) await sleep(pause, this.stop.signal).catch(() => {});
      })
      .finally(() => {
        this.drainer = undefined;
        if (this.entries.length && !this.closed) this.kick(); // a batch queued as the loop ended
      });
  }

  /** Sends the buffered batches in order, each until the destination acknowledges it. */
  private async drain(): Promise<void> {
    const signal = this.stop.signal;
    let attempt = 0;
    while (!this.closed && this.entries.length) {
      const entry = this.entries[0]!;
      let result: SendResult | undefined;
      let decoding = false;
      try {
        if (entry.inflight) {
          const inflight = entry.inflight;
          entry.inflight = undefined;
          result = await inflight;
        } else {
          decoding = true;
          const events = this.withholdMarkers(decodeBatch(await readFile(entry.file, 'utf8')));
          decoding = false;
          result = events.length ? ((await this.inner.send(events, signal)) ?? undefined) : undefined;
        }
      } catch (err) {
        if (this.closed) return;
        if (decoding && isUnreadable(err)) {
          await this.setAside(entry, err);
          continue;
        }
        if (decoding && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          // Gone: another process using the same data directory delivered and removed it.
          this.forget(entry);
          continue;
        }
        this.noteError(err);
        metrics.destinationRetries.inc({ destination: this.name });
        if (attempt === 0)
          this.o.log.warn('buffered destination unavailable, retrying', {
            destination: this.name,
            code: this.lastError?.code,
          });
        const e = toTributaryError(err);
        const wait =
          e.retryAfter !== undefined
            ? Math.min(e.retryAfter * 1000, this.o.backoffMaxMs)
            : backoff(attempt, this.o.backoffBaseMs, this.o.backoffMaxMs) + this.o.backoffBaseMs / 2;
        attempt++;
        try {
          await sleep(wait, signal);
        } catch {
          return; // closing
        }
        continue;
      }
      attempt = 0;
      this.lastError = undefined;
      // Before the batch leaves the buffer: a crash after this sends it again, never forgets its refusals.
      if (result?.rejected?.length) await this.noteIncomplete(result.rejected.map((r) => r.event));
      if (result?.rejected?.length && this.o.deadLetters) {
        // Recorded before the batch leaves the buffer: if the store fails, the drain stops here and
        // tries again later (the batch may then be sent again, never its dead letters lost).
        await this.o.deadLetters(
          result.rejected.map((r) => ({
            collector: r.event.collector,
            stream: r.event.stream,
            reason: `destination ${this.name}: ${r.reason}`,
            raw: encodeLine(r.event),
          })),
        );
      }
      await this.remove(entry);
      metrics.destinationDrained.inc({ destination: this.name }, entry.events);
    }
  }

  private get incompleteFile(): string {
    return join(this.o.dir, 'incomplete-snapshots.json');
  }

  private async loadIncomplete(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.incompleteFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let rows: Array<[string, string, string]>;
    try {
      rows = JSON.parse(text);
      if (!Array.isArray(rows)) throw new Error('not a list');
    } catch (err) {
      // Written whole by a rename, so only a damaged disk or a hand edit gets here: kept aside, never deleted.
      this.o.log.error('the buffer’s list of incomplete refreshes cannot be read; kept as .corrupt', {
        destination: this.name,
        message: (err as Error).message,
      });
      await rename(this.incompleteFile, `${this.incompleteFile}.corrupt`);
      return;
    }
    for (const [collector, stream, snapshot] of rows)
      if (typeof snapshot === 'string') this.addIncomplete(`${collector}\0${stream}`, snapshot);
  }

  private addIncomplete(key: string, snapshot: string): boolean {
    if (snapshot < (this.completed.get(key) ?? '')) return false;
    let set = this.incomplete.get(key);
    if (!set) this.incomplete.set(key, (set = new Set()));
    if (set.has(snapshot)) return false;
    set.add(snapshot);
    return true;
  }

  /** Remembers, durably, the refreshes of context records the destination refused. */
  private async noteIncomplete(refused: Envelope[]): Promise<void> {
    let added = false;
    for (const e of refused)
      if (e.kind === 'context' && e.op !== 'end' && e.snapshot !== undefined)
        added = this.addIncomplete(`${e.collector}\0${e.stream}`, e.snapshot) || added;
    if (!added) return;
    // Another process draining the same buffer may have written refreshes of its own: kept too. Each
    // writes its own temporary file, so the file renamed in is always whole.
    await this.loadIncomplete();
    const rows = [...this.incomplete].flatMap(([key, set]) =>
      [...set].map((snapshot) => [...key.split('\0'), snapshot]),
    );
    const tmp = `${this.incompleteFile}.${process.pid}-${this.seq}-${Date.now()}.tmp`;
    const h = await open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(JSON.stringify(rows));
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, this.incompleteFile);
    await fsyncDir(this.o.dir);
  }

  /**
   * `events` without the end-of-snapshot markers of refreshes the destination refused records of (said in
   * the log). A marker that goes through forgets the older refreshes of its stream (snapshot ids are times).
   */
  private withholdMarkers(events: Envelope[]): Envelope[] {
    if (!events.some((e) => e.op === 'end')) return events;
    return events.filter((e) => {
      if (e.kind !== 'context' || e.op !== 'end' || e.snapshot === undefined) return true;
      const key = `${e.collector}\0${e.stream}`;
      const set = this.incomplete.get(key);
      if (set?.has(e.snapshot)) {
        this.o.log.warn(
          'end-of-snapshot marker withheld: the destination refused records of this refresh while its buffer drained',
          { destination: this.name, collector: e.collector, stream: e.stream, snapshot: e.snapshot },
        );
        return false;
      }
      if (e.snapshot > (this.completed.get(key) ?? '')) this.completed.set(key, e.snapshot);
      for (const s of set ?? []) if (s < e.snapshot) set!.delete(s);
      return true;
    });
  }

  private async remove(entry: Entry): Promise<void> {
    await unlink(entry.file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await fsyncDir(this.o.dir).catch(() => {});
    this.forget(entry);
  }

  /** Resolves the waiters of `drained` once nothing is buffered. */
  private settle(): void {
    if (this.entries.length || this.writing) return;
    for (const done of this.emptied.splice(0)) done();
  }

  /** Resolves once the buffer holds nothing (at once if it is empty). */
  async drained(): Promise<void> {
    await this.ready;
    if (!this.entries.length && !this.writing) return;
    await new Promise<void>((done) => this.emptied.push(done));
  }

  /** The head entry leaves the buffer's accounting (its file is gone, or set aside). */
  private forget(entry: Entry): void {
    this.entries.shift();
    this.bytes -= entry.bytes;
    this.full = false;
    this.settle();
  }

  /** A batch file that cannot be read as one is kept beside the buffer as `.corrupt`, never deleted. */
  private async setAside(entry: Entry, err: unknown): Promise<void> {
    this.o.log.error('a buffered batch cannot be read; kept as .corrupt and skipped', {
      destination: this.name,
      file: entry.file,
      message: (err as Error).message,
    });
    await rename(entry.file, entry.file.replace(/\.batch$/, '.corrupt'));
    this.forget(entry);
  }

  /** Stops draining (the batch being sent stays buffered, sent again next start) and closes the destination. */
  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    await this.ready.catch(() => {});
    await this.drainer?.catch(() => {});
    if (live.get(this.name) === this) live.delete(this.name);
    await this.inner.close();
  }

  test(signal: AbortSignal): Promise<void> {
    return this.inner.test ? this.inner.test(signal) : Promise.resolve();
  }
}

/** A batch file that is not a batch (a parse error), as opposed to an I/O error worth retrying. */
function isUnreadable(err: unknown): boolean {
  return err instanceof SyntaxError || (err instanceof Error && err.message.startsWith('not a buffer batch'));
}
