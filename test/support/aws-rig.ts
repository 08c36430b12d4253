import assert from 'node:assert/strict';
import { after } from 'node:test';
import { aws, awsFields } from '../../src/accounts/aws.ts';
import type { Destination } from '../../src/core/destination.ts';
import type { ErrorInfo } from '../../src/core/errors.ts';
import type { SourceDef } from '../../src/core/source.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { RateLimits } from '../../src/engine/rate-limit.ts';
import { type ResolvedCollector, type RunOptions, runCollector } from '../../src/engine/runner.ts';
import { testConnection } from '../../src/engine/test-connection.ts';
import { type AwsAction, AwsObjectHttpSim } from '../../src/sim/aws-object-http.ts';
import { ManualClock } from '../../src/sim/kit.ts';
import { ObjectStoreSim, type ObjectStoreSimOptions } from '../../src/sim/object-store.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { duplicates, sorted } from './ids.ts';
import { MemoryDestination } from './memory-destination.ts';
import { tempDirs } from './temp-dirs.ts';

/** One AWS source's collector against the S3 + SQS HTTP simulator (SigV4 verified), on a fresh store. */
export interface AwsRig {
  sim: ObjectStoreSim;
  http: AwsObjectHttpSim;
  clock: ManualClock;
  dest: MemoryDestination;
  settings: Record<string, unknown>;
  run(extra?: Partial<RunOptions>, destinations?: Destination[]): ReturnType<typeof runCollector>;
}

export interface AwsRigOptions {
  source: SourceDef;
  /** The collector's name (its id is `c-<name>`). */
  name: string;
  /** The enabled stream (or streams, run in this order). */
  stream: string | string[];
  sim: Omit<ObjectStoreSimOptions, 'clock'>;
  http: { region: string; accountId: string; queueName?: string };
  /** The collector's settings before the source parses them (the queue URL is the simulator's). */
  settings: (http: AwsObjectHttpSim) => Record<string, unknown>;
  /** Account fields over the simulator's own. */
  account?: Record<string, unknown>;
  lookbackMs?: number;
}

/**
 * A rig factory for one test file: every rig it makes (stores and simulators) is closed after the
 * file's tests; each has its own account key, so rate budgets never carry over between rigs.
 */
export function awsRigs(prefix: string): (o: AwsRigOptions) => Promise<AwsRig> {
  const fresh = tempDirs(prefix);
  const stores: SqliteStore[] = [];
  const sims: AwsObjectHttpSim[] = [];
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(sims.map((s) => s.stop()));
  });
  return async (o) => {
    const clock = new ManualClock('2026-11-25T12:00:00.000Z');
    const sim = new ObjectStoreSim({ clock: clock.now, ...o.sim });
    const http = new AwsObjectHttpSim(sim, o.http);
    await http.start();
    sims.push(http);
    const store = await SqliteStore.open(fresh());
    stores.push(store);
    await store.migrate();
    const id = `c-${o.name}`;
    const at = new Date(clock.now()).toISOString();
    await store.putCollector({
      id,
      name: o.name,
      source: o.source.id,
      config: {},
      enabled: true,
      secrets: {},
      createdAt: at,
      updatedAt: at,
    });
    const settings = o.source.settings.parse(o.settings(http)) as Record<string, unknown>;
    const account = awsFields.parse(http.account(o.account));
    const dest = new MemoryDestination();
    const accountKey = `acc-${o.name}-${sims.length}`;
    const collector = (destinations: Destination[]): ResolvedCollector => ({
      id,
      name: o.name,
      source: o.source,
      accountKind: aws,
      account,
      accountKey,
      settings,
      streams: typeof o.stream === 'string' ? [o.stream] : o.stream,
      destinations,
      window: { lookbackMs: o.lookbackMs ?? 86_400_000 },
    });
    return {
      sim,
      http,
      clock,
      dest,
      settings,
      run: (extra = {}, destinations = [dest]) =>
        runCollector(collector(destinations), {
          store,
          log: silentLogger,
          rateLimits: new RateLimits(null),
          now: clock.now,
          destinationBackoff: { baseMs: 1, maxMs: 5 },
          http: { backoffBaseMs: 1 },
          ...extra,
        }),
    };
  };
}

/**
 * The object reader's crash check: for every batch boundary of a full run (`probe`), a fresh rig whose
 * destination writes batch k, then the process dies before acknowledging it; after the kill (and the
 * visibility timeout, when there is a queue) a second run completes. Nothing is lost; a duplicate can only
 * be an event of the batch in flight. Returns the number of batches checked.
 */
export async function crashAtEveryBatch(
  make: () => Promise<AwsRig>,
  fill: (sim: ObjectStoreSim) => unknown,
  o: { visibilityMs?: number; minBatches?: number } = {},
): Promise<number> {
  const probe = await make();
  fill(probe.sim);
  await probe.run();
  const batches = probe.dest.batches.length;
  assert.ok(batches >= (o.minBatches ?? 2), `several batches (${batches})`);
  for (let k = 1; k <= batches; k++) {
    const r = await make();
    fill(r.sim);
    const crash = new AbortController();
    let inFlight: string[] = [];
    const dest = new MemoryDestination();
    const crashing: Destination = {
      name: 'crashing',
      kind: 'memory',
      send: async (events) => {
        if (!crash.signal.aborted && dest.batches.length + 1 === k) {
          await dest.send(events);
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
    // A receive the killed run had sent acts at the time of the kill, before the clock moves.
    await r.http.settled();
    if (o.visibilityMs) r.clock.advance(o.visibilityMs + 1);
    const second = await r.run({}, [crashing]);
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    const ids = dest.ids();
    assert.deepEqual(sorted([...new Set(ids)]), sorted(probe.dest.ids()), `crash at batch ${k}: no loss`);
    for (const d of duplicates(ids)) assert.ok(inFlight.includes(d), `duplicate ${d} in flight`);
  }
  return batches;
}

/** The `n`th distinct message's DeleteMessage fails as if the process died just before it (0-based). */
export function loseDelete(r: AwsRig, n: number): void {
  const receipts: string[] = [];
  const del = r.sim.queue.delete;
  r.sim.queue.delete = async (receipt, o) => {
    if (!receipts.includes(receipt)) receipts.push(receipt);
    if (receipts.indexOf(receipt) === n) throw new Error('process killed before the delete');
    return del(receipt, o);
  };
}

/**
 * Test Connection: passes with every permission; with each `actions` denied it fails `aws_access_denied`
 * naming the action; with a wrong secret it fails `aws_invalid_credentials` without the secret. Returns
 * that last error for the source's own checks.
 */
export async function checkTestConnection(
  source: SourceDef,
  make: () => Promise<AwsRig>,
  fill: (sim: ObjectStoreSim) => unknown,
  actions: AwsAction[],
  streams: string[],
): Promise<ErrorInfo> {
  const r = await make();
  fill(r.sim);
  assert.deepEqual(
    await testConnection(source, aws, awsFields.parse(r.http.account()), r.settings, streams),
    {
      ok: true,
    },
  );
  for (const action of actions) {
    const h = await make();
    fill(h.sim);
    h.http.deny(action);
    const res = await testConnection(source, aws, awsFields.parse(h.http.account()), h.settings, streams);
    assert.equal(res.ok, false, `${action} denied`);
    if (res.ok) continue;
    assert.equal(res.error.code, 'aws_access_denied', JSON.stringify(res.error));
    assert.match(res.error.message, new RegExp(action));
  }
  const secret = 'not-the-secret';
  const wrong = await testConnection(
    source,
    aws,
    awsFields.parse(r.http.account({ secretAccessKey: secret })),
    r.settings,
    streams,
  );
  assert.equal(wrong.ok, false);
  if (wrong.ok) throw new Error('unreachable');
  assert.equal(wrong.error.code, 'aws_invalid_credentials');
  assert.ok(!JSON.stringify(wrong.error).includes(secret), 'no secret in the error');
  return wrong.error;
}
