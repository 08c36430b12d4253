import { Runtime } from '../../src/app/runtime.ts';
import { Control } from '../../src/control/service.ts';
import { fileScope } from '../../src/destinations/file/file-scope.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

export { CONFIG_FILE } from '../../src/control/service.ts';

/**
 * The control plane on a fresh SQLite data directory, without an HTTP server: for tests of kinds that
 * read accounts from the store (destinations sending with an account's token) through the real
 * Runtime, secret sealing and origin checks.
 */
export async function startControl(
  dir: string,
): Promise<{ runtime: Runtime; control: Control; close(): Promise<void> }> {
  const store = await SqliteStore.open(dir);
  await store.migrate();
  const runtime = new Runtime(store, await SecretBox.open(dir, {}), silentLogger, dir, fileScope(dir));
  const control = new Control(runtime);
  return { runtime, control, close: () => runtime.close() };
}
