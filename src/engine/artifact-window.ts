import { createHash } from 'node:crypto';
import { formatDuration, parseDuration } from '../core/duration.ts';
import { configError, TributaryError } from '../core/errors.ts';
import type { Batch, ReadContext } from '../core/source.ts';
import { type ArtifactPart, deliverArtifact } from './artifact-list.ts';
import { LoopGuard } from './http.ts';
import { type PageRequest, pageKey } from './paginate.ts';
import { retentionGap, type TimeWindowCheckpoint, type Window, WindowTracker } from './time-window.ts';

/**
 * Artifact-window cursor (docs/architecture.md, "Artifact window"; artifact-list.ts delivers each artifact):
 * the vendor lists artifacts — content blobs, log
 * files, export chunks — by the time each became available, for a time window; each artifact is then
 * fetched and its records delivered (the Office 365 Management Activity API, Salesforce EventLogFile).
 *
 * A window `[since − overlap, now − lag)` is listed completely first (every page: the references are
 * small, and listings whose page links carry the window are then never asked again hours later), then
 * its artifacts are fetched oldest first, whatever order the vendor listed them in. A window holding more
 * than `maxArtifacts` is halved and listed again. The position moves after every artifact.
 *
 * Checkpoint (small and flat):
 *   since     ISO time: every artifact that became available before it was delivered (less artifacts
 *             the vendor lists later than that, which the overlap re-lists);
 *   seen      [digest, epochMs] of delivered artifacts at or after `since − overlap`, skipped when listed
 *             again (digests: vendor artifact ids can be long);
 *   artifact  {id, records}: the artifact being delivered and how many of its records are, so a restart
 *             resumes inside it.
 */
export interface ArtifactWindowCheckpoint extends TimeWindowCheckpoint {
  artifact?: { id: string; records: number };
}

export type { ArtifactPart };

export interface ArtifactWindowOptions<T> {
  /** How far behind now a window ends (the vendor's listing latency, clock skew). */
  lag: string;
  /** How far behind the position each window starts again, for artifacts listed late. Default 0. */
  overlap?: string;
  /** The longest span one listing may cover, overlap included (a vendor cap such as 24 h). */
  maxSpan?: string;
  /**
   * How far back the vendor lists artifacts (a listing may not start earlier). A position beyond it is
   * moved forward with a gap warning.
   */
  retention?: string;
  /** Kept between the retention limit and the oldest listing start, for listings made later in a run. Default 10m. */
  retentionMargin?: string;
  /** What the artifacts are, in the plural, for the gap warning. Default `artifacts`. */
  what?: string;
  /** A window listing more artifacts than this is halved and listed again. Default 10,000. */
  maxArtifacts?: number;
  /** The request for the first listing page of a window. */
  firstPage(window: Window): PageRequest;
  /** Reads one listing page: its artifacts and the next page's request, if any. */
  listPage(request: PageRequest): Promise<{ artifacts: T[]; next?: PageRequest }>;
  id(artifact: T): string;
  /** When the artifact became available (epoch ms): the time listings filter on. */
  time(artifact: T): number;
  /** The artifact's records in parts; the first `skip` were delivered before a restart. */
  fetch(artifact: T, skip: number): AsyncIterable<ArtifactPart>;
}

const digest = (id: string) => createHash('sha256').update(id).digest('base64url').slice(0, 22);

export async function* readArtifactWindows<T>(
  ctx: ReadContext,
  o: ArtifactWindowOptions<T>,
): AsyncGenerator<Batch<ArtifactWindowCheckpoint>> {
  const overlapMs = ctx.window.overlapMs ?? parseDuration(o.overlap ?? '0s');
  const maxSpan = o.maxSpan ? parseDuration(o.maxSpan) : Number.POSITIVE_INFINITY;
  if (overlapMs * 2 >= maxSpan) {
    throw configError(
      'overlap_too_large',
      `The overlap (${formatDuration(overlapMs)}) must be less than half of the ${o.maxSpan} this vendor lists at once.`,
      "Lower the collector's overlap setting.",
    );
  }
  const start = clampToRetention(ctx, o, overlapMs);
  const tracker = new WindowTracker(
    {
      time: () => undefined,
      lag: o.lag,
      overlap: o.overlap,
      maxWindow: Number.isFinite(maxSpan) ? `${maxSpan - overlapMs}ms` : undefined,
      order: 'asc',
    },
    { ...ctx, ...start },
  );
  const maxArtifacts = o.maxArtifacts ?? 10_000;
  let resume = (ctx.checkpoint as ArtifactWindowCheckpoint | undefined)?.artifact;

  for (let window = tracker.nextWindow(); window; window = tracker.nextWindow()) {
    let listed: { artifacts: T[]; pages: number; tooMany: boolean };
    try {
      listed = await listWindow(ctx, o, window, maxArtifacts);
    } catch (err) {
      if (err instanceof TributaryError && err.code === 'timeout' && tracker.split()) {
        ctx.log.info('listing timed out, window split', { stream: ctx.stream });
        continue;
      }
      throw err;
    }
    if (listed.tooMany && tracker.split()) {
      ctx.log.info('window lists too many artifacts, split', { stream: ctx.stream, max: maxArtifacts });
      continue;
    }
    // The window goes on while its artifacts are delivered: any request stands for "not finished".
    const open = o.firstPage(window);
    const ordered = listed.artifacts
      .map((artifact, i) => {
        const t = o.time(artifact);
        return { artifact, i, t: Number.isFinite(t) ? t : window.start.getTime() };
      })
      .sort((x, y) => x.t - y.t || x.i - y.i);
    for (const { artifact, t } of ordered) {
      ctx.signal.throwIfAborted();
      const id = o.id(artifact);
      const key = digest(id);
      if (tracker.isSeen(key)) continue;
      const skip = resume?.id === id ? resume.records : 0;
      yield* deliverArtifact<ArtifactWindowCheckpoint>(
        o.fetch(artifact, skip),
        skip,
        (records) => ({ ...tracker.afterPage([], open), artifact: { id, records } }),
        () => tracker.afterPage([{ id: key, time: t }], open),
      );
      if (resume?.id === id) resume = undefined;
    }
    yield { events: [], checkpoint: tracker.afterPage([], undefined), pages: listed.pages };
  }
}

/** Lists every page of a window (the loop guard watching the page links), stopping past `max` artifacts. */
async function listWindow<T>(
  ctx: ReadContext,
  o: ArtifactWindowOptions<T>,
  window: Window,
  max: number,
): Promise<{ artifacts: T[]; pages: number; tooMany: boolean }> {
  const guard = new LoopGuard();
  let request: PageRequest | undefined = o.firstPage(window);
  guard.check(pageKey(request), ctx.stream);
  const artifacts: T[] = [];
  let pages = 0;
  while (request) {
    ctx.signal.throwIfAborted();
    const page = await o.listPage(request);
    pages++;
    for (const a of page.artifacts) artifacts.push(a);
    if (artifacts.length > max) return { artifacts, pages, tooMany: true };
    if (page.next) guard.check(pageKey(page.next), ctx.stream, page.artifacts.length === 0);
    request = page.next;
  }
  return { artifacts, pages, tooMany: false };
}

/**
 * Keeps every listing inside what the vendor still lists: the oldest listing start is now − retention +
 * margin, so the position (a listing starts `overlap` before it) is at least that plus the overlap. A
 * saved position older than what can be listed is moved up with a gap warning; a first run's lookback
 * is shortened quietly.
 */
function clampToRetention<T>(
  ctx: ReadContext,
  o: ArtifactWindowOptions<T>,
  overlapMs: number,
): Pick<ReadContext, 'checkpoint' | 'window'> {
  const retention = o.retention ?? ctx.window.retention;
  if (!retention) return { checkpoint: ctx.checkpoint, window: ctx.window };
  const now = ctx.now();
  const oldestListing = now - parseDuration(retention) + parseDuration(o.retentionMargin ?? '10m');
  const floor = oldestListing + overlapMs;
  const cp = ctx.checkpoint as ArtifactWindowCheckpoint | undefined;
  if (cp?.since) {
    const since = Date.parse(cp.since);
    if (since >= floor) return { checkpoint: cp, window: ctx.window };
    if (since < oldestListing)
      ctx.warn(
        retentionGap({ saved: cp.since, oldest: oldestListing, retention, what: o.what ?? 'artifacts' }),
      );
    return { checkpoint: { ...cp, since: new Date(floor).toISOString() }, window: ctx.window };
  }
  const first = ctx.window.start ? Date.parse(ctx.window.start) : now - ctx.window.lookbackMs;
  if (first >= floor) return { checkpoint: cp, window: ctx.window };
  ctx.log.info('initial lookback shortened to what the vendor lists', { retention });
  return { checkpoint: cp, window: { ...ctx.window, start: new Date(floor).toISOString() } };
}
