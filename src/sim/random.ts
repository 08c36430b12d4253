/**
 * Seeded randomness for simulators: the same seed always yields the same data, so tests can assert
 * exact event sets and a benchmark can regenerate a page instead of storing it.
 * No vendor behaviour: `stableUuid` writes version-4-shaped UUIDs (RFC 9562 §5.4 layout) from a seed.
 */

/** mulberry32: a tiny, fast 32-bit PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A bijective 32-bit integer mix (lowbias32): distinct inputs always give distinct outputs. */
export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A bijective 16-bit mix. */
function mix16(x: number): number {
  x &= 0xffff;
  x = Math.imul(x, 0x9e3b) & 0xffff;
  x ^= x >>> 7;
  x = Math.imul(x, 0x2c1b) & 0xffff;
  return x ^ (x >>> 9);
}

/** FNV-1a over a string, for turning string seeds into numbers. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Combines seed parts into one 32-bit seed. */
export function seedOf(...parts: (number | string)[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    const v = typeof p === 'number' ? (p >>> 0) ^ Math.floor(p / 4294967296) : hashString(p);
    h = mix32(h ^ v) + 0x632be5ab;
  }
  return mix32(h >>> 0);
}

const HEX = '0123456789abcdef';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE64URL = `${BASE62}-_`;

const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, '0').slice(-width);

export class Rng {
  private readonly f: () => number;

  constructor(seed: number | string = 1) {
    this.f = mulberry32(typeof seed === 'number' ? seed : hashString(seed));
  }

  /** A float in [0, 1). */
  next(): number {
    return this.f();
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.f() * (max - min + 1));
  }

  bool(p = 0.5): boolean {
    return this.f() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.f() * items.length)];
  }

  /** Picks by weight: `[[value, weight], …]`. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.f() * total;
    for (const [v, w] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return items[items.length - 1][0];
  }

  /** Up to `n` distinct items, in random order. */
  sample<T>(items: readonly T[], n: number): T[] {
    const copy = [...items];
    const out: T[] = [];
    while (out.length < n && copy.length) out.push(copy.splice(Math.floor(this.f() * copy.length), 1)[0]);
    return out;
  }

  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.f() * alphabet.length)];
    return s;
  }

  hex(n: number): string {
    return this.chars(HEX, n);
  }

  base62(n: number): string {
    return this.chars(BASE62, n);
  }

  base64url(n: number): string {
    return this.chars(BASE64URL, n);
  }

  /** A random RFC 4122 version-4 UUID (not guaranteed unique; see `stableUuid`). */
  uuid(): string {
    return uuidTail(this.hex(8), this.hex(4), this);
  }
}

function uuidTail(g1: string, g2: string, rng: Rng): string {
  const variant = HEX[8 + Math.floor(rng.next() * 4)];
  return `${g1}-${g2}-4${rng.hex(3)}-${variant}${rng.hex(3)}-${rng.hex(12)}`;
}

/**
 * A version-4-shaped UUID that is a pure function of (`hi`, `lo`, `salt`) and unique by
 * construction for distinct (hi < 65536, lo < 2^32) under one salt: the first group is a bijective
 * mix of `lo` (for a given `hi`), the second a bijective mix of `hi`, the rest is seeded noise.
 */
export function stableUuid(hi: number, lo: number, salt = 0): string {
  const g1 = hex(mix32((lo ^ mix32((hi ^ salt) >>> 0) ^ 0x9e3779b9) >>> 0), 8);
  const g2 = hex(mix16(hi ^ (salt >>> 16) ^ 0xa5c3), 4);
  return uuidTail(g1, g2, new Rng(seedOf(salt, hi, lo)));
}

/** ISO-8601 with microseconds (`…:00.123456Z`), as several vendors print. */
export function isoMicros(ms: number, micros = 0): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
}

/**
 * Parses an ISO-8601 date-time with a zone to microseconds since the epoch (so `after` values with
 * microseconds compare exactly). Returns undefined if it is not a date-time with a time zone.
 */
export function parseIsoMicros(s: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i.exec(
    s.trim(),
  );
  if (!m) return undefined;
  const zone =
    m[3].toUpperCase() === 'Z' ? 'Z' : m[3].length === 5 ? `${m[3].slice(0, 3)}:${m[3].slice(3)}` : m[3];
  const base = Date.parse(`${m[1]}${zone}`);
  if (!Number.isFinite(base)) return undefined;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return base * 1000 + Number(frac);
}
