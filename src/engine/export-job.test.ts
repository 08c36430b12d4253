import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readContext } from '../../test/support/read-context.ts';
import { TributaryError } from '../core/errors.ts';
import type { Batch, HttpClient } from '../core/source.ts';
import { recordParts } from './artifact-list.ts';
import {
  type ExportJobCheckpoint,
  type ExportJobOptions,
  type ExportJobStatus,
  readExportJob,
} from './export-job.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

/** A vendor whose job answers the given statuses in turn (the last one repeats), chunks of 3 records. */
function vendor(statuses: ExportJobStatus[], o: Partial<ExportJobOptions> = {}) {
  const started: Date[] = [];
  let polls = 0;
  const opts: ExportJobOptions = {
    what: 'test export',
    start: async (since) => {
      started.push(since);
      return `job-${started.length}`;
    },
    status: async () => statuses[Math.min(polls++, statuses.length - 1)],
    fetch: (id, chunk, skip) =>
      recordParts(
        [0, 1, 2].map((i) => `${id}/${chunk}/${i}`),
        { skip, maxEvents: 2, maxBytes: 1e9, record: (r) => ({ event: { id: r, raw: r }, bytes: 1 }) },
      ),
    pollMs: 1,
    maxWaitMs: 50,
    ...o,
  };
  return { opts, started, polls: () => polls };
}

async function run(opts: ExportJobOptions, checkpoint?: ExportJobCheckpoint, stopAfter?: number) {
  const ctx = readContext({} as HttpClient, {
    checkpoint,
    now: () => T0,
    window: { lookbackMs: 3_600_000 },
  });
  const batches: Batch<ExportJobCheckpoint>[] = [];
  try {
    for await (const b of readExportJob(ctx, opts)) {
      batches.push(b);
      if (stopAfter !== undefined && batches.length >= stopAfter) break;
    }
  } catch (err) {
    return { batches, err, ids: batches.flatMap((b) => b.events.map((e) => e.id)) };
  }
  return { batches, err: undefined, ids: batches.flatMap((b) => b.events.map((e) => e.id)) };
}

describe('readExportJob', () => {
  it('saves the job before any chunk, delivers each chunk as it becomes available, then moves since', async () => {
    const v = vendor([
      { state: 'running', chunks: [] },
      { state: 'running', chunks: ['1'] },
      { state: 'finished', chunks: ['1', '2'] },
    ]);
    const r = await run(v.opts);
    assert.deepEqual(r.batches[0], {
      events: [],
      checkpoint: {
        since: '2026-11-25T11:00:00.000Z',
        job: { id: 'job-1', until: '2026-11-25T12:00:00.000Z' },
        done: [],
      },
    });
    assert.deepEqual(r.ids, ['job-1/1/0', 'job-1/1/1', 'job-1/1/2', 'job-1/2/0', 'job-1/2/1', 'job-1/2/2']);
    assert.deepEqual(r.batches.at(-1)?.checkpoint, { since: '2026-11-25T12:00:00.000Z' });
    assert.equal(v.started[0].toISOString(), '2026-11-25T11:00:00.000Z');
  });

  it('resumes the saved job inside a chunk after a crash, without asking a new export', async () => {
    const v = vendor([{ state: 'finished', chunks: ['1', '2'] }]);
    const first = await run(v.opts, undefined, 2); // the job, then the first part of chunk 1
    assert.deepEqual(first.ids, ['job-1/1/0', 'job-1/1/1']);
    const cp = first.batches.at(-1)!.checkpoint;
    assert.deepEqual(cp.file, { id: '1', records: 2 });
    const again = await run(v.opts, cp);
    assert.deepEqual(again.ids, ['job-1/1/2', 'job-1/2/0', 'job-1/2/1', 'job-1/2/2']);
    assert.equal(v.started.length, 1, 'the saved job is polled again');
  });

  it('leaves a job still running after the wait budget for the next run', async () => {
    let t = 0;
    const v = vendor([{ state: 'running', chunks: [] }], { clock: () => (t += 20), maxWaitMs: 50 });
    const r = await run(v.opts);
    assert.equal(r.err, undefined);
    assert.deepEqual(r.batches.at(-1)?.checkpoint.job?.id, 'job-1');
    assert.ok(v.polls() >= 2 && v.polls() < 10);
  });

  it('drops a failed or expired job so the next run asks again from the same since', async () => {
    const failed = await run(vendor([{ state: 'failed', chunks: [], detail: 'ERROR' }]).opts);
    assert.equal((failed.err as TributaryError).code, 'export_failed');
    assert.deepEqual(failed.batches.at(-1)?.checkpoint, { since: '2026-11-25T11:00:00.000Z' });
    const gone = vendor([], {
      status: async () => {
        throw new TributaryError({
          type: 'config',
          code: 'not_found',
          message: 'gone',
          action: 'x',
          status: 404,
        });
      },
      gone: (e) => e.status === 404,
    });
    const cp = {
      since: '2026-11-25T10:00:00.000Z',
      job: { id: 'old', until: '2026-11-25T11:00:00.000Z' },
      done: ['1'],
    };
    const r = await run(gone.opts, cp);
    assert.equal((r.err as TributaryError).code, 'export_expired');
    assert.deepEqual(r.batches.at(-1)?.checkpoint, { since: '2026-11-25T10:00:00.000Z' });
  });

  it('with a boundary, asks the next export from the end less the overlap and skips what it lists again', async () => {
    const at: Record<string, number> = {};
    const v = vendor([{ state: 'finished', chunks: ['1'] }], {
      boundary: { overlapMs: 60_000, indexedAt: (e) => at[e.id as string] },
    });
    at['job-1/1/1'] = T0 - 30_000; // indexed inside the last minute before the export was asked
    at['job-1/1/2'] = T0 - 10_000;
    const first = await run(v.opts);
    const end = first.batches.at(-1)!.checkpoint;
    assert.deepEqual(end, { since: '2026-11-25T11:59:00.000Z', seen: ['job-1/1/1', 'job-1/1/2'] });
    // The second export lists the same chunk ids (its job is job-2): the ids it shares with `seen` are skipped.
    const again = await run(
      { ...v.opts, fetch: (_id, chunk, skip) => v.opts.fetch('job-1', chunk, skip) },
      end,
    );
    assert.deepEqual(again.ids, ['job-1/1/0']);
    assert.equal(v.started[1].toISOString(), '2026-11-25T11:59:00.000Z');
  });
});
