import { type ErrorInfo, toTributaryError } from '../core/errors.ts';
import type { AccountKind, SourceDef } from '../core/source.ts';
import { Http, type HttpClientOptions } from './http.ts';

/**
 * Test Connection: runs the source's own probe with the account's credentials, with few retries and a
 * short timeout, and returns the classified error (type, code, recommended action) instead of throwing.
 */
export async function testConnection(
  source: SourceDef,
  accountKind: AccountKind,
  account: unknown,
  settings: unknown,
  streams: string[] = [],
  signal: AbortSignal = AbortSignal.timeout(30_000),
  credentialOrigins?: HttpClientOptions['credentialOrigins'],
  /** More HTTP client options (tests: `tlsTrust` for an emulator's certificate made at test time). */
  httpOptions: Partial<HttpClientOptions> = {},
): Promise<{ ok: true } | { ok: false; error: ErrorInfo }> {
  const http = new Http({
    vendor: source.title,
    authorize: (headers, refresh, url, req) =>
      accountKind.authorize(account, headers, { refresh, http, url, ...req }),
    credentialOrigins,
    explain: source.explain,
    rateLimited: source.rateLimited,
    rateLimitedBody: source.rateLimitedBody,
    credentialsExpired: (ctx) => accountKind.credentialsExpired?.(ctx) ?? false,
    maxAttempts: 2,
    timeoutMs: 15_000,
    backoffBaseMs: 200,
    maxRetryAfterMs: 5_000,
    signal,
    ...httpOptions,
  });
  try {
    await source.test({ settings, account, http, signal, streams });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: toTributaryError(err).toJSON() };
  }
}
