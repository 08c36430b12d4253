import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { NetskopeAccount } from '../accounts/netskope.ts';
import { hashId, toIsoTime } from '../core/envelope.ts';
import { type ErrorInfo, transientError } from '../core/errors.ts';
import type { Batch, RawEvent, ReadContext, StreamDef, VendorErrorContext } from '../core/source.ts';
import { sleep } from '../engine/sleep.ts';

/**
 * What the Netskope data export sources (`netskope-events`, `netskope-alerts`) share: the iterator. Vendor facts
 * (docs.netskope.com, "Data Export API" / "Using the REST API v2 dataexport Iterator Endpoints"):
 *
 * - `GET /api/v2/events/dataexport/{events|alerts}/{type}?index=<name>&operation=<op>`: the position lives at
 *   Netskope under the **index** name the client chooses; `operation` is an epoch timestamp (start there),
 *   `head`, `tail`, `next` (the page after the last one handed out) or `resend` (the last page handed out,
 *   again, "after a failure").
 * - The answer `{"ok": 1, "result": [...], "wait_time": <seconds>, "timestamp_hwm": <epoch>}`: `wait_time` is how
 *   long to wait before the next call; an empty `result` means no more data for now.
 * - One consumer per index: a concurrent request on the same index is refused with 409.
 * - Tokens are scoped per endpoint (403 otherwise).
 *
 * The protocol here. Netskope moves the position when a page is asked for, so the stream is `sequential`: the
 * next page is asked only after the previous one was delivered and committed. The checkpoint is
 * `{index, resend, page}`: after a page, `resend` is true and `page` the digest of its ids, because a `next` may
 * have been sent after that commit (a crash then leaves one page handed out and never delivered); so a run
 * that starts from such a checkpoint asks `resend` first, and skips the answer when its digest is the page
 * already delivered. A run ends at the first empty page, committed with `resend: false`: the next run asks
 * `next`. A first run (no checkpoint) starts the index at the collector's start time (epoch operation). A
 * `next` whose answer is lost (cut off, reset, 5xx) is retried by the HTTP client as `resend` (`retryAs`), and a
 * resent page already delivered is recognised by its digest and skipped.
 * In cluster mode the collector's lease gives one runner per collector, and the index name is the
 * collector's, so one consumer per index holds; another tool or collector on the same index gets 409.
 */

export interface IteratorCheckpoint {
  index: string;
  resend: boolean;
  /** Digest of the ids of the last page delivered (a resent page with it was already delivered). */
  page?: string;
}

export interface NetskopeSettings {
  types: string[];
  index?: string;
  baseUrl?: string;
}

/** The index name a collector uses: the setting, else `tributary-<collector name>` in the characters Netskope takes. */
export const indexName = (s: Pick<NetskopeSettings, 'index'>, collector: string) =>
  s.index ?? `tributary-${collector}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);

export const indexSetting = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected an index name of letters, digits, - and _ (at most 64)')
  .optional()
  .meta({ title: 'Iterator index' })
  .describe(
    'The name Netskope keeps this collector’s position under (default tributary-<collector>); one consumer per index',
  );

export const endpointOf = (family: 'events' | 'alerts', type: string) =>
  `/api/v2/events/dataexport/${family}/${type}`;

const digest = (ids: string[]) =>
  createHash('sha256').update(ids.join('\n')).digest('base64url').slice(0, 22);

const idOf = (r: any): string => (typeof r?._id === 'string' && r._id ? r._id : hashId(r));

/** One stream per data export type, read with the iterator protocol above. */
export function iteratorStream(
  family: 'events' | 'alerts',
  type: string,
  title: string,
  description: string,
): StreamDef<NetskopeSettings, NetskopeAccount, IteratorCheckpoint> {
  return {
    title,
    description,
    sequential: true,
    async *read(
      ctx: ReadContext<NetskopeSettings, NetskopeAccount, IteratorCheckpoint>,
    ): AsyncGenerator<Batch<IteratorCheckpoint>> {
      const index = indexName(ctx.settings, ctx.collector);
      const url = `${(ctx.settings.baseUrl ?? ctx.account.url).replace(/\/+$/, '')}${endpointOf(family, type)}`;
      const cp = ctx.checkpoint?.index === index ? ctx.checkpoint : undefined;
      const start = ctx.window.start ? Date.parse(ctx.window.start) : ctx.now() - ctx.window.lookbackMs;
      let operation = !cp ? String(Math.floor(start / 1000)) : cp.resend ? 'resend' : 'next';
      let delivered = cp?.page;
      let repeats = 0;
      for (;;) {
        ctx.signal.throwIfAborted();
        // A `next` whose answer was lost (cut off, reset, 5xx) is retried as `resend`: Netskope may have
        // handed the page out already, and a second `next` would skip it.
        const { body } = await ctx.http.requestJson({
          url,
          query: { index, operation },
          retryAs: operation === 'next' ? { query: { operation: 'resend' } } : undefined,
        });
        const records: unknown[] = Array.isArray(body?.result) ? body.result : [];
        if (records.length === 0) {
          yield { events: [], checkpoint: { index, resend: false }, pages: 1 };
          return; // caught up for now
        }
        const ids = records.map(idOf);
        const page = digest(ids);
        operation = 'next';
        if (page === delivered) {
          // The page handed out last is the one already delivered (a resend at the start of a run, or a retry
          // resent after an answer that moved nothing, such as a 429): nothing was in flight. A third time in
          // a row is Netskope repeating itself.
          if (++repeats > 2)
            throw transientError(
              'pagination_loop',
              `Netskope handed out the same ${ctx.stream} page again; stopped to avoid an endless loop.`,
              'A vendor-side fault; the run resumes from the last checkpoint next time. Report it if it repeats.',
            );
          continue;
        }
        repeats = 0;
        const events: RawEvent[] = records.map((raw, i) => ({
          raw,
          id: ids[i],
          time: toIsoTime((raw as any)?.timestamp),
        }));
        yield { events, checkpoint: { index, resend: true, page }, pages: 1 };
        delivered = page;
        const wait = Number(body?.wait_time);
        if (Number.isFinite(wait) && wait > 0) await sleep(Math.min(wait, 300) * 1000, ctx.signal);
      }
    },
  };
}

/** Netskope's errors in words: the missing endpoint scope, a busy index, a token refused. */
export function explainNetskope({
  status,
  message,
  url,
}: VendorErrorContext): Partial<ErrorInfo> | undefined {
  if (status === 401)
    return {
      code: 'netskope_invalid_token',
      action:
        'Netskope rejected the token (wrong, revoked or expired: tokens have an expiry). Create a REST API v2 token under Settings → Tools → REST API v2 and update the account.',
    };
  if (status === 403)
    return {
      code: 'netskope_missing_scope',
      action: `The token may not call ${url.pathname}: under Settings → Tools → REST API v2, edit the token and add the endpoint ${url.pathname} with Read privilege.${message ? ` Netskope said: ${message}` : ''}`,
    };
  if (status === 409)
    return {
      type: 'transient',
      code: 'netskope_index_in_use',
      action: `Another consumer is reading the iterator index "${url.searchParams.get('index') ?? ''}" on ${url.pathname} (Netskope allows one at a time): make sure no other collector or tool uses that index name (the collector's index setting); Tributary retries.`,
    };
  if (status === 400)
    return {
      code: 'netskope_bad_request',
      action: `Netskope refused the iterator request${message ? ` (${message})` : ''}: check the collector's index name; resetting the collector's checkpoint starts the index again from the start time.`,
    };
  return undefined;
}
