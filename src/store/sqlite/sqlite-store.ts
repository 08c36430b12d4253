import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { ErrorInfo } from '../../core/errors.ts';
import type {
  AccountRecord,
  BatchCommit,
  CheckpointRecord,
  CollectorRecord,
  DeadLetterRecord,
  ErrorRecord,
  RunRecord,
  RunStatus,
  Store,
} from '../store.ts';
import { migrations } from './migrations.ts';

type Row = Record<string, any>;
const iso = () => new Date().toISOString();

/**
 * The embedded store: one SQLite file in the data directory (node:sqlite, no native build). WAL with
 * synchronous=FULL: a commit that returned survives kill -9 and power loss, which is what lets the
 * runner promise that an acknowledged checkpoint is never lost.
 */
export class SqliteStore implements Store {
  private readonly db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.db = db;
  }

  static async open(dataDir: string): Promise<SqliteStore> {
    mkdirSync(dataDir, { recursive: true });
    const db = new DatabaseSync(join(dataDir, 'tributary.db'));
    db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;',
    );
    return new SqliteStore(db);
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
      (this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => r.version),
    );
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      this.tx(() => {
        this.db.exec(m.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
          .run(m.version, iso());
      });
    }
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  // accounts

  async putAccount(a: AccountRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO accounts (id, name, kind, config, secrets, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, config = excluded.config,
           secrets = excluded.secrets, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
      )
      .run(
        a.id,
        a.name,
        a.kind,
        JSON.stringify(a.config),
        JSON.stringify(a.secrets),
        a.expiresAt ?? null,
        a.createdAt,
        a.updatedAt,
      );
  }

  async getAccount(name: string): Promise<AccountRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM accounts WHERE name = ?').get(name) as Row | undefined;
    return r && toAccount(r);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (this.db.prepare('SELECT * FROM accounts ORDER BY name').all() as Row[]).map(toAccount);
  }

  async deleteAccount(name: string): Promise<boolean> {
    return Number(this.db.prepare('DELETE FROM accounts WHERE name = ?').run(name).changes) > 0;
  }

  // collectors

  async putCollector(c: CollectorRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO collectors (id, name, source, account, config, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, source = excluded.source, account = excluded.account,
           config = excluded.config, enabled = excluded.enabled, updated_at = excluded.updated_at`,
      )
      .run(
        c.id,
        c.name,
        c.source,
        c.account ?? null,
        JSON.stringify(c.config),
        c.enabled ? 1 : 0,
        c.createdAt,
        c.updatedAt,
      );
  }

  async getCollector(name: string): Promise<CollectorRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM collectors WHERE name = ?').get(name) as Row | undefined;
    return r && toCollector(r);
  }

  async listCollectors(): Promise<CollectorRecord[]> {
    return (this.db.prepare('SELECT * FROM collectors ORDER BY name').all() as Row[]).map(toCollector);
  }

  async deleteCollector(name: string): Promise<boolean> {
    return Number(this.db.prepare('DELETE FROM collectors WHERE name = ?').run(name).changes) > 0;
  }

  // checkpoints

  async getCheckpoint(collectorId: string, stream: string): Promise<CheckpointRecord | undefined> {
    const r = this.db
      .prepare('SELECT * FROM checkpoints WHERE collector_id = ? AND stream = ?')
      .get(collectorId, stream) as Row | undefined;
    return r && toCheckpoint(r);
  }

  async listCheckpoints(collectorId: string): Promise<CheckpointRecord[]> {
    return (
      this.db
        .prepare('SELECT * FROM checkpoints WHERE collector_id = ? ORDER BY stream')
        .all(collectorId) as Row[]
    ).map(toCheckpoint);
  }

  async resetCheckpoint(collectorId: string, stream?: string): Promise<void> {
    if (stream === undefined)
      this.db.prepare('DELETE FROM checkpoints WHERE collector_id = ?').run(collectorId);
    else
      this.db
        .prepare('DELETE FROM checkpoints WHERE collector_id = ? AND stream = ?')
        .run(collectorId, stream);
  }

  async commitBatch(b: BatchCommit): Promise<void> {
    const checkpoint = JSON.stringify(b.checkpoint); // serialised before the transaction: a bad value changes nothing
    const now = iso();
    this.tx(() => {
      this.db
        .prepare(
          `INSERT INTO checkpoints (collector_id, stream, value, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (collector_id, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        )
        .run(b.collectorId, b.stream, checkpoint, now);
      this.db
        .prepare(
          'UPDATE runs SET events = events + ?, pages = pages + ?, bytes = bytes + ?, dead_letters = dead_letters + ? WHERE id = ?',
        )
        .run(b.events, b.pages, b.bytes, b.deadLetters.length, b.runId);
      const count = this.db.prepare(
        `INSERT INTO event_counts (collector_id, hour, count) VALUES (?, ?, ?)
         ON CONFLICT (collector_id, hour) DO UPDATE SET count = count + excluded.count`,
      );
      for (const [hour, n] of Object.entries(b.hourly)) count.run(b.collectorId, hour, n);
      if (b.lastEventTime) {
        this.db
          .prepare(
            `INSERT INTO collector_state (collector_id, last_event_time) VALUES (?, ?)
             ON CONFLICT (collector_id) DO UPDATE SET last_event_time = MAX(COALESCE(last_event_time, ''), excluded.last_event_time)`,
          )
          .run(b.collectorId, b.lastEventTime);
      }
      const dl = this.db.prepare(
        'INSERT INTO dead_letters (collector_id, stream, reason, raw, at) VALUES (?, ?, ?, ?, ?)',
      );
      for (const d of b.deadLetters) dl.run(b.collectorId, b.stream, d.reason, d.raw, now);
    });
  }

  // runs

  async startRun(r: RunRecord): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO runs (id, collector_id, started_at, ended_at, status, events, pages, bytes, dead_letters, error, runner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
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
      );
  }

  async finishRun(id: string, status: RunStatus, error?: ErrorInfo): Promise<void> {
    this.db
      .prepare('UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?')
      .run(status, iso(), error ? JSON.stringify(error) : null, id);
  }

  async listRuns(collectorId: string, limit = 50): Promise<RunRecord[]> {
    return (
      this.db
        .prepare('SELECT * FROM runs WHERE collector_id = ? ORDER BY started_at DESC, rowid DESC LIMIT ?')
        .all(collectorId, limit) as Row[]
    ).map(toRun);
  }

  // errors

  async recordError(collectorId: string, stream: string | undefined, err: ErrorInfo): Promise<void> {
    const now = iso();
    this.db
      .prepare(
        `INSERT INTO errors (collector_id, stream, code, type, message, action, status, first_seen, last_seen, count)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT (collector_id, stream, code) DO UPDATE SET type = excluded.type, message = excluded.message,
           action = excluded.action, status = excluded.status, last_seen = excluded.last_seen, count = count + 1`,
      )
      .run(
        collectorId,
        stream ?? '',
        err.code,
        err.type,
        err.message,
        err.action,
        err.status ?? null,
        now,
        now,
      );
  }

  async listErrors(collectorId: string): Promise<ErrorRecord[]> {
    return (
      this.db
        .prepare('SELECT * FROM errors WHERE collector_id = ? ORDER BY last_seen DESC')
        .all(collectorId) as Row[]
    ).map((r) => {
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
    });
  }

  async clearErrors(collectorId: string): Promise<void> {
    this.db.prepare('DELETE FROM errors WHERE collector_id = ?').run(collectorId);
  }

  // dead letters, volume

  async listDeadLetters(collectorId: string, limit = 100): Promise<DeadLetterRecord[]> {
    return (
      this.db
        .prepare('SELECT * FROM dead_letters WHERE collector_id = ? ORDER BY id DESC LIMIT ?')
        .all(collectorId, limit) as Row[]
    ).map((r) => ({
      id: r.id,
      collectorId: r.collector_id,
      stream: r.stream,
      reason: r.reason,
      raw: r.raw,
      at: r.at,
    }));
  }

  async volume(collectorId: string, sinceIso: string): Promise<Array<{ hour: string; count: number }>> {
    return (
      this.db
        .prepare('SELECT hour, count FROM event_counts WHERE collector_id = ? AND hour >= ? ORDER BY hour')
        .all(collectorId, sinceIso) as Row[]
    ).map((r) => ({
      hour: r.hour,
      count: r.count,
    }));
  }

  async lastEventTime(collectorId: string): Promise<string | undefined> {
    const r = this.db
      .prepare('SELECT last_event_time FROM collector_state WHERE collector_id = ?')
      .get(collectorId) as Row | undefined;
    return r?.last_event_time ?? undefined;
  }

  // settings

  async getSetting(key: string): Promise<string | undefined> {
    return (this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as Row | undefined)?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }
}

function toAccount(r: Row): AccountRecord {
  const a: AccountRecord = {
    id: r.id,
    name: r.name,
    kind: r.kind,
    config: JSON.parse(r.config),
    secrets: JSON.parse(r.secrets),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.expires_at) a.expiresAt = r.expires_at;
  return a;
}

function toCollector(r: Row): CollectorRecord {
  const c: CollectorRecord = {
    id: r.id,
    name: r.name,
    source: r.source,
    config: JSON.parse(r.config),
    enabled: r.enabled === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.account !== null) c.account = r.account;
  return c;
}

const toCheckpoint = (r: Row): CheckpointRecord => ({
  collectorId: r.collector_id,
  stream: r.stream,
  value: JSON.parse(r.value),
  updatedAt: r.updated_at,
});

function toRun(r: Row): RunRecord {
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
  if (r.error) run.error = JSON.parse(r.error);
  if (r.runner) run.runner = r.runner;
  return run;
}
