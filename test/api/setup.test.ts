import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Auth } from '../../src/api/auth.ts';
import { startApiServer } from '../../src/api/server.ts';
import { Runtime } from '../../src/app/runtime.ts';
import { Control } from '../../src/control/service.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDirs } from '../support/temp-dirs.ts';

const fresh = tempDirs('tributary-setup');

describe('first start', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers) await c();
  });

  it('the one-time setup link creates the first admin once; a wrong token is refused', async () => {
    const dir = fresh();
    const store = await SqliteStore.open(dir);
    await store.migrate();
    const runtime = new Runtime(store, await SecretBox.open(dir, {}), silentLogger, dir);
    const auth = new Auth(store);
    const boot = await auth.bootstrap({});
    assert.match(boot.setupToken ?? '', /^[A-Za-z0-9_-]{40,}$/);
    const server = await startApiServer(new Control(runtime), auth, { port: 0, log: silentLogger });
    closers.push(server.close, () => runtime.close());
    const base = `http://127.0.0.1:${server.port}`;
    const post = (path: string, body: unknown) =>
      fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    assert.deepEqual(await (await fetch(`${base}/api/setup`)).json(), { needed: true });
    const account = { username: 'root', password: 'a long enough password' };
    const wrong = await post('/api/setup', { token: 'not-the-token', ...account });
    assert.equal(wrong.status, 401);
    const short = await post('/api/setup', { token: boot.setupToken, username: 'root', password: 'short' });
    assert.equal(short.status, 400);
    const ok = await post('/api/setup', { token: boot.setupToken, ...account });
    assert.equal(ok.status, 201);
    assert.equal(((await ok.json()) as { role: string }).role, 'admin');
    assert.deepEqual(await (await fetch(`${base}/api/setup`)).json(), { needed: false });
    const again = await post('/api/setup', {
      token: boot.setupToken,
      username: 'second',
      password: 'another long password',
    });
    assert.equal(again.status, 409, 'the link works once');
    assert.equal((await post('/api/login', account)).status, 200);
    assert.equal((await store.listAudit({ action: 'user.setup' })).length, 1);
    assert.deepEqual(await new Auth(store).bootstrap({}), {}, 'a later start prints no link');
  });

  it('TRIBUTARY_ADMIN_PASSWORD creates the admin instead, and must be 12+ characters', async () => {
    const dir = fresh();
    const store = await SqliteStore.open(dir);
    await store.migrate();
    closers.push(() => store.close());
    await assert.rejects(new Auth(store).bootstrap({ TRIBUTARY_ADMIN_PASSWORD: 'short' }), /at least 12/);
    assert.deepEqual(
      await new Auth(store).bootstrap({
        TRIBUTARY_ADMIN_PASSWORD: 'twelve chars ok',
        TRIBUTARY_ADMIN_USER: 'ops',
      }),
      { created: 'ops' },
    );
    assert.equal((await store.getUserByName('ops'))?.role, 'admin');
  });
});
