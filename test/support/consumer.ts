import { after } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDirs } from './temp-dirs.ts';

/**
 * Fresh embedded stores holding one collector, for driving a stream consumer directly; every store is
 * closed after the file's tests.
 */
export function consumerStores(
  prefix: string,
  collector: { id: string; name: string; source: string },
): () => Promise<SqliteStore> {
  const fresh = tempDirs(prefix);
  const stores: SqliteStore[] = [];
  after(() => Promise.all(stores.map((s) => s.close())));
  return async () => {
    const s = await SqliteStore.open(fresh());
    stores.push(s);
    await s.migrate();
    const at = new Date().toISOString();
    await s.putCollector({
      ...collector,
      config: {},
      enabled: true,
      secrets: {},
      createdAt: at,
      updatedAt: at,
    });
    return s;
  };
}

/** Polls a condition with a deadline (the consumer runs on its own; nothing here sleeps for it). */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
