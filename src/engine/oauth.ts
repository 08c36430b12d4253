import { createHash } from 'node:crypto';
import { configError, transientError } from '../core/errors.ts';
import type { HttpClient } from '../core/source.ts';

/**
 * OAuth 2.0 access tokens for account kinds (RFC 6749 §4.4 client credentials, RFC 7523 JWT bearer):
 * one token request helper and one process-wide cache, so every collector sharing an account shares
 * its token per audience, renews it before it expires, and asks for it once however many requests wait.
 */

export interface AccessToken {
  token: string;
  /** Epoch ms after which the token must not be used. */
  expiresAt: number;
}

interface Entry {
  token?: AccessToken;
  pending?: Promise<AccessToken>;
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>();

  private readonly now: () => number;
  /** A token this close to expiry is renewed rather than sent. */
  private readonly renewBeforeMs: number;

  constructor(now: () => number = Date.now, renewBeforeMs = 5 * 60_000) {
    this.now = now;
    this.renewBeforeMs = renewBeforeMs;
  }

  /**
   * The cached token for `key`, or a new one from `fetchToken`. `refresh` (after a 401) drops the cached
   * token; concurrent callers share one request.
   */
  async get(key: string, refresh: boolean, fetchToken: () => Promise<AccessToken>): Promise<string> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = {};
      this.entries.set(key, entry);
    }
    if (refresh) entry.token = undefined;
    if (entry.token && entry.token.expiresAt - this.renewBeforeMs > this.now()) return entry.token.token;
    let pending = entry.pending;
    if (!pending) {
      const e = entry;
      pending = e.pending = fetchToken().then(
        (t) => {
          e.token = t;
          e.pending = undefined;
          return t;
        },
        (err) => {
          e.pending = undefined;
          throw err;
        },
      );
    }
    return (await pending).token;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The process-wide cache account kinds use. */
export const tokenCache = new TokenCache();

/** A cache key from credential parts, hashed so no secret is kept as a key or shows in a heap dump. */
export function tokenKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

/**
 * POSTs a token request (application/x-www-form-urlencoded) and returns the access token. The
 * endpoint's OAuth error (`error`, `error_description`) becomes a config error naming it, since
 * only a change of credentials or consent fixes it; 5xx and network errors stay transient (retried).
 */
/** The token endpoint's refusal, for an account kind to word the recommended action. */
export interface TokenRefusal {
  status: number;
  /** The OAuth `error` code (invalid_grant, unauthorized_client, …), when the body had one. */
  error?: string;
  description?: string;
}

export async function requestToken(
  http: HttpClient,
  o: {
    vendor: string;
    tokenUrl: string;
    form: Record<string, string>;
    /** The recommended action, or a function choosing it from the vendor's error code. */
    action: string | ((refusal: TokenRefusal) => string);
    /** Extra request headers, e.g. HTTP Basic client authentication (RFC 6749 §2.3.1). */
    headers?: Record<string, string>;
    /** Sees the successful response body, for fields beside the token (Salesforce's `instance_url`). */
    onResponse?: (body: Record<string, unknown>) => void;
  },
): Promise<AccessToken> {
  const started = Date.now();
  const res = await http.request({
    method: 'POST',
    url: o.tokenUrl,
    readOnly: true,
    noAuth: true,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...o.headers,
    },
    body: new URLSearchParams(o.form).toString(),
    accept: [400, 401, 403],
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: reported below without echoing the body
  }
  if (res.status >= 400) {
    const error = typeof body.error === 'string' ? body.error : undefined;
    const description = typeof body.error_description === 'string' ? body.error_description : undefined;
    const said = description ? `: ${description.slice(0, 300).replace(/[.\s]+$/, '')}` : '';
    throw configError(
      'oauth_token_refused',
      `${o.vendor} refused to issue an access token (${error ?? `HTTP ${res.status}`})${said}.`,
      typeof o.action === 'function' ? o.action({ status: res.status, error, description }) : o.action,
      res.status,
    );
  }
  const token = body.access_token;
  const expiresIn = Number(body.expires_in ?? 3600);
  if (typeof token !== 'string' || !token || !Number.isFinite(expiresIn)) {
    throw transientError(
      'oauth_bad_token_response',
      `${o.vendor}'s token endpoint answered ${res.status} without an access_token.`,
      'Retry; if it persists, check the token endpoint (proxy or national cloud).',
    );
  }
  o.onResponse?.(body);
  return { token, expiresAt: started + expiresIn * 1000 };
}
