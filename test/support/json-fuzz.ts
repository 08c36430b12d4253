/**
 * Random JSON for fuzz tests against JSON.parse (engine/json-page.test.ts, engine/ingest/scanned-body.test.ts):
 * records with and without ids and times, spelled several ways, and damage that may or may not leave
 * valid JSON.
 */

/** A seeded generator (mulberry32), so a failure can be replayed. */
export function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ALPHABET = [
  'a',
  'Z',
  '0',
  ' ',
  '"',
  '\\',
  '/',
  '\n',
  '\t',
  '\u0001',
  '\u0010',
  '\u0019',
  'é',
  '日',
  '😀',
  '\u2028',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
];

export function randomValue(next: () => number, depth = 0): unknown {
  const k = Math.floor(next() * (depth > 3 ? 5 : 7));
  if (k === 0) return null;
  if (k === 1) return next() < 0.5;
  if (k === 2) {
    const n = [0, -0.5, 1e21, 12345678901234568, -3, 2.5e-7][Math.floor(next() * 6)];
    return n;
  }
  if (k <= 4) {
    let s = '';
    for (let i = Math.floor(next() * 8); i > 0; i--) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
    return s;
  }
  if (k === 5) return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 4); i > 0; i--)
    o[randomValue(next, 9) as string] = randomValue(next, depth + 1);
  if (next() < 0.7) o.uuid = next() < 0.8 ? `u-${Math.floor(next() * 1e6)}` : Math.floor(next() * 1000);
  if (next() < 0.7) o.published = new Date(1_700_000_000_000 + Math.floor(next() * 1e9)).toISOString();
  return o;
}

/** JSON text of `value` in one of several spellings: compact, pretty, escaped non-ASCII, spaces. */
export function spell(value: unknown, next: () => number): string {
  const style = Math.floor(next() * 4);
  if (style === 0) return JSON.stringify(value);
  if (style === 1) return JSON.stringify(value, null, 2);
  if (style === 2)
    return JSON.stringify(value).replace(
      /[\u0080-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  return ` ${JSON.stringify(value, null, '\t').replaceAll(':', ' : ')} `;
}

/** Damage that may or may not leave valid JSON. */
export function mutate(text: string, next: () => number): string {
  const at = Math.floor(next() * (text.length + 1));
  switch (Math.floor(next() * 5)) {
    case 0:
      return text.slice(0, at); // cut off
    case 1:
      return text.slice(0, at) + text.slice(at + 1); // a character dropped
    case 2:
      return text.slice(0, at) + ALPHABET[Math.floor(next() * ALPHABET.length)] + text.slice(at);
    case 3:
      return `${text.slice(0, at)}${['01', '1.', '-', '.5', '1e', 'tru', 'nul', '"\\x"', '"\\u12g4"'][Math.floor(next() * 9)]}${text.slice(at)}`;
    default:
      return text;
  }
}
