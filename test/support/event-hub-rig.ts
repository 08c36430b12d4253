import { after } from 'node:test';
import { azureEventHubs, azureEventHubsFields } from '../../src/accounts/azure-event-hubs.ts';
import type { Destination } from '../../src/core/destination.ts';
import type { SourceDef } from '../../src/core/source.ts';
import { OriginSet } from '../../src/engine/credential-origins.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { RateLimits } from '../../src/engine/rate-limit.ts';
import type { ResolvedCollector } from '../../src/engine/runner.ts';
import { type ConsumerResult, consumeCollector } from '../../src/engine/stream-consumer.ts';
import { EventHubAmqpSim } from '../../src/sim/event-hub-amqp.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDirs } from './temp-dirs.ts';

/**
 * Sources on an event hub (azure-event-hub, microsoft-defender-xdr, microsoft-sentinel) under test: the AMQP
 * simulator with a Listen and a Send policy, an embedded store, and consumers started as the scheduler does
 * (consumeCollector) that a test stops gracefully or kills.
 */

const fresh = tempDirs('tributary-eventhub');
const stores: SqliteStore[] = [];
const sims: EventHubAmqpSim[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(sims.map((s) => s.close()));
});

export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function hubSim(partitions = 3, consumerGroups: string[] = ['tributary']) {
  const sim = await new EventHubAmqpSim({
    hubs: { insights: { partitions, consumerGroups } },
    policies: {
      listen: { key: 'bGlzdGVuLWtleS1mb3ItdGVzdHM=', rights: ['Listen'] },
      send: { key: 'c2VuZC1rZXktZm9yLXRlc3Rz', rights: ['Send'] },
    },
  }).start();
  sims.push(sim);
  return sim;
}

export async function store(sourceId = 'azure-event-hub') {
  const s = await SqliteStore.open(fresh());
  stores.push(s);
  await s.migrate();
  const at = new Date().toISOString();
  await s.putCollector({
    id: 'c-eh',
    name: 'eh',
    source: sourceId,
    config: {},
    enabled: true,
    secrets: {},
    createdAt: at,
    updatedAt: at,
  });
  return s;
}

/** A consumer of the collector's streams, as the scheduler starts it. */
export function consumerRig(
  s: SqliteStore,
  source: SourceDef,
  account: Record<string, unknown>,
  settings: Record<string, unknown>,
  stream: string,
  origins?: string[],
) {
  const parsed = azureEventHubsFields.parse(account);
  const collector = (destinations: Destination[]): ResolvedCollector => ({
    id: 'c-eh',
    name: 'eh',
    source,
    accountKind: azureEventHubs,
    account: parsed,
    accountKey: 'acc-eh',
    settings: source.settings.parse(settings),
    streams: [stream],
    destinations,
    window: { lookbackMs: 86_400_000 },
    credentialOrigins: {
      set: new OriginSet(origins ?? azureEventHubs.origins!(parsed)),
      account: 'eh-main',
    },
  });
  return (destinations: Destination[], owner = 'w1') => {
    const stop = new AbortController();
    const kill = new AbortController();
    const done = consumeCollector(collector(destinations), {
      store: s,
      log: silentLogger,
      rateLimits: new RateLimits(null),
      owner,
      stop: stop.signal,
      signal: kill.signal,
      consumer: { leaseTtlMs: 1500, idleMs: 20, errorBackoffMs: 50, maxRecords: 7 },
    }).then((r): ConsumerResult => r[0]!);
    return { stop: () => stop.abort(), kill: () => kill.abort(), done };
  };
}

/** An account on the simulator's Listen policy, hub `insights`, consumer group `tributary`. */
export const listenAccount = (sim: EventHubAmqpSim, over: Record<string, unknown> = {}) => ({
  connectionString: sim.connectionString({ policy: 'listen' }),
  eventHubName: 'insights',
  consumerGroup: 'tributary',
  ...over,
});
