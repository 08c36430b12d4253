import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Logger } from '../core/source.ts';
import type { Store } from '../core/store.ts';
import type { PostgresStore } from '../store/postgres/postgres-store.ts';
import { describeTarget, isPostgresUrl, schemeOf } from '../store/postgres/url.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';

export interface OpenStoreOptions {
  /** The data directory: the SQLite store lives here when no database URL is given. */
  dataDir: string;
  /** A postgres:// or postgresql:// URL selects the Postgres store (cluster mode). */
  databaseUrl?: string;
  /** Postgres only: most connections this process opens. */
  poolSize?: number;
  /** Postgres only: where dropped connections are reported. */
  log?: Logger;
}

/** The store for this process: Postgres when a database URL is given, else SQLite in the data directory. */
export async function openStore(o: OpenStoreOptions): Promise<Store> {
  if (!o.databaseUrl) return SqliteStore.open(o.dataDir);
  if (!isPostgresUrl(o.databaseUrl))
    throw new Error(
      `database URL (--database-url or TRIBUTARY_DATABASE_URL): expected postgres://… or postgresql://…, got ${schemeOf(o.databaseUrl)}`,
    );
  // Loaded only here: the driver costs memory and start-up time that the embedded default never needs.
  postgres ??= await import('../store/postgres/postgres-store.ts');
  return postgres.PostgresStore.open({ connectionString: o.databaseUrl, poolSize: o.poolSize, log: o.log });
}

let postgres: typeof import('../store/postgres/postgres-store.ts') | undefined;

/** Whether `openStore` opened `store` on Postgres (cluster mode). */
export function isPostgresStore(store: Store): store is PostgresStore {
  return postgres !== undefined && store instanceof postgres.PostgresStore;
}

export interface MigrateResult {
  store: 'sqlite' | 'postgres';
  /** The SQLite file, or host:port/database and schema (never credentials). */
  where: string;
  /** The newest migration applied. */
  version: number;
}

/** Applies the store's migrations and reports the schema version it is at (`tributary migrate`). */
export async function migrateStore(o: OpenStoreOptions): Promise<MigrateResult> {
  const store = await openStore(o);
  try {
    await store.migrate();
    if (isPostgresStore(store)) {
      // Cluster mode's job queue (pg-boss) keeps its tables in a schema beside the store's.
      const { installBoss } = await import('../cluster/boss.ts');
      await installBoss(store);
      return {
        store: 'postgres',
        where: `${describeTarget(o.databaseUrl!)} schema ${store.schema}`,
        version: await store.schemaVersion(),
      };
    }
  } finally {
    await store.close();
  }
  const file = join(o.dataDir, 'tributary.db'); // SqliteStore's file
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const row = db.prepare('SELECT max(version) AS version FROM schema_migrations').get();
    return { store: 'sqlite', where: file, version: Number(row?.version ?? 0) };
  } finally {
    db.close();
  }
}
