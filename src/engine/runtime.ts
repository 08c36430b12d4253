import { hostname } from 'node:os';
import { accountKinds } from '../accounts/index.ts';
import type { Config } from '../config/config-file.ts';
import type { Destination } from '../core/destination.ts';
import { parseDuration } from '../core/duration.ts';
import { configError } from '../core/errors.ts';
import type { Logger } from '../core/source.ts';
import { createDestination } from '../destinations/index.ts';
import { sources } from '../sources/index.ts';
import type { SecretBox } from '../store/secrets.ts';
import type { CollectorRecord, Store } from '../store/store.ts';
import { RateLimits } from './rate-limit.ts';
import { type ResolvedCollector, type RunOptions, type RunResult, runCollector } from './runner.ts';

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
  private readonly destinations = new Map<string, Destination>();
  private readonly runner = `${hostname()}:${process.pid}`;

  constructor(store: Store, secrets: SecretBox, log: Logger) {
    this.store = store;
    this.secrets = secrets;
    this.log = log;
  }

  /** Writes the config file's accounts and collectors into the store (create or update by name). */
  async applyConfig(config: Config): Promise<void> {
    const now = new Date().toISOString();
    for (const [name, a] of Object.entries(config.accounts)) {
      const kind = accountKinds[a.kind];
      const existing = await this.store.getAccount(name);
      const plain: Record<string, unknown> = {};
      const sealed: Record<string, string> = {};
      for (const [k, v] of Object.entries(a.fields)) {
        if (kind.secrets.includes(k) && typeof v === 'string') sealed[k] = this.secrets.encrypt(v);
        else plain[k] = v;
      }
      if (a.requestsPerMinute) plain.requestsPerMinute = a.requestsPerMinute;
      await this.store.putAccount({
        id: existing?.id ?? crypto.randomUUID(),
        name,
        kind: a.kind,
        config: plain,
        secrets: sealed,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      });
    }
    for (const [name, c] of Object.entries(config.collectors)) {
      const existing = await this.store.getCollector(name);
      if (existing && existing.source !== c.source) {
        this.log.warn('collector changed source; its checkpoints are reset', { collector: name });
        await this.store.resetCheckpoint(existing.id);
      }
      await this.store.putCollector({
        id: existing?.id ?? crypto.randomUUID(),
        name,
        source: c.source,
        account: c.account,
        config: c as unknown as Record<string, unknown>,
        enabled: c.enabled,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      });
    }
    for (const [name, d] of Object.entries(config.destinations)) {
      await this.destinations.get(name)?.close();
      this.destinations.set(name, createDestination(name, d, { baseDir: config.baseDir }));
    }
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
    const c = record.config as unknown as import('../config/config-file.ts').CollectorConfig;
    const accountRecord = record.account ? await this.store.getAccount(record.account) : undefined;
    if (!accountRecord) {
      throw configError(
        'account_missing',
        `Collector ${record.name} has no account "${record.account ?? ''}".`,
        'Create the account or pick another one.',
      );
    }
    const accountKind = accountKinds[accountRecord.kind];
    const { requestsPerMinute, ...fields } = accountRecord.config as { requestsPerMinute?: number };
    const account: Record<string, unknown> = { ...fields };
    for (const [k, v] of Object.entries(accountRecord.secrets)) account[k] = this.secrets.decrypt(v);
    const destinations = c.destinations.map((n) => {
      const d = this.destinations.get(n);
      if (!d)
        throw configError(
          'destination_missing',
          `Collector ${record.name} names destination "${n}", which does not exist.`,
          'Create the destination or fix the collector.',
        );
      return d;
    });
    return {
      id: record.id,
      name: record.name,
      source,
      accountKind,
      account,
      accountKey: accountRecord.id,
      rateLimit: requestsPerMinute
        ? { perSecond: requestsPerMinute / 60, burst: Math.max(1, Math.ceil(requestsPerMinute / 10)) }
        : undefined,
      settings: c.settings,
      streams: c.streams ?? source.defaultStreams?.(c.settings as never) ?? Object.keys(source.streams),
      destinations,
      sitename: c.site,
      timezone: c.timezone,
      window: {
        lookbackMs: parseDuration(c.lookback ?? '1d'),
        start: c.start,
        lagMs: c.lag ? parseDuration(c.lag) : undefined,
        overlapMs: c.overlap ? parseDuration(c.overlap) : undefined,
      },
    };
  }

  async run(name: string, opts: Partial<RunOptions> = {}): Promise<RunResult> {
    const record = await this.store.getCollector(name);
    if (!record) throw configError('collector_missing', `No collector named "${name}".`, 'Check the name.');
    const resolved = await this.resolve(record);
    return runCollector(resolved, {
      store: this.store,
      log: this.log,
      rateLimits: this.rateLimits,
      runner: this.runner,
      ...opts,
    });
  }

  /** Re-encrypts every stored secret with the secret box's current key (after `keys rotate`). */
  async reencryptSecrets(): Promise<number> {
    let n = 0;
    for (const a of await this.store.listAccounts()) {
      const secrets = Object.fromEntries(
        Object.entries(a.secrets).map(([k, v]) => [k, this.secrets.encrypt(this.secrets.decrypt(v))]),
      );
      await this.store.putAccount({ ...a, secrets, updatedAt: new Date().toISOString() });
      n += Object.keys(secrets).length;
    }
    return n;
  }

  async close(): Promise<void> {
    for (const d of this.destinations.values()) await d.close();
    this.destinations.clear();
    await this.store.close();
  }
}
