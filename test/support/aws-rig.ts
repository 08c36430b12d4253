import { after } from 'node:test';
import { aws, awsFields } from '../../src/accounts/aws.ts';
import type { Destination } from '../../src/core/destination.ts';
import type { SourceDef } from '../../src/core/source.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { RateLimits } from '../../src/engine/rate-limit.ts';
import { type ResolvedCollector, type RunOptions, runCollector } from '../../src/engine/runner.ts';
import { AwsObjectHttpSim } from '../../src/sim/aws-object-http.ts';
import { ManualClock } from '../../src/sim/kit.ts';
import { ObjectStoreSim, type ObjectStoreSimOptions } from '../../src/sim/object-store.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
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
