import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { ErrorInfo } from '../../core/errors.ts';
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
  RunStatus,
  SessionRecord,
  SiteRecord,
  Store,
  UserRecord,
  VendorWaitRecord,
} from '../../core/store.ts';
import { leaseExpiredError, leaseLost, partitionLeaseLost } from '../../core/store.ts';
import { privateDir, privateFile } from '../../engine/private-files.ts';
import {
  type AttemptDecision,
  type AttemptLimit,
  type AttemptReservation,
  type AttemptRow,
  decideAttempt,
  unknownLoginAudit,
} from '../login-attempts.ts';
import {
  accountValues,
  apiTokenValues,
  auditFilter,
  auditValues,
  checkedBatch,
  checkedPartitionCommit,
  checkpointJson,
  collectorValues,
  deliveryFailureValues,
  destinationValues,
  errorValues,
  msIso,
  type Row,
  rowMappers,
  sessionValues,
  sqliteColumns,
  userValues,
  vendorWaitValues,
} from '../rows.ts';
import { LATEST_VERSION, migrations } from './migrations.ts';

const iso = () => new Date().toISOString();
/** Prepared statements kept at most (the SQL texts are constants, bar the audit log's filters). */
const MAX_STATEMENTS = 500;
const record = rowMappers(sqliteColumns);

/**
 * The embedded store: one SQLite file in the data directory (node:sqlite, no native build). WAL with
 * synchronous=FULL: a commit that returned survives kill -9 and power loss, which is what lets the
 * runner promise that an acknowledged checkpoint is never lost.
 *
 * `commitBatch` (a page's checkpoint, a push's counts: the write the delivery path waits on) and
 * `recordIngestAnswers` (once a second while an ingest endpoint is busy) are just as durable but do
 * not hold the event loop while the disk syncs (`txOffThread`): the transaction commits with
 * synchronous=NORMAL (the WAL is written, not yet synced), and the promise resolves only after an
 * fdatasync of the WAL file, which runs on libuv's thread pool. That is what synchronous=FULL does
 * (sync the WAL after each commit), done off the JavaScript thread: a commit that resolved survives kill
 * -9 and power loss. (node:sqlite runs statements synchronously, and a sync took 0.4 ms at the median
 * and 4–7 ms at worst on the 2-core machine: time every request and read-ahead page waited.)
 */
export class SqliteStore implements Store {
  private readonly db: DatabaseSync;
  private readonly file: string;
  private readonly statements = new Map<string, StatementSync>();
  /** The WAL file, opened at the first `commitBatch`, for its fdatasync. */
  private wal: Promise<FileHandle> | undefined;

  private constructor(db: DatabaseSync, file: string) {
    this.db = db;
    this.file = file;
  }

  static async open(dataDir: string): Promise<SqliteStore> {
    // 0700 directory, 0600 files: SQLite gives the -wal and -shm files the database file's mode.
    privateDir(dataDir);
    const file = join(dataDir, 'tributary.db');
    privateFile(file, { create: true });
    for (const extra of ['-wal', '-shm', '-journal']) privateFile(file + extra);
    const db = new DatabaseSync(file);
    db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;',
    );
    return new SqliteStore(db, file);
  }

  /**
   * Makes every transaction committed so far durable: an fdatasync of the WAL file (the one file a
   * commit in WAL mode writes), on the thread pool. A failure leaves the WAL handle to be opened again.
   */
  private async syncWal(): Promise<void> {
    this.wal ??= open(`${this.file}-wal`, 'r');
    try {
      await (await this.wal).datasync();
    } catch (err) {
      const wal = this.wal;
      this.wal = undefined;
      await wal?.then((h) => h.close()).catch(() => {});
      throw err;
    }
  }

  /**
   * A prepared statement, compiled once per SQL text: preparing costs more than most of the statements
   * run on the hot paths (a checkpoint commit per page, the lookups of every pushed request).
   */
  private sql(text: string): StatementSync {
    let statement = this.statements.get(text);
    if (!statement) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /**
   * `tx` for the writes made while events flow (see the class comment): committed with
   * synchronous=NORMAL, so the disk syncs off this thread, and durable once the promise resolves.
   */
  private async txOffThread<T>(fn: () => T): Promise<T> {
    this.sql('PRAGMA synchronous = NORMAL').run();
    let out: T;
    try {
      out = this.tx(fn);
    } finally {
      this.sql('PRAGMA synchronous = FULL').run();
    }
    await this.syncWal();
    return out;
  }

  private tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async migrate(): Promise<void> {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
    );
    const done = new Set(
      (this.sql('SELECT version FROM schema_migrations').all() as Row[]).map((r) => r.version),
    );
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      this.tx(() => {
        this.db.exec(m.sql);
        this.sql('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, iso());
      });
    }
  }

  async unready(): Promise<string | undefined> {
    // Synchronous and local: there is nothing to wait for, so no timeout either.
    if (!this.db.isOpen) return 'the database is closed';
    try {
      const table = this.sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
      ).get();
      const version = table
        ? Number((this.sql('SELECT max(version) AS v FROM schema_migrations').get() as Row).v ?? 0)
        : 0;
      if (version < LATEST_VERSION)
        return `schema migrations are pending: the database is at version ${version}, this build needs ${LATEST_VERSION}`;
      return undefined;
    } catch (err) {
      return `the database cannot be read (${(err as { code?: string }).code ?? 'error'})`;
    }
  }

  async close(): Promise<void> {
    const wal = this.wal;
    this.wal = undefined;
    await wal?.then((h) => h.close()).catch(() => {});
    if (this.db.isOpen) this.db.close();
  }

  // accounts

  async putAccount(a: AccountRecord): Promise<void> {
    this.sql(
      `INSERT INTO accounts (id, name, kind, config, secrets, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, config = excluded.config,
           secrets = excluded.secrets, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
    ).run(...accountValues(a));
  }

  async getAccount(name: string): Promise<AccountRecord | undefined> {
    const r = this.sql('SELECT * FROM accounts WHERE name = ?').get(name) as Row | undefined;
    return r && record.account(r);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (this.sql('SELECT * FROM accounts ORDER BY name').all() as Row[]).map(record.account);
  }

  async deleteAccount(name: string): Promise<boolean> {
    return Number(this.sql('DELETE FROM accounts WHERE name = ?').run(name).changes) > 0;
  }

  // collectors

  async putCollector(c: CollectorRecord): Promise<void> {
    this.sql(
      `INSERT INTO collectors (id, name, source, account, config, secrets, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, source = excluded.source, account = excluded.account,
           config = excluded.config, secrets = excluded.secrets, enabled = excluded.enabled, updated_at = excluded.updated_at`,
    ).run(...collectorValues(c, sqliteColumns));
  }

  async putAccountAndCollector(a: AccountRecord, c: CollectorRecord): Promise<void> {
    this.tx(() => {
      this.sql(
        'INSERT INTO accounts (id, name, kind, config, secrets, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        a.id,
        a.name,
        a.kind,
        JSON.stringify(a.config),
        JSON.stringify(a.secrets),
        a.expiresAt ?? null,
        a.createdAt,
        a.updatedAt,
      );
      this.sql(
        'INSERT INTO collectors (id, name, source, account, config, secrets, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        c.id,
        c.name,
        c.source,
        c.account ?? null,
        JSON.stringify(c.config),
        JSON.stringify(c.secrets ?? {}),
        c.enabled ? 1 : 0,
        c.createdAt,
        c.updatedAt,
      );
    });
  }

  async getCollector(name: string): Promise<CollectorRecord | undefined> {
    const r = this.sql('SELECT * FROM collectors WHERE name = ?').get(name) as Row | undefined;
    return r && record.collector(r);
  }

  async listCollectors(): Promise<CollectorRecord[]> {
    return (this.sql('SELECT * FROM collectors ORDER BY name').all() as Row[]).map(record.collector);
  }

  async deleteCollector(name: string): Promise<boolean> {
    return Number(this.sql('DELETE FROM collectors WHERE name = ?').run(name).changes) > 0;
  }

  // checkpoints

  async getCheckpoint(collectorId: string, stream: string): Promise<CheckpointRecord | undefined> {
    const r = this.sql('SELECT * FROM checkpoints WHERE collector_id = ? AND stream = ?').get(
      collectorId,
      stream,
    ) as Row | undefined;
    return r && record.checkpoint(r);
  }

  async listCheckpoints(collectorId: string): Promise<CheckpointRecord[]> {
    return (
      this.sql('SELECT * FROM checkpoints WHERE collector_id = ? ORDER BY stream').all(collectorId) as Row[]
    ).map(record.checkpoint);
  }

  async resetCheckpoint(collectorId: string, stream?: string): Promise<void> {
    this.tx(() => {
      if (stream === undefined) {
        this.sql('DELETE FROM checkpoints WHERE collector_id = ?').run(collectorId);
        // Partition rows stay (their tokens keep fencing); only their positions go.
        this.sql('UPDATE stream_partitions SET position = NULL WHERE collector_id = ?').run(collectorId);
      } else {
        this.sql('DELETE FROM checkpoints WHERE collector_id = ? AND stream = ?').run(collectorId, stream);
        this.sql('UPDATE stream_partitions SET position = NULL WHERE collector_id = ? AND stream = ?').run(
          collectorId,
          stream,
        );
      }
    });
  }

  /** Throws lease_lost unless `token` is the collector's current, unexpired lease (call inside tx). */
  private checkFence(collectorId: string, token: number): void {
    const r = this.sql(
      'SELECT 1 FROM leases WHERE collector_id = ? AND token = ? AND owner IS NOT NULL AND expires_at > ?',
    ).get(collectorId, token, iso());
    if (!r) throw leaseLost(collectorId, token);
  }

  async commitBatch(b: BatchCommit): Promise<void> {
    const { checkpoint, raws } = checkedBatch(b); // before the transaction: a bad value changes nothing
    const now = iso();
    await this.txOffThread(() => {
      if (b.fence !== undefined) this.checkFence(b.collectorId, b.fence);
      this.sql(
        `INSERT INTO checkpoints (collector_id, stream, value, updated_at, position_time) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (collector_id, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
           position_time = NULLIF(MAX(COALESCE(position_time, ''), COALESCE(excluded.position_time, '')), '')`,
      ).run(b.collectorId, b.stream, checkpoint, now, b.positionTime ?? null);
      this.countDelivered(b, raws, now);
    });
  }

  async putCheckpoint(collectorId: string, stream: string, value: unknown): Promise<void> {
    const json = checkpointJson(value, 'putCheckpoint: value');
    this.sql(
      `INSERT INTO checkpoints (collector_id, stream, value, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (collector_id, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
           position_time = NULL`,
    ).run(collectorId, stream, json, iso());
  }

  // runs

  async startRun(r: RunRecord): Promise<void> {
    this.tx(() => {
      if (r.fence !== undefined) this.checkFence(r.collectorId, r.fence);
      this.sql(
        'INSERT INTO runs (id, collector_id, started_at, ended_at, status, events, pages, bytes, dead_letters, error, runner, fence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        r.id,
        r.collectorId,
        r.startedAt,
        r.endedAt ?? null,
        r.status,
        r.events,
        r.pages,
        r.bytes,
        r.deadLetters,
        r.error ? JSON.stringify(r.error) : null,
        r.runner ?? null,
        r.fence ?? null,
      );
    });
  }

  async finishRun(id: string, status: RunStatus, error?: ErrorInfo): Promise<void> {
    this.sql('UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ? AND ended_at IS NULL').run(
      status,
      iso(),
      error ? JSON.stringify(error) : null,
      id,
    );
  }

  async listRuns(collectorId: string, limit = 50): Promise<RunRecord[]> {
    return (
      this.sql('SELECT * FROM runs WHERE collector_id = ? ORDER BY started_at DESC, rowid DESC LIMIT ?').all(
        collectorId,
        limit,
      ) as Row[]
    ).map(record.run);
  }

  // leases

  async acquireLease(collectorId: string, owner: string, ttlMs: number): Promise<LeaseRecord | undefined> {
    return this.tx(() => {
      const now = Date.now();
      const at = new Date(now).toISOString();
      const expires = new Date(now + ttlMs).toISOString();
      const prev = this.sql('SELECT * FROM leases WHERE collector_id = ?').get(collectorId) as
        | Row
        | undefined;
      if (prev && prev.owner !== null && prev.expires_at > at) return undefined;
      const token = prev ? Number(prev.token) + 1 : 1;
      this.sql(
        `INSERT INTO leases (collector_id, owner, token, acquired_at, expires_at, stop_requested) VALUES (?, ?, ?, ?, ?, 0)
           ON CONFLICT (collector_id) DO UPDATE SET owner = excluded.owner, token = excluded.token,
             acquired_at = excluded.acquired_at, expires_at = excluded.expires_at, stop_requested = 0`,
      ).run(collectorId, owner, token, at, expires);
      if (prev && prev.owner !== null) {
        this.sql(
          `UPDATE runs SET status = 'failed', ended_at = ?, error = ?
             WHERE collector_id = ? AND fence = ? AND ended_at IS NULL`,
        ).run(prev.expires_at, JSON.stringify(leaseExpiredError), collectorId, prev.token);
      }
      const lease = record.lease(
        this.sql('SELECT * FROM leases WHERE collector_id = ?').get(collectorId) as Row,
      );
      return prev && prev.owner !== null ? { ...lease, takenOver: true } : lease;
    });
  }

  async renewLease(collectorId: string, token: number, ttlMs: number): Promise<LeaseRecord | undefined> {
    const now = Date.now();
    const r = this.sql(
      `UPDATE leases SET expires_at = ? WHERE collector_id = ? AND token = ? AND owner IS NOT NULL AND expires_at > ?
         RETURNING *`,
    ).get(new Date(now + ttlMs).toISOString(), collectorId, token, new Date(now).toISOString()) as
      | Row
      | undefined;
    return r && record.lease(r);
  }

  async releaseLease(collectorId: string, token: number): Promise<boolean> {
    const at = iso();
    const r = this.sql(
      `UPDATE leases SET owner = NULL, stop_requested = 0, expires_at = MIN(expires_at, ?)
         WHERE collector_id = ? AND token = ? AND owner IS NOT NULL`,
    ).run(at, collectorId, token);
    return Number(r.changes) > 0;
  }

  async getLease(collectorId: string): Promise<LeaseRecord | undefined> {
    const r = this.sql('SELECT * FROM leases WHERE collector_id = ?').get(collectorId) as Row | undefined;
    return r && record.lease(r);
  }

  async listLeases(): Promise<LeaseRecord[]> {
    return (this.sql('SELECT * FROM leases ORDER BY collector_id').all() as Row[]).map(record.lease);
  }

  async requestLeaseStop(collectorId: string): Promise<boolean> {
    const r = this.sql(
      'UPDATE leases SET stop_requested = 1 WHERE collector_id = ? AND owner IS NOT NULL AND expires_at > ?',
    ).run(collectorId, iso());
    return Number(r.changes) > 0;
  }

  // stream consumers (docs/architecture.md, "Stream consumers")

  async listPartitions(collectorId: string, stream: string): Promise<PartitionRecord[]> {
    return (
      this.sql(
        'SELECT * FROM stream_partitions WHERE collector_id = ? AND stream = ? ORDER BY partition',
      ).all(collectorId, stream) as Row[]
    ).map(record.partition);
  }

  async acquirePartition(
    collectorId: string,
    stream: string,
    partition: string,
    owner: string,
    ttlMs: number,
  ): Promise<PartitionRecord | undefined> {
    return this.tx(() => {
      const now = Date.now();
      const at = new Date(now).toISOString();
      const r = this.sql(
        `INSERT INTO stream_partitions (collector_id, stream, partition, owner, token, expires_at, updated_at)
           VALUES (?, ?, ?, ?, 1, ?, ?)
           ON CONFLICT (collector_id, stream, partition) DO UPDATE SET owner = excluded.owner,
             token = stream_partitions.token + 1, expires_at = excluded.expires_at, updated_at = excluded.updated_at
           WHERE stream_partitions.owner IS NULL OR stream_partitions.expires_at <= ?
           RETURNING *`,
      ).get(collectorId, stream, partition, owner, new Date(now + ttlMs).toISOString(), at, at) as
        | Row
        | undefined;
      return r && record.partition(r);
    });
  }

  async renewPartition(
    collectorId: string,
    stream: string,
    partition: string,
    token: number,
    ttlMs: number,
  ): Promise<PartitionRecord | undefined> {
    const now = Date.now();
    const r = this.sql(
      `UPDATE stream_partitions SET expires_at = ?
         WHERE collector_id = ? AND stream = ? AND partition = ? AND token = ? AND owner IS NOT NULL AND expires_at > ?
         RETURNING *`,
    ).get(
      new Date(now + ttlMs).toISOString(),
      collectorId,
      stream,
      partition,
      token,
      new Date(now).toISOString(),
    ) as Row | undefined;
    return r && record.partition(r);
  }

  async releasePartition(
    collectorId: string,
    stream: string,
    partition: string,
    token: number,
  ): Promise<boolean> {
    const r = this.sql(
      `UPDATE stream_partitions SET owner = NULL, expires_at = NULL, updated_at = ?
         WHERE collector_id = ? AND stream = ? AND partition = ? AND token = ? AND owner IS NOT NULL`,
    ).run(iso(), collectorId, stream, partition, token);
    return Number(r.changes) > 0;
  }

  async commitPartition(p: PartitionCommit): Promise<void> {
    const { position, raws } = checkedPartitionCommit(p); // before the transaction: a bad value changes nothing
    const now = iso();
    this.tx(() => {
      const moved = this.sql(
        `UPDATE stream_partitions SET position = ?, updated_at = ?
           WHERE collector_id = ? AND stream = ? AND partition = ? AND token = ? AND owner IS NOT NULL AND expires_at > ?`,
      ).run(position, now, p.collectorId, p.stream, p.partition, p.token, now);
      if (Number(moved.changes) === 0)
        throw partitionLeaseLost(p.collectorId, p.stream, p.partition, p.token);
      this.countDelivered({ ...p, pages: 0 }, raws, now);
    });
  }

  /** A delivered batch's counters, volume, last event time and dead letters (call inside tx). */
  private countDelivered(
    b: Pick<
      BatchCommit,
      'collectorId' | 'stream' | 'events' | 'pages' | 'bytes' | 'hourly' | 'lastEventTime' | 'deadLetters'
    > & {
      runId?: string;
    },
    raws: string[],
    now: string,
  ): void {
    if (b.runId)
      this.sql(
        'UPDATE runs SET events = events + ?, pages = pages + ?, bytes = bytes + ?, dead_letters = dead_letters + ? WHERE id = ?',
      ).run(b.events, b.pages, b.bytes, b.deadLetters.length, b.runId);
    const count = this.sql(
      `INSERT INTO event_counts (collector_id, hour, count) VALUES (?, ?, ?)
       ON CONFLICT (collector_id, hour) DO UPDATE SET count = count + excluded.count`,
    );
    for (const [hour, n] of Object.entries(b.hourly)) count.run(b.collectorId, hour, n);
    if (b.lastEventTime) {
      this.sql(
        `INSERT INTO collector_state (collector_id, last_event_time) VALUES (?, ?)
           ON CONFLICT (collector_id) DO UPDATE SET last_event_time = MAX(COALESCE(last_event_time, ''), excluded.last_event_time)`,
      ).run(b.collectorId, b.lastEventTime);
    }
    const dl = this.sql(
      'INSERT INTO dead_letters (collector_id, stream, reason, raw, at) VALUES (?, ?, ?, ?, ?)',
    );
    b.deadLetters.forEach((d, i) => {
      dl.run(b.collectorId, b.stream, d.reason, raws[i]!, now);
    });
  }

  async joinStream(collectorId: string, stream: string, member: string, ttlMs: number): Promise<void> {
    this.sql(
      `INSERT INTO stream_members (collector_id, stream, member, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (collector_id, stream, member) DO UPDATE SET expires_at = excluded.expires_at`,
    ).run(collectorId, stream, member, new Date(Date.now() + ttlMs).toISOString());
  }

  async leaveStream(collectorId: string, stream: string, member: string): Promise<void> {
    this.sql('DELETE FROM stream_members WHERE collector_id = ? AND stream = ? AND member = ?').run(
      collectorId,
      stream,
      member,
    );
  }

  async listStreamMembers(collectorId: string, stream: string): Promise<string[]> {
    return (
      this.sql(
        'SELECT member FROM stream_members WHERE collector_id = ? AND stream = ? AND expires_at > ? ORDER BY member',
      ).all(collectorId, stream, iso()) as Row[]
    ).map((r) => r.member as string);
  }

  // errors

  async recordError(collectorId: string, stream: string | undefined, err: ErrorInfo): Promise<void> {
    const now = iso();
    this.sql(
      `INSERT INTO errors (collector_id, stream, code, type, message, action, status, first_seen, last_seen, count)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT (collector_id, stream, code) DO UPDATE SET type = excluded.type, message = excluded.message,
           action = excluded.action, status = excluded.status, last_seen = excluded.last_seen, count = count + 1`,
    ).run(...errorValues(collectorId, stream, err, now));
  }

  async listErrors(collectorId: string): Promise<ErrorRecord[]> {
    return (
      this.sql('SELECT * FROM errors WHERE collector_id = ? ORDER BY last_seen DESC').all(
        collectorId,
      ) as Row[]
    ).map(record.error);
  }

  async clearErrors(collectorId: string): Promise<void> {
    this.sql('DELETE FROM errors WHERE collector_id = ?').run(collectorId);
  }

  // delivery failures

  async recordDeliveryFailure(f: DeliveryFailure): Promise<void> {
    this.sql(
      `INSERT INTO delivery_failures (collector_id, destination, since, last_at, failures, error, gave_up_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (collector_id, destination) DO UPDATE SET last_at = excluded.last_at,
           failures = failures + excluded.failures, error = excluded.error,
           gave_up_at = coalesce(excluded.gave_up_at, gave_up_at)`,
    ).run(...deliveryFailureValues(f));
  }

  async clearDeliveryFailures(collectorId: string, destination?: string): Promise<void> {
    if (destination === undefined)
      this.sql('DELETE FROM delivery_failures WHERE collector_id = ?').run(collectorId);
    else
      this.sql('DELETE FROM delivery_failures WHERE collector_id = ? AND destination = ?').run(
        collectorId,
        destination,
      );
  }

  async listDeliveryFailures(collectorId: string): Promise<DeliveryFailureRecord[]> {
    return (
      this.sql('SELECT * FROM delivery_failures WHERE collector_id = ? ORDER BY since, destination').all(
        collectorId,
      ) as Row[]
    ).map(record.deliveryFailure);
  }

  // push collectors' answers

  async recordIngestAnswers(counts: IngestAnswerCount[]): Promise<void> {
    if (!counts.length) return;
    await this.txOffThread(() => {
      const add = this.sql(
        `INSERT INTO ingest_answers (collector_id, bucket, status, code, requests, events, last_at, message, retry_after)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM collectors WHERE id = ?)
         ON CONFLICT (collector_id, bucket, status, code) DO UPDATE SET
           requests = requests + excluded.requests, events = events + excluded.events,
           message = CASE WHEN excluded.last_at >= last_at THEN excluded.message ELSE message END,
           retry_after = CASE WHEN excluded.last_at >= last_at THEN excluded.retry_after ELSE retry_after END,
           last_at = MAX(last_at, excluded.last_at)`,
      );
      for (const c of counts)
        add.run(
          c.collectorId,
          c.bucket,
          c.status,
          c.code,
          c.requests,
          c.events,
          c.lastAt,
          c.message ?? null,
          c.retryAfter ?? null,
          c.collectorId,
        );
    });
  }

  async listIngestAnswers(collectorId: string, sinceIso: string): Promise<IngestAnswerCount[]> {
    return (
      this.sql(
        'SELECT * FROM ingest_answers WHERE collector_id = ? AND bucket >= ? ORDER BY bucket, status, code',
      ).all(collectorId, sinceIso) as Row[]
    ).map(record.ingestAnswer);
  }

  async pruneIngestAnswers(beforeIso: string): Promise<number> {
    return Number(this.sql('DELETE FROM ingest_answers WHERE bucket < ?').run(beforeIso).changes);
  }

  // vendor waits

  async putVendorWait(w: VendorWaitRecord): Promise<void> {
    this.sql(
      `INSERT INTO vendor_waits (account_id, wait_until, error, collector, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id) DO UPDATE SET wait_until = excluded.wait_until, error = excluded.error,
           collector = excluded.collector, at = excluded.at
         WHERE excluded.wait_until > vendor_waits.wait_until`,
    ).run(...vendorWaitValues(w));
  }

  async getVendorWait(accountId: string): Promise<VendorWaitRecord | undefined> {
    const r = this.sql('SELECT * FROM vendor_waits WHERE account_id = ?').get(accountId) as Row | undefined;
    return r && record.vendorWait(r);
  }

  // dead letters, volume

  async addDeadLetters(collectorId: string, stream: string, items: Array<{ reason: string; raw: string }>) {
    const now = new Date().toISOString();
    const dl = this.sql(
      'INSERT INTO dead_letters (collector_id, stream, reason, raw, at) VALUES (?, ?, ?, ?, ?)',
    );
    this.tx(() => {
      for (const d of items) dl.run(collectorId, stream, d.reason, d.raw, now);
    });
  }

  async listDeadLetters(collectorId: string, limit = 100): Promise<DeadLetterRecord[]> {
    return (
      this.sql('SELECT * FROM dead_letters WHERE collector_id = ? ORDER BY id DESC LIMIT ?').all(
        collectorId,
        limit,
      ) as Row[]
    ).map(record.deadLetter);
  }

  async volume(collectorId: string, sinceIso: string): Promise<Array<{ hour: string; count: number }>> {
    return (
      this.sql('SELECT hour, count FROM event_counts WHERE collector_id = ? AND hour >= ? ORDER BY hour').all(
        collectorId,
        sinceIso,
      ) as Row[]
    ).map(record.volume);
  }

  async lastEventTime(collectorId: string): Promise<string | undefined> {
    const r = this.sql('SELECT last_event_time FROM collector_state WHERE collector_id = ?').get(
      collectorId,
    ) as Row | undefined;
    return r?.last_event_time ?? undefined;
  }

  // settings

  async getSetting(key: string): Promise<string | undefined> {
    return (this.sql('SELECT value FROM settings WHERE key = ?').get(key) as Row | undefined)?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    this.sql(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(key, value);
  }

  // sites

  async listSites(): Promise<SiteRecord[]> {
    return (this.sql('SELECT * FROM sites ORDER BY name').all() as Row[]).map(record.site);
  }

  async putSite(name: string): Promise<void> {
    this.sql('INSERT INTO sites (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING').run(name, iso());
  }

  async renameSite(from: string, to: string): Promise<boolean> {
    return this.tx(() => {
      if (!Number(this.sql('UPDATE sites SET name = ? WHERE name = ?').run(to, from).changes)) return false;
      this.sql(
        `UPDATE collectors SET config = json_set(config, '$.site', ?), updated_at = ? WHERE json_extract(config, '$.site') = ?`,
      ).run(to, iso(), from);
      return true;
    });
  }

  async deleteSite(name: string): Promise<boolean> {
    return Number(this.sql('DELETE FROM sites WHERE name = ?').run(name).changes) > 0;
  }

  // destinations

  async putDestination(d: DestinationRecord): Promise<void> {
    this.sql(
      `INSERT INTO destinations (id, name, kind, config, secrets, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, config = excluded.config,
           secrets = excluded.secrets, updated_at = excluded.updated_at`,
    ).run(...destinationValues(d));
  }

  async getDestination(name: string): Promise<DestinationRecord | undefined> {
    const r = this.sql('SELECT * FROM destinations WHERE name = ?').get(name) as Row | undefined;
    return r && record.destination(r);
  }

  async listDestinations(): Promise<DestinationRecord[]> {
    return (this.sql('SELECT * FROM destinations ORDER BY name').all() as Row[]).map(record.destination);
  }

  async deleteDestination(name: string): Promise<boolean> {
    return Number(this.sql('DELETE FROM destinations WHERE name = ?').run(name).changes) > 0;
  }

  // users, sessions, API tokens

  async putUser(u: UserRecord): Promise<void> {
    this.sql(
      `INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at, last_login_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash,
           role = excluded.role, disabled = excluded.disabled, updated_at = excluded.updated_at,
           last_login_at = excluded.last_login_at`,
    ).run(...userValues(u, sqliteColumns));
  }

  async getUser(id: string): Promise<UserRecord | undefined> {
    const r = this.sql('SELECT * FROM users WHERE id = ?').get(id) as Row | undefined;
    return r && record.user(r);
  }

  async getUserByName(username: string): Promise<UserRecord | undefined> {
    const r = this.sql('SELECT * FROM users WHERE username = ?').get(username) as Row | undefined;
    return r && record.user(r);
  }

  async listUsers(): Promise<UserRecord[]> {
    return (this.sql('SELECT * FROM users ORDER BY username').all() as Row[]).map(record.user);
  }

  async deleteUser(id: string): Promise<boolean> {
    return Number(this.sql('DELETE FROM users WHERE id = ?').run(id).changes) > 0;
  }

  async putSession(x: SessionRecord): Promise<void> {
    this.sql(
      'INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at, ip) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(...sessionValues(x));
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const r = this.sql('SELECT * FROM sessions WHERE id = ?').get(id) as Row | undefined;
    return r && record.session(r);
  }

  async deleteSession(id: string): Promise<void> {
    this.sql('DELETE FROM sessions WHERE id = ?').run(id);
  }

  async deleteUserSessions(userId: string): Promise<void> {
    this.sql('DELETE FROM sessions WHERE user_id = ?').run(userId);
  }

  async putApiToken(t: ApiTokenRecord): Promise<void> {
    this.sql(
      `INSERT INTO api_tokens (id, name, user_id, hash, last4, created_at, expires_at, last_used_at, revoked_at, scopes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, expires_at = excluded.expires_at,
           last_used_at = excluded.last_used_at, revoked_at = excluded.revoked_at`,
    ).run(...apiTokenValues(t));
  }

  async getApiToken(id: string): Promise<ApiTokenRecord | undefined> {
    const r = this.sql('SELECT * FROM api_tokens WHERE id = ?').get(id) as Row | undefined;
    return r && record.apiToken(r);
  }

  async getApiTokenByHash(hash: string): Promise<ApiTokenRecord | undefined> {
    const r = this.sql('SELECT * FROM api_tokens WHERE hash = ?').get(hash) as Row | undefined;
    return r && record.apiToken(r);
  }

  async listApiTokens(userId?: string): Promise<ApiTokenRecord[]> {
    const list =
      userId === undefined
        ? this.sql('SELECT * FROM api_tokens ORDER BY created_at').all()
        : this.sql('SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at').all(userId);
    return (list as Row[]).map(record.apiToken);
  }

  // sign-in throttling (BEGIN IMMEDIATE: one writer at a time, across processes too)

  async takeLoginAttempt(limits: AttemptLimit[]): Promise<AttemptDecision> {
    return this.tx(() => {
      const now = Date.now();
      const get = this.sql('SELECT * FROM login_attempts WHERE key = ?');
      const current = new Map<string, AttemptRow>();
      for (const l of limits) {
        const r = get.get(l.key) as Row | undefined;
        if (r) current.set(l.key, record.attempt(r));
      }
      const d = decideAttempt(limits, current, now);
      if (!d.granted) return d;
      const put = this.sql(
        `INSERT INTO login_attempts (key, failures, locked_until, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until,
           updated_at = excluded.updated_at`,
      );
      for (const r of d.rows)
        put.run(r.key, r.failures, msIso(r.lockedUntil), new Date(r.updatedAt).toISOString());
      return { granted: true, reservation: d.reservation };
    });
  }

  async releaseLoginAttempt(r: AttemptReservation): Promise<void> {
    this.tx(() => {
      const undo = this.sql(
        `UPDATE login_attempts SET failures = MAX(failures - 1, 0),
           locked_until = CASE WHEN locked_until = ? THEN NULL ELSE locked_until END
         WHERE key = ?`,
      );
      for (const k of r.keys) undo.run(msIso(k.lockedUntil), k.key);
    });
  }

  async clearLoginAttempts(key: string): Promise<void> {
    this.sql('DELETE FROM login_attempts WHERE key = ?').run(key);
  }

  async pruneLoginAttempts(idleMs: number): Promise<number> {
    const now = Date.now();
    return Number(
      this.sql(
        'DELETE FROM login_attempts WHERE updated_at < ? AND (locked_until IS NULL OR locked_until < ?)',
      ).run(new Date(now - idleMs).toISOString(), new Date(now).toISOString()).changes,
    );
  }

  async countUnknownLogin(address: string, windowMs: number): Promise<void> {
    this.tx(() => {
      const now = iso();
      const r = this.sql('SELECT * FROM unknown_logins WHERE address = ?').get(address) as Row | undefined;
      if (r && Date.parse(r.window_start) + windowMs > Date.parse(now)) {
        this.sql('UPDATE unknown_logins SET count = count + 1, last_at = ? WHERE address = ?').run(
          now,
          address,
        );
        return;
      }
      if (r) this.insertAudit(unknownLoginAudit(address, Number(r.count), r.window_start, r.last_at, now));
      this.sql(
        `INSERT INTO unknown_logins (address, window_start, last_at, count) VALUES (?, ?, ?, 1)
           ON CONFLICT (address) DO UPDATE SET window_start = excluded.window_start, last_at = excluded.last_at, count = 1`,
      ).run(address, now, now);
    });
  }

  async flushUnknownLogins(windowMs: number): Promise<number> {
    return this.tx(() => {
      const now = iso();
      const closed = this.sql(
        'SELECT * FROM unknown_logins WHERE window_start <= ? ORDER BY window_start',
      ).all(new Date(Date.parse(now) - windowMs).toISOString()) as Row[];
      const drop = this.sql('DELETE FROM unknown_logins WHERE address = ?');
      for (const r of closed) {
        this.insertAudit(unknownLoginAudit(r.address, Number(r.count), r.window_start, r.last_at, now));
        drop.run(r.address);
      }
      return closed.length;
    });
  }

  // audit log

  async appendAudit(a: Omit<AuditRecord, 'id'>): Promise<AuditRecord> {
    return this.insertAudit(a);
  }

  private insertAudit(a: Omit<AuditRecord, 'id'>): AuditRecord {
    const r = this.sql(
      'INSERT INTO audit_log (at, actor, action, target_type, target, ip, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(...auditValues(a));
    return { id: Number(r.lastInsertRowid), ...a };
  }

  async listAudit(q: AuditQuery = {}): Promise<AuditRecord[]> {
    const { where, args } = auditFilter(q, () => '?');
    const sql = `SELECT * FROM audit_log${where} ORDER BY id DESC LIMIT ?`;
    return (this.sql(sql).all(...args) as Row[]).map(record.audit);
  }
}
