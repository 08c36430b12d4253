import type { SecretBox } from './secrets.ts';
import { maskSecret } from './secrets.ts';

/**
 * Secret fields of a stored object (an account's token, a destination's auth.password), addressed by
 * dotted path: split out and encrypted before anything reaches the store, joined back only in memory
 * for a run, and shown masked (last four characters at most) everywhere else.
 */

type Obj = Record<string, unknown>;

function get(o: Obj, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Obj)[k] : undefined), o);
}

function set(o: Obj, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    if (!cur[k] || typeof cur[k] !== 'object') cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[keys.at(-1)!] = value;
}

function unset(o: Obj, path: string): void {
  const keys = path.split('.');
  const parent = keys
    .slice(0, -1)
    .reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Obj)[k] : undefined), o);
  if (parent && typeof parent === 'object') delete (parent as Obj)[keys.at(-1)!];
}

/** Removes the secret paths from a deep copy of `value` and returns them encrypted. */
export function sealSecrets(
  value: Obj,
  paths: string[],
  box: SecretBox,
): { plain: Obj; sealed: Record<string, string> } {
  const plain = structuredClone(value);
  const sealed: Record<string, string> = {};
  for (const p of paths) {
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
  for (const [p, v] of Object.entries(sealed)) set(out, p, box.decrypt(v));
  return out;
}

/** Plain fields with each secret shown as ••••last4. */
export function maskedSecrets(plain: Obj, sealed: Record<string, string>, box: SecretBox): Obj {
  const out = structuredClone(plain);
  for (const [p, v] of Object.entries(sealed)) set(out, p, maskSecret(box.decrypt(v)));
  return out;
}

/** Fills secret paths missing from `incoming` with the stored values (an update that keeps a secret). */
export function keepSecrets(
  incoming: Obj,
  sealed: Record<string, string>,
  paths: string[],
  box: SecretBox,
): Obj {
  const out = structuredClone(incoming);
  for (const p of paths) if (get(out, p) === undefined && sealed[p]) set(out, p, box.decrypt(sealed[p]));
  return out;
}
