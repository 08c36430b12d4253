/**
 * Cloud Logging `entries.list` simulator, following Google's documentation; what entries it holds is a
 * catalog of logs given by each source's simulator (Gemini Enterprise, gcp-cloud-logging):
 *
 * - cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list ("HTTP request", "Request body",
 *   "Response body"): POST /v2/entries:list with a JSON body
 *   {resourceNames (required; projects/P, folders/F, organizations/O, billingAccounts/B), filter
 *   (≤ 20,000 characters), orderBy ("timestamp asc" default | "timestamp desc"), pageSize (default 50;
 *   negative or above 1000 rejected), pageToken}; answer {entries, nextPageToken}. Entries with equal
 *   timestamps are ordered by insertId. A page may come back empty with a nextPageToken when the search
 *   "did not have time to search all the possible log entries" — modelled by `scanLimit` (entries
 *   examined per request) and by the injected `empty` fault.
 * - LogEntry: logName (`projects/P/logs/L`, `organizations/O/logs/L`, `folders/F/logs/L`), resource,
 *   timestamp (RFC 3339 with nanoseconds), receiveTimestamp, severity, insertId (a writer may reuse an
 *   insertId at another timestamp: every tenth entry of the catalog's `reusesInsertIds` log does),
 *   jsonPayload | protoPayload (type.googleapis.com/google.cloud.audit.AuditLog).
 * - cloud.google.com/logging/quotas ("API usage limits"): 60 entries.list requests a minute per project →
 *   429 RESOURCE_EXHAUSTED (Google sends no Retry-After; an injected `rate-limit` fault adds one); page
 *   tokens live 24 hours.
 * - cloud.google.com/logging/docs/access-control: reading needs roles/logging.viewer, and
 *   roles/logging.privateLogViewer for Data Access audit logs (403 "Permission
 *   'logging.privateLogEntries.list' denied …" otherwise). Auth: src/sim/google.ts; the caller is the
 *   service account itself (no domain-wide delegation).
 *
 * Assumed (not documented), decided here: the filter language is a subset (comparisons =, !=, >, >=, <, <=, :
 * on dotted fields; AND, OR, NOT, parentheses; quoted values), anything else is 400 INVALID_ARGUMENT;
 * timestamps compare as times, other fields as text; page tokens are bound to the request's filter,
 * order and resources; a resource name the simulator does not hold (or a role missing on it) is 403
 * PERMISSION_DENIED; the position of a token is the last entry examined; a resource name returns the
 * entries stored under it (its own logName prefix), not those of its child projects.
 */

import { GoogleApiSimulator, googleError, googleStatusError } from './google.ts';
import {
  type Clock,
  json,
  type Person,
  person,
  type RecordedRequest,
  Rng,
  type SimReply,
  type SimRequest,
  seedOf,
} from './kit.ts';

/**
 * entries.list "Authorization scopes" (cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list):
 * any one of these.
 */
const LIST_SCOPES = [
  'https://www.googleapis.com/auth/logging.read',
  'https://www.googleapis.com/auth/cloud-platform.read-only',
  'https://www.googleapis.com/auth/logging.admin',
  'https://www.googleapis.com/auth/cloud-platform',
];

/** Which logs a simulator holds and what their entries look like. */
export interface LogCatalog<L extends string> {
  /** Each log's id (the part of logName after /logs/). */
  ids: Record<L, string>;
  /** Entries generated per log when the options give none. */
  counts: Partial<Record<L, number>>;
  /** Every tenth entry of this log reuses the previous entry's insertId at another timestamp. */
  reusesInsertIds?: L;
  /** The entry's fields besides insertId, logName, timestamp and receiveTimestamp. */
  render(
    row: { log: L; seq: number; parent: string },
    rng: Rng,
    sim: { people: Person[]; projectId: string; projectNumber: string; padding?: string },
  ): Record<string, unknown>;
}

const DAY = 86_400_000;

export interface LoggingSimulatorOptions<L extends string = string> {
  clock?: Clock;
  seed?: number;
  projectId?: string;
  /**
   * Resource names the service account may read (default: the project); entries are stored under the
   * first unless `addEntries` names another.
   */
  parents?: string[];
  /** Entries generated per log (default: the catalog's counts). */
  entries?: Partial<Record<L, number>>;
  /** Time between consecutive entries of one log (default 20 s). */
  spacingMs?: number;
  /** Entries of about this many bytes of JSON. */
  eventBytes?: number;
  /** IAM roles of the service account on the project (default Logs Viewer and Private Logs Viewer). */
  roles?: string[];
  /** Requests per minute per project (default 60, Google's entries.list quota). */
  rateLimitPerMinute?: number;
  /** Entries examined per request before answering with what was found (default: no limit). */
  scanLimit?: number;
  /** Page tokens older than this are refused (default 24 h). */
  pageTokenTtlMs?: number;
}

interface Row<L extends string = string> {
  log: L;
  /** The resource name the entry is stored under (its logName prefix). */
  parent: string;
  ms: number;
  /** Nanoseconds within the millisecond (0–999999). */
  sub: number;
  visible: number;
  seq: number;
  insertId: string;
}

const nsOf = (r: Row) => BigInt(r.ms) * 1_000_000n + BigInt(r.sub);

/** RFC 3339 with up to 9 fractional digits → nanoseconds since the epoch. */
function parseNs(s: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(s.trim());
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3].toUpperCase()}`);
  if (!Number.isFinite(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

function isoNs(r: Row): string {
  return `${new Date(r.ms).toISOString().slice(0, 23)}${String(r.sub).padStart(6, '0')}Z`;
}

// ---------------------------------------------------------------------------------------------
// Filter subset

type Node =
  | { op: 'and' | 'or'; l: Node; r: Node }
  | { op: 'not'; x: Node }
  | { op: 'cmp'; field: string; cmp: string; value: string };

class FilterError extends Error {}

function parseFilter(text: string): Node | undefined {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|\(|\)|!=|>=|<=|[=<>:]|[^\s()"=<>:!]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const value = (t: string | undefined) => {
    if (t === undefined) throw new FilterError('expected a value');
    return t.startsWith('"') ? JSON.parse(t) : t;
  };
  const unary = (): Node => {
    const t = tokens[i++];
    if (t === 'NOT' || t === '-') return { op: 'not', x: unary() };
    if (t === '(') {
      const e = or();
      if (tokens[i++] !== ')') throw new FilterError('expected )');
      return e;
    }
    if (!t || !/^[A-Za-z_@][\w.@]*$/.test(t)) throw new FilterError(`unexpected ${t ?? 'end of filter'}`);
    const cmp = tokens[i++];
    if (!cmp || !['=', '!=', '>=', '<=', '>', '<', ':'].includes(cmp))
      throw new FilterError(`expected a comparison after ${t}`);
    return { op: 'cmp', field: t, cmp, value: value(tokens[i++]) };
  };
  const and = (): Node => {
    let l = unary();
    while (peek() === 'AND') {
      i++;
      l = { op: 'and', l, r: unary() };
    }
    return l;
  };
  const or = (): Node => {
    let l = and();
    while (peek() === 'OR') {
      i++;
      l = { op: 'or', l, r: and() };
    }
    return l;
  };
  if (!tokens.length) return undefined;
  const e = or();
  if (i !== tokens.length) throw new FilterError(`unexpected ${tokens[i]}`);
  return e;
}

function fieldOf(entry: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      entry,
    );
}

/** Evaluates a filter; `get` resolves a field (lazily, so cheap clauses such as logName avoid parsing). */
function matches(n: Node, get: (field: string) => unknown, ns: bigint): boolean {
  switch (n.op) {
    case 'and':
      return matches(n.l, get, ns) && matches(n.r, get, ns);
    case 'or':
      return matches(n.l, get, ns) || matches(n.r, get, ns);
    case 'not':
      return !matches(n.x, get, ns);
    case 'cmp': {
      if (n.field === 'timestamp') {
        const v = parseNs(n.value);
        if (v === undefined) throw new FilterError(`invalid timestamp ${n.value}`);
        return compare(ns < v ? -1 : ns > v ? 1 : 0, n.cmp);
      }
      const got = get(n.field);
      if (got === undefined || got === null) return n.cmp === '!=';
      const text = String(got);
      if (n.cmp === ':') return text.includes(n.value);
      return compare(text < n.value ? -1 : text > n.value ? 1 : 0, n.cmp);
    }
  }
}

function compare(c: number, op: string): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    case '<':
      return c < 0;
    default:
      return c <= 0;
  }
}

// ---------------------------------------------------------------------------------------------

interface Position {
  /** Hash of filter, order and resources. */
  h: string;
  /** Index key of the last entry examined: [ns, logName, insertId, seq]. */
  k?: [string, string, string, number];
  i: number;
}

export class LoggingSimulator<L extends string> extends GoogleApiSimulator {
  readonly projectId: string;
  roles: Set<string>;
  private readonly seed: number;
  /** Resource names the service account may read; entries go to the first by default. */
  readonly parents: string[];
  private readonly catalog: LogCatalog<L>;
  private readonly rows: Row<L>[] = [];
  private sorted = true;
  private readonly people: Person[];
  private readonly opts: {
    spacingMs: number;
    eventBytes?: number;
    rateLimitPerMinute: number;
    scanLimit: number;
    ttl: number;
  };
  private rl = { window: -1, count: 0 };
  private loopPages = 0;

  constructor(catalog: LogCatalog<L>, o: LoggingSimulatorOptions<L> = {}) {
    super({
      name: 'logging',
      clock: o.clock,
      seed: o.seed ?? 1,
      projectId: o.projectId ?? 'acme-gemini-prod',
      quota: () => this.quotaError(),
    });
    this.catalog = catalog;
    this.seed = o.seed ?? 1;
    this.projectId = o.projectId ?? 'acme-gemini-prod';
    this.parents = o.parents ?? [`projects/${this.projectId}`];
    this.roles = new Set(o.roles ?? ['roles/logging.viewer', 'roles/logging.privateLogViewer']);
    this.opts = {
      spacingMs: o.spacingMs ?? 20_000,
      eventBytes: o.eventBytes,
      rateLimitPerMinute: o.rateLimitPerMinute ?? 60,
      scanLimit: o.scanLimit ?? Number.POSITIVE_INFINITY,
      ttl: o.pageTokenTtlMs ?? DAY,
    };
    const rng = new Rng(seedOf(this.seed, 'gemini'));
    this.people = Array.from({ length: 30 }, () => person(rng, 'example.com'));
    this.server.route('POST', '/v2/entries:list', (req) => this.list(req));
    const now = this.clock();
    const counts = o.entries ?? catalog.counts;
    for (const [log, n] of Object.entries(counts) as Array<[L, number]>) {
      this.addEntries(log, n, { from: now - 5 * 60_000 - Math.max(0, n - 1) * this.opts.spacingMs });
    }
  }

  /** Calls that could change data: everything but GETs, the token endpoint and entries:list (read-only POSTs). */
  writeCalls(): RecordedRequest[] {
    return this.server
      .writeCalls()
      .filter((r) => !(r.method === 'POST' && (r.path === '/token' || r.path === '/v2/entries:list')));
  }

  /** The next `pages` answers carry the request's own position as nextPageToken (a looping vendor). */
  loopNextLinks(pages = 1): void {
    this.loopPages = pages;
  }

  /** Adds `n` entries to `log`, `spacingMs` apart from `from`, each received at max(time + visibleDelayMs, now). */
  addEntries(
    log: L,
    n: number,
    o: { from?: number; spacingMs?: number; visibleDelayMs?: number; parent?: string } = {},
  ): void {
    const parent = o.parent ?? this.parents[0];
    const now = this.clock();
    const spacing = o.spacingMs ?? this.opts.spacingMs;
    const from = o.from ?? now - n * spacing;
    for (let i = 0; i < n; i++) {
      const seq = this.rows.length;
      const ms = from + i * spacing;
      const rng = new Rng(seedOf(this.seed, 'row', seq));
      const prev = this.rows.findLast((r) => r.log === log && r.parent === parent);
      // Writers may reuse an insertId at another timestamp (Logging keeps both): every tenth entry of one log does.
      const insertId =
        log === this.catalog.reusesInsertIds && prev && seq % 10 === 9
          ? prev.insertId
          : rng.chars('0123456789abcdefghijklmnopqrstuvwxyz', 14);
      const last = this.rows.at(-1);
      if (last && last.ms > ms) this.sorted = false;
      this.rows.push({
        log,
        parent,
        ms,
        sub: rng.int(0, 999_999),
        visible: Math.max(ms + 800 + (o.visibleDelayMs ?? 0), now),
        seq,
        insertId,
      });
    }
  }

  /** Every entry (received or not), oldest first, as Cloud Logging returns it. */
  entries(log?: L, parent?: string): Array<Record<string, unknown>> {
    return this.ordered()
      .filter((r) => (!log || r.log === log) && (!parent || r.parent === parent))
      .map((r) => JSON.parse(this.entryJson(r)));
  }

  // -------------------------------------------------------------------------------------------

  private ordered(): Row<L>[] {
    if (!this.sorted) {
      const key = (r: Row<L>) => `${this.logName(r)}\u0000${r.insertId}`;
      this.rows.sort(
        (a, b) =>
          a.ms - b.ms || a.sub - b.sub || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.seq - b.seq),
      );
      this.sorted = true;
    }
    return this.rows;
  }

  private logName(r: Row<L>): string {
    return `${r.parent}/logs/${this.catalog.ids[r.log]}`;
  }

  private keyOf(r: Row<L>): [string, string, string, number] {
    return [nsOf(r).toString(), this.logName(r), r.insertId, r.seq];
  }

  private quotaError(): SimReply {
    return googleError(
      429,
      `Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'logging.googleapis.com' for consumer 'project_number:${this.projectNumber()}'.`,
      'RESOURCE_EXHAUSTED',
      'rateLimitExceeded',
    );
  }

  private projectNumber(): string {
    return String(100_000_000_000 + (seedOf(this.seed, this.projectId) % 900_000_000_000));
  }

  protected statusError(status: number): SimReply {
    return status === 429 ? this.quotaError() : googleStatusError(status);
  }

  private invalid(message: string): SimReply {
    return googleError(400, message, 'INVALID_ARGUMENT', 'badRequest');
  }

  private list(req: SimRequest): SimReply {
    const auth = this.tokens.authenticate(req, LIST_SCOPES);
    if (!auth.ok) return auth.reply;
    const w = Math.floor(req.at / 60_000);
    if (w !== this.rl.window) this.rl = { window: w, count: 0 };
    if (++this.rl.count > this.opts.rateLimitPerMinute) return this.quotaError();

    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return this.invalid('Invalid JSON payload received.');
    }
    const resources = body.resourceNames;
    if (!Array.isArray(resources) || !resources.length)
      return this.invalid('resourceNames: at least one resource name is required.');
    if (resources.length > 100) return this.invalid('resourceNames: at most 100 resources.');
    // The caller is the service account (no delegated user) and needs roles on this project.
    if (
      auth.sub !== undefined ||
      !resources.every((r) => this.parents.includes(r)) ||
      !this.roles.has('roles/logging.viewer')
    ) {
      return googleError(403, 'The caller does not have permission', 'PERMISSION_DENIED');
    }
    const orderBy = body.orderBy ?? 'timestamp asc';
    if (orderBy !== 'timestamp asc' && orderBy !== 'timestamp desc')
      return this.invalid(
        `Invalid orderBy: ${String(orderBy)}. Only "timestamp asc" and "timestamp desc" are supported.`,
      );
    const pageSize = body.pageSize ?? 50;
    if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 0 || pageSize > 1000)
      return this.invalid('pageSize must be between 0 and 1000.');
    const filterText = typeof body.filter === 'string' ? body.filter : '';
    if (filterText.length > 20_000) return this.invalid('filter: the maximum length is 20,000 characters.');
    let filter: Node | undefined;
    try {
      filter = parseFilter(filterText);
    } catch (err) {
      return this.invalid(`Unparseable filter: ${(err as Error).message}`);
    }
    if (
      !this.roles.has('roles/logging.privateLogViewer') &&
      (filterText.includes('data_access') || !filterText.includes('logName'))
    ) {
      return googleError(
        403,
        `Permission 'logging.privateLogEntries.list' denied on resource (or it may not exist).`,
        'PERMISSION_DENIED',
      );
    }

    const now = req.at;
    const h = seedOf(filterText, String(orderBy), resources.join(',')).toString(36);
    let pos: Position = { h, i: now };
    const token = typeof body.pageToken === 'string' && body.pageToken ? body.pageToken : undefined;
    if (token) {
      let p: Position | undefined;
      try {
        p = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        p = undefined;
      }
      if (!p || typeof p.i !== 'number' || p.h !== h) return this.invalid('Invalid page token.');
      if (now - p.i > this.opts.ttl) return this.invalid('The page token has expired.');
      pos = p;
    }
    const tokenAt = (k?: Position['k']) =>
      Buffer.from(JSON.stringify({ h, k, i: now })).toString('base64url');
    const samePosition = token ?? tokenAt(undefined);
    if (req.empty) return json(200, { nextPageToken: samePosition });

    const rows = this.ordered();
    const desc = orderBy === 'timestamp desc';
    const after = (r: Row<L>) => {
      if (!pos.k) return true;
      const [ns, logName, insertId, seq] = pos.k;
      const a = nsOf(r);
      const b = BigInt(ns);
      const c =
        a !== b
          ? a < b
            ? -1
            : 1
          : this.logName(r) !== logName
            ? this.logName(r) < logName
              ? -1
              : 1
            : r.insertId !== insertId
              ? r.insertId < insertId
                ? -1
                : 1
              : r.seq - seq;
      return desc ? c < 0 : c > 0;
    };
    const out: string[] = [];
    let scanned = 0;
    let stopAt: Row<L> | undefined;
    let more = false;
    try {
      for (let n = 0; n < rows.length; n++) {
        const r = rows[desc ? rows.length - 1 - n : n];
        if (!after(r) || !resources.includes(r.parent)) continue;
        if (r.visible > now) continue; // not received yet
        if (scanned >= this.opts.scanLimit) {
          more = true;
          break;
        }
        scanned++;
        let text: string | undefined;
        let parsed: Record<string, unknown> | undefined;
        const get = (field: string): unknown => {
          if (field === 'logName') return this.logName(r);
          if (field === 'insertId') return r.insertId;
          text ??= this.entryJson(r);
          parsed ??= JSON.parse(text) as Record<string, unknown>;
          return fieldOf(parsed, field);
        };
        if (filter && !matches(filter, get, nsOf(r))) {
          stopAt = r;
          continue;
        }
        if (out.length === pageSize) {
          more = true;
          break;
        }
        out.push(text ?? this.entryJson(r));
        stopAt = r;
      }
    } catch (err) {
      if (err instanceof FilterError) return this.invalid(`Unparseable filter: ${err.message}`);
      throw err;
    }
    let nextPageToken = more ? tokenAt(stopAt ? this.keyOf(stopAt) : pos.k) : undefined;
    if (this.loopPages > 0) {
      this.loopPages--;
      nextPageToken = samePosition;
    }
    return json(
      200,
      `{${out.length ? `"entries":[${out.join(',')}]` : ''}${nextPageToken ? `${out.length ? ',' : ''}"nextPageToken":"${nextPageToken}"` : ''}}`,
    );
  }

  /** The exact JSON Cloud Logging would send for row `r`. */
  private entryJson(r: Row<L>): string {
    const rng = new Rng(seedOf(this.seed, 'entry', r.seq));
    const pad = this.opts.eventBytes ? Math.max(0, this.opts.eventBytes - 1200) : 0;
    const padding = pad
      ? rng
          .base62(Math.min(pad, 64))
          .repeat(Math.ceil(pad / 64))
          .slice(0, pad)
      : undefined;
    return JSON.stringify({
      insertId: r.insertId,
      logName: this.logName(r),
      timestamp: isoNs(r),
      receiveTimestamp: `${new Date(r.visible).toISOString().slice(0, 23)}${String((r.sub * 7) % 1_000_000).padStart(6, '0')}Z`,
      ...this.catalog.render({ log: r.log, seq: r.seq, parent: r.parent }, rng, {
        people: this.people,
        projectId: this.projectId,
        projectNumber: this.projectNumber(),
        padding,
      }),
    });
  }
}
