import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { type Envelope, makeEnvelope } from '../../core/envelope.ts';
import { TributaryError } from '../../core/errors.ts';
import { destinationConfigSchema } from '../index.ts';
import { HttpDestination, type HttpDestinationOptions } from './http-destination.ts';

type Seen = { url: string; headers: IncomingMessage['headers']; body: Buffer };
/** What the server received, in order; `reply` answers the n-th request (1-based). */
let seen: Seen[] = [];
let reply: (n: number, res: ServerResponse) => void = (_n, res) => res.end();
let url = '';
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
    reply(seen.length, res);
  });
});
before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  seen = [];
  reply = (_n, res) => res.end();
});

/**
 * A server that takes requests and never answers, counting them; closed by the caller, or when the
 * calling test ends (also when it fails).
 */
async function silentServer(onRequest: (req: IncomingMessage) => void = () => {}): Promise<Server> {
  const s = createServer((req) => onRequest(req));
  s.listen(0, '127.0.0.1');
  after(() => stop(s));
  await once(s, 'listening');
  return s;
}
const portOf = (s: Server) => (s.address() as AddressInfo).port;
const stop = (s: Server) => {
  s.closeAllConnections();
  if (s.listening) s.close();
};

const signal = new AbortController().signal;
const envs = (n: number): Envelope[] =>
  Array.from({ length: n }, (_, i) =>
    makeEnvelope(
      { source: 's', stream: 't', collector: 'c' },
      { i, note: 'ünïcödé' },
      `id${i}`,
      undefined,
      '2026-11-25T10:00:00.000Z',
    ),
  );
const ndjsonOf = (events: Envelope[]) => events.map((e) => `${JSON.stringify(e)}\n`).join('');
const idsOf = (s: Seen) =>
  s.body
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).id);
const dest = (o: Partial<HttpDestinationOptions> = {}) =>
  new HttpDestination('siem', {
    url,
    format: 'ndjson',
    gzip: false,
    headers: {},
    timeout: 5000,
    maxBatchBytes: 1 << 20,
    maxAttempts: 3,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
    ...o,
  });
const isError = (type: string, code: string) => (e: unknown) =>
  e instanceof TributaryError && e.type === type && e.code === code;

describe('http destination', () => {
  it('posts a batch as NDJSON: one envelope per line', async () => {
    const batch = envs(2);
    await dest().send(batch, signal);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].url, '/ingest');
    assert.equal(seen[0].headers['content-type'], 'application/x-ndjson');
    assert.equal(seen[0].headers['content-encoding'], undefined);
    assert.equal(seen[0].body.toString(), ndjsonOf(batch));
  });

  it('posts a batch as one JSON array', async () => {
    const batch = envs(3);
    await dest({ format: 'json' }).send(batch, signal);
    assert.equal(seen[0].headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(seen[0].body.toString()), JSON.parse(JSON.stringify(batch)));
  });

  it('gzips bodies on request, decodable to the same payload', async () => {
    const batch = envs(3);
    await dest({ gzip: true }).send(batch, signal);
    await dest({ gzip: true, format: 'json' }).send(batch, signal);
    for (const s of seen) assert.equal(s.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(seen[0].body).toString(), ndjsonOf(batch));
    assert.deepEqual(JSON.parse(gunzipSync(seen[1].body).toString()), JSON.parse(JSON.stringify(batch)));
  });

  it('sends each auth kind and the extra headers', async () => {
    await dest({ auth: { type: 'bearer', token: 't0k' } }).send(envs(1), signal);
    await dest({ auth: { type: 'basic', username: 'u', password: 'p:w' } }).send(envs(1), signal);
    await dest({
      auth: { type: 'header', name: 'X-Api-Key', value: 'k1' },
      headers: { 'x-extra': 'y', 'content-type': 'application/json' },
    }).send(envs(1), signal);
    assert.equal(seen[0].headers.authorization, 'Bearer t0k');
    assert.equal(seen[1].headers.authorization, `Basic ${Buffer.from('u:p:w').toString('base64')}`);
    assert.equal(seen[2].headers['x-api-key'], 'k1');
    assert.equal(seen[2].headers.authorization, undefined);
    assert.equal(seen[2].headers['x-extra'], 'y');
    assert.equal(seen[2].headers['content-type'], 'application/json', 'content-type may be overridden');
  });

  it('retries a 503 and acknowledges once the endpoint answers 2xx', async () => {
    reply = (n, res) => res.writeHead(n === 1 ? 503 : 202).end();
    await dest().send(envs(2), signal);
    assert.equal(seen.length, 2);
    assert.deepEqual(idsOf(seen[0]), idsOf(seen[1]), 'the same batch again');
  });

  it('retries 408 and 5xx with jittered exponential backoff', async () => {
    reply = (n, res) => res.writeHead(n === 1 ? 408 : n === 2 ? 500 : 200).end();
    const waits: number[] = [];
    await dest({
      maxAttempts: 5,
      backoffBaseMs: 100,
      backoffMaxMs: 150,
      sleep: async (ms) => void waits.push(ms),
    }).send(envs(1), signal);
    assert.equal(seen.length, 3);
    assert.equal(waits.length, 2);
    assert.ok(waits[0] >= 0 && waits[0] <= 100, `first wait ${waits[0]} within [0, base]`);
    assert.ok(waits[1] >= 0 && waits[1] <= 150, `second wait ${waits[1]} within [0, max]`);
  });

  it('honours Retry-After on 429 and 503', { timeout: 20_000 }, async () => {
    // The backoff alone would wait a minute: passing at all means Retry-After: 0 was used.
    reply = (n, res) =>
      n === 1 ? res.writeHead(429, { 'retry-after': '0' }).end() : res.writeHead(200).end();
    await dest({ backoffBaseMs: 60_000, backoffMaxMs: 60_000 }).send(envs(1), signal);
    assert.equal(seen.length, 2);

    seen = [];
    reply = (n, res) => (n < 3 ? res.writeHead(503, { 'retry-after': '1' }).end() : res.writeHead(200).end());
    const waits: number[] = [];
    await dest({ sleep: async (ms) => void waits.push(ms) }).send(envs(1), signal);
    assert.equal(seen.length, 3);
    assert.deepEqual(waits, [1000, 1000]);
  });

  it('gives up at once on a Retry-After too long to wait inside send, passing it on', async () => {
    reply = (_n, res) => res.writeHead(429, { 'retry-after': '3600' }).end();
    await assert.rejects(dest({ maxAttempts: 5 }).send(envs(1), signal), (e: TributaryError) => {
      assert.ok(isError('transient', 'destination_unavailable')(e));
      assert.equal(e.retryAfter, 3600);
      return true;
    });
    assert.equal(seen.length, 1);
  });

  it('out of attempts, passes the last Retry-After on with the error', async () => {
    reply = (_n, res) => res.writeHead(503, { 'retry-after': '2' }).end();
    await assert.rejects(
      dest({ maxAttempts: 2, sleep: async () => {} }).send(envs(1), signal),
      (e: TributaryError) => isError('transient', 'destination_unavailable')(e) && e.retryAfter === 2,
    );
    reply = (_n, res) => res.writeHead(503).end();
    await assert.rejects(
      dest({ maxAttempts: 1 }).send(envs(1), signal),
      (e: TributaryError) => e.retryAfter === undefined,
    );
  });

  it('rejects a 400 at once as a config error with the status', async () => {
    reply = (_n, res) => res.writeHead(400).end('bad event');
    await assert.rejects(dest().send(envs(1), signal), (e: TributaryError) => {
      assert.ok(isError('config', 'destination_rejected')(e));
      assert.equal(e.status, 400);
      assert.match(e.message, /siem/);
      return true;
    });
    assert.equal(seen.length, 1);
  });

  it('refuses a link-local or metadata address like vendor requests do (egress policy)', async () => {
    for (const target of ['https://169.254.169.254/ingest', 'https://[fe80::1]/ingest']) {
      await assert.rejects(dest({ url: target }).send(envs(1), signal), isError('config', 'egress_refused'));
    }
  });

  it('does not follow redirects: a 3xx is a config error and the target is never posted to', async () => {
    reply = (n, res) =>
      n === 1 ? res.writeHead(307, { location: `${url}/elsewhere` }).end() : res.writeHead(200).end();
    await assert.rejects(dest().send(envs(1), signal), isError('config', 'destination_rejected'));
    assert.equal(seen.length, 1);
  });

  it('reports an outage as transient after maxAttempts, naming the destination and no secret', async () => {
    // Refused connections: a port that was just closed.
    const closed = await silentServer();
    const port = portOf(closed);
    stop(closed);
    await once(closed, 'close');
    const refused = dest({
      url: `http://127.0.0.1:${port}/x/qs-secret?token=qs-secret`,
      auth: { type: 'basic', username: 'svc', password: 'very-secret' },
    });
    // Dropped connections, counted: every attempt is made.
    let attempts = 0;
    const dropping = await silentServer((req) => {
      attempts++;
      req.socket.destroy();
    });
    const dropped = dest({
      url: `http://127.0.0.1:${portOf(dropping)}/x`,
      auth: { type: 'bearer', token: 'very-secret' },
      maxAttempts: 4,
    });
    for (const d of [refused, dropped]) {
      await assert.rejects(d.send(envs(1), signal), (e: TributaryError) => {
        assert.ok(isError('transient', 'destination_unavailable')(e));
        assert.match(e.message, /siem/);
        assert.match(e.action, /siem/);
        const shown = JSON.stringify({ ...e.toJSON(), stack: e.stack });
        assert.doesNotMatch(shown, /secret|svc:/);
        return true;
      });
    }
    assert.equal(attempts, 4);
    stop(dropping);
  });

  it('counts a request without an answer within timeout as failed, and retries it', async () => {
    let attempts = 0;
    const s = await silentServer(() => attempts++);
    await assert.rejects(
      dest({ url: `http://127.0.0.1:${portOf(s)}/`, timeout: 50, maxAttempts: 2 }).send(envs(1), signal),
      (e: TributaryError) =>
        isError('transient', 'destination_unavailable')(e) && /no answer within 50 ms/.test(e.message),
    );
    assert.equal(attempts, 2);
    stop(s);
  });

  it("stops at once when the caller's signal aborts", async () => {
    const ac = new AbortController();
    const s = await silentServer(() => ac.abort());
    await assert.rejects(
      dest({ url: `http://127.0.0.1:${portOf(s)}/`, maxAttempts: 5 }).send(envs(1), ac.signal),
      { name: 'AbortError' },
    );
    stop(s);
  });

  it('splits a batch above maxBatchBytes into requests within the limit, in order', async () => {
    const batch = envs(10);
    const lineBytes = Buffer.byteLength(`${JSON.stringify(batch[0])}\n`);
    const maxBatchBytes = lineBytes * 3 + 5; // three lines per request
    await dest({ maxBatchBytes }).send(batch, signal);
    assert.deepEqual(
      seen.map((s) => idsOf(s).length),
      [3, 3, 3, 1],
    );
    for (const s of seen) assert.ok(s.body.length <= maxBatchBytes);
    assert.deepEqual(
      seen.flatMap(idsOf),
      batch.map((e) => e.id),
    );

    seen = [];
    await dest({ maxBatchBytes, format: 'json' }).send(batch, signal);
    for (const s of seen) assert.ok(s.body.length <= maxBatchBytes);
    assert.deepEqual(
      seen.flatMap((s) => JSON.parse(s.body.toString()).map((e: Envelope) => e.id)),
      batch.map((e) => e.id),
    );

    seen = [];
    await dest({ maxBatchBytes: 10 }).send(envs(2), signal); // an event larger than the limit goes alone
    assert.deepEqual(seen.map(idsOf), [['id0'], ['id1']]);
  });

  it('refuses plain http to a non-loopback host, or credentials in the URL, at construction', () => {
    for (const bad of [
      'http://siem.example.com/ingest',
      'http://10.0.0.5/',
      'https://u:p@siem.example.com/',
    ]) {
      assert.throws(
        () => dest({ url: bad }),
        (e: TributaryError) =>
          isError('config', 'destination_url_invalid')(e) && /siem/.test(e.message) && !/u:p/.test(e.message),
      );
      assert.equal(destinationConfigSchema.safeParse({ kind: 'http', url: bad }).success, false);
    }
    assert.throws(() => dest({ url: 'http://siem.example.com/' }), /https:\/\//);
    for (const ok of [
      'https://siem.example.com/ingest',
      'http://localhost:8088/',
      'http://127.0.0.2/',
      'http://[::1]:9000/',
    ]) {
      assert.doesNotThrow(() => dest({ url: ok }));
      assert.ok(destinationConfigSchema.safeParse({ kind: 'http', url: ok }).success, ok);
    }
  });

  it('test() posts an empty batch: 2xx and other 4xx pass, 401 fails as config', async () => {
    await dest().test(signal);
    assert.equal(seen[0].body.length, 0);
    reply = (_n, res) => res.writeHead(400).end('No data');
    await dest().test(signal);
    reply = (_n, res) => res.writeHead(401).end();
    await assert.rejects(dest({ format: 'json' }).test(signal), (e: TributaryError) => {
      assert.ok(isError('config', 'destination_rejected')(e));
      assert.match(e.action, /credentials/);
      return true;
    });
    assert.equal(seen.at(-1)!.body.toString(), '[]');
  });
});
