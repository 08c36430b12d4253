import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { Auth } from '../../src/api/auth.ts';
import { startApiServer } from '../../src/api/server.ts';
import { Runtime } from '../../src/app/runtime.ts';
import { hashingLoad, hashPassword, SCRYPT_PARAMS, verifyPassword } from '../../src/control/auth.ts';
import { Control } from '../../src/control/service.ts';
import { silentLogger } from '../../src/engine/log.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { type ApiServer, passwordOf, startTestApi } from '../support/api-server.ts';
import { freshSchemas, postgresUnavailable, requirePostgres, testDatabaseUrl } from '../support/postgres.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Sign-in attacks through the HTTP API of real API servers: concurrent guessing, guessing through
 * several replicas on one Postgres store, password spraying, lockout timing, unknown-user auditing,
 * weak passwords and old password hashes. Each test fails when its defence is taken away.
 *
 * Client addresses: every 127.0.0.0/8 address is this machine, so a request sent from 127.0.0.N is a
 * different client to the server.
 */

// Before anything is registered: suites and hooks registered after a top-level await would run apart.
const unavailable = await postgresUnavailable(testDatabaseUrl);
const fresh = tempDirs('tributary-login');
const servers: ApiServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function server(o: Parameters<typeof startTestApi>[1] = {}): Promise<ApiServer> {
  const s = await startTestApi(fresh(), o);
  servers.push(s);
  return s;
}

/**
 * One server for the tests with the default limits (each start hashes six passwords at full cost).
 * They stay apart by using client addresses and usernames of their own: 127.0.0.1 and `viewer` for
 * the burst, 127.0.0.3 for spraying, 127.0.1.x and `gina` for one username from many addresses,
 * 127.0.0.6 and `dana` for the password policy, 127.0.0.7 and `editor` for re-hashing, 127.0.2.x for
 * the flood.
 */
let shared: Promise<ApiServer> | undefined;
const sharedServer = () => (shared ??= server());

/** Creates a user through the API (as admin). */
async function addUser(api: ApiServer, username: string, password: string): Promise<void> {
  const r = await api.call('POST', '/api/users', {
    as: 'admin',
    body: { username, password, role: 'viewer' },
  });
  assert.equal(r.status, 201, r.text);
}

interface Sent {
  status: number;
  retryAfter?: string;
  body: any;
}

/** POST /api/login from the client address `from` (default 127.0.0.1). */
function signIn(
  base: string,
  username: string,
  password: string,
  from = '127.0.0.1',
  headers: Record<string, string> = {},
): Promise<Sent> {
  const url = new URL('/api/login', base);
  const body = JSON.stringify({ username, password });
  return new Promise((ok, fail) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: from,
        agent: false,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          const out: Sent = { status: res.statusCode!, body: text ? JSON.parse(text) : undefined };
          const ra = res.headers['retry-after'];
          if (typeof ra === 'string') out.retryAfter = ra;
          ok(out);
        });
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

const count = (rs: Sent[], status: number) => rs.filter((r) => r.status === status).length;

/** The address limit's free attempts (src/api/auth.ts ADDRESS_LIMIT). */
const ADDRESS_FREE = 5;
/** The username limit's free attempts (USER_LIMIT). */
const USER_FREE = 10;

/** 39 wrong passwords and the right one for `username`, all at once, spread over `servers`. */
function burst(bases: string[], username: string, right: string): Promise<Sent[]> {
  return Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      signIn(bases[i % bases.length]!, username, i === 20 ? right : `wrong guess number ${i}`),
    ),
  );
}

function assertRetryAfter(r: Sent): number {
  assert.match(r.retryAfter ?? '', /^[1-9][0-9]*$/, 'Retry-After: whole seconds');
  const s = Number(r.retryAfter);
  assert.ok(s <= 15 * 60, `Retry-After ${s} s is within the 15-minute cap`);
  return s;
}

describe('sign-in throttling', () => {
  it('40 concurrent attempts on one user: the allowance is evaluated, the rest refused with 429', async () => {
    const api = await sharedServer();
    const rs = await burst([api.base], 'viewer', passwordOf('viewer'));
    const evaluated = count(rs, 401) + count(rs, 200);
    assert.ok(evaluated <= ADDRESS_FREE, `at most ${ADDRESS_FREE} checked, got ${evaluated}`);
    assert.equal(count(rs, 429), 40 - evaluated, JSON.stringify(rs.map((r) => r.status)));
    for (const r of rs.filter((x) => x.status === 429)) assertRetryAfter(r);
    // The right password while locked is refused too: otherwise the lock would tell a guesser nothing.
    const right = await signIn(api.base, 'viewer', passwordOf('viewer'));
    assert.equal(right.status, 429);
    assert.equal(right.body.error.code, 'too_many_attempts');
    assert.match(right.body.error.message, /try again in \d+ seconds?/);
    assertRetryAfter(right);
    // Another client address is not locked out by this one.
    assert.equal((await signIn(api.base, 'viewer', passwordOf('viewer'), '127.0.0.2')).status, 200);
  });

  it('spraying one password over many usernames from one address is throttled', async () => {
    const api = await sharedServer();
    const names = ['admin', 'root', 'viewer', 'alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'];
    const rs: Sent[] = [];
    for (const name of names) rs.push(await signIn(api.base, name, 'Summer2026!Summer', '127.0.0.3'));
    assert.deepEqual(
      rs.map((r) => r.status),
      [...Array(ADDRESS_FREE).fill(401), ...Array(names.length - ADDRESS_FREE).fill(429)],
    );
  });

  it('guessing one username from many addresses is throttled, looser than per address', async () => {
    const api = await sharedServer();
    await addUser(api, 'gina', 'window box tomato 55');
    const statuses: number[] = [];
    for (let i = 0; i < USER_FREE + 2; i++)
      statuses.push((await signIn(api.base, 'gina', `guess ${i} of many`, `127.0.1.${i + 1}`)).status);
    assert.deepEqual(statuses, [...Array(USER_FREE).fill(401), 429, 429]);
    // the lock is the user's: others still sign in from those addresses
    assert.equal((await signIn(api.base, 'viewer', passwordOf('viewer'), '127.0.1.1')).status, 200);
    // an admin's new password lifts it
    const gina = (await api.call('GET', '/api/users', { as: 'admin' })).body.find(
      (u: { username: string }) => u.username === 'gina',
    );
    const reset = await api.call('PUT', `/api/users/${gina.id}`, {
      as: 'admin',
      body: { password: 'lighthouse keeper at dawn' },
    });
    assert.equal(reset.status, 200, reset.text);
    assert.equal((await signIn(api.base, 'gina', 'lighthouse keeper at dawn', '127.0.1.99')).status, 200);
  });

  it('behind a trusted reverse proxy each forwarded client has its own count; others cannot forge one', async () => {
    const api = await server({ server: { trustedProxies: ['127.0.0.9'] } });
    const names = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
    const viaProxy: number[] = [];
    for (const [i, name] of names.entries())
      viaProxy.push(
        (
          await signIn(api.base, name, 'one sprayed password', '127.0.0.9', {
            'x-forwarded-for': `198.51.100.77, 203.0.113.${i + 1}`,
          })
        ).status,
      );
    assert.deepEqual(viaProxy, Array(names.length).fill(401), 'seven clients, one attempt each');
    const forged: number[] = [];
    for (const [i, name] of names.entries())
      forged.push(
        (
          await signIn(api.base, name, 'one sprayed password', '127.0.0.10', {
            'x-forwarded-for': `203.0.113.${100 + i}`,
          })
        ).status,
      );
    assert.deepEqual(forged, [...Array(ADDRESS_FREE).fill(401), 429, 429], 'counted by its own address');
  });

  it('lockouts grow: each attempt past the allowance doubles the wait', async () => {
    // Short lockouts (3 s, doubling) so the test can wait them out, long enough that a slow sign-in
    // (scrypt on a loaded machine) still lands inside them; the real ones start at 30 s and 15 s.
    const api = await server({
      auth: { addressLimit: { free: 2, baseMs: 3_000, capMs: 24_000, forgetMs: 3_600_000 } },
    });
    const from = '127.0.0.4';
    assert.equal((await signIn(api.base, 'viewer', 'nope 1', from)).status, 401);
    let sent = Date.now();
    assert.equal((await signIn(api.base, 'viewer', 'nope 2', from)).status, 401, 'the second: locks 3 s');
    for (const lockS of [3, 6, 12]) {
      const locked = await signIn(api.base, 'viewer', 'while locked', from);
      assert.equal(locked.status, 429);
      const ra = assertRetryAfter(locked);
      const elapsedS = (Date.now() - sent) / 1000;
      assert.ok(ra <= lockS && ra >= Math.ceil(lockS - elapsedS), `lock ${lockS} s: Retry-After ${ra}`);
      if (lockS === 12) break;
      // refused attempts count for nothing: the first one checked after the lock sets the next, doubled
      const deadline = Date.now() + 20_000;
      let r: Sent;
      do {
        await new Promise((ok) => setTimeout(ok, 100));
        sent = Date.now();
        r = await signIn(api.base, 'viewer', `after the ${lockS} s lock`, from);
      } while (r.status === 429 && Date.now() < deadline);
      assert.equal(r.status, 401, 'the lock expired and the attempt was checked');
    }
  });
});

describe('sign-in throttling across replicas', () => {
  if (unavailable) {
    requirePostgres(unavailable); // under CI=true a failing test, never a skip
    return;
  }
  const schemas = freshSchemas(testDatabaseUrl);

  it('two API servers on one Postgres store share the counts: 40 attempts over both, one allowance', async () => {
    const schema = schemas();
    const store = () =>
      PostgresStore.open({
        connectionString: testDatabaseUrl,
        schema,
        poolSize: 5,
        applicationName: 'login-test',
      });
    const a = await server({ store });
    const b = await server({ store }); // the same users, from the same database
    const rs = await burst([a.base, b.base], 'viewer', passwordOf('viewer'));
    const evaluated = count(rs, 401) + count(rs, 200);
    assert.ok(evaluated <= ADDRESS_FREE, `at most ${ADDRESS_FREE} checked over both, got ${evaluated}`);
    assert.equal(count(rs, 429), 40 - evaluated);
    const viaB = await signIn(b.base, 'viewer', passwordOf('viewer'));
    assert.equal(viaB.status, 429, 'locked on the other replica too');
    assertRetryAfter(viaB);
  });
});

describe('sign-in auditing', () => {
  it('unknown usernames are audited per address and window with a count, never as an actor', async () => {
    // A 4-second window (5 minutes in production): long enough for three attempts at once, each with
    // its full-cost hash, to fall into it.
    const api = await server({ auth: { unknownLoginWindowMs: 4_000 } });
    const typed = ['nobody', 'Administrator', 'hunter2-typed-as-username'];
    const passwords = ['first secret guess', 'second secret guess', 'third secret guess'];
    const tries = await Promise.all(typed.map((t, i) => signIn(api.base, t, passwords[i]!, '127.0.0.5')));
    assert.deepEqual(
      tries.map((r) => r.status),
      [401, 401, 401],
    );
    assert.equal((await signIn(api.base, 'viewer', 'fourth secret guess', '127.0.0.5')).status, 401);
    const deadline = Date.now() + 10_000;
    let unknown: any[] = [];
    while (!unknown.length && Date.now() < deadline) {
      unknown = (await api.call('GET', '/api/audit?action=user.login-failed-unknown', { as: 'admin' })).body;
      if (!unknown.length) await new Promise((ok) => setTimeout(ok, 50));
    }
    assert.equal(unknown.length, 1, 'one entry for the address and window');
    assert.equal(unknown[0].actor, '(anonymous)');
    assert.equal(unknown[0].ip, '127.0.0.5');
    assert.equal(unknown[0].after.attempts, 3);
    const known = (await api.call('GET', '/api/audit?action=user.login-failed', { as: 'admin' })).body;
    assert.deepEqual(
      known.map((r: any) => [r.actor, r.target, r.ip, r.after.reason]),
      [['(anonymous)', 'viewer', '127.0.0.5', 'wrong password']],
      'a real user’s failed sign-in is audited each time',
    );
    const everything = (await api.call('GET', '/api/audit?format=ndjson&limit=1000', { as: 'admin' })).text;
    for (const t of typed) assert.ok(!everything.includes(t), `the audit log holds the typed name ${t}`);
    for (const p of [...passwords, 'fourth secret guess']) {
      assert.ok(!everything.includes(p), 'a password reached the audit log');
      assert.ok(!api.logLines.some((l) => l.includes(p)), 'a password reached the logs');
    }
  });
});

describe('password policy', () => {
  it('refuses common passwords and ones containing the username, naming the field', async () => {
    const api = await sharedServer();
    const refused = async (r: Promise<{ status: number; body: any; text: string }>) => {
      const res = await r;
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error.issues[0].path, 'password');
      return res.body.error.issues[0].message as string;
    };
    const create = (username: string, password: string) =>
      api.call('POST', '/api/users', { as: 'admin', body: { username, password, role: 'viewer' } });
    for (const common of ['password1234', 'P@ssw0rd1234', 'qwertyuiop123', '1qaz2wsx3edc', 'iloveyou1234'])
      assert.match(await refused(create('dana', common)), /too easy to guess/, common);
    assert.match(await refused(create('margaret', 'Margaret-2026-x')), /must not contain the username/);
    assert.match(await refused(create('longusername1', 'longusername1')), /must not be the username/);
    assert.equal((await create('dana', 'pelican sunset ferry 31')).status, 201, 'a fine password is taken');
    const dana = (await api.call('GET', '/api/users', { as: 'admin' })).body.find(
      (u: { username: string }) => u.username === 'dana',
    );
    const change = (password: string) =>
      api.call('PUT', `/api/users/${dana.id}`, { as: 'admin', body: { password } });
    assert.match(await refused(change('letmein12345')), /too easy to guess/);
    assert.match(await refused(change('dana is my name 77')), /must not contain the username/);
    assert.equal((await signIn(api.base, 'dana', 'pelican sunset ferry 31', '127.0.0.6')).status, 200);
  });

  it('the setup link and TRIBUTARY_ADMIN_PASSWORD refuse them too', async () => {
    const dir = fresh();
    const store = await SqliteStore.open(dir);
    await store.migrate();
    const runtime = new Runtime(store, await SecretBox.open(dir, {}), silentLogger, dir);
    await assert.rejects(
      new Auth(store).bootstrap({ TRIBUTARY_ADMIN_PASSWORD: 'password12345' }),
      /TRIBUTARY_ADMIN_PASSWORD: is too easy to guess/,
    );
    await assert.rejects(
      new Auth(store).bootstrap({
        TRIBUTARY_ADMIN_PASSWORD: 'ops-team-password-x',
        TRIBUTARY_ADMIN_USER: 'ops-team',
      }),
      /TRIBUTARY_ADMIN_PASSWORD: must not contain the username/,
    );
    const auth = new Auth(store);
    const { setupToken } = await auth.bootstrap({});
    const srv = await startApiServer(new Control(runtime), auth, { port: 0, log: silentLogger });
    after(async () => {
      await srv.close();
      await runtime.close();
    });
    const post = async (body: unknown) => {
      const r = await fetch(`http://127.0.0.1:${srv.port}/api/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as any };
    };
    const weak = await post({ token: setupToken, username: 'root', password: 'qwertyuiop123' });
    assert.equal(weak.status, 400);
    assert.equal(weak.body.error.issues[0].path, 'password');
    const ok = await post({ token: setupToken, username: 'root', password: 'granite meadow violin 8' });
    assert.equal(ok.status, 201, 'the link still works after a refused password');
  });
});

describe('password hashes', () => {
  it('a hash with older scrypt parameters is replaced at the next sign-in', async () => {
    const api = await sharedServer();
    const store = api.runtime.store;
    const editor = (await store.getUserByName('editor'))!;
    const old = await hashPassword(passwordOf('editor'), { N: 2 ** 15, r: 8, p: 1 }); // the previous default
    await store.putUser({ ...editor, passwordHash: old });
    assert.equal((await signIn(api.base, 'editor', passwordOf('editor'), '127.0.0.7')).status, 200);
    const now = (await store.getUserByName('editor'))!.passwordHash;
    assert.notEqual(now, old);
    assert.match(now, new RegExp(`^scrypt\\$${SCRYPT_PARAMS.N}\\$8\\$1\\$`));
    assert.equal(SCRYPT_PARAMS.N, 2 ** 17);
    assert.equal(await verifyPassword(passwordOf('editor'), now), true);
    assert.equal((await signIn(api.base, 'editor', passwordOf('editor'), '127.0.0.7')).status, 200);
  });

  it('a flood of sign-ins computes at most two hashes at once and turns the excess away with 503', async () => {
    const api = await sharedServer();
    const store = api.runtime.store;
    // Ten users whose hashes are quick to check (N=2^15), so the flood's work stays small; each takes
    // USER_FREE attempts, from 20 addresses taking ADDRESS_FREE each: 100 attempts that all reach hashing.
    const cheap = await hashPassword('not the guesses', { N: 2 ** 15, r: 8, p: 1 });
    const viewer = (await store.getUserByName('viewer'))!;
    for (let u = 0; u < 10; u++)
      await store.putUser({ ...viewer, id: `flood-${u}`, username: `flood${u}`, passwordHash: cheap });
    const rs = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        signIn(api.base, `flood${i % 10}`, `guess ${i}`, `127.0.2.${Math.floor(i / ADDRESS_FREE) + 1}`),
      ),
    );
    assert.equal(
      count(rs, 429),
      0,
      'the throttle let every attempt through: the hashing bound is what is tested',
    );
    assert.ok(hashingLoad().peak <= 2, `at most 2 at once, saw ${hashingLoad().peak}`);
    assert.ok(count(rs, 503) > 0, 'the excess beyond the queue is turned away');
    for (const r of rs.filter((x) => x.status === 503)) {
      assert.equal(r.body.error.code, 'busy');
      assert.equal(r.retryAfter, '1');
    }
    assert.equal(count(rs, 401) + count(rs, 503), 100);
  });
});
