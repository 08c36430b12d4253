import { configError } from './errors.ts';
import { isMasked, maskSecret, type SecretSpec } from './secret-spec.ts';

/**
 * Secret fields of a stored object (an account's token, a destination's auth.password, a collector's
 * secret headers), addressed by the paths of its SecretSpec (core/secret-spec.ts): split out and
 * encrypted before anything reaches the store, joined back only in memory for a run, and shown masked
 * (last four characters at most) everywhere else. A value sent back masked, or left out, keeps the
 * stored secret; a field that decides where secrets go cannot change unless they are entered again.
 *
 * Stored paths are dotted; a key that itself contains "." or "%" (a header name may) is escaped.
 */

type Obj = Record<string, unknown>;

/** What seals and opens secret values (the store's SecretBox: AES-256-GCM under the master key). */
export interface SecretBox {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
}

const esc = (k: string) => k.replaceAll('%', '%25').replaceAll('.', '%2E');
const unesc = (k: string) => k.replaceAll('%2E', '.').replaceAll('%25', '%');
const keysOf = (path: string) => path.split('.').map(unesc);
const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

function get(o: Obj, path: string): unknown {
  return keysOf(path).reduce<unknown>((v, k) => (isObj(v) && Object.hasOwn(v, k) ? v[k] : undefined), o);
}

function set(o: Obj, path: string, value: unknown): void {
  const keys = keysOf(path);
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[keys.at(-1)!] = value;
}

function unset(o: Obj, path: string): void {
  const keys = keysOf(path);
  const parent = keys.slice(0, -1).reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);
  if (isObj(parent)) delete parent[keys.at(-1)!];
}

/** The concrete (escaped) paths of `value` that a spec path with `*` segments names. */
export function expandPath(value: Obj, pattern: string): string[] {
  let found: Array<{ path: string[]; at: unknown }> = [{ path: [], at: value }];
  for (const seg of pattern.split('.')) {
    const next: typeof found = [];
    for (const f of found) {
      if (!isObj(f.at)) continue;
      if (seg === '*')
        for (const k of Object.keys(f.at)) next.push({ path: [...f.path, esc(k)], at: f.at[k] });
      else if (Object.hasOwn(f.at, seg)) next.push({ path: [...f.path, seg], at: f.at[seg] });
    }
    found = next;
  }
  return found.map((f) => f.path.join('.'));
}

/** Whether a concrete stored path is named by a spec path (with `*` segments). */
export function pathMatches(pattern: string, path: string): boolean {
  const p = pattern.split('.');
  const c = path.split('.');
  return p.length === c.length && p.every((seg, i) => seg === '*' || seg === c[i]);
}

/** Decrypts a stored secret; a value this instance cannot read is a config error saying what to do. */
export function openSecret(box: SecretBox, sealed: string, path: string): string {
  try {
    return box.decrypt(sealed);
  } catch {
    throw configError(
      'secret_unreadable',
      `The stored secret ${path} cannot be decrypted with this instance's keys.`,
      "Enter the secret again; if every secret fails, start Tributary with the master key it was saved with (TRIBUTARY_MASTER_KEY or the data directory's master.key).",
    );
  }
}

/** Removes the secret paths from a deep copy of `value` and returns them encrypted. */
export function sealSecrets(
  value: Obj,
  paths: string[],
  box: SecretBox,
): { plain: Obj; sealed: Record<string, string> } {
  const plain = structuredClone(value);
  const sealed: Record<string, string> = {};
  for (const pattern of paths)
    for (const p of expandPath(plain, pattern)) {
      const v = get(plain, p);
      if (typeof v === 'string') {
        sealed[p] = box.encrypt(v);
        unset(plain, p);
      }
    }
  return { plain, sealed };
}

/** The full object for a run: plain fields with the secrets decrypted back in place. */
export function openSecrets(plain: Obj, sealed: Record<string, string>, box: SecretBox): Obj {
  const out = structuredClone(plain);
  for (const [p, v] of Object.entries(sealed)) set(out, p, openSecret(box, v, p));
  return out;
}

/** Plain fields with each secret shown as ••••last4 (just •••• when it cannot be decrypted). */
export function maskedSecrets(plain: Obj, sealed: Record<string, string>, box: SecretBox): Obj {
  const out = structuredClone(plain);
  for (const [p, v] of Object.entries(sealed)) {
    let shown = '••••';
    try {
      shown = maskSecret(box.decrypt(v));
    } catch {
      /* unreadable: Test Connection and runs say so with what to do */
    }
    set(out, p, shown);
  }
  return out;
}

/** What `mergeSecrets` made of an update. */
export interface MergedSecrets {
  /** The incoming object with kept secrets decrypted back in: validate it, then seal it again. */
  value: Obj;
  /** Stored secrets kept because the update left them out or sent them back masked. */
  kept: string[];
  /** Secrets the update entered (new values). */
  entered: string[];
  /** Problems as `path: message` (paths prefixed); the update must be refused when there are any. */
  issues: string[];
}

/**
 * An update of a stored object: secret fields left out (at fixed paths) or sent back in the mask's
 * shape keep their stored values; a field that decides where the secrets go may only change when every
 * secret the object still holds is entered again in the same update.
 */
export function mergeSecrets(
  incoming: Obj,
  stored: { plain: Obj; sealed: Record<string, string> },
  spec: SecretSpec,
  box: SecretBox,
  prefix = '',
): MergedSecrets {
  const out = structuredClone(incoming);
  const at = (p: string) => `${prefix}${keysOf(p).join('.')}`;
  const kept: string[] = [];
  const entered: string[] = [];
  const issues: string[] = [];
  const keep = (p: string) => {
    const sealed = stored.sealed[p];
    if (sealed === undefined) {
      if (isMasked(get(out, p))) {
        issues.push(`${at(p)}: a masked value, but no secret is stored here: enter the secret`);
        unset(out, p);
      }
      return;
    }
    try {
      set(out, p, box.decrypt(sealed));
      kept.push(p);
    } catch {
      issues.push(
        `${at(p)}: the stored secret cannot be decrypted with this instance's keys: enter it again`,
      );
    }
  };
  for (const pattern of spec.secrets) {
    if (!pattern.includes('*')) {
      const v = get(out, pattern);
      if (isMasked(v) || (v === undefined && sameVariant(stored.plain, out, pattern))) keep(pattern);
      else if (typeof v === 'string') entered.push(pattern);
      continue;
    }
    // Entries of a record: one left out is removed; one sent back masked keeps its stored value.
    for (const p of expandPath(out, pattern)) {
      if (isMasked(get(out, p))) keep(p);
      else if (typeof get(out, p) === 'string') entered.push(p);
    }
  }
  const same = (p: string) => whereTo(get(out, p)) === whereTo(get(stored.plain, p));
  const moved = spec.origins.flatMap((pattern) =>
    pattern.includes('*')
      ? [...new Set([...expandPath(out, pattern), ...expandPath(stored.plain, pattern)])].filter(
          (p) => !same(p),
        )
      : same(pattern)
        ? []
        : [pattern],
  );
  if (moved.length && kept.length)
    for (const p of moved)
      issues.push(
        `${at(p)}: decides where the stored secret${kept.length > 1 ? 's' : ''} ${kept.map(at).join(', ')} ${kept.length > 1 ? 'are' : 'is'} sent: enter ${kept.length > 1 ? 'them' : 'it'} again to change it`,
      );
  return { value: out, kept, entered, issues };
}

/** The values at a spec path (with `*` segments), each with its dotted path. */
export function valuesAt(value: Obj, pattern: string): Array<{ path: string; value: unknown }> {
  return expandPath(value, pattern).map((p) => ({ path: keysOf(p).join('.'), value: get(value, p) }));
}

/**
 * What an origin field says about where secrets go: a URL's origin (its path may change freely), a
 * list of them, or the value itself (a cloud, a region, a host name).
 */
function whereTo(v: unknown): string {
  const one = (x: unknown) => {
    if (typeof x !== 'string') return x;
    try {
      return new URL(x).origin;
    } catch {
      return x.trim().toLowerCase();
    }
  };
  return JSON.stringify(Array.isArray(v) ? [...new Set(v.map(one))].sort() : one(v));
}

/**
 * Whether a secret left out of an update is still wanted where it was: its parent object is still
 * there, and of the same variant (`type`/`kind`): an HTTP destination's auth changed from bearer to
 * basic has no place for the old token, and one whose auth was removed wants none.
 */
function sameVariant(stored: Obj, incoming: Obj, path: string): boolean {
  const parent = path.split('.').slice(0, -1).join('.');
  const before = parent ? get(stored, parent) : stored;
  const after = parent ? get(incoming, parent) : incoming;
  if (!isObj(before) || !isObj(after)) return false;
  return ['type', 'kind'].every((k) => before[k] === after[k]);
}

/** Paths of `value` holding a string in the mask's shape where a secret belongs (config files may hold none). */
export function maskedPaths(value: Obj, spec: SecretSpec): string[] {
  return spec.secrets.flatMap((pattern) =>
    expandPath(value, pattern)
      .filter((p) => isMasked(get(value, p)))
      .map((p) => keysOf(p).join('.')),
  );
}

/** Whether two sealed maps hold the same secrets (decrypted; an unreadable one is never the same). */
export function sameSecrets(a: Record<string, string>, b: Record<string, string>, box: SecretBox): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => {
    if (a[k] === undefined || b[k] === undefined) return false;
    try {
      return box.decrypt(a[k]) === box.decrypt(b[k]);
    } catch {
      return false;
    }
  });
}
