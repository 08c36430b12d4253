import { z } from 'zod';
import { accountKinds } from '../accounts/index.ts';
import { maskedPaths } from '../core/secret-fields.ts';
import { isMasked, type SecretSpec } from '../core/secret-spec.ts';
import type {
  AccountRecord,
  ApiTokenRecord,
  CollectorRecord,
  DestinationRecord,
  Store,
  UserRecord,
} from '../core/store.ts';
import { destinationSpecOf } from '../destinations/index.ts';
import { collectorSpec } from '../engine/credential-origins.ts';
import { sources } from '../sources/index.ts';
import type { SecretBox } from '../store/secrets.ts';

/**
 * `tributary export` / `import`: moves an install's configuration and positions from one store to
 * another, typically an embedded (SQLite) install to Postgres for cluster mode. What moves: sites,
 * accounts, destinations, collectors, their checkpoints, users (with their password hashes), API
 * tokens (hashed) and instance settings. What does not: run history, errors, dead letters, volume,
 * sessions (users sign in again).
 *
 * Secrets stay sealed: the file carries the ciphertext exactly as stored, never a clear value. The
 * processes that read the imported store therefore need the key that sealed them: the same
 * TRIBUTARY_MASTER_KEY, or the embedded install's keyring file (`master.key` of its data directory)
 * in their data directory. Import checks that every secret opens with the importing process's key
 * before it writes anything, and refuses, naming the key, if one does not.
 */

export const EXPORT_FORMAT = 'tributary-export';
const SETTINGS = ['earlyAccess', 'egressAllowList'];

const exportSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(1),
  exportedAt: z.string(),
  settings: z.record(z.string(), z.string()).default({}),
  sites: z.array(z.string()),
  accounts: z.array(z.custom<AccountRecord>((v) => hasStrings(v, ['id', 'name', 'kind']))),
  destinations: z.array(z.custom<DestinationRecord>((v) => hasStrings(v, ['id', 'name', 'kind']))),
  collectors: z.array(z.custom<CollectorRecord>((v) => hasStrings(v, ['id', 'name', 'source']))),
  checkpoints: z.array(z.object({ collectorId: z.string(), stream: z.string(), value: z.unknown() })),
  users: z.array(z.custom<UserRecord>((v) => hasStrings(v, ['id', 'username', 'passwordHash', 'role']))),
  apiTokens: z.array(z.custom<ApiTokenRecord>((v) => hasStrings(v, ['id', 'userId', 'hash']))),
});

export type ExportFile = z.infer<typeof exportSchema>;

function hasStrings(v: unknown, keys: string[]): boolean {
  return (
    !!v && typeof v === 'object' && keys.every((k) => typeof (v as Record<string, unknown>)[k] === 'string')
  );
}

export async function exportStore(store: Store): Promise<ExportFile> {
  const collectors = await store.listCollectors();
  const settings: Record<string, string> = {};
  for (const k of SETTINGS) {
    const v = await store.getSetting(k);
    if (v !== undefined) settings[k] = v;
  }
  const checkpoints = [];
  for (const c of collectors)
    for (const cp of await store.listCheckpoints(c.id))
      checkpoints.push({ collectorId: cp.collectorId, stream: cp.stream, value: cp.value });
  return {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: new Date().toISOString(),
    settings,
    sites: (await store.listSites()).map((s) => s.name),
    accounts: await store.listAccounts(),
    destinations: await store.listDestinations(),
    collectors,
    checkpoints,
    users: await store.listUsers(),
    apiTokens: await store.listApiTokens(),
  };
}

/** Parses an export file's text, reporting what is wrong with it by path. */
export function parseExport(text: string): ExportFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not a Tributary export (invalid JSON: ${(err as Error).message})`);
  }
  const r = exportSchema.safeParse(json);
  if (!r.success)
    throw new Error(
      `not a Tributary export:\n  ${r.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('\n  ')}`,
    );
  return r.data;
}

export interface ImportResult {
  sites: number;
  accounts: number;
  destinations: number;
  collectors: number;
  checkpoints: number;
  users: number;
  apiTokens: number;
}

/**
 * Writes an export into `store`. Refuses a store that already has accounts, destinations, collectors
 * or users unless `force` (records are then replaced by id), and refuses before writing anything when
 * a secret does not open with `secrets`.
 */
export async function importStore(
  store: Store,
  data: ExportFile,
  secrets: SecretBox,
  o: { force?: boolean } = {},
): Promise<ImportResult> {
  const unreadable: string[] = [];
  const check = (what: string, sealed: Record<string, string>) => {
    for (const [field, value] of Object.entries(sealed)) {
      try {
        secrets.decrypt(value); // in memory only, to prove the key; the value is discarded
      } catch {
        unreadable.push(`${what}, field ${field} (sealed with key "${value.split(':')[1] ?? '?'}")`);
      }
    }
  };
  for (const a of data.accounts) check(`account "${a.name}"`, a.secrets);
  for (const d of data.destinations) check(`destination "${d.name}"`, d.secrets);
  for (const c of data.collectors) check(`collector "${c.name}"`, c.secrets ?? {});
  const masked = maskedSecretsIn(data, secrets);
  if (masked.length)
    throw new Error(
      `these secrets hold a masked value (as the API shows secrets), not a secret:\n  ${masked.join('\n  ')}\n` +
        'Enter the real secrets in the exported install (or remove these records from the file) and export again.',
    );
  if (unreadable.length)
    throw new Error(
      `these secrets do not open with this process's key:\n  ${unreadable.join('\n  ')}\n` +
        'Use the key of the exported install: the same TRIBUTARY_MASTER_KEY, or its keyring file ' +
        '(master.key in its data directory) in --data-dir. Every cluster process needs that key too.',
    );

  if (!o.force) {
    const present = [
      (await store.listAccounts()).length && 'accounts',
      (await store.listDestinations()).length && 'destinations',
      (await store.listCollectors()).length && 'collectors',
      (await store.listUsers()).length && 'users',
    ].filter(Boolean);
    if (present.length)
      throw new Error(
        `the target store already has ${present.join(', ')}: import into an empty store, or pass --force to replace records with the same ids`,
      );
  }
  const known = new Set(data.collectors.map((c) => c.id));
  for (const cp of data.checkpoints)
    if (!known.has(cp.collectorId))
      throw new Error(`checkpoints: collector ${cp.collectorId} is not in the export`);

  for (const [k, v] of Object.entries(data.settings)) await store.setSetting(k, v);
  for (const s of data.sites) await store.putSite(s);
  for (const a of data.accounts) await store.putAccount(a);
  for (const d of data.destinations) await store.putDestination(d);
  for (const u of data.users) await store.putUser(u);
  for (const t of data.apiTokens) await store.putApiToken(t);
  for (const c of data.collectors) await store.putCollector(c);
  for (const cp of data.checkpoints) await store.putCheckpoint(cp.collectorId, cp.stream, cp.value);
  const result: ImportResult = {
    sites: data.sites.length,
    accounts: data.accounts.length,
    destinations: data.destinations.length,
    collectors: data.collectors.length,
    checkpoints: data.checkpoints.length,
    users: data.users.length,
    apiTokens: data.apiTokens.length,
  };
  await store.appendAudit({
    at: new Date().toISOString(),
    actor: 'import',
    action: 'instance.import',
    targetType: 'instance',
    after: { exportedAt: data.exportedAt, ...result },
  });
  return result;
}

/**
 * Secrets that are a mask rather than a secret: sealed masks (what a client that sent a masked value
 * back could store before masks meant "unchanged"), or secret fields in clear or masked in the plain
 * config. A mask is never imported as a secret.
 */
function maskedSecretsIn(data: ExportFile, box: SecretBox): string[] {
  const out: string[] = [];
  const sealedMasks = (what: string, sealed: Record<string, string>) => {
    for (const [field, value] of Object.entries(sealed)) {
      try {
        if (isMasked(box.decrypt(value))) out.push(`${what}, field ${field}`);
      } catch {
        /* reported as unreadable */
      }
    }
  };
  const plain = (what: string, config: Record<string, unknown>, spec: SecretSpec | undefined) => {
    for (const p of spec ? maskedPaths(config, spec) : []) out.push(`${what}, field ${p}`);
  };
  for (const a of data.accounts) {
    sealedMasks(`account "${a.name}"`, a.secrets);
    const kind = Object.hasOwn(accountKinds, a.kind) ? accountKinds[a.kind] : undefined;
    plain(`account "${a.name}"`, a.config, kind?.spec);
  }
  for (const d of data.destinations) {
    sealedMasks(`destination "${d.name}"`, d.secrets);
    plain(`destination "${d.name}"`, d.config, destinationSpecOf(d.kind));
  }
  for (const c of data.collectors) {
    sealedMasks(`collector "${c.name}"`, c.secrets ?? {});
    const source = Object.hasOwn(sources, c.source) ? sources[c.source] : undefined;
    plain(`collector "${c.name}"`, c.config, source && collectorSpec(source));
  }
  return out;
}
