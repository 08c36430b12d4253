import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { accountKinds } from '../accounts/index.ts';
import { BUFFER_IN_CLUSTER_MODE, EGRESS_ALLOW_LIST, type Runtime } from '../app/runtime.ts';
import {
  type AccountConfig,
  type CollectorConfig,
  type Config,
  checkCollector,
  SITE_NAME_RULE,
  siteClash,
  validateSettings,
} from '../config/config-file.ts';
import type { Destination } from '../core/destination.ts';
import { parseDuration } from '../core/duration.ts';
import { TributaryError, toTributaryError } from '../core/errors.ts';
import { own } from '../core/names.ts';
import {
  maskedPaths,
  maskedSecrets,
  mergeSecrets,
  openSecrets,
  sameSecrets,
  sealSecrets,
  valuesAt,
} from '../core/secret-fields.ts';
import type { SecretSpec } from '../core/secret-spec.ts';
import { type AccountKind, accountKindsOf, isPushSource, type SourceDef, streamsOf } from '../core/source.ts';
import {
  type AccountRecord,
  accountParts,
  type CollectorRecord,
  type DestinationRecord,
  type Role,
  type Store,
} from '../core/store.ts';
import { formatIssues } from '../core/validation.ts';
import { placeFile } from '../destinations/file/file-scope.ts';
import {
  createDestination,
  type DestinationConfig,
  destinationKinds,
  destinationSpecOf,
  parseDestinationConfig,
} from '../destinations/index.ts';
import {
  accountOrigins,
  collectorSpec,
  collectorUrls,
  OriginSet,
  originOf,
} from '../engine/credential-origins.ts';
import { snippet } from '../engine/http.ts';
import { previewCollector } from '../engine/preview.ts';
import type { RunResult } from '../engine/runner.ts';
import { testConnection } from '../engine/test-connection.ts';
import { activeVendorWait, vendorWaitError } from '../engine/vendor-wait.ts';
import { sources } from '../sources/index.ts';
import { ApiError, conflict, forbidden, invalid, notFound } from './errors.ts';
import { collectorHealth, collectorStatus, EXPIRY_WARNING_MS } from './health.ts';
import { IngestControl, REFUSALS_LOOKBACK_MS } from './ingest.ts';
import { allowedOrigins, collectorOriginIssues, legacyOrigins, networkCheck } from './origins.ts';
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

/**
 * The operator's config file (`run`/`serve --config`, `apply -f`), recognised by identity (a user may be
 * called "config-file"): the one actor whose file destinations may lie outside the output root.
 */
export const CONFIG_FILE: Actor = Object.freeze({ name: 'config-file', role: 'admin' });

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
      /** Preview one page before Install (POST /api/collectors/preview). */
      preview: Boolean(s.preview),
      streams: Object.entries(s.streams).map(([id, st]) => ({
        id,
        title: st.title,
        description: st.description,
        /** Collected when the collector names no streams. */
        default: defaultStreamsOf(s).includes(id),
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
    const allow = await this.store.getSetting(EGRESS_ALLOW_LIST);
    return {
      earlyAccess: await this.earlyAccess(),
      egressAllowList: allow ? (JSON.parse(allow) as string[]) : [],
    };
  }

  async updateSettings(actor: Actor, input: In<typeof S.instanceSettings>) {
    const before = await this.settings();
    if (input.earlyAccess !== undefined) await this.store.setSetting(EARLY_ACCESS, String(input.earlyAccess));
    if (input.egressAllowList !== undefined)
      await this.store.setSetting(EGRESS_ALLOW_LIST, JSON.stringify(input.egressAllowList));
    await this.runtime.refreshEgress();
    const after = await this.settings();
    await this.audit(actor, 'settings.update', 'settings', undefined, before, after);
    return after;
  }

  // --- accounts ---

  private async usedBy(pred: (c: CollectorRecord) => boolean): Promise<string[]> {
    return (await this.store.listCollectors()).filter(pred).map((c) => c.name);
  }

  /** Where an account's credentials may go (`collectors`: for accounts saved before origins existed). */
  private allowedOrigins(a: AccountRecord, collectors: CollectorRecord[]) {
    return allowedOrigins(a, this.runtime.secrets, () => legacyOrigins(a.name, collectors, sources));
  }

  private accountView(a: AccountRecord, collectors: CollectorRecord[]) {
    const { fields, requestsPerMinute, origins } = accountParts(a);
    const expiresSoon = a.expiresAt ? Date.parse(a.expiresAt) - Date.now() < EXPIRY_WARNING_MS : false;
    return {
      name: a.name,
      kind: a.kind,
      fields: maskedSecrets(fields, a.secrets, this.runtime.secrets),
      secretFields: Object.keys(a.secrets),
      /** Origins saved with the secret, beyond the kind's own. */
      origins: origins ?? [],
      /** Every origin the credentials may be sent to. */
      credentialOrigins: [...this.allowedOrigins(a, collectors).patterns],
      requestsPerMinute: requestsPerMinute ?? null,
      expiresAt: a.expiresAt ?? null,
      expiryWarning: expiresSoon,
      usedBy: collectors.filter((c) => c.account === a.name).map((c) => c.name),
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
    return (await this.store.listAccounts()).map((a) => this.accountView(a, collectors));
  }

  async getAccount(name: string) {
    const a = await this.requireAccount(name);
    return this.accountView(a, await this.store.listCollectors());
  }

  private accountKind(kindId: string): AccountKind {
    const kind = Object.hasOwn(accountKinds, kindId) ? accountKinds[kindId] : undefined;
    if (!kind)
      throw invalid([
        `kind: unknown account kind "${kindId}" (expected one of ${Object.keys(accountKinds).join(', ')})`,
      ]);
    return kind;
  }

  /** Validates the kind's fields and seals the secret ones. */
  private sealAccount(kind: AccountKind, fields: Record<string, unknown>) {
    const r = kind.fields.safeParse(fields);
    if (!r.success) throw invalid(formatIssues(r.error), 'fields');
    return sealSecrets(r.data as Record<string, unknown>, kind.secrets, this.runtime.secrets);
  }

  /**
   * Where a saved account points, for the network check: its kind's origin fields and its origins.
   * A link-local or metadata address is refused; a private one is noted in the audit log.
   */
  private async accountNetwork(kind: AccountKind, plain: Record<string, unknown>, origins: string[]) {
    const values = [
      ...kind.spec.origins.flatMap((p) =>
        valuesAt(plain, p).map((v) => ({ ...v, path: `fields.${v.path}` })),
      ),
      ...origins.map((value, i) => ({ path: `origins.${i}`, value })),
    ];
    const net = await networkCheck(values);
    if (net.refused.length) throw invalid(net.refused);
    return net.notes;
  }

  /** A new account validated and sealed, not stored: its record and the network notes for the audit. */
  private async newAccountRecord(input: In<typeof S.accountCreate>) {
    if (await this.store.getAccount(input.name)) throw conflict(`An account named "${input.name}" exists.`);
    const kind = this.accountKind(input.kind);
    refuseMasks(input.fields, kind.spec, 'fields');
    const { plain, sealed } = this.sealAccount(kind, input.fields);
    const origins = normalizeOrigins(input.origins ?? []);
    const notes = await this.accountNetwork(kind, plain, origins);
    if (input.requestsPerMinute) plain.requestsPerMinute = input.requestsPerMinute;
    plain.origins = origins;
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
    return { record, notes };
  }

  /** An account acting with the host's own identity is an administrator's to create, change, test or preview. */
  private guardHostIdentity(actor: Actor | undefined, kindId: string, fields: unknown): void {
    const kind = this.accountKind(kindId);
    if (kind.usesHostIdentity?.(fields as never) && actor?.role !== 'admin')
      throw forbidden(
        `Only an administrator can create, change, test or preview a ${kind.title} account that acts with this host's own identity (no credentials of its own). Give the account its own credentials, or ask an administrator.`,
      );
  }

  async createAccount(actor: Actor, input: In<typeof S.accountCreate>) {
    this.guardHostIdentity(actor, input.kind, input.fields);
    const { record, notes } = await this.newAccountRecord(input);
    await this.store.putAccount(record);
    const view = this.accountView(record, []);
    await this.audit(actor, 'account.create', 'account', input.name, undefined, withNotes(view, notes));
    return view;
  }

  /**
   * A collector definition's inline new account (the console wizard's), validated but not stored: the
   * definition names it as its account (or leaves `account` out), and its origins default to those of
   * the definition's URL settings. Issues are reported under `newAccount`.
   */
  private async inlineAccount(
    def: Record<string, unknown>,
    input: In<typeof S.accountCreate>,
    actor: Actor | undefined,
  ) {
    this.guardHostIdentity(actor, input.kind, input.fields);
    const source = typeof def.source === 'string' ? own(sources, def.source) : undefined;
    if (source && isPushSource(source))
      throw invalid([`newAccount: ${source.id} receives pushed events and uses no account`]);
    if (def.account !== undefined && def.account !== input.name)
      throw invalid([
        `account: names "${String(def.account)}", but the new account is "${input.name}": leave account out, or name the new account`,
      ]);
    const origins =
      input.origins ??
      (source ? collectorUrls(source, def as { settings?: unknown }).map((u) => originOf(u.url)!) : []);
    try {
      return await this.newAccountRecord({ ...input, origins });
    } catch (err) {
      if (!(err instanceof ApiError && err.issues)) throw err;
      throw new ApiError(
        err.status,
        err.code,
        err.message,
        err.issues.map((i) => ({ ...i, path: i.path ? `newAccount.${i.path}` : 'newAccount' })),
      );
    }
  }

  /**
   * Secret fields left out, or sent back masked, keep their stored values. A field that decides where
   * the credentials go (url, tokenUrl, authorityHost, cloud, region, the account's origins) changes only
   * with every stored secret entered again in the same request.
   */
  async updateAccount(actor: Actor, name: string, input: In<typeof S.accountUpdate>) {
    const existing = await this.requireAccount(name);
    const kind = this.accountKind(existing.kind);
    const stored = accountParts(existing);
    const origins = input.origins === undefined ? stored.origins : normalizeOrigins(input.origins);
    const merged = mergeSecrets(
      { fields: input.fields, ...(origins ? { origins } : {}) },
      {
        plain: { fields: stored.fields, ...(stored.origins ? { origins: stored.origins } : {}) },
        sealed: Object.fromEntries(Object.entries(existing.secrets).map(([k, v]) => [`fields.${k}`, v])),
      },
      accountSpec(kind),
      this.runtime.secrets,
    );
    if (merged.issues.length) throw invalid(merged.issues);
    // Before and after the change: an account that acts with the host's identity has no secret guarding it.
    const sealedNames = Object.fromEntries(Object.keys(existing.secrets).map((k) => [k, '(sealed)']));
    this.guardHostIdentity(actor, existing.kind, { ...stored.fields, ...sealedNames });
    this.guardHostIdentity(actor, existing.kind, merged.value.fields);
    const { plain, sealed } = this.sealAccount(kind, merged.value.fields as Record<string, unknown>);
    const notes = await this.accountNetwork(kind, plain, origins ?? []);
    const rpm =
      input.requestsPerMinute === undefined
        ? stored.requestsPerMinute
        : (input.requestsPerMinute ?? undefined);
    if (rpm) plain.requestsPerMinute = rpm;
    if (origins) plain.origins = origins;
    const record: AccountRecord = {
      ...existing,
      config: plain,
      secrets: sealed,
      expiresAt: input.expiresAt === undefined ? existing.expiresAt : (input.expiresAt ?? undefined),
      updatedAt: new Date().toISOString(),
    };
    const collectors = await this.store.listCollectors();
    const before = this.accountView(existing, collectors);
    await this.store.putAccount(record);
    const after = this.accountView(record, collectors);
    await this.audit(actor, 'account.update', 'account', name, before, {
      ...withNotes(after, notes),
      ...(merged.entered.length ? { secretsEntered: merged.entered } : {}),
    });
    for (const c of after.usedBy) this.scheduler?.sync(c);
    return after;
  }

  async deleteAccount(actor: Actor, name: string) {
    const existing = await this.requireAccount(name);
    const collectors = await this.store.listCollectors();
    const usedBy = collectors.filter((c) => c.account === name).map((c) => c.name);
    if (usedBy.length)
      throw conflict(
        `Account "${name}" is used by collector(s) ${usedBy.join(', ')}; change or delete them first.`,
      );
    const destinations = await this.destinationsUsing(name);
    if (destinations.length)
      throw conflict(
        `Account "${name}" is used by destination(s) ${destinations.join(', ')}; change or delete them first.`,
      );
    await this.store.deleteAccount(name);
    await this.audit(actor, 'account.delete', 'account', name, this.accountView(existing, collectors));
  }

  /**
   * The account's fields with its secrets, for a probe, and where they may be sent; an unreadable
   * secret comes back as the classified error instead.
   */
  private async openAccount(a: AccountRecord) {
    const kind = this.accountKind(a.kind);
    try {
      const account = openSecrets(accountParts(a).fields, a.secrets, this.runtime.secrets);
      const allowed = this.allowedOrigins(a, await this.store.listCollectors());
      await this.runtime.refreshEgress();
      return {
        ok: true as const,
        kind,
        account,
        allowed,
        credentialOrigins: kind.secrets.length ? { set: allowed, account: a.name } : undefined,
      };
    } catch (err) {
      return { ok: false as const, error: toTributaryError(err).toJSON() };
    }
  }

  /** Test Connection for an account: the probe of a source of its kind (first one whose settings default). */
  async testAccount(name: string, input: In<typeof S.testAccount> = {}, actor?: Actor) {
    const a = await this.requireAccount(name);
    const stored = accountParts(a);
    const sealedNames = Object.fromEntries(Object.keys(a.secrets).map((k) => [k, '(sealed)']));
    this.guardHostIdentity(actor ?? CONFIG_FILE, a.kind, { ...stored.fields, ...sealedNames });
    const sourceOf = (id: string) => (Object.hasOwn(sources, id) ? sources[id] : undefined);
    const candidates = input.source
      ? [sourceOf(input.source)].filter((s) => s && accountKindsOf(s).includes(a.kind))
      : Object.values(sources).filter((s) => accountKindsOf(s).includes(a.kind));
    if (input.source && !candidates.length)
      throw invalid([`source: "${input.source}" is not a source of ${a.kind} accounts`]);
    for (const source of candidates) {
      const settings = validateSettings(source!.id, input.settings ?? {});
      if (!settings.ok) {
        if (input.source || input.settings) throw invalid(settings.issues, 'settings');
        continue;
      }
      const opened = await this.openAccount(a);
      if (!opened.ok) return opened;
      const issues = collectorOriginIssues(source!, { settings: settings.settings }, a.name, opened.allowed);
      if (issues.length) throw invalid(issues);
      return testConnection(
        source!,
        opened.kind,
        opened.account,
        settings.settings,
        undefined,
        undefined,
        opened.credentialOrigins,
      );
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

  /**
   * A collector definition as sent, with the stored secret settings of `existing` kept where it leaves
   * them out or sends them back masked; a new one may hold no masks. A definition that would send the
   * stored secrets to another URL must enter them again.
   */
  private async withStoredSecrets(def: Record<string, unknown>, existing?: CollectorRecord) {
    const id = typeof def.source === 'string' && Object.hasOwn(sources, def.source) ? def.source : undefined;
    if (!id) return def; // an unknown source: validation says so
    const spec = collectorSpec(sources[id]!);
    if (!existing || existing.source !== id) {
      refuseMasks(def, spec);
      return def;
    }
    const sealed = { ...(await this.ingest.legacySecrets(existing)), ...existing.secrets };
    const merged = mergeSecrets(def, { plain: existing.config, sealed }, spec, this.runtime.secrets);
    if (merged.issues.length) throw invalid(merged.issues);
    return merged.value;
  }

  /**
   * Validates a collector definition (secrets in clear): its fields, source, account, destinations and
   * site; early access; that its URL settings keep its account's credentials where they may go; and
   * where those URLs lead (refused: link-local and metadata; noted: private addresses).
   */
  private async validateCollector(raw: unknown, pending?: AccountRecord) {
    const accounts = [...(await this.store.listAccounts()), ...(pending ? [pending] : [])];
    const destinations = new Set((await this.store.listDestinations()).map((d) => d.name));
    const sites = (await this.store.listSites()).map((s) => s.name);
    const r = checkCollector(raw, {
      accountKind: (n) => accounts.find((a) => a.name === n)?.kind,
      hasDestination: (n) => destinations.has(n),
      sites,
      accountNames: accounts.map((a) => a.name),
      destinationNames: [...destinations],
    });
    if (!r.ok) throw invalid(r.issues);
    const config = r.collector;
    const source = sources[config.source]!;
    if (source.stability !== 'ga' && !(await this.earlyAccess()))
      throw new ApiError(
        403,
        'early_access_required',
        `${source.title} is an early-access source; an admin must enable early access in Settings first.`,
      );
    const account = accounts.find((a) => a.name === config.account);
    if (account && this.accountKind(account.kind).secrets.length) {
      const allowed = this.allowedOrigins(account, await this.store.listCollectors());
      const issues = collectorOriginIssues(source, config, account.name, allowed);
      if (issues.length) throw invalid(issues);
    }
    const net = await networkCheck(
      collectorUrls(source, config).map((u) => ({ path: u.path, value: u.url })),
    );
    if (net.refused.length) throw invalid(net.refused);
    return { config, source, notes: net.notes };
  }

  /** A validated definition split for the store: plain settings, and the secret ones sealed. */
  private sealCollector(config: CollectorConfig, source: SourceDef) {
    const { plain, sealed } = sealSecrets(
      config as unknown as Record<string, unknown>,
      collectorSpec(source).secrets,
      this.runtime.secrets,
    );
    const hmac = (plain.settings as { hmac?: object } | undefined)?.hmac;
    if (isPushSource(source) && hmac && !sealed['settings.hmac.secret'])
      throw invalid(['settings.hmac.secret: required: the shared secret senders sign requests with']);
    return { plain, sealed };
  }

  private async collectorSummary(c: CollectorRecord, now = Date.now()) {
    const [runs, volume, last, account, failures, answers] = await Promise.all([
      this.store.listRuns(c.id, 10),
      this.store.volume(c.id, new Date(now - 7 * DAY - 3_600_000).toISOString()),
      this.store.lastEventTime(c.id),
      c.account ? this.store.getAccount(c.account) : undefined,
      this.store.listDeliveryFailures(c.id),
      this.ingest.answers(c, 3_600_000, now),
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
        ingestAnswers: answers,
        buffers: (cfg.destinations ?? []).flatMap((d) => {
          const b = this.runtime.bufferStatus(d);
          return b ? [{ destination: d, ...b }] : [];
        }),
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
    const now = Date.now();
    const [summary, checkpoints, errors, deadLetters, runs, answers] = await Promise.all([
      this.collectorSummary(c, now),
      this.store.listCheckpoints(c.id),
      this.store.listErrors(c.id),
      this.store.listDeadLetters(c.id, 20),
      this.store.listRuns(c.id, 20),
      this.ingest.answers(c, REFUSALS_LOOKBACK_MS, now),
    ]);
    const { _volume, _deliveryFailures, ...rest } = summary;
    return {
      ...rest,
      ...(await this.ingest.view(c, answers, now)),
      config: maskedSecrets(c.config, c.secrets, this.runtime.secrets),
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

  /**
   * Installs a collector. With `newAccount` (the console wizard's inline account) the account is created
   * with it, in one transaction: both or neither, audited as account.create and collector.create.
   */
  async createCollector(actor: Actor, input: In<typeof S.collectorCreate>) {
    const { name, newAccount, ...def } = input;
    if (await this.store.getCollector(name)) throw conflict(`A collector named "${name}" exists.`);
    const pending = newAccount ? await this.inlineAccount(def, newAccount, actor) : undefined;
    const { config, source, notes } = await this.validateCollector(
      await this.withStoredSecrets(pending ? { ...def, account: pending.record.name } : def),
      pending?.record,
    );
    const { plain, sealed } = this.sealCollector(config, source);
    const now = new Date().toISOString();
    const record: CollectorRecord = {
      id: crypto.randomUUID(),
      name,
      source: config.source,
      account: config.account,
      config: plain,
      secrets: sealed,
      enabled: config.enabled,
      createdAt: now,
      updatedAt: now,
    };
    if (pending) {
      try {
        await this.store.putAccountAndCollector(pending.record, record);
      } catch (err) {
        // Another request took a name meanwhile (the store's unique names refused both).
        if (await this.store.getAccount(pending.record.name))
          throw conflict(`An account named "${pending.record.name}" exists.`);
        if (await this.store.getCollector(name)) throw conflict(`A collector named "${name}" exists.`);
        throw err;
      }
      await this.audit(
        actor,
        'account.create',
        'account',
        pending.record.name,
        undefined,
        withNotes(this.accountView(pending.record, [record]), pending.notes),
      );
    } else await this.store.putCollector(record);
    const ingestToken = await this.ingest.created(record);
    await this.audit(
      actor,
      'collector.create',
      'collector',
      name,
      undefined,
      this.auditedCollector(record, notes),
    );
    this.scheduler?.sync(name);
    const view = await this.getCollector(name);
    return ingestToken ? { ...view, ingestToken } : view; // the token is shown this once
  }

  /** A collector as the audit log keeps it: its definition with secrets masked, and network notes. */
  private auditedCollector(c: CollectorRecord, notes: string[] = []) {
    return withNotes(maskedSecrets(c.config, c.secrets, this.runtime.secrets), notes);
  }

  async updateCollector(actor: Actor, name: string, input: In<typeof S.collectorUpdate>) {
    const existing = await this.requireCollector(name);
    const def = await this.withStoredSecrets(input as Record<string, unknown>, existing);
    const { config, source, notes } = await this.validateCollector(def);
    const { plain, sealed } = this.sealCollector(config, source);
    if (existing.source !== config.source) await this.store.resetCheckpoint(existing.id);
    const record: CollectorRecord = {
      ...existing,
      source: config.source,
      account: config.account,
      config: plain,
      secrets: sealed,
      enabled: config.enabled,
      updatedAt: new Date().toISOString(),
    };
    await this.store.putCollector(record);
    const ingestToken = await this.ingest.updated(record); // a collector that became a push collector
    await this.audit(
      actor,
      'collector.update',
      'collector',
      name,
      this.auditedCollector(existing),
      this.auditedCollector(record, notes),
    );
    this.scheduler?.sync(name);
    const view = await this.getCollector(name);
    return ingestToken ? { ...view, ingestToken } : view;
  }

  async deleteCollector(actor: Actor, name: string) {
    const existing = await this.requireCollector(name);
    await this.scheduler?.remove(name);
    await this.store.deleteCollector(name);
    await this.ingest.remove(existing.id);
    await this.audit(actor, 'collector.delete', 'collector', name, this.auditedCollector(existing));
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
    if (input.stream !== undefined && !own(sources[c.source]?.streams ?? {}, input.stream))
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

  /**
   * A definition to test or preview: a new one, or an installed collector's (by `name`) whose secret
   * settings may be left out or masked.
   */
  private async probeDefinition(input: In<typeof S.collectorTest>, actor: Actor | undefined) {
    const { name, newAccount, ...def } = input;
    const existing = name ? await this.store.getCollector(name) : undefined;
    const pending = newAccount ? await this.inlineAccount(def, newAccount, actor) : undefined;
    const checked = await this.validateCollector(
      await this.withStoredSecrets(pending ? { ...def, account: pending.record.name } : def, existing),
      pending?.record,
    );
    /** The collector's account: the new one (not stored), or the stored one. */
    const account = async () => pending?.record ?? (await this.requireAccount(checked.config.account!));
    return { ...checked, account };
  }

  /** Test Connection before Install: validates the definition and runs the source's probe. */
  async testCollector(input: In<typeof S.collectorTest>, actor?: Actor) {
    const { config, source, account } = await this.probeDefinition(input, actor);
    if (isPushSource(source)) return { ok: true as const }; // nothing to reach: the vendor calls us
    const opened = await this.openAccount(await account());
    if (!opened.ok) return opened;
    const streams = streamsOf(source, config.settings, config.streams);
    return testConnection(
      source,
      opened.kind,
      opened.account,
      config.settings,
      streams,
      undefined,
      opened.credentialOrigins,
    );
  }

  /**
   * Preview before Install: validates the definition and reads one page of its first window, returning
   * the envelopes it would emit, the next page found and warnings; commits and delivers nothing.
   */
  async previewCollector(input: In<typeof S.collectorPreview>, actor?: Actor) {
    const { config, source, account } = await this.probeDefinition(input, actor);
    if (!source.preview) {
      const able = Object.values(sources).filter((s) => s.preview);
      throw invalid([
        `source: ${config.source} has no preview (sources with one: ${able.map((s) => s.id).join(', ')})`,
      ]);
    }
    const opened = await this.openAccount(await account());
    if (!opened.ok) return opened;
    return previewCollector(source, opened.kind, opened.account, config.settings, {
      collector: input.name ?? 'preview',
      sitename: config.site,
      timezone: config.timezone,
      credentialOrigins: opened.credentialOrigins,
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
    const clash = siteClash(
      input.name,
      (await this.store.listSites()).map((s) => s.name),
    );
    if (clash !== undefined) throw siteConflict(input.name, clash);
    await this.store.putSite(input.name);
    await this.audit(actor, 'site.create', 'site', input.name, undefined, { name: input.name });
    return { name: input.name };
  }

  async renameSite(actor: Actor, name: string, input: In<typeof S.siteCreate>) {
    const all = await this.store.listSites();
    if (!all.some((s) => s.name === name)) throw notFound('site', name);
    // A change of case only ("hq" to "HQ") is the same site renamed.
    const clash = siteClash(
      input.name,
      all.map((s) => s.name).filter((n) => n !== name),
    );
    if (clash !== undefined) throw siteConflict(input.name, clash);
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
    const buffer = (d.config as { buffer?: unknown }).buffer ? this.runtime.bufferStatus(d.name) : undefined;
    return {
      name: d.name,
      kind: d.kind,
      config: maskedSecrets(d.config, d.secrets, this.runtime.secrets),
      usedBy,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      // What this process's buffer holds (docs/destinations.md, "Buffering"); absent without a buffer.
      ...(buffer ? { buffer } : {}),
    };
  }

  /**
   * Builds a destination with a buffer at once, so its status shows and what it holds drains (the
   * runtime builds the others when a collector first uses them). A destination that cannot be built
   * yet (an account to come) is built then.
   */
  private async startBuffer(name: string): Promise<void> {
    await this.runtime.destination(name).catch(() => undefined);
  }

  /** Batches still in a destination's buffer are nobody else's: the buffer may not go with them. */
  private refuseHeldBuffer(name: string, what: string): void {
    const held = this.runtime.heldBatches(name);
    if (held)
      throw conflict(
        `Destination "${name}" has ${held} batch(es) in its buffer not yet delivered; ${what} would strand them. Let it drain first (bring the destination back), or, to discard them, stop Tributary and remove the directory buffers/${name} in its data directory.`,
      );
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
    return sealSecrets(c as Record<string, unknown>, destinationSpecOf(c.kind).secrets, this.runtime.secrets);
  }

  /** Where a destination sends events, for the network check (refused: link-local; noted: private). */
  private async destinationNetwork(plain: Record<string, unknown>) {
    const net = await networkCheck(
      destinationSpecOf(plain.kind).origins.flatMap((p) =>
        valuesAt(plain, p).map((v) => ({ ...v, path: `config.${v.path}` })),
      ),
    );
    if (net.refused.length) throw invalid(net.refused);
    return net.notes;
  }

  /**
   * A file destination's path resolved and checked (destinations/file/file-scope.ts): through the API
   * it must stay inside the output root; only the operator's config file may name other host paths.
   */
  private async placeDestination(actor: Actor, config: DestinationConfig, baseDir: string) {
    if (config.kind !== 'file') return config;
    const r = await placeFile(config.path, this.runtime.files, { operator: actor === CONFIG_FILE, baseDir });
    if (!r.ok) throw invalid([`path: ${r.problem}`], 'config');
    return { ...config, path: r.path };
  }

  /**
   * What a destination kind needs of the control plane: early access for an early-access kind (when it
   * is new or changes kind), and for kinds sending with an account's token, an account that exists, is
   * of the right kind and may send its credentials where the destination points.
   */
  private async checkDestinationKind(
    config: DestinationConfig,
    previousKind?: string,
    accountOf: (name: string) => Promise<{ kind: string; allowed: OriginSet } | undefined> = (n) =>
      this.storedAccountOrigins(n),
  ) {
    const kind = own(destinationKinds, config.kind);
    if (!kind) return;
    if (config.buffer && this.runtime.cluster) throw invalid([`buffer: ${BUFFER_IN_CLUSTER_MODE}`], 'config');
    if (kind.stability === 'early-access' && previousKind !== config.kind && !(await this.earlyAccess()))
      throw invalid(
        [`kind: ${config.kind} is an early-access destination; enable early access first`],
        'config',
      );
    const name = (config as { account?: string }).account;
    // Kinds that may use an account may also take keys of their own (s3, azure-blob): no account named.
    if (!kind.accountKinds?.length || name === undefined) return;
    const account = await accountOf(name);
    if (!account) throw invalid([`account: there is no account "${name}"; create it first`], 'config');
    if (!kind.accountKinds.includes(account.kind))
      throw invalid(
        [
          `account: "${name}" is a ${account.kind} account; a ${config.kind} destination needs a ${kind.accountKinds.join(' or ')} account`,
        ],
        'config',
      );
    // Where the account's credentials go: the endpoint (a kind without one uses its vendor's own hosts).
    const endpoint = (config as { endpoint?: string }).endpoint;
    if (endpoint && originOf(endpoint) && !account.allowed.allows(endpoint))
      throw invalid(
        [
          `endpoint: account "${name}" sends its credentials only to ${account.allowed.patterns.join(', ') || 'the origins saved with it (none yet)'}; to use ${originOf(endpoint)}, add it to the account's origins (entering its secret again)`,
        ],
        'config',
      );
  }

  private async storedAccountOrigins(name: string) {
    const account = await this.store.getAccount(name);
    if (!account) return undefined;
    return { kind: account.kind, allowed: this.allowedOrigins(account, await this.store.listCollectors()) };
  }

  /** Destinations that name the account `name`. */
  private async destinationsUsing(name: string): Promise<string[]> {
    return (await this.store.listDestinations())
      .filter((d) => (d.config as { account?: string }).account === name)
      .map((d) => d.name);
  }

  async createDestination(
    actor: Actor,
    input: { name: string; config: DestinationConfig },
    baseDir = this.runtime.baseDir,
  ) {
    if (await this.store.getDestination(input.name))
      throw conflict(`A destination named "${input.name}" exists.`);
    refuseMasks(input.config as Record<string, unknown>, destinationSpecOf(input.config.kind), 'config');
    await this.checkDestinationKind(input.config);
    const placed = await this.placeDestination(actor, input.config, baseDir);
    const { plain, sealed } = this.sealDestination(placed, baseDir);
    const notes = await this.destinationNetwork(plain);
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
    if (input.config.buffer) await this.startBuffer(input.name);
    const view = this.destinationView(record, []);
    await this.audit(
      actor,
      'destination.create',
      'destination',
      input.name,
      undefined,
      withNotes(view, notes),
    );
    return view;
  }

  /**
   * `config` is the raw input: secret fields left out or sent back masked keep their stored values; the
   * URL events (and the secrets) go to changes only with the secrets entered again.
   */
  async updateDestination(actor: Actor, name: string, rawConfig: unknown, baseDir = this.runtime.baseDir) {
    const existing = await this.requireDestination(name);
    const incoming = (rawConfig ?? {}) as Record<string, unknown>;
    const sameKind = incoming.kind === existing.kind;
    const merged = mergeSecrets(
      incoming,
      { plain: existing.config, sealed: sameKind ? existing.secrets : {} },
      destinationSpecOf(incoming.kind),
      this.runtime.secrets,
      'config.',
    );
    if (merged.issues.length) throw invalid(merged.issues);
    const r = parseDestinationConfig(merged.value);
    if (!r.success) throw invalid(formatIssues(r.error), 'config');
    await this.checkDestinationKind(r.data, existing.kind);
    const placed = await this.placeDestination(actor, r.data, baseDir);
    const { plain, sealed } = this.sealDestination(placed, baseDir);
    const notes = await this.destinationNetwork(plain);
    const record: DestinationRecord = {
      ...existing,
      kind: r.data.kind,
      config: plain,
      secrets: sealed,
      updatedAt: new Date().toISOString(),
    };
    if (!r.data.buffer) this.refuseHeldBuffer(name, 'turning its buffer off');
    const usedBy = await this.usedBy(this.usesDestination(name));
    const before = this.destinationView(existing, usedBy);
    await this.store.putDestination(record);
    if (r.data.buffer) await this.startBuffer(name);
    const after = this.destinationView(record, usedBy);
    await this.audit(actor, 'destination.update', 'destination', name, before, {
      ...withNotes(after, notes),
      ...(merged.entered.length ? { secretsEntered: merged.entered } : {}),
    });
    return after;
  }

  async deleteDestination(actor: Actor, name: string) {
    const existing = await this.requireDestination(name);
    const usedBy = await this.usedBy(this.usesDestination(name));
    if (usedBy.length)
      throw conflict(
        `Destination "${name}" is used by collector(s) ${usedBy.join(', ')}; change or delete them first.`,
      );
    this.refuseHeldBuffer(name, 'deleting it');
    await this.store.deleteDestination(name);
    await this.runtime.destination(name); // closes the cached instance
    await this.audit(actor, 'destination.delete', 'destination', name, this.destinationView(existing, []));
  }

  /**
   * A probe write where the kind allows it (file: a writable directory; http: a request). Whatever
   * fails — the target, or a stored secret this instance cannot decrypt — comes back as a classified
   * error with a recommended action, never as a server error.
   */
  async testDestination(name: string) {
    const d = await this.requireDestination(name);
    let probe: Destination | undefined;
    try {
      await this.runtime.refreshEgress();
      const config = openSecrets(d.config, d.secrets, this.runtime.secrets) as DestinationConfig;
      probe = createDestination(`${name}-test`, config, this.runtime.destinationContext());
      if (probe.test) await probe.test(AbortSignal.timeout(30_000));
      return { ok: true as const, probed: Boolean(probe.test) };
    } catch (err) {
      const e = err instanceof TributaryError ? err.toJSON() : undefined;
      return {
        ok: false as const,
        error: {
          type: e?.type ?? 'transient',
          code: e?.code ?? 'destination_error',
          message: snippet(e?.message ?? (err as Error)?.message ?? String(err), 500),
          action: e?.action ?? `Check destination ${name}.`,
        },
      };
    } finally {
      await probe?.close();
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
    // A destination's account: the file's definition (applied first), else the stored one.
    const fileAccountOrigins = async (n: string) => {
      const a = Object.hasOwn(config.accounts, n) ? config.accounts[n] : undefined;
      const kind = a ? own(accountKinds, a.kind) : undefined;
      if (!a || !kind) return this.storedAccountOrigins(n);
      return {
        kind: a.kind,
        allowed: new OriginSet(accountOrigins(kind, a.fields, normalizeOrigins(a.origins ?? []))),
      };
    };
    for (const [name, d] of Object.entries(config.destinations)) {
      const existing = destinations.find((x) => x.name === name);
      await this.checkDestinationKind(d, existing?.kind, fileAccountOrigins).catch((err) => {
        if (!(err instanceof ApiError)) throw err;
        for (const i of err.issues ?? [])
          issues.push(`destinations.${name}.${i.path.slice('config.'.length)}: ${i.message}`);
      });
      await this.placeDestination(actor, d, config.baseDir).catch((err) => {
        if (!(err instanceof ApiError)) throw err;
        for (const i of err.issues ?? [])
          issues.push(`destinations.${name}.${i.path.slice('config.'.length)}: ${i.message}`);
      });
    }
    const earlyAccess = await this.earlyAccess();
    for (const [name, c] of Object.entries(config.collectors))
      if (sources[c.source]?.stability !== 'ga' && !earlyAccess)
        issues.push(
          `collectors.${name}.source: ${c.source} is an early-access source; enable early access first`,
        );
    const prune = {
      collectors: opts.prune
        ? collectors.filter((c) => !Object.hasOwn(config.collectors, c.name)).map((c) => c.name)
        : [],
      destinations: opts.prune
        ? destinations.filter((d) => !Object.hasOwn(config.destinations, d.name)).map((d) => d.name)
        : [],
      accounts: opts.prune
        ? accounts.filter((a) => !Object.hasOwn(config.accounts, a.name)).map((a) => a.name)
        : [],
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
    for (const [name, d] of Object.entries(config.destinations)) {
      const ref = (d as { account?: string }).account;
      if (ref && prune.accounts.includes(ref))
        issues.push(
          `destinations.${name}: uses account "${ref}", which --prune would delete; name it in the file`,
        );
      const wanted = own(destinationKinds, d.kind)?.accountKinds;
      const refKind = ref
        ? Object.hasOwn(config.accounts, ref)
          ? config.accounts[ref]!.kind
          : accounts.find((a) => a.name === ref)?.kind
        : undefined;
      if (ref && wanted && !refKind)
        issues.push(`destinations.${name}.account: there is no account "${ref}"`);
      else if (ref && wanted && refKind && !wanted.includes(refKind))
        issues.push(
          `destinations.${name}.account: "${ref}" is a ${refKind} account; a ${d.kind} destination needs a ${wanted.join(' or ')} account`,
        );
    }
    if (issues.length) throw invalid(issues);

    const out = {
      created: [] as string[],
      updated: [] as string[],
      deleted: [] as string[],
      /** New push collectors' ingest tokens, by collector: shown this once, as the API's create does. */
      ingestTokens: {} as Record<string, string>,
    };
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
          origins: a.origins,
        });
        out.created.push(`account/${name}`);
      } else if (!this.sameAccount(existing, a)) {
        await this.updateAccount(actor, name, {
          fields: a.fields,
          requestsPerMinute: a.requestsPerMinute ?? null,
          origins: a.origins ?? [],
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
      const placed = await this.placeDestination(actor, d, config.baseDir);
      const { plain, sealed } = this.sealDestination(placed, config.baseDir);
      const same =
        existing.kind === d.kind &&
        JSON.stringify(existing.config) === JSON.stringify(plain) &&
        sameSecrets(existing.secrets, sealed, this.runtime.secrets);
      if (!same) {
        await this.updateDestination(actor, name, d, config.baseDir);
        out.updated.push(`destination/${name}`);
      }
    }
    for (const [name, c] of Object.entries(config.collectors)) {
      const existing = collectors.find((x) => x.name === name);
      let view: object | undefined;
      if (!existing) {
        view = await this.createCollector(actor, { name, ...c });
        out.created.push(`collector/${name}`);
      } else if (!this.sameCollector(existing, c)) {
        view = await this.updateCollector(actor, name, c);
        out.updated.push(`collector/${name}`);
      }
      if (view && 'ingestToken' in view && typeof view.ingestToken === 'string')
        out.ingestTokens[name] = view.ingestToken;
    }
    for (const name of prune.collectors) await this.deleteCollector(actor, name);
    for (const name of prune.destinations) await this.deleteDestination(actor, name);
    for (const name of prune.accounts) await this.deleteAccount(actor, name);
    for (const name of prune.sites) await this.deleteSite(actor, name);
    for (const [kind, list] of Object.entries(prune))
      out.deleted.push(...list.map((n) => `${kind.slice(0, -1)}/${n}`));
    return out;
  }

  /** Whether a config file's account (secrets in clear) is what the store holds. */
  private sameAccount(existing: AccountRecord, a: AccountConfig): boolean {
    const kind = this.accountKind(existing.kind);
    const stored = accountParts(existing);
    if (stored.requestsPerMinute !== a.requestsPerMinute) return false;
    if (JSON.stringify(stored.origins ?? []) !== JSON.stringify(normalizeOrigins(a.origins ?? [])))
      return false;
    let open: Record<string, unknown>;
    try {
      open = openSecrets(stored.fields, existing.secrets, this.runtime.secrets);
    } catch {
      return false; // an unreadable secret: the file's value replaces it
    }
    const keys = new Set([...Object.keys(open), ...Object.keys(a.fields), ...kind.secrets]);
    return [...keys].every((k) => JSON.stringify(open[k]) === JSON.stringify(a.fields[k]));
  }

  /** Whether a config file's collector (secrets in clear) is what the store holds. */
  private sameCollector(existing: CollectorRecord, c: CollectorConfig): boolean {
    const source = sources[c.source];
    if (!source || existing.source !== c.source) return false;
    const { plain, sealed } = sealSecrets(
      c as unknown as Record<string, unknown>,
      collectorSpec(source).secrets,
      this.runtime.secrets,
    );
    return (
      JSON.stringify(existing.config) === JSON.stringify(plain) &&
      sameSecrets(existing.secrets, sealed, this.runtime.secrets)
    );
  }
}

/** 409 for a site name taken (ignoring case), with the rule, at the name field for forms to show. */
function siteConflict(name: string, existing: string): ApiError {
  const message =
    name === existing
      ? `a site named "${existing}" exists: ${SITE_NAME_RULE}`
      : `"${name}" is the site "${existing}" ignoring case: ${SITE_NAME_RULE}`;
  return new ApiError(409, 'conflict', `${message[0]!.toUpperCase()}${message.slice(1)}.`, [
    { path: 'name', message },
  ]);
}

/** Refuses values in the mask's shape where a new object's secrets go: a mask is never a secret. */
function refuseMasks(value: Record<string, unknown>, spec: SecretSpec, prefix?: string): void {
  const masked = maskedPaths(value, spec);
  if (masked.length)
    throw invalid(
      masked.map(
        (p) => `${p}: a masked value (as the API shows secrets), not a secret: enter the secret itself`,
      ),
      prefix,
    );
}

/** An account's secrets and origin fields as paths of `{ fields, origins }` (its update's shape). */
function accountSpec(kind: AccountKind): SecretSpec {
  return {
    secrets: kind.spec.secrets.map((p) => `fields.${p}`),
    origins: [...kind.spec.origins.map((p) => `fields.${p}`), 'origins'],
  };
}

/** Origins as stored: each URL's origin, once, sorted. */
function normalizeOrigins(list: string[]): string[] {
  return [...new Set(list.map((u) => originOf(u) ?? u))].sort();
}

/** An audited state with the network notes of what was saved (private addresses). */
function withNotes<T extends object>(view: T, notes: string[]): T & { network?: string[] } {
  return notes.length ? { ...view, network: notes } : view;
}

/** The streams a source collects when the collector names none (its defaults for empty settings). */
function defaultStreamsOf(source: SourceDef): string[] {
  try {
    return streamsOf(source, {});
  } catch {
    return Object.keys(source.streams);
  }
}
