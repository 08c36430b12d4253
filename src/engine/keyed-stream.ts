import { transientError } from '../core/errors.ts';
import type { Batch, HttpClient, ReadContext, StreamDef } from '../core/source.ts';
import { LoopGuard } from './http.ts';
import { type PageRequest, type Paginator, pageKey } from './paginate.ts';

/**
 * A stream read as several parts, each with its own position (docs/architecture.md, "Cursors"): a vendor
 * whose log is kept per network, tenant or subscription, and which the collector finds out by asking (Meraki's
 * per-network event logs, one per network and product type). Each run lists the parts, then reads every part
 * with the stream the definition builds for it, in the order listed, from that part's saved position.
 *
 * Checkpoint: `{ parts: { [key]: the part's own checkpoint } }`, every batch's carrying the positions of all
 * parts as they stand after it, so a crash resumes each part where its last acknowledged batch left it. A new
 * part starts like a first run (the collector's lookback); a part the listing no longer names is dropped
 * from the checkpoint (a network deleted: nothing left to read). A part that fails (a subscription whose role
 * assignment is missing) does not hold the others back: the rest are read, then the first failure is thrown,
 * so the run reports it and what was read is committed.
 */
export interface KeyedStreamDef<S, A, K> {
  title: string;
  description?: string;
  /** The parts this run reads (listed from the vendor, or named in settings), in reading order. */
  parts: (ctx: ReadContext<S, A>) => Promise<readonly K[]> | readonly K[];
  /** A part's stable key in the checkpoint (`N_1234/wireless`). */
  key: (part: K) => string;
  /** The stream that reads one part (a `restPoll` whose URL and parameters name the part). */
  stream: (part: K) => StreamDef<S, A>;
}

export interface KeyedCheckpoint {
  parts: Record<string, unknown>;
}

export function keyedStream<S, A, K>(def: KeyedStreamDef<S, A, K>): StreamDef<S, A, KeyedCheckpoint> {
  return {
    title: def.title,
    description: def.description,
    async *read(ctx: ReadContext<S, A, KeyedCheckpoint>): AsyncGenerator<Batch<KeyedCheckpoint>> {
      const saved = ctx.checkpoint?.parts ?? {};
      const listed = new Map<string, K>();
      for (const part of await def.parts(ctx))
        if (!listed.has(def.key(part))) listed.set(def.key(part), part);
      const parts: Record<string, unknown> = {};
      for (const key of listed.keys()) if (Object.hasOwn(saved, key)) parts[key] = saved[key];
      let failure: unknown;
      for (const [key, part] of listed) {
        ctx.signal.throwIfAborted();
        try {
          for await (const batch of def.stream(part).read({ ...ctx, checkpoint: parts[key] })) {
            parts[key] = batch.checkpoint;
            // A copy per batch: the runner commits it later, after this part (or the next) has moved on.
            yield { ...batch, checkpoint: { parts: { ...parts } } };
          }
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          ctx.log.warn('part failed; reading the others', { stream: ctx.stream, part: key });
          failure ??= err;
        }
      }
      if (failure !== undefined) throw failure;
    },
  };
}

/**
 * Every record of a short list the source enumerates before reading (networks, tenants, subscriptions):
 * its pages followed with the loop guard, at most `max` records (more is a vendor fault or a wrong setting).
 */
export async function listAll(
  http: HttpClient,
  first: PageRequest,
  pages: Paginator,
  records: (body: any) => unknown[],
  what: string,
  o: { headers?: Record<string, string>; max?: number } = {},
): Promise<unknown[]> {
  const max = o.max ?? 100_000;
  const out: unknown[] = [];
  const guard = new LoopGuard();
  guard.check(pageKey(first), what);
  for (let request: PageRequest | undefined = first; request; ) {
    const { body, response } = await http.getJson(request.url, request.query, o.headers);
    const page = records(body);
    if (!Array.isArray(page))
      throw transientError(
        'unexpected_response',
        `The vendor's answer to the ${what} listing held no list.`,
        'Check the base URL points at the vendor API; Tributary retries on the next run.',
      );
    out.push(...page);
    if (out.length > max)
      throw transientError(
        'listing_too_long',
        `The ${what} listing returned more than ${max} entries.`,
        'Narrow the collector to the entries it should read (its settings), or report the listing as a vendor fault.',
      );
    request = pages.next({ request, response, body, records: page });
    if (request) guard.check(pageKey(request), what, page.length === 0);
  }
  return out;
}
