import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { accountKinds } from '../../src/accounts/index.ts';
import { validateSettings } from '../../src/config/config-file.ts';
import type { Destination } from '../../src/core/destination.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { RateLimits } from '../../src/engine/rate-limit.ts';
import { type ResolvedCollector, type RunOptions, runCollector } from '../../src/engine/runner.ts';
import { ManualClock } from '../../src/sim/kit.ts';
import { sources } from '../../src/sources/index.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { duplicates, sorted } from '../support/ids.ts';
import { MemoryDestination } from '../support/memory-destination.ts';
import type { ConformanceHarness, HarnessSim } from './harness.ts';
import { harnesses } from './harnesses.ts';

/**
 * The conformance suite (docs/architecture.md, "Tests: simulators and the conformance suite"): every source, the same checks, against its simulator and the real
 * runner and store. A source that cannot meet a check declares why in its harness' `exemptions`.
 */

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Rig {
  sim: HarnessSim;
  clock: ManualClock;
  store: SqliteStore;
  dest: MemoryDestination;
  run(extra?: Partial<RunOptions>, destinations?: Destination[]): ReturnType<typeof runCollector>;
  close(): Promise<void>;
}

async function rig(
  h: ConformanceHarness,
  o: { pages?: number; pageSize?: number; eventBytes?: number } = {},
): Promise<Rig> {
  const clock = new ManualClock(T0);
  const sim = await h.start({
    clock,
    pages: o.pages ?? 4,
    pageSize: o.pageSize ?? 25,
    eventBytes: o.eventBytes,
  });
  const dir = mkdtempSync(join(tmpdir(), 'tributary-conf-'));
  dirs.push(dir);
  const store = await SqliteStore.open(dir);
  await store.migrate();
  const source = sources[h.sourceId];
  const checked = validateSettings(h.sourceId, sim.settings);
  if (!checked.ok) throw new Error(`harness settings invalid: ${checked.issues.join('; ')}`);
  const now = new Date(T0).toISOString();
  await store.putCollector({
    id: 'c-conf',
    name: 'conf',
    source: h.sourceId,
    account: 'acc',
    config: {},
    enabled: true,
    secrets: {},
    createdAt: now,
    updatedAt: now,
  });
  const dest = new MemoryDestination();
  const collector = (destinations: Destination[]): ResolvedCollector => ({
    id: 'c-conf',
    name: 'conf',
    source,
    accountKind: accountKinds[sim.accountKind ?? source.account],
    account: sim.account,
    accountKey: 'acc',
    settings: checked.settings,
    streams: sim.streams ?? source.defaultStreams?.(checked.settings as never) ?? Object.keys(source.streams),
    destinations,
    window: { lookbackMs: 2 * 3_600_000 },
  });
  return {
    sim,
    clock,
    store,
    dest,
    run: (extra = {}, destinations = [dest]) =>
      runCollector(collector(destinations), {
        store,
        log: silentLogger,
        rateLimits: new RateLimits(null),
        now: clock.now,
        http: { backoffBaseMs: 1, backoffMaxMs: 5 },
        destinationBackoff: { baseMs: 1, maxMs: 5 },
        ...extra,
      }),
    close: async () => {
      await sim.stop();
      await store.close();
    },
  };
}

for (const h of harnesses) {
  const exempt = (check: keyof NonNullable<ConformanceHarness['exemptions']>) => h.exemptions?.[check];
  /**
   * A check, or, for a source that cannot meet it, the declared exemption: a test that passes only when
   * the reason is given (a report shows every exemption with its reason; nothing is silently skipped).
   */
  const check = (
    name: string,
    key: keyof NonNullable<ConformanceHarness['exemptions']>,
    fn: () => Promise<void>,
  ) => {
    const reason = exempt(key);
    if (reason === undefined) return it(name, fn);
    return it(`${name}: exempt, ${reason}`, () => {
      assert.ok(reason.trim().length >= 20, `the ${key} exemption explains itself`);
    });
  };

  describe(`conformance: ${h.sourceId}${h.label ? ` (${h.label})` : ''}`, () => {
    it('delivers the exact event set after a full drain, once each, and nothing on a second run', async () => {
      const r = await rig(h);
      const res = await r.run();
      assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
      assert.deepEqual(sorted(r.dest.recordIds()), sorted(r.sim.expectedIds()));
      assert.deepEqual(duplicates(r.dest.recordIds()), []);
      assert.ok(r.sim.expectedIds().length >= 50, 'the harness serves a meaningful amount of data');
      if (sources[h.sourceId].family === 'context') {
        // A context source's first drain is a refresh: one end-of-snapshot marker per context stream, after
        // its records (a context source may also have event streams: STIX objects other than indicators).
        const streams = [
          ...new Set(r.dest.events.filter((e) => e.kind === 'context').map((e) => e.stream)),
        ].sort();
        assert.ok(streams.length > 0, 'a context source delivers context records');
        assert.deepEqual(
          r.dest
            .markers()
            .map((m) => m.stream)
            .sort(),
          streams,
        );
        for (const m of r.dest.markers()) {
          const own = r.dest.events.filter((e) => e.stream === m.stream);
          assert.equal(own.at(-1), m, `the marker of ${m.stream} comes last`);
          assert.ok(own.every((e) => e.kind === 'context' && e.snapshot === m.snapshot));
        }
      } else assert.deepEqual(r.dest.markers(), [], 'events are not context records');
      const again = await r.run();
      assert.equal(again.events, 0);
      assert.deepEqual(r.sim.writeCalls(), [], 'no write calls to the vendor');
      assert.deepEqual(r.sim.credentialLeaks(), []);
      const e = r.dest.events[0];
      assert.equal(e.source, h.sourceId);
      assert.equal(e.collector, 'conf');
      assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      await r.close();
    });

    it('resumes after a crash at every batch boundary without loss; duplicates only from the batch in flight', async () => {
      const probe = await rig(h);
      await probe.run();
      const batches = probe.dest.batches.length;
      await probe.close();
      assert.ok(batches >= 3, `needs several batches to be meaningful (got ${batches})`);
      for (let k = 1; k <= batches; k++) {
        for (const written of [false, true]) {
          const r = await rig(h);
          const crash = new AbortController();
          let inFlight: string[] = [];
          const dest = new MemoryDestination();
          const crashing: Destination = {
            name: 'crashing',
            kind: 'memory',
            send: async (events) => {
              if (!crash.signal.aborted && dest.batches.length + 1 === k) {
                if (written) await dest.send(events); // the destination wrote it, the ack never arrived
                inFlight = events.map((e) => e.id);
                crash.abort();
                throw new Error('process killed');
              }
              return dest.send(events);
            },
            close: async () => {},
          };
          const first = await r.run({ signal: crash.signal }, [crashing]);
          assert.equal(first.status, 'cancelled');
          const second = await r.run({}, [crashing]);
          assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
          const ids = dest.recordIds();
          assert.deepEqual(
            sorted([...new Set(ids)]),
            sorted(r.sim.expectedIds()),
            `crash at batch ${k}: no loss`,
          );
          const dups = duplicates(ids);
          if (!written) assert.deepEqual(dups, [], `crash at batch ${k} before the write: no duplicates`);
          else
            for (const d of dups)
              assert.ok(inFlight.includes(d), `duplicate ${d} is from the batch in flight`);
          await r.close();
        }
      }
    });

    it('honours 429 with Retry-After', async () => {
      const r = await rig(h);
      r.sim.inject({ kind: 'rate-limit', retryAfter: 1, path: r.sim.pagePath, afterRequests: 1 });
      const before = r.sim.requestCount();
      const res = await r.run();
      assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
      assert.deepEqual(sorted(r.dest.recordIds()), sorted(r.sim.expectedIds()));
      assert.ok(r.sim.requestCount() > before);
      await r.close();
    });

    it('rides out a burst of 5xx', async () => {
      const r = await rig(h);
      r.sim.inject({ kind: 'status', status: 503, path: r.sim.pagePath, times: 3, afterRequests: 1 });
      r.sim.inject({ kind: 'status', status: 500, path: r.sim.pagePath, times: 1, afterRequests: 2 });
      const res = await r.run();
      assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
      assert.deepEqual(sorted(r.dest.recordIds()), sorted(r.sim.expectedIds()));
      await r.close();
    });

    it('re-authorises once on a 401 mid-pagination; a lasting 401 stops with a config error and resumes later', async () => {
      const r = await rig(h);
      r.sim.inject({ kind: 'status', status: 401, path: r.sim.pagePath, times: 1, afterRequests: 1 });
      const res = await r.run();
      assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
      assert.deepEqual(sorted(r.dest.recordIds()), sorted(r.sim.expectedIds()));
      await r.close();

      const r2 = await rig(h);
      r2.sim.inject({ kind: 'status', status: 401, path: r2.sim.pagePath, times: 1000, afterRequests: 2 });
      const failed = await r2.run();
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error?.type, 'config');
      assert.ok(failed.error?.action && failed.error.action.length > 20, 'a recommended action');
      const errors = await r2.store.listErrors('c-conf');
      assert.ok(errors.some((e) => e.status === 401));
      const got = r2.dest.recordIds().length;
      assert.ok(got > 0 && got < r2.sim.expectedIds().length, 'stopped part-way');
      await r2.close();
      const r3 = await rig(h);
      r3.sim.inject({ kind: 'status', status: 401, path: r3.sim.pagePath, times: 2, afterRequests: 2 }); // the request and its one re-authorised retry
      assert.equal((await r3.run()).status, 'failed');
      const resumed = await r3.run();
      assert.equal(resumed.status, 'succeeded', JSON.stringify(resumed.error));
      assert.deepEqual(sorted(r3.dest.recordIds()), sorted(r3.sim.expectedIds()));
      assert.deepEqual(duplicates(r3.dest.recordIds()), []);
      await r3.close();
    });

    check('replaces an access token that expires in the middle of a run', 'token-refresh', async () => {
      const r = await rig(h, { pages: 12 });
      const { expireTokens, tokensIssued } = r.sim;
      assert.ok(
        expireTokens && tokensIssued,
        'the harness expires its tokens, or declares the token-refresh exemption with the reason',
      );
      let atExpiry: number | undefined;
      // After the first batch is delivered the vendor refuses every token issued so far (read-ahead
      // has not reached the end of 12 pages: later requests need a token).
      const expiring: Destination = {
        name: 'expiring',
        kind: 'memory',
        send: async (events) => {
          await r.dest.send(events);
          if (atExpiry === undefined) {
            atExpiry = tokensIssued();
            expireTokens();
          }
        },
        close: async () => {},
      };
      const res = await r.run({}, [expiring]);
      assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
      assert.deepEqual(sorted(r.dest.recordIds()), sorted(r.sim.expectedIds()));
      assert.deepEqual(duplicates(r.dest.recordIds()), []);
      assert.ok(atExpiry !== undefined && tokensIssued() > atExpiry, 'a new token was asked for');
      const errors = await r.store.listErrors('c-conf');
      assert.deepEqual(
        errors.filter((e) => e.status === 401),
        [],
        'the refresh is invisible: no 401 reaches the collector',
      );
      await r.close();
    });

    it('handles empty and truncated pages', async () => {
      const r = await rig(h);
      r.sim.inject({ kind: 'truncate', path: r.sim.pagePath, afterRequests: 1 });
      if (!exempt('empty-pages')) r.sim.inject({ kind: 'empty', path: r.sim.pagePath, afterRequests: 2 });
      r.sim.inject({ kind: 'reset', path: r.sim.pagePath, afterRequests: 3 });
      const res = await r.run();
      assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
      r.clock.advance(5 * 60_000);
      assert.equal((await r.run()).status, 'succeeded');
      assert.deepEqual(sorted(r.dest.recordIds()), sorted(r.sim.expectedIds()));
      assert.deepEqual(duplicates(r.dest.recordIds()), []);
      await r.close();
    });

    check('collects events indexed late, inside the lag', 'late-events', async () => {
      const r = await rig(h);
      assert.equal((await r.run()).status, 'succeeded');
      r.sim.addEvents(20, { agoMs: 20_000, visibleDelayMs: 15_000 });
      assert.equal((await r.run()).status, 'succeeded');
      r.clock.advance(3 * 60_000);
      r.sim.addEvents(10, { agoMs: 10_000 });
      r.clock.advance(3 * 60_000);
      assert.equal((await r.run()).status, 'succeeded');
      assert.deepEqual(sorted(r.dest.recordIds()), sorted(r.sim.expectedIds()));
      assert.deepEqual(duplicates(r.dest.recordIds()), []);
      await r.close();
    });

    check('stops on a pagination loop instead of looping, and resumes cleanly', 'loop-guard', async () => {
      const r = await rig(h);
      r.sim.loop(true);
      const res = await r.run();
      assert.equal(res.status, 'failed');
      assert.equal(res.error?.code, 'pagination_loop');
      r.sim.loop(false);
      const again = await r.run();
      assert.equal(again.status, 'succeeded', JSON.stringify(again.error));
      assert.deepEqual(sorted([...new Set(r.dest.recordIds())]), sorted(r.sim.expectedIds()));
      await r.close();
    });

    check('keeps memory bounded on huge pages', 'huge-pages', async () => {
      const r = await rig(h, { pages: 12, pageSize: 400, eventBytes: 20_000 }); // ≈ 8 MB a page, ≈ 100 MB in all
      let count = 0;
      let peak = 0;
      const base = process.memoryUsage().rss;
      const counting: Destination = {
        name: 'count',
        kind: 'memory',
        send: async (events) => {
          count += events.filter((e) => e.op !== 'end').length; // end-of-snapshot markers are no records
          peak = Math.max(peak, process.memoryUsage().rss - base);
        },
        close: async () => {},
      };
      const res = await r.run({}, [counting]);
      assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
      assert.equal(count, r.sim.expectedIds().length);
      assert.ok(res.bytes > 80 * 1024 * 1024, `moved ${res.bytes} bytes`);
      assert.ok(peak < 400 * 1024 * 1024, `peak RSS growth ${Math.round(peak / 1048576)} MB stays bounded`);
      await r.close();
    });
  });
}
