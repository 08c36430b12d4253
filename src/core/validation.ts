import { z } from 'zod';
import { parseDuration } from './duration.ts';

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export const isLoopbackHost = (hostname: string) => LOOPBACK.test(hostname);

/**
 * An HTTP header name (an RFC 9110 token). No regex flags: the JSON Schema pattern made from it (the
 * console and the OpenAPI document validate with it) has none, so the case is spelled out.
 */
export const HTTP_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const httpHeaderName = (example: string) =>
  z.string().regex(HTTP_HEADER_NAME, `expected an HTTP header name such as ${example}`);

/**
 * A vendor or destination URL: https, or plain http only for loopback hosts (simulators, local
 * proxies). Anything else would send credentials in clear text.
 */
export const serviceUrl = () =>
  z
    .string()
    .trim()
    .superRefine((value, ctx) => {
      let u: URL;
      try {
        u = new URL(value);
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: `expected an absolute URL such as https://example.com, got "${value}"`,
        });
        return;
      }
      if (u.protocol === 'https:') return;
      if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return;
      ctx.addIssue({
        code: 'custom',
        message:
          u.protocol === 'http:'
            ? 'plain http:// is accepted only for loopback hosts (127.0.0.1, localhost); use https://'
            : `expected an https:// URL, got ${u.protocol}`,
      });
    })
    .transform((v) => v.replace(/\/+$/, ''));

/** An IANA time zone name, checked against the runtime's zone database. */
export const timeZone = () =>
  z.string().refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'expected an IANA time zone such as Europe/Berlin or UTC' },
  );

/**
 * Zod issues as `path: message` strings, the path prefixed. `key` names what an unknown key is to the
 * reader ("setting": `settings: unknown setting "bogus"`).
 */
export function formatIssues(
  error: z.ZodError,
  prefix: Array<string | number> = [],
  o: { key?: string } = {},
): string[] {
  return error.issues.map((i) => {
    const path = [...prefix, ...i.path].map(String).join('.');
    const message = o.key ? i.message.replace(/^unknown key(s?)\b/, `unknown ${o.key}$1`) : i.message;
    return path ? `${path}: ${message}` : message;
  });
}

/**
 * Zod's messages in plain words, for people editing a config file or a form: "at most 1000", not
 * "Too big: expected number to be <=1000"; `unknown key "intervall" (did you mean "interval"?)`, not
 * `Unrecognized key: "intervall"`. A schema's own message wins over these. Values are never echoed:
 * the field may hold a secret.
 */
export function plainMessage(iss: z.core.$ZodRawIssue): string | undefined {
  const i = iss as Record<string, any>;
  switch (i.code) {
    case 'invalid_type':
      if (i.input === undefined) return 'required';
      if (i.expected === 'int') return 'expected a whole number';
      return `expected ${typeName(i.expected)}, got ${typeName(typeOf(i.input))}`;
    case 'too_big':
      return bound('at most', 'less than', i.maximum, i.inclusive, i.origin);
    case 'too_small':
      if (i.origin === 'string' && i.minimum === 1) return 'must not be empty';
      return bound('at least', 'more than', i.minimum, i.inclusive, i.origin);
    case 'unrecognized_keys': {
      const known = Object.keys((i.inst as { _zod?: { def?: { shape?: object } } })?._zod?.def?.shape ?? {});
      const keys = (i.keys as string[]).map((k) => {
        const close = suggestion(k, known);
        return `"${k}"${close ? ` (did you mean "${close}"?)` : ''}`;
      });
      return `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
    }
    case 'invalid_value':
      return (i.values as unknown[]).length === 1
        ? `expected ${JSON.stringify(i.values[0])}`
        : `expected one of ${(i.values as unknown[]).map((v) => String(v)).join(', ')}`;
    case 'invalid_union':
      if (i.note === 'No matching discriminator')
        return `expected one of ${(i.options as unknown[]).map(String).join(', ')}`;
      if (
        (i.errors as Array<Array<{ code: string; expected?: string }>>).every(
          (e) => e[0]?.code === 'invalid_type',
        )
      )
        return `expected ${(i.errors as Array<Array<{ expected: string }>>).map((e) => typeName(e[0]!.expected)).join(' or ')}`;
      return 'does not match any of the accepted forms';
    case 'invalid_format':
      return FORMATS[i.format as string] ?? `expected ${i.format}`;
    case 'not_multiple_of':
      return `expected a multiple of ${i.divisor}`;
    case 'invalid_key':
      return `invalid key: ${(i.issues as Array<{ message: string }>).map((x) => x.message).join('; ')}`;
    default:
      return undefined;
  }
}

const FORMATS: Record<string, string> = {
  regex: 'does not have the expected form',
  url: 'expected a URL such as https://example.com',
  email: 'expected an email address',
  uuid: 'expected a UUID such as 3f0c2a8e-1b7d-4c39-9a51-6e2f0d4b8c17',
  guid: 'expected a GUID such as 3f0c2a8e-1b7d-4c39-9a51-6e2f0d4b8c17',
  datetime: 'expected an ISO-8601 time such as 2026-11-01T00:00:00Z',
  date: 'expected a date such as 2026-11-01',
  base64: 'expected base64 text',
};

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function typeName(t: string): string {
  const names: Record<string, string> = {
    string: 'text',
    number: 'a number',
    bigint: 'a number',
    boolean: 'true or false',
    array: 'a list',
    object: 'an object (key: value pairs)',
    null: 'nothing (null)',
    undefined: 'nothing',
  };
  return names[t] ?? t;
}

function bound(
  incl: string,
  excl: string,
  n: unknown,
  inclusive: boolean | undefined,
  origin: string,
): string {
  const value = n instanceof Date ? n.toISOString() : String(n);
  const unit =
    origin === 'string' ? 'character' : origin === 'array' || origin === 'set' ? 'item' : undefined;
  return `${inclusive === false ? excl : incl} ${value}${unit ? ` ${unit}${n === 1 ? '' : 's'}` : ''}`;
}

/** The known key a misspelt one most likely meant: same letters ignoring case, or 2 edits away. */
export function suggestion(key: string, known: string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase());
    if (d <= Math.min(2, Math.floor(k.length / 3)) && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

// Every schema in the process reports in these words (a schema's own message still wins).
z.config({ customError: plainMessage });

/**
 * Every pull source's `baseUrl` setting: another root for its API (a proxy, a regional endpoint, a
 * simulator). The control plane checks it like any URL and keeps the account's credentials to their
 * origins (docs/security.md).
 */
export const baseUrlSetting = () =>
  z
    .string()
    .optional()
    .meta({ title: 'Base URL override (advanced)' })
    .describe(
      "Another root for this source's API, e.g. a proxy or a regional endpoint; leave empty for the vendor's own",
    );

/** A duration setting (`3m`, `1h`, `2d`): refused with "expected a duration such as …" otherwise. */
export const durationSetting = (examples: string) =>
  z.string().refine(
    (v) => {
      try {
        parseDuration(v);
        return true;
      } catch {
        return false;
      }
    },
    { message: `expected a duration such as ${examples}` },
  );
