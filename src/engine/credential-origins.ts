import { configError } from '../core/errors.ts';
import { valuesAt } from '../core/secret-fields.ts';
import { prefixSpec, type SecretSpec, secretSpecOf } from '../core/secret-spec.ts';
import type { AccountKind, SourceDef } from '../core/source.ts';

/**
 * Where an account's credentials may be sent (docs/security.md, "Where secrets travel"): the origins
 * its kind names from its fields (`https://acme.okta.com`, `https://*.googleapis.com`) and the extra
 * origins saved with its secret. The control plane refuses a collector that would point them anywhere
 * else; the HTTP client checks every request that would carry them, redirects included, so a vendor
 * link, a redirect or an old record cannot send them elsewhere either.
 */

/** `https://host[:port]` of a URL, or undefined when it is not one. */
export function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `origin` is `pattern`: an origin, or `scheme://*.domain[:port]` for any host under domain. */
export function originMatches(pattern: string, origin: string): boolean {
  const wild = /^(https?):\/\/\*\.([^/:]+)(?::(\d+))?\/?$/i.exec(pattern);
  if (!wild) return originOf(pattern) === origin;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  const port = wild[3] ?? '';
  return (
    u.protocol === `${wild[1]!.toLowerCase()}:` &&
    u.port === (port === (wild[1]!.toLowerCase() === 'https' ? '443' : '80') ? '' : port) &&
    u.hostname.toLowerCase().endsWith(`.${wild[2]!.toLowerCase()}`)
  );
}

/** The origin patterns an account's credentials may go to. */
export function accountOrigins(kind: AccountKind, fields: unknown, extra: readonly string[] = []): string[] {
  let own: string[] = [];
  try {
    own = kind.origins?.(fields as never) ?? [];
  } catch {
    own = []; // fields that do not parse name no origin; validation reports them
  }
  const all = [...own, ...extra].map((p) => (p.includes('*') ? p : (originOf(p) ?? p)));
  return [...new Set(all)];
}

export class OriginSet {
  readonly patterns: readonly string[];
  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
  }

  allows(url: URL | string): boolean {
    const origin = originOf(url.toString());
    return origin !== undefined && this.patterns.some((p) => originMatches(p, origin));
  }

  /** Throws the config error a request to `url` carrying `account`'s credentials gets when not allowed. */
  check(url: URL, account: string): void {
    if (this.allows(url)) return;
    throw configError(
      'credential_origin_refused',
      `Tributary did not send the credentials of account ${account} to ${url.origin}: they are sent only to ${this.patterns.join(', ') || 'no origin yet'}.`,
      `If ${url.origin} is right (a proxy, a regional endpoint), add it to the account's origins, entering its secret again; otherwise fix the collector's URL.`,
    );
  }
}

/** A collector's secret settings and the settings that decide where its requests go. */
export function collectorSpec(source: SourceDef): SecretSpec {
  const own = prefixSpec(secretSpecOf(source.settings), 'settings');
  return { secrets: own.secrets, origins: [...own.origins, 'settings.baseUrl'] };
}

/** A collector's URL settings (`settings.baseUrl`, a REST API collector's `settings.url`), by path. */
export function collectorUrls(
  source: SourceDef,
  config: { settings?: unknown },
): Array<{ path: string; url: string }> {
  const out: Array<{ path: string; url: string }> = [];
  for (const pattern of collectorSpec(source).origins)
    for (const { path, value } of valuesAt(config as Record<string, unknown>, pattern))
      if (typeof value === 'string' && originOf(value)) out.push({ path, url: value });
  return out;
}
