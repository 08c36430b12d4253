import { validateSettings } from '../../src/config/config-file.ts';
import type { AccountKind, Batch, SourceDef } from '../../src/core/source.ts';
import { Http, type HttpClientOptions } from '../../src/engine/http.ts';
import { readContext } from './read-context.ts';

/**
 * Reads one stream of a source to its end (or `stopAfter` batches, a crash between batches) against a simulator:
 * the source's settings validated as a collector's are, the account kind authorising every request, the source's
 * error wording and rate-limit hooks in the HTTP client, a two-hour first lookback and no lag unless told.
 */
export async function drainStream<C = unknown>(o: {
  source: SourceDef;
  kind: AccountKind;
  account: unknown;
  stream: string;
  settings?: Record<string, unknown>;
  checkpoint?: C;
  now: number;
  stopAfter?: number;
  http?: Partial<HttpClientOptions>;
}): Promise<{ batches: Batch<C>[]; ids: string[]; checkpoint: C | undefined }> {
  const checked = validateSettings(o.source.id, o.settings ?? {});
  if (!checked.ok) throw new Error(checked.issues.join('; '));
  const http: Http = new Http({
    vendor: o.source.title,
    backoffBaseMs: 1,
    authorize: (h, refresh, url, req) => o.kind.authorize(o.account, h, { refresh, http, url, ...req }),
    explain: o.source.explain,
    rateLimited: o.source.rateLimited,
    rateLimitedBody: o.source.rateLimitedBody,
    ...o.http,
  });
  const ctx = readContext(http, {
    stream: o.stream,
    settings: checked.settings,
    account: o.account,
    checkpoint: o.checkpoint,
    now: () => o.now,
    window: { lookbackMs: 2 * 3_600_000, lagMs: 0 },
  });
  const batches: Batch<C>[] = [];
  for await (const b of o.source.streams[o.stream].read(ctx) as AsyncIterable<Batch<C>>) {
    batches.push(b);
    if (o.stopAfter !== undefined && batches.length >= o.stopAfter) break;
  }
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id as string)),
    checkpoint: batches.at(-1)?.checkpoint ?? o.checkpoint,
  };
}
