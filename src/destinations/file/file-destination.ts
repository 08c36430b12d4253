import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, type FileHandle, mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Destination } from '../../core/destination.ts';
import type { Envelope } from '../../core/envelope.ts';
import { configError, transientError } from '../../core/errors.ts';
import { NdjsonEncoder } from '../ndjson.ts';

export interface FileDestinationOptions {
  /** Absolute path of the live file; rotated files are `<path>.1` (newest) … `<path>.<maxFiles>`. */
  path: string;
  /** Rotate before a write would take the live file past this many bytes. */
  maxBytes: number;
  /** Rotated files kept; 0 keeps none (the live file is deleted when it is full). */
  maxFiles: number;
}

/**
 * NDJSON file, one envelope a line.
 *
 * - `send` appends the whole batch with one write and fsyncs before it resolves: resolving is the
 *   acknowledgement after which the runtime commits checkpoints (DESIGN §3).
 * - Sends are serialised, so collectors sharing this destination never interleave within a line, and
 *   a batch is never split across two files.
 * - On open, bytes after the last '\n' (a write torn by a crash) are cut off: that batch was never
 *   acknowledged and will be delivered again. A failed write is cut back the same way at once.
 * - Rotation happens before the write that would cross `maxBytes`; a single batch larger than
 *   `maxBytes` goes whole into a fresh file.
 */
export class FileDestination implements Destination {
  readonly kind = 'file';
  readonly name: string;
  private readonly o: FileDestinationOptions;
  private file: FileHandle | undefined;
  /** Bytes in the live file, every one of them acknowledged: the file always ends with a whole line. */
  private size = 0;
  /** Settles when the last queued send has: each send starts after the previous one. */
  private queue: Promise<void> = Promise.resolve();
  /** One buffer for every batch's bytes: sends are serialised. */
  private readonly encoder = new NdjsonEncoder();

  constructor(name: string, options: FileDestinationOptions) {
    this.name = name;
    this.o = options;
  }

  send(events: Envelope[], signal: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => {
      signal.throwIfAborted(); // cancelled while queued: nothing written, nothing acknowledged
      return this.append(events);
    });
    this.queue = turn.then(noop, noop);
    return turn;
  }

  private async append(events: Envelope[]): Promise<void> {
    const data = this.encoder.encode(events);
    if (data.length === 0) return;
    try {
      if (!this.file) await this.openLive();
      if (this.size > 0 && this.size + data.length > this.o.maxBytes) await this.rotate();
      const file = this.file!;
      // One write call; the loop only continues after a short write (e.g. a disk filling up).
      for (let off = 0; off < data.length; ) off += (await file.write(data, off)).bytesWritten;
      await file.sync();
      this.size += data.length;
    } catch (err) {
      await this.abandon();
      throw transientError(
        'destination_write_failed',
        `Destination ${this.name} could not write ${this.o.path}: ${errno(err)}.`,
        `Check that destination ${this.name}'s directory ${dirname(this.o.path)} is writable and has free space; ` +
          'Tributary retries the batch and loses nothing.',
      );
    }
  }

  /** Opens (creating if needed) the live file for appending, after cutting off a torn last line. */
  private async openLive(): Promise<void> {
    const dir = dirname(this.o.path);
    const created = await mkdir(dir, { recursive: true });
    const existed = await cutTornTail(this.o.path);
    this.file = await open(this.o.path, 'a');
    this.size = (await this.file.stat()).size;
    // fsyncing the file does not make its directory entry durable: a new file's (and new
    // directories') entries are synced too, or a crash could lose an acknowledged file whole.
    if (!existed) await syncDir(dir);
    if (created) for (let d = dir; d !== dirname(created); d = dirname(d)) await syncDir(dirname(d));
  }

  /**
   * path → path.1 → … → path.<maxFiles>, the oldest falling off. Renames are atomic and the directory
   * is fsynced before the new live file takes writes, so after a crash every acknowledged line that
   * was not meant to fall off is in exactly one file.
   */
  private async rotate(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
    const p = this.o.path;
    if (this.o.maxFiles === 0) await rm(p, { force: true });
    else {
      await rm(`${p}.${this.o.maxFiles}`, { force: true });
      for (let i = this.o.maxFiles - 1; i >= 1; i--) await renameIfExists(`${p}.${i}`, `${p}.${i + 1}`);
      await rename(p, `${p}.1`);
    }
    await syncDir(dirname(p));
    await this.openLive();
  }

  /** After a failed write: cut the file back to its acknowledged size and reopen on the next send. */
  private async abandon(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    if (!file) return;
    try {
      await file.truncate(this.size);
      await file.sync();
    } catch {
      // The next open cuts a torn last line; whole unacknowledged lines left here are re-delivered
      // duplicates with the same ids, which at-least-once allows.
    }
    await file.close().catch(noop);
  }

  /** Proves the directory is writable (a probe file, created and removed) without touching the events file. */
  async test(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const dir = dirname(this.o.path);
    const probe = join(dir, `.tributary-probe-${randomUUID()}`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(probe, '', { flag: 'wx' });
      await rm(probe);
      await access(this.o.path, constants.W_OK).catch((err) => {
        if (errno(err) !== 'ENOENT') throw err; // an existing events file must be writable too
      });
    } catch (err) {
      throw configError(
        'destination_not_writable',
        `Destination ${this.name} cannot write in ${dir}: ${errno(err)}.`,
        `Create ${dir} or give the Tributary process write permission on it (and on ${this.o.path} if it exists).`,
      );
    }
  }

  async close(): Promise<void> {
    await this.queue;
    const file = this.file;
    this.file = undefined;
    await file?.close();
  }
}

/**
 * Cuts a file back to just after its last '\n' (to empty if it has none) and reports whether it
 * exists. Bytes after the last newline are a write torn by a crash: never acknowledged.
 */
export async function cutTornTail(path: string): Promise<boolean> {
  let file: FileHandle;
  try {
    file = await open(path, 'r+');
  } catch (err) {
    if (errno(err) === 'ENOENT') return false;
    throw err;
  }
  try {
    const { size } = await file.stat();
    const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
    let keep = 0;
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await file.read(chunk, 0, end - start, start);
      const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (nl !== -1) {
        keep = start + nl + 1;
        break;
      }
      end = start;
    }
    if (keep < size) {
      await file.truncate(keep);
      await file.sync();
    }
    return true;
  } finally {
    await file.close();
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

/** Makes a directory's entries (created, renamed, removed files) durable. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The errno code (EACCES, ENOSPC, …) or message: never more than the OS said about the path. */
function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err);
}

function noop(): void {}
