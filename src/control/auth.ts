import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Role } from '../core/store.ts';

/**
 * Credentials of people and programs: scrypt password hashes, random session and API tokens stored
 * only as SHA-256 hashes, and the role order.
 *
 * Passwords: scrypt with N=2^17, r=8, p=1 (OWASP Password Storage Cheat Sheet), stored as
 * `scrypt$N$r$p$salt$key` so that a hash made with older parameters still verifies and is replaced at
 * its user's next sign-in (`needsRehash`). One computation takes 128 × N × r bytes = 128 MiB and about
 * 0.3 s of one core: at most HASH_SLOTS run at once and at most HASH_QUEUE wait, so a flood of sign-ins
 * can neither exhaust memory nor fill libuv's thread pool (which file and DNS work share).
 */

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const SCRYPT_PARAMS: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
const KEYLEN = 32;
/** Room for N up to 2^17 at r=8 (128 MiB) and OpenSSL's own overhead. */
const MAXMEM = 256 * 1024 * 1024;
const HASH_SLOTS = 2;
const HASH_QUEUE = 64;

/** Thrown when HASH_QUEUE computations already wait: the caller answers "busy" instead of queueing. */
export class HashingBusy extends Error {
  constructor() {
    super('too many password checks at once');
    this.name = 'HashingBusy';
  }
}

let running = 0;
let peak = 0;
const waiting: Array<() => void> = [];

/** Runs fn in one of HASH_SLOTS; `bounded` throws HashingBusy rather than join a full queue. */
async function withSlot<T>(fn: () => Promise<T>, o: { bounded: boolean }): Promise<T> {
  if (running >= HASH_SLOTS) {
    if (o.bounded && waiting.length >= HASH_QUEUE) throw new HashingBusy();
    await new Promise<void>((ok) => waiting.push(ok));
  } else peak = Math.max(peak, ++running);
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** How many hash computations run and wait now, and the most that ever ran at once (tests, diagnostics). */
export const hashingLoad = () => ({ running, waiting: waiting.length, peak });

function derive(password: string, salt: Buffer, q: ScryptParams, bounded: boolean): Promise<Buffer> {
  return withSlot(
    () =>
      new Promise((ok, fail) =>
        scrypt(password, salt, KEYLEN, { N: q.N, r: q.r, p: q.p, maxmem: MAXMEM }, (err, key) =>
          err ? fail(err) : ok(key),
        ),
      ),
    { bounded },
  );
}

export async function hashPassword(password: string, params: ScryptParams = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params, false);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** The parameters of a stored hash, if it is one this code can check (and within MAXMEM). */
function parseHash(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (scheme !== 'scrypt' || !salt || !key) return undefined;
  if (![params.N, params.r, params.p].every((v) => Number.isInteger(v) && v > 0)) return undefined;
  if (128 * params.N * params.r > MAXMEM || params.p > 16) return undefined;
  return { params, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') };
}

/**
 * Whether `password` matches `stored`; with no stored hash (an unknown user), the same work against a
 * random salt, so that an unknown username takes as long as a wrong password. Throws HashingBusy when
 * too many checks already wait.
 */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const h = stored === undefined ? undefined : parseHash(stored);
  if (!h) {
    await derive(password, randomBytes(16), SCRYPT_PARAMS, true);
    return false;
  }
  const got = await derive(password, h.salt, h.params, true);
  return got.length === h.key.length && timingSafeEqual(got, h.key);
}

/** Whether a stored hash was made with other parameters than today's: re-hash it at the next sign-in. */
export function needsRehash(stored: string): boolean {
  const h = parseHash(stored);
  return (
    !h || h.params.N !== SCRYPT_PARAMS.N || h.params.r !== SCRYPT_PARAMS.r || h.params.p !== SCRYPT_PARAMS.p
  );
}

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** A random secret with a recognisable prefix (trb_ for API tokens, so secret scanners can find leaks). */
export const newSecret = (prefix = '') => `${prefix}${randomBytes(32).toString('base64url')}`;

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

/** Whether `role` may do what `needed` may. */
export const allows = (role: Role, needed: Role) => RANK[role] >= RANK[needed];

export const ROLES: Role[] = ['admin', 'editor', 'viewer'];
