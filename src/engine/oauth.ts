import { createHash } from 'node:crypto';
import { configError, transientError } from '../core/errors.ts';
import type { HttpClient, HttpResponse } from '../core/source.ts';
import type { DpopSession } from './dpop.ts';

/**
 * OAuth 2.0 access tokens for account kinds (RFC 6749 §4.4 client credentials, RFC 7523 JWT bearer):
 * one token request helper and one process-wide cache, so every collector sharing an account shares
 * its token per audience, renews it before it expires, and asks for it once however many requests wait.
 */

export interface AccessToken {
  token: string;
  /** Epoch ms after which the token must not be used. */
  expiresAt: number;
  /**
   * `DPoP` when the token is bound to `dpop`'s key (RFC 9449 §5: `token_type: DPoP`): it is sent as
   * `Authorization: DPoP <token>` with a proof from that session. Default: a bearer token.
   */
  type?: 'Bearer' | 'DPoP';
  dpop?: DpopSession;
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
    return (await this.entry(key, refresh, fetchToken)).token;
  }

  /** Like get, with the whole token: its type and the DPoP session it is bound to. */
  async entry(key: string, refresh: boolean, fetchToken: () => Promise<AccessToken>): Promise<AccessToken> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = {};
      this.entries.set(key, entry);
    }
    if (refresh) entry.token = undefined;
    if (entry.token && entry.token.expiresAt - this.renewBeforeMs > this.now()) return entry.token;
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
    return pending;
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

/** The token endpoint's refusal, for an account kind to word the recommended action. */
export interface TokenRefusal {
  status: number;
  /** The OAuth `error` code (invalid_grant, unauthorized_client, …), when the body had one. */
  error?: string;
  description?: string;
}

/**
 * POSTs a token request (application/x-www-form-urlencoded) and returns the access token. The
 * endpoint's OAuth error (`error`, `error_description`) becomes a config error naming it, since
 * only a change of credentials or consent fixes it; 5xx and network errors stay transient (retried).
 *
 * `form` may be a function: it is called for every attempt, so a signed client assertion is fresh
 * each time (servers refuse a `jti` they have seen). With `dpop` (RFC 9449 §5, §8): a proof goes with
 * the request once the session is active; a `use_dpop_nonce` answer is retried once with the server's
 * `DPoP-Nonce`, and an `invalid_dpop_proof` answer to a request sent without a proof (the client
 * requires DPoP) turns the session on and is retried.
 */
export async function requestToken(
  http: HttpClient,
  o: {
    vendor: string;
    tokenUrl: string;
    form: Record<string, string> | (() => Promise<Record<string, string>>);
    /** The recommended action, or a function choosing it from the vendor's error code. */
    action: string | ((refusal: TokenRefusal) => string);
    /** The error code of a refusal (default `oauth_token_refused`). */
    code?: (refusal: TokenRefusal) => string | undefined;
    /** Extra request headers, e.g. HTTP Basic client authentication (RFC 6749 §2.3.1). */
    headers?: Record<string, string>;
    /** Sees the successful response body, for fields beside the token (Salesforce's `instance_url`). */
    onResponse?: (body: Record<string, unknown>) => void;
    dpop?: DpopSession;
  },
): Promise<AccessToken> {
  const started = Date.now();
  const dpop = o.dpop;
  let res: HttpResponse | undefined;
  let body: Record<string, unknown> = {};
  let sentProof = false;
  let nonceRetried = false;
  let dpopTurnedOn = false;
  for (;;) {
    const form = typeof o.form === 'function' ? await o.form() : o.form;
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...o.headers,
    };
    sentProof = Boolean(dpop?.active);
    if (dpop?.active) headers.dpop = await dpop.proof('POST', o.tokenUrl);
    res = await http.request({
      method: 'POST',
      url: o.tokenUrl,
      readOnly: true,
      noAuth: true,
      headers,
      body: new URLSearchParams(form).toString(),
      accept: [400, 401, 403],
      // The body carries the client's credential (a secret, or a signed assertion): a redirect would
      // post it to wherever the Location says (RFC 6749 §3.2 does not provide for redirects here).
      manualRedirect: true,
    });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      throw configError(
        'oauth_token_redirect',
        `${o.vendor}'s token endpoint answered ${res.status} with a redirect${redirectTarget(res)}; Tributary does not send credentials after a redirect.`,
        "Point the account at the token endpoint itself (the redirect's target, if it is the vendor's), or check the proxy in between.",
        res.status,
      );
    }
    body = parseBody(await res.text());
    if (!dpop || res.status < 400) break;
    const nonce = res.headers.get('dpop-nonce');
    if (nonce) dpop.nonce = nonce;
    if (body.error === 'use_dpop_nonce' && sentProof && nonce && !nonceRetried) {
      nonceRetried = true;
      continue;
    }
    if (body.error === 'invalid_dpop_proof' && !sentProof && !dpopTurnedOn) {
      dpopTurnedOn = dpop.active = true;
      continue;
    }
    break;
  }
  if (res.status >= 400) {
    const error = typeof body.error === 'string' ? body.error : undefined;
    const description = typeof body.error_description === 'string' ? body.error_description : undefined;
    const said = description ? `: ${description.slice(0, 300).replace(/[.\s]+$/, '')}` : '';
    const refusal = { status: res.status, error, description };
    throw configError(
      o.code?.(refusal) ?? 'oauth_token_refused',
      `${o.vendor} refused to issue an access token (${error ?? `HTTP ${res.status}`})${said}.`,
      typeof o.action === 'function' ? o.action(refusal) : o.action,
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
  const bound = sentProof && String(body.token_type).toLowerCase() === 'dpop';
  return {
    token,
    expiresAt: started + expiresIn * 1000,
    ...(bound ? { type: 'DPoP' as const, dpop } : {}),
  };
}

/** " to https://host" for a redirect's Location, the origin only (no path or query). */
function redirectTarget(res: HttpResponse): string {
  try {
    const u = new URL(res.headers.get('location') ?? '', res.url);
    return ` to ${u.origin}`;
  } catch {
    return '';
  }
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const j = JSON.parse(text);
    return j && typeof j === 'object' && !Array.isArray(j) ? j : {};
  } catch {
    return {}; // not JSON: reported without echoing the body
  }
}
