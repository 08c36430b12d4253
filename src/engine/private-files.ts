import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';

/**
 * The data directory holds the database and the master key: only the user Tributary runs as may read
 * it. Directories are made 0700 and files 0600, and ones found more open (made by an older version,
 * or by hand) are tightened. A path owned by someone else (chmod refused) is left as it is.
 */

function tighten(path: string, mode: number): void {
  const now = statSync(path).mode & 0o777;
  if ((now & ~mode) === 0) return;
  try {
    chmodSync(path, now & mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
}

/** Creates `dir` (and missing parents) 0700, or tightens it to 0700. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir, 0o700);
}

/** Creates `file` empty and 0600 if missing (`create`), and tightens it to 0600 if it exists. */
export function privateFile(file: string, o: { create?: boolean } = {}): void {
  if (o.create) closeSync(openSync(file, 'a', 0o600));
  if (existsSync(file)) tighten(file, 0o600);
}
