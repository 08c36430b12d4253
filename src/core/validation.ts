import { z } from 'zod';

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

/** Zod issues as `path: message` strings, the path prefixed. */
export function formatIssues(error: z.ZodError, prefix: Array<string | number> = []): string[] {
  return error.issues.map((i) => {
    const path = [...prefix, ...i.path].map(String).join('.');
    return path ? `${path}: ${i.message}` : i.message;
  });
}
