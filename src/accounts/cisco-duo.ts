import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';

/**
 * The `cisco-duo` account kind: an Admin API application's integration key, secret key and API hostname
 * (Duo Admin Panel → Applications → Admin API). Every request is signed; there is no token.
 *
 * Signing follows Duo's current scheme, "v5" (HMAC-SHA512), not the older v2 (HMAC-SHA1 over five
 * lines, documented in the examples of duo.com/docs/adminapi#authentication and still accepted for most
 * endpoints; some — Policies, Integrations v2/v3 — require v5). The v5 canonical string, as Duo's
 * reference implementation duo_hmac_python ("Duo's current API authentication scheme",
 * github.com/duosecurity/duo_hmac_python, duo_hmac/duo_canonicalize.py) and duo_api_csharp
 * (SignatureTypes/DuoSignatureV5.cs) build it, is seven lines joined by "\n":
 *   1. the date (RFC 2822, e.g. `Tue, 21 Aug 2012 17:29:18 -0000`), also sent as `X-Duo-Date`;
 *   2. the method, upper case;  3. the API host, lower case;  4. the path;
 *   5. the query parameters: names and values percent-encoded (only A–Z a–z 0–9 _ . - ~ kept,
 *      RFC 3986), sorted by name then value, joined as `a=1&b=2` (an empty line when none);
 *   6. SHA-512 hex of the body (of "" when there is none);
 *   7. SHA-512 hex of the `x-duo-*` headers (names lower case, sorted, `name\0value\0name\0value`).
 * The signature is the hex HMAC-SHA512 of that string keyed with the secret key, sent as HTTP Basic
 * `integration key : signature`. The tests check it against the vectors in duo_hmac_python's
 * test/test_hmac.py and duo_api_csharp's Tests_DuoSignatureV5.cs.
 *
 * API hostnames are `api-XXXXXXXX.duosecurity.com`, or `….duofederal.com` for Duo Federal.
 * Duo documents no per-credential request rate for the Admin API as a whole, so the kind sets no
 * rateLimit. Its log endpoints are the exception: "We recommend requesting logs no more than once per
 * minute" (duo.com/docs/adminapi, Authentication Logs, Administrator Logs, Telephony Logs), and they
 * answer 429 when called too often; `endpointRateLimit` gives each `/admin/vN/logs/…` endpoint of an
 * account its own bucket of one request a minute, shared by every collector using the account.
 */

export interface DuoAccount {
  integrationKey: string;
  secretKey: string;
  apiHostname: string;
}

export const duoFields = z
  .object({
    integrationKey: z
      .string()
      .trim()
      .regex(
        /^DI[A-Z0-9]{18}$/,
        'expected a Duo integration key: DI followed by 18 capital letters or digits',
      )
      .meta({ title: 'Integration key' })
      .describe('Integration key of the Admin API application (Duo Admin Panel → Applications → Admin API)'),
    secretKey: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9]{40}$/, 'expected the 40-character secret key of the Admin API application')
      .meta({ ...SECRET, title: 'Secret key' })
      .describe('Secret key of the same Admin API application (shown once; treat it like a password)'),
    apiHostname: z
      .string()
      .trim()
      .transform((v) =>
        v
          .replace(/^https:\/\//i, '')
          .replace(/\/+$/, '')
          .toLowerCase(),
      )
      .pipe(
        z
          .string()
          .regex(
            /^api-[a-z0-9]+\.(duosecurity|duofederal)\.com$/,
            'expected the API hostname shown with the keys, such as api-1a2b3c4d.duosecurity.com',
          ),
      )
      .meta({ title: 'API hostname' })
      .meta(ORIGIN)
      .describe('API hostname of your Duo account, e.g. api-1a2b3c4d.duosecurity.com'),
  })
  .strict();

const sha512 = (s: string) => createHash('sha512').update(s).digest('hex');

/** Percent-encoding of Python's `urllib.parse.quote(s, '~')`: only A–Z a–z 0–9 _ . - ~ kept. */
const quote = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** `Tue, 21 Aug 2012 17:29:18 -0000`, as Python's `email.utils.formatdate()`. */
export function rfc2822(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '-0000');
}

/** Line 5: parameters sorted by encoded name, then each name's values by encoded value. */
export function canonParams(params: Iterable<[string, string]>): string {
  const byName = new Map<string, string[]>();
  for (const [k, v] of params) {
    const name = quote(k);
    byName.set(name, [...(byName.get(name) ?? []), quote(v)]);
  }
  return [...byName.keys()]
    .sort()
    .flatMap((name) =>
      byName
        .get(name)!
        .sort()
        .map((v) => `${name}=${v}`),
    )
    .join('&');
}

/** Line 7: SHA-512 of the x-duo-* headers. */
export function canonXDuoHeaders(headers: Iterable<[string, string]>): string {
  const lowered = new Map<string, string>();
  for (const [k, v] of headers) if (k.toLowerCase().startsWith('x-duo')) lowered.set(k.toLowerCase(), v);
  const parts = [...lowered.keys()].sort().flatMap((k) => [k, lowered.get(k)!]);
  return sha512(parts.join('\0'));
}

export interface DuoRequestParts {
  date: string;
  method: string;
  host: string;
  path: string;
  params: Iterable<[string, string]>;
  body?: string;
  xDuoHeaders: Iterable<[string, string]>;
}

export function canonicalString(r: DuoRequestParts): string {
  return [
    r.date,
    r.method.toUpperCase(),
    r.host.toLowerCase(),
    r.path,
    canonParams(r.params),
    sha512(r.body ?? ''),
    canonXDuoHeaders(r.xDuoHeaders),
  ].join('\n');
}

/** `Basic base64(ikey:hex(HMAC-SHA512(skey, canonical)))` */
export function duoAuthorization(ikey: string, skey: string, r: DuoRequestParts): string {
  const sig = createHmac('sha512', skey).update(canonicalString(r)).digest('hex');
  return `Basic ${Buffer.from(`${ikey}:${sig}`).toString('base64')}`;
}

/** Duo's log endpoints: once a minute each, per account (see above); other endpoints have no own limit. */
export function duoLogRateLimit(url: URL): { key: string; perSecond: number; burst: number } | undefined {
  const m = /^\/admin\/v\d+\/logs\/[^/]+/.exec(url.pathname);
  return m ? { key: m[0], perSecond: 1 / 60, burst: 1 } : undefined;
}

export const ciscoDuo = defineAccountKind<DuoAccount>({
  id: 'cisco-duo',
  title: 'Cisco Duo',
  fields: duoFields as unknown as z.ZodType<DuoAccount>,
  origins: (a) => [`https://${a.apiHostname}`],
  async authorize(a, headers, { url, method, body }) {
    const date = rfc2822(new Date());
    headers.set('x-duo-date', date);
    const xDuo = [...headers].filter(([k]) => k.startsWith('x-duo'));
    headers.set(
      'authorization',
      duoAuthorization(a.integrationKey, a.secretKey, {
        date,
        method: method ?? 'GET',
        // The host the request goes to: the account's API hostname, or a simulator given as the
        // collector's base URL (which then checks the signature with its own host).
        host: url.host,
        path: url.pathname,
        params: url.searchParams,
        body,
        xDuoHeaders: xDuo,
      }),
    );
  },
  endpointRateLimit: duoLogRateLimit,
});
