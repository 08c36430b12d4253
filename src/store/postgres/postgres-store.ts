import pg from 'pg';
import type { ErrorInfo } from '../../core/errors.ts';
import type { Logger } from '../../core/source.ts';
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
  postgresColumns,
  type Row,
  rowMappers,
  sessionValues,
  userValues,
  vendorWaitValues,
} from '../rows.ts';
import { LATEST_VERSION, migrations } from './migrations.ts';
import { describeTarget, isPostgresUrl, schemeOf } from './url.ts';

export { describeTarget, isPostgresUrl, schemeOf };

type Client = pg.PoolClient;
const iso = () => new Date().toISOString();
const record = rowMappers(postgresColumns);

export interface PostgresStoreOptions {
  /** postgres:// or postgresql:// URL. Never logged nor put in an error message. */
  connectionString: string;
  /**
   * Schema holding Tributary's tables; migrate() creates it if missing. Default: the URL's `schema`
   * parameter (postgres://host/db?schema=tributary), else public.
   */
  schema?: string;
  /** Most connections this process opens (default 10). */
  poolSize?: number;
  /** How long to wait for a new connection before failing (default 10 s). */
  connectTimeoutMs?: number;
  /** application_name shown in pg_stat_activity (default: PGAPPNAME, else tributary). */
  applicationName?: string;
  /** Where dropped connections and database outages are reported (they are replaced on next use). */
  log?: Logger;
  /**
   * How long a statement that failed because the database was unreachable (a restart, a failover) is
   * retried, with backoff, before the failure is reported (default 15 s). Only statements that cannot
   * have been applied are retried (see withClient).
   */
  reconnectWindowMs?: number;
  /**
   * The server ends a session left idle inside a transaction this long (default 10 s), releasing its
   * locks: a paused or wedged process must not hold a lease row and stall the takeover of its collectors.
   */
  idleInTransactionTimeoutMs?: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The advisory lock key migrate() holds: one per schema, so separate schemas migrate independently. */
export const migrationLockKey = (schema: string) => `tributary.migrate:${schema}`;

/**
 * Times come back as ISO strings, exactly like the SQLite store returns them (timestamptz keeps
 * microseconds; everything Tributary writes has milliseconds, so nothing is lost). bigint counters come
 * back as numbers (pg's default is a string). Per pool, not process-wide: other pg users are unaffected.
 */
function typeParsers(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  const parseDate = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text');
  types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (v: string) => {
    const d = parseDate(v) as unknown;
    return d instanceof Date && !Number.isNaN(d.getTime()) ? d.toISOString() : v;
  });
  types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  return types;
}

/**
 * The cluster store: Postgres through a pool of `pg` connections, shared by any number of processes.
 * Every multi-statement change is one transaction; migrations run under an advisory lock so processes
 * starting together migrate once. A connection the server dropped (restart, failover, idle timeout,
 * pg_terminate_backend) is replaced: a statement that cannot have been applied is retried on a new one.
 */
export class PostgresStore implements Store {
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly poolSize: number;
  private readonly log?: Logger;
  private readonly reconnectWindowMs: number;
  private closed = false;
  /** Since when statements fail because the database is unreachable (undefined: it is reachable). */
  private outageSince?: number;
  /** Pooled connections whose session is set up (search_path). */
  private readonly sessions = new WeakSet<Client>();
  /** Outages this store lived through: the database became unreachable, then reachable again. */
  readonly outages = { started: 0, ended: 0 };

  private constructor(
    pool: pg.Pool,
    schema: string,
    poolSize: number,
    log: Logger | undefined,
    windowMs: number,
  ) {
    this.pool = pool;
    this.schema = schema;
    this.poolSize = poolSize;
    this.log = log;
    this.reconnectWindowMs = windowMs;
  }

  /** Opens the pool and checks the server answers; migrate() creates the schema and tables. */
  static async open(o: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = o.schema ?? schemaParam(o.connectionString) ?? 'public';
    if (!IDENTIFIER.test(schema))
      throw new Error(
        `schema: expected a Postgres identifier (a letter or _, then letters, digits or _), got "${schema}"`,
      );
    const poolSize = o.poolSize ?? 10;
    if (!Number.isInteger(poolSize) || poolSize < 1)
      throw new Error(`poolSize: expected a whole number of connections ≥ 1, got ${o.poolSize}`);
    const windowMs = o.reconnectWindowMs ?? 15_000;
    if (!Number.isFinite(windowMs) || windowMs < 0)
      throw new Error(`reconnectWindowMs: expected a number of milliseconds ≥ 0, got ${o.reconnectWindowMs}`);
    if (!isPostgresUrl(o.connectionString))
      throw new Error(
        `connectionString: expected a postgres:// or postgresql:// URL, got ${schemeOf(o.connectionString)}`,
      );
    const log = o.log;
    const pool = new pg.Pool({
      connectionString: o.connectionString,
      max: poolSize,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: o.applicationName ?? process.env.PGAPPNAME ?? 'tributary',
      options: `-c idle_in_transaction_session_timeout=${Math.round(o.idleInTransactionTimeoutMs ?? 10_000)}`,
      types: typeParsers(),
    });
    // A connection's errors reach the statement that fails. One that arrives while no statement is
    // active (the server ends the session just after answering, even in the same packet as a new
    // connection's handshake, before the caller holds it) would crash the process unheard.
    pool.on('connect', (c) => c.on('error', () => {}));
    // An idle connection the server closed: the pool drops it. Without a listener this would crash the process.
    pool.on('error', (err) =>
      log?.warn('postgres: an idle connection was closed by the server; it is replaced on next use', {
        code: (err as { code?: string }).code,
        error: describeError(err),
      }),
    );
    const store = new PostgresStore(pool, schema, poolSize, log, windowMs);
    try {
      // Not waited for: a database that is not there when the process starts is a configuration problem.
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => {});
      throw new Error(
        `cannot connect to Postgres at ${describeTarget(o.connectionString)}: ${describeError(err)}`,
      );
    }
    return store;
  }

  /**
   * Runs fn on a pooled connection. A connection the server dropped while it sat in the pool fails on
   * first use: it is discarded and fn retried on another, when `mayRetry` says nothing can have been
   * applied. Each retry discards one dead connection, so poolSize + 1 immediate attempts reach a fresh
   * one. When the database itself is away (a restart, a failover: connecting is refused, the server is
   * shutting down or starting up), fn is retried with backoff for up to `reconnectWindowMs`, then the
   * last failure is thrown. The outage is logged once when it starts and once when it ends.
   */
  private async withClient<T>(fn: (c: Client) => Promise<T>, mayRetry: () => boolean): Promise<T> {
    const deadline = Date.now() + this.reconnectWindowMs;
    let backoff = 0;
    for (let attempt = 0; ; attempt++) {
      let c: Client | undefined;
      try {
        c = await this.pool.connect();
        if (!this.sessions.has(c)) {
          // Unqualified names resolve in our schema only (a SET, not the startup options: a URL's
          // `options` parameter would replace those). Once per connection, before its first use.
          await c.query(`SET search_path TO ${quoteIdent(this.schema)}`);
          this.sessions.add(c);
        }
        const out = await fn(c);
        c.release();
        if (this.outageSince !== undefined) this.outageEnded();
        return out;
      } catch (err) {
        const broken = isConnectionError(err);
        c?.release(broken || undefined);
        if (!broken || !mayRetry() || this.closed) throw err;
        if (attempt < this.poolSize && this.outageSince === undefined) continue; // a dead pooled connection
        if (this.outageSince === undefined) this.outageStarted(err);
        const wait = Math.min(1000, 50 * 2 ** Math.min(backoff++, 5));
        if (Date.now() + wait > deadline) throw err;
        await new Promise((ok) => setTimeout(ok, wait));
      }
    }
  }

  private outageStarted(err: unknown): void {
    this.outageSince = Date.now();
    this.outages.started++;
    this.log?.warn('postgres: the database is unreachable; retrying until it is back', {
      code: (err as { code?: string }).code,
      error: describeError(err),
      retryForMs: this.reconnectWindowMs,
    });
  }

  private outageEnded(): void {
    const ms = Date.now() - this.outageSince!;
    this.outageSince = undefined;
    this.outages.ended++;
    this.log?.info('postgres: the database is reachable again', { downMs: ms });
  }

  /** One statement that may safely run twice (reads, upserts, deletes). */
  private q(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>> {
    return this.withClient(
      (c) => c.query<Row>(text, values),
      () => true,
    );
  }

  /**
   * One statement for cluster mode's own tables and for pg-boss (which runs on this pool rather than
   * opening its own): retried on a fresh connection when the server dropped the one it got, so it
   * must be safe to run twice. Unqualified names resolve in the store's schema.
   */
  query(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>> {
    return this.q(text, values);
  }

  /**
   * Runs fn while this process holds the session advisory lock `key`, on a connection of its own
   * (fn's statements use others: the pool needs at least two). For setup that other processes must
   * not do at the same time, e.g. installing pg-boss's schema.
   */
  async withSessionLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this.poolSize < 2) throw new Error('withSessionLock needs a pool of at least 2 connections');
    const c = await this.pool.connect();
    const ignore = () => {};
    c.on('error', ignore);
    let broken = false;
    try {
      await c.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
      try {
        return await fn();
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => {
          broken = true; // a dead session released its locks anyway
        });
      }
    } catch (err) {
      broken ||= isConnectionError(err);
      throw err;
    } finally {
      c.off('error', ignore);
      c.release(broken || undefined);
    }
  }

  /**
   * A transaction. When its connection breaks before it committed (before COMMIT was sent, or COMMIT
   * was answered with the server's error, e.g. "terminating connection due to administrator command"),
   * the server rolled it back: it is run again from the start on a new connection (fn must only issue
   * statements on `c`). When the connection is lost while COMMIT awaits its answer, whether it
   * committed is unknown: the error is thrown.
   */
  private tx<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    let committing = false;
    return this.withClient(
      async (c) => {
        committing = false;
        await c.query('BEGIN');
        let out: T;
        try {
          out = await fn(c);
        } catch (err) {
          await c.query('ROLLBACK').catch(() => {}); // a broken connection rolls back by itself
          throw err;
        }
        committing = true;
        await c.query('COMMIT').catch((err: unknown) => {
          // Not committed, for sure: pg refused to send COMMIT on a connection it knew was broken, or the
          // server answered it with an error (a server shutting down says so instead of committing;
          // nothing after the commit itself can fail it). Only a connection lost without an answer
          // leaves the outcome unknown.
          if (
            err instanceof pg.DatabaseError ||
            (err instanceof Error && /is not queryable/.test(err.message))
          )
            committing = false;
          throw err;
        });
        return out;
      },
      () => !committing,
    );
  }

  async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [migrationLockKey(this.schema)]);
      const exists = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
      if (!exists.rowCount) await c.query(`CREATE SCHEMA ${quoteIdent(this.schema)}`);
      await c.query(`SET LOCAL search_path TO ${quoteIdent(this.schema)}`);
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)',
      );
      const done = new Set(
        (await c.query('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
      );
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
          m.version,
          iso(),
        ]);
      }
    });
  }

  /** The newest migration applied (0 before the first migrate()). */
  async schemaVersion(): Promise<number> {
    const table = `${quoteIdent(this.schema)}.schema_migrations`;
    if (!(await this.q('SELECT to_regclass($1) AS t', [table])).rows[0].t) return 0;
    return (await this.q(`SELECT coalesce(max(version), 0) AS version FROM ${table}`)).rows[0].version;
  }

  async unready(timeoutMs: number): Promise<string | undefined> {
    if (this.closed) return 'the store is closed';
    // Straight to the pool, without withClient's retries: readiness says how things are now.
    const check = async () => {
      const table = `${quoteIdent(this.schema)}.schema_migrations`;
      const version = (await this.pool.query('SELECT to_regclass($1) AS t', [table])).rows[0].t
        ? Number((await this.pool.query(`SELECT coalesce(max(version), 0) AS v FROM ${table}`)).rows[0].v)
        : 0;
      return version < LATEST_VERSION
        ? `schema migrations are pending: the database is at version ${version}, this build needs ${LATEST_VERSION}`
        : undefined;
    };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((done) => {
      timer = setTimeout(() => done(`the database did not answer within ${timeoutMs} ms`), timeoutMs);
    });
    try {
      return await Promise.race([
        check().catch(
          (err: unknown) =>
            `the database is unreachable (${(err as { code?: string }).code ?? describeError(err)})`,
        ),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  // accounts

  async putAccount(a: AccountRecord): Promise<void> {
    await this.q(
      `INSERT INTO accounts (id, name, kind, config, secrets, expires_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, config = excluded.config,
         secrets = excluded.secrets, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
      accountValues(a),
    );
  }

  async getAccount(name: string): Promise<AccountRecord | undefined> {
    const r = (await this.q('SELECT * FROM accounts WHERE name = $1', [name])).rows[0];
    return r && record.account(r);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.q('SELECT * FROM accounts ORDER BY name')).rows.map(record.account);
  }

  async deleteAccount(name: string): Promise<boolean> {
    return ((await this.q('DELETE FROM accounts WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  // collectors

  async putCollector(c: CollectorRecord): Promise<void> {
    await this.q(
      `INSERT INTO collectors (id, name, source, account, config, secrets, enabled, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, source = excluded.source, account = excluded.account,
         config = excluded.config, secrets = excluded.secrets, enabled = excluded.enabled, updated_at = excluded.updated_at`,
      collectorValues(c, postgresColumns),
    );
  }

  async putAccountAndCollector(a: AccountRecord, c: CollectorRecord): Promise<void> {
    await this.tx(async (db) => {
      await db.query(
        `INSERT INTO accounts (id, name, kind, config, secrets, expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          a.id,
          a.name,
          a.kind,
          JSON.stringify(a.config),
          JSON.stringify(a.secrets),
          a.expiresAt ?? null,
          a.createdAt,
          a.updatedAt,
        ],
      );
      await db.query(
        `INSERT INTO collectors (id, name, source, account, config, secrets, enabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          c.id,
          c.name,
          c.source,
          c.account ?? null,
          JSON.stringify(c.config),
          JSON.stringify(c.secrets ?? {}),
          c.enabled,
          c.createdAt,
          c.updatedAt,
        ],
      );
    });
  }

  async getCollector(name: string): Promise<CollectorRecord | undefined> {
    const r = (await this.q('SELECT * FROM collectors WHERE name = $1', [name])).rows[0];
    return r && record.collector(r);
  }

  async listCollectors(): Promise<CollectorRecord[]> {
    return (await this.q('SELECT * FROM collectors ORDER BY name')).rows.map(record.collector);
  }

  async deleteCollector(name: string): Promise<boolean> {
    return ((await this.q('DELETE FROM collectors WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  // checkpoints

  async getCheckpoint(collectorId: string, stream: string): Promise<CheckpointRecord | undefined> {
    const r = (
      await this.q('SELECT * FROM checkpoints WHERE collector_id = $1 AND stream = $2', [collectorId, stream])
    ).rows[0];
    return r && record.checkpoint(r);
  }

  async listCheckpoints(collectorId: string): Promise<CheckpointRecord[]> {
    return (
      await this.q('SELECT * FROM checkpoints WHERE collector_id = $1 ORDER BY stream', [collectorId])
    ).rows.map(record.checkpoint);
  }

  async resetCheckpoint(collectorId: string, stream?: string): Promise<void> {
    // Partition rows stay (their tokens keep fencing); only their positions go. One statement: atomic.
    await this.q(
      `WITH cp AS (DELETE FROM checkpoints WHERE collector_id = $1 AND ($2::text IS NULL OR stream = $2))
       UPDATE stream_partitions SET position = NULL WHERE collector_id = $1 AND ($2::text IS NULL OR stream = $2)`,
      [collectorId, stream ?? null],
    );
  }

  async commitBatch(b: BatchCommit): Promise<void> {
    // Serialised and checked before the transaction: a bad value changes nothing.
    const checked = checkedBatch(b);
    const checkpoint = checked.checkpoint;
    const raws = checked.raws.map((raw) => Buffer.from(raw, 'utf8'));
    const hours = Object.entries(b.hourly);
    const now = iso();
    // One statement inside the transaction (a round trip, not one per table): every write is guarded
    // by the fence, whose share lock on the lease row holds off a takeover until the commit.
    const fenced = await this.tx(async (c) => {
      const { rows } = await c.query<Row>(
        `WITH ${FENCE_CTE},
         checkpoint AS (
           INSERT INTO checkpoints (collector_id, stream, value, updated_at, position_time)
           SELECT $1::text, $3::text, $4::jsonb, $5::timestamptz, $16::timestamptz FROM fence_ok WHERE ok
           ON CONFLICT (collector_id, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
             position_time = GREATEST(checkpoints.position_time, excluded.position_time)
         ), run AS (
           UPDATE runs SET events = events + $6, pages = pages + $7, bytes = bytes + $8,
             dead_letters = dead_letters + $9
           WHERE id = $10 AND (SELECT ok FROM fence_ok)
         ), hours AS (
           INSERT INTO event_counts (collector_id, hour, count)
           SELECT $1::text, t.hour, sum(t.n) FROM unnest($11::timestamptz[], $12::bigint[]) AS t(hour, n)
           WHERE (SELECT ok FROM fence_ok) GROUP BY t.hour
           ON CONFLICT (collector_id, hour) DO UPDATE SET count = event_counts.count + excluded.count
         ), state AS (
           INSERT INTO collector_state (collector_id, last_event_time)
           SELECT $1::text, $13::timestamptz WHERE $13::timestamptz IS NOT NULL AND (SELECT ok FROM fence_ok)
           ON CONFLICT (collector_id) DO UPDATE
             SET last_event_time = GREATEST(collector_state.last_event_time, excluded.last_event_time)
         ), dead AS (
           INSERT INTO dead_letters (collector_id, stream, reason, raw, at)
           SELECT $1::text, $3::text, t.reason, t.raw, $5::timestamptz
           FROM unnest($14::text[], $15::bytea[]) WITH ORDINALITY AS t(reason, raw, n)
           WHERE (SELECT ok FROM fence_ok) ORDER BY t.n
         )
         SELECT ok FROM fence_ok`,
        [
          b.collectorId,
          b.fence ?? null,
          b.stream,
          checkpoint,
          now,
          b.events,
          b.pages,
          b.bytes,
          raws.length,
          b.runId,
          hours.map(([h]) => h),
          hours.map(([, n]) => n),
          b.lastEventTime ?? null,
          b.deadLetters.map((d) => d.reason),
          raws,
          b.positionTime ?? null,
        ],
      );
      return rows[0]!.ok as boolean;
    });
    if (!fenced) throw leaseLost(b.collectorId, b.fence!);
  }

  // runs

  async putCheckpoint(collectorId: string, stream: string, value: unknown): Promise<void> {
    const json = checkpointJson(value, 'putCheckpoint: value');
    await this.q(
      `INSERT INTO checkpoints (collector_id, stream, value, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (collector_id, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
         position_time = NULL`,
      [collectorId, stream, json, iso()],
    );
  }

  async startRun(r: RunRecord): Promise<void> {
    // One statement, fenced like commitBatch. Retried when its connection broke; a retry that finds the
    // run already there is the first attempt having committed after all (run ids are unique).
    let attempts = 0;
    const fenced = await this.withClient(
      async (c) => {
        attempts++;
        const { rows } = await c.query<Row>(
          `WITH ${FENCE_CTE},
           run AS (
             INSERT INTO runs (id, collector_id, started_at, ended_at, status, events, pages, bytes, dead_letters, error, runner, fence)
             SELECT $3::text, $1::text, $4::timestamptz, $5::timestamptz, $6::text, $7::bigint, $8::bigint, $9::bigint,
               $10::bigint, $11::jsonb, $12::text, $2::bigint
             FROM fence_ok WHERE ok
           )
           SELECT ok FROM fence_ok`,
          [
            r.collectorId,
            r.fence ?? null,
            r.id,
            r.startedAt,
            r.endedAt ?? null,
            r.status,
            r.events,
            r.pages,
            r.bytes,
            r.deadLetters,
            r.error ? JSON.stringify(r.error) : null,
            r.runner ?? null,
          ],
        );
        return rows[0]!.ok as boolean;
      },
      () => true,
    ).catch((err: unknown) => {
      if (attempts > 1 && (err as { code?: string; constraint?: string }).constraint === 'runs_pkey')
        return true;
      throw err;
    });
    if (!fenced) throw leaseLost(r.collectorId, r.fence!);
  }

  async finishRun(id: string, status: RunStatus, error?: ErrorInfo): Promise<void> {
    await this.q(
      'UPDATE runs SET status = $1, ended_at = $2, error = $3 WHERE id = $4 AND ended_at IS NULL',
      [status, iso(), error ? JSON.stringify(error) : null, id],
    );
  }

  async listRuns(collectorId: string, limit = 50): Promise<RunRecord[]> {
    return (
      await this.q('SELECT * FROM runs WHERE collector_id = $1 ORDER BY started_at DESC, seq DESC LIMIT $2', [
        collectorId,
        limit,
      ])
    ).rows.map(record.run);
  }

  // leases (times on the server's clock: the runners' clocks need not agree)

  async acquireLease(collectorId: string, owner: string, ttlMs: number): Promise<LeaseRecord | undefined> {
    return this.tx(async (c) => {
      const prev = (
        await c.query<Row>(
          `SELECT owner, token, expires_at > clock_timestamp() AS live FROM leases WHERE collector_id = $1 FOR UPDATE`,
          [collectorId],
        )
      ).rows[0];
      if (prev && prev.owner !== null && prev.live) return undefined;
      if (!prev) {
        const r = await c.query<Row>(
          `INSERT INTO leases (collector_id, owner, token, acquired_at, expires_at, stop_requested)
           VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp() + $3 * interval '1 millisecond', false)
           ON CONFLICT (collector_id) DO NOTHING RETURNING *`,
          [collectorId, owner, ttlMs],
        );
        return r.rows[0] && record.lease(r.rows[0]); // none: another runner inserted it first
      }
      if (prev.owner !== null) {
        // The holder stopped renewing (crashed, paused, cut off): its run ended when its lease did.
        await c.query(
          `UPDATE runs r SET status = 'failed', ended_at = l.expires_at, error = $2
           FROM leases l WHERE l.collector_id = $1 AND r.collector_id = $1 AND r.fence = l.token AND r.ended_at IS NULL`,
          [collectorId, JSON.stringify(leaseExpiredError)],
        );
      }
      const r = await c.query<Row>(
        `UPDATE leases SET owner = $2, token = token + 1, acquired_at = clock_timestamp(),
           expires_at = clock_timestamp() + $3 * interval '1 millisecond', stop_requested = false
         WHERE collector_id = $1 RETURNING *`,
        [collectorId, owner, ttlMs],
      );
      const lease = record.lease(r.rows[0]!);
      return prev.owner !== null ? { ...lease, takenOver: true } : lease;
    });
  }

  async renewLease(collectorId: string, token: number, ttlMs: number): Promise<LeaseRecord | undefined> {
    const r = await this.q(
      `UPDATE leases SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
       WHERE collector_id = $1 AND token = $2 AND owner IS NOT NULL AND expires_at > clock_timestamp()
       RETURNING *`,
      [collectorId, token, ttlMs],
    );
    return r.rows[0] && record.lease(r.rows[0]);
  }

  async releaseLease(collectorId: string, token: number): Promise<boolean> {
    const r = await this.q(
      `UPDATE leases SET owner = NULL, stop_requested = false, expires_at = least(expires_at, clock_timestamp())
       WHERE collector_id = $1 AND token = $2 AND owner IS NOT NULL`,
      [collectorId, token],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async getLease(collectorId: string): Promise<LeaseRecord | undefined> {
    const r = (await this.q('SELECT * FROM leases WHERE collector_id = $1', [collectorId])).rows[0];
    return r && record.lease(r);
  }

  async listLeases(): Promise<LeaseRecord[]> {
    return (await this.q('SELECT * FROM leases ORDER BY collector_id')).rows.map(record.lease);
  }

  async requestLeaseStop(collectorId: string): Promise<boolean> {
    const r = await this.q(
      `UPDATE leases SET stop_requested = true
       WHERE collector_id = $1 AND owner IS NOT NULL AND expires_at > clock_timestamp()`,
      [collectorId],
    );
    return (r.rowCount ?? 0) > 0;
  }

  // stream consumers (docs/architecture.md, "Stream consumers"; times on the server's clock)

  async listPartitions(collectorId: string, stream: string): Promise<PartitionRecord[]> {
    return (
      await this.q(
        'SELECT * FROM stream_partitions WHERE collector_id = $1 AND stream = $2 ORDER BY partition',
        [collectorId, stream],
      )
    ).rows.map(record.partition);
  }

  async acquirePartition(
    collectorId: string,
    stream: string,
    partition: string,
    owner: string,
    ttlMs: number,
  ): Promise<PartitionRecord | undefined> {
    // One statement: the row lock taken by the conflicting insert orders concurrent takers, and the
    // second sees the first's live lease.
    const r = await this.q(
      `INSERT INTO stream_partitions (collector_id, stream, partition, owner, token, expires_at, updated_at)
       VALUES ($1, $2, $3, $4, 1, clock_timestamp() + $5 * interval '1 millisecond', clock_timestamp())
       ON CONFLICT (collector_id, stream, partition) DO UPDATE SET owner = excluded.owner,
         token = stream_partitions.token + 1, expires_at = excluded.expires_at, updated_at = excluded.updated_at
       WHERE stream_partitions.owner IS NULL OR stream_partitions.expires_at <= clock_timestamp()
       RETURNING *`,
      [collectorId, stream, partition, owner, ttlMs],
    );
    return r.rows[0] && record.partition(r.rows[0]);
  }

  async renewPartition(
    collectorId: string,
    stream: string,
    partition: string,
    token: number,
    ttlMs: number,
  ): Promise<PartitionRecord | undefined> {
    const r = await this.q(
      `UPDATE stream_partitions SET expires_at = clock_timestamp() + $5 * interval '1 millisecond'
       WHERE collector_id = $1 AND stream = $2 AND partition = $3 AND token = $4 AND owner IS NOT NULL
         AND expires_at > clock_timestamp()
       RETURNING *`,
      [collectorId, stream, partition, token, ttlMs],
    );
    return r.rows[0] && record.partition(r.rows[0]);
  }

  async releasePartition(
    collectorId: string,
    stream: string,
    partition: string,
    token: number,
  ): Promise<boolean> {
    const r = await this.q(
      `UPDATE stream_partitions SET owner = NULL, expires_at = NULL, updated_at = clock_timestamp()
       WHERE collector_id = $1 AND stream = $2 AND partition = $3 AND token = $4 AND owner IS NOT NULL`,
      [collectorId, stream, partition, token],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async commitPartition(p: PartitionCommit): Promise<void> {
    const checked = checkedPartitionCommit(p); // before the transaction: a bad value changes nothing
    const raws = checked.raws.map((raw) => Buffer.from(raw, 'utf8'));
    const hours = Object.entries(p.hourly);
    // One statement: the position moves only while the token is the partition's live lease (the update
    // locks the row, so a takeover waits for this commit); everything else is guarded by that.
    const { rows } = await this.q(
      `WITH moved AS (
         UPDATE stream_partitions SET position = $4::jsonb, updated_at = clock_timestamp()
         WHERE collector_id = $1 AND stream = $2 AND partition = $3 AND token = $5 AND owner IS NOT NULL
           AND expires_at > clock_timestamp()
         RETURNING 1
       ), ok AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM moved) AS ok
       ), run AS (
         UPDATE runs SET events = events + $6, bytes = bytes + $7, dead_letters = dead_letters + $8
         WHERE id = $9 AND (SELECT ok FROM ok)
       ), hours AS (
         INSERT INTO event_counts (collector_id, hour, count)
         SELECT $1::text, t.hour, sum(t.n) FROM unnest($10::timestamptz[], $11::bigint[]) AS t(hour, n)
         WHERE (SELECT ok FROM ok) GROUP BY t.hour
         ON CONFLICT (collector_id, hour) DO UPDATE SET count = event_counts.count + excluded.count
       ), state AS (
         INSERT INTO collector_state (collector_id, last_event_time)
         SELECT $1::text, $12::timestamptz WHERE $12::timestamptz IS NOT NULL AND (SELECT ok FROM ok)
         ON CONFLICT (collector_id) DO UPDATE
           SET last_event_time = GREATEST(collector_state.last_event_time, excluded.last_event_time)
       ), dead AS (
         INSERT INTO dead_letters (collector_id, stream, reason, raw, at)
         SELECT $1::text, $2::text, t.reason, t.raw, clock_timestamp()
         FROM unnest($13::text[], $14::bytea[]) WITH ORDINALITY AS t(reason, raw, n)
         WHERE (SELECT ok FROM ok) ORDER BY t.n
       )
       SELECT ok FROM ok`,
      [
        p.collectorId,
        p.stream,
        p.partition,
        checked.position,
        p.token,
        p.events,
        p.bytes,
        raws.length,
        p.runId ?? null,
        hours.map(([h]) => h),
        hours.map(([, n]) => n),
        p.lastEventTime ?? null,
        p.deadLetters.map((d) => d.reason),
        raws,
      ],
    );
    if (!rows[0]?.ok) throw partitionLeaseLost(p.collectorId, p.stream, p.partition, p.token);
  }

  async joinStream(collectorId: string, stream: string, member: string, ttlMs: number): Promise<void> {
    await this.q(
      `INSERT INTO stream_members (collector_id, stream, member, expires_at)
       VALUES ($1, $2, $3, clock_timestamp() + $4 * interval '1 millisecond')
       ON CONFLICT (collector_id, stream, member) DO UPDATE SET expires_at = excluded.expires_at`,
      [collectorId, stream, member, ttlMs],
    );
  }

  async leaveStream(collectorId: string, stream: string, member: string): Promise<void> {
    await this.q('DELETE FROM stream_members WHERE collector_id = $1 AND stream = $2 AND member = $3', [
      collectorId,
      stream,
      member,
    ]);
  }

  async listStreamMembers(collectorId: string, stream: string): Promise<string[]> {
    return (
      await this.q(
        `SELECT member FROM stream_members WHERE collector_id = $1 AND stream = $2 AND expires_at > clock_timestamp()
         ORDER BY member`,
        [collectorId, stream],
      )
    ).rows.map((r) => r.member as string);
  }

  // errors

  async recordError(collectorId: string, stream: string | undefined, err: ErrorInfo): Promise<void> {
    const now = iso();
    await this.tx((c) =>
      c.query(
        `INSERT INTO errors (collector_id, stream, code, type, message, action, status, first_seen, last_seen, count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
         ON CONFLICT (collector_id, stream, code) DO UPDATE SET type = excluded.type, message = excluded.message,
           action = excluded.action, status = excluded.status, last_seen = excluded.last_seen,
           count = errors.count + 1`,
        errorValues(collectorId, stream, err, now),
      ),
    );
  }

  async listErrors(collectorId: string): Promise<ErrorRecord[]> {
    return (
      await this.q('SELECT * FROM errors WHERE collector_id = $1 ORDER BY last_seen DESC', [collectorId])
    ).rows.map(record.error);
  }

  async clearErrors(collectorId: string): Promise<void> {
    await this.q('DELETE FROM errors WHERE collector_id = $1', [collectorId]);
  }

  // delivery failures

  async recordDeliveryFailure(f: DeliveryFailure): Promise<void> {
    await this.q(
      `INSERT INTO delivery_failures (collector_id, destination, since, last_at, failures, error, gave_up_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (collector_id, destination) DO UPDATE SET last_at = excluded.last_at,
         failures = delivery_failures.failures + excluded.failures, error = excluded.error,
         gave_up_at = coalesce(excluded.gave_up_at, delivery_failures.gave_up_at)`,
      deliveryFailureValues(f),
    );
  }

  async clearDeliveryFailures(collectorId: string, destination?: string): Promise<void> {
    await this.q(
      'DELETE FROM delivery_failures WHERE collector_id = $1 AND ($2::text IS NULL OR destination = $2)',
      [collectorId, destination ?? null],
    );
  }

  async listDeliveryFailures(collectorId: string): Promise<DeliveryFailureRecord[]> {
    return (
      await this.q('SELECT * FROM delivery_failures WHERE collector_id = $1 ORDER BY since, destination', [
        collectorId,
      ])
    ).rows.map(record.deliveryFailure);
  }

  // push collectors' answers

  async recordIngestAnswers(counts: IngestAnswerCount[]): Promise<void> {
    if (!counts.length) return;
    // One statement: the rows as arrays, unnested (each key once: an upsert cannot touch a row twice);
    // a collector deleted meanwhile drops its rows.
    const merged = new Map<string, IngestAnswerCount>();
    for (const c of counts) {
      const key = JSON.stringify([c.collectorId, c.bucket, c.status, c.code]);
      const m = merged.get(key);
      if (!m) merged.set(key, { ...c });
      else {
        const latest = c.lastAt >= m.lastAt ? c : m;
        merged.set(key, {
          ...latest,
          requests: m.requests + c.requests,
          events: m.events + c.events,
        });
      }
    }
    const rows = [...merged.values()];
    const col = <K extends keyof IngestAnswerCount>(k: K) => rows.map((c) => c[k] ?? null);
    await this.q(
      `INSERT INTO ingest_answers AS a (collector_id, bucket, status, code, requests, events, last_at, message, retry_after)
       SELECT n.* FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::text[], $5::bigint[], $6::bigint[],
         $7::timestamptz[], $8::text[], $9::int[]) AS n(collector_id, bucket, status, code, requests, events, last_at, message, retry_after)
       WHERE EXISTS (SELECT 1 FROM collectors WHERE id = n.collector_id)
       ON CONFLICT (collector_id, bucket, status, code) DO UPDATE SET
         requests = a.requests + excluded.requests, events = a.events + excluded.events,
         message = CASE WHEN excluded.last_at >= a.last_at THEN excluded.message ELSE a.message END,
         retry_after = CASE WHEN excluded.last_at >= a.last_at THEN excluded.retry_after ELSE a.retry_after END,
         last_at = greatest(a.last_at, excluded.last_at)`,
      [
        col('collectorId'),
        col('bucket'),
        col('status'),
        col('code'),
        col('requests'),
        col('events'),
        col('lastAt'),
        col('message'),
        col('retryAfter'),
      ],
    );
  }

  async listIngestAnswers(collectorId: string, sinceIso: string): Promise<IngestAnswerCount[]> {
    return (
      await this.q(
        'SELECT * FROM ingest_answers WHERE collector_id = $1 AND bucket >= $2 ORDER BY bucket, status, code',
        [collectorId, sinceIso],
      )
    ).rows.map(record.ingestAnswer);
  }

  async pruneIngestAnswers(beforeIso: string): Promise<number> {
    return (await this.q('DELETE FROM ingest_answers WHERE bucket < $1', [beforeIso])).rowCount ?? 0;
  }

  // vendor waits

  async putVendorWait(w: VendorWaitRecord): Promise<void> {
    await this.q(
      `INSERT INTO vendor_waits (account_id, wait_until, error, collector, at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (account_id) DO UPDATE SET wait_until = excluded.wait_until, error = excluded.error,
         collector = excluded.collector, at = excluded.at
       WHERE excluded.wait_until > vendor_waits.wait_until`,
      vendorWaitValues(w),
    );
  }

  async getVendorWait(accountId: string): Promise<VendorWaitRecord | undefined> {
    const r = (await this.q('SELECT * FROM vendor_waits WHERE account_id = $1', [accountId])).rows[0];
    return r && record.vendorWait(r);
  }

  // dead letters, volume

  async addDeadLetters(collectorId: string, stream: string, items: Array<{ reason: string; raw: string }>) {
    if (!items.length) return;
    await this.q(
      `INSERT INTO dead_letters (collector_id, stream, reason, raw, at)
       SELECT $1::text, $2::text, t.reason, t.raw, now()
       FROM unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS t(reason, raw, n) ORDER BY t.n`,
      [collectorId, stream, items.map((d) => d.reason), items.map((d) => Buffer.from(d.raw, 'utf8'))],
    );
  }

  async listDeadLetters(collectorId: string, limit = 100): Promise<DeadLetterRecord[]> {
    return (
      await this.q('SELECT * FROM dead_letters WHERE collector_id = $1 ORDER BY id DESC LIMIT $2', [
        collectorId,
        limit,
      ])
    ).rows.map(record.deadLetter);
  }

  async volume(collectorId: string, sinceIso: string): Promise<Array<{ hour: string; count: number }>> {
    return (
      await this.q(
        'SELECT hour, count FROM event_counts WHERE collector_id = $1 AND hour >= $2 ORDER BY hour',
        [collectorId, sinceIso],
      )
    ).rows.map(record.volume);
  }

  async lastEventTime(collectorId: string): Promise<string | undefined> {
    const r = (
      await this.q('SELECT last_event_time FROM collector_state WHERE collector_id = $1', [collectorId])
    ).rows[0];
    return r?.last_event_time ?? undefined;
  }

  // settings

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.q('SELECT value FROM settings WHERE key = $1', [key])).rows[0]?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.q(
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  }

  // sites

  async listSites(): Promise<SiteRecord[]> {
    return (await this.q('SELECT * FROM sites ORDER BY name')).rows.map(record.site);
  }

  async putSite(name: string): Promise<void> {
    await this.q('INSERT INTO sites (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      name,
      iso(),
    ]);
  }

  async renameSite(from: string, to: string): Promise<boolean> {
    return this.tx(async (c) => {
      if (!(await c.query('UPDATE sites SET name = $1 WHERE name = $2', [to, from])).rowCount) return false;
      const { rows } = await c.query<Row>(
        `SELECT id, config FROM collectors WHERE config::jsonb -> 'site' = to_jsonb($1::text) FOR UPDATE`,
        [from],
      );
      const now = iso();
      for (const r of rows) // rewritten here rather than with jsonb_set, which would reorder the keys
        await c.query('UPDATE collectors SET config = $1, updated_at = $2 WHERE id = $3', [
          JSON.stringify({ ...r.config, site: to }),
          now,
          r.id,
        ]);
      return true;
    });
  }

  async deleteSite(name: string): Promise<boolean> {
    return ((await this.q('DELETE FROM sites WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  // destinations

  async putDestination(d: DestinationRecord): Promise<void> {
    await this.q(
      `INSERT INTO destinations (id, name, kind, config, secrets, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, config = excluded.config,
         secrets = excluded.secrets, updated_at = excluded.updated_at`,
      destinationValues(d),
    );
  }

  async getDestination(name: string): Promise<DestinationRecord | undefined> {
    const r = (await this.q('SELECT * FROM destinations WHERE name = $1', [name])).rows[0];
    return r && record.destination(r);
  }

  async listDestinations(): Promise<DestinationRecord[]> {
    return (await this.q('SELECT * FROM destinations ORDER BY name')).rows.map(record.destination);
  }

  async deleteDestination(name: string): Promise<boolean> {
    return ((await this.q('DELETE FROM destinations WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  // users, sessions, API tokens

  async putUser(u: UserRecord): Promise<void> {
    await this.q(
      `INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at, last_login_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash,
         role = excluded.role, disabled = excluded.disabled, updated_at = excluded.updated_at,
         last_login_at = excluded.last_login_at`,
      userValues(u, postgresColumns),
    );
  }

  async getUser(id: string): Promise<UserRecord | undefined> {
    const r = (await this.q('SELECT * FROM users WHERE id = $1', [id])).rows[0];
    return r && record.user(r);
  }

  async getUserByName(username: string): Promise<UserRecord | undefined> {
    const r = (await this.q('SELECT * FROM users WHERE username = $1', [username])).rows[0];
    return r && record.user(r);
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.q('SELECT * FROM users ORDER BY username')).rows.map(record.user);
  }

  async deleteUser(id: string): Promise<boolean> {
    return ((await this.q('DELETE FROM users WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async putSession(x: SessionRecord): Promise<void> {
    await this.tx((c) =>
      c.query(
        'INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at, ip) VALUES ($1, $2, $3, $4, $5, $6)',
        sessionValues(x),
      ),
    );
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const r = (await this.q('SELECT * FROM sessions WHERE id = $1', [id])).rows[0];
    return r && record.session(r);
  }

  async deleteSession(id: string): Promise<void> {
    await this.q('DELETE FROM sessions WHERE id = $1', [id]);
  }

  async deleteUserSessions(userId: string): Promise<void> {
    await this.q('DELETE FROM sessions WHERE user_id = $1', [userId]);
  }

  async putApiToken(t: ApiTokenRecord): Promise<void> {
    await this.q(
      `INSERT INTO api_tokens (id, name, user_id, hash, last4, created_at, expires_at, last_used_at, revoked_at, scopes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, expires_at = excluded.expires_at,
         last_used_at = excluded.last_used_at, revoked_at = excluded.revoked_at`,
      apiTokenValues(t),
    );
  }

  async getApiToken(id: string): Promise<ApiTokenRecord | undefined> {
    const r = (await this.q('SELECT * FROM api_tokens WHERE id = $1', [id])).rows[0];
    return r && record.apiToken(r);
  }

  async getApiTokenByHash(hash: string): Promise<ApiTokenRecord | undefined> {
    const r = (await this.q('SELECT * FROM api_tokens WHERE hash = $1', [hash])).rows[0];
    return r && record.apiToken(r);
  }

  async listApiTokens(userId?: string): Promise<ApiTokenRecord[]> {
    const { rows: list } =
      userId === undefined
        ? await this.q('SELECT * FROM api_tokens ORDER BY created_at, id')
        : await this.q('SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id', [userId]);
    return list.map(record.apiToken);
  }

  // sign-in throttling: row locks serialise the attempts of every process; times on the server's clock

  async takeLoginAttempt(limits: AttemptLimit[]): Promise<AttemptDecision> {
    // Keys in one order in every transaction: two attempts sharing keys cannot deadlock.
    const keys = [...new Set(limits.map((l) => l.key))].sort();
    return this.tx(async (c) => {
      await c.query(
        `INSERT INTO login_attempts (key, failures, updated_at)
         SELECT k, 0, clock_timestamp() FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT (key) DO NOTHING`,
        [keys],
      );
      const locked = (
        await c.query<Row>(
          `SELECT key, failures, locked_until, updated_at, clock_timestamp() AS now
           FROM login_attempts WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE`,
          [keys],
        )
      ).rows;
      const now = Date.parse(locked[0]!.now);
      const current = new Map<string, AttemptRow>(locked.map((r) => [r.key, record.attempt(r)]));
      const d = decideAttempt(limits, current, now);
      if (!d.granted) return d;
      await c.query(
        `UPDATE login_attempts a SET failures = n.failures, locked_until = n.locked_until, updated_at = n.updated_at
         FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::timestamptz[]) AS n(key, failures, locked_until, updated_at)
         WHERE a.key = n.key`,
        [
          d.rows.map((r) => r.key),
          d.rows.map((r) => r.failures),
          d.rows.map((r) => msIso(r.lockedUntil)),
          d.rows.map((r) => new Date(r.updatedAt).toISOString()),
        ],
      );
      return { granted: true, reservation: d.reservation };
    });
  }

  async releaseLoginAttempt(r: AttemptReservation): Promise<void> {
    const keys = [...r.keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    await this.q(
      `UPDATE login_attempts a SET failures = greatest(a.failures - 1, 0),
         locked_until = CASE WHEN a.locked_until = n.locked_until THEN NULL ELSE a.locked_until END
       FROM unnest($1::text[], $2::timestamptz[]) AS n(key, locked_until) WHERE a.key = n.key`,
      [keys.map((k) => k.key), keys.map((k) => msIso(k.lockedUntil))],
    );
  }

  async clearLoginAttempts(key: string): Promise<void> {
    await this.q('DELETE FROM login_attempts WHERE key = $1', [key]);
  }

  async pruneLoginAttempts(idleMs: number): Promise<number> {
    const r = await this.q(
      `DELETE FROM login_attempts WHERE updated_at < clock_timestamp() - $1 * interval '1 millisecond'
         AND (locked_until IS NULL OR locked_until < clock_timestamp())`,
      [idleMs],
    );
    return r.rowCount ?? 0;
  }

  async countUnknownLogin(address: string, windowMs: number): Promise<void> {
    await this.tx(async (c) => {
      await c.query(
        `INSERT INTO unknown_logins (address, window_start, last_at, count)
         VALUES ($1, clock_timestamp(), clock_timestamp(), 0) ON CONFLICT (address) DO NOTHING`,
        [address],
      );
      const r = (
        await c.query<Row>(
          `SELECT window_start, last_at, count, clock_timestamp() AS now,
             window_start + $2 * interval '1 millisecond' > clock_timestamp() AS open
           FROM unknown_logins WHERE address = $1 FOR UPDATE`,
          [address, windowMs],
        )
      ).rows[0]!;
      if (r.open || Number(r.count) === 0) {
        await c.query(
          'UPDATE unknown_logins SET count = count + 1, last_at = clock_timestamp() WHERE address = $1',
          [address],
        );
        return;
      }
      await this.insertAudit(
        c,
        unknownLoginAudit(address, Number(r.count), r.window_start, r.last_at, r.now),
      );
      await c.query(
        `UPDATE unknown_logins SET window_start = clock_timestamp(), last_at = clock_timestamp(), count = 1
         WHERE address = $1`,
        [address],
      );
    });
  }

  async flushUnknownLogins(windowMs: number): Promise<number> {
    return this.tx(async (c) => {
      // SKIP LOCKED: a window another process is counting into or flushing is left to it.
      const { rows: closed } = await c.query<Row>(
        `DELETE FROM unknown_logins WHERE address IN (
           SELECT address FROM unknown_logins
           WHERE count > 0 AND window_start + $1 * interval '1 millisecond' <= clock_timestamp()
           ORDER BY window_start FOR UPDATE SKIP LOCKED)
         RETURNING address, window_start, last_at, count, clock_timestamp() AS now`,
        [windowMs],
      );
      closed.sort((a, b) => (a.window_start < b.window_start ? -1 : 1));
      for (const r of closed)
        await this.insertAudit(
          c,
          unknownLoginAudit(r.address, Number(r.count), r.window_start, r.last_at, r.now),
        );
      return closed.length;
    });
  }

  // audit log: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE)

  async appendAudit(a: Omit<AuditRecord, 'id'>): Promise<AuditRecord> {
    return this.tx((c) => this.insertAudit(c, a));
  }

  private async insertAudit(c: Client, a: Omit<AuditRecord, 'id'>): Promise<AuditRecord> {
    const { rows } = await c.query<Row>(
      `INSERT INTO audit_log (at, actor, action, target_type, target, ip, before, after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      auditValues(a),
    );
    return { id: rows[0].id, ...a };
  }

  async listAudit(q: AuditQuery = {}): Promise<AuditRecord[]> {
    const { where, args } = auditFilter(q, (n) => `$${n}`);
    // before/after as text: a stored JSON null stays null, an absent one stays absent
    const sql = `SELECT id, at, actor, action, target_type, target, ip, before::text AS before, after::text AS after
      FROM audit_log${where} ORDER BY id DESC LIMIT $${args.length}`;
    return (await this.q(sql, args)).rows.map(record.audit);
  }
}

/**
 * The fence of a fenced write, as common table expressions for one statement: `fence_ok.ok` is true
 * when no fencing token is given ($2 is null) or when $2 is collector $1's current, unexpired lease.
 * The share lock on the lease row holds off a takeover (which updates the row) until the transaction
 * ends, so the check stays true until the commit. Every write of the statement is guarded by `ok`.
 */
const FENCE_CTE = `fence AS MATERIALIZED (
    SELECT 1 FROM leases WHERE $2::bigint IS NOT NULL AND collector_id = $1 AND token = $2
      AND owner IS NOT NULL AND expires_at > clock_timestamp() FOR SHARE
  ), fence_ok AS MATERIALIZED (
    SELECT $2::bigint IS NULL OR EXISTS (SELECT 1 FROM fence) AS ok
  )`;

function schemaParam(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get('schema') ?? undefined;
  } catch {
    return undefined;
  }
}

/** A connection error's message (Node reports a refused dual-stack connect as an AggregateError with none). */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && !err.message)
    return err.errors.map((e) => describeError(e)).join('; ') || 'connection failed';
  if (err instanceof Error) return err.message || String((err as { code?: unknown }).code ?? err.name);
  return String(err);
}

const CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'ENOTCONN']);

/** The connection itself failed (SQLSTATE class 08, 57P admin/crash shutdown, a socket error). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (code.startsWith('08') || code.startsWith('57P') || CONNECTION_CODES.has(code))
  )
    return true;
  return /Connection terminated|not queryable/i.test(err.message);
}
