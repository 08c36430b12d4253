import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { accountKinds } from '../accounts/index.ts';
import { type CollectorConfig, type Config, checkCollector } from '../config/config-file.ts';
import { parseDuration } from '../core/duration.ts';
import { accountKindsOf, isPushSource } from '../core/source.ts';
import { formatIssues } from '../core/validation.ts';
import {
  createDestination,
  type DestinationConfig,
  destinationConfigSchema,
  destinationSecretPaths,
} from '../destinations/index.ts';
import { previewCollector } from '../engine/preview.ts';
import type { RunResult } from '../engine/runner.ts';
import type { Runtime } from '../engine/runtime.ts';
import { testConnection } from '../engine/test-connection.ts';
import { activeVendorWait, vendorWaitError } from '../engine/vendor-wait.ts';
import { sources } from '../sources/index.ts';
import { keepSecrets, maskedSecrets, openSecrets, sealSecrets } from '../store/secret-fields.ts';
import type { AccountRecord, CollectorRecord, DestinationRecord, Role, Store } from '../store/store.ts';
import { ApiError, conflict, invalid, notFound } from './errors.ts';
import { collectorHealth, collectorStatus, EXPIRY_WARNING_MS } from './health.ts';
import { IngestControl } from './ingest.ts';
import type * as S from './schemas.ts';

/**
 * The control plane's operations, shared by the REST API, `tributary apply` and the config file of
 * `run`/`serve`: every change is validated here, written to the store, audited (secrets masked) and
 * announced to the scheduler. Authorization happens before (routes declare the role they need).
 */

export interface Actor {
  /** Username, "token:NAME (user)", or "config-file". */
  name: string;
  role: Role;
  userId?: string;
  ip?: string;
}

export const CONFIG_FILE: Actor = { name: 'config-file', role: 'admin' };

/** What the control plane tells the scheduler (the embedded one, or cluster mode's queue). */
export interface SchedulerHooks {
  /** The collector was created, changed, started or stopped. */
  sync(name: string): void;
  /** The collector is being deleted: stop its run. */
  remove(name: string): Promise<void>;
  runNow(name: string): Promise<RunResult | undefined>;
}

const DAY = 86_400_000;
const EARLY_ACCESS = 'earlyAccess';

type In<T extends z.ZodType> = z.input<T>;

export class Control {
  readonly runtime: Runtime;
  scheduler?: SchedulerHooks;
  /** Push collectors' ingest tokens and HMAC secrets. */
  private readonly ingest: IngestControl;

  constructor(runtime: Runtime, scheduler?: SchedulerHooks) {
    this.runtime = runtime;
    this.ingest = new IngestControl(runtime);
    this.scheduler = scheduler;
  }

  private get store(): Store {
    return this.runtime.store;
  }

  async audit(
    actor: Actor,
    action: string,
    targetType: string,
    target: string | undefined,
    before?: unknown,
    after?: unknown,
  ): Promise<void> {
    await this.store.appendAudit({
      at: new Date().toISOString(),
      actor: actor.name,
      action,
      targetType,
      target,
      ip: actor.ip,
      before,
      after,
    });
  }

  // --- catalog and instance settings ---

  async catalog() {
    const earlyAccess = await this.earlyAccess();
    return Object.values(sources).map((s) => ({
      id: s.id,
      title: s.title,
      family: s.family,
      stability: s.stability,
      account: s.account,
      accounts: accountKindsOf(s),
      description: s.description,
      setupGuide: s.setupGuide,
      /** Calls that change state at the vendor (collectors otherwise only read), each with why. */
      vendorWrites: s.vendorWrites ?? [],
      available: s.stability === 'ga' || earlyAccess,
      streams: Object.entries(s.streams).map(([id, st]) => ({
        id,
        title: st.title,
        description: st.description,
      })),
      settings: z.toJSONSchema(s.settings, { io: 'input', unrepresentable: 'any' }),
    }));
  }

  accountKinds() {
    return Object.values(accountKinds).map((k) => ({
      id: k.id,
      title: k.title,
      secrets: k.secrets,
      fields: z.toJSONSchema(k.fields, { io: 'input', unrepresentable: 'any' }),
    }));
  }

  async earlyAccess(): Promise<boolean> {
    return (await this.store.getSetting(EARLY_ACCESS)) === 'true';
  }

  async settings() {
    return { earlyAccess: await this.earlyAccess() };
  }

  async updateSettings(actor: Actor, input: In<typeof S.instanceSettings>) {
    const before = await this.settings();
    await this.store.setSetting(EARLY_ACCESS, String(input.earlyAccess));
    const after = await this.settings();
    await this.audit(actor, 'settings.update', 'settings', undefined, before, after);
    return after;
  }

  // --- accounts ---

  private async usedBy(pred: (c: CollectorRecord) => boolean): Promise<string[]> {
    return (await this.store.listCollectors()).filter(pred).map((c) => c.name);
  }

  private accountView(a: AccountRecord, usedBy: string[]) {
    const { requestsPerMinute, ...fields } = a.config as { requestsPerMinute?: number };
    const expiresSoon = a.expiresAt ? Date.parse(a.expiresAt) - Date.now() < EXPIRY_WARNING_MS : false;
    return {
      name: a.name,
      kind: a.kind,
      fields: maskedSecrets(fields, a.secrets, this.runtime.secrets),
      secretFields: Object.keys(a.secrets),
      requestsPerMinute: requestsPerMinute ?? null,
      expiresAt: a.expiresAt ?? null,
      expiryWarning: expiresSoon,
      usedBy,
      createdAt: a.createdAt,
      updatedAt: a.updatedAt,
    };
  }

  private async requireAccount(name: string): Promise<AccountRecord> {
    const a = await this.store.getAccount(name);
    if (!a) throw notFound('account', name);
    return a;
  }

  async listAccounts() {
    const collectors = await this.store.listCollectors();
    return (await this.store.listAccounts()).map((a) =>
      this.accountView(
        a,
        collectors.filter((c) => c.account === a.name).map((c) => c.name),
      ),
    );
  }

  async getAccount(name: string) {
    const a = await this.requireAccount(name);
    return this.accountView(a, await this.usedBy((c) => c.account === name));
  }

  /** Validates the kind's fields and seals the secret ones. */
  private sealAccount(kindId: string, fields: Record<string, unknown>, prefix = 'fields') {
    const kind = accountKinds[kindId];
    if (!kind)
      throw invalid([
        `kind: unknown account kind "${kindId}" (expected one of ${Object.keys(accountKinds).join(', ')})`,
      ]);
    const r = kind.fields.safeParse(fields);
    if (!r.success) throw invalid(formatIssues(r.error), prefix);
    return sealSecrets(r.data as Record<string, unknown>, kind.secrets, this.runtime.secrets);
  }

  async createAccount(actor: Actor, input: In<typeof S.accountCreate>) {
    if (await this.store.getAccount(input.name)) throw conflict(`An account named "${input.name}" exists.`);
    const { plain, sealed } = this.sealAccount(input.kind, input.fields);
    if (input.requestsPerMinute) plain.requestsPerMinute = input.requestsPerMinute;
    const now = new Date().toISOString();
    const record: AccountRecord = {
      id: crypto.randomUUID(),
      name: input.name,
      kind: input.kind,
      config: plain,
      secrets: sealed,
      expiresAt: input.expiresAt,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.putAccount(record);
    const view = this.accountView(record, []);
    await this.audit(actor, 'account.create', 'account', input.name, undefined, view);
    return view;
  }

  async updateAccount(actor: Actor, name: string, input: In<typeof S.accountUpdate>) {
    const existing = await this.requireAccount(name);
    const kind = accountKinds[existing.kind];
    const fields = keepSecrets(input.fields, existing.secrets, kind?.secrets ?? [], this.runtime.secrets);
    const { plain, sealed } = this.sealAccount(existing.kind, fields);
    const { requestsPerMinute: oldRpm } = existing.config as { requestsPerMinute?: number };
    const rpm = input.requestsPerMinute === undefined ? oldRpm : (input.requestsPerMinute ?? undefined);
    if (rpm) plain.requestsPerMinute = rpm;
    const record: AccountRecord = {
      ...existing,
      config: plain,
      secrets: sealed,
      expiresAt: input.expiresAt === undefined ? existing.expiresAt : (input.expiresAt ?? undefined),
      updatedAt: new Date().toISOString(),
    };
    const usedBy = await this.usedBy((c) => c.account === name);
    const before = this.accountView(existing, usedBy);
    await this.store.putAccount(record);
    const after = this.accountView(record, usedBy);
    await this.audit(actor, 'account.update', 'account', name, before, after);
    for (const c of usedBy) this.scheduler?.sync(c);
    return after;
  }

  async deleteAccount(actor: Actor, name: string) {
    const existing = await this.requireAccount(name);
    const usedBy = await this.usedBy((c) => c.account === name);
    if (usedBy.length)
      throw conflict(
        `Account "${name}" is used by collector(s) ${usedBy.join(', ')}; change or delete them first.`,
      );
    await this.store.deleteAccount(name);
    await this.audit(actor, 'account.delete', 'account', name, this.accountView(existing, []));
  }

  /** Test Connection for an account: the probe of a source of its kind (first one whose settings default). */
  async testAccount(name: string, input: In<typeof S.testAccount> = {}) {
    const a = await this.requireAccount(name);
    const candidates = input.source
      ? [sources[input.source]].filter((s) => s && accountKindsOf(s).includes(a.kind))
      : Object.values(sources).filter((s) => accountKindsOf(s).includes(a.kind));
    if (input.source && !candidates.length)
      throw invalid([`source: "${input.source}" is not a source of ${a.kind} accounts`]);
    for (const source of candidates) {
      const settings = source!.settings.safeParse(input.settings ?? {});
      if (!settings.success) {
        if (input.source || input.settings) throw invalid(formatIssues(settings.error), 'settings');
        continue;
      }
      const { requestsPerMinute: _, ...fields } = a.config;
      const account = openSecrets(fields, a.secrets, this.runtime.secrets);
      return testConnection(source!, accountKinds[a.kind]!, account, settings.data);
    }
    throw invalid([
      `source: name a source and its settings to test a ${a.kind} account (no source of this kind works without settings)`,
    ]);
  }

  // --- collectors ---

  private async requireCollector(name: string): Promise<CollectorRecord> {
    const c = await this.store.getCollector(name);
    if (!c) throw notFound('collector', name);
    return c;
  }

  private async validateCollector(raw: unknown): Promise<CollectorConfig> {
    const accounts = new Map((await this.store.listAccounts()).map((a) => [a.name, a.kind]));
    const destinations = new Set((await this.store.listDestinations()).map((d) => d.name));
    const sites = (await this.store.listSites()).map((s) => s.name);
    const r = checkCollector(raw, {
      accountKind: (n) => accounts.get(n),
      hasDestination: (n) => destinations.has(n),
      sites,
    });
    if (!r.ok) throw invalid(r.issues);
    const source = sources[r.collector.source]!;
    if (source.stability !== 'ga' && !(await this.earlyAccess()))
      throw new ApiError(
        403,
        'early_access_required',
        `${source.title} is an early-access source; an admin must enable early access in Settings first.`,
      );
    return r.collector;
  }

  private async collectorSummary(c: CollectorRecord) {
    const now = Date.now();
    const [runs, volume, last, account, failures] = await Promise.all([
      this.store.listRuns(c.id, 10),
      this.store.volume(c.id, new Date(now - 7 * DAY - 3_600_000).toISOString()),
      this.store.lastEventTime(c.id),
      c.account ? this.store.getAccount(c.account) : undefined,
      this.store.listDeliveryFailures(c.id),
    ]);
    const vendorWait = account ? await activeVendorWait(this.store, account.id, now) : undefined;
    const dayAgo = new Date(now - DAY).toISOString();
    const cfg = c.config as CollectorConfig;
    // A destination the collector no longer delivers to says nothing about it.
    const deliveryFailures = failures.filter((f) => (cfg.destinations ?? []).includes(f.destination));
    return {
      name: c.name,
      source: c.source,
      sourceTitle: sources[c.source]?.title ?? c.source,
      account: c.account ?? null,
      site: cfg.site ?? null,
      timezone: cfg.timezone ?? null,
      enabled: c.enabled,
      status: collectorStatus(c.enabled, runs),
      health: collectorHealth({
        runs,
        volume,
        now,
        accountExpiresAt: account?.expiresAt,
        deliveryFailures,
        push: isPushSource(sources[c.source]),
        vendorWait,
      }),
      /** The vendor told the account to wait: no run starts before `until`. */
      vendorWait: vendorWait
        ? {
            until: vendorWait.until,
            since: vendorWait.at,
            collector: vendorWait.collector ?? null,
            reason: vendorWait.error,
          }
        : null,
      volumeLastDay: volume.filter((v) => v.hour >= dayAgo.slice(0, 13)).reduce((n, v) => n + v.count, 0),
      lastEventReceived: last ?? null,
      lastRun: runs[0] ?? null,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      _volume: volume,
      _deliveryFailures: deliveryFailures,
    };
  }

  async listCollectors() {
    const list = await Promise.all((await this.store.listCollectors()).map((c) => this.collectorSummary(c)));
    return list.map(({ _volume, _deliveryFailures, ...rest }) => rest);
  }

  async getCollector(name: string) {
    const c = await this.requireCollector(name);
    const [summary, checkpoints, errors, deadLetters, runs] = await Promise.all([
      this.collectorSummary(c),
      this.store.listCheckpoints(c.id),
      this.store.listErrors(c.id),
      this.store.listDeadLetters(c.id, 20),
      this.store.listRuns(c.id, 20),
    ]);
    const { _volume, _deliveryFailures, ...rest } = summary;
    return {
      ...rest,
      ...(await this.ingest.view(c)),
      config: c.config,
      volumeByHour: _volume,
      /** Destinations failing to acknowledge this collector's deliveries, since when, and why. */
      deliveryFailures: _deliveryFailures.map(({ collectorId: _, ...f }) => ({
        ...f,
        gaveUpAt: f.gaveUpAt ?? null,
      })),
      runs,
      checkpoints: checkpoints.map(({ stream, value, updatedAt }) => ({ stream, value, updatedAt })),
      errors: errors.map(({ collectorId: _, ...e }) => e),
      deadLetters: deadLetters.map(({ collectorId: _, ...d }) => d),
    };
  }

  async createCollector(actor: Actor, input: In<typeof S.collectorCreate>) {
    const { name, ...def } = input;
    if (await this.store.getCollector(name)) throw conflict(`A collector named "${name}" exists.`);
    const config = await this.validateCollector(def);
    const push = await this.ingest.prepare(config);
    const now = new Date().toISOString();
    const record: CollectorRecord = {
      id: crypto.randomUUID(),
      name,
      source: config.source,
      account: config.account,
      config: config as unknown as Record<string, unknown>,
      enabled: config.enabled,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.putCollector(record);
    const ingestToken = await push.apply(record.id);
    await this.audit(actor, 'collector.create', 'collector', name, undefined, record.config);
    this.scheduler?.sync(name);
    const view = await this.getCollector(name);
    return ingestToken ? { ...view, ingestToken } : view; // the token is shown this once
  }

  async updateCollector(actor: Actor, name: string, input: In<typeof S.collectorUpdate>) {
    const existing = await this.requireCollector(name);
    const config = await this.validateCollector(input);
    const push = await this.ingest.prepare(config, existing.id);
    if (existing.source !== config.source) await this.store.resetCheckpoint(existing.id);
    await this.store.putCollector({
      ...existing,
      source: config.source,
      account: config.account,
      config: config as unknown as Record<string, unknown>,
      enabled: config.enabled,
      updatedAt: new Date().toISOString(),
    });
    const ingestToken = await push.apply(existing.id); // a collector that became a push collector
    await this.audit(actor, 'collector.update', 'collector', name, existing.config, config);
    this.scheduler?.sync(name);
    const view = await this.getCollector(name);
    return ingestToken ? { ...view, ingestToken } : view;
  }

  async deleteCollector(actor: Actor, name: string) {
    const existing = await this.requireCollector(name);
    await this.scheduler?.remove(name);
    await this.store.deleteCollector(name);
    await this.ingest.remove(existing.id);
    await this.audit(actor, 'collector.delete', 'collector', name, existing.config);
  }

  async setEnabled(actor: Actor, name: string, enabled: boolean) {
    const existing = await this.requireCollector(name);
    const config = { ...existing.config, enabled };
    await this.store.putCollector({ ...existing, enabled, config, updatedAt: new Date().toISOString() });
    await this.audit(
      actor,
      enabled ? 'collector.start' : 'collector.stop',
      'collector',
      name,
      {
        enabled: existing.enabled,
      },
      { enabled },
    );
    this.scheduler?.sync(name);
    return this.getCollector(name);
  }

  async runNow(actor: Actor, name: string) {
    const c = await this.requireCollector(name);
    if (!c.enabled) throw conflict(`Collector "${name}" is stopped; start it first.`);
    if (isPushSource(sources[c.source]))
      throw conflict(`Collector "${name}" receives pushed events; there is nothing to run.`);
    if (!this.scheduler) throw new ApiError(503, 'no_scheduler', 'This process does not run collectors.');
    // Said rather than tried: the run would be refused before asking the vendor anything.
    const account = c.account ? await this.store.getAccount(c.account) : undefined;
    const wait = account ? await activeVendorWait(this.store, account.id, Date.now()) : undefined;
    if (wait) throw new ApiError(409, 'vendor_wait', vendorWaitError(name, wait).message);
    await this.audit(actor, 'collector.run', 'collector', name);
    void this.scheduler.runNow(name);
    return { started: true };
  }

  async resetCheckpoint(actor: Actor, name: string, input: In<typeof S.resetCheckpoint>) {
    const c = await this.requireCollector(name);
    if (input.stream !== undefined && !sources[c.source]?.streams[input.stream])
      throw invalid([`stream: ${c.source} has no stream "${input.stream}"`]);
    const before = await this.store.listCheckpoints(c.id);
    await this.store.resetCheckpoint(c.id, input.stream);
    await this.audit(actor, 'collector.reset-checkpoint', 'collector', name, before, {
      stream: input.stream ?? null,
    });
    return this.getCollector(name);
  }

  /** A new ingest token for a push collector, shown once; the previous one works for `overlap` more. */
  async rotateIngestToken(actor: Actor, name: string, input: In<typeof S.rotateIngestToken>) {
    const c = await this.requireCollector(name);
    const overlap = input.overlap ?? '24h';
    const { ingestToken, previousExpiresAt } = await this.ingest.rotate(c, parseDuration(overlap));
    await this.audit(actor, 'collector.rotate-ingest-token', 'collector', name, undefined, {
      overlap,
      previousExpiresAt,
    });
    return { ...(await this.ingest.view(c)), ingestToken, previousExpiresAt };
  }

  /** Test Connection before Install: validates the definition and runs the source's probe. */
  async testCollector(input: In<typeof S.collectorTest>) {
    const { name: _, ...def } = input;
    const config = await this.validateCollector(def);
    const source = sources[config.source]!;
    if (isPushSource(source)) return { ok: true as const }; // nothing to reach: the vendor calls us
    const a = await this.requireAccount(config.account!);
    const { requestsPerMinute: __, ...fields } = a.config;
    const account = openSecrets(fields, a.secrets, this.runtime.secrets);
    const streams = config.streams ?? Object.keys(source.streams);
    return testConnection(source, accountKinds[a.kind]!, account, config.settings, streams);
  }

  /**
   * Preview before Install: validates the definition and reads one page of its first window, returning
   * the envelopes it would emit, the next page found and warnings; commits and delivers nothing.
   */
  async previewCollector(input: In<typeof S.collectorPreview>) {
    const { name, ...def } = input;
    const config = await this.validateCollector(def);
    const source = sources[config.source]!;
    if (!source.preview) {
      const able = Object.values(sources).filter((s) => s.preview);
      throw invalid([
        `source: ${config.source} has no preview (sources with one: ${able.map((s) => s.id).join(', ')})`,
      ]);
    }
    const a = await this.requireAccount(config.account!);
    const { requestsPerMinute: __, ...fields } = a.config;
    const account = openSecrets(fields, a.secrets, this.runtime.secrets);
    return previewCollector(source, accountKinds[a.kind]!, account, config.settings, {
      collector: name ?? 'preview',
      sitename: config.site,
      timezone: config.timezone,
      window: {
        lookbackMs: parseDuration(config.lookback ?? '1d'),
        start: config.start,
        lagMs: config.lag ? parseDuration(config.lag) : undefined,
        overlapMs: config.overlap ? parseDuration(config.overlap) : undefined,
      },
    });
  }

  async runs(name: string, limit: number) {
    return this.store.listRuns((await this.requireCollector(name)).id, limit);
  }

  // --- sites ---

  async listSites() {
    const collectors = await this.store.listCollectors();
    return (await this.store.listSites()).map((s) => ({
      ...s,
      usedBy: collectors.filter((c) => (c.config as CollectorConfig).site === s.name).map((c) => c.name),
    }));
  }

  async createSite(actor: Actor, input: In<typeof S.siteCreate>) {
    if ((await this.store.listSites()).some((s) => s.name === input.name))
      throw conflict(`A site named "${input.name}" exists.`);
    await this.store.putSite(input.name);
    await this.audit(actor, 'site.create', 'site', input.name, undefined, { name: input.name });
    return { name: input.name };
  }

  async renameSite(actor: Actor, name: string, input: In<typeof S.siteCreate>) {
    const all = await this.store.listSites();
    if (!all.some((s) => s.name === name)) throw notFound('site', name);
    if (name !== input.name && all.some((s) => s.name === input.name))
      throw conflict(`A site named "${input.name}" exists.`);
    const usedBy = await this.usedBy((c) => (c.config as CollectorConfig).site === name);
    await this.store.renameSite(name, input.name);
    await this.audit(actor, 'site.rename', 'site', name, { name }, { name: input.name });
    for (const c of usedBy) this.scheduler?.sync(c);
    return { name: input.name };
  }

  async deleteSite(actor: Actor, name: string) {
    if (!(await this.store.listSites()).some((s) => s.name === name)) throw notFound('site', name);
    const usedBy = await this.usedBy((c) => (c.config as CollectorConfig).site === name);
    if (usedBy.length) throw conflict(`Site "${name}" is used by collector(s) ${usedBy.join(', ')}.`);
    await this.store.deleteSite(name);
    await this.audit(actor, 'site.delete', 'site', name, { name });
  }

  // --- destinations ---

  private destinationView(d: DestinationRecord, usedBy: string[]) {
    return {
      name: d.name,
      kind: d.kind,
      config: maskedSecrets(d.config, d.secrets, this.runtime.secrets),
      usedBy,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
    };
  }

  private async requireDestination(name: string): Promise<DestinationRecord> {
    const d = await this.store.getDestination(name);
    if (!d) throw notFound('destination', name);
    return d;
  }

  private usesDestination = (name: string) => (c: CollectorRecord) =>
    ((c.config as CollectorConfig).destinations ?? []).includes(name);

  async listDestinations() {
    const collectors = await this.store.listCollectors();
    return (await this.store.listDestinations()).map((d) =>
      this.destinationView(
        d,
        collectors.filter(this.usesDestination(d.name)).map((c) => c.name),
      ),
    );
  }

  async getDestination(name: string) {
    const d = await this.requireDestination(name);
    return this.destinationView(d, await this.usedBy(this.usesDestination(name)));
  }

  /** Relative file paths resolve against `baseDir` and are stored absolute. */
  private sealDestination(config: DestinationConfig, baseDir: string) {
    const c = { ...config } as DestinationConfig;
    if (c.kind === 'file' && !isAbsolute(c.path)) c.path = resolve(baseDir, c.path);
    return sealSecrets(
      c as Record<string, unknown>,
      destinationSecretPaths[c.kind] ?? [],
      this.runtime.secrets,
    );
  }

  async createDestination(
    actor: Actor,
    input: { name: string; config: DestinationConfig },
    baseDir = this.runtime.baseDir,
  ) {
    if (await this.store.getDestination(input.name))
      throw conflict(`A destination named "${input.name}" exists.`);
    const { plain, sealed } = this.sealDestination(input.config, baseDir);
    const now = new Date().toISOString();
    const record: DestinationRecord = {
      id: crypto.randomUUID(),
      name: input.name,
      kind: input.config.kind,
      config: plain,
      secrets: sealed,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.putDestination(record);
    const view = this.destinationView(record, []);
    await this.audit(actor, 'destination.create', 'destination', input.name, undefined, view);
    return view;
  }

  /** `config` is the raw input: secret fields left out keep their stored values. */
  async updateDestination(actor: Actor, name: string, rawConfig: unknown, baseDir = this.runtime.baseDir) {
    const existing = await this.requireDestination(name);
    const kind = (rawConfig as { kind?: string })?.kind ?? '';
    const merged =
      kind === existing.kind
        ? keepSecrets(
            rawConfig as Record<string, unknown>,
            existing.secrets,
            destinationSecretPaths[kind] ?? [],
            this.runtime.secrets,
          )
        : rawConfig;
    const r = destinationConfigSchema.safeParse(merged);
    if (!r.success) throw invalid(formatIssues(r.error), 'config');
    const { plain, sealed } = this.sealDestination(r.data, baseDir);
    const record: DestinationRecord = {
      ...existing,
      kind: r.data.kind,
      config: plain,
      secrets: sealed,
      updatedAt: new Date().toISOString(),
    };
    const usedBy = await this.usedBy(this.usesDestination(name));
    const before = this.destinationView(existing, usedBy);
    await this.store.putDestination(record);
    const after = this.destinationView(record, usedBy);
    await this.audit(actor, 'destination.update', 'destination', name, before, after);
    return after;
  }

  async deleteDestination(actor: Actor, name: string) {
    const existing = await this.requireDestination(name);
    const usedBy = await this.usedBy(this.usesDestination(name));
    if (usedBy.length)
      throw conflict(
        `Destination "${name}" is used by collector(s) ${usedBy.join(', ')}; change or delete them first.`,
      );
    await this.store.deleteDestination(name);
    await this.runtime.destination(name); // closes the cached instance
    await this.audit(actor, 'destination.delete', 'destination', name, this.destinationView(existing, []));
  }

  /** A probe write where the kind allows it (file: a writable directory; http: a request). */
  async testDestination(name: string) {
    const d = await this.requireDestination(name);
    const config = openSecrets(d.config, d.secrets, this.runtime.secrets) as DestinationConfig;
    const probe = createDestination(`${name}-test`, config, { baseDir: this.runtime.baseDir });
    try {
      if (probe.test) await probe.test(AbortSignal.timeout(30_000));
      return { ok: true as const, probed: Boolean(probe.test) };
    } catch (err) {
      const e = err as { type?: string; code?: string; message?: string; action?: string };
      return {
        ok: false as const,
        error: {
          type: e.type ?? 'transient',
          code: e.code ?? 'destination_error',
          message: e.message ?? String(err),
          action: e.action ?? `Check destination ${name}.`,
        },
      };
    } finally {
      await probe.close();
    }
  }

  // --- config as code ---

  /**
   * Applies a config file through the same operations as the API: creates what is new, updates what
   * changed, never deletes unless `prune` (then what the file no longer names goes, collectors first).
   * Everything that could refuse is checked before the first write, so a refused file changes nothing.
   */
  async apply(actor: Actor, config: Config, opts: { prune?: boolean } = {}) {
    const store = this.store;
    const [sites, accounts, destinations, collectors] = await Promise.all([
      store.listSites(),
      store.listAccounts(),
      store.listDestinations(),
      store.listCollectors(),
    ]);
    const issues: string[] = [];
    for (const [name, a] of Object.entries(config.accounts)) {
      const existing = accounts.find((x) => x.name === name);
      if (existing && existing.kind !== a.kind)
        issues.push(
          `accounts.${name}.kind: "${name}" exists as a ${existing.kind} account; delete it to change its kind`,
        );
    }
    const earlyAccess = await this.earlyAccess();
    for (const [name, c] of Object.entries(config.collectors))
      if (sources[c.source]?.stability !== 'ga' && !earlyAccess)
        issues.push(
          `collectors.${name}.source: ${c.source} is an early-access source; enable early access first`,
        );
    const prune = {
      collectors: opts.prune ? collectors.filter((c) => !config.collectors[c.name]).map((c) => c.name) : [],
      destinations: opts.prune
        ? destinations.filter((d) => !config.destinations[d.name]).map((d) => d.name)
        : [],
      accounts: opts.prune ? accounts.filter((a) => !config.accounts[a.name]).map((a) => a.name) : [],
      sites: opts.prune ? sites.filter((x) => !config.sites.includes(x.name)).map((x) => x.name) : [],
    };
    for (const [name, c] of Object.entries(config.collectors)) {
      const uses = (kind: string, list: string[], refs: Array<string | undefined>) => {
        for (const r of refs)
          if (r && list.includes(r))
            issues.push(
              `collectors.${name}: uses ${kind} "${r}", which --prune would delete; name it in the file`,
            );
      };
      uses('account', prune.accounts, [c.account]);
      uses('destination', prune.destinations, c.destinations);
      uses('site', prune.sites, [c.site]);
    }
    if (issues.length) throw invalid(issues);

    const out = { created: [] as string[], updated: [] as string[], deleted: [] as string[] };
    for (const name of config.sites) {
      if (sites.some((x) => x.name === name)) continue;
      await this.createSite(actor, { name });
      out.created.push(`site/${name}`);
    }
    for (const [name, a] of Object.entries(config.accounts)) {
      const existing = accounts.find((x) => x.name === name);
      if (!existing) {
        await this.createAccount(actor, {
          name,
          kind: a.kind,
          fields: a.fields,
          requestsPerMinute: a.requestsPerMinute,
        });
        out.created.push(`account/${name}`);
      } else if (!this.sameAccount(existing, a.fields, a.requestsPerMinute)) {
        await this.updateAccount(actor, name, {
          fields: a.fields,
          requestsPerMinute: a.requestsPerMinute ?? null,
        });
        out.updated.push(`account/${name}`);
      }
    }
    for (const [name, d] of Object.entries(config.destinations)) {
      const existing = destinations.find((x) => x.name === name);
      if (!existing) {
        await this.createDestination(actor, { name, config: d }, config.baseDir);
        out.created.push(`destination/${name}`);
        continue;
      }
      const { plain, sealed } = this.sealDestination(d, config.baseDir);
      const same =
        existing.kind === d.kind &&
        JSON.stringify(existing.config) === JSON.stringify(plain) &&
        sameSecrets(existing.secrets, sealed, this.runtime);
      if (!same) {
        await this.updateDestination(actor, name, d, config.baseDir);
        out.updated.push(`destination/${name}`);
      }
    }
    for (const [name, c] of Object.entries(config.collectors)) {
      const existing = collectors.find((x) => x.name === name);
      if (!existing) {
        await this.createCollector(actor, { name, ...c });
        out.created.push(`collector/${name}`);
      } else if (!(await this.ingest.unchanged(existing, c))) {
        await this.updateCollector(actor, name, c);
        out.updated.push(`collector/${name}`);
      }
    }
    for (const name of prune.collectors) await this.deleteCollector(actor, name);
    for (const name of prune.destinations) await this.deleteDestination(actor, name);
    for (const name of prune.accounts) await this.deleteAccount(actor, name);
    for (const name of prune.sites) await this.deleteSite(actor, name);
    for (const [kind, list] of Object.entries(prune))
      out.deleted.push(...list.map((n) => `${kind.slice(0, -1)}/${n}`));
    return out;
  }

  private sameAccount(existing: AccountRecord, fields: Record<string, unknown>, rpm?: number): boolean {
    const kind = accountKinds[existing.kind]!;
    const { requestsPerMinute, ...plain } = existing.config as { requestsPerMinute?: number };
    if (requestsPerMinute !== rpm) return false;
    const open = openSecrets(plain, existing.secrets, this.runtime.secrets);
    const keys = new Set([...Object.keys(open), ...Object.keys(fields), ...kind.secrets]);
    return [...keys].every((k) => JSON.stringify(open[k]) === JSON.stringify(fields[k]));
  }
}

function sameSecrets(a: Record<string, string>, b: Record<string, string>, runtime: Runtime): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every(
    (k) =>
      a[k] !== undefined &&
      b[k] !== undefined &&
      runtime.secrets.decrypt(a[k]) === runtime.secrets.decrypt(b[k]),
  );
}
