/**
 * Versioned schema changes for the Postgres store, applied in order in one transaction under an advisory
 * lock (see PostgresStore.migrate). Version numbers follow the SQLite store's, so both stores at version N
 * hold the same records. Tables are created unqualified: the store's connections search only its schema.
 *
 * Types: times are timestamptz (read back as ISO strings); counters are bigint. JSON that only Tributary
 * reads (checkpoint values, run errors) is jsonb. Records as the user wrote them (account, collector and
 * destination config, audit states) are json: validated, but kept as written, key order included, so
 * they read back exactly as stored (the control plane compares them as JSON text and shows them in the
 * order given; jsonb would reorder keys). Raw dead letters are bytea (UTF-8): byte-exact, NUL
 * characters included, which text cannot hold.
 *
 * Version 3 adds leases (both stores) and, Postgres only, what cluster mode's workers share: the
 * collector schedule the scheduling claims read, and the per-account rate-limit buckets.
 *
 * Version 4 (both stores): collectors' sealed secret settings. Version 5 (both stores): the delivery
 * failures health reports, and the vendor waits (a Retry-After longer than a run waits) that hold back
 * every run of an account's collectors, claims included. Version 6 (both stores): the sign-in
 * throttle's counters. Version 7 (both stores): API token scopes, and the event time of a stream's
 * committed position (checkpoint lag). Version 8 (both stores): the answers of push collectors' ingest
 * endpoints.
 */
export const migrations: Array<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
CREATE TABLE accounts (
  id text PRIMARY KEY, name text NOT NULL UNIQUE, kind text NOT NULL,
  config json NOT NULL, secrets json NOT NULL, expires_at timestamptz,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL
);
CREATE TABLE collectors (
  id text PRIMARY KEY, name text NOT NULL UNIQUE, source text NOT NULL, account text,
  config json NOT NULL, enabled boolean NOT NULL,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL
);
CREATE TABLE checkpoints (
  collector_id text NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  stream text NOT NULL, value jsonb NOT NULL, updated_at timestamptz NOT NULL,
  PRIMARY KEY (collector_id, stream)
);
CREATE TABLE runs (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  collector_id text NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  started_at timestamptz NOT NULL, ended_at timestamptz, status text NOT NULL,
  events bigint NOT NULL DEFAULT 0, pages bigint NOT NULL DEFAULT 0, bytes bigint NOT NULL DEFAULT 0,
  dead_letters bigint NOT NULL DEFAULT 0, error jsonb, runner text
);
CREATE INDEX runs_by_collector ON runs (collector_id, started_at DESC, seq DESC);
CREATE TABLE errors (
  collector_id text NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  stream text NOT NULL DEFAULT '', code text NOT NULL, type text NOT NULL,
  message text NOT NULL, action text NOT NULL, status integer,
  first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL, count bigint NOT NULL,
  PRIMARY KEY (collector_id, stream, code)
);
CREATE TABLE dead_letters (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  collector_id text NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  stream text NOT NULL, reason text NOT NULL, raw bytea NOT NULL, at timestamptz NOT NULL
);
CREATE INDEX dead_letters_by_collector ON dead_letters (collector_id, id);
CREATE TABLE event_counts (
  collector_id text NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  hour timestamptz NOT NULL, count bigint NOT NULL,
  PRIMARY KEY (collector_id, hour)
);
CREATE TABLE collector_state (
  collector_id text PRIMARY KEY REFERENCES collectors(id) ON DELETE CASCADE,
  last_event_time timestamptz
);
CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
`,
  },
  {
    version: 2,
    sql: `
CREATE TABLE sites (name text PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE destinations (
  id text PRIMARY KEY, name text NOT NULL UNIQUE, kind text NOT NULL,
  config json NOT NULL, secrets json NOT NULL,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL
);
CREATE TABLE users (
  id text PRIMARY KEY, username text NOT NULL UNIQUE, password_hash text NOT NULL, role text NOT NULL,
  disabled boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  last_login_at timestamptz
);
CREATE TABLE sessions (
  id text PRIMARY KEY, user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token text NOT NULL, created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, ip text
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE TABLE api_tokens (
  id text PRIMARY KEY, name text NOT NULL, user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash text NOT NULL UNIQUE, last4 text NOT NULL, created_at timestamptz NOT NULL, expires_at timestamptz,
  last_used_at timestamptz, revoked_at timestamptz
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id, created_at);
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL, actor text NOT NULL,
  action text NOT NULL, target_type text NOT NULL, target text, ip text, before json, after json
);
CREATE INDEX audit_by_time ON audit_log (at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
`,
  },
  {
    version: 3,
    sql: `
ALTER TABLE runs ADD COLUMN fence bigint;
CREATE INDEX runs_unfinished_by_fence ON runs (collector_id, fence) WHERE ended_at IS NULL;
CREATE TABLE leases (
  collector_id text PRIMARY KEY REFERENCES collectors(id) ON DELETE CASCADE,
  owner text, token bigint NOT NULL, acquired_at timestamptz NOT NULL, expires_at timestamptz NOT NULL,
  stop_requested boolean NOT NULL DEFAULT false
);
CREATE TABLE collector_schedule (
  collector_id text PRIMARY KEY REFERENCES collectors(id) ON DELETE CASCADE,
  next_run_at timestamptz NOT NULL, claimed_at timestamptz
);
CREATE INDEX collector_schedule_due ON collector_schedule (next_run_at);
-- key: an account id, or an account id and one of its endpoints (AccountKind.endpointRateLimit)
CREATE TABLE rate_buckets (
  account_key text PRIMARY KEY,
  tokens double precision NOT NULL, updated_at timestamptz NOT NULL, paused_until timestamptz
);
-- One token from an account's bucket, refilled at rate per second up to burst, on the server's clock:
-- 0 when granted, else the seconds to wait before asking again. The row lock serialises takers.
CREATE FUNCTION take_rate_token(k text, rate double precision, burst double precision)
RETURNS double precision LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  t timestamptz := clock_timestamp();
  have double precision;
  since timestamptz;
  paused timestamptz;
BEGIN
  SELECT tokens, updated_at, paused_until INTO have, since, paused FROM rate_buckets WHERE account_key = k FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO rate_buckets (account_key, tokens, updated_at) VALUES (k, burst - 1, t)
      ON CONFLICT (account_key) DO NOTHING;
    IF FOUND THEN RETURN 0; END IF;
    SELECT tokens, updated_at, paused_until INTO have, since, paused FROM rate_buckets WHERE account_key = k FOR UPDATE;
  END IF;
  IF paused IS NOT NULL AND paused > t THEN
    RETURN extract(epoch FROM paused - t);
  END IF;
  have := least(burst, have + greatest(0, extract(epoch FROM t - since)) * rate);
  IF have >= 1 THEN
    UPDATE rate_buckets SET tokens = have - 1, updated_at = t WHERE account_key = k;
    RETURN 0;
  END IF;
  UPDATE rate_buckets SET tokens = have, updated_at = t WHERE account_key = k;
  RETURN (1 - have) / rate;
END
$$;
`,
  },
  {
    version: 4,
    sql: `
-- A collector's secret settings (secret request headers, a push collector's HMAC secret), sealed.
ALTER TABLE collectors ADD COLUMN secrets jsonb NOT NULL DEFAULT '{}';
`,
  },
  {
    version: 5,
    sql: `
CREATE TABLE delivery_failures (
  collector_id text NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  destination text NOT NULL, since timestamptz NOT NULL, last_at timestamptz NOT NULL,
  failures bigint NOT NULL, error jsonb NOT NULL, gave_up_at timestamptz,
  PRIMARY KEY (collector_id, destination)
);
CREATE TABLE vendor_waits (
  account_id text PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  wait_until timestamptz NOT NULL, error jsonb NOT NULL, collector text, at timestamptz NOT NULL
);
`,
  },
  {
    version: 6,
    sql: `
-- Sign-in throttling (src/store/login-attempts.ts): one row per username hash or client address.
CREATE TABLE login_attempts (
  key text PRIMARY KEY, failures integer NOT NULL, locked_until timestamptz, updated_at timestamptz NOT NULL
);
CREATE INDEX login_attempts_by_time ON login_attempts (updated_at);
-- Failed sign-ins with unknown usernames, counted per address until their window is audited.
CREATE TABLE unknown_logins (
  address text PRIMARY KEY, window_start timestamptz NOT NULL, last_at timestamptz NOT NULL, count bigint NOT NULL
);
`,
  },
  {
    version: 7,
    sql: `
-- An API token limited to some scopes (e.g. ["metrics"]); NULL: its user's full role.
ALTER TABLE api_tokens ADD COLUMN scopes jsonb;
-- The event time a stream's committed position has reached, for the checkpoint lag metric.
ALTER TABLE checkpoints ADD COLUMN position_time timestamptz;
`,
  },
  {
    version: 8,
    sql: `
-- Answers of push collectors' ingest endpoints, per 5-minute bucket, status and code.
CREATE TABLE ingest_answers (
  collector_id text NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  bucket timestamptz NOT NULL, status integer NOT NULL, code text NOT NULL,
  requests bigint NOT NULL, events bigint NOT NULL,
  last_at timestamptz NOT NULL, message text, retry_after integer,
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
  collector_id text NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  stream text NOT NULL, partition text NOT NULL, position jsonb,
  owner text, token bigint NOT NULL, expires_at timestamptz, updated_at timestamptz NOT NULL,
  PRIMARY KEY (collector_id, stream, partition)
);
CREATE TABLE stream_members (
  collector_id text NOT NULL REFERENCES collectors(id) ON DELETE CASCADE,
  stream text NOT NULL, member text NOT NULL, expires_at timestamptz NOT NULL,
  PRIMARY KEY (collector_id, stream, member)
);
`,
  },
];

/** The schema version this build needs. */
export const LATEST_VERSION = migrations.at(-1)!.version;
