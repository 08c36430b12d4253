import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryDestination } from '../../test/support/memory-destination.ts';
import { accountKinds } from '../accounts/index.ts';
import { defineSource, type Logger, type SourceDef } from '../core/source.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { createLogger, withFields } from './log.ts';
import { deadLetterReason, metrics, statusLabel } from './metrics.ts';
import { RateLimits } from './rate-limit.ts';
import { type ResolvedCollector, runCollector } from './runner.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** Event times the next run's source yields, one batch per entry; the checkpoint is the batch number. */
let batches: string[][] = [];

const timed: SourceDef = defineSource({
  id: 'timed',
  title: 'Timed',
  account: 'okta',
  stability: 'ga',
  family: 'rest-cursor',
  description: 'test',
  setupGuide: '',
  settings: { safeParse: (v: unknown) => ({ success: true, data: v }) } as never,
  async test() {},
  streams: {
    main: {
      title: 'main',
      async *read(ctx) {
        ctx.log.info('reading', { from: ctx.checkpoint ?? null });
        for (const [i, times] of batches.entries())
          yield {
            events: times.map((time, n) => ({ raw: { i, n }, id: `${time}-${n}`, time })),
            checkpoint: i + 1,
            pages: 1,
          };
      },
    },
  },
});

async function setup(log: Logger = createLogger({ level: 'silent' })) {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-metrics-'));
  dirs.push(dir);
  const store = await SqliteStore.open(dir);
  await store.migrate();
  await store.putCollector({
    id: 'c',
    name: 'lagging',
    source: 'timed',
    config: {},
    enabled: true,
    secrets: {},
    createdAt: iso(NOW),
    updatedAt: iso(NOW),
  });
  const dest = new MemoryDestination('mem');
  const collector: ResolvedCollector = {
    id: 'c',
    name: 'lagging',
    source: timed,
    accountKind: accountKinds.okta,
    account: {},
    accountKey: 'a',
    accountName: 'acct',
    settings: {},
    streams: ['main'],
    destinations: [dest],
    window: { lookbackMs: 0 },
  };
  const run = (o: { stop?: AbortSignal; now?: number } = {}) =>
    runCollector(collector, {
      store,
      log,
      rateLimits: new RateLimits(null),
      now: () => o.now ?? NOW,
      stop: o.stop,
    });
  const position = async () => (await store.listCheckpoints('c'))[0]?.positionTime;
  /** A soft stop requested while the next batch is being delivered: that batch commits, the run ends. */
  const stopAtNextSend = () => {
    const stop = new AbortController();
    dest.failOn(dest.batches.length + 1, () => stop.abort());
    return stop.signal;
  };
  return { store, dest, run, position, stopAtNextSend };
}

describe('label values come from closed sets', () => {
  it('status: the common codes by name, others by class, no answer as error', () => {
    assert.equal(statusLabel(200), '200');
    assert.equal(statusLabel(429), '429');
    assert.equal(statusLabel(503), '503');
    assert.equal(statusLabel(418), '4xx');
    assert.equal(statusLabel(599), '5xx');
    assert.equal(statusLabel(299), '2xx');
    assert.equal(statusLabel(undefined), 'error');
    assert.equal(statusLabel(1234), 'error');
  });

  it('dead-letter reasons: a class, never the text (which quotes file names and parser messages)', () => {
    assert.equal(deadLetterReason('record has no id where the source expects one'), 'missing_id');
    assert.equal(deadLetterReason('activity has no id.time and id.uniqueQualifier'), 'missing_id');
    assert.equal(deadLetterReason('truncated JSON: the body ends inside this value'), 'truncated');
    assert.equal(deadLetterReason('content abc-123: record 4 is not a JSON object'), 'not_an_object');
    assert.equal(
      deadLetterReason('not valid JSON: Unexpected token o in JSON at position 1'),
      'invalid_json',
    );
    assert.equal(deadLetterReason('log file file-0042.jsonl: Unterminated string'), 'invalid_json');
    assert.equal(deadLetterReason('something a vendor said: user@example.com'), 'other');
  });
});

describe('checkpoint lag: the event time the committed position has reached', () => {
  it('is the newest delivered event time while behind, now once caught up, never moved back by an overlap, and gone after a reset', async () => {
    const { store, run, position, stopAtNextSend } = await setup();
    // A backlog: the run is stopped after its first batch (events 3 h old), before the second.
    batches = [
      [iso(NOW - 4 * HOUR), iso(NOW - 3 * HOUR)],
      [iso(NOW - 2 * HOUR), iso(NOW - HOUR)],
    ];
    const first = await run({ stop: stopAtNextSend() });
    assert.equal(first.status, 'cancelled');
    assert.equal(first.events, 2, 'one batch delivered before the stop');
    assert.equal(await position(), iso(NOW - 3 * HOUR), 'the newest event time of what was committed');

    // The next run reads the rest and reaches the vendor's end: caught up as of the run's clock.
    batches = [[iso(NOW - 2 * HOUR), iso(NOW - HOUR)]];
    const second = await run({ now: NOW + 60_000 });
    assert.equal(second.status, 'succeeded');
    assert.equal(await position(), iso(NOW + 60_000));

    // A later run whose first batch re-reads an overlap of old events, and is stopped there: kept.
    batches = [[iso(NOW - 5 * HOUR)], [iso(NOW)]];
    await run({ stop: stopAtNextSend(), now: NOW + 120_000 });
    assert.equal(await position(), iso(NOW + 60_000), 'an overlap does not move the position back');

    // An event time ahead of our clock (a vendor's clock) counts as now, not as the future.
    batches = [[iso(NOW + 10 * HOUR)]];
    await run({ stop: stopAtNextSend(), now: NOW + 180_000 });
    assert.equal(await position(), iso(NOW + 180_000));

    await store.resetCheckpoint('c');
    batches = [];
    await run({ now: NOW + 240_000 });
    assert.equal(await position(), undefined, 'no position, no lag, until a batch is committed again');
  });
});

describe('logs of a run', () => {
  it('every line names the collector, source, stream and run, including the source’s own', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log: Logger = Object.fromEntries(
      (['debug', 'info', 'warn', 'error'] as const).map((level) => [
        level,
        (msg: string, fields?: Record<string, unknown>) => lines.push({ level, msg, ...fields }),
      ]),
    ) as unknown as Logger;
    const { run } = await setup(log);
    batches = [[iso(NOW - HOUR)]];
    const r = await run();
    const fromSource = lines.find((l) => l.msg === 'reading');
    assert.ok(fromSource, JSON.stringify(lines));
    for (const l of lines)
      assert.deepEqual(
        { collector: l.collector, source: l.source, stream: l.stream, run: l.run },
        { collector: 'lagging', source: 'timed', stream: 'main', run: r.runId },
        JSON.stringify(l),
      );
  });

  it('TRIBUTARY_DEBUG_COLLECTORS: debug lines of the named collectors only, at any level', () => {
    const written: string[] = [];
    const sink = { write: (s: string) => written.push(s) };
    const log = createLogger({ level: 'info', debugCollectors: new Set(['noisy']), destination: sink });
    withFields(log, { collector: 'noisy' }).debug('page fetched', { page: 1 });
    withFields(log, { collector: 'quiet' }).debug('page fetched', { page: 1 });
    log.debug('no collector');
    log.info('info still written');
    const parsed = written.map((l) => JSON.parse(l));
    assert.deepEqual(
      parsed.map((l) => [l.level, l.msg, l.collector]),
      [
        [20, 'page fetched', 'noisy'],
        [30, 'info still written', undefined],
      ],
    );
    assert.throws(() => createLogger({ level: 'loud' }), /TRIBUTARY_LOG_LEVEL: expected one of/);
  });
});

describe('the runner counts what it delivers', () => {
  it('events and bytes per destination, runs by result', async () => {
    const { run } = await setup();
    const labels = { collector: 'lagging', source: 'timed', stream: 'main', destination: 'mem' };
    const before = async (name: string, l: Record<string, string>) =>
      (await metrics.registry.getSingleMetric(name)!.get()).values.find(
        (v) => JSON.stringify(Object.entries(v.labels).sort()) === JSON.stringify(Object.entries(l).sort()),
      )?.value ?? 0;
    const events0 = await before('tributary_events_delivered_total', labels);
    const runs0 = await before('tributary_runs_total', { collector: 'lagging', result: 'succeeded' });
    batches = [[iso(NOW - HOUR), iso(NOW - HOUR + 1)], [iso(NOW - 1)]];
    const r = await run();
    assert.equal(r.status, 'succeeded');
    assert.equal((await before('tributary_events_delivered_total', labels)) - events0, 3);
    assert.equal(
      (await before('tributary_runs_total', { collector: 'lagging', result: 'succeeded' })) - runs0,
      1,
    );
    assert.ok((await before('tributary_bytes_delivered_total', labels)) >= r.bytes);
  });
});
