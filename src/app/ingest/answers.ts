import type { Logger } from '../../core/source.ts';
import type { IngestAnswerCount, Store } from '../../core/store.ts';

/**
 * What push collectors' ingest endpoints answered, counted per collector, 5-minute bucket, status and
 * code, for their page and their health (docs/control-plane.md, "Push collectors"). Counted in memory
 * and written to the store at most every `flushMs` (one transaction for all collectors), so a busy
 * endpoint costs one more write a second, not one per request. A flush that fails is logged and its
 * counts dropped: they are for display, never for delivery.
 */

export const BUCKET_MS = 5 * 60_000;
/** Buckets older than this are pruned (the page looks back a week at most). */
export const RETAIN_MS = 8 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export interface Answer {
  status: number;
  /** `accepted` for 200, else the error code of the answer. */
  code: string;
  message?: string;
  /** Retry-After in seconds, when the answer carried one. */
  retryAfter?: number;
  /** Events accepted. */
  events?: number;
}

export const bucketOf = (ms: number) => new Date(Math.floor(ms / BUCKET_MS) * BUCKET_MS).toISOString();

export class IngestAnswers {
  private readonly store: Store;
  private readonly log: Logger;
  private readonly flushMs: number;
  private readonly now: () => number;
  private pending = new Map<string, IngestAnswerCount>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private prunedAt = Number.NEGATIVE_INFINITY;

  constructor(store: Store, o: { log: Logger; flushMs?: number; now?: () => number }) {
    this.store = store;
    this.log = o.log;
    this.flushMs = o.flushMs ?? 1000;
    this.now = o.now ?? Date.now;
  }

  count(collectorId: string, a: Answer): void {
    const now = this.now();
    const at = new Date(now).toISOString();
    const bucket = bucketOf(now);
    const key = `${collectorId}|${bucket}|${a.status}|${a.code}`;
    const c = this.pending.get(key);
    if (c) {
      c.requests++;
      c.events += a.events ?? 0;
      c.lastAt = at;
      c.message = a.message;
      c.retryAfter = a.retryAfter;
    } else
      this.pending.set(key, {
        collectorId,
        bucket,
        status: a.status,
        code: a.code,
        requests: 1,
        events: a.events ?? 0,
        lastAt: at,
        message: a.message,
        retryAfter: a.retryAfter,
      });
    this.timer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
  }

  /** Writes what was counted since the last flush. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing; // one write at a time, in order
    const counts = [...this.pending.values()].map((c) => {
      const { message, retryAfter, ...rest } = c;
      return {
        ...rest,
        ...(message !== undefined ? { message } : {}),
        ...(retryAfter !== undefined ? { retryAfter } : {}),
      };
    });
    this.pending = new Map();
    this.flushing = (async () => {
      try {
        if (counts.length) await this.store.recordIngestAnswers(counts);
        const now = this.now();
        if (now - this.prunedAt >= PRUNE_EVERY_MS) {
          this.prunedAt = now;
          await this.store.pruneIngestAnswers(new Date(now - RETAIN_MS).toISOString());
        }
      } catch (err) {
        this.log.warn('push: could not record the answers of ingest endpoints', {
          message: (err as Error)?.message,
        });
      }
    })();
    await this.flushing;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
