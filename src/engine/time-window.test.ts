import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TributaryError } from '../core/errors.ts';
import { silentLogger } from './log.ts';
import { type TimeWindowCheckpoint, type TimeWindowOptions, WindowTracker } from './time-window.ts';

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const min = 60_000;

function tracker(
  opts: Partial<TimeWindowOptions>,
  checkpoint?: TimeWindowCheckpoint,
  extra: { now?: number; retention?: string } = {},
) {
  const warnings: TributaryError[] = [];
  const t = new WindowTracker(
    { time: 'ts', lag: '1m', ...opts },
    {
      checkpoint,
      window: { lookbackMs: 60 * min },
      now: () => extra.now ?? T0,
      warn: (w) => warnings.push(w),
      log: silentLogger,
    },
    extra.retention,
  );
  return { t, warnings };
}

describe('WindowTracker', () => {
  it('starts at now − lookback and ends at now − lag', () => {
    const { t } = tracker({});
    const w = t.nextWindow()!;
    assert.equal(w.start.getTime(), T0 - 60 * min);
    assert.equal(w.end.getTime(), T0 - min);
  });

  it('ascending pages move `since` to the newest time and keep the ids at that time', () => {
    const { t } = tracker({});
    t.nextWindow();
    const t1 = T0 - 30 * min;
    const cp = t.afterPage(
      [
        { id: 'a', time: t1 - 1000 },
        { id: 'b', time: t1 },
        { id: 'c', time: t1 },
      ],
      { url: 'http://x/next' },
    );
    assert.equal(cp.since, new Date(t1).toISOString());
    assert.deepEqual(cp.seen?.map(([id]) => id).sort(), ['b', 'c']);
    assert.equal(
      cp.next,
      undefined,
      'oldest-first checkpoints re-query from since instead of storing vendor cursors',
    );
    // the last page completes the window: since jumps to its end
    const done = t.afterPage([{ id: 'd', time: t1 + 1000 }], undefined);
    assert.equal(done.since, new Date(T0 - min).toISOString());
    assert.equal(done.seen, undefined);
    assert.equal(t.nextWindow(), undefined, 'caught up');
  });

  it('a resumed tracker suppresses boundary ids', () => {
    const since = new Date(T0 - 10 * min).toISOString();
    const { t } = tracker({}, { since, seen: [['b', T0 - 10 * min]] });
    assert.equal(t.nextWindow()!.start.toISOString(), since);
    assert.equal(t.isSeen('b'), true);
    assert.equal(t.isSeen('z'), false);
  });

  it('overlap re-reads behind the watermark and keeps ids inside it', () => {
    const { t } = tracker({ overlap: '5m' }, { since: new Date(T0 - 10 * min).toISOString() });
    const w = t.nextWindow()!;
    assert.equal(w.start.getTime(), T0 - 15 * min);
    const cp = t.afterPage([{ id: 'x', time: T0 - 4 * min }], undefined);
    assert.deepEqual(cp.seen, [['x', T0 - 4 * min]], 'ids within overlap of the new since are kept');
  });

  it('newest-first windows keep the window and the next page until complete', () => {
    const { t } = tracker({ order: 'desc' }, { since: new Date(T0 - 10 * min).toISOString() });
    t.nextWindow();
    const cp = t.afterPage([{ id: 'n', time: T0 - 2 * min }], {
      url: 'http://x',
      query: { pageToken: 'p2' },
    });
    assert.equal(cp.since, new Date(T0 - 10 * min).toISOString(), 'since does not move mid-window');
    assert.equal(cp.end, new Date(T0 - min).toISOString());
    assert.deepEqual(cp.next, { url: 'http://x', query: { pageToken: 'p2' } });
    const { t: resumed } = tracker({ order: 'desc' }, cp);
    const w = resumed.nextWindow()!;
    assert.deepEqual(w.resume, cp.next);
    assert.equal(w.end.toISOString(), cp.end);
  });

  it('splits long spans into maxWindow windows and halves on demand', () => {
    const { t } = tracker({ maxWindow: '10m' });
    const w = t.nextWindow()!;
    assert.equal(w.end.getTime() - w.start.getTime(), 10 * min);
    assert.equal(t.split(), true);
    assert.equal(t.nextWindow()!.end.getTime() - w.start.getTime(), 5 * min);
  });

  it('warns of a gap when the checkpoint is older than the retention', () => {
    const { t, warnings } = tracker(
      {},
      { since: new Date(T0 - 100 * 86_400_000).toISOString() },
      { retention: '90d' },
    );
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].type, 'gap');
    assert.equal(warnings[0].code, 'checkpoint_beyond_retention');
    assert.equal(t.nextWindow()!.start.getTime(), T0 - 90 * 86_400_000);
  });

  it('caps the boundary id set', () => {
    const { t } = tracker({ overlap: '1h', maxSeen: 3 });
    t.nextWindow();
    const cp = t.afterPage(
      [1, 2, 3, 4, 5].map((i) => ({ id: `e${i}`, time: T0 - 50 * min + i })),
      undefined,
    );
    assert.equal(cp.seen?.length, 3);
    assert.deepEqual(
      cp.seen?.map(([id]) => id),
      ['e5', 'e4', 'e3'],
      'the newest are kept',
    );
  });
});
