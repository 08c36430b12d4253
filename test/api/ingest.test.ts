import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Auth } from '../../src/api/auth.ts';
import { startApiServer } from '../../src/api/server.ts';
import { signBody } from '../../src/app/ingest/credentials.ts';
import { Runtime } from '../../src/app/runtime.ts';
import { Scheduler } from '../../src/app/scheduler.ts';
import { Control } from '../../src/control/service.ts';
import type { Logger } from '../../src/core/source.ts';
import { ElasticSimulator } from '../../src/destinations/elasticsearch/simulator.ts';
import { json, SimServer } from '../../src/sim/kit.ts';
import { pushBatch } from '../../src/sim/push-sender.ts';
import { genericSender } from '../../src/sources/webhook/simulator.ts';
import { SecretBox } from '../../src/store/secrets.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * Push collectors end to end over real HTTP: `tributary serve`'s server with the API (collectors
 * created, rotated, stopped through it) and the ingest endpoint, a file destination, and an HTTP
 * destination whose receiver (a local server) can be taken down.
 */

const fresh = tempDirs('tributary-ingest');
const logLines: string[] = [];
const log = Object.fromEntries(
  ['debug', 'info', 'warn', 'error'].map((level) => [
    level,
    (msg: string, fields?: Record<string, unknown>) =>
      logLines.push(JSON.stringify({ level, msg, ...fields })),
  ]),
) as unknown as Logger;

let base = '';
let dir = '';
let runtime: Runtime;
let scheduler: Scheduler;
let close: () => Promise<void>;
let editorToken = '';
/** The fake SIEM behind the `siem` HTTP destination. */
const siem = { down: false, lines: [] as string[] };
let siemServer: SimServer;
const responses: string[] = [];
const HMAC_SECRET = 'hmac-secret-SECRET-5e6f7a8b9c';

interface Reply {
  status: number;
  body: any;
  headers: Headers;
  text: string;
}

async function api(method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${editorToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  responses.push(text);
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers, text };
}

async function push(
  collector: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<Reply> {
  const res = await fetch(`${base}/ingest/${collector}`, { method, headers, body });
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

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Envelopes a collector delivered to the file destination, in order. */
function delivered(collector: string): any[] {
  let text = '';
  try {
    text = readFileSync(join(dir, 'output', 'pushed.ndjson'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.collector === collector);
}

/** Creates a push collector through the API; returns its one-time ingest token. */
async function install(name: string, def: Record<string, unknown>): Promise<string> {
  const r = await api('POST', '/api/collectors', { name, destinations: ['file-out'], ...def });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.ingestToken, /^trbi_/);
  return r.body.ingestToken;
}

before(async () => {
  dir = fresh();
  siemServer = new SimServer({ name: 'siem' }).route('POST', '/events', (req) => {
    if (siem.down) return json(503, { error: 'maintenance' });
    siem.lines.push(...req.body.toString('utf8').split('\n').filter(Boolean));
    return json(200, { ok: true });
  });
  await siemServer.start();
  const store = await SqliteStore.open(dir);
  await store.migrate();
  runtime = new Runtime(store, await SecretBox.open(dir, {}), log, dir);
  scheduler = new Scheduler(runtime);
  await scheduler.start();
  const auth = new Auth(store);
  await auth.bootstrap({ TRIBUTARY_ADMIN_PASSWORD: 'correct horse battery' });
  const server = await startApiServer(new Control(runtime, scheduler), auth, { port: 0, log });
  base = `http://127.0.0.1:${server.port}`;
  close = server.close;
  const login = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'correct horse battery' }),
  });
  const session = {
    cookie: login.headers.get('set-cookie')!.split(';')[0]!,
    csrf: ((await login.json()) as { csrfToken: string }).csrfToken,
  };
  const users = await fetch(`${base}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.csrf },
    body: JSON.stringify({ username: 'editor', password: 'plum orchard lantern 42', role: 'editor' }),
  });
  assert.equal(users.status, 201);
  const elogin = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'editor', password: 'plum orchard lantern 42' }),
  });
  const es = {
    cookie: elogin.headers.get('set-cookie')!.split(';')[0]!,
    csrf: ((await elogin.json()) as { csrfToken: string }).csrfToken,
  };
  const tok = await fetch(`${base}/api/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: es.cookie, 'x-csrf-token': es.csrf },
    body: JSON.stringify({ name: 'ci' }),
  });
  editorToken = ((await tok.json()) as { token: string }).token;
  assert.equal((await api('POST', '/api/sites', { name: 'hq' })).status, 201);
  const file = await api('POST', '/api/destinations', {
    name: 'file-out',
    config: { kind: 'file', path: 'pushed.ndjson' },
  });
  assert.equal(file.status, 201, file.text);
  const http = await api('POST', '/api/destinations', {
    name: 'siem',
    config: { kind: 'http', url: `${siemServer.url}/events`, maxAttempts: 1, timeout: 5000 },
  });
  assert.equal(http.status, 201, http.text);
});

after(async () => {
  await close();
  await scheduler.stop(1000);
  await runtime.close();
  await siemServer.stop();
});

describe('push collectors: the ingest endpoint', () => {
  it('install: the token is in the create response only; the view shows hints; nothing to run', async () => {
    const created = await api('POST', '/api/collectors', {
      name: 'hook',
      source: 'webhook',
      destinations: ['file-out'],
      site: 'hq',
      timezone: 'Europe/Berlin',
      settings: { idPath: 'uuid', timePath: 'at' },
    });
    assert.equal(created.status, 201, created.text);
    const token = created.body.ingestToken as string;
    assert.match(token, /^trbi_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.ingest.path, '/ingest/hook');
    assert.deepEqual(
      created.body.ingest.tokens.map((t: { hint: string }) => t.hint),
      [`trbi_…${token.slice(-4)}`],
    );
    const view = await api('GET', '/api/collectors/hook');
    assert.equal(view.body.ingestToken, undefined);
    assert.ok(!view.text.includes(token), 'the token is never shown again');
    assert.equal(view.body.account, null);
    const run = await api('POST', '/api/collectors/hook/run');
    assert.equal(run.status, 409);
    assert.match(run.body.error.message, /receives pushed events/);
    const withAccount = await api('POST', '/api/collectors', {
      name: 'hook-acc',
      source: 'webhook',
      account: 'x',
      destinations: ['file-out'],
    });
    assert.equal(withAccount.status, 400);
    assert.equal(withAccount.body.error.issues[0].path, 'account');
  });

  it('accepts an object, an array, NDJSON, stacked JSON and raw lines, gzipped or not, and envelopes them', async () => {
    const token = await install('formats', { source: 'webhook', site: 'hq', timezone: 'Europe/Berlin' });
    const sent: unknown[] = [];
    for (const format of ['object', 'array', 'ndjson', 'lines'] as const)
      for (const gzip of [false, true]) {
        const vendor = genericSender({ format, gzip });
        const records = vendor.records(format === 'object' ? 1 : 5, sent.length + 1);
        const r = await pushBatch(`${base}/ingest/formats`, vendor, records, token, { maxAttempts: 1 });
        assert.deepEqual(r, { outcome: 'delivered', statuses: [200] }, `${format} gzip=${gzip}`);
        sent.push(...records);
      }
    const stacked = '{"s":1} {"s":2}{"s":3}\n{\n  "s": 4\n}';
    const r = await push('formats', stacked, bearer(token));
    assert.deepEqual(r.body, { accepted: 4, deadLettered: 0 });
    sent.push({ s: 1 }, { s: 2 }, { s: 3 }, { s: 4 });

    const got = delivered('formats');
    assert.deepEqual(
      got.map((e) => e.raw),
      sent,
    );
    assert.ok(got.filter((e) => typeof e.raw === 'string').length === 10, 'raw lines stay strings');
    for (const e of got) {
      assert.equal(e.source, 'webhook');
      assert.equal(e.stream, 'events');
      assert.equal(e.sitename, 'hq');
      assert.equal(e.timezone, 'Europe/Berlin');
      assert.match(e.id, /^h:[0-9a-f]{40}$/, 'no idPath: a hash of the record');
      assert.equal(e.time, e.ingested_at, 'no timePath: the time received');
    }
    const view = await api('GET', '/api/collectors/formats');
    assert.equal(view.body.volumeLastDay, sent.length, 'counts committed');
    assert.ok(view.body.lastEventReceived);
  });

  it('ids from idPath (else a hash that a re-sent record keeps), times from timePath', async () => {
    const vendor = genericSender();
    const records = vendor.records(3, 99);
    const hookToken = (await api('POST', '/api/collectors/hook/rotate-ingest-token', {})).body.ingestToken;
    assert.equal((await pushBatch(`${base}/ingest/hook`, vendor, records, hookToken)).outcome, 'delivered');
    const got = delivered('hook');
    assert.deepEqual(
      got.map((e) => e.id),
      records.map((r) => (r as { uuid: string }).uuid),
    );
    assert.deepEqual(
      got.map((e) => e.time),
      records.map((r) => (r as { at: string }).at),
    );
    const token = await install('hashed', { source: 'webhook' });
    await pushBatch(`${base}/ingest/hashed`, vendor, records, token);
    await pushBatch(`${base}/ingest/hashed`, vendor, records, token);
    const ids = delivered('hashed').map((e) => e.id);
    assert.equal(ids.length, 6);
    assert.deepEqual(ids.slice(0, 3), ids.slice(3), 'the same record gets the same id');
    assert.equal(new Set(ids).size, 3);
  });

  it('parts that are not JSON go to the dead-letter store; the rest is accepted', async () => {
    const token = await install('mixed', { source: 'webhook', settings: { format: 'json' } });
    const r = await push('mixed', '{"a":1}\nnot json\n{"a":2}\n', bearer(token));
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { accepted: 2, deadLettered: 1 });
    const view = await api('GET', '/api/collectors/mixed');
    assert.equal(view.body.deadLetters[0].raw, 'not json');
    assert.match(view.body.deadLetters[0].reason, /not valid JSON/);
    assert.equal(view.body.volumeLastDay, 2);
  });

  it('events a destination refuses for good become the collector’s dead letters; the rest is delivered', async () => {
    const es = new ElasticSimulator();
    await es.start();
    try {
      const created = await api('POST', '/api/destinations', {
        name: 'elastic',
        config: { kind: 'elasticsearch', url: es.url, index: 'pushed-events', gzip: false },
      });
      assert.equal(created.status, 201, created.text);
      const r0 = await api('POST', '/api/collectors', {
        name: 'mapped',
        source: 'webhook',
        destinations: ['elastic'],
        settings: { format: 'json', idPath: 'uuid' },
      });
      assert.equal(r0.status, 201, r0.text);
      const token = r0.body.ingestToken as string;
      const ok = await push('mapped', '{"uuid":"m1","n":1}\n{"uuid":"m2","n":2}\n', bearer(token));
      assert.deepEqual(ok.body, { accepted: 2, deadLettered: 0 });
      const r = await push('mapped', '{"uuid":"m3","n":"three"}\n{"uuid":"m4","n":4}\n', bearer(token));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(es.ids('pushed-events').sort(), ['m1', 'm2', 'm4']);
      const view = await api('GET', '/api/collectors/mapped');
      const [dl] = view.body.deadLetters;
      assert.match(
        dl.reason,
        /^destination elastic: Elasticsearch 400 document_parsing_exception: .*\[raw\.n\]/,
      );
      assert.equal(JSON.parse(dl.raw).id, 'm3');
      assert.equal(view.body.volumeLastDay, 4, 'a dead-lettered event was handled, not lost');
    } finally {
      await es.stop();
    }
  });

  it('size limits: 413 with a clear error for bodies too large as sent or once decompressed', async () => {
    const token = await install('small', {
      source: 'webhook',
      settings: { maxBodyMB: 0.01, maxDecompressedMB: 0.05 },
    });
    const big = `${'{"pad":"'.padEnd(12_000, 'x')}"}`;
    const r1 = await push('small', big, bearer(token));
    assert.equal(r1.status, 413);
    assert.equal(r1.body.error.code, 'body_too_large');
    assert.match(r1.body.error.message, /limited to 10485 bytes as sent/);
    const bomb = gzipSync(`${'{"a":1}\n'.repeat(10_000)}`); // ≈80 KB, a few hundred bytes compressed
    assert.ok(bomb.length < 10_000);
    const r2 = await push('small', bomb, { ...bearer(token), 'content-encoding': 'gzip' });
    assert.equal(r2.status, 413);
    assert.equal(r2.body.error.code, 'decompressed_body_too_large');
    assert.match(r2.body.error.message, /once decompressed/);
    const r3 = await push('small', gzipSync('{"a":1}\n'), { ...bearer(token), 'content-encoding': 'gzip' });
    assert.equal(r3.status, 200, 'the connection still serves requests within the limits');
    const bad = await push('small', 'not gzip', { ...bearer(token), 'content-encoding': 'gzip' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_gzip');
    assert.equal(delivered('small').length, 1);
  });

  it('tokens: missing or wrong refused; rotation keeps the previous one for the overlap; 0s revokes it', async () => {
    const first = await install('tokens', { source: 'webhook' });
    const missing = await push('tokens', '{"a":1}');
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.code, 'missing_token');
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/);
    const wrong = await push('tokens', '{"a":1}', bearer(`${first.slice(0, -1)}x`));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'invalid_token');
    const other = await install('tokens-other', { source: 'webhook' });
    assert.equal((await push('tokens', '{"a":1}', bearer(other))).status, 401, "another collector's token");

    const rotated = await api('POST', '/api/collectors/tokens/rotate-ingest-token', {});
    assert.equal(rotated.status, 200, rotated.text);
    const second = rotated.body.ingestToken as string;
    const overlapEnds = Date.parse(rotated.body.previousExpiresAt);
    assert.ok(Math.abs(overlapEnds - (Date.now() + 24 * 3_600_000)) < 60_000, 'default overlap 24 h');
    assert.equal(rotated.body.ingest.tokens.length, 2);
    assert.equal(
      (await push('tokens', '{"n":1}', bearer(first))).status,
      200,
      'previous token, in the overlap',
    );
    assert.equal((await push('tokens', '{"n":2}', bearer(second))).status, 200, 'new token');

    const third = (await api('POST', '/api/collectors/tokens/rotate-ingest-token', { overlap: '1h' })).body
      .ingestToken as string;
    assert.equal((await push('tokens', '{"n":3}', bearer(first))).status, 401, 'two rotations back');
    assert.equal((await push('tokens', '{"n":4}', bearer(second))).status, 200);
    const fourth = await api('POST', '/api/collectors/tokens/rotate-ingest-token', { overlap: '0s' });
    assert.equal(fourth.body.previousExpiresAt, null);
    assert.equal((await push('tokens', '{"n":5}', bearer(third))).status, 401, 'revoked at once');
    assert.equal((await push('tokens', '{"n":6}', bearer(fourth.body.ingestToken))).status, 200);
    assert.deepEqual(
      delivered('tokens').map((e) => e.raw.n),
      [1, 2, 4, 6],
    );
    const bad = await api('POST', '/api/collectors/tokens/rotate-ingest-token', { overlap: '90d' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.issues[0].path, 'overlap');
    const audit = await fetch(`${base}/api/audit?action=collector.rotate-ingest-token`, {
      headers: bearer(editorToken),
    });
    assert.equal(audit.status, 403, 'the audit log is for admins');
  });

  it('HMAC: a good signature passes; a bad or missing one is refused; the secret is write-only', async () => {
    const created = await api('POST', '/api/collectors', {
      name: 'signed',
      source: 'webhook',
      destinations: ['file-out'],
      settings: { hmac: { header: 'X-Hub-Signature-256', secret: HMAC_SECRET } },
    });
    assert.equal(created.status, 201, created.text);
    const token = created.body.ingestToken;
    assert.equal(created.body.ingest.signature.header, 'X-Hub-Signature-256');
    assert.equal(created.body.ingest.signature.secret, `••••${HMAC_SECRET.slice(-4)}`);
    assert.deepEqual(created.body.config.settings.hmac, {
      header: 'X-Hub-Signature-256',
      secret: `••••${HMAC_SECRET.slice(-4)}`,
    });
    assert.ok(!created.text.includes(HMAC_SECRET));

    const body = gzipSync('{"signed":1}\n{"signed":2}');
    const headers = { ...bearer(token), 'content-encoding': 'gzip' };
    const ok = await push('signed', body, { ...headers, 'x-hub-signature-256': signBody(HMAC_SECRET, body) });
    assert.equal(ok.status, 200, ok.text);
    const tampered = await push('signed', gzipSync('{"signed":3}'), {
      ...headers,
      'x-hub-signature-256': signBody(HMAC_SECRET, body),
    });
    assert.equal(tampered.status, 401);
    assert.equal(tampered.body.error.code, 'invalid_signature');
    const missing = await push('signed', body, headers);
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.code, 'missing_signature');

    // An edit that leaves the secret out keeps it; one without hmac turns signing off.
    const def = { source: 'webhook', destinations: ['file-out'] };
    const kept = await api('PUT', '/api/collectors/signed', {
      ...def,
      settings: { hmac: { header: 'X-Hub-Signature-256' } },
    });
    assert.equal(kept.status, 200, kept.text);
    assert.equal(kept.body.ingestToken, undefined, 'an edit does not issue a token');
    const again = await push('signed', body, {
      ...headers,
      'x-hub-signature-256': signBody(HMAC_SECRET, body),
    });
    assert.equal(again.status, 200, 'the stored secret still verifies');
    assert.equal((await api('PUT', '/api/collectors/signed', { ...def, settings: {} })).status, 200);
    assert.equal((await push('signed', body, headers)).status, 200, 'signing off');
    assert.equal((await api('GET', '/api/collectors/signed')).body.ingest.signature, null);
    const noSecret = await api('PUT', '/api/collectors/signed', {
      ...def,
      settings: { hmac: { header: 'X-Sig' } },
    });
    assert.equal(noSecret.status, 400, 'turning signing back on needs the secret again');
    assert.equal(noSecret.body.error.issues[0].path, 'settings.hmac.secret');
    assert.equal(delivered('signed').length, 6);
  });

  it('a destination down: 503 with Retry-After, nothing counted; the retried request delivers, nothing lost', async () => {
    const token = await install('relay', { source: 'webhook', destinations: ['file-out', 'siem'] });
    const vendor = genericSender();
    const first = vendor.records(4, 1);
    const second = vendor.records(4, 2);
    assert.equal((await pushBatch(`${base}/ingest/relay`, vendor, first, token)).outcome, 'delivered');
    siem.down = true;
    let errorsWhileDown: any[] = [];
    const result = await pushBatch(`${base}/ingest/relay`, vendor, second, token, {
      beforeRetry: async (_attempt, status) => {
        assert.equal(status, 503);
        const view = await api('GET', '/api/collectors/relay');
        assert.equal(view.body.volumeLastDay, 4, 'the refused request is not counted');
        errorsWhileDown = view.body.errors;
        siem.down = false;
      },
    });
    assert.deepEqual(result, { outcome: 'delivered', statuses: [503, 200] });
    assert.equal(errorsWhileDown[0]?.code, 'destination_unavailable');
    assert.match(errorsWhileDown[0]?.message ?? '', /siem/);

    const ids = (e: { id: string }) => e.id;
    const atSiem = siem.lines.map((l) => JSON.parse(l)).filter((e) => e.collector === 'relay');
    assert.deepEqual(
      atSiem.map((e) => e.raw),
      [...first, ...second],
      'every event reached the destination that was down, once',
    );
    const atFile = delivered('relay');
    assert.equal(atFile.length, 12, 'the file acknowledged the refused attempt too');
    assert.deepEqual(
      atFile.slice(4, 8).map(ids),
      atFile.slice(8).map(ids),
      'duplicates only of the retried request, same ids',
    );
    assert.equal((await api('GET', '/api/collectors/relay')).body.volumeLastDay, 8);

    siem.down = true;
    const refused = await push('relay', '{"x":1}', bearer(token));
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, 'destination_unavailable');
    assert.equal(refused.headers.get('retry-after'), '10');
    siem.down = false;
  });

  it('a stopped collector answers 503 with Retry-After until it is started', async () => {
    const token = await install('pausable', { source: 'webhook' });
    assert.equal((await api('POST', '/api/collectors/pausable/stop')).status, 200);
    const stopped = await push('pausable', '{"a":1}', bearer(token));
    assert.equal(stopped.status, 503);
    assert.equal(stopped.body.error.code, 'collector_stopped');
    assert.equal(stopped.headers.get('retry-after'), '60');
    assert.equal((await api('POST', '/api/collectors/pausable/start')).status, 200);
    assert.equal((await push('pausable', '{"a":1}', bearer(token))).status, 200);
    assert.equal(delivered('pausable').length, 1);
  });

  it('over the configured rate: 429 with Retry-After', async () => {
    const token = await install('limited', { source: 'webhook', settings: { maxEventsPerSecond: 5 } });
    const ten = genericSender().records(10, 1);
    const body = ten.map((r) => JSON.stringify(r)).join('\n');
    assert.equal(
      (await push('limited', body, bearer(token))).status,
      200,
      'a burst is admitted, then repaid',
    );
    const over = await push('limited', body, bearer(token));
    assert.equal(over.status, 429);
    assert.equal(over.body.error.code, 'rate_limited');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    assert.equal(delivered('limited').length, 10);
  });

  it("a push collector's page: requests and events accepted, the latest refusals with their reasons, health from them", async () => {
    const token = await install('counted', {
      source: 'webhook',
      settings: { maxEventsPerSecond: 5, maxBodyMB: 0.01 },
    });
    const fresh = await api('GET', '/api/collectors/counted');
    assert.deepEqual(fresh.body.ingest.traffic, {
      lastHour: { requests: 0, accepted: 0, events: 0, byStatus: {} },
      lastDay: { requests: 0, accepted: 0, events: 0, byStatus: {} },
      lastRequestAt: null,
      refusals: [],
    });
    assert.equal(fresh.body.health.level, 'OK');
    assert.deepEqual(fresh.body.health.reasons, []);

    const six = genericSender().records(6, 1);
    const body = six.map((r) => JSON.stringify(r)).join('\n');
    assert.equal((await push('counted', body, bearer(token))).status, 200);
    const limited = await push('counted', body, bearer(token));
    assert.equal(limited.status, 429);
    const wrong = await push('counted', '{"a":1}', bearer('trbi_not-the-token'));
    assert.equal(wrong.status, 401);
    // a name that is no collector is not counted anywhere (nor does it fail)
    assert.equal((await push('no-such-collector', '{"a":1}', bearer(token))).status, 401);

    // counted in memory, written within about a second: polled with a deadline
    const deadline = Date.now() + 10_000;
    let view = await api('GET', '/api/collectors/counted');
    while (view.body.ingest.traffic.lastHour.requests < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      view = await api('GET', '/api/collectors/counted');
    }
    const traffic = view.body.ingest.traffic;
    assert.deepEqual(traffic.lastHour, {
      requests: 3,
      accepted: 1,
      events: 6,
      byStatus: { 200: 1, 401: 1, 429: 1 },
    });
    assert.deepEqual(traffic.lastDay, traffic.lastHour);
    assert.ok(Date.now() - Date.parse(traffic.lastRequestAt) < 60_000);
    const byCode = Object.fromEntries(traffic.refusals.map((r: { code: string }) => [r.code, r]));
    assert.deepEqual(Object.keys(byCode).sort(), ['invalid_token', 'rate_limited']);
    assert.equal(byCode.rate_limited.status, 429);
    assert.equal(byCode.rate_limited.requests, 1);
    assert.match(byCode.rate_limited.message, /over its configured rate/);
    assert.equal(byCode.rate_limited.retryAfter, Number(limited.headers.get('retry-after')));
    assert.equal(byCode.invalid_token.status, 401);

    // health from those: over the rate and a wrong token are warnings (senders retry, or it was not one)
    assert.equal(view.body.health.level, 'WARNING');
    assert.ok(
      view.body.health.reasons.some((r: string) =>
        /^1 pushed request answered 429 rate_limited in the last hour, the latest at .+: Collector "counted" is over its configured rate/.test(
          r,
        ),
      ),
      view.body.health.reasons.join('\n'),
    );
    // a body too large: its events are lost (senders do not retry a 413), so ERROR, also in the list
    const big = `${'{"pad":"'.padEnd(12_000, 'x')}"}`;
    assert.equal((await push('counted', big, bearer(token))).status, 413);
    const until = Date.now() + 10_000;
    let listed = (await api('GET', '/api/collectors')).body.find(
      (c: { name: string }) => c.name === 'counted',
    );
    while (listed.health.level !== 'ERROR' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      listed = (await api('GET', '/api/collectors')).body.find((c: { name: string }) => c.name === 'counted');
    }
    assert.equal(listed.health.level, 'ERROR');
    assert.match(listed.health.reasons[0], /answered 413 body_too_large .*their events are lost/);
    const detail = await api('GET', '/api/collectors/counted');
    assert.equal(detail.body.ingest.traffic.refusals[0].code, 'body_too_large', 'newest first');
    assert.equal(detail.body.ingest.traffic.lastHour.byStatus[413], 1);
    assert.equal(detail.body.runs.length, 0, 'a push collector has no runs');
  });

  it('concurrent requests are each answered after their own events are delivered', async () => {
    const token = await install('busy', { source: 'webhook', settings: { idPath: 'uuid' } });
    const vendor = genericSender({ gzip: true });
    const batches = Array.from({ length: 24 }, (_, i) => vendor.records(25, 100 + i));
    const results = await Promise.all(batches.map((b) => pushBatch(`${base}/ingest/busy`, vendor, b, token)));
    assert.ok(results.every((r) => r.outcome === 'delivered' && r.statuses.length === 1));
    const got = delivered('busy').map((e) => e.id);
    assert.deepEqual(
      got.slice().sort(),
      batches
        .flat()
        .map((r) => (r as { uuid: string }).uuid)
        .sort(),
    );
    assert.equal((await api('GET', '/api/collectors/busy')).body.volumeLastDay, 600);
  });

  it('counts that cannot be committed: 503 commit_failed with Retry-After, answered only when the commit has failed', async () => {
    const token = await install('uncounted', { source: 'webhook', settings: { idPath: 'uuid' } });
    const store = runtime.store;
    const original = store.commitBatch;
    let release!: () => void;
    const held = new Promise<void>((ok) => {
      release = ok;
    });
    let calls = 0;
    store.commitBatch = async () => {
      calls++;
      await held;
      throw new Error('disk I/O error');
    };
    try {
      let answered = false;
      const reply = fetch(`${base}/ingest/uncounted`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: '{"uuid":"uncounted-1"}\n',
      }).then((r) => {
        answered = true;
        return r;
      });
      const deadline = Date.now() + 10_000;
      while (calls === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(calls, 1, 'delivered, then committed');
      await fetch(`${base}/healthz`); // the server answers other requests meanwhile
      assert.equal(answered, false, 'no answer while its commit runs');
      release();
      const r = await reply;
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '5');
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'commit_failed');
    } finally {
      store.commitBatch = original;
    }
  });

  it('only POST; unknown and pull collectors answer as a wrong token does (401); no cookie or CSRF involved', async () => {
    const token = await install('plain', { source: 'webhook' });
    const get = await push('plain', undefined as unknown as string, bearer(token), 'GET');
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const unknown = await push('nope', '{}', bearer(token));
    const wrong = await push('plain', '{}', bearer(`${token.slice(0, -1)}x`));
    assert.equal(unknown.status, 401);
    assert.equal(unknown.text, wrong.text, 'the same answer: collectors are not listed to anyone');
    const okta = await api('POST', '/api/accounts', {
      name: 'okta-x',
      kind: 'okta',
      fields: { url: 'https://acme.okta.com', token: 'okta-token-123456' },
    });
    assert.equal(okta.status, 201);
    const pull = await api('POST', '/api/collectors', {
      name: 'pull',
      source: 'okta',
      account: 'okta-x',
      destinations: ['file-out'],
      enabled: false,
    });
    assert.equal(pull.status, 201);
    assert.equal(pull.body.ingestToken, undefined);
    const toPull = await push('pull', '{}', bearer(token));
    assert.equal(toPull.status, 401);
    assert.equal(toPull.text, wrong.text);
    assert.equal(
      (await api('POST', '/api/collectors/pull/rotate-ingest-token', {})).status,
      409,
      'pull collectors have no ingest token',
    );
    const cookie = await push('plain', '{"a":1}', { ...bearer(token), cookie: 'tributary_session=forged' });
    assert.equal(cookie.status, 200);
  });

  it('deleting a collector forgets its tokens; the scheduler never ran a push collector', async () => {
    const token = await install('doomed', { source: 'webhook' });
    assert.equal((await push('doomed', '{"a":1}', bearer(token))).status, 200);
    assert.equal((await api('DELETE', '/api/collectors/doomed')).status, 204);
    assert.equal((await push('doomed', '{"a":1}', bearer(token))).status, 401);
    const again = await install('doomed', { source: 'webhook' });
    assert.notEqual(again, token);
    assert.equal((await push('doomed', '{"a":1}', bearer(token))).status, 401, "the old collector's token");
    for (const c of (await api('GET', '/api/collectors')).body)
      if (c.source === 'webhook')
        assert.deepEqual(
          (await api('GET', `/api/collectors/${c.name}/runs`)).body,
          [],
          `${c.name} has no runs`,
        );
  });

  it('no ingest token or HMAC secret in the database, the logs or any response after creation', () => {
    const files = readdirSync(dir)
      .filter((f) => f.startsWith('tributary.db'))
      .map((f) => readFileSync(join(dir, f)).toString('latin1'));
    assert.ok(files.length > 0);
    for (const f of files) assert.ok(!f.includes(HMAC_SECRET), 'HMAC secret in the database');
    for (const f of files) assert.ok(!/trbi_[A-Za-z0-9_-]{43}/.test(f), 'an ingest token in the database');
    assert.ok(!logLines.some((l) => l.includes(HMAC_SECRET) || /trbi_[A-Za-z0-9_-]{43}/.test(l)));
    assert.ok(!responses.some((r) => r.includes(HMAC_SECRET)));
  });
});
