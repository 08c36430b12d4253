import { type Envelope, makeEnvelope } from '../core/envelope.ts';
import { type ErrorInfo, toTributaryError } from '../core/errors.ts';
import type { AccountKind, PreviewPage, SourceDef, WindowOptions } from '../core/source.ts';
import { Http, type HttpClientOptions } from './http.ts';

export type PreviewResult =
  | ({ ok: true } & Omit<PreviewPage, 'events'> & { events: Envelope[] })
  | { ok: false; error: ErrorInfo };

/**
 * Preview a collector definition: the source reads one page with the account's credentials (few
 * retries, short timeouts, like Test Connection) and its events come back as the envelopes the
 * destinations would receive. Nothing is committed, no destination is written, no run is recorded.
 * A vendor failure comes back as the classified error (type, code, recommended action), not thrown.
 */
export async function previewCollector(
  source: SourceDef,
  accountKind: AccountKind,
  account: unknown,
  settings: unknown,
  o: {
    window: WindowOptions;
    collector?: string;
    sitename?: string;
    timezone?: string;
    signal?: AbortSignal;
    now?: () => number;
    credentialOrigins?: HttpClientOptions['credentialOrigins'];
  },
): Promise<PreviewResult> {
  if (!source.preview) throw new Error(`source ${source.id} has no preview`);
  const signal = o.signal ?? AbortSignal.timeout(30_000);
  const now = o.now ?? Date.now;
  const http = new Http({
    vendor: source.title,
    authorize: (headers, refresh, url, req) =>
      accountKind.authorize(account, headers, { refresh, http, url, ...req }),
    credentialOrigins: o.credentialOrigins,
    explain: source.explain,
    rateLimited: source.rateLimited,
    rateLimitedBody: source.rateLimitedBody,
    credentialsExpired: (ctx) => accountKind.credentialsExpired?.(ctx) ?? false,
    maxAttempts: 2,
    timeoutMs: 15_000,
    backoffBaseMs: 200,
    maxRetryAfterMs: 5_000,
    signal,
    now,
  });
  try {
    const page = await source.preview({
      settings,
      account,
      http,
      signal,
      window: { ...o.window, retention: o.window.retention ?? source.retention },
      now,
    });
    const ingestedAt = new Date(now()).toISOString();
    const ctx = {
      source: source.id,
      stream: page.stream,
      collector: o.collector ?? 'preview',
      sitename: o.sitename,
      timezone: o.timezone,
    };
    const events = page.events.map((e) => makeEnvelope(ctx, e.raw, e.id, e.time, ingestedAt));
    return { ok: true, ...page, events };
  } catch (err) {
    return { ok: false, error: toTributaryError(err).toJSON() };
  }
}
