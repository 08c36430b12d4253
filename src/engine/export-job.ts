import { TributaryError, transientError } from '../core/errors.ts';
import type { Batch, RawEvent, ReadContext } from '../core/source.ts';
import { type ArtifactPart, deliverArtifact } from './artifact-list.ts';
import { sleep } from './sleep.ts';

/**
 * Export jobs (docs/architecture.md, "Export jobs"): vendors that answer a bulk read with a job — ask for an
 * export of what changed since a time, poll its status, download its chunks as they become available
 * (Tenable's vulnerability and asset exports). The artifacts are the job's chunks, delivered with the
 * artifact-list pieces (`deliverArtifact`: parts of bounded size, a restart resumes inside a chunk).
 *
 * Checkpoint (small and flat):
 *   since  the time the next export asks changes from (ISO);
 *   job    the export in progress ({id, until}: `until` is when it was asked, the next `since`), saved before
 *          any of its chunks is read so a crash polls the same job again instead of asking a second one;
 *   done   its chunk ids already delivered;
 *   file   {id, records}: the chunk being delivered and how many of its records are;
 *   seen   with `boundary`: ids the previous job delivered that were indexed within the overlap before its
 *          end, which this job (asked from that end less the overlap) lists again and does not deliver again;
 *   next   the same for this job so far (the next job's `seen`).
 *
 * A run asks a job (or resumes the saved one), delivers every available chunk not yet done, and polls the
 * status every `pollMs` until the job finishes, for at most `maxWaitMs`; a job still running then is left for
 * the next run (the checkpoint keeps it). A finished job moves `since` to its `until`. A job the vendor
 * reports failed, or no longer knows (`gone`), is dropped from the checkpoint and asked again from the same
 * `since` by the next run (chunks delivered from it are delivered again, with the same ids).
 *
 * Vendors index records some time after their own clock says (and the export's cut-off is the vendor's, not
 * ours): with `boundary`, the next export is asked from the end less `overlapMs`, and records it lists again
 * are recognised by id (`seen`), as the time-window cursor's boundary ids do.
 */

export interface ExportJobCheckpoint {
  since: string;
  job?: { id: string; until: string };
  done?: string[];
  file?: { id: string; records: number };
  seen?: string[];
  next?: string[];
}

export interface ExportJobStatus {
  state: 'running' | 'finished' | 'failed';
  /** Chunk ids available for download now (all of them once finished). */
  chunks: string[];
  /** The vendor's words for a failed job. */
  detail?: string;
}

export interface ExportJobOptions {
  /** What the job exports, for messages (`vulnerability export`). */
  what: string;
  /** Asks the vendor for an export of changes at or after `since`; returns the job id. */
  start(since: Date): Promise<string>;
  status(id: string): Promise<ExportJobStatus>;
  /** One chunk's records in parts; the first `skip` were delivered before a restart. */
  fetch(id: string, chunk: string, skip: number): AsyncIterable<ArtifactPart>;
  /** A status error that means the vendor no longer knows the job (expired exports: 404). */
  gone?: (err: TributaryError) => boolean;
  pollMs: number;
  maxWaitMs: number;
  /** The overlap between consecutive exports and each event's indexing time (ms), for `seen`. */
  boundary?: { overlapMs: number; indexedAt(e: RawEvent): number | undefined };
  /** Real time, for the poll budget (tests pass a fake clock). */
  clock?: () => number;
}

/**
 * At most this many boundary ids are kept: beyond them (a scan indexing more in the overlap), records of the
 * overlap may be delivered twice, with the same ids.
 */
export const MAX_SEEN = 10_000;

export async function* readExportJob(
  ctx: ReadContext,
  o: ExportJobOptions,
): AsyncGenerator<Batch<ExportJobCheckpoint>> {
  const saved = ctx.checkpoint as ExportJobCheckpoint | undefined;
  const since =
    saved?.since ??
    new Date(
      ctx.window.start ? Date.parse(ctx.window.start) : ctx.now() - ctx.window.lookbackMs,
    ).toISOString();
  let cp: ExportJobCheckpoint = saved ?? { since };
  if (!cp.job) {
    const until = new Date(ctx.now()).toISOString();
    const id = await o.start(new Date(cp.since));
    cp = { since: cp.since, job: { id, until }, done: [], ...(cp.seen?.length ? { seen: cp.seen } : {}) };
    ctx.log.info('export requested', { stream: ctx.stream, what: o.what, since: cp.since });
    yield { events: [], checkpoint: cp };
  }
  const job = cp.job!;
  const seen = new Set(cp.seen);
  const cutoff = Date.parse(job.until) - (o.boundary?.overlapMs ?? 0);
  const next = new Set(cp.next);
  // The job's parts without what the previous job delivered; what this one delivers near its end noted.
  async function* fresh(parts: AsyncIterable<ArtifactPart>): AsyncGenerator<ArtifactPart> {
    for await (const part of parts) {
      if (!o.boundary) {
        yield part;
        continue;
      }
      const events = part.events.filter((e) => e.id === undefined || !seen.has(e.id));
      for (const e of events)
        if (e.id !== undefined && next.size < MAX_SEEN && (o.boundary.indexedAt(e) ?? -Infinity) >= cutoff)
          next.add(e.id);
      yield { ...part, events };
    }
  }
  const keep = () => ({
    ...(seen.size ? { seen: [...seen] } : {}),
    ...(next.size ? { next: [...next] } : {}),
  });
  const clock = o.clock ?? Date.now;
  const began = clock();
  for (;;) {
    ctx.signal.throwIfAborted();
    let status: ExportJobStatus;
    try {
      status = await o.status(job.id);
    } catch (err) {
      if (err instanceof TributaryError && o.gone?.(err)) {
        yield { events: [], checkpoint: { since: cp.since, ...(seen.size ? { seen: [...seen] } : {}) } };
        throw transientError(
          'export_expired',
          `The ${o.what} ${job.id} is no longer known to the vendor (${err.message}).`,
          'None needed: the next run asks a new export from the same position (records delivered from the old one come again, with the same ids).',
        );
      }
      throw err;
    }
    if (status.state === 'failed') {
      yield { events: [], checkpoint: { since: cp.since, ...(seen.size ? { seen: [...seen] } : {}) } };
      throw transientError(
        'export_failed',
        `The vendor reports the ${o.what} ${job.id} failed${status.detail ? ` (${status.detail})` : ''}.`,
        'None needed: the next run asks a new export from the same position. If it repeats, report it to the vendor.',
      );
    }
    const ready = status.chunks.filter((c) => !cp.done?.includes(c));
    for (const chunk of ready) {
      const skip = cp.file?.id === chunk ? cp.file.records : 0;
      const done = cp.done ?? [];
      yield* deliverArtifact(
        fresh(o.fetch(job.id, chunk, skip)),
        skip,
        (records) => ({ since: cp.since, job, done, file: { id: chunk, records }, ...keep() }),
        () => ({ since: cp.since, job, done: [...done, chunk], ...keep() }),
      );
      cp = { since: cp.since, job, done: [...done, chunk], ...keep() };
    }
    if (status.state === 'finished' && ready.length === 0) {
      const end: ExportJobCheckpoint = { since: new Date(cutoff).toISOString() };
      if (next.size) end.seen = [...next];
      yield { events: [], checkpoint: end, pages: 1 };
      return;
    }
    if (status.state === 'finished') continue; // the last chunks were just delivered: confirm nothing more came
    if (ready.length > 0) continue; // more may be ready already
    if (clock() - began >= o.maxWaitMs) {
      ctx.log.info('export still running; the next run continues it', { stream: ctx.stream, job: job.id });
      return;
    }
    await sleep(o.pollMs, ctx.signal);
  }
}
