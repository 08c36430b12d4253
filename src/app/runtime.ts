import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { accountKinds } from '../accounts/index.ts';
import type { Destination } from '../core/destination.ts';
import { parseDuration } from '../core/duration.ts';
import { configError, TributaryError } from '../core/errors.ts';
import { openSecrets } from '../core/secret-fields.ts';
import { isPushSource, type Logger, streamsOf } from '../core/source.ts';
import { accountParts, type CollectorRecord, type Store } from '../core/store.ts';
import { type FileScope, fileScope } from '../destinations/file/file-scope.ts';
import {
  createDestination,
  type DestinationAccount,
  type DestinationConfig,
  type DestinationContext,
} from '../destinations/index.ts';
import { accountOrigins, collectorUrls, OriginSet, originOf } from '../engine/credential-origins.ts';
import { BufferedDestination, type BufferStatus } from '../engine/destination-buffer.ts';
import { setEgressAllowList } from '../engine/egress.ts';
import { RateLimits } from '../engine/rate-limit.ts';
import { type ResolvedCollector, type RunOptions, type RunResult, runCollector } from '../engine/runner.ts';
import { type ConsumerResult, consumeCollector } from '../engine/stream-consumer.ts';
import { sources } from '../sources/index.ts';
import type { SecretBox } from '../store/secrets.ts';
import { destinationAccount } from './destination-account.ts';

/** Why a destination with a buffer is refused in cluster mode (docs/destinations.md, "Buffering"). */
export const BUFFER_IN_CLUSTER_MODE =
  'destination buffers are not available in cluster mode: a buffer lives on one host’s disk, while collector runs move between workers; remove the buffer setting (a destination that is down makes its collectors wait, and they resume from their checkpoints)';

export function bufferInClusterMode(name: string): TributaryError {
  return configError(
    'buffer_in_cluster_mode',
    `Destination ${name}: ${BUFFER_IN_CLUSTER_MODE}.`,
    `Remove buffer from destination ${name}.`,
  );
}

/** The instance setting holding the egress allow-list (JSON array of addresses and CIDR ranges). */
export const EGRESS_ALLOW_LIST = 'egressAllowList';

/**
 * The runtime of one process: the store, the secret box, the destinations (shared by the collectors
 * that name them) and the per-account rate limits. The config file, and later the API, only write
 * records into the store; runs always start from the store, so every entry point behaves the same.
 */
export class Runtime {
  readonly store: Store;
  readonly secrets: SecretBox;
  readonly log: Logger;
  readonly rateLimits = new RateLimits();
  private readonly destinations = new Map<string, { version: string; instance: Destination }>();
  /** The data directory: relative file paths of a config file applied without its own directory resolve here. */
  readonly baseDir: string;
  /**
   * Where file destinations may write: the output root (paths set through the API stay inside it) and
   * the data directory, whose own files no destination writes (destinations/file/file-scope.ts).
   */
  readonly files: FileScope;
  private readonly runner = `${hostname()}:${process.pid}`;
  /**
   * Cluster mode (the Postgres store): destinations take no buffer there (docs/destinations.md,
   * "Buffering"), since a buffer lives on one host's disk while runs move between workers.
   */
  cluster = false;

  constructor(
    store: Store,
    secrets: SecretBox,
    log: Logger,
    baseDir = process.cwd(),
    files: FileScope = fileScope(baseDir),
  ) {
    this.store = store;
    this.baseDir = baseDir;
    this.files = files;
    this.secrets = secrets;
    this.log = log;
  }

  /**
   * The destination named `name`, built from its stored record and shared by every collector that
   * names it; rebuilt (and the old one closed) when the record changed.
   */
  async destination(name: string): Promise<Destination | undefined> {
    const record = await this.store.getDestination(name);
    const cached = this.destinations.get(name);
    if (cached && record && cached.version === record.updatedAt) return cached.instance;
    if (cached) {
      this.destinations.delete(name);
      await cached.instance.close();
    }
    if (!record) return undefined;
    const config = openSecrets(record.config, record.secrets, this.secrets) as DestinationConfig;
    if (config.buffer && this.cluster) throw bufferInClusterMode(name);
    const built = createDestination(name, config, this.destinationContext());
    const instance = config.buffer ? this.buffered(built, config.buffer) : built;
    this.destinations.set(name, { version: record.updatedAt, instance });
    return instance;
  }

  /** Where destination `name` keeps its buffer (docs/destinations.md, "Buffering"). */
  bufferDir(name: string): string {
    return join(this.files.dataDir, 'buffers', name);
  }

  private buffered(inner: Destination, b: NonNullable<DestinationConfig['buffer']>): BufferedDestination {
    return new BufferedDestination(inner, {
      dir: this.bufferDir(inner.name),
      maxBytes: b.maxBytes,
      spillAfterMs: b.spillAfterMs,
      backoffBaseMs: b.backoffBaseMs,
      backoffMaxMs: b.backoffMaxMs,
      log: this.log,
      deadLetters: async (items) => {
        const byStream = new Map<string, typeof items>();
        for (const d of items) {
          const key = JSON.stringify([d.collector, d.stream]);
          byStream.set(key, [...(byStream.get(key) ?? []), d]);
        }
        for (const [key, list] of byStream) {
          const [collector, stream] = JSON.parse(key) as [string, string];
          const record = await this.store.getCollector(collector);
          if (!record) {
            this.log.warn('a buffered event was refused for good, and its collector no longer exists', {
              destination: inner.name,
              collector,
              events: list.length,
            });
            continue;
          }
          await this.store.addDeadLetters(record.id, stream, list);
        }
      },
    });
  }

  /**
   * Builds every destination that has a buffer, so that batches an earlier process left in a buffer
   * are drained from the start (`serve`, `worker`), not only once a collector names the destination.
   */
  async startBuffers(): Promise<void> {
    for (const d of await this.store.listDestinations())
      if ((d.config as { buffer?: unknown }).buffer)
        await this.destination(d.name).catch((err: unknown) =>
          this.log.error('could not start a destination buffer', {
            destination: d.name,
            message: (err as Error).message,
          }),
        );
  }

  /**
   * Batches in the buffer of destination `name`: its live status in this process, or else the batch
   * files on disk (another process's, or one that has not started it).
   */
  heldBatches(name: string): number {
    const live = this.bufferStatus(name);
    if (live) return live.batches;
    try {
      return readdirSync(this.bufferDir(name)).filter((f) => f.endsWith('.batch')).length;
    } catch {
      return 0;
    }
  }

  /** The buffer of destination `name` as this process holds it, if it has one. */
  bufferStatus(name: string): BufferStatus | undefined {
    const d = this.destinations.get(name)?.instance;
    return d instanceof BufferedDestination ? d.status() : undefined;
  }

  /** What destinations built here may use: paths, and the accounts named by their `account` setting. */
  destinationContext(): DestinationContext {
    return { baseDir: this.baseDir, files: this.files, account: (name) => this.destinationAccount(name) };
  }

  /** An account for a destination (destinations/kind.ts), read and decrypted at every call. */
  async destinationAccount(name: string): Promise<DestinationAccount> {
    const record = await this.store.getAccount(name);
    if (!record)
      throw configError(
        'account_missing',
        `There is no account "${name}".`,
        'Create the account or change the destination’s account setting.',
      );
    const { fields, origins } = accountParts(record);
    return destinationAccount({
      name,
      kind: record.kind,
      fields: openSecrets(fields, record.secrets, this.secrets),
      origins,
      version: record.updatedAt,
      log: this.log,
    });
  }

  /** The destinations a collector names (shared instances, see `destination`); pull runs and pushes alike. */
  async destinationsOf(record: CollectorRecord): Promise<Destination[]> {
    const destinations: Destination[] = [];
    for (const n of (record.config as { destinations?: string[] }).destinations ?? []) {
      const d = await this.destination(n);
      if (!d)
        throw configError(
          'destination_missing',
          `Collector ${record.name} names destination "${n}", which does not exist.`,
          'Create the destination or fix the collector.',
        );
      destinations.push(d);
    }
    return destinations;
  }

  /** Builds everything a run needs from the store: decrypted account, destinations, window options. */
  async resolve(record: CollectorRecord): Promise<ResolvedCollector> {
    const source = sources[record.source];
    if (!source)
      throw configError(
        'unknown_source',
        `Unknown source "${record.source}".`,
        'Pick a source from `tributary sources`.',
      );
    if (isPushSource(source))
      throw configError(
        'push_collector_not_run',
        `Collector ${record.name} receives pushed events on /ingest/${record.name}; it is never run.`,
        'Nothing to do: schedulers skip push collectors, and senders push to the ingest endpoint.',
      );
    const c = openSecrets(
      record.config,
      record.secrets ?? {},
      this.secrets,
    ) as unknown as import('../config/config-file.ts').CollectorConfig;
    const accountRecord = record.account ? await this.store.getAccount(record.account) : undefined;
    if (!accountRecord) {
      throw configError(
        'account_missing',
        `Collector ${record.name} has no account "${record.account ?? ''}".`,
        'Create the account or pick another one.',
      );
    }
    const accountKind = accountKinds[accountRecord.kind];
    const { fields, requestsPerMinute, origins } = accountParts(accountRecord);
    const account = openSecrets(fields, accountRecord.secrets, this.secrets);
    // An account saved before origins existed keeps the origins its collectors were using.
    const legacy = () => collectorUrls(source, c).map((u) => originOf(u.url)!);
    const credentialOrigins = new OriginSet(accountOrigins(accountKind, account, origins ?? legacy()));
    await this.refreshEgress();
    const destinations = await this.destinationsOf(record);
    return {
      id: record.id,
      name: record.name,
      source,
      accountKind,
      account,
      accountKey: accountRecord.id,
      accountName: accountRecord.name,
      rateLimit: requestsPerMinute
        ? { perSecond: requestsPerMinute / 60, burst: Math.max(1, Math.ceil(requestsPerMinute / 10)) }
        : undefined,
      credentialOrigins: accountKind.secrets.length
        ? { set: credentialOrigins, account: accountRecord.name }
        : undefined,
      settings: c.settings,
      streams: streamsOf(source, c.settings, c.streams),
      destinations,
      sitename: c.site,
      timezone: c.timezone,
      window: {
        lookbackMs: parseDuration(c.lookback ?? '1d'),
        start: c.start,
        lagMs: c.lag ? parseDuration(c.lag) : undefined,
        overlapMs: c.overlap ? parseDuration(c.overlap) : undefined,
      },
      batchesPerCommit: c.batchesPerCommit,
    };
  }

  /** Loads the admin's egress allow-list (instance settings) into the process's egress policy. */
  async refreshEgress(): Promise<void> {
    const text = await this.store.getSetting(EGRESS_ALLOW_LIST);
    setEgressAllowList(text ? (JSON.parse(text) as string[]) : []);
  }

  async run(name: string, opts: Partial<RunOptions> = {}): Promise<RunResult> {
    const record = await this.store.getCollector(name);
    if (!record) throw configError('collector_missing', `No collector named "${name}".`, 'Check the name.');
    let resolved: ResolvedCollector;
    try {
      resolved = await this.resolve(record);
    } catch (err) {
      // A run that cannot start (an unreadable secret, a missing account) shows on the collector's page.
      if (err instanceof TributaryError) await this.store.recordError(record.id, undefined, err.toJSON());
      throw err;
    }
    return runCollector(resolved, {
      store: this.store,
      log: this.log,
      rateLimits: this.rateLimits,
      runner: this.runner,
      ...opts,
    });
  }

  /** Re-encrypts every stored secret with the secret box's current key (after `keys rotate`). */
  /**
   * Consumes the collector's long-running streams (engine/stream-consumer.ts) until `stop` (graceful: the
   * batch in flight is committed and partitions are handed over) or `signal`. `owner` tells consumers of
   * one stream apart (default: this host and process).
   */
  async consume(
    name: string,
    opts: Omit<Parameters<typeof consumeCollector>[1], 'store' | 'log' | 'rateLimits' | 'owner'> & {
      owner?: string;
    } = {},
  ): Promise<ConsumerResult[]> {
    const record = await this.store.getCollector(name);
    if (!record) throw configError('collector_missing', `No collector named "${name}".`, 'Check the name.');
    let resolved: ResolvedCollector;
    try {
      resolved = await this.resolve(record);
    } catch (err) {
      if (err instanceof TributaryError) await this.store.recordError(record.id, undefined, err.toJSON());
      throw err;
    }
    return consumeCollector(resolved, {
      store: this.store,
      log: this.log,
      rateLimits: this.rateLimits,
      owner: opts.owner ?? this.runner,
      ...opts,
    });
  }

  async reencryptSecrets(): Promise<number> {
    let n = 0;
    const reseal = (sealed: Record<string, string>) => {
      n += Object.keys(sealed).length;
      return Object.fromEntries(
        Object.entries(sealed).map(([k, v]) => [k, this.secrets.encrypt(this.secrets.decrypt(v))]),
      );
    };
    for (const a of await this.store.listAccounts())
      await this.store.putAccount({ ...a, secrets: reseal(a.secrets) });
    for (const d of await this.store.listDestinations())
      await this.store.putDestination({ ...d, secrets: reseal(d.secrets) });
    for (const c of await this.store.listCollectors())
      if (Object.keys(c.secrets ?? {}).length)
        await this.store.putCollector({ ...c, secrets: reseal(c.secrets) });
    return n;
  }

  async close(): Promise<void> {
    for (const d of this.destinations.values()) await d.instance.close();
    this.destinations.clear();
    await this.store.close();
  }
}
