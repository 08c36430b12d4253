import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { accountKinds } from '../accounts/index.ts';
import { parseDuration } from '../core/duration.ts';
import { byName, own, RESERVED_KEY_PROBLEM, reservedKeyPaths } from '../core/names.ts';
import { maskedPaths } from '../core/secret-fields.ts';
import { accountKindsOf, accountKindsText, isPushSource } from '../core/source.ts';
import { formatIssues, serviceUrl, suggestion, timeZone } from '../core/validation.ts';
import { type DestinationConfig, destinationSpecOf, parseDestinationConfig } from '../destinations/index.ts';
import {
  accountOrigins,
  collectorSpec,
  collectorUrls,
  originMatches,
  originOf,
} from '../engine/credential-origins.ts';
import { sources } from '../sources/index.ts';

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

/** The rule every name (site, account, destination, collector) follows, as messages state it. */
export const NAME_RULE = 'letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63';

export const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, `expected a name of ${NAME_RULE}`);

/** Site names are unique ignoring case ("HQ" and "hq" are one site): the rule, as messages state it. */
export const SITE_NAME_RULE = `site names are ${NAME_RULE}, and unique ignoring case`;

/** The site `name` would collide with (the same ignoring case), if any. */
export const siteClash = (name: string, sites: Iterable<string>): string | undefined =>
  [...sites].find((s) => s.toLowerCase() === name.toLowerCase());

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
    batchesPerCommit: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe(
        'Most vendor pages delivered and committed together when they were read while an earlier page was being delivered (default 1: every page is delivered and committed on its own): each group is one destination write, fsync and checkpoint commit, so a crash re-delivers up to this many pages (with the same ids; nothing acknowledged is lost either way)',
      ),
  })
  .strict();

export type CollectorConfig = z.infer<typeof collectorSchema>;

/** The file's sections; what is in them is checked entry by entry, so one bad entry hides no other. */
const fileSchema = z
  .object({
    sites: z.array(z.unknown()).default([]),
    accounts: z.record(z.string(), z.unknown()).default({}),
    destinations: z.record(z.string(), z.unknown()).default({}),
    collectors: z.record(z.string(), z.unknown()).default({}),
  })
  .loose();

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
  const doc = parseText(text);
  const reserved = reservedKeyPaths(doc);
  if (reserved.length) throw new ConfigError(reserved.map((p) => `${p}: ${RESERVED_KEY_PROBLEM}`));
  const refIssues: string[] = [];
  const resolved = substitute(doc, [], opts.env ?? process.env, opts.baseDir, refIssues);
  // A field whose reference is missing is reported once, for the reference, not again for its value.
  const unresolved = refIssues.map((i) => i.slice(0, i.indexOf(': ') + 2));
  const issues: string[] = [];
  const fail = () =>
    new ConfigError([...refIssues, ...issues.filter((i) => !unresolved.some((p) => i.startsWith(p)))]);
  // Every section and every entry is checked, whatever else is wrong: one run reports every problem.
  const top = fileSchema.safeParse(resolved);
  if (!top.success) issues.push(...formatIssues(top.error));
  if (resolved && typeof resolved === 'object' && !Array.isArray(resolved))
    for (const key of Object.keys(resolved).filter((k) => !Object.hasOwn(fileSchema.shape, k)))
      issues.push(
        `${key}: unknown section${didYouMean(key, Object.keys(fileSchema.shape))}; a config file has sites, accounts, destinations and collectors`,
      );
  const sections = top.success ? top.data : lenientSections(resolved);
  const entries = (section: 'accounts' | 'destinations' | 'collectors') =>
    Object.entries(sections[section]).filter(([n]) => {
      const r = nameSchema.safeParse(n);
      if (!r.success) issues.push(`${section}.${n}: ${r.error.issues[0]!.message}`);
      return r.success;
    });
  const config: Config = {
    baseDir: opts.baseDir,
    sites: checkSites(sections.sites, opts.known?.sites ?? [], issues),
    // Without a prototype: `config.collectors[name]` finds nothing for a name such as "constructor".
    accounts: byName([]),
    destinations: byName([]),
    collectors: byName([]),
  };

  const fileAccountKinds = new Map<string, string>();
  for (const [n, raw] of entries('accounts')) {
    const a = z.object({ kind: z.string() }).loose().safeParse(raw);
    if (!a.success) {
      issues.push(...formatIssues(a.error, ['accounts', n]));
      continue;
    }
    fileAccountKinds.set(n, a.data.kind);
    const kind = own(accountKinds, a.data.kind);
    if (!kind) {
      issues.push(
        `accounts.${n}.kind: unknown account kind "${a.data.kind}" (expected one of ${Object.keys(accountKinds).join(', ')})`,
      );
      continue;
    }
    const { kind: _k, requestsPerMinute, origins, ...fields } = a.data;
    const rpm = z.number().positive().max(1_000_000).optional().safeParse(requestsPerMinute);
    if (!rpm.success) issues.push(...formatIssues(rpm.error, ['accounts', n, 'requestsPerMinute']));
    const org = z.array(serviceUrl()).max(20).optional().safeParse(origins);
    if (!org.success) issues.push(...formatIssues(org.error, ['accounts', n, 'origins']));
    issues.push(...maskedPaths(fields, kind.spec).map((p) => maskIssue(['accounts', n, p])));
    const r = kind.fields.safeParse(fields);
    if (r.success)
      config.accounts[n] = {
        kind: a.data.kind,
        fields: r.data as Record<string, unknown>,
        requestsPerMinute: rpm.data,
        origins: org.data,
      };
    else issues.push(...formatIssues(r.error, ['accounts', n], { key: 'field' }));
  }

  const fileDestinations = entries('destinations');
  for (const [n, raw] of fileDestinations) {
    if (raw && typeof raw === 'object')
      issues.push(
        ...maskedPaths(
          raw as Record<string, unknown>,
          destinationSpecOf((raw as { kind?: unknown }).kind),
        ).map((p) => maskIssue(['destinations', n, p])),
      );
    // Checked against its own kind's schema: only the kinds the file uses are loaded.
    const r = parseDestinationConfig(raw);
    if (r.success) config.destinations[n] = r.data;
    else issues.push(...formatIssues(r.error, ['destinations', n]));
  }

  // References may name what the store holds, and what this file defines even when it has problems
  // of its own (those are reported once, where they are).
  const accountKind = new Map(Object.entries(opts.known?.accounts ?? {}));
  for (const [n, k] of fileAccountKinds) accountKind.set(n, k);
  const destinations = new Set([...(opts.known?.destinations ?? []), ...fileDestinations.map(([n]) => n)]);
  const refs: CollectorRefs = {
    accountKind: (n) => accountKind.get(n),
    hasDestination: (n) => destinations.has(n),
    sites: [...new Set([...(opts.known?.sites ?? []), ...config.sites])],
    accountNames: [...accountKind.keys()],
    destinationNames: [...destinations],
    accountRef: (n) => (fileAccountKinds.has(n) ? `accounts.${n}` : `account "${n}"`),
  };
  for (const [n, raw] of entries('collectors')) {
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

/**
 * The document, or every YAML syntax error with its line and column and the line quoted (a secret
 * written inline on it masked).
 */
function parseText(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (!doc.errors.length) return doc.toJS() ?? {};
  const lines = text.split(/\r?\n/);
  const seen = new Set<number>();
  const issues: string[] = [];
  for (const e of doc.errors) {
    let { line, col } = lineAndColumn(text, e.pos[0]);
    // An error at the very end (an unclosed quote or bracket) points past the last line: show that line.
    while (line > 1 && !lines[line - 1]?.trim()) {
      line--;
      col = (lines[line - 1]?.length ?? 0) + 1;
    }
    if (seen.has(line)) continue; // one problem often causes several errors on its line
    seen.add(line);
    const quoted = maskInlineSecret(lines[line - 1] ?? '');
    issues.push(
      `line ${line}, column ${col}: not valid YAML: ${yamlProblem(e.code, e.message)}\n      ${quoted.trim()}`,
    );
  }
  throw new ConfigError(issues);
}

function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/** The YAML parser's message, with a hint where the usual cause is known. */
function yamlProblem(code: string, message: string): string {
  const hints: Record<string, string> = {
    DUPLICATE_KEY: 'a key appears twice in the same mapping',
    TAB_AS_INDENT: 'a tab used for indentation: indent with spaces',
    BAD_INDENT: `${message} (${/ end with /.test(message) ? 'a bracket is not closed' : 'check the indentation'})`,
    MISSING_CHAR: `${message} (a quote or bracket is not closed)`,
    UNEXPECTED_TOKEN: `${message} (a missing comma or colon between entries?)`,
  };
  return hints[code] ?? message;
}

/** A line quoted in an error, with the value of a key that looks like it holds a secret replaced. */
function maskInlineSecret(line: string): string {
  return line.replace(
    /((?:token|secret|password|passphrase|apikey|api_key|key|credential|authorization)\w*["']?\s*:\s*)([^,}\s](?:[^,}]*[^,}\s])?)/gi,
    (_m, key: string, value: string) => (value.startsWith('${') ? `${key}${value}` : `${key}…`),
  );
}

/** The sections of a file whose top level failed its schema, keeping what has the right shape. */
function lenientSections(doc: unknown) {
  const o = (doc && typeof doc === 'object' && !Array.isArray(doc) ? doc : {}) as Record<string, unknown>;
  const map = (v: unknown) =>
    (v && typeof v === 'object' && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  return {
    sites: Array.isArray(o.sites) ? (o.sites as unknown[]) : [],
    accounts: map(o.accounts),
    destinations: map(o.destinations),
    collectors: map(o.collectors),
  };
}

/** The file's sites: valid names, each once ignoring case, and none clashing in case with a stored one. */
function checkSites(list: unknown[], stored: string[], issues: string[]): string[] {
  const sites: string[] = [];
  list.forEach((raw, i) => {
    const r = nameSchema.safeParse(raw);
    if (!r.success) {
      issues.push(`sites.${i}: ${plainSiteProblem(raw, r.error.issues[0]!.message)}`);
      return;
    }
    const earlier = siteClash(r.data, sites);
    if (earlier !== undefined) {
      issues.push(
        `sites.${i}: "${r.data}" repeats site "${earlier}" (sites.${list.indexOf(earlier)}): ${SITE_NAME_RULE}`,
      );
      return;
    }
    const existing = siteClash(r.data, stored);
    if (existing !== undefined && existing !== r.data) {
      issues.push(`sites.${i}: "${r.data}" clashes with the existing site "${existing}": ${SITE_NAME_RULE}`);
      return;
    }
    sites.push(r.data);
  });
  return sites;
}

const plainSiteProblem = (raw: unknown, message: string) =>
  message.startsWith('expected a name') && typeof raw === 'string'
    ? `"${raw}" is not a valid site name: ${SITE_NAME_RULE}`
    : message;

/** What a collector may refer to: accounts (with their kind), destinations and sites. */
export interface CollectorRefs {
  accountKind(name: string): string | undefined;
  hasDestination(name: string): boolean;
  sites: string[];
  /** Names to suggest from when a reference finds nothing. */
  accountNames?: string[];
  destinationNames?: string[];
  /** How messages name an account (`accounts.NAME` in a file); default `"NAME"`. */
  accountRef?: (name: string) => string;
}

/**
 * Validates one collector definition — its fields, the source's settings and streams, and that the
 * account (of the source's kind), destinations and site it names exist. The config file and the API
 * both validate through here. Issues are `path: message`, the path prefixed with `at`. Every check
 * runs on whatever has the right type, so one call reports every problem.
 */
export function checkCollector(
  raw: unknown,
  refs: CollectorRefs,
  at: string[] = [],
): { ok: true; collector: CollectorConfig } | { ok: false; issues: string[] } {
  const issues: string[] = [];
  const path = (p: string) => [...at, p].join('.');
  const r = collectorSchema.safeParse(raw);
  if (!r.success) issues.push(...formatIssues(r.error, at));
  const c = r.success ? r.data : lenientCollector(raw);
  if (!c) return { ok: false, issues };
  const source = c.source === undefined ? undefined : own(sources, c.source);
  if (c.source !== undefined && !source)
    issues.push(
      `${path('source')}: unknown source "${c.source}"${didYouMean(c.source, Object.keys(sources))} (see \`tributary sources\`)`,
    );
  const accountRef = refs.accountRef ?? ((n: string) => `"${n}"`);
  const kind = c.account ? refs.accountKind(c.account) : undefined;
  if (source && isPushSource(source)) {
    if (c.account) issues.push(`${path('account')}: ${c.source} receives pushed events and uses no account`);
  } else if (source && !c.account)
    issues.push(`${path('account')}: required: ${aKind(accountKindsText(source))} account`);
  else if (c.account && !kind)
    issues.push(
      `${path('account')}: no account named "${c.account}"${didYouMean(c.account, refs.accountNames ?? [])}`,
    );
  else if (source && kind && !accountKindsOf(source).includes(kind))
    issues.push(
      `${path('account')}: ${accountRef(c.account!)} is ${aKind(kind)} account; the ${c.source} source needs ${aKind(accountKindsText(source))} account`,
    );
  c.destinations.forEach((d, i) => {
    if (!refs.hasDestination(d))
      issues.push(
        `${path(`destinations.${i}`)}: no destination named "${d}"${didYouMean(d, refs.destinationNames ?? [])}`,
      );
  });
  if (c.site !== undefined && !refs.sites.includes(c.site)) {
    const clash = siteClash(c.site, refs.sites);
    issues.push(
      clash
        ? `${path('site')}: no site named "${c.site}"; did you mean "${clash}"? (site names are matched exactly)`
        : `${path('site')}: "${c.site}" is not among sites (${refs.sites.join(', ') || 'none defined'})`,
    );
  }
  if (source) {
    const settingsCheck = validateSettings(source.id, c.settings, [...at, 'settings']);
    if (!settingsCheck.ok) issues.push(...settingsCheck.issues);
    else c.settings = settingsCheck.settings;
    let streamsOk = true;
    for (const [i, s] of (c.streams ?? []).entries()) {
      if (!own(source.streams, s)) {
        streamsOk = false;
        issues.push(
          `${path(`streams.${i}`)}: ${c.source} has no stream "${s}"${didYouMean(s, Object.keys(source.streams))} (it has ${Object.keys(source.streams).join(', ')})`,
        );
      }
    }
    // Settings and streams together (ChatGPT's eventTypes of older configs become its streams).
    if (settingsCheck.ok && streamsOk && source.normalize) {
      const n = source.normalize({ settings: c.settings, streams: c.streams });
      if ('issues' in n) issues.push(...n.issues.map((i) => (at.length ? `${at.join('.')}.${i}` : i)));
      else {
        c.settings = n.settings;
        if (n.streams) c.streams = n.streams;
      }
    }
  }
  return issues.length || !r.success ? { ok: false, issues } : { ok: true, collector: r.data };
}

/** The fields of a collector that failed its schema which still have the right type, for the other checks. */
function lenientCollector(raw: unknown):
  | (Pick<CollectorConfig, 'account' | 'site' | 'streams' | 'settings'> & {
      source?: string;
      destinations: string[];
    })
  | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const o = raw as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const texts = (v: unknown) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  const settings = o.settings;
  return {
    source: text(o.source),
    account: text(o.account),
    destinations: texts(o.destinations) ?? [],
    site: text(o.site),
    streams: texts(o.streams),
    settings:
      settings && typeof settings === 'object' && !Array.isArray(settings)
        ? (settings as Record<string, unknown>)
        : {},
  };
}

/** "a slack", "an okta", "an api-key, bearer or none": the article for a kind's name. */
const aKind = (kind: string) => `${/^[aeiou]/i.test(kind) ? 'an' : 'a'} ${kind}`;

const didYouMean = (name: string, known: string[]) => {
  const close = suggestion(name, known);
  return close ? ` (did you mean "${close}"?)` : '';
};

/** Validates a source's settings, with the `baseUrl` override every source accepts. */
export function validateSettings(
  sourceId: string,
  raw: Record<string, unknown>,
  at: string[] = [],
): { ok: true; settings: Record<string, unknown> } | { ok: false; issues: string[] } {
  const source = sources[sourceId];
  const { baseUrl, ...rest } = raw;
  const issues: string[] = [];
  let url: string | undefined;
  if (baseUrl !== undefined) {
    const u = z.object({ baseUrl: serviceUrl() }).safeParse({ baseUrl });
    if (u.success) url = u.data.baseUrl;
    else issues.push(...formatIssues(u.error, at));
  }
  const r = source.settings.safeParse(rest);
  if (!r.success) issues.push(...formatIssues(r.error, at, { key: 'setting' }));
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
