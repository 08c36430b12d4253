import type { PgBoss } from 'pg-boss';
import type { ErrorInfo } from '../core/errors.ts';
import { pushSourceIds as pushSources } from '../sources/index.ts';
import type { PostgresStore } from '../store/postgres/postgres-store.ts';
import { RUN_QUEUE, type RunJob } from './boss.ts';

/**
 * When each collector runs next, in cluster mode (table `collector_schedule`, Postgres clock).
 *
 * A collector is *due* when its `next_run_at` has passed (a collector without a row is due now), no
 * runner holds a live lease on it, and its account is not waiting for the vendor (`vendor_waits`,
 * written by the run the vendor told; see engine/vendor-wait.ts): every worker reads the same row, so
 * none asks the vendor before its time, and the collector is due the moment the wait ends. Due collectors are turned into run jobs by a *claim*: one
 * statement that moves `next_run_at` forward by the recheck period and returns the rows it moved.
 * Concurrent claimers (every worker's ticker, a serve replica's run-now) cannot claim the same due
 * time twice: the row lock serialises them and the later one re-reads `next_run_at` and skips it. The
 * jobs also carry the collector id as pg-boss singleton key, so even a claim repeated after a lost
 * job (the recheck period) cannot queue a collector that is still waiting.
 *
 * While a run holds the lease, `next_run_at` is "now": if the runner dies, the collector is due the
 * moment its lease expires. When the run ends, the runner sets the next due time and releases the
 * lease in one statement (release first would let a claim slip in between).
 */

/** Push sources receive their events on the ingest endpoint: never due, never run. */
export const pushSourceIds = (): string[] => [...pushSources];

export interface Claimed {
  id: string;
  name: string;
  due: string;
}

const ms = (n: number) => Math.max(0, Math.round(n));

/**
 * Claims up to `limit` due collectors (oldest due first), or only `collectorId` when given: each is
 * pushed back `recheckMs` (when its job is lost, e.g. its worker died before taking the lease, it is
 * claimed again then).
 */
export async function claimDue(
  store: PostgresStore,
  limit: number,
  recheckMs: number,
  collectorId?: string,
): Promise<Claimed[]> {
  const { rows } = await store.query(
    `WITH due AS (
       SELECT s.collector_id, s.next_run_at FROM collector_schedule s
       JOIN collectors c ON c.id = s.collector_id AND c.enabled AND c.source <> ALL($4::text[])
       WHERE s.next_run_at <= clock_timestamp() AND ($3::text IS NULL OR s.collector_id = $3)
         AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.collector_id = s.collector_id
                         AND l.owner IS NOT NULL AND l.expires_at > clock_timestamp())
         AND NOT EXISTS (SELECT 1 FROM accounts a JOIN vendor_waits w ON w.account_id = a.id
                         WHERE a.name = c.account AND w.wait_until > clock_timestamp())
       ORDER BY s.next_run_at LIMIT $1
     ), claimed AS (
       UPDATE collector_schedule s SET next_run_at = clock_timestamp() + $2 * interval '1 millisecond',
         claimed_at = clock_timestamp()
       FROM due WHERE s.collector_id = due.collector_id AND s.next_run_at <= clock_timestamp()
       RETURNING s.collector_id, due.next_run_at AS due
     )
     SELECT c.id, c.name, claimed.due FROM claimed JOIN collectors c ON c.id = claimed.collector_id`,
    [limit, ms(recheckMs), collectorId ?? null, pushSourceIds()],
  );
  return rows.map((r) => ({ id: r.id, name: r.name, due: r.due }));
}

/**
 * Gives every enabled polled collector without a schedule row one that is due now (created by apply,
 * import…).
 */
export async function adoptCollectors(store: PostgresStore): Promise<number> {
  const r = await store.query(
    `INSERT INTO collector_schedule (collector_id, next_run_at)
     SELECT c.id, clock_timestamp() FROM collectors c
     WHERE c.enabled AND c.source <> ALL($1::text[])
       AND NOT EXISTS (SELECT 1 FROM collector_schedule s WHERE s.collector_id = c.id)
     ON CONFLICT (collector_id) DO NOTHING`,
    [pushSourceIds()],
  );
  return r.rowCount ?? 0;
}

/** The collector is due in `delayMs` (0: now), unless a claim already pushed it later. */
export async function scheduleIn(store: PostgresStore, collectorId: string, delayMs: number): Promise<void> {
  await store.query(
    `INSERT INTO collector_schedule (collector_id, next_run_at)
     SELECT id, clock_timestamp() + $2 * interval '1 millisecond' FROM collectors WHERE id = $1
     ON CONFLICT (collector_id) DO UPDATE SET next_run_at = excluded.next_run_at`,
    [collectorId, ms(delayMs)],
  );
}

/**
 * Run now, as asked through the API: the collector becomes due at once, unless a run of it is already
 * claimed and not yet released (queued, being picked up, or running: `claimed_at` is set by claimDue and
 * cleared by releaseAndSchedule; a claim older than `recheckMs` is a lost one). Two replicas asked at the
 * same moment thus queue one run, even when the first job is already on a worker that has not taken
 * the lease yet. Returns whether the collector was made due.
 */
export async function requestRun(
  store: PostgresStore,
  collectorId: string,
  recheckMs: number,
): Promise<boolean> {
  const r = await store.query(
    `INSERT INTO collector_schedule (collector_id, next_run_at)
     SELECT id, clock_timestamp() FROM collectors WHERE id = $1
     ON CONFLICT (collector_id) DO UPDATE SET next_run_at = excluded.next_run_at
       WHERE collector_schedule.claimed_at IS NULL
          OR collector_schedule.claimed_at <= clock_timestamp() - $2 * interval '1 millisecond'`,
    [collectorId, ms(recheckMs)],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * How a run is recorded when its runner could not record its end (the database was unreachable when
 * the run failed) and released its lease with the run still open.
 */
export const runEndLostError: ErrorInfo = {
  type: 'transient',
  code: 'run_end_unrecorded',
  message:
    'The run was interrupted and its end could not be recorded: the database was unreachable (a restart or a failover).',
  action: 'None needed: the collector resumes from its last committed checkpoint.',
};

/**
 * Ends a run: the collector is due again in `delayMs`, and the lease is released, in one statement.
 * A run held under the lease whose end the runner could not record (see runEndLostError) is ended too.
 * Nothing happens when `token` no longer holds the lease: the schedule is then the new holder's.
 */
export async function releaseAndSchedule(
  store: PostgresStore,
  collectorId: string,
  token: number,
  delayMs: number,
): Promise<boolean> {
  const r = await store.query(
    `WITH released AS (
       UPDATE leases SET owner = NULL, stop_requested = false, expires_at = least(expires_at, clock_timestamp())
       WHERE collector_id = $1 AND token = $2 AND owner IS NOT NULL RETURNING collector_id
     ), ended AS (
       UPDATE runs SET status = 'failed', ended_at = clock_timestamp(), error = $4
       WHERE collector_id IN (SELECT collector_id FROM released) AND fence = $2 AND ended_at IS NULL
     )
     INSERT INTO collector_schedule (collector_id, next_run_at)
     SELECT collector_id, clock_timestamp() + $3 * interval '1 millisecond' FROM released
     ON CONFLICT (collector_id) DO UPDATE SET next_run_at = excluded.next_run_at, claimed_at = NULL
     RETURNING collector_id`,
    [collectorId, token, ms(delayMs), JSON.stringify(runEndLostError)],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Queues one run job per claimed collector (a collector already queued is skipped by pg-boss). */
export async function enqueue(boss: PgBoss, claimed: Claimed[]): Promise<void> {
  if (!claimed.length) return;
  await boss.insert(
    RUN_QUEUE,
    claimed.map((c) => ({
      data: { id: c.id, name: c.name, due: c.due } satisfies RunJob,
      singletonKey: c.id,
    })),
  );
}
