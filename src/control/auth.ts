import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Role } from '../store/store.ts';

/**
 * Credentials of people and programs: scrypt password hashes (N=2^15, r=8, p=1: OWASP's minimum for
 * scrypt), random session and API tokens stored only as SHA-256 hashes, and the role order.
 */

const N = 2 ** 15;
const R = 8;
const P = 1;
const KEYLEN = 32;
const MAXMEM = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((ok, fail) =>
    scrypt(password, salt, KEYLEN, { N: n, r, p, maxmem: MAXMEM }, (err, key) => (err ? fail(err) : ok(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A hash with the same cost as a real one, so an unknown username takes as long as a wrong password. */
export const DUMMY_HASH = await hashPassword(randomBytes(12).toString('hex'));

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** A random secret with a recognisable prefix (trb_ for API tokens, so secret scanners can find leaks). */
export const newSecret = (prefix = '') => `${prefix}${randomBytes(32).toString('base64url')}`;

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

/** Whether `role` may do what `needed` may. */
export const allows = (role: Role, needed: Role) => RANK[role] >= RANK[needed];

export const ROLES: Role[] = ['admin', 'editor', 'viewer'];
