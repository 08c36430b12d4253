import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createGzip, gzipSync } from 'node:zlib';
import { type ApiServer, startTestApi } from '../support/api-server.ts';
import { tempDirs } from '../support/temp-dirs.ts';

/**
 * The work one pushed request can cost is bounded (docs/sources.md, push sources: limits). Each attack
 * goes through the real ingest endpoint of an API server in this process, so the server's memory and
 * event loop are this process's: RSS is sampled every few milliseconds while the request is in flight,
 * and `/healthz` is asked again and again meanwhile, each answer timed.
 */

const fresh = tempDirs('tributary-webhook-bounds');
let api: ApiServer;
/** The fake SIEM behind the `siem` HTTP destination: answers 503 with `retryAfter` when set. */
const siem: { retryAfter: string | undefined; down: boolean } = { retryAfter: undefined, down: false };
let siemServer: Server;

const MB = 1024 * 1024;

interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

async function push(
  name: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${api.base}/ingest/${name}`, { method: 'POST', headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/**
 * `push` for a large body, written in 256 KB pieces as the socket drains: the test's own client must
 * not block this process's event loop (fetch hands a large buffer to the socket at once), or the
 * /healthz latencies measured meanwhile would be the client's.
 */
function pushInPieces(name: string, body: Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((ok, fail) => {
    const req = request(
      `${api.base}/ingest/${name}`,
      { method: 'POST', headers: { ...headers, 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          ok({ status: res.statusCode ?? 0, body: JSON.parse(text), text, headers: h });
        });
      },
    );
    req.on('error', fail);
    let at = 0;
    const write = () => {
      while (at < body.length) {
        const piece = body.subarray(at, at + 256 * 1024);
        at += piece.length;
        if (!req.write(piece)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function install(name: string, settings: Record<string, unknown> = {}, destinations = ['file-out']) {
  const r = await api.call('POST', '/api/collectors', {
    as: 'editor',
    body: { name, source: 'webhook', destinations, settings },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.ingestToken as string;
}

/** What a collector has delivered and stored: events counted, dead letters. */
async function stored(name: string): Promise<{ events: number; deadLetters: number }> {
  const view = await api.call('GET', `/api/collectors/${name}`, { as: 'viewer' });
  return { events: view.body.volumeLastDay, deadLetters: view.body.deadLetters.length };
}

/** A refusal as the brief wants it: a 4xx, a code, a plain message (no stack, no internals). */
function assertRefusal(a: Answer, status: number, code: string): void {
  assert.equal(a.status, status, a.text.slice(0, 300));
  assert.equal(a.body?.error?.code, code);
  assert.equal(typeof a.body.error.message, 'string');
  assert.doesNotMatch(a.body.error.message, /\n\s+at |Error:|0x1fffffe8|call stack/);
}

/**
 * Runs `request` while sampling this process's RSS every 5 ms and timing `/healthz` requests sent one
 * after another: the growth over the RSS just before, and every latency.
 */
async function whileInFlight<T>(request: () => Promise<T>) {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  let done = false;
  const t0 = performance.now();
  const answer = request().finally(() => {
    done = true;
  });
  const latencies: number[] = [];
  while (!done) {
    const t = performance.now();
    const r = await fetch(`${api.base}/healthz`);
    await r.text();
    assert.equal(r.status, 200);
    latencies.push(performance.now() - t);
  }
  const result = await answer;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { result, growthMB: (peak - before) / MB, latencies, ms: performance.now() - t0 };
}

/**
 * /healthz was answered throughout a request: at least `minAnswers`, nearly all within 200 ms, none ≥ 1 s.
 * Measured, not slept. That the splitter yields when a body is already buffered is body.test.ts's
 * (splitChunks); this is the end-to-end view. A single answer can wait for something other than the
 * request: a garbage collection of this process (the test client, the server and what was just pushed
 * share one heap) or the other test file on the same two cores (once 250 ms in CI, median 0.7 ms).
 */
function assertResponsive(latencies: number[], ms: number, minAnswers: number): void {
  assert.ok(
    latencies.length >= minAnswers,
    `${latencies.length} /healthz answers during ${ms.toFixed(0)} ms`,
  );
  const max = Math.max(...latencies);
  const slow = latencies.filter((l) => l >= 200).length;
  assert.ok(
    slow <= Math.max(2, latencies.length / 50) && max < 1000,
    `/healthz took up to ${max.toFixed(0)} ms, ${slow} of ${latencies.length} answers ≥ 200 ms`,
  );
}

/** `lines` lines made by `line`, gzipped as a stream (the text is never whole in memory). */
async function gzipLines(lines: number, line: (i: number) => string): Promise<Buffer> {
  const gz = createGzip();
  const out: Buffer[] = [];
  gz.on('data', (c) => out.push(c));
  const ended = new Promise((ok) => gz.on('end', ok));
  for (let i = 0; i < lines; ) {
    let block = '';
    for (let k = 0; k < 1000 && i < lines; k++, i++) block += line(i);
    if (!gz.write(block)) await new Promise((ok) => gz.once('drain', ok));
  }
  gz.end();
  await ended;
  return Buffer.concat(out);
}

/** `mb` MB of zero bytes, gzipped as a stream: a gzip bomb (≈1 KB per MB). */
async function zeroBomb(mb: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c) => out.push(c));
  const ended = new Promise((ok) => gz.on('end', ok));
  const zeros = Buffer.alloc(MB);
  for (let i = 0; i < mb; i++) if (!gz.write(zeros)) await new Promise((ok) => gz.once('drain', ok));
  gz.end();
  await ended;
  return Buffer.concat(out);
}

/** A valid JSON record of about 1 KB. */
const kbRecord = (i: number) => `{"n":${i},"pad":"${'x'.repeat(1000 - 20 - String(i).length)}"}\n`;

before(async () => {
  api = await startTestApi(fresh());
  siemServer = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (siem.down)
        res.writeHead(503, siem.retryAfter === undefined ? {} : { 'retry-after': siem.retryAfter }).end();
      else res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((ok) => siemServer.listen(0, '127.0.0.1', ok));
  const port = (siemServer.address() as { port: number }).port;
  for (const d of [
    { name: 'file-out', config: { kind: 'file', path: 'pushed.ndjson' } },
    { name: 'siem', config: { kind: 'http', url: `http://127.0.0.1:${port}/events`, maxAttempts: 1 } },
  ]) {
    const r = await api.call('POST', '/api/destinations', { as: 'editor', body: d });
    assert.equal(r.status, 201, r.text);
  }
});

after(async () => {
  await api.close();
  await new Promise((ok) => siemServer.close(ok));
});

describe('webhook bounds: the work one pushed request can cost', () => {
  // First, in a fresh process: the RSS measured is then this request's, not room left by earlier ones.
  it('RSS stays within 3× a 95 MB body, and /healthz answers within 200 ms, while it and a 30 MB one are parsed and delivered', async (t) => {
    const token = await install('big', { maxBodyMB: 40 });
    const n = 99_999; // just under maxRecords
    const gz = await gzipLines(n, kbRecord); // ≈95 MB of JSON, ≈500 KB gzipped
    const decompressedMB = (n * 1000) / MB;
    const zipped = await whileInFlight(() =>
      push('big', gz, { ...bearer(token), 'content-encoding': 'gzip' }),
    );
    assert.equal(zipped.result.status, 200, zipped.result.text);
    assert.deepEqual(zipped.result.body, { accepted: n, deadLettered: 0 });
    const zmax = Math.max(...zipped.latencies);
    t.diagnostic(
      `95 MB gzipped: ${zipped.ms.toFixed(0)} ms, ${zipped.latencies.length} /healthz, max ${zmax.toFixed(0)} ms, RSS +${zipped.growthMB.toFixed(0)} MB`,
    );
    // The strict 200 ms is asserted on the uncompressed request below (gunzip's own turns would serve
    // /healthz even without the splitter's yields); here, never the whole 2-3 s of the request.
    assert.ok(zmax < 1000, `/healthz took up to ${zmax.toFixed(0)} ms`);
    // 3× the body, plus V8's young generation (3 × 16 MB semi-spaces under node --test's default flags),
    // which the first large request fills. The text alone is 1×; parsed whole (as before), 4× or more.
    assert.ok(
      zipped.growthMB < 3 * decompressedMB + 48,
      `RSS grew ${zipped.growthMB.toFixed(0)} MB for ${decompressedMB.toFixed(0)} MB`,
    );

    // Uncompressed, so that nothing but the splitter's own yields lets other requests in.
    const plain = Buffer.from(Array.from({ length: 30_000 }, (_, i) => kbRecord(i)).join(''));
    const { result, latencies, ms } = await whileInFlight(() => pushInPieces('big', plain, bearer(token)));
    assert.equal(result.status, 200, result.text);
    assert.deepEqual(result.body, { accepted: 30_000, deadLettered: 0 });
    assert.equal((await stored('big')).events, 30_000 + n);
    t.diagnostic(
      `30 MB plain: ${ms.toFixed(0)} ms, ${latencies.length} /healthz, max ${Math.max(...latencies).toFixed(0)} ms`,
    );
    assertResponsive(latencies, ms, 10);
  });

  it('a max-size body of 2-byte lines: 413 with the record cap, nothing delivered, memory and time bounded', async (t) => {
    const token = await install('tiny');
    const body = Buffer.from('1\n'.repeat(5 * MB - 10)); // just under the 10 MB maxBodyMB
    const { result, growthMB, latencies, ms } = await whileInFlight(() =>
      pushInPieces('tiny', body, bearer(token)),
    );
    assertRefusal(result, 413, 'too_many_records');
    assert.match(result.body.error.message, /at most 100000 records \(maxRecords\)/);
    assert.deepEqual(await stored('tiny'), { events: 0, deadLetters: 0 }, 'nothing delivered or stored');
    // Before: 54 s and 4.9 GB. Now the request stops at the 100,001st record.
    t.diagnostic(
      `10 MB: ${ms.toFixed(0)} ms, RSS +${growthMB.toFixed(0)} MB, /healthz ≤ ${Math.max(...latencies).toFixed(0)} ms`,
    );
    assert.ok(ms < 15_000, `answered in ${ms.toFixed(0)} ms`);
    assert.ok(growthMB < 120, `RSS grew ${growthMB.toFixed(0)} MB for a 10 MB body`);
    assertResponsive(latencies, ms, 1);

    // The same lines gzipped (a few KB) are refused the same way, without being inflated whole.
    const gz = gzipSync(body);
    assert.ok(gz.length < 50_000);
    const zipped = await whileInFlight(() =>
      push('tiny', gz, { ...bearer(token), 'content-encoding': 'gzip' }),
    );
    assertRefusal(zipped.result, 413, 'too_many_records');
    t.diagnostic(`gzipped: RSS +${zipped.growthMB.toFixed(0)} MB`);
    assert.ok(zipped.growthMB < 80, `RSS grew ${zipped.growthMB.toFixed(0)} MB`);
    assert.deepEqual(await stored('tiny'), { events: 0, deadLetters: 0 });

    // The cap is the collector's setting, and exactly that many records pass.
    const small = await install('tiny-cap', { maxRecords: 1000 });
    assert.equal((await push('tiny-cap', '1\n'.repeat(1000), bearer(small))).status, 200);
    const over = await push('tiny-cap', '1\n'.repeat(1001), bearer(small));
    assertRefusal(over, 413, 'too_many_records');
    assert.match(over.body.error.message, /at most 1000 records/);
    assert.deepEqual(await stored('tiny-cap'), { events: 1000, deadLetters: 0 });
  });

  it('a gzip bomb is inflated only up to maxDecompressedMB, never whole; one huge line is refused, not held', async (t) => {
    const token = await install('bomb', { maxDecompressedMB: 256 });
    const bomb = await zeroBomb(300); // 300 MB of zeros, ≈300 KB gzipped
    assert.ok(bomb.length < MB);
    const { result, growthMB } = await whileInFlight(() =>
      push('bomb', bomb, { ...bearer(token), 'content-encoding': 'gzip' }),
    );
    assertRefusal(result, 413, 'decompressed_body_too_large');
    assert.match(result.body.error.message, /256 MB once decompressed/);
    // Inflating to the limit before refusing (as gunzip's maxOutputLength did) holds all 256 MB at once.
    // Streamed, what grows is inflated chunks not yet collected as garbage (100-170 MB here, under this
    // process's default V8 flags and a busy machine; under bin/node-flags `tributary serve` grows < 10 MB).
    t.diagnostic(`300 MB bomb, limit 256 MB: RSS +${growthMB.toFixed(0)} MB`);
    assert.ok(growthMB < 256, `RSS grew ${growthMB.toFixed(0)} MB while 256 MB were inflated`);

    // Within the limit: 200 MB of zeros is one "line" of text: over maxRecordKB, refused (413), and only
    // its first 64 KB was ever held (held whole, it is 200 MB of bytes and 200 MB of text, and its JSON
    // envelope would have been 1.2 GB of \u0000 escapes).
    const line = await whileInFlight(async () =>
      push('bomb', await zeroBomb(200), { ...bearer(token), 'content-encoding': 'gzip' }),
    );
    assertRefusal(line.result, 413, 'record_too_large');
    t.diagnostic(`200 MB line: RSS +${line.growthMB.toFixed(0)} MB`);
    assert.ok(line.growthMB < 256, `RSS grew ${line.growthMB.toFixed(0)} MB for a 200 MB line`);
    assert.deepEqual(await stored('bomb'), { events: 0, deadLetters: 0 });

    const bad = await push('bomb', gzipSync('{"a":1}').subarray(0, 12), {
      ...bearer(token),
      'content-encoding': 'gzip',
    });
    assertRefusal(bad, 400, 'invalid_gzip');
  });

  it('JSON nested 100,000 deep: 400 (not a 500); inside a batch, that record goes to the dead letters', async () => {
    const token = await install('deep');
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const whole = await push('deep', deep, bearer(token));
    assertRefusal(whole, 400, 'too_deeply_nested');
    assert.match(whole.body.error.message, /deeper than 64 levels \(maxDepth\)/);
    const obj = await push('deep', `{"a":${'{"a":'.repeat(99_999)}1${'}'.repeat(100_000)}`, bearer(token));
    assertRefusal(obj, 400, 'too_deeply_nested');
    assert.deepEqual(await stored('deep'), { events: 0, deadLetters: 0 });

    const batch = `{"ok":1}\n{"a":${'['.repeat(70)}${']'.repeat(70)}}\n[{"ok":2}, ${deep}]`;
    const mixed = await push('deep', batch, bearer(token));
    assert.equal(mixed.status, 200, mixed.text);
    assert.deepEqual(mixed.body, { accepted: 2, deadLettered: 2 });
    const view = await api.call('GET', '/api/collectors/deep', { as: 'viewer' });
    assert.deepEqual(
      view.body.deadLetters.map((d: { reason: string }) => d.reason),
      ['nested deeper than 64 levels (maxDepth)', 'nested deeper than 64 levels (maxDepth)'],
    );
    assert.equal((await stored('deep')).events, 2);
  });

  it('maxDecompressedMB is capped at 256 with a clear validation error', async () => {
    const r = await api.call('POST', '/api/collectors', {
      as: 'editor',
      body: {
        name: 'huge',
        source: 'webhook',
        destinations: ['file-out'],
        settings: { maxDecompressedMB: 1024 },
      },
    });
    assert.equal(r.status, 400, r.text);
    const issue = r.body.error.issues.find((i: { path: string }) => i.path === 'settings.maxDecompressedMB');
    assert.ok(issue, r.text);
    assert.match(issue.message, /at most 256/);
    for (const [field, value] of [
      ['maxRecords', 2_000_000],
      ['maxDepth', 0],
      ['maxRecordKB', 100_000],
    ] as const) {
      const bad = await api.call('POST', '/api/collectors', {
        as: 'editor',
        body: { name: 'huge', source: 'webhook', destinations: ['file-out'], settings: { [field]: value } },
      });
      assert.equal(bad.status, 400, `${field} ${value}`);
      assert.equal(bad.body.error.issues[0].path, `settings.${field}`);
    }
  });

  it('an unknown name, a pull collector and a wrong token get the same 401', async () => {
    const token = await install('known');
    const wrong = await push('known', '{"a":1}', bearer(`${token.slice(0, -2)}xx`));
    const unknown = await push('no-such-collector', '{"a":1}', bearer(token));
    const missing = await push('no-such-collector', '{"a":1}');
    const missingKnown = await push('known', '{"a":1}');
    const acc = await api.call('POST', '/api/accounts', {
      as: 'editor',
      body: {
        name: 'okta-acc',
        kind: 'okta',
        fields: { url: 'https://acme.okta.com', token: 'okta-token-123456' },
      },
    });
    assert.equal(acc.status, 201, acc.text);
    const pull = await api.call('POST', '/api/collectors', {
      as: 'editor',
      body: {
        name: 'pulled',
        source: 'okta',
        account: 'okta-acc',
        destinations: ['file-out'],
        enabled: false,
      },
    });
    assert.equal(pull.status, 201, pull.text);
    const toPull = await push('pulled', '{"a":1}', bearer(token));
    for (const a of [wrong, unknown, toPull]) {
      assertRefusal(a, 401, 'invalid_token');
      assert.equal(a.text, wrong.text, 'the same body');
      assert.equal(a.headers.get('www-authenticate'), wrong.headers.get('www-authenticate'));
    }
    assert.equal(missing.status, 401);
    assert.equal(missing.text, missingKnown.text);
    assert.equal((await push('known', '{"a":1}', bearer(token))).status, 200);
  });

  it("a 503 passes the destination's own Retry-After on (capped at 300 s), else 10", async () => {
    const token = await install('relay', {}, ['siem']);
    siem.down = true;
    try {
      for (const [given, expected] of [
        ['2', '2'],
        ['0.5', '1'],
        ['100000', '300'],
        [undefined, '10'],
      ] as const) {
        siem.retryAfter = given;
        const r = await push('relay', '{"a":1}', bearer(token));
        assertRefusal(r, 503, 'destination_unavailable');
        assert.equal(r.headers.get('retry-after'), expected, `destination said ${given}`);
      }
      siem.retryAfter = new Date(Date.now() + 30_000).toUTCString();
      const dated = Number((await push('relay', '{"a":1}', bearer(token))).headers.get('retry-after'));
      assert.ok(dated >= 25 && dated <= 31, `an HTTP date 30 s ahead: ${dated}`);
    } finally {
      siem.down = false;
    }
    assert.equal((await push('relay', '{"a":1}', bearer(token))).status, 200);
  });

  it('no hostile body gets a 500: every refusal is a 4xx with a code and a plain message', async () => {
    const token = await install('hostile', { maxRecordKB: 64 });
    const auth = bearer(token);
    const cases: Array<[string, Buffer | string, Record<string, string>, number, string]> = [
      [
        'truncated gzip',
        gzipSync(kbRecord(1).repeat(100)).subarray(0, 200),
        { 'content-encoding': 'gzip' },
        400,
        'invalid_gzip',
      ],
      ['not gzip', 'plain text', { 'content-encoding': 'gzip' }, 400, 'invalid_gzip'],
      ['brotli', 'x', { 'content-encoding': 'br' }, 415, 'unsupported_encoding'],
      ['one huge object', `{"a":"${'x'.repeat(200_000)}"}`, {}, 413, 'record_too_large'],
      ['one huge line', 'y'.repeat(200_000), {}, 413, 'record_too_large'],
      [
        'deep object in an array',
        `[${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}]`,
        {},
        400,
        'too_deeply_nested',
      ],
      ['deep and truncated', '['.repeat(100_000), {}, 400, 'too_deeply_nested'],
    ];
    for (const [what, body, headers, status, code] of cases) {
      const r = await push('hostile', body, { ...auth, ...headers });
      assert.equal(r.status, status, `${what}: ${r.text.slice(0, 200)}`);
      assertRefusal(r, status, code);
    }
    // Chunked (no Content-Length): refused once more than maxBodyMB arrived, and answered.
    const mb = Buffer.alloc(MB, 0x20);
    const chunked = await fetch(`${api.base}/ingest/hostile`, {
      method: 'POST',
      headers: auth,
      body: new ReadableStream({
        pull(c) {
          c.enqueue(mb);
        },
      }),
      duplex: 'half',
    } as RequestInit);
    const text = await chunked.text();
    assert.equal(chunked.status, 413, text);
    assert.equal(JSON.parse(text).error.code, 'body_too_large');
    // Within a batch, the huge record is a dead letter keeping its start; the rest is accepted.
    const r = await push('hostile', `{"ok":1}\n{"a":"${'x'.repeat(200_000)}"}\n{"ok":2}`, auth);
    assert.deepEqual(r.body, { accepted: 2, deadLettered: 1 });
    const view = await api.call('GET', '/api/collectors/hostile', { as: 'viewer' });
    assert.match(
      view.body.deadLetters[0].reason,
      /record too large: 200008 characters, over the limit of 65536/,
    );
    assert.equal(view.body.deadLetters[0].raw.length, 64 * 1024);
  });
});
