import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import {
  access,
  type FileHandle,
  lstat,
  mkdir,
  open,
  realpath,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Destination } from '../../core/destination.ts';
import type { Envelope } from '../../core/envelope.ts';
import { configError, TributaryError, transientError } from '../../core/errors.ts';
import { NdjsonEncoder } from '../ndjson.ts';
import { CurrentState, syncDir } from './current-state.ts';
import { checkPlace, type FileScope, isInside } from './file-scope.ts';

/** Opening a symbolic link as the events file fails (ELOOP) instead of following it, where the OS can. */
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export interface FileDestinationOptions {
  /** Absolute path of the live file; rotated files are `<path>.1` (newest) … `<path>.<maxFiles>`. */
  path: string;
  /** Rotate before a write would take the live file past this many bytes. */
  maxBytes: number;
  /** Rotated files kept; 0 keeps none (the live file is deleted when it is full). */
  maxFiles: number;
  /**
   * The process's output root and data directory (file-scope.ts): a path inside the root is checked
   * to stay there at every open and rotation, and no path may be the data directory's own files.
   */
  scope?: FileScope;
  /**
   * Also keep a compacted current-state file per context stream (current-state.ts): the last record per
   * entity id, deletions and entities a completed refresh did not mention removed.
   */
  currentState?: boolean;
}

/**
 * NDJSON file, one envelope a line.
 *
 * - `send` appends the whole batch with one write and fsyncs before it resolves: resolving is the
 *   acknowledgement after which the runtime commits checkpoints (docs/architecture.md, "The run").
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
  private readonly state: CurrentState | undefined;

  constructor(name: string, options: FileDestinationOptions) {
    this.name = name;
    this.o = options;
    if (options.currentState) this.state = new CurrentState(options.path, options.scope, this.confined);
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
      // The state follows the log: a failure here cuts the log back too (abandon), and the batch comes again.
      await this.state?.apply(events);
      this.size += data.length;
    } catch (err) {
      await this.abandon();
      if (err instanceof TributaryError && err.type === 'config') throw err; // a refused path: retrying will not help
      throw transientError(
        'destination_write_failed',
        `Destination ${this.name} could not write ${this.o.path}: ${errno(err)}.`,
        `Check that destination ${this.name}'s directory ${dirname(this.o.path)} is writable and has free space; ` +
          'Tributary retries the batch and loses nothing.',
      );
    }
  }

  /** Whether the path must stay inside the output root (a path outside it was set by the operator). */
  private get confined(): boolean {
    return this.o.scope !== undefined && isInside(this.o.path, this.o.scope.root);
  }

  private refused(why: string): TributaryError {
    return configError(
      'destination_path_refused',
      `Destination ${this.name} may not write ${this.o.path}: it ${why}.`,
      this.confined
        ? `Point destination ${this.name} at a regular file inside the output root ${this.o.scope!.root}.`
        : `Point destination ${this.name} at a regular file outside Tributary's data directory files.`,
    );
  }

  /**
   * The live file's real directory and path, checked right before each open and rotation (a symbolic
   * link planted since the last check is refused, file-scope.ts). Throws a config error when refused.
   */
  private async locate(): Promise<{ dir: string; file: string }> {
    const r = await checkPlace(this.o.path, this.o.scope, this.confined);
    if ('refused' in r) throw this.refused(r.refused);
    if ('failed' in r) throw r.failed;
    return r;
  }

  /**
   * Opens (creating if needed) the live file for appending, after cutting off a torn last line. The
   * file is opened without following a symbolic link, and what was opened is checked to be the file
   * just located before anything is cut or written.
   */
  private async openLive(): Promise<void> {
    const { dir, file: path } = await this.locate();
    const created = await mkdir(dir, { recursive: true });
    let file: FileHandle;
    let existed = true;
    try {
      try {
        file = await open(path, constants.O_RDWR | constants.O_APPEND | O_NOFOLLOW);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
        existed = false;
        const create = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL;
        file = await open(path, create | O_NOFOLLOW, 0o666);
      }
    } catch (err) {
      if (errno(err) === 'ELOOP') throw this.refused('is a symbolic link; name a regular file');
      throw err;
    }
    try {
      const [opened, real, entry] = await Promise.all([file.stat(), realpath(dir), lstat(path)]);
      if (real !== dir || !opened.isFile() || opened.ino !== entry.ino || opened.dev !== entry.dev)
        throw this.refused('changed while it was opened (a symbolic link or another file put in its place)');
      await cutTornTail(file);
      this.size = (await file.stat()).size;
    } catch (err) {
      await file.close().catch(noop);
      throw err;
    }
    this.file = file;
    // fsyncing the file does not make its directory entry durable: a new file's (and new
    // directories') entries are synced too, or a crash could lose an acknowledged file whole.
    if (!existed) await syncDir(dir);
    if (created) for (let d = dir; d !== dirname(created); d = dirname(d)) await syncDir(dirname(d));
  }

  /**
   * path → path.1 → … → path.<maxFiles>, the oldest falling off. Renames are atomic and the directory
   * is fsynced before the new live file takes writes, so after a crash every acknowledged line that
   * was not meant to fall off is in exactly one file. Renames and removals never follow a link.
   */
  private async rotate(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
    const { dir, file: p } = await this.locate();
    if (this.o.maxFiles === 0) await rm(p, { force: true });
    else {
      await rm(`${p}.${this.o.maxFiles}`, { force: true });
      for (let i = this.o.maxFiles - 1; i >= 1; i--) await renameIfExists(`${p}.${i}`, `${p}.${i + 1}`);
      await rename(p, `${p}.1`);
    }
    await syncDir(dir);
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

  /**
   * Proves the directory is writable without touching the events file. Inside the output root the
   * directory is created if needed and a probe file is created and removed there; outside it (a path
   * the operator's config file set) nothing is created: the nearest existing directory must be writable.
   */
  async test(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const r = await checkPlace(this.o.path, this.o.scope, this.confined);
    if ('refused' in r) throw this.refused(r.refused);
    const dir = 'dir' in r ? r.dir : dirname(this.o.path);
    try {
      if ('failed' in r) throw r.failed;
      if (this.confined) {
        await mkdir(dir, { recursive: true });
        const probe = join(dir, `.tributary-probe-${randomUUID()}`);
        await writeFile(probe, '', { flag: 'wx' });
        await rm(probe);
      } else await access(await nearestExisting(dir), constants.W_OK | constants.X_OK);
      await access(r.file, constants.W_OK).catch((err) => {
        if (errno(err) !== 'ENOENT') throw err; // an existing events file must be writable too
      });
    } catch (err) {
      throw configError(
        'destination_not_writable',
        `Destination ${this.name} cannot write in ${dirname(this.o.path)}: ${errno(err)}.`,
        `Create ${dirname(this.o.path)} or give the Tributary process write permission on it (and on ${this.o.path} if it exists).`,
      );
    }
  }

  async close(): Promise<void> {
    await this.queue;
    const file = this.file;
    this.file = undefined;
    await file?.close();
    await this.state?.close(); // compacts what changed since the last compaction
  }
}

/**
 * Cuts an open file back to just after its last '\n' (to empty if it has none). Bytes after the last
 * newline are a write torn by a crash: never acknowledged.
 */
export async function cutTornTail(file: FileHandle): Promise<void> {
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
}

/** `dir` or its nearest ancestor that exists (which must be a directory for a file to be created below it). */
async function nearestExisting(dir: string): Promise<string> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      if ((await lstat(d)).isDirectory()) return d;
      throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
    } catch (err) {
      if (errno(err) !== 'ENOENT' || dirname(d) === d) throw err;
    }
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

/** The errno code (EACCES, ENOSPC, …) or message: never more than the OS said about the path. */
function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err);
}

function noop(): void {}
