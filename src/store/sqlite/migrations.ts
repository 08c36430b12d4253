/** Versioned schema changes for the embedded store, applied in order, each in its own transaction. */
export const migrations: Array<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
CREATE TABLE accounts (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
  config TEXT NOT NULL, secrets TEXT NOT NULL, expires_at TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE collectors (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, source TEXT NOT NULL, account TEXT,
  config TEXT NOT NULL, enabled INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE checkpoints (
  collector_id TEXT NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  stream TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (collector_id, stream)
);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  collector_id TEXT NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL,
  events INTEGER NOT NULL DEFAULT 0, pages INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
  dead_letters INTEGER NOT NULL DEFAULT 0, error TEXT, runner TEXT
);
CREATE INDEX runs_by_collector ON runs (collector_id, started_at);
CREATE TABLE errors (
  collector_id TEXT NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  stream TEXT NOT NULL DEFAULT '', code TEXT NOT NULL, type TEXT NOT NULL,
  message TEXT NOT NULL, action TEXT NOT NULL, status INTEGER,
  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (collector_id, stream, code)
);
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collector_id TEXT NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  stream TEXT NOT NULL, reason TEXT NOT NULL, raw TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX dead_letters_by_collector ON dead_letters (collector_id, id);
CREATE TABLE event_counts (
  collector_id TEXT NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  hour TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (collector_id, hour)
);
CREATE TABLE collector_state (
  collector_id TEXT PRIMARY KEY REFERENCES collectors(id) ON DELETE CASCADE,
  last_event_time TEXT
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`,
  },
  {
    version: 2,
    sql: `
CREATE TABLE sites (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE destinations (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
  config TEXT NOT NULL, secrets TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE users (
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, role TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_login_at TEXT
);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, ip TEXT
);
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash TEXT NOT NULL UNIQUE, last4 TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT,
  last_used_at TEXT, revoked_at TEXT
);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target_type TEXT NOT NULL, target TEXT, ip TEXT, before TEXT, after TEXT
);
CREATE INDEX audit_by_time ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`,
  },
  {
    version: 3,
    sql: `
ALTER TABLE runs ADD COLUMN fence INTEGER;
CREATE TABLE leases (
  collector_id TEXT PRIMARY KEY REFERENCES collectors(id) ON DELETE CASCADE,
  owner TEXT, token INTEGER NOT NULL, acquired_at TEXT NOT NULL, expires_at TEXT NOT NULL,
  stop_requested INTEGER NOT NULL DEFAULT 0
);
`,
  },
  {
    version: 4,
    sql: `
-- A collector's secret settings (secret request headers, a push collector's HMAC secret), sealed.
ALTER TABLE collectors ADD COLUMN secrets TEXT NOT NULL DEFAULT '{}';
`,
  },
  {
    version: 5,
    sql: `
CREATE TABLE delivery_failures (
  collector_id TEXT NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  destination TEXT NOT NULL, since TEXT NOT NULL, last_at TEXT NOT NULL, failures INTEGER NOT NULL,
  error TEXT NOT NULL, gave_up_at TEXT,
  PRIMARY KEY (collector_id, destination)
);
CREATE TABLE vendor_waits (
  account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  wait_until TEXT NOT NULL, error TEXT NOT NULL, collector TEXT, at TEXT NOT NULL
);
`,
  },
  {
    version: 6,
    sql: `
CREATE TABLE login_attempts (
  key TEXT PRIMARY KEY, failures INTEGER NOT NULL, locked_until TEXT, updated_at TEXT NOT NULL
);
CREATE INDEX login_attempts_by_time ON login_attempts (updated_at);
CREATE TABLE unknown_logins (
  address TEXT PRIMARY KEY, window_start TEXT NOT NULL, last_at TEXT NOT NULL, count INTEGER NOT NULL
);
`,
  },
  {
    version: 7,
    sql: `
-- An API token limited to some scopes (a JSON array, e.g. ["metrics"]); NULL: its user's full role.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT;
-- The event time a stream's committed position has reached, for the checkpoint lag metric.
ALTER TABLE checkpoints ADD COLUMN position_time TEXT;
`,
  },
  {
    version: 8,
    sql: `
-- Answers of push collectors' ingest endpoints, per 5-minute bucket, status and code.
CREATE TABLE ingest_answers (
  collector_id TEXT NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  bucket TEXT NOT NULL, status INTEGER NOT NULL, code TEXT NOT NULL,
  requests INTEGER NOT NULL, events INTEGER NOT NULL,
  last_at TEXT NOT NULL, message TEXT, retry_after INTEGER,
  PRIMARY KEY (collector_id, bucket, status, code)
);
CREATE INDEX ingest_answers_by_bucket ON ingest_answers (bucket);
`,
  },
  {
    version: 9,
    sql: `
-- Stream consumers (docs/architecture.md, "Stream consumers"): each partition's committed position and
-- its fenced lease (one owner at a time), and the consumers sharing a stream.
CREATE TABLE stream_partitions (
  collector_id TEXT NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  stream TEXT NOT NULL, partition TEXT NOT NULL, position TEXT,
  owner TEXT, token INTEGER NOT NULL, expires_at TEXT, updated_at TEXT NOT NULL,
  PRIMARY KEY (collector_id, stream, partition)
);
CREATE TABLE stream_members (
  collector_id TEXT NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  stream TEXT NOT NULL, member TEXT NOT NULL, expires_at TEXT NOT NULL,
  PRIMARY KEY (collector_id, stream, member)
);
`,
  },
];

/** The schema version this build needs. */
export const LATEST_VERSION = migrations.at(-1)!.version;
