import assert from 'node:assert/strict';
import { Auth, type AuthOptions } from '../../src/api/auth.ts';
import { type ApiServerOptions, startApiServer } from '../../src/api/server.ts';
import { Runtime } from '../../src/app/runtime.ts';
import { Scheduler, type SchedulerOptions } from '../../src/app/scheduler.ts';
import { Control } from '../../src/control/service.ts';
import type { Logger } from '../../src/core/source.ts';
import type { Store } from '../../src/core/store.ts';
import { fileScope } from '../../src/destinations/file/file-scope.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

/**
 * A control-plane API server on a fresh SQLite data directory, with an admin, an editor and a viewer
 * each holding an API token: what the API and security suites attack. Every log line is kept, so a test
 * can prove that no secret reached the logs.
 */

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
  text: string;
}

export type Role = 'admin' | 'editor' | 'viewer';

export interface CallOptions {
  /** An API token; `as` picks the token of a role instead. */
  token?: string;
  as?: Role;
  cookie?: string;
  csrf?: string;
  body?: unknown;
  /** A raw body (sent as is, with `type` as its content type). */
  raw?: string | Uint8Array;
  type?: string;
  headers?: Record<string, string>;
}

export interface ApiServer {
  base: string;
  dir: string;
  runtime: Runtime;
  scheduler: Scheduler;
  control: Control;
  auth: Auth;
  tokens: Record<Role, string>;
  /** Every log line written by the server, as JSON. */
  logLines: string[];
  /** Every response body seen by `call`. */
  responses: string[];
  call(method: string, path: string, o?: CallOptions): Promise<Reply>;
  login(username: string, password: string): Promise<{ cookie: string; csrf: string }>;
  close(): Promise<void>;
}

export const ADMIN_PASSWORD = 'correct horse battery staple';

/** Each role's password: long, uncommon and free of the username, as the password policy wants. */
const PASSWORDS: Record<Role, string> = {
  admin: ADMIN_PASSWORD,
  editor: 'plum orchard lantern 42',
  viewer: 'quiet harbour compass 17',
};

export function passwordOf(role: Role): string {
  return PASSWORDS[role];
}

export interface TestApiOptions {
  env?: NodeJS.ProcessEnv;
  /** The store (default: SQLite in `dir`), migrated here. Users and tokens are made only if it has none. */
  store?: () => Promise<Store>;
  auth?: AuthOptions;
  /** More options for the API server (e.g. trustedProxies). */
  server?: Partial<ApiServerOptions>;
  /** TRIBUTARY_FILE_ROOT (default DIR/output) */
  fileRoot?: string;
  scheduler?: SchedulerOptions;
}

export async function startTestApi(dir: string, o: TestApiOptions = {}): Promise<ApiServer> {
  const logLines: string[] = [];
  const log: Logger = Object.fromEntries(
    ['debug', 'info', 'warn', 'error'].map((level) => [
      level,
      (msg: string, fields?: Record<string, unknown>) =>
        logLines.push(JSON.stringify({ level, msg, ...fields })),
    ]),
  ) as unknown as Logger;
  const store = o.store ? await o.store() : await SqliteStore.open(dir);
  await store.migrate();
  const fresh = (await store.listUsers()).length === 0;
  const runtime = new Runtime(store, await SecretBox.open(dir, {}), log, dir, fileScope(dir, o.fileRoot));
  const scheduler = new Scheduler(runtime, o.scheduler);
  await scheduler.start();
  const auth = new Auth(store, o.auth);
  await auth.bootstrap({ TRIBUTARY_ADMIN_PASSWORD: ADMIN_PASSWORD, ...o.env });
  const control = new Control(runtime, scheduler);
  const server = await startApiServer(control, auth, { port: 0, log, ...o.server });
  const base = `http://127.0.0.1:${server.port}`;
  const responses: string[] = [];
  const tokens: Record<Role, string> = { admin: '', editor: '', viewer: '' };

  async function call(method: string, path: string, c: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...c.headers };
    const token = c.token ?? (c.as ? tokens[c.as] : undefined);
    if (token) headers.authorization = `Bearer ${token}`;
    if (c.cookie) headers.cookie = c.cookie;
    if (c.csrf) headers['x-csrf-token'] = c.csrf;
    let body: string | Uint8Array | undefined = c.raw;
    if (c.body !== undefined) body = JSON.stringify(c.body);
    if (body !== undefined && !headers['content-type'])
      headers['content-type'] = c.type ?? 'application/json';
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
    return { cookie, csrf: r.body.csrfToken as string };
  }

  if (!fresh) return harness();
  const adminSession = await login('admin', ADMIN_PASSWORD);
  for (const role of ['editor', 'viewer'] as const) {
    const r = await call('POST', '/api/users', {
      ...adminSession,
      body: { username: role, password: passwordOf(role), role },
    });
    assert.equal(r.status, 201, r.text);
  }
  for (const role of ['admin', 'editor', 'viewer'] as const) {
    const s = role === 'admin' ? adminSession : await login(role, passwordOf(role));
    const r = await call('POST', '/api/tokens', { ...s, body: { name: `${role}-test` } });
    assert.equal(r.status, 201, r.text);
    tokens[role] = r.body.token;
  }
  return harness();

  function harness(): ApiServer {
    return {
      base,
      dir,
      runtime,
      scheduler,
      control,
      auth,
      tokens,
      logLines,
      responses,
      call,
      login,
      async close() {
        await server.close();
        await scheduler.stop(1000);
        await runtime.close();
      },
    };
  }
}
