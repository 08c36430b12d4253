import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Envelope, encodeLine } from '../../core/envelope.ts';
import { configError } from '../../core/errors.ts';
import { checkPlace, type FileScope } from './file-scope.ts';

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Entity id → [its last line, its snapshot], in the order entities first appeared. */
type Entities = Map<string, [line: string, snapshot: string | undefined]>;

/** One collector's stream: its entities, and its change file open for appending. */
interface StreamState {
  entities: Entities;
  /** The state file's path as configured (checked again before each compaction, like a rotation). */
  path: string;
  /** The compacted file and the change file (real paths, checked when the stream was opened). */
  file: string;
  changesFile: string;
  changes: FileHandle;
  /** Bytes in the change file (every one acknowledged) and in the compacted file. */
  changesBytes: number;
  stateBytes: number;
  /** State files renamed in since the stream was opened. */
  compactions: number;
}

export interface CurrentStateOptions {
  /**
   * The change file is compacted into the state file once it holds more than this many times the state
   * file's bytes (and at least `minCompactBytes`): each record is then written a bounded number of times
   * over its life, whatever the size of the state (default 1).
   */
  compactRatio?: number;
  /** Below this many bytes of changes no compaction happens but at a marker or on close (default 1 MiB). */
  minCompactBytes?: number;
  /** Told each directory fsynced (tests). */
  onSyncDir?: (dir: string) => void;
}

/**
 * The file destination's compacted current state of context streams (docs/destinations.md, "file";
 * docs/architecture.md, "Context records"): beside the change log, per collector and stream,
 *
 * - `<path>.state/<collector>/<stream>.ndjson`, the **state file**: the last record of every entity id
 *   that is not deleted, as of the last compaction;
 * - `<stream>.changes.ndjson`, the **change file**: the context records since then, in order.
 *
 * The current state is the state file with the change file applied: the last line per id wins, a
 * `delete` removes its id, an end-of-snapshot marker removes every id whose last record belongs to
 * another snapshot. A batch appends its records to the change file (fsynced, before the batch is
 * acknowledged): its cost is its own size, not the state's. **Compaction** rewrites the state file
 * (a temporary file, fsynced, renamed over it, the directory fsynced) and then empties the change file:
 * at every end-of-snapshot marker (after a complete refresh the state file alone is exact), when the
 * change file outgrows `compactRatio` × the state file, and when the destination closes. A crash at any
 * point leaves the old state file or the new one whole, and the change file with every acknowledged batch;
 * applying changes twice gives the same state (upserts and deletions are idempotent, and a marker only
 * removes what the changes before it left behind), so a crash between the rename and the emptying only
 * replays what the state file already holds. A batch torn by a crash (never acknowledged) is cut off
 * when the change file is next opened; it comes again. New directories and files have their parent
 * directories fsynced. The state of each stream is kept in memory once read: about the size of the
 * state file. Events (records without `kind`) are not kept.
 */
export class CurrentState {
  private readonly base: string;
  private readonly scope: FileScope | undefined;
  private readonly confined: boolean;
  private readonly ratio: number;
  private readonly minCompact: number;
  private readonly onSyncDir?: (dir: string) => void;
  /** Per `collector\0stream`, once opened. */
  private readonly streams = new Map<string, StreamState>();
  /** Bytes written to state and change files since this object was made (a measure of the work per batch). */
  bytesWritten = 0;

  constructor(
    livePath: string,
    scope: FileScope | undefined,
    confined: boolean,
    o: CurrentStateOptions = {},
  ) {
    this.base = `${livePath}.state`;
    this.scope = scope;
    this.confined = confined;
    this.ratio = o.compactRatio ?? 1;
    this.minCompact = o.minCompactBytes ?? 1 << 20;
    this.onSyncDir = o.onSyncDir;
  }

  private async syncDir(dir: string): Promise<void> {
    await syncDir(dir);
    this.onSyncDir?.(dir);
  }

  /** The state file of one collector's stream (names are encoded so that neither can leave the directory). */
  pathOf(collector: string, stream: string): string {
    return join(this.base, encodeURIComponent(collector), `${encodeURIComponent(stream)}.ndjson`);
  }

  /** The change file beside a state file. */
  static changesOf(stateFile: string): string {
    return stateFile.replace(/\.ndjson$/, '.changes.ndjson');
  }

  /** Applies a batch's context records; resolves once every file it changed is durable. */
  async apply(events: readonly Envelope[]): Promise<void> {
    const batch = new Map<string, { lines: string[]; envs: Envelope[]; ended: boolean }>();
    for (const env of events) {
      if (env.kind !== 'context') continue;
      const key = `${env.collector}\0${env.stream}`;
      let b = batch.get(key);
      if (!b) batch.set(key, (b = { lines: [], envs: [], ended: false }));
      b.lines.push(encodeLine(env));
      b.envs.push(env);
      if (env.op === 'end') b.ended = true;
    }
    for (const [key, b] of batch) {
      const s = await this.open(key);
      const before = s.changesBytes;
      const compactions = s.compactions;
      try {
        const data = Buffer.from(`${b.lines.join('\n')}\n`);
        for (let off = 0; off < data.length; )
          off += (await s.changes.write(data, off, data.length - off)).bytesWritten;
        await s.changes.sync();
        this.bytesWritten += data.length;
        s.changesBytes += data.length;
        for (let i = 0; i < b.lines.length; i++) applyLine(s.entities, b.lines[i], b.envs[i]);
        if (b.ended || s.changesBytes > Math.max(this.minCompact, this.ratio * s.stateBytes))
          await this.compact(s);
      } catch (err) {
        // Memory may be ahead of the files: forget the stream; it is read again from them (the batch
        // comes again). The change file is cut back to what was acknowledged (never lengthened: a
        // compaction may have emptied it), unless a compaction renamed a state file holding this batch
        // in: then the change file stays whole, since replaying only its older part over that state file
        // would bring back what the batch changed or deleted (replaying all of it gives the same state).
        this.streams.delete(key);
        if (s.compactions === compactions)
          await s.changes
            .stat()
            .then(({ size }) => (size > before ? s.changes.truncate(before) : undefined))
            .catch(() => {});
        await s.changes.close().catch(() => {});
        throw err;
      }
    }
  }

  /**
   * Compacts every stream with changes (the destination is closing; `compact: false` leaves them as a
   * crash would), then closes the change files.
   */
  async close(o: { compact?: boolean } = {}): Promise<void> {
    for (const [key, s] of this.streams) {
      this.streams.delete(key);
      // Best effort: a failure leaves the state file and the change file, which together are the state.
      if (s.changesBytes > 0 && o.compact !== false) await this.compact(s).catch(() => {});
      await s.changes.close().catch(() => {});
    }
  }

  /** Rewrites the state file from memory, then empties the change file. */
  private async compact(s: StreamState): Promise<void> {
    // Its place is checked again right before new files are made there (file-scope.ts): a directory
    // swapped for a link since the stream was opened must not lead the state file out of the root.
    if ((await this.checked(s.path)) !== s.file)
      throw configError(
        'destination_path_refused',
        `The current-state file ${s.path} may not be written: it changed since it was opened (a symbolic link or another directory put in its place).`,
        'Point the file destination at a regular file whose directory Tributary may write, or turn currentState off.',
      );
    const temp = `${s.file}.tmp`;
    await rm(temp, { force: true });
    const handle = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
      0o666,
    );
    let bytes = 0;
    try {
      let chunk: string[] = [];
      const flush = async () => {
        const data = Buffer.from(`${chunk.join('\n')}\n`);
        for (let off = 0; off < data.length; )
          off += (await handle.write(data, off, data.length - off)).bytesWritten;
        bytes += data.length;
        chunk = [];
      };
      for (const [line] of s.entities.values()) {
        chunk.push(line);
        if (chunk.length === 1000) await flush();
      }
      if (chunk.length) await flush();
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, s.file);
    s.compactions++;
    await this.syncDir(dirname(s.file));
    this.bytesWritten += bytes;
    s.stateBytes = bytes;
    // The state file holds every change now: a crash before this replays them onto it, to the same state.
    await s.changes.truncate(0);
    await s.changes.sync();
    s.changesBytes = 0;
  }

  /** A stream's state: read from its state file and change file the first time. */
  private async open(key: string): Promise<StreamState> {
    const known = this.streams.get(key);
    if (known) return known;
    const [collector, stream] = key.split('\0');
    const path = this.pathOf(collector, stream);
    const file = await this.checked(path);
    const changesFile = await this.checked(CurrentState.changesOf(path));
    const dir = dirname(file);
    const created = await mkdir(dir, { recursive: true });
    // A new directory's entry is durable once its parent is fsynced (each one created, up to the first that existed).
    if (created) for (let d = dir; d !== dirname(created); d = dirname(d)) await this.syncDir(dirname(d));
    const entities: Entities = new Map();
    let stateBytes = 0;
    try {
      const text = await readFile(file, { encoding: 'utf8', flag: constants.O_RDONLY | O_NOFOLLOW });
      stateBytes = Buffer.byteLength(text);
      for (const line of text.split('\n')) {
        if (!line) continue;
        const env = JSON.parse(line) as Envelope;
        entities.set(env.id, [line, env.snapshot]);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let changes: FileHandle;
    let existed = true;
    try {
      changes = await open(changesFile, constants.O_RDWR | constants.O_APPEND | O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      existed = false;
      const create = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL;
      changes = await open(changesFile, create | O_NOFOLLOW, 0o666);
    }
    try {
      if (!existed) await this.syncDir(dir);
      const changesBytes = existed ? await replay(changes, entities) : 0;
      const s: StreamState = {
        entities,
        path,
        file,
        changesFile,
        changes,
        changesBytes,
        stateBytes,
        compactions: 0,
      };
      this.streams.set(key, s);
      return s;
    } catch (err) {
      await changes.close().catch(() => {});
      throw err;
    }
  }

  /** The real path to use, checked like the change log's (file-scope.ts); throws why not. */
  private async checked(path: string): Promise<string> {
    const r = await checkPlace(path, this.scope, this.confined);
    if ('refused' in r)
      throw configError(
        'destination_path_refused',
        `The current-state file ${path} may not be written: it ${r.refused}.`,
        'Point the file destination at a regular file whose directory Tributary may write, or turn currentState off.',
      );
    if ('failed' in r) throw r.failed;
    return r.file;
  }
}

/**
 * The current state of one stream as a reader sees it: the state file with its change file applied
 * (docs/destinations.md, "file"). What a lookup-table loader does; the tests read the state through it.
 * A compaction may run between the two reads (the state file renamed over, then the change file emptied):
 * the state file read is kept open and, after the change file was read, must still be the one at its
 * path, or both are read again: the change file read then is the one that follows that state file (read
 * after a compaction replaced it, it belongs to the new one, and applied to the old one misses changes or
 * brings back deleted entities).
 */
export async function readCurrentState(
  stateFile: string,
  o: { afterStateFile?: () => Promise<void> } = {},
): Promise<Envelope[]> {
  for (let attempt = 0; ; attempt++) {
    const entities: Entities = new Map();
    const state = await open(stateFile, constants.O_RDONLY).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      return undefined;
    });
    try {
      // Held open until the check below, so its inode cannot be reused by the next state file.
      const read = state ? (await state.stat()).ino : undefined;
      applyText(entities, state ? await state.readFile('utf8') : '');
      await o.afterStateFile?.();
      let changes = '';
      try {
        changes = await readFile(CurrentState.changesOf(stateFile), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      applyText(entities, changes);
      const now = await stat(stateFile).then(
        (st) => st.ino,
        (err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
          return undefined;
        },
      );
      if (now === read) return [...entities.values()].map(([line]) => JSON.parse(line) as Envelope);
    } finally {
      await state?.close();
    }
    if (attempt >= 100) throw new Error(`${stateFile} kept changing while it was read`);
  }
}

/** A file's lines applied in order; a last line without its newline is a write torn by a crash: not part of the state. */
function applyText(entities: Entities, text: string): void {
  for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n'))
    if (line) applyLine(entities, line, JSON.parse(line) as Envelope);
}

/** One context record applied to a stream's entities. */
function applyLine(entities: Entities, line: string, env: Envelope): void {
  if (env.op === 'upsert') entities.set(env.id, [line, env.snapshot]);
  else if (env.op === 'delete') entities.delete(env.id);
  else if (env.op === 'end')
    for (const [id, [, snapshot]] of entities) if (snapshot !== env.snapshot) entities.delete(id);
}

/**
 * Applies a change file's records to `entities`; cuts off a last line torn by a crash (a batch never
 * acknowledged) and returns the bytes kept.
 */
async function replay(changes: FileHandle, entities: Entities): Promise<number> {
  const { size } = await changes.stat();
  const text = size ? (await changes.readFile()).toString('utf8') : '';
  const keep = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1));
  if (keep < size) {
    await changes.truncate(keep);
    await changes.sync();
  }
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of whole.split('\n')) if (line) applyLine(entities, line, JSON.parse(line) as Envelope);
  return keep;
}

/** Makes a directory's entries (created, renamed, removed files) durable. */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
