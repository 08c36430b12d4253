import { PgBoss } from 'pg-boss';
import type { Logger } from '../core/source.ts';
import type { PostgresStore } from '../store/postgres/postgres-store.ts';

/**
 * pg-boss, the job queue cluster mode's runs travel on (docs/deployment.md, "How runs are scheduled"). It runs on the store's own
 * connection pool (pg-boss's `db` adapter), so a process holds one pool, and a connection the server
 * dropped is replaced the way the store replaces it. Its tables live in their own schema beside the
 * store's: `pgboss` for the default `public`, else `<schema>_pgboss`.
 *
 * One queue, `tributary-run`: one job is one run of one collector. The queue's policy is `short`
 * (at most one *queued* job per singleton key) and every job's singleton key is the collector id, so
 * a collector can never be queued twice, whoever sends it. Jobs are not retried by pg-boss: a run
 * that fails is rescheduled by Tributary's own schedule (see schedule.ts), and mutual exclusion is
 * the lease's job, not the queue's.
 */
export const RUN_QUEUE = 'tributary-run';

/** What a run job carries: the collector (its id guards against a deleted and re-created name). */
export interface RunJob {
  id: string;
  name: string;
  /** When the collector became due (ISO), for the scheduling delay. */
  due?: string;
}

export const bossSchema = (storeSchema: string) =>
  storeSchema === 'public' ? 'pgboss' : `${storeSchema}_pgboss`;

export interface BossOptions {
  /** Workers run pg-boss's maintenance (expiring and deleting old jobs); serve replicas need not. */
  maintenance?: boolean;
  log?: Logger;
}

/** Starts pg-boss on the store's pool, installing or upgrading its schema and the run queue. */
export async function startBoss(store: PostgresStore, o: BossOptions = {}): Promise<PgBoss> {
  const boss = new PgBoss({
    db: { executeSql: (text, values) => store.query(text, values) },
    schema: bossSchema(store.schema),
    supervise: o.maintenance ?? false,
    schedule: false,
    migrate: true,
    registerInstance: false,
    openTelemetry: { enabled: false },
  });
  boss.on('error', (err) =>
    o.log?.warn('job queue: a database call failed; it is retried', { error: describe(err) }),
  );
  boss.on('warning', (w) => o.log?.warn('job queue warning', { warning: describe(w) }));
  // Processes starting together on a new database would race to create pg-boss's schema.
  await store.withSessionLock(`tributary.pgboss:${store.schema}`, async () => {
    await boss.start();
    if (!(await boss.getQueue(RUN_QUEUE)))
      await boss.createQueue(RUN_QUEUE, {
        policy: 'short',
        retryLimit: 0,
        // pg-boss fails a job left active this long; harmless (the lease decides who runs), so long.
        expireInSeconds: 6 * 3600,
        // Run history lives in Tributary's runs table; finished jobs are only kept for a while.
        deleteAfterSeconds: 3600,
      });
  });
  return boss;
}

/** Installs pg-boss's schema and the run queue (`tributary migrate`), then stops. */
export async function installBoss(store: PostgresStore): Promise<void> {
  const boss = await startBoss(store);
  await boss.stop({ graceful: false, close: false });
}

function describe(x: unknown): string {
  if (x instanceof Error) return x.message;
  if (x && typeof x === 'object' && 'message' in x) return String((x as { message: unknown }).message);
  return String(x);
}

/**
 * Runs waiting in the queue for a worker, counted live (pg-boss's own queue counts are refreshed by its
 * maintenance, which only workers run): tributary_cluster_jobs_queued.
 */
export async function queuedRuns(store: PostgresStore): Promise<number> {
  const { rows } = await store.query(
    `SELECT count(*)::int AS n FROM "${bossSchema(store.schema)}".job WHERE name = $1 AND state IN ('created', 'retry')`,
    [RUN_QUEUE],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Readiness of the job queue (/readyz in cluster mode): why the run queue cannot be read within
 * `timeoutMs`, or undefined.
 */
export async function bossUnready(boss: PgBoss, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((done) => {
    timer = setTimeout(() => done(`the job queue did not answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([
      boss.getQueue(RUN_QUEUE).then(
        (q) => (q ? undefined : `the job queue ${RUN_QUEUE} does not exist: run \`tributary migrate\``),
        (err: unknown) => `the job queue is unreachable (${describe(err)})`,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
