import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Where file destinations may write (docs/security.md, "File destinations and host files"):
 *
 * - `root`, the output root: a path set through the API must lie inside it once symbolic links are
 *   resolved, and every open (and rotation) of a path inside it checks that again, so a link planted
 *   after the destination was saved cannot lead out of it.
 * - `dataDir`: its own files — the keyring `master.key` and the SQLite store `tributary.db` with its
 *   `-wal`, `-shm` and `-journal` files — are never a destination's file, whoever set the path (the API,
 *   or the operator's config file, which may otherwise name any path on the host).
 *
 * The root is set by whoever runs the process (`TRIBUTARY_FILE_ROOT`, default `<data dir>/output`),
 * never through the API, and may neither be the data directory nor contain it.
 */
export interface FileScope {
  readonly root: string;
  readonly dataDir: string;
}

/** The scope of a process; throws when `root` is the data directory or contains it. */
export function fileScope(dataDir: string, root?: string): FileScope {
  const d = resolve(dataDir);
  const r = resolve(root || join(d, 'output'));
  if (r === d || isInside(d, r))
    throw new Error(
      `TRIBUTARY_FILE_ROOT: the output root ${r} must not be the data directory ${d} or contain it; pick a directory of its own, e.g. ${join(d, 'output')}`,
    );
  return { root: r, dataDir: d };
}

/** Whether `path` lies strictly inside `dir` (both absolute and normalised). */
export function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** The keyring (and its temporary file while it is rewritten) and the SQLite store with its side files. */
const OWN_FILE = /^(master\.key|tributary\.db)/i;

const OWN_FILE_PROBLEM =
  "names one of Tributary's own files in the data directory (its keyring or its store), which no destination may write";

/** A refusal (the path may not be used) or an I/O failure while checking it (it may work later). */
export type PlaceCheck =
  | { dir: string; file: string }
  | { refused: string }
  | { failed: NodeJS.ErrnoException };

/**
 * Checks an absolute path right before it is used; returns its real directory and file (symbolic links
 * of the directories resolved) to open, or why not. `confined`: the path must stay inside the root.
 * Without a scope (a destination built outside a runtime) only the file's own link is refused.
 */
export async function checkPlace(
  path: string,
  scope: FileScope | undefined,
  confined: boolean,
): Promise<PlaceCheck> {
  if (path.includes('\0')) return { refused: 'contains a NUL character' };
  const name = basename(path);
  if (scope && dirname(path) === scope.dataDir && OWN_FILE.test(name)) return { refused: OWN_FILE_PROBLEM };
  let dir: string;
  let file: string;
  try {
    dir = await realNearest(dirname(path));
    file = join(dir, name);
    if (scope) {
      const data = await realNearest(scope.dataDir);
      if (dir === data && OWN_FILE.test(name)) return { refused: OWN_FILE_PROBLEM };
      if (confined) {
        const root = await realNearest(scope.root);
        if (root === data || isInside(data, root))
          return {
            refused: `lies in the output root ${scope.root}, which contains the data directory: the operator must set TRIBUTARY_FILE_ROOT elsewhere`,
          };
        if (!isInside(file, root))
          return { refused: `leaves the output root ${scope.root} through a symbolic link` };
      }
    }
  } catch (err) {
    return { failed: err as NodeJS.ErrnoException };
  }
  try {
    const st = await lstat(file);
    if (st.isSymbolicLink()) return { refused: 'is a symbolic link; name a regular file' };
    if (!st.isFile()) return { refused: 'is not a regular file (a directory?)' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return { failed: err as NodeJS.ErrnoException };
  }
  return { dir, file };
}

/**
 * Resolves and checks a file destination's `path` before it is stored. Through the API (`operator:
 * false`) a relative path resolves against the root and the result must lie inside it; the operator's
 * config file resolves a relative path against `baseDir` (its own directory) and may name any path
 * but the data directory's own files (a path inside the root keeps the root's rules). Returns the
 * absolute path to store — links left unresolved, so that every open checks them again — or why not.
 * Nothing is created, and a path outside the root is refused before the file system is looked at.
 */
export async function placeFile(
  input: string,
  scope: FileScope,
  from: { operator: boolean; baseDir: string },
): Promise<{ ok: true; path: string } | { ok: false; problem: string }> {
  if (input.includes('\0')) return { ok: false, problem: 'contains a NUL character' };
  const path = resolve(from.operator ? from.baseDir : scope.root, input);
  const confined = isInside(path, scope.root);
  if (!from.operator && !confined)
    return {
      ok: false,
      problem: `expected a path inside the output root ${scope.root} (a relative path such as okta/events.ndjson is placed there)`,
    };
  const r = await checkPlace(path, scope, confined);
  if ('refused' in r) return { ok: false, problem: r.refused };
  if ('failed' in r)
    return { ok: false, problem: `cannot be checked (${r.failed.code ?? r.failed.message})` };
  return { ok: true, path };
}

/** realpath of `path`, or of its nearest existing ancestor with the missing rest appended. */
async function realNearest(path: string): Promise<string> {
  const rest: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    try {
      return join(await realpath(p), ...rest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) throw err;
      rest.unshift(basename(p));
    }
  }
}
