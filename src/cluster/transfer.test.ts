import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI, urlWithSchema } from '../../test/cluster/support.ts';
import { freshSchemas, postgresUnavailable, requirePostgres } from '../../test/support/postgres.ts';
import { tempDirs } from '../../test/support/temp-dirs.ts';
import { Runtime } from '../app/runtime.ts';
import { parseConfig } from '../config/config-file.ts';
import { CONFIG_FILE, Control } from '../control/service.ts';
import type { Store } from '../core/store.ts';
import { silentLogger } from '../engine/log.ts';
import { PostgresStore } from '../store/postgres/postgres-store.ts';
import { SecretBox } from '../store/secrets.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { exportStore, importStore, parseExport } from './transfer.ts';

const OKTA_TOKEN = 'okta-SECRET-token-7d1e';
const HEC_TOKEN = 'hec-SECRET-token-2c9a';

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, TRIBUTARY_DATABASE_URL: undefined, TRIBUTARY_MASTER_KEY: undefined, ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise<{ code: number | null; out: string; err: string }>((ok) =>
    child.on('exit', (code) => ok({ code, out, err })),
  );
}

/** An embedded install with one of everything that moves. */
async function embeddedInstall(dir: string) {
  const store = await SqliteStore.open(dir);
  await store.migrate();
  const runtime = new Runtime(store, await SecretBox.open(dir), silentLogger, dir);
  const config = {
    sites: ['hq'],
    accounts: { 'okta-main': { kind: 'okta', url: 'https://acme.okta.com', token: OKTA_TOKEN } },
    destinations: {
      siem: {
        kind: 'http',
        url: 'https://siem.example.com/ingest',
        auth: { type: 'bearer', token: HEC_TOKEN },
      },
    },
    collectors: {
      'okta-prod': {
        source: 'okta',
        account: 'okta-main',
        destinations: ['siem'],
        site: 'hq',
        interval: '2m',
      },
    },
  };
  await new Control(runtime).apply(
    CONFIG_FILE,
    parseConfig(JSON.stringify(config), { baseDir: dir, env: {} }),
  );
  const collector = (await store.getCollector('okta-prod'))!;
  await store.putCheckpoint(collector.id, 'system-log', {
    since: '2026-11-25T10:00:00.000Z',
    ids: ['a', 'b'],
  });
  await store.setSetting('earlyAccess', 'true');
  const at = new Date().toISOString();
  await store.putUser({
    id: 'u1',
    username: 'admin',
    passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA',
    role: 'admin',
    disabled: false,
    createdAt: at,
    updatedAt: at,
  });
  await store.putApiToken({
    id: 't1',
    name: 'ci',
    userId: 'u1',
    hash: 'ab'.repeat(32),
    last4: 'wxyz',
    createdAt: at,
  });
  return { store, runtime };
}

/** Everything that moves, comparable across stores. */
async function snapshot(s: Store) {
  const collectors = await s.listCollectors();
  return {
    sites: (await s.listSites()).map((x) => x.name),
    accounts: await s.listAccounts(),
    destinations: await s.listDestinations(),
    collectors,
    checkpoints: (await Promise.all(collectors.map((c) => s.listCheckpoints(c.id))))
      .flat()
      .map(({ updatedAt: _, ...c }) => c),
    users: await s.listUsers(),
    apiTokens: await s.listApiTokens(),
    earlyAccess: await s.getSetting('earlyAccess'),
  };
}

const unavailable = await postgresUnavailable();
if (unavailable) requirePostgres(unavailable);
else {
  const schemas = freshSchemas();
  const fresh = tempDirs('tributary-transfer');

  describe('tributary export / import', () => {
    it('moves an embedded install to Postgres with the same key: records, checkpoints, sealed secrets', async () => {
      const dir = fresh();
      const { runtime } = await embeddedInstall(dir);
      const before = await snapshot(runtime.store);
      await runtime.close();

      const file = join(fresh(), 'export.json');
      const exported = await cli(['export', '--data-dir', dir, '--out', file]);
      assert.equal(exported.code, 0, exported.err);
      assert.match(
        exported.out,
        /exported 1 account\(s\), 1 destination\(s\), 1 collector\(s\), 1 checkpoint\(s\), 1 user\(s\)/,
      );
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, new RegExp(`${OKTA_TOKEN}|${HEC_TOKEN}`), 'secrets stay sealed');

      const url = urlWithSchema(schemas());
      const imported = await cli(['import', '--in', file, '--database-url', url, '--data-dir', dir]);
      assert.equal(imported.code, 0, imported.err);
      assert.match(
        imported.out,
        /imported 1 account\(s\), 1 destination\(s\), 1 collector\(s\), 1 checkpoint\(s\), 1 site\(s\), 1 user\(s\), 1 API token\(s\)/,
      );

      const pg = await PostgresStore.open({ connectionString: url });
      try {
        assert.deepEqual(await snapshot(pg), before);
        // the cluster opens them with the embedded install's key (its keyring, here)
        const box = await SecretBox.open(dir);
        const account = (await pg.getAccount('okta-main'))!;
        assert.equal(box.decrypt(account.secrets.token!), OKTA_TOKEN);
        const dest = (await pg.getDestination('siem'))!;
        assert.equal(box.decrypt(Object.values(dest.secrets)[0]!), HEC_TOKEN);
        assert.equal((await pg.listAudit({ action: 'instance.import' })).length, 1);

        // a second import into the now non-empty store is refused, unless --force
        const again = await cli(['import', '--in', file, '--database-url', url, '--data-dir', dir]);
        assert.equal(again.code, 1);
        assert.match(again.err, /already has accounts, destinations, collectors, users: .*--force/);
        const forced = await cli([
          'import',
          '--in',
          file,
          '--database-url',
          url,
          '--data-dir',
          dir,
          '--force',
        ]);
        assert.equal(forced.code, 0, forced.err);
        assert.deepEqual(await snapshot(pg), before);
      } finally {
        await pg.close();
      }
    });

    it('refuses, before writing anything, secrets that do not open with the importing key', async () => {
      const dir = fresh();
      const { runtime } = await embeddedInstall(dir);
      const data = await exportStore(runtime.store);
      await runtime.close();
      const pg = await PostgresStore.open({ connectionString: urlWithSchema(schemas()) });
      try {
        await pg.migrate();
        const otherKey = await SecretBox.open(fresh()); // a different keyring
        await assert.rejects(
          importStore(pg, data, otherKey),
          (err: Error) =>
            /account "okta-main", field token \(sealed with key "k1"\)/.test(err.message) &&
            /destination "siem"/.test(err.message) &&
            /TRIBUTARY_MASTER_KEY/.test(err.message) &&
            !err.message.includes(OKTA_TOKEN),
        );
        assert.deepEqual(await pg.listAccounts(), [], 'nothing written');
        assert.deepEqual(await pg.listCollectors(), []);
      } finally {
        await pg.close();
      }
    });

    it('refuses, before writing anything, a secret that holds a masked value instead of a secret', async () => {
      const dir = fresh();
      const { runtime } = await embeddedInstall(dir);
      const data = await exportStore(runtime.store);
      const box = runtime.secrets;
      await runtime.close();
      // What a client that sent a masked value back could store before masks meant "unchanged".
      data.accounts[0]!.secrets.token = box.encrypt(`••••${OKTA_TOKEN.slice(-4)}`);
      const pg = await PostgresStore.open({ connectionString: urlWithSchema(schemas()) });
      try {
        await pg.migrate();
        await assert.rejects(importStore(pg, data, box), /account "okta-main", field token/);
        assert.deepEqual(await pg.listAccounts(), [], 'nothing written');
      } finally {
        await pg.close();
      }
    });

    it('names what is wrong with a file that is not an export', () => {
      assert.throws(() => parseExport('{'), /invalid JSON/);
      assert.throws(() => parseExport('{"format":"other"}'), /format: .*\n.*version/s);
      assert.throws(
        () =>
          parseExport(
            JSON.stringify({
              format: 'tributary-export',
              version: 1,
              exportedAt: 'x',
              sites: [],
              accounts: [{ name: 'no-id' }],
              destinations: [],
              collectors: [],
              checkpoints: [],
              users: [],
              apiTokens: [],
            }),
          ),
        /accounts\.0/,
      );
    });
  });
}
