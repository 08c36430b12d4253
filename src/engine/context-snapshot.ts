import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import type { ContextFields, ContextOp } from '../core/envelope.ts';
import type { Batch, RawEvent, ReadContext, SnapshotLedger, StreamDef } from '../core/source.ts';
import { type ArtifactDownload, type ArtifactPart, deliverArtifact, openArtifact } from './artifact-list.ts';

/**
 * Context streams (docs/architecture.md, "Context records"): the current state of entities (users,
 * groups, indicators) rather than a stream of occurrences. A stream alternates between
 *
 * - a **refresh**: the full state, read on a slow schedule (`refreshEvery`), every record tagged with the
 *   refresh's `snapshot` id and closed by an end-of-snapshot marker (`op: "end"`) once every page of it
 *   has been delivered; a destination may then drop whatever that refresh did not mention;
 * - **deltas** between refreshes, where the vendor has them: the changes since the last complete refresh
 *   started, tagged with its snapshot id.
 *
 * The checkpoint says which is in progress. A refresh interrupted half-way (a crash, a stop, an error)
 * stays `refresh` with the reader's own position, so the next run resumes it under the same snapshot id
 * and only then writes the marker: a refresh is never marked complete before all of it was delivered.
 * Nor when any of its records became a dead letter (invalid, or refused by a destination): the runner
 * counts them in the checkpoint (`snapshotLedger`) and withholds that refresh's marker, with a warning.
 */

export interface ContextStreamDef<S, A> {
  title: string;
  description?: string;
  /** The entity type of every record, or of each (an indicator's ip / domain / hash / url). */
  entity: string | ((raw: any) => string);
  /** Whether a record is a deletion (a deprovisioned user, a revoked indicator); default: every record upserts. */
  op?: (raw: any, now: number) => Exclude<ContextOp, 'end'>;
  /** Milliseconds between the starts of two refreshes. */
  refreshEvery: (settings: S) => number;
  /** Reads the full state; `ctx.checkpoint` is its own position within the refresh in progress. */
  full: StreamDef<S, A>['read'];
  /**
   * Reads the changes between refreshes; `ctx.checkpoint` is its own position, undefined for the first
   * delta after a refresh, which then starts at `ctx.window.start`: when that refresh started, less
   * `deltaOverlapMs`. Without
   * it, runs between refreshes read nothing.
   */
  delta?: StreamDef<S, A>['read'];
  /**
   * How far before the refresh's start the first delta after it begins (default 5 minutes): a change the
   * vendor indexed late, after the refresh had listed its entity, is read again rather than missed. The
   * states read twice are upserts of the same entity.
   */
  deltaOverlapMs?: number;
  /**
   * The delta continues from the full reader's last position (a change-tracking link: Microsoft Graph's
   * delta link ends a full round and asks for the changes since), instead of starting at a time.
   */
  continues?: boolean;
}

const DELTA_OVERLAP_MS = 5 * 60_000;

export interface ContextCheckpoint {
  /** The refresh in progress (`refresh`) or the last complete one (`delta`): the ISO time it started. */
  snapshot: string;
  phase: 'refresh' | 'delta';
  /** The inner reader's position (of the refresh, or of the deltas). */
  position?: unknown;
  /** Records delivered so far in the refresh in progress, or in the last complete one. */
  count: number;
  /**
   * Records of the refresh `snapshot` that became dead letters (invalid, or refused by a destination),
   * counted by the runner as it commits (`snapshotLedger`). A refresh with any is not complete: its marker
   * is withheld (the count stays through the deltas after it, until the next refresh).
   */
  deadLetters?: number;
}

/** The settings field of a context source: how often the full state is read again. */
export function refreshSetting(defaultEvery: string) {
  return z
    .string()
    .default(defaultEvery)
    .refine(
      (v) => {
        try {
          return parseDuration(v) >= 60_000;
        } catch {
          return false;
        }
      },
      { message: 'expected a duration of at least 1m such as 6h, 24h or 7d' },
    )
    .describe(
      `How often the full state is read again (a refresh ending with an end-of-snapshot marker); changes in between come as deltas where the vendor has them. Default ${defaultEvery}`,
    )
    .meta({ title: 'Full refresh every' });
}

export function contextStream<S, A>(def: ContextStreamDef<S, A>): StreamDef<S, A, ContextCheckpoint> {
  return {
    title: def.title,
    description: def.description,
    read: (ctx) => readContext(def, ctx),
    snapshots: snapshotLedger,
  };
}

/**
 * The dead letters of a refresh, counted in the checkpoint the runner commits (StreamDef.snapshots): the
 * count carries over while the snapshot id stays the same (across runs too: a refresh resumed after a
 * crash) and starts again at a new one. The runner withholds the end-of-snapshot marker of a refresh that
 * has any, so no destination drops an entity whose record was only dead-lettered.
 */
export const snapshotLedger: SnapshotLedger<ContextCheckpoint> = {
  count(next, last, deadLetters) {
    // Only the refresh's own records count (a delta's dead letter has no marker to withhold).
    const refreshing = next.phase === 'refresh' || last?.phase === 'refresh';
    const total =
      (sameSnapshot(last, next.snapshot) ? Number(last?.deadLetters) || 0 : 0) +
      (refreshing ? deadLetters : 0);
    const { deadLetters: _, ...rest } = next;
    return total > 0 ? { ...rest, deadLetters: total } : rest;
  },
  deadLetters: (last, snapshot) => (sameSnapshot(last, snapshot) ? Number(last?.deadLetters) || 0 : 0),
};

const sameSnapshot = (c: ContextCheckpoint | undefined, snapshot: string) =>
  typeof c === 'object' && c !== null && c.snapshot === snapshot;

/** The marker's entity: the stream's entity type, or `*` when its records are of several. */
const markerEntity = (def: ContextStreamDef<unknown, unknown>) =>
  typeof def.entity === 'string' ? def.entity : '*';

async function* readContext<S, A>(
  def: ContextStreamDef<S, A>,
  ctx: ReadContext<S, A, ContextCheckpoint>,
): AsyncGenerator<Batch<ContextCheckpoint>> {
  const saved = validCheckpoint(ctx.checkpoint);
  const now = ctx.now();
  const due =
    saved === undefined ||
    (saved.phase === 'delta' && now - Date.parse(saved.snapshot) >= def.refreshEvery(ctx.settings));
  if (due) {
    const state: ContextCheckpoint = { snapshot: new Date(now).toISOString(), phase: 'refresh', count: 0 };
    // The new refresh's id is committed before any of its records, so a crash before its first commit
    // resumes the same refresh (one snapshot id), not a new one whose id the records already written lack.
    yield { events: [], checkpoint: state };
    yield* refresh(def, ctx, state);
    return;
  }
  if (saved.phase === 'refresh') {
    yield* refresh(def, ctx, saved);
    return;
  }
  if (!def.delta) return;
  let position = saved.position;
  const inner = def.delta({
    ...ctx,
    checkpoint: position,
    window:
      position === undefined
        ? {
            ...ctx.window,
            start: new Date(
              Date.parse(saved.snapshot) - (def.deltaOverlapMs ?? DELTA_OVERLAP_MS),
            ).toISOString(),
          }
        : ctx.window,
  });
  for await (const batch of inner) {
    position = batch.checkpoint;
    yield tagged(def, batch, saved.snapshot, { ...saved, position }, ctx.now());
  }
}

async function* refresh<S, A>(
  def: ContextStreamDef<S, A>,
  ctx: ReadContext<S, A, ContextCheckpoint>,
  resumed: ContextCheckpoint,
): AsyncGenerator<Batch<ContextCheckpoint>> {
  let state = resumed;
  let { position, count } = state;
  for await (const batch of def.full({ ...ctx, checkpoint: position })) {
    position = batch.checkpoint;
    if (restarts.has(batch)) {
      // What the refresh delivered so far came from another state of the vendor's list: a new refresh
      // begins (a later id, committed before any of its records); the old one is never marked complete.
      const at = Math.max(ctx.now(), Date.parse(state.snapshot) + 1);
      state = { snapshot: new Date(at).toISOString(), phase: 'refresh', count: 0 };
      count = 0;
      ctx.log.info('the list changed while its refresh was interrupted; the refresh starts again', {
        snapshot: state.snapshot,
      });
      yield { events: [], checkpoint: { ...state, position } };
      continue;
    }
    count += batch.events.length;
    yield tagged(
      def,
      batch,
      state.snapshot,
      { snapshot: state.snapshot, phase: 'refresh', position, count },
      ctx.now(),
    );
  }
  // Every page of the refresh is in the batches above, which the runner commits in order before this one.
  const completedAt = new Date(ctx.now()).toISOString();
  const marker: RawEvent = {
    id: `end:${ctx.stream}:${state.snapshot}`,
    time: completedAt,
    raw: { snapshot: state.snapshot, stream: ctx.stream, records: count, completed_at: completedAt },
    context: {
      op: 'end',
      entity: markerEntity(def as ContextStreamDef<unknown, unknown>),
      snapshot: state.snapshot,
    },
  };
  yield {
    events: [marker],
    checkpoint: {
      snapshot: state.snapshot,
      phase: 'delta',
      position: def.continues ? position : undefined,
      count,
    },
  };
}

const restarts = new WeakSet<Batch>();

/**
 * The batch a full reader yields when the position it resumed from is no longer valid (the list it was
 * reading changed): the refresh starts again under a new snapshot id, at `position` (the reader's own
 * start). Only the batch itself carries the meaning; it has no records.
 */
export function restartSnapshot<C>(position: C): Batch<C> {
  const batch: Batch<C> = { events: [], checkpoint: position };
  restarts.add(batch);
  return batch;
}

/**
 * Position inside a list downloaded whole at each refresh: the rows consumed, and which download they
 * were of (`list`: the sha256 of its bytes), or `done`.
 */
export interface WholeListPosition {
  records: number;
  list?: string;
  done?: boolean;
}

/**
 * A full reader for a list the vendor serves whole (Recorded Future's risk lists): downloaded at each run
 * of the refresh, its rows delivered in parts. A refresh interrupted part-way resumes after the rows
 * already delivered only if the new download is the same list (the same sha256); a list that changed
 * in between starts the refresh again from its first row (`restartSnapshot`): skipping a count of rows
 * of another list would skip entities or deliver some twice.
 */
export async function* readWholeList(
  ctx: ReadContext,
  o: {
    download: ArtifactDownload;
    /** The list's rows in parts (artifact-list.ts `recordParts`), the first `skip` passed over. */
    parts(bytes: AsyncIterable<Uint8Array>, skip: number): AsyncIterable<ArtifactPart>;
  },
): AsyncGenerator<Batch<WholeListPosition>> {
  const saved = ctx.checkpoint as WholeListPosition | undefined;
  if (saved?.done) return;
  const file = await openArtifact(ctx, o.download);
  try {
    const list = `sha256:${file.sha256}`;
    let skip = saved?.records ?? 0;
    if (skip > 0 && saved?.list !== list) {
      skip = 0;
      yield restartSnapshot<WholeListPosition>({ records: 0, list });
    }
    yield* deliverArtifact<WholeListPosition>(
      o.parts(file.chunks(), skip),
      skip,
      (records) => ({ records, list }),
      () => ({ records: 0, done: true }),
    );
  } finally {
    await file.close();
  }
}

function tagged<S, A>(
  def: ContextStreamDef<S, A>,
  batch: Batch,
  snapshot: string,
  checkpoint: ContextCheckpoint,
  now: number,
): Batch<ContextCheckpoint> {
  const entityOf = typeof def.entity === 'string' ? () => def.entity as string : def.entity;
  return {
    ...batch,
    events: batch.events.map((e) => {
      const context: ContextFields = {
        op: def.op?.(e.raw, now) ?? 'upsert',
        entity: entityOf(e.raw),
        snapshot,
      };
      return { ...e, context };
    }),
    checkpoint,
  };
}

/**
 * A saved checkpoint of this shape, or undefined (a first run, a reset, or a position saved before the
 * stream became a context stream: a refresh starts, which is what a new context stream needs anyway).
 */
function validCheckpoint(value: unknown): ContextCheckpoint | undefined {
  const c = value as Partial<ContextCheckpoint> | undefined;
  if (!c || typeof c !== 'object') return undefined;
  if (typeof c.snapshot !== 'string' || !Number.isFinite(Date.parse(c.snapshot))) return undefined;
  if (c.phase !== 'refresh' && c.phase !== 'delta') return undefined;
  return { snapshot: c.snapshot, phase: c.phase, position: c.position, count: Number(c.count) || 0 };
}
