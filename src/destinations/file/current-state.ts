import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Envelope, encodeLine } from '../../core/envelope.ts';
import { configError } from '../../core/errors.ts';
import { checkPlace, type FileScope } from './file-scope.ts';

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * The file destination's compacted current state of context streams (docs/destinations.md, "File";
 * docs/architecture.md, "Context records"): beside the change log, one NDJSON file per collector and
 * stream, `<path>.state/<collector>/<stream>.ndjson`, holding the last record of every entity id that
 * is not deleted. An end-of-snapshot marker removes the entities its refresh did not mention (those
 * whose last record belongs to an older snapshot).
 *
 * Each batch that touches a stream rewrites its file whole (a temporary file, fsynced, renamed over
 * it), after the change log was written and before the batch is acknowledged: a crash leaves the
 * previous state or the new one, never a mix, and the batch comes again and is applied again (upserts
 * and deletions are idempotent). The state of each stream is kept in memory once read: about the size
 * of the file. Events (records without `kind`) are not kept.
 */
export class CurrentState {
  private readonly base: string;
  private readonly scope: FileScope | undefined;
  private readonly confined: boolean;
  /** Per `collector\0stream`: entity id → [line, snapshot], in the order entities first appeared. */
  private readonly streams = new Map<string, Map<string, [line: string, snapshot: string | undefined]>>();

  constructor(livePath: string, scope: FileScope | undefined, confined: boolean) {
    this.base = `${livePath}.state`;
    this.scope = scope;
    this.confined = confined;
  }

  /** The file of one collector's stream (names are encoded so that neither can leave the directory). */
  pathOf(collector: string, stream: string): string {
    return join(this.base, encodeURIComponent(collector), `${encodeURIComponent(stream)}.ndjson`);
  }

  /** Applies a batch's context records; resolves once every file it changed is durable. */
  async apply(events: readonly Envelope[]): Promise<void> {
    const touched = new Set<string>();
    for (const env of events) {
      if (env.kind !== 'context') continue;
      const key = `${env.collector}\0${env.stream}`;
      const state = await this.load(key, env.collector, env.stream);
      touched.add(key);
      if (env.op === 'upsert') state.set(env.id, [encodeLine(env), env.snapshot]);
      else if (env.op === 'delete') state.delete(env.id);
      else if (env.op === 'end')
        for (const [id, [, snapshot]] of state) if (snapshot !== env.snapshot) state.delete(id);
    }
    for (const key of touched) {
      const [collector, stream] = key.split('\0');
      await this.write(this.pathOf(collector, stream), this.streams.get(key)!);
    }
  }

  private async load(key: string, collector: string, stream: string) {
    let state = this.streams.get(key);
    if (state) return state;
    state = new Map();
    const file = await this.checked(this.pathOf(collector, stream));
    let text = '';
    try {
      text = await readFile(file, { encoding: 'utf8', flag: constants.O_RDONLY | O_NOFOLLOW });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      const env = JSON.parse(line) as Envelope;
      state.set(env.id, [line, env.snapshot]);
    }
    this.streams.set(key, state);
    return state;
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

  private async write(path: string, state: Map<string, [string, string | undefined]>): Promise<void> {
    const file = await this.checked(path);
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}.tmp`;
    await rm(temp, { force: true });
    const handle = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
      0o666,
    );
    try {
      let chunk: string[] = [];
      for (const [line] of state.values()) {
        chunk.push(line);
        if (chunk.length === 1000) {
          await handle.write(`${chunk.join('\n')}\n`);
          chunk = [];
        }
      }
      if (chunk.length) await handle.write(`${chunk.join('\n')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    await syncDir(dirname(file));
  }
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
