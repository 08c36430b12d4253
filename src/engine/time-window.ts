import { parseDuration } from '../core/duration.ts';
import { toIsoTime } from '../core/envelope.ts';
import { gapWarning, type TributaryError } from '../core/errors.ts';
import type { ReadContext } from '../core/source.ts';
import type { PageRequest } from './paginate.ts';

/**
 * Time-window cursor (docs/architecture.md, "Cursors"): read `[since − overlap, now − lag)`, suppress events already
 * delivered near the boundary with a small set of ids, split windows that are too large, never stick.
 *
 * Checkpoint (small and flat):
 *   since  ISO time: everything before it (minus what arrives later than the lag) has been delivered.
 *   seen   [id, epochMs] of delivered events at or after `since − overlap`, suppressed when re-read.
 *   end, next  only for vendors whose pages are not oldest-first: the window being paged and the next
 *          page request. `since` moves only when that window is complete, so the committed position is
 *          always safe whatever order the vendor returns.
 */
export interface TimeWindowCheckpoint {
  since: string;
  seen?: Array<[string, number]>;
  end?: string;
  next?: PageRequest;
}

export interface TimeWindowOptions {
  /** The record's event time: a dotted path or a function. */
  time: string | ((record: any) => unknown);
  /** How far behind now a window ends, absorbing the vendor's late indexing. Default 1m. */
  lag?: string;
  /** How far behind the watermark a window starts again, to catch events indexed later than the lag. */
  overlap?: string;
  /**
   * The least overlap, whatever the collector sets: a vendor whose time filter has whole-second precision
   * (GitHub's `created:`, Slack's `oldest`, Zoom's times) needs a second of it not to miss events that
   * share the position's second.
   */
  minOverlap?: string;
  /** Order of records inside a window's pages. Default asc (oldest first). */
  order?: 'asc' | 'desc' | 'any';
  /** The vendor's largest queryable window; longer spans are read as several windows. */
  maxWindow?: string;
  /** Windows are split in half on a `windowTooLarge` failure down to this span. Default 1s. */
  minWindow?: string;
  /** The most boundary ids kept in the checkpoint. Default 5000. */
  maxSeen?: number;
  /**
   * The vendor filters more coarsely than the window (whole days: Zoom's reports): records outside
   * [start, end) are skipped, to be delivered by the window they belong to, so re-reading a day never
   * repeats an event. With a known order, paging stops once the records leave the window (`asc`: one at
   * or after its end; `desc`: one before its start), unless the pages turn out not to be in that order.
   */
  clip?: boolean;
}

export interface Window {
  start: Date;
  end: Date;
  /** Resume at this page of the window instead of its first page. */
  resume?: PageRequest;
}

/**
 * The gap warning for a saved position older than what the vendor still keeps (`retention`): what lay
 * between the position and `oldest` can no longer be read. One wording for every reader; `code`
 * names a gap in one part of a stream (GitHub's Git events).
 */
export function retentionGap(o: {
  saved: number | string;
  oldest: number;
  retention: string;
  /** What is lost, in the plural: `events`, `artifacts`, `Git events`. */
  what: string;
  code?: string;
  action?: string;
}): TributaryError {
  const saved = typeof o.saved === 'string' ? o.saved : new Date(o.saved).toISOString();
  return gapWarning(
    o.code ?? 'checkpoint_beyond_retention',
    `The saved position ${saved} is older than the vendor keeps ${o.what} (${o.retention}); ${o.what} between it and ${new Date(o.oldest).toISOString()} can no longer be read.`,
    o.action ??
      'Run the collector more often than the vendor retention, and investigate why it was stopped or failing so long.',
  );
}

/** A record's field by function, literal key (`@odata.nextLink`) or dotted path (`actor.id`). */
export function getPath(record: any, path: string | ((r: any) => unknown)): unknown {
  if (typeof path === 'function') return path(record);
  if (record != null && typeof record === 'object' && path in record) return record[path];
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), record);
}

export class WindowTracker {
  private since: number;
  private seen: Map<string, number>;
  private window: { start: number; end: number } | undefined;
  private next: PageRequest | undefined;
  private readonly lag: number;
  private readonly overlap: number;
  private readonly maxWindow: number;
  private readonly minWindow: number;
  private readonly order: 'asc' | 'desc' | 'any';
  private readonly maxSeen: number;
  /** This run reads up to here (now − lag when it started): a run is bounded, the next one goes on. */
  private readonly limit: number;
  private readonly opts: TimeWindowOptions;

  constructor(
    opts: TimeWindowOptions,
    ctx: Pick<ReadContext, 'checkpoint' | 'window' | 'now' | 'warn' | 'log'>,
    retention?: string,
  ) {
    this.opts = opts;
    this.lag = ctx.window.lagMs ?? parseDuration(opts.lag ?? '1m');
    this.overlap = Math.max(
      ctx.window.overlapMs ?? parseDuration(opts.overlap ?? '0s'),
      parseDuration(opts.minOverlap ?? '0s'),
    );
    this.maxWindow = opts.maxWindow ? parseDuration(opts.maxWindow) : Number.POSITIVE_INFINITY;
    this.minWindow = parseDuration(opts.minWindow ?? '1s');
    this.order = opts.order ?? 'asc';
    this.maxSeen = opts.maxSeen ?? 5000;
    const cp = ctx.checkpoint as TimeWindowCheckpoint | undefined;
    const now = ctx.now();
    this.limit = now - this.lag;
    if (cp?.since) {
      this.since = Date.parse(cp.since);
      this.seen = new Map(cp.seen ?? []);
      if (cp.end && cp.next) {
        this.window = { start: this.since - this.overlap, end: Date.parse(cp.end) };
        this.next = cp.next;
      }
    } else {
      this.since = ctx.window.start ? Date.parse(ctx.window.start) : now - ctx.window.lookbackMs;
      this.seen = new Map();
    }
    if (retention) {
      const oldest = now - parseDuration(retention);
      if (this.since < oldest) {
        if (cp?.since) {
          ctx.warn(retentionGap({ saved: this.since, oldest, retention, what: 'events' }));
        } else {
          ctx.log.info('initial lookback clamped to the vendor retention', { retention });
        }
        this.since = oldest;
        this.seen.clear();
        this.window = undefined;
        this.next = undefined;
      }
    }
  }

  /** The next window to read, or undefined when caught up to now − lag. */
  nextWindow(): Window | undefined {
    if (this.window)
      return { start: new Date(this.window.start), end: new Date(this.window.end), resume: this.next };
    if (this.since >= this.limit) return undefined;
    const end = Math.min(this.limit, this.since + this.maxWindow);
    this.window = { start: this.since - this.overlap, end };
    this.next = undefined;
    return { start: new Date(this.window.start), end: new Date(end) };
  }

  /** Halves the current window after a failure that says it is too large; false when it cannot shrink. */
  split(): boolean {
    if (!this.window || this.next) return false;
    const span = this.window.end - this.since;
    if (span / 2 < this.minWindow) return false;
    this.window.end = this.since + Math.floor(span / 2);
    return true;
  }

  timeOf(record: unknown): number | undefined {
    const iso = toIsoTime(getPath(record, this.opts.time));
    return iso ? Date.parse(iso) : undefined;
  }

  /** True when the record was already delivered (a boundary re-read). */
  isSeen(id: string): boolean {
    return this.seen.has(id);
  }

  /**
   * Records a page that is about to be delivered and returns the checkpoint that is safe once it is
   * acknowledged. `next` is the request for the window's next page, undefined after its last page.
   */
  afterPage(
    delivered: Array<{ id: string; time: number | undefined }>,
    next: PageRequest | undefined,
  ): TimeWindowCheckpoint {
    if (!this.window) throw new Error('afterPage without a window');
    for (const e of delivered) if (e.time !== undefined) this.seen.set(e.id, e.time);
    if (next) {
      if (this.order === 'asc') {
        let max = this.since;
        for (const e of delivered) if (e.time !== undefined && e.time > max) max = e.time;
        // Oldest-first: everything before the newest time on this page is delivered, except events
        // sharing that exact time on the next page, which `seen` suppresses.
        // The checkpoint omits `next`: a restart re-queries from `since`, valid even when vendor cursors expire.
        this.since = Math.min(max, this.window.end);
      }
      this.next = next;
      return this.checkpoint(next);
    }
    this.since = Math.max(this.since, this.window.end);
    this.window = undefined;
    this.next = undefined;
    return this.checkpoint(undefined);
  }

  private checkpoint(next: PageRequest | undefined): TimeWindowCheckpoint {
    const floor = this.since - this.overlap;
    for (const [id, t] of this.seen) if (t < floor) this.seen.delete(id);
    if (this.seen.size > this.maxSeen) {
      const keep = [...this.seen].sort((a, b) => b[1] - a[1]).slice(0, this.maxSeen);
      this.seen = new Map(keep);
    }
    const cp: TimeWindowCheckpoint = { since: new Date(this.since).toISOString() };
    if (this.seen.size) cp.seen = [...this.seen];
    if (next && this.order !== 'asc' && this.window) {
      cp.end = new Date(this.window.end).toISOString();
      cp.next = next;
    }
    return cp;
  }
}
