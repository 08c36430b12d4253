import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Auth } from '../../src/api/auth.ts';
import { routes } from '../../src/api/routes.ts';
import { startApiServer } from '../../src/api/server.ts';
import { Runtime } from '../../src/app/runtime.ts';
import { Scheduler } from '../../src/app/scheduler.ts';
import { Control } from '../../src/control/service.ts';
import type { Logger, SourceDef } from '../../src/core/source.ts';
import { sources } from '../../src/sources/index.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDirs } from '../support/temp-dirs.ts';

const fresh = tempDirs('tributary-api');

/** Every log line the server writes, to prove no secret reaches the logs. */
const logLines: string[] = [];
const log: Logger = Object.fromEntries(
  ['debug', 'info', 'warn', 'error'].map((level) => [
    level,
    (msg: string, fields?: Record<string, unknown>) =>
      logLines.push(JSON.stringify({ level, msg, ...fields })),
  ]),
) as unknown as Logger;

interface Reply {
  status: number;
  body: any;
  headers: Headers;
  text: string;
}

let base = '';
let dir = '';
let sim: OktaSimulator;
let runtime: Runtime;
let scheduler: Scheduler;
let close: () => Promise<void>;
const tokens: Record<'admin' | 'editor' | 'viewer', string> = { admin: '', editor: '', viewer: '' };
const responses: string[] = [];

async function call(
  method: string,
  path: string,
  o: { token?: string; cookie?: string; csrf?: string; body?: unknown; raw?: string; type?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.cookie) headers.cookie = o.cookie;
  if (o.csrf) headers['x-csrf-token'] = o.csrf;
  let body: string | undefined = o.raw;
  if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers['content-type'] = o.type ?? 'application/json';
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  responses.push(text);
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

async function login(username: string, password: string) {
  const r = await call('POST', '/api/login', { body: { username, password } });
  assert.equal(r.status, 200, r.text);
  const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, csrf: r.body.csrfToken as string, setCookie: r.headers.get('set-cookie')! };
}

const ADMIN_PASSWORD = 'correct horse battery';
/** Passwords the policy accepts: long, uncommon, free of the username. */
const PASSWORDS = { editor: 'plum orchard lantern 42', viewer: 'quiet harbour compass 17' };
const OKTA_TOKEN = 'okta-token-SECRET-4f1d2c';
const HTTP_DEST_TOKEN = 'dest-bearer-SECRET-9a8b7c';

before(async () => {
  dir = fresh();
  sim = new OktaSimulator({ events: 300, token: OKTA_TOKEN });
  await sim.start();
  const store = await SqliteStore.open(dir);
  await store.migrate();
  runtime = new Runtime(store, await SecretBox.open(dir, {}), log, dir);
  scheduler = new Scheduler(runtime);
  await scheduler.start();
  const auth = new Auth(store);
  assert.deepEqual(await auth.bootstrap({ TRIBUTARY_ADMIN_PASSWORD: ADMIN_PASSWORD }), { created: 'admin' });
  const server = await startApiServer(new Control(runtime, scheduler), auth, { port: 0, log });
  base = `http://127.0.0.1:${server.port}`;
  close = server.close;
  const admin = await login('admin', ADMIN_PASSWORD);
  for (const role of ['editor', 'viewer'] as const) {
    const r = await call('POST', '/api/users', {
      ...admin,
      body: { username: role, password: PASSWORDS[role], role },
    });
    assert.equal(r.status, 201, r.text);
  }
  for (const role of ['admin', 'editor', 'viewer'] as const) {
    const s = role === 'admin' ? admin : await login(role, PASSWORDS[role]);
    const r = await call('POST', '/api/tokens', { ...s, body: { name: `${role}-ci` } });
    assert.equal(r.status, 201, r.text);
    assert.match(r.body.token, /^trb_/);
    tokens[role] = r.body.token;
  }
});

after(async () => {
  await close();
  await scheduler.stop(1000);
  await runtime.close();
  await sim.stop();
});

const admin = () => ({ token: tokens.admin });
const editor = () => ({ token: tokens.editor });

describe('control-plane API', () => {
  it('role matrix: every route as anonymous, viewer, editor and admin', async () => {
    // What each route needs, written independently of the route table.
    const expected: Record<string, 'public' | 'user' | 'viewer' | 'editor' | 'admin'> = {
      'GET /api/setup': 'public',
      'POST /api/setup': 'public',
      'POST /api/login': 'public',
      'POST /api/logout': 'user',
      'GET /api/session': 'user',
      'GET /api/sources': 'viewer',
      'GET /api/account-kinds': 'viewer',
      'GET /api/destination-kinds': 'viewer',
      'GET /api/settings': 'viewer',
      'PUT /api/settings': 'admin',
      'GET /api/accounts': 'viewer',
      'POST /api/accounts': 'editor',
      'GET /api/accounts/{name}': 'viewer',
      'PUT /api/accounts/{name}': 'editor',
      'DELETE /api/accounts/{name}': 'editor',
      'POST /api/accounts/{name}/test': 'editor',
      'GET /api/collectors': 'viewer',
      'POST /api/collectors': 'editor',
      'POST /api/collectors/test': 'editor',
      'POST /api/collectors/preview': 'editor',
      'GET /api/collectors/{name}': 'viewer',
      'PUT /api/collectors/{name}': 'editor',
      'DELETE /api/collectors/{name}': 'editor',
      'POST /api/collectors/{name}/start': 'editor',
      'POST /api/collectors/{name}/stop': 'editor',
      'POST /api/collectors/{name}/run': 'editor',
      'POST /api/collectors/{name}/reset-checkpoint': 'editor',
      'POST /api/collectors/{name}/rotate-ingest-token': 'editor',
      'GET /api/collectors/{name}/runs': 'viewer',
      'GET /api/sites': 'viewer',
      'POST /api/sites': 'editor',
      'PUT /api/sites/{name}': 'editor',
      'DELETE /api/sites/{name}': 'editor',
      'GET /api/destinations': 'viewer',
      'POST /api/destinations': 'editor',
      'GET /api/destinations/{name}': 'viewer',
      'PUT /api/destinations/{name}': 'editor',
      'DELETE /api/destinations/{name}': 'editor',
      'POST /api/destinations/{name}/test': 'editor',
      'GET /api/users': 'admin',
      'POST /api/users': 'admin',
      'PUT /api/users/{id}': 'admin',
      'DELETE /api/users/{id}': 'admin',
      'GET /api/tokens': 'viewer',
      'POST /api/tokens': 'viewer',
      'DELETE /api/tokens/{id}': 'viewer',
      'GET /api/audit': 'admin',
    };
    assert.deepEqual(
      routes.map((r) => `${r.method} ${r.path}`).sort(),
      Object.keys(expected).sort(),
      'the matrix covers every route and no more',
    );
    const rank = { viewer: 1, editor: 2, admin: 3 };
    for (const [key, need] of Object.entries(expected)) {
      const [method, template] = key.split(' ') as [string, string];
      // Names that exist nowhere: an allowed call ends in 404 or 400, never in a change.
      const path = template.replace(/\{\w+\}/g, 'no-such-thing');
      const body = method === 'GET' ? undefined : {};
      const anon = await call(method, path, { body });
      if (need === 'public') assert.notEqual(anon.status, 401, `${key} is public`);
      else {
        assert.equal(anon.status, 401, `${key} as anonymous`);
        assert.equal(anon.body.error.code, 'unauthenticated');
      }
      for (const role of ['viewer', 'editor', 'admin'] as const) {
        const r = await call(method, path, { token: tokens[role], body });
        const allowed = need === 'public' || need === 'user' || rank[role] >= rank[need];
        if (allowed) assert.ok(![401, 403].includes(r.status), `${key} as ${role}: ${r.status} ${r.text}`);
        else {
          assert.equal(r.status, 403, `${key} as ${role}`);
          assert.equal(r.body.error.code, 'forbidden');
        }
      }
    }
  });

  it('serves an OpenAPI 3.1 document generated from the request schemas', async () => {
    const r = await call('GET', '/api/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    for (const route of routes) assert.ok(r.body.paths[route.path][route.method.toLowerCase()], route.path);
    const create = r.body.paths['/api/collectors'].post;
    const schema = create.requestBody.content['application/json'].schema;
    assert.ok(schema.required.includes('name') && schema.required.includes('source'));
    assert.equal(schema.additionalProperties, false, 'unknown fields are refused, and documented so');
    assert.equal(create['x-required-role'], 'editor');
    // Push collectors' endpoint: its own token scheme, and the answers a sender must act on.
    const ingest = r.body.paths['/ingest/{collector}'].post;
    assert.deepEqual(ingest.security, [{ ingestToken: [] }]);
    assert.ok(r.body.components.securitySchemes.ingestToken);
    for (const status of ['200', '400', '401', '413', '429', '503'])
      assert.ok(ingest.responses[status], status);
    assert.ok(ingest.responses['503'].headers['Retry-After']);
  });

  it('bad input: 400 with each field and what was expected; unknown fields and bad JSON refused', async () => {
    const acc = await call('POST', '/api/accounts', {
      ...editor(),
      body: { name: 'oa', kind: 'openai', fields: { apiKey: 'sk-test-1234567890' } },
    });
    assert.equal(acc.status, 201, acc.text);
    await call('POST', '/api/destinations', {
      ...editor(),
      body: { name: 'bad-input-out', config: { kind: 'file', path: 'bad.ndjson' } },
    });
    const r = await call('POST', '/api/collectors', {
      ...editor(),
      body: {
        name: 'gpt',
        source: 'chatgpt-enterprise',
        account: 'oa',
        destinations: ['bad-input-out'],
        settings: { workspaceId: 'not-a-uuid' },
      },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_request');
    assert.deepEqual(
      r.body.error.issues.map((i: { path: string }) => i.path),
      ['settings.workspaceId'],
      r.text,
    );
    const tz = await call('POST', '/api/collectors', {
      ...editor(),
      body: {
        name: 'gpt',
        source: 'chatgpt-enterprise',
        account: 'nope',
        destinations: [],
        timezone: 'Mars/Olympus',
      },
    });
    assert.deepEqual(
      tz.body.error.issues.map((i: { path: string }) => i.path).sort(),
      ['destinations', 'timezone'],
      tz.text,
    );
    for (const interval of ['0s', '9s']) {
      const fast = await call('POST', '/api/collectors', {
        ...editor(),
        body: { name: 'fast', source: 'webhook', destinations: ['bad-input-out'], interval },
      });
      assert.equal(fast.status, 400, fast.text);
      assert.deepEqual(fast.body.error.issues, [
        { path: 'interval', message: `expected an interval of at least 10s, got ${interval}` },
      ]);
    }
    const unknown = await call('POST', '/api/sites', { ...editor(), body: { name: 'x', color: 'red' } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /color/);
    const notJson = await call('POST', '/api/sites', { ...editor(), raw: '{"name":' });
    assert.equal(notJson.status, 400);
    const wrongType = await call('POST', '/api/sites', { ...editor(), raw: 'name=x', type: 'text/plain' });
    assert.equal(wrongType.status, 415);
    const query = await call('GET', '/api/collectors?debug=1', editor());
    assert.equal(query.status, 400);
    assert.equal(query.body.error.issues[0].path, 'debug');
    const missing = await call('GET', '/api/collectors/nope', editor());
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
    assert.ok(!JSON.stringify(r.body).includes('at '), 'no stack trace');
  });

  it('onboards a collector end to end: account, site, destination, test, install; events counted; stop; audit', async () => {
    const bad = await call('POST', '/api/accounts', {
      ...editor(),
      body: { name: 'okta-bad', kind: 'okta', fields: { url: sim.url, token: 'wrong-token-000' } },
    });
    assert.equal(bad.status, 201);
    const good = await call('POST', '/api/accounts', {
      ...editor(),
      body: { name: 'okta-main', kind: 'okta', fields: { url: sim.url, token: OKTA_TOKEN } },
    });
    assert.equal(good.status, 201, good.text);
    assert.equal(good.body.fields.token, '••••2c'.replace('2c', OKTA_TOKEN.slice(-4)));
    assert.ok(!good.text.includes(OKTA_TOKEN));
    assert.equal((await call('POST', '/api/sites', { ...editor(), body: { name: 'hq' } })).status, 201);
    const dest = await call('POST', '/api/destinations', {
      ...editor(),
      body: { name: 'out', config: { kind: 'file', path: 'events.ndjson' } },
    });
    assert.equal(dest.status, 201, dest.text);
    assert.equal(
      dest.body.config.path,
      join(dir, 'output', 'events.ndjson'),
      'relative paths live in the output root (default DATA_DIR/output)',
    );
    assert.equal((await call('POST', '/api/destinations/out/test', editor())).body.ok, true);

    const def = {
      source: 'okta',
      destinations: ['out'],
      site: 'hq',
      timezone: 'Europe/Berlin',
      interval: '1h',
      lookback: '1d',
      settings: { limit: 100 },
    };
    const failing = await call('POST', '/api/collectors/test', {
      ...editor(),
      body: { ...def, account: 'okta-bad' },
    });
    assert.equal(failing.status, 200);
    assert.equal(failing.body.ok, false);
    assert.equal(failing.body.error.code, 'okta_invalid_token');
    assert.match(failing.body.error.action, /Okta API token/);
    const passing = await call('POST', '/api/collectors/test', {
      ...editor(),
      body: { ...def, account: 'okta-main' },
    });
    assert.deepEqual(passing.body, { ok: true });
    const testAccount = await call('POST', '/api/accounts/okta-main/test', { ...editor(), body: {} });
    assert.deepEqual(testAccount.body, { ok: true });

    const installed = await call('POST', '/api/collectors', {
      ...editor(),
      body: { ...def, name: 'okta-hq', account: 'okta-main' },
    });
    assert.equal(installed.status, 201, installed.text);
    const deadline = Date.now() + 30_000;
    let detail: any;
    do {
      detail = (await call('GET', '/api/collectors/okta-hq', editor())).body;
      if (detail.lastRun?.status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 50)); // poll the API with a deadline
    } while (Date.now() < deadline);
    assert.equal(detail.lastRun?.status, 'succeeded', JSON.stringify(detail.lastRun));
    assert.equal(detail.status, 'running');
    assert.equal(detail.health.level, 'OK');
    assert.equal(detail.volumeLastDay, 300);
    assert.ok(detail.lastEventReceived);
    assert.equal(detail.checkpoints[0].stream, 'system-log');
    const lines = readFileSync(join(dir, 'output', 'events.ndjson'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(lines.length, 300);
    const first = JSON.parse(lines[0]!);
    assert.equal(first.sitename, 'hq');
    assert.equal(first.timezone, 'Europe/Berlin');

    const inUse = await call('DELETE', '/api/accounts/okta-main', editor());
    assert.equal(inUse.status, 409);
    assert.match(inUse.body.error.message, /okta-hq/);
    assert.equal((await call('DELETE', '/api/sites/hq', editor())).status, 409);
    assert.equal((await call('DELETE', '/api/destinations/out', editor())).status, 409);

    const stopped = await call('POST', '/api/collectors/okta-hq/stop', editor());
    assert.equal(stopped.body.status, 'stopped');
    assert.equal((await call('POST', '/api/collectors/okta-hq/run', editor())).status, 409);

    const renamed = await call('PUT', '/api/sites/hq', { ...editor(), body: { name: 'head-office' } });
    assert.equal(renamed.status, 200);
    assert.equal((await call('GET', '/api/collectors/okta-hq', editor())).body.site, 'head-office');

    const audit = await call('GET', '/api/audit?target=okta-hq', admin());
    const actions = audit.body.map((a: { action: string }) => a.action);
    assert.deepEqual(actions, ['collector.stop', 'collector.create']);
    assert.equal(audit.body[0].actor, 'token:editor-ci (editor)');
    assert.equal(audit.body[0].ip, '127.0.0.1');
    assert.deepEqual(audit.body[0].before, { enabled: true });
  });

  it('secrets are write-only: masked in responses, kept when an update leaves them out', async () => {
    const created = await call('POST', '/api/accounts', {
      ...editor(),
      body: { name: 'okta-keep', kind: 'okta', fields: { url: sim.url, token: OKTA_TOKEN } },
    });
    assert.equal(created.status, 201);
    const updated = await call('PUT', '/api/accounts/okta-keep', {
      ...editor(),
      body: { fields: { url: `${sim.url}/` }, expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
    });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.body.expiryWarning, true, 'expires within 14 days');
    assert.deepEqual((await call('POST', '/api/accounts/okta-keep/test', { ...editor(), body: {} })).body, {
      ok: true,
    });
    const d = await call('POST', '/api/destinations', {
      ...editor(),
      body: {
        name: 'siem',
        config: {
          kind: 'http',
          url: 'https://siem.example/ingest',
          auth: { type: 'bearer', token: HTTP_DEST_TOKEN },
        },
      },
    });
    assert.equal(d.status, 201, d.text);
    assert.equal(d.body.config.auth.token, `••••${HTTP_DEST_TOKEN.slice(-4)}`);
    const kept = await call('PUT', '/api/destinations/siem', {
      ...editor(),
      body: { config: { kind: 'http', url: 'https://siem.example/v2', auth: { type: 'bearer' } } },
    });
    assert.equal(kept.status, 200, kept.text);
    assert.equal(kept.body.config.auth.token, `••••${HTTP_DEST_TOKEN.slice(-4)}`);
    assert.equal(kept.body.config.url, 'https://siem.example/v2');
    const audit = await call('GET', '/api/audit?target=siem', admin());
    assert.equal(audit.body[0].action, 'destination.update');
    assert.ok(!audit.text.includes(HTTP_DEST_TOKEN));
  });

  it('the catalog names the calls a source makes that change vendor state (and none for read-only ones)', async () => {
    const catalog = (await call('GET', '/api/sources', { token: tokens.viewer })).body as Array<{
      id: string;
      vendorWrites: string[];
    }>;
    const m365 = catalog.find((s) => s.id === 'microsoft-365-management-activity')!;
    assert.equal(m365.vendorWrites.length, 1);
    assert.match(m365.vendorWrites[0]!, /subscriptions\/start/);
    assert.deepEqual(catalog.find((s) => s.id === 'okta')!.vendorWrites, []);
  });

  it('early-access sources are refused until an admin enables early access', async () => {
    const fake = {
      ...sources.okta,
      id: 'okta-preview',
      title: 'Okta Preview',
      stability: 'early-access',
    } as SourceDef;
    sources[fake.id] = fake;
    try {
      const def = { name: 'preview', source: 'okta-preview', account: 'okta-main', destinations: ['out'] };
      const catalog = (await call('GET', '/api/sources', editor())).body;
      assert.equal(catalog.find((s: { id: string }) => s.id === 'okta-preview').available, false);
      const refused = await call('POST', '/api/collectors', { ...editor(), body: def });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'early_access_required');
      assert.equal(
        (await call('PUT', '/api/settings', { ...editor(), body: { earlyAccess: true } })).status,
        403,
      );
      assert.equal(
        (await call('PUT', '/api/settings', { ...admin(), body: { earlyAccess: true } })).status,
        200,
      );
      assert.equal(
        (await call('GET', '/api/sources', editor())).body.find(
          (s: { id: string }) => s.id === 'okta-preview',
        ).available,
        true,
      );
      const accepted = await call('POST', '/api/collectors', {
        ...editor(),
        body: { ...def, enabled: false },
      });
      assert.equal(accepted.status, 201, accepted.text);
      assert.equal((await call('DELETE', '/api/collectors/preview', editor())).status, 204);
    } finally {
      delete sources[fake.id];
      await call('PUT', '/api/settings', { ...admin(), body: { earlyAccess: false } });
    }
  });

  it('cookie sessions: HttpOnly SameSite=Strict cookie, CSRF token required on changes, logout ends it', async () => {
    const s = await login('editor', PASSWORDS.editor);
    assert.match(s.setCookie, /HttpOnly/);
    assert.match(s.setCookie, /SameSite=Strict/);
    const noCsrf = await call('POST', '/api/sites', { cookie: s.cookie, body: { name: 'csrf-site' } });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.error.code, 'csrf_failed');
    const wrong = await call('POST', '/api/sites', {
      cookie: s.cookie,
      csrf: 'nope',
      body: { name: 'csrf-site' },
    });
    assert.equal(wrong.status, 403);
    const ok = await call('POST', '/api/sites', { ...s, body: { name: 'csrf-site' } });
    assert.equal(ok.status, 201);
    assert.equal((await call('GET', '/api/session', { cookie: s.cookie })).body.user.role, 'editor');
    assert.equal((await call('POST', '/api/logout', s)).status, 204);
    assert.equal((await call('GET', '/api/session', { cookie: s.cookie })).status, 401);
  });

  it('throttles repeated failed sign-ins and audits them', async () => {
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await call('POST', '/api/login', { body: { username: 'viewer', password: 'wrong' } })).status,
        401,
      );
    const locked = await call('POST', '/api/login', {
      body: { username: 'viewer', password: PASSWORDS.viewer },
    });
    assert.equal(locked.status, 429);
    const audit = await call('GET', '/api/audit?action=user.login-failed', admin());
    assert.ok(audit.body.length >= 5);
  });

  it('API tokens: shown once, listed by hint, revocable; expired ones refused', async () => {
    const created = await call('POST', '/api/tokens', { ...editor(), body: { name: 'short' } });
    const token = created.body.token as string;
    assert.equal((await call('GET', '/api/collectors', { token })).status, 200);
    const list = await call('GET', '/api/tokens', editor());
    assert.ok(!list.text.includes(token), 'the token is never shown again');
    assert.ok(list.body.some((t: { hint: string }) => t.hint === `trb_…${token.slice(-4)}`));
    assert.equal(
      (await call('GET', '/api/tokens', { token: tokens.viewer })).body.length,
      1,
      'a viewer sees only their own',
    );
    assert.equal(
      (await call('DELETE', `/api/tokens/${created.body.id}`, { token: tokens.viewer })).status,
      404,
    );
    assert.equal((await call('DELETE', `/api/tokens/${created.body.id}`, editor())).status, 204);
    const revoked = await call('GET', '/api/collectors', { token });
    assert.equal(revoked.status, 401);
    const expired = await call('POST', '/api/tokens', {
      ...editor(),
      body: { name: 'past', expiresAt: '2020-01-01T00:00:00Z' },
    });
    assert.equal((await call('GET', '/api/collectors', { token: expired.body.token })).status, 401);
  });

  it('users: the last admin cannot be demoted or deleted; a password change ends sessions', async () => {
    const users = (await call('GET', '/api/users', admin())).body;
    const adminUser = users.find((u: { username: string }) => u.username === 'admin');
    const viewerUser = users.find((u: { username: string }) => u.username === 'viewer');
    assert.ok(!JSON.stringify(users).includes('scrypt'), 'password hashes never leave the server');
    assert.equal(
      (await call('PUT', `/api/users/${adminUser.id}`, { ...admin(), body: { role: 'viewer' } })).status,
      409,
    );
    assert.equal((await call('DELETE', `/api/users/${adminUser.id}`, admin())).status, 409);
    const short = await call('PUT', `/api/users/${viewerUser.id}`, {
      ...admin(),
      body: { password: 'short' },
    });
    assert.equal(short.status, 400);
    assert.equal(short.body.error.issues[0].path, 'password');
  });

  it('audit log: append-only through the API, exportable as NDJSON and CSV', async () => {
    assert.equal((await call('DELETE', '/api/audit', admin())).status, 405);
    assert.equal((await call('PUT', '/api/audit', { ...admin(), body: {} })).status, 405);
    const nd = await fetch(`${base}/api/audit?format=ndjson&limit=5`, {
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
    assert.equal(nd.headers.get('content-type'), 'application/x-ndjson');
    const rows = (await nd.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(rows.length, 5);
    const csv = await fetch(`${base}/api/audit?format=csv&action=account.create`, {
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
    const text = await csv.text();
    assert.match(text, /^id,at,actor,action,targetType,target,ip,before,after\r\n/);
    assert.match(text, /account\.create/);
  });

  it('no secret reaches the database file, the logs or any response', async () => {
    // The database file and its write-ahead log, where recent writes still are.
    const files = readdirSync(dir)
      .filter((f) => f.startsWith('tributary.db'))
      .map((f) => readFileSync(join(dir, f)).toString('latin1'));
    assert.ok(files.length > 0);
    const secrets = [
      OKTA_TOKEN,
      HTTP_DEST_TOKEN,
      'sk-test-1234567890',
      ADMIN_PASSWORD,
      PASSWORDS.editor,
      ...Object.values(tokens),
    ];
    for (const secret of secrets) {
      for (const f of files) assert.ok(!f.includes(secret), `database holds ${secret.slice(0, 6)}…`);
      assert.ok(!logLines.some((l) => l.includes(secret)), `logs hold ${secret.slice(0, 6)}…`);
    }
    for (const secret of [OKTA_TOKEN, HTTP_DEST_TOKEN, 'sk-test-1234567890', ADMIN_PASSWORD])
      assert.ok(!responses.some((r) => r.includes(secret)), `a response held ${secret.slice(0, 6)}…`);
  });
});
