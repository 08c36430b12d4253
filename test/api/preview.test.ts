import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Auth } from '../../src/api/auth.ts';
import { startApiServer } from '../../src/api/server.ts';
import { Runtime } from '../../src/app/runtime.ts';
import { Control } from '../../src/control/service.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { RestApiSimulator } from '../../src/sources/rest-api/simulator.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * `POST /api/collectors/preview` over real HTTP: the generic REST API collector previewed against its
 * simulator with a stored account — envelopes, the next page, warnings — and nothing installed,
 * committed or delivered; roles and validation as for Test Connection.
 */

const fresh = tempDirs('tributary-preview');
const TOKEN = 'preview-bearer-SECRET-81f2';
let base = '';
let dir = '';
let runtime: Runtime;
let sim: RestApiSimulator;
let close: () => Promise<void>;
const tokens = { editor: '', viewer: '' };

async function call(method: string, path: string, body: unknown, token = tokens.editor) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
}

before(async () => {
  dir = fresh();
  sim = new RestApiSimulator({ events: 40, spacingMs: 60_000, auth: { kind: 'bearer', token: TOKEN } });
  await sim.start();
  const store = await SqliteStore.open(dir);
  await store.migrate();
  runtime = new Runtime(store, await SecretBox.open(dir, {}), silentLogger, dir);
  const auth = new Auth(store);
  await auth.bootstrap({ TRIBUTARY_ADMIN_PASSWORD: 'correct horse battery' });
  const server = await startApiServer(new Control(runtime), auth, { port: 0, log: silentLogger });
  base = `http://127.0.0.1:${server.port}`;
  close = server.close;
  const login = async (username: string, password: string) => {
    const r = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    return {
      cookie: r.headers.get('set-cookie')!.split(';')[0]!,
      csrf: ((await r.json()) as { csrfToken: string }).csrfToken,
    };
  };
  const admin = await login('admin', 'correct horse battery');
  const asSession = (s: { cookie: string; csrf: string }, path: string, body: unknown) =>
    fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrf },
      body: JSON.stringify(body),
    });
  for (const role of ['editor', 'viewer'] as const) {
    const u = await asSession(admin, '/api/users', {
      username: role,
      password: `plum orchard lantern 4${role.length}`,
      role,
    });
    assert.equal(u.status, 201);
    const t = await asSession(await login(role, `plum orchard lantern 4${role.length}`), '/api/tokens', {
      name: 'ci',
    });
    tokens[role] = ((await t.json()) as { token: string }).token;
  }
  assert.equal(
    (
      await call('POST', '/api/accounts', {
        name: 'api',
        kind: 'bearer',
        fields: { token: TOKEN },
        origins: [sim.url],
      })
    ).status,
    201,
  );
  assert.equal(
    (await call('POST', '/api/accounts', { name: 'public', kind: 'none', fields: {} })).status,
    201,
  );
  const dest = await call('POST', '/api/destinations', {
    name: 'out',
    config: { kind: 'file', path: 'out.ndjson' },
  });
  assert.equal(dest.status, 201, dest.text);
});

after(async () => {
  await close();
  await runtime.close();
  await sim.stop();
});

const definition = () => ({
  source: 'rest-api',
  account: 'api',
  destinations: ['out'],
  site: 'hq-lab',
  lookback: '2h',
  settings: {
    url: `${sim.url}/v1/events`,
    query: { since: '{{window.start}}', until: '{{window.end}}', limit: '10' },
    recordsPath: 'data',
    timePath: 'created_at',
    idPath: 'id',
    pagination: { type: 'cursor', cursorPath: 'meta.next_cursor', param: 'cursor' },
  },
});

describe('POST /api/collectors/preview', () => {
  it('returns one page as envelopes with the next page, and installs, commits and delivers nothing', async () => {
    const before = sim.seen.length;
    const { site: _, ...def } = definition();
    const r = await call('POST', '/api/collectors/preview', { ...def, name: 'trial' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.ok, true);
    assert.equal(r.body.stream, 'events');
    assert.equal(r.body.records, 10);
    assert.equal(r.body.events.length, 10);
    const e = r.body.events[0];
    assert.deepEqual(Object.keys(e), ['id', 'time', 'source', 'stream', 'collector', 'ingested_at', 'raw']);
    assert.equal(e.source, 'rest-api');
    assert.equal(e.collector, 'trial');
    assert.deepEqual(e.raw, sim.record(e.raw.seq));
    assert.equal(e.id, e.raw.id);
    assert.ok(r.body.next.token && r.body.next.url.includes('cursor='));
    assert.match(r.body.request.url, /since=.*until=.*limit=10/);
    assert.equal(r.body.request.method, 'GET');
    assert.deepEqual(r.body.warnings, []);
    assert.equal(sim.seen.length - before, 1, 'exactly one page read');
    assert.ok(!r.text.includes(TOKEN), 'the credential is not echoed');
    assert.deepEqual(await runtime.store.listCollectors(), [], 'nothing installed');
    assert.equal(existsSync(join(dir, 'output', 'out.ndjson')), false, 'nothing delivered');
  });

  it('validates like Install: settings issues name the field; other sources have no preview', async () => {
    const def = definition();
    const bad = await call('POST', '/api/collectors/preview', {
      ...def,
      site: undefined,
      settings: { ...def.settings, recordsPath: 'data..x', query: { since: '{{window.begin}}' } },
    });
    assert.equal(bad.status, 400);
    const paths = bad.body.error.issues.map((i: { path: string }) => i.path);
    assert.ok(paths.includes('settings.recordsPath'), bad.text);
    const wrongKind = await call('POST', '/api/collectors/preview', {
      ...def,
      site: undefined,
      account: 'nope',
    });
    assert.equal(wrongKind.status, 400);
    const acct = await call('POST', '/api/accounts', {
      name: 'okta',
      kind: 'okta',
      fields: { url: 'https://acme.okta.com', token: 'okta-token' },
    });
    assert.equal(acct.status, 201, acct.text);
    const okta = await call('POST', '/api/collectors/preview', {
      source: 'okta',
      account: 'okta',
      destinations: ['out'],
    });
    assert.equal(okta.status, 400);
    assert.match(okta.text, /okta has no preview \(sources with one: rest-api\)/);
  });

  it('answers a vendor refusal with the error and its recommended action', async () => {
    const { site: _, ...def } = definition();
    const r = await call('POST', '/api/collectors/preview', { ...def, account: 'public' });
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, false);
    assert.equal(r.body.error.code, 'rest_api_unauthorized');
    assert.match(r.body.error.action, /check the account/);
  });

  it('needs the editor role', async () => {
    const { site: _, ...def } = definition();
    const r = await call('POST', '/api/collectors/preview', def, tokens.viewer);
    assert.equal(r.status, 403);
  });
});
