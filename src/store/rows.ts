import type { ErrorInfo } from '../core/errors.ts';
import type {
  AccountRecord,
  ApiTokenRecord,
  AuditQuery,
  AuditRecord,
  BatchCommit,
  CheckpointRecord,
  CollectorRecord,
  DeadLetterRecord,
  DeliveryFailure,
  DeliveryFailureRecord,
  DestinationRecord,
  ErrorRecord,
  IngestAnswerCount,
  LeaseRecord,
  PartitionCommit,
  PartitionRecord,
  RunRecord,
  SessionRecord,
  SiteRecord,
  UserRecord,
  VendorWaitRecord,
} from '../core/store.ts';
import type { AttemptRow } from './login-attempts.ts';

/**
 * What the SQLite and Postgres stores share: how a row becomes a record, how a record becomes a
 * statement's values, and the checks made before anything is written. Only the SQL stays in each store.
 * The two databases differ in a few column types, which `Columns` absorbs: JSON is text in SQLite and
 * jsonb (parsed by the driver) in Postgres; a dead letter's raw text is bytea in Postgres; SQLite binds
 * booleans as 1 and 0. Times are ISO strings in both (the Postgres store's type parsers make them so).
 */

export type Row = Record<string, any>;

export interface Columns<B extends boolean | number = boolean | number> {
  /** A JSON column's value as the driver returns it. */
  json(value: unknown): any;
  /** A text column Postgres keeps as bytes (dead letters' raw). */
  text(value: unknown): string;
  /** A boolean as a statement's value. */
  bool(value: boolean): B;
}

export const sqliteColumns: Columns<number> = {
  json: (v) => JSON.parse(v as string),
  text: (v) => v as string,
  bool: (v) => (v ? 1 : 0),
};

export const postgresColumns: Columns<boolean> = {
  json: (v) => v,
  text: (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)),
  bool: (v) => v,
};

/** The row mappers of one database. */
export function rowMappers(c: Columns) {
  return {
    account(r: Row): AccountRecord {
      const a: AccountRecord = {
        id: r.id,
        name: r.name,
        kind: r.kind,
        config: c.json(r.config),
        secrets: c.json(r.secrets),
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      };
      if (r.expires_at) a.expiresAt = r.expires_at;
      return a;
    },

    collector(r: Row): CollectorRecord {
      const out: CollectorRecord = {
        id: r.id,
        name: r.name,
        source: r.source,
        config: c.json(r.config),
        secrets: c.json(r.secrets),
        enabled: Boolean(r.enabled),
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      };
      if (r.account !== null) out.account = r.account;
      return out;
    },

    checkpoint(r: Row): CheckpointRecord {
      return {
        collectorId: r.collector_id,
        stream: r.stream,
        value: c.json(r.value),
        updatedAt: r.updated_at,
        ...(r.position_time ? { positionTime: r.position_time } : {}),
      };
    },

    run(r: Row): RunRecord {
      const run: RunRecord = {
        id: r.id,
        collectorId: r.collector_id,
        startedAt: r.started_at,
        status: r.status,
        events: r.events,
        pages: r.pages,
        bytes: r.bytes,
        deadLetters: r.dead_letters,
      };
      if (r.ended_at) run.endedAt = r.ended_at;
      if (r.error) run.error = c.json(r.error);
      if (r.runner) run.runner = r.runner;
      if (r.fence !== null && r.fence !== undefined) run.fence = Number(r.fence);
      return run;
    },

    lease(r: Row): LeaseRecord {
      const l: LeaseRecord = {
        collectorId: r.collector_id,
        token: Number(r.token),
        acquiredAt: r.acquired_at,
        expiresAt: r.expires_at,
        stopRequested: Boolean(r.stop_requested),
      };
      if (r.owner !== null) l.owner = r.owner;
      return l;
    },

    partition(r: Row): PartitionRecord {
      const p: PartitionRecord = {
        collectorId: r.collector_id,
        stream: r.stream,
        partition: r.partition,
        token: Number(r.token),
        updatedAt: r.updated_at,
      };
      if (r.position !== null && r.position !== undefined) p.position = c.json(r.position);
      if (r.owner !== null && r.owner !== undefined) {
        p.owner = r.owner;
        p.expiresAt = r.expires_at;
      }
      return p;
    },

    destination(r: Row): DestinationRecord {
      return {
        id: r.id,
        name: r.name,
        kind: r.kind,
        config: c.json(r.config),
        secrets: c.json(r.secrets),
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      };
    },

    user(r: Row): UserRecord {
      const u: UserRecord = {
        id: r.id,
        username: r.username,
        passwordHash: r.password_hash,
        role: r.role,
        disabled: Boolean(r.disabled),
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      };
      if (r.last_login_at) u.lastLoginAt = r.last_login_at;
      return u;
    },

    apiToken(r: Row): ApiTokenRecord {
      const t: ApiTokenRecord = {
        id: r.id,
        name: r.name,
        userId: r.user_id,
        hash: r.hash,
        last4: r.last4,
        createdAt: r.created_at,
      };
      if (r.expires_at) t.expiresAt = r.expires_at;
      if (r.last_used_at) t.lastUsedAt = r.last_used_at;
      if (r.revoked_at) t.revokedAt = r.revoked_at;
      if (r.scopes) t.scopes = c.json(r.scopes);
      return t;
    },

    session(r: Row): SessionRecord {
      const out: SessionRecord = {
        id: r.id,
        userId: r.user_id,
        csrfToken: r.csrf_token,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
      };
      if (r.ip) out.ip = r.ip;
      return out;
    },

    error(r: Row): ErrorRecord {
      const e: ErrorRecord = {
        collectorId: r.collector_id,
        type: r.type,
        code: r.code,
        message: r.message,
        action: r.action,
        firstSeen: r.first_seen,
        lastSeen: r.last_seen,
        count: r.count,
      };
      if (r.stream) e.stream = r.stream;
      if (r.status !== null) e.status = r.status;
      return e;
    },

    deliveryFailure(r: Row): DeliveryFailureRecord {
      const f: DeliveryFailureRecord = {
        collectorId: r.collector_id,
        destination: r.destination,
        since: r.since,
        lastAt: r.last_at,
        failures: r.failures,
        error: c.json(r.error),
      };
      if (r.gave_up_at) f.gaveUpAt = r.gave_up_at;
      return f;
    },

    vendorWait(r: Row): VendorWaitRecord {
      const w: VendorWaitRecord = {
        accountId: r.account_id,
        until: r.wait_until,
        error: c.json(r.error),
        at: r.at,
      };
      if (r.collector) w.collector = r.collector;
      return w;
    },

    deadLetter(r: Row): DeadLetterRecord {
      return {
        id: r.id,
        collectorId: r.collector_id,
        stream: r.stream,
        reason: r.reason,
        raw: c.text(r.raw),
        at: r.at,
      };
    },

    site: (r: Row): SiteRecord => ({ name: r.name, createdAt: r.created_at }),

    volume: (r: Row): { hour: string; count: number } => ({ hour: r.hour, count: r.count }),

    /** An audit row whose `before` and `after` are read as JSON text (Postgres selects them `::text`). */
    audit(r: Row): AuditRecord {
      const out: AuditRecord = {
        id: r.id,
        at: r.at,
        actor: r.actor,
        action: r.action,
        targetType: r.target_type,
      };
      if (r.target !== null) out.target = r.target;
      if (r.ip !== null) out.ip = r.ip;
      if (r.before !== null) out.before = JSON.parse(r.before);
      if (r.after !== null) out.after = JSON.parse(r.after);
      return out;
    },

    ingestAnswer(r: Row): IngestAnswerCount {
      const a: IngestAnswerCount = {
        collectorId: r.collector_id,
        bucket: r.bucket,
        status: r.status,
        code: r.code,
        requests: Number(r.requests),
        events: Number(r.events),
        lastAt: r.last_at,
      };
      if (r.message !== null) a.message = r.message;
      if (r.retry_after !== null) a.retryAfter = r.retry_after;
      return a;
    },

    attempt: (r: Row): AttemptRow => ({
      key: r.key,
      failures: Number(r.failures),
      lockedUntil: r.locked_until === null ? undefined : Date.parse(r.locked_until),
      updatedAt: Date.parse(r.updated_at),
    }),
  };
}

// Statement values, in the column order both stores' INSERTs use.

/** (id, name, kind, config, secrets, expires_at, created_at, updated_at) */
export const accountValues = (a: AccountRecord) => [
  a.id,
  a.name,
  a.kind,
  JSON.stringify(a.config),
  JSON.stringify(a.secrets),
  a.expiresAt ?? null,
  a.createdAt,
  a.updatedAt,
];

/** (id, name, source, account, config, secrets, enabled, created_at, updated_at) */
export const collectorValues = <B extends boolean | number>(c: CollectorRecord, cols: Columns<B>) => [
  c.id,
  c.name,
  c.source,
  c.account ?? null,
  JSON.stringify(c.config),
  JSON.stringify(c.secrets ?? {}),
  cols.bool(c.enabled),
  c.createdAt,
  c.updatedAt,
];

/** (id, name, kind, config, secrets, created_at, updated_at) */
export const destinationValues = (d: DestinationRecord) => [
  d.id,
  d.name,
  d.kind,
  JSON.stringify(d.config),
  JSON.stringify(d.secrets),
  d.createdAt,
  d.updatedAt,
];

/** (id, username, password_hash, role, disabled, created_at, updated_at, last_login_at) */
export const userValues = <B extends boolean | number>(u: UserRecord, cols: Columns<B>) => [
  u.id,
  u.username,
  u.passwordHash,
  u.role,
  cols.bool(u.disabled),
  u.createdAt,
  u.updatedAt,
  u.lastLoginAt ?? null,
];

/** (id, user_id, csrf_token, created_at, expires_at, ip) */
export const sessionValues = (x: SessionRecord) => [
  x.id,
  x.userId,
  x.csrfToken,
  x.createdAt,
  x.expiresAt,
  x.ip ?? null,
];

/** (id, name, user_id, hash, last4, created_at, expires_at, last_used_at, revoked_at, scopes) */
export const apiTokenValues = (t: ApiTokenRecord) => [
  t.id,
  t.name,
  t.userId,
  t.hash,
  t.last4,
  t.createdAt,
  t.expiresAt ?? null,
  t.lastUsedAt ?? null,
  t.revokedAt ?? null,
  t.scopes ? JSON.stringify(t.scopes) : null,
];

/** (collector_id, stream, code, type, message, action, status, first_seen, last_seen) */
export const errorValues = (collectorId: string, stream: string | undefined, err: ErrorInfo, now: string) => [
  collectorId,
  stream ?? '',
  err.code,
  err.type,
  err.message,
  err.action,
  err.status ?? null,
  now,
  now,
];

/** (collector_id, destination, since, last_at, failures, error, gave_up_at) */
export const deliveryFailureValues = (f: DeliveryFailure) => [
  f.collectorId,
  f.destination,
  f.at,
  f.at,
  f.count ?? 1,
  JSON.stringify(f.error),
  f.gaveUp ? f.at : null,
];

/** (account_id, wait_until, error, collector, at) */
export const vendorWaitValues = (w: VendorWaitRecord) => [
  w.accountId,
  w.until,
  JSON.stringify(w.error),
  w.collector ?? null,
  w.at,
];

/** (at, actor, action, target_type, target, ip, before, after) */
export const auditValues = (a: Omit<AuditRecord, 'id'>) => [
  a.at,
  a.actor,
  a.action,
  a.targetType,
  a.target ?? null,
  a.ip ?? null,
  a.before === undefined ? null : JSON.stringify(a.before),
  a.after === undefined ? null : JSON.stringify(a.after),
];

/**
 * The audit query's conditions and values; `param(n)` writes the n-th placeholder (`?` or `$n`). The
 * limit is the last value.
 */
export function auditFilter(
  q: AuditQuery,
  param: (n: number) => string,
): { where: string; args: Array<string | number> } {
  const conditions: string[] = [];
  const args: Array<string | number> = [];
  const add = (column: string, op: string, v: string | number | undefined) => {
    if (v === undefined) return;
    args.push(v);
    conditions.push(`${column} ${op} ${param(args.length)}`);
  };
  add('at', '>=', q.since);
  add('at', '<', q.until);
  add('actor', '=', q.actor);
  add('action', '=', q.action);
  add('target_type', '=', q.targetType);
  add('target', '=', q.target);
  add('id', '<', q.beforeId);
  args.push(q.limit ?? 100);
  return { where: conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '', args };
}

// Checks made before a write, so that a bad value changes nothing.

/** A checkpoint as JSON text; a value JSON cannot hold (undefined, a function) is refused. */
export function checkpointJson(value: unknown, where: string): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`${where}: expected a JSON value`);
  return json;
}

/** A batch's checkpoint and dead letters, checked: dead letters' raw texts are strings. */
export function checkedBatch(b: BatchCommit): { checkpoint: string; raws: string[] } {
  const checkpoint = checkpointJson(b.checkpoint, 'commitBatch: checkpoint');
  const raws = b.deadLetters.map((d, i) => {
    if (typeof d.raw !== 'string')
      throw new TypeError(`commitBatch: deadLetters[${i}].raw: expected a string, got ${typeof d.raw}`);
    return d.raw;
  });
  return { checkpoint, raws };
}

/** A partition commit's position and dead letters, checked before anything is written. */
export function checkedPartitionCommit(p: PartitionCommit): { position: string; raws: string[] } {
  const position = checkpointJson(p.position, 'commitPartition: position');
  const raws = p.deadLetters.map((d, i) => {
    if (typeof d.raw !== 'string')
      throw new TypeError(`commitPartition: deadLetters[${i}].raw: expected a string, got ${typeof d.raw}`);
    return d.raw;
  });
  return { position, raws };
}

/** Epoch ms as an ISO time, or null. */
export const msIso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
