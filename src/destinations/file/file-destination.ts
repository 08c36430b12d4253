import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Destination } from '../../core/destination.ts';
import { type Envelope, encodeLine } from '../../core/envelope.ts';
import { transientError } from '../../core/errors.ts';

export interface FileDestinationOptions {
  path: string;
  /** Rotate before the file would exceed this many bytes. */
  maxBytes: number;
  /** Rotated files kept: path.1 … path.N. */
  maxFiles: number;
}

/**
 * NDJSON file, one envelope a line. `send` appends the whole batch in one write and fsyncs before it
 * resolves: resolving is the acknowledgement that lets the checkpoint move. On open, a trailing partial
 * line (a write torn by a crash) is cut off: it was never acknowledged, so it will be delivered again.
 */
export class FileDestination implements Destination {
  readonly kind = 'file';
  readonly name: string;
  private readonly o: FileDestinationOptions;
  private handle: FileHandle | undefined;
  private size = 0;
  /** Sends are serialised: collectors sharing this destination never interleave within a line. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(name: string, o: FileDestinationOptions) {
    this.name = name;
    this.o = o;
  }

  send(events: Envelope[], _signal?: AbortSignal): Promise<void> {
    const run = this.queue.then(() => this.write(events));
    this.queue = run.catch(() => {});
    return run;
  }

  private async write(events: Envelope[]): Promise<void> {
    if (!events.length) return;
    let text = '';
    for (const e of events) text += `${encodeLine(e)}\n`;
    const bytes = Buffer.from(text);
    try {
      if (!this.handle) await this.openFile();
      if (this.size > 0 && this.size + bytes.length > this.o.maxBytes) await this.rotate();
      await this.handle!.write(bytes, 0, bytes.length, this.size);
      await this.handle!.sync();
      this.size += bytes.length;
    } catch (err) {
      await this.handle?.close().catch(() => {});
      this.handle = undefined; // re-open (and re-check the tail) on the next attempt
      throw transientError(
        'destination_write_failed',
        `Destination ${this.name} could not write ${this.o.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
        `Check that ${dirname(this.o.path)} exists, is writable and has free space; Tributary retries and loses nothing.`,
      );
    }
  }

  private async openFile(): Promise<void> {
    mkdirSync(dirname(this.o.path), { recursive: true });
    truncateTornTail(this.o.path);
    this.handle = await open(this.o.path, 'a+');
    this.size = (await this.handle.stat()).size;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    const p = this.o.path;
    if (this.o.maxFiles < 1) rmSync(p, { force: true });
    else {
      rmSync(`${p}.${this.o.maxFiles}`, { force: true });
      for (let i = this.o.maxFiles - 1; i >= 1; i--)
        if (existsSync(`${p}.${i}`)) renameSync(`${p}.${i}`, `${p}.${i + 1}`);
      renameSync(p, `${p}.1`);
    }
    fsyncDir(dirname(p));
    await this.openFile();
  }

  async test(): Promise<void> {
    const probe = `${this.o.path}.probe-${process.pid}`;
    try {
      mkdirSync(dirname(this.o.path), { recursive: true });
      writeFileSync(probe, 'probe');
      unlinkSync(probe);
    } catch (err) {
      throw transientError(
        'destination_not_writable',
        `Destination ${this.name} cannot write in ${dirname(this.o.path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
        'Create the directory or fix its permissions.',
      );
    }
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle?.close();
    this.handle = undefined;
  }
}

/** Cuts a file back to its last newline. */
export function truncateTornTail(path: string): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - start, start);
      const nl = chunk.subarray(0, n).lastIndexOf(10);
      if (nl !== -1) {
        const keep = start + nl + 1;
        if (keep !== size) {
          ftruncateSync(fd, keep);
          fsyncSync(fd);
        }
        return;
      }
      end = start;
    }
    ftruncateSync(fd, 0); // no complete line at all
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    /* not supported on every platform */
  }
}
