import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { accountKinds } from '../accounts/index.ts';
import { parseDuration } from '../core/duration.ts';
import { byName, own, RESERVED_KEY_PROBLEM, reservedKeyPaths } from '../core/names.ts';
import { accountKindsOf, accountKindsText, isPushSource } from '../core/source.ts';
import { formatIssues, serviceUrl, timeZone } from '../core/validation.ts';
import { type DestinationConfig, destinationConfigSchema, destinationSpec } from '../destinations/index.ts';
import {
  accountOrigins,
  collectorSpec,
  collectorUrls,
  originMatches,
  originOf,
} from '../engine/credential-origins.ts';
import { sources } from '../sources/index.ts';
import { maskedPaths } from '../store/secret-fields.ts';

/**
 * The config file (YAML or JSON): sites, accounts, destinations and collectors. Parsed once at the
 * boundary: `${env:NAME}` and `${file:PATH}` are resolved, everything is validated, and every problem
 * is reported with its path. What comes out is trusted by everything after.
 */

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

const duration = (what: string, min?: { ms: number; text: string }) =>
  z.string().superRefine((v, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected ${what} such as 30s, 5m, 1h or 7d` });
      return;
    }
    if (min && ms < min.ms)
      ctx.addIssue({ code: 'custom', message: `expected ${what} of at least ${min.text}, got ${v}` });
  });

/** Collectors run at most this often: a shorter interval would only hammer the vendor's API. */
export const MIN_INTERVAL = { ms: 10_000, text: '10s' };

export const nameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    'expected a name of letters, digits, ".", "_" or "-" (at most 63)',
  );

export const collectorSchema = z
  .object({
    source: z.string({ error: 'required' }).describe('Source id, e.g. okta (see `tributary sources`)'),
    account: z.string().optional().describe('Name of the account whose credentials the collector uses'),
    destinations: z.array(z.string()).min(1, 'name at least one destination').describe('Destination names'),
    interval: duration('an interval', MIN_INTERVAL)
      .default('5m')
      .describe('How often the collector runs (at least 10s)'),
    lookback: duration('a lookback').default('1d').describe('How far back the first run starts'),
    start: z.iso
      .datetime({ offset: true, message: 'expected an ISO-8601 time such as 2026-11-01T00:00:00Z' })
      .optional(),
    lag: duration('a lag').optional().describe("Override the source's lag behind now"),
    overlap: duration('an overlap').optional().describe('Re-read this far behind the saved position'),
    site: z.string().optional().describe('Site name stamped on every event as sitename'),
    timezone: timeZone().optional().describe('IANA time zone stamped on every event as timezone'),
    streams: z
      .array(z.string())
      .min(1)
      .optional()
      .describe("Streams to collect (default: the source's defaults)"),
    settings: z.record(z.string(), z.unknown()).default({}),
    enabled: z.boolean().default(true),
  })
  .strict();

export type CollectorConfig = z.infer<typeof collectorSchema>;

const fileSchema = z
  .object({
    sites: z.array(nameSchema).default([]),
    accounts: z.record(nameSchema, z.object({ kind: z.string() }).loose()).default({}),
    destinations: z.record(nameSchema, z.unknown()).default({}),
    collectors: z.record(nameSchema, z.unknown()).default({}),
  })
  .strict();

export interface AccountConfig {
  kind: string;
  /** Overrides the account kind's request budget (e.g. an Okta org with a raised rate limit). */
  requestsPerMinute?: number;
  /**
   * Origins the credentials may go to beyond the kind's own: those listed, and those of this file's
   * collectors that use the account (the operator's file holds the secret, so it binds them).
   */
  origins?: string[];
  /** Validated fields, secrets included in clear: keep in memory only. */
  fields: Record<string, unknown>;
}

export interface Config {
  baseDir: string;
  sites: string[];
  accounts: Record<string, AccountConfig>;
  destinations: Record<string, DestinationConfig>;
  collectors: Record<string, CollectorConfig>;
}

/** Replaces `${env:NAME}` and `${file:PATH}` in every string; missing ones become issues. */
function substitute(
  value: unknown,
  path: string[],
  env: NodeJS.ProcessEnv,
  baseDir: string,
  issues: string[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{(env|file):([^}]+)\}/g, (_m, kind: string, ref: string) => {
      if (kind === 'env') {
        const v = env[ref];
        if (v === undefined) issues.push(`${path.join('.')}: environment variable ${ref} is not set`);
        return v ?? '';
      }
      try {
        return readFileSync(resolve(baseDir, ref), 'utf8').replace(/\r?\n$/, '');
      } catch {
        issues.push(`${path.join('.')}: cannot read file ${ref}`);
        return '';
      }
    });
  }
  if (Array.isArray(value))
    return value.map((v, i) => substitute(v, [...path, String(i)], env, baseDir, issues));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, [...path, k], env, baseDir, issues)]),
    );
  }
  return value;
}

/** What already exists in the store, so a file applied with `tributary apply` may name it. */
export interface KnownNames {
  /** Account name -> kind. */
  accounts: Record<string, string>;
  destinations: string[];
  sites: string[];
}

export function parseConfig(
  text: string,
  opts: { baseDir: string; env?: NodeJS.ProcessEnv; known?: KnownNames },
): Config {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true }) ?? {};
  } catch (err) {
    throw new ConfigError([`not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  const reserved = reservedKeyPaths(doc);
  if (reserved.length) throw new ConfigError(reserved.map((p) => `${p}: ${RESERVED_KEY_PROBLEM}`));
  const refIssues: string[] = [];
  const resolved = substitute(doc, [], opts.env ?? process.env, opts.baseDir, refIssues);
  // A field whose reference is missing is reported once, for the reference, not again for its value.
  const unresolved = refIssues.map((i) => i.slice(0, i.indexOf(': ') + 2));
  const issues: string[] = [];
  const fail = () =>
    new ConfigError([...refIssues, ...issues.filter((i) => !unresolved.some((p) => i.startsWith(p)))]);
  const top = fileSchema.safeParse(resolved);
  if (!top.success) {
    issues.push(...formatIssues(top.error));
    throw fail();
  }
  const file = top.data;
  const config: Config = {
    baseDir: opts.baseDir,
    sites: file.sites,
    // Without a prototype: `config.collectors[name]` finds nothing for a name such as "constructor".
    accounts: byName([]),
    destinations: byName([]),
    collectors: byName([]),
  };

  for (const [n, raw] of Object.entries(file.accounts)) {
    const kind = accountKinds[raw.kind];
    if (!kind) {
      issues.push(
        `accounts.${n}.kind: unknown account kind "${raw.kind}" (expected one of ${Object.keys(accountKinds).join(', ')})`,
      );
      continue;
    }
    const { kind: _k, requestsPerMinute, origins, ...fields } = raw;
    const rpm = z.number().positive().max(1_000_000).optional().safeParse(requestsPerMinute);
    if (!rpm.success) issues.push(...formatIssues(rpm.error, ['accounts', n, 'requestsPerMinute']));
    const org = z.array(serviceUrl()).max(20).optional().safeParse(origins);
    if (!org.success) issues.push(...formatIssues(org.error, ['accounts', n, 'origins']));
    issues.push(...maskedPaths(fields, kind.spec).map((p) => maskIssue(['accounts', n, p])));
    const r = kind.fields.safeParse(fields);
    if (r.success)
      config.accounts[n] = {
        kind: raw.kind,
        fields: r.data as Record<string, unknown>,
        requestsPerMinute: rpm.data,
        origins: org.data,
      };
    else issues.push(...formatIssues(r.error, ['accounts', n]));
  }

  for (const [n, raw] of Object.entries(file.destinations)) {
    if (raw && typeof raw === 'object')
      issues.push(
        ...maskedPaths(raw as Record<string, unknown>, destinationSpec).map((p) =>
          maskIssue(['destinations', n, p]),
        ),
      );
    const r = destinationConfigSchema.safeParse(raw);
    if (r.success) config.destinations[n] = r.data;
    else issues.push(...formatIssues(r.error, ['destinations', n]));
  }

  const accountKind = new Map(Object.entries(opts.known?.accounts ?? {}));
  for (const [n, a] of Object.entries(file.accounts)) accountKind.set(n, a.kind);
  const destinations = new Set([...(opts.known?.destinations ?? []), ...Object.keys(file.destinations)]);
  const sites = new Set([...(opts.known?.sites ?? []), ...file.sites]);
  const refs: CollectorRefs = {
    accountKind: (n) => accountKind.get(n),
    hasDestination: (n) => destinations.has(n),
    sites: [...sites],
  };
  for (const [n, raw] of Object.entries(file.collectors)) {
    const source = (raw as { source?: unknown })?.source;
    if (typeof source === 'string' && Object.hasOwn(sources, source))
      issues.push(
        ...maskedPaths(raw as Record<string, unknown>, collectorSpec(sources[source]!)).map((p) =>
          maskIssue(['collectors', n, p]),
        ),
      );
    const r = checkCollector(raw, refs, ['collectors', n]);
    if (r.ok) config.collectors[n] = r.collector;
    else issues.push(...r.issues);
  }
  // The file holds the accounts' secrets: the URLs its own collectors give them are theirs to go to.
  for (const c of Object.values(config.collectors)) {
    const a = c.account ? config.accounts[c.account] : undefined;
    if (!a) continue;
    const own = accountOrigins(accountKinds[a.kind]!, a.fields);
    const extra = collectorUrls(sources[c.source]!, c)
      .map((u) => originOf(u.url)!)
      .filter((o) => !own.some((p) => originMatches(p, o)));
    if (extra.length) a.origins = [...new Set([...(a.origins ?? []), ...extra])];
  }
  if (issues.length || refIssues.length) throw fail();
  return config;
}

/** What a collector may refer to: accounts (with their kind), destinations and sites. */
export interface CollectorRefs {
  accountKind(name: string): string | undefined;
  hasDestination(name: string): boolean;
  sites: string[];
}

/**
 * Validates one collector definition — its fields, the source's settings and streams, and that the
 * account (of the source's kind), destinations and site it names exist. The config file and the API
 * both validate through here. Issues are `path: message`, the path prefixed with `at`.
 */
export function checkCollector(
  raw: unknown,
  refs: CollectorRefs,
  at: string[] = [],
): { ok: true; collector: CollectorConfig } | { ok: false; issues: string[] } {
  const issues: string[] = [];
  const path = (p: string) => [...at, p].join('.');
  const r = collectorSchema.safeParse(raw);
  if (!r.success) return { ok: false, issues: formatIssues(r.error, at) };
  const c = r.data;
  const source = sources[c.source];
  if (!source)
    return {
      ok: false,
      issues: [`${path('source')}: unknown source "${c.source}" (see \`tributary sources\`)`],
    };
  const kind = c.account ? refs.accountKind(c.account) : undefined;
  if (isPushSource(source)) {
    if (c.account) issues.push(`${path('account')}: ${c.source} receives pushed events and uses no account`);
  } else if (!c.account) issues.push(`${path('account')}: required (a ${accountKindsText(source)} account)`);
  else if (!kind) issues.push(`${path('account')}: no account named "${c.account}"`);
  else if (!accountKindsOf(source).includes(kind))
    issues.push(
      `${path('account')}: "${c.account}" is a ${kind} account; ${c.source} needs a ${accountKindsText(source)} account`,
    );
  c.destinations.forEach((d, i) => {
    if (!refs.hasDestination(d)) issues.push(`${path(`destinations.${i}`)}: no destination named "${d}"`);
  });
  if (c.site && !refs.sites.includes(c.site))
    issues.push(
      `${path('site')}: "${c.site}" is not among sites (${refs.sites.join(', ') || 'none defined'})`,
    );
  const settingsCheck = validateSettings(c.source, c.settings);
  if (!settingsCheck.ok) issues.push(...settingsCheck.issues.map((i) => `${path('settings')}.${i}`));
  else c.settings = settingsCheck.settings;
  for (const [i, s] of (c.streams ?? []).entries()) {
    if (!own(source.streams, s))
      issues.push(
        `${path(`streams.${i}`)}: ${c.source} has no stream "${s}" (it has ${Object.keys(source.streams).join(', ')})`,
      );
  }
  return issues.length ? { ok: false, issues } : { ok: true, collector: c };
}

/** Validates a source's settings, with the `baseUrl` override every source accepts. */
export function validateSettings(
  sourceId: string,
  raw: Record<string, unknown>,
): { ok: true; settings: Record<string, unknown> } | { ok: false; issues: string[] } {
  const source = sources[sourceId];
  const { baseUrl, ...rest } = raw;
  const issues: string[] = [];
  let url: string | undefined;
  if (baseUrl !== undefined) {
    const u = z.object({ baseUrl: serviceUrl() }).safeParse({ baseUrl });
    if (u.success) url = u.data.baseUrl;
    else issues.push(...formatIssues(u.error));
  }
  const r = source.settings.safeParse(rest);
  if (!r.success) issues.push(...formatIssues(r.error));
  if (issues.length || !r.success) return { ok: false, issues };
  return { ok: true, settings: { ...(r.data as Record<string, unknown>), ...(url ? { baseUrl: url } : {}) } };
}

const maskIssue = (path: string[]) =>
  `${path.join('.')}: a masked value (as the API shows secrets), not a secret: put the secret itself, or \${env:NAME} / \${file:PATH}`;

export function loadConfigFile(path: string, env?: NodeJS.ProcessEnv, known?: KnownNames): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError([`cannot read config file ${path}`]);
  }
  return parseConfig(text, { baseDir: dirname(resolve(path)), env, known });
}
