import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import type { TributaryError } from '../core/errors.ts';
import type { Batch, HttpClient, ReadContext } from '../core/source.ts';
import {
  type ArtifactWindowCheckpoint,
  type ArtifactWindowOptions,
  readArtifactWindows,
} from './artifact-window.ts';
import type { PageRequest } from './paginate.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const min = 60_000;
const hour = 60 * min;

interface Artifact {
  id: string;
  time: number;
  records: string[];
  /** Listed only from this time on (a vendor listing it late). */
  listedFrom?: number;
}

/** A fake vendor: artifacts listed `pageSize` at a time by an offset in the page request, in `order`. */
class Vendor {
  artifacts: Artifact[] = [];
  listings: Array<{ start: number; end: number }> = [];
  fetches: string[] = [];
  now = T0;
  loop = false;
  private readonly pageSize: number;
  private readonly order: 'asc' | 'desc';
  constructor(pageSize = 2, order: 'asc' | 'desc' = 'asc') {
    this.pageSize = pageSize;
    this.order = order;
  }

  add(id: string, time: number, n: number, listedFrom?: number): void {
    this.artifacts.push({ id, time, records: Array.from({ length: n }, (_, i) => `${id}#${i}`), listedFrom });
  }

  all(): string[] {
    return this.artifacts.flatMap((a) => a.records);
  }

  options(extra: Partial<ArtifactWindowOptions<Artifact>> = {}): ArtifactWindowOptions<Artifact> {
    return {
      lag: '2m',
      overlap: '30m',
      firstPage: (w) => ({
        url: 'http://vendor/list',
        query: { start: w.start.getTime(), end: w.end.getTime(), offset: 0 },
      }),
      listPage: async (req: PageRequest) => {
        const q = req.query as { start: number; end: number; offset: number };
        if (q.offset === 0) this.listings.push({ start: q.start, end: q.end });
        const matching = this.artifacts
          .filter((a) => a.time >= q.start && a.time < q.end && (a.listedFrom ?? 0) <= this.now)
          .sort((a, b) => (this.order === 'asc' ? a.time - b.time : b.time - a.time));
        const artifacts = matching.slice(q.offset, q.offset + this.pageSize);
        const more = q.offset + this.pageSize < matching.length;
        const next = this.loop
          ? req
          : more
            ? { ...req, query: { ...q, offset: q.offset + this.pageSize } }
            : undefined;
        return { artifacts, next };
      },
      id: (a) => a.id,
      time: (a) => a.time,
      fetch: (a, skip) => this.fetch(a, skip),
      ...extra,
    };
  }

  private async *fetch(a: Artifact, skip: number) {
    this.fetches.push(`${a.id}@${skip}`);
    for (let i = skip; i < a.records.length; i += 2) {
      const part = a.records.slice(i, i + 2);
      yield { events: part.map((r) => ({ raw: { r }, id: r })), records: part.length };
    }
  }
}

const noHttp = {} as HttpClient;

async function run(
  vendor: Vendor,
  checkpoint?: ArtifactWindowCheckpoint,
  extra: Partial<ArtifactWindowOptions<Artifact>> = {},
  over: Partial<ReadContext> = {},
) {
  const warnings: TributaryError[] = [];
  const batches: Batch<ArtifactWindowCheckpoint>[] = [];
  const ctx = readContext(noHttp, {
    checkpoint,
    now: () => vendor.now,
    window: { lookbackMs: 2 * hour },
    warn: (w) => warnings.push(w),
    ...over,
  });
  for await (const b of readArtifactWindows(ctx, vendor.options(extra))) batches.push(b);
  return {
    batches,
    ids: batches.flatMap((b) => b.events.map((e) => e.id!)),
    checkpoint: batches.at(-1)?.checkpoint,
    warnings,
  };
}

describe('readArtifactWindows', () => {
  it('lists a window completely, then delivers its artifacts oldest first whatever the listing order', async () => {
    const v = new Vendor(2, 'desc');
    v.add('c', T0 - 10 * min, 3);
    v.add('a', T0 - 50 * min, 2);
    v.add('b', T0 - 30 * min, 5);
    const r = await run(v);
    assert.deepEqual(r.ids, ['a#0', 'a#1', 'b#0', 'b#1', 'b#2', 'b#3', 'b#4', 'c#0', 'c#1', 'c#2']);
    assert.deepEqual(v.fetches, ['a@0', 'b@0', 'c@0']);
    assert.equal(r.checkpoint?.since, new Date(T0 - 2 * min).toISOString());
    assert.equal(r.checkpoint?.artifact, undefined);
    // Parts of one artifact carry its position; its last part the position after it.
    const b = r.batches.filter((x) => x.events.some((e) => String(e.id).startsWith('b')));
    assert.deepEqual(
      b.map((x) => x.checkpoint.artifact),
      [{ id: 'b', records: 2 }, { id: 'b', records: 4 }, undefined],
    );
    assert.equal(b.at(-1)?.checkpoint.since, new Date(T0 - 30 * min).toISOString());
    assert.equal(b.at(-1)?.pages, 1);
  });

  it('resumes inside an artifact after a restart, and skips artifacts already delivered', async () => {
    const v = new Vendor();
    v.add('a', T0 - 50 * min, 2);
    v.add('b', T0 - 30 * min, 5);
    v.add('c', T0 - 10 * min, 1);
    const first = await run(v);
    // The crash came after the batch holding b#2..b#3 was committed.
    const at = first.batches.find((x) => x.checkpoint.artifact?.records === 4)!.checkpoint;
    v.fetches = [];
    const second = await run(v, at);
    assert.deepEqual(second.ids, ['b#4', 'c#0']);
    assert.deepEqual(v.fetches, ['b@4', 'c@0']);
  });

  it('lists the overlap again: an artifact listed late is delivered once, the others are not repeated', async () => {
    const v = new Vendor();
    v.add('a', T0 - 40 * min, 2);
    v.add('late', T0 - 20 * min, 2, T0 + 5 * min);
    const first = await run(v);
    assert.deepEqual(first.ids, ['a#0', 'a#1']);
    v.now = T0 + 10 * min;
    v.add('b', T0 + 5 * min, 1);
    const second = await run(v, first.checkpoint);
    assert.deepEqual(second.ids, ['late#0', 'late#1', 'b#0']);
    assert.equal(v.listings.at(-1)?.start, T0 - 2 * min - 30 * min, 'the window starts an overlap early');
    v.now = T0 + 15 * min;
    assert.deepEqual((await run(v, second.checkpoint)).ids, []);
  });

  it('keeps every listing within the vendor’s span, overlap included', async () => {
    const v = new Vendor();
    for (let i = 0; i < 10; i++) v.add(`x${i}`, T0 - 10 * hour + 30 * min + i * hour, 1);
    const r = await run(v, undefined, { maxSpan: '4h' }, { window: { lookbackMs: 10 * hour } });
    assert.equal(r.ids.length, 10);
    assert.ok(v.listings.length >= 3);
    for (const l of v.listings) assert.ok(l.end - l.start <= 4 * hour, `${(l.end - l.start) / hour} h`);
    await assert.rejects(
      run(new Vendor(), undefined, { maxSpan: '40m' }),
      (e: TributaryError) => e.code === 'overlap_too_large' && e.type === 'config',
    );
  });

  it('moves a position older than the vendor lists forward with a gap warning', async () => {
    const v = new Vendor();
    v.add('old', T0 - 8 * 24 * hour, 1);
    v.add('new', T0 - 3 * 24 * hour, 1);
    const r = await run(
      v,
      { since: new Date(T0 - 9 * 24 * hour).toISOString() },
      { retention: '7d', maxSpan: '24h' },
    );
    assert.deepEqual(r.ids, ['new#0']);
    assert.equal(r.warnings[0]?.code, 'checkpoint_beyond_retention');
    assert.equal(r.warnings[0]?.type, 'gap');
    const oldest = Math.min(...v.listings.map((l) => l.start));
    assert.equal(
      oldest,
      T0 - 7 * 24 * hour + 10 * min,
      'the first listing starts 7 days minus the margin back',
    );
    // A first run's lookback beyond the limit is shortened without a warning.
    const fresh = await run(
      new Vendor(),
      undefined,
      { retention: '7d' },
      { window: { lookbackMs: 30 * 24 * hour } },
    );
    assert.deepEqual(fresh.warnings, []);
  });

  it('halves a window that lists too many artifacts', async () => {
    const v = new Vendor(50);
    for (let i = 0; i < 40; i++) v.add(`a${String(i).padStart(2, '0')}`, T0 - 100 * min + i * 2 * min, 1);
    const r = await run(v, undefined, { maxArtifacts: 15 });
    assert.equal(r.ids.length, 40);
    assert.equal(new Set(r.ids).size, 40);
    assert.ok(v.listings.length > 3, `${v.listings.length} listings`);
  });

  it('stops on a listing whose next page repeats', async () => {
    const v = new Vendor();
    v.add('a', T0 - 10 * min, 1);
    v.add('b', T0 - 9 * min, 1);
    v.add('c', T0 - 8 * min, 1);
    v.loop = true;
    await assert.rejects(run(v), (e: TributaryError) => e.code === 'pagination_loop');
  });
});
