import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { OriginSet } from './credential-origins.ts';
import { Http, retryAfterMs as parseRetryAfterForTest, rateResetAt, vendorMessage } from './http.ts';
import { TokenBucket } from './rate-limit.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end('{}');
let base = '';
let other = '';
const server = createServer((req, res) => handler(req, res));
const otherSeen: Array<string | undefined> = [];
const otherServer = createServer((req, res) => {
  otherSeen.push(req.headers.authorization);
  res.end('{"signed":true}');
});

before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  await new Promise<void>((ok) => otherServer.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  other = `http://127.0.0.1:${(otherServer.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
  otherServer.close();
});

const client = (extra: Partial<ConstructorParameters<typeof Http>[0]> = {}) =>
  new Http({ vendor: 'Acme', backoffBaseMs: 1, backoffMaxMs: 2, maxAttempts: 4, ...extra });

describe('Http', () => {
  it('retries 5xx with backoff, then succeeds', async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      if (n < 3) res.writeHead(503).end('busy');
      else res.end('{"ok":1}');
    };
    const { body } = await client().getJson(`${base}/x`);
    assert.deepEqual(body, { ok: 1 });
    assert.equal(n, 3);
  });

  it('gives up after maxAttempts with a transient error naming the vendor, not the query', async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      res.writeHead(502).end('{"message":"bad gateway"}');
    };
    const err = await client()
      .getJson(`${base}/x`, { token: 'sekrit' })
      .catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.type, 'transient');
    assert.equal(err.code, 'vendor_unavailable');
    assert.match(err.message, /Acme answered 502: bad gateway/);
    assert.doesNotMatch(err.message, /sekrit/);
    assert.equal(n, 4);
  });

  it('honours Retry-After on 429 and pauses the shared bucket', async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      if (n === 1) res.writeHead(429, { 'retry-after': '0' }).end('{"errorSummary":"slow down"}');
      else res.end('[]');
    };
    const bucket = new TokenBucket(1000, 10);
    const { body } = await client({ limiter: bucket }).getJson(`${base}/x`);
    assert.deepEqual(body, []);
    assert.equal(n, 2);
  });

  it('fails fast when Retry-After is longer than the longest wait allowed', async () => {
    handler = (_req, res) => res.writeHead(429, { 'retry-after': '3600' }).end('{}');
    const err = await client({ maxRetryAfterMs: 1000 })
      .getJson(`${base}/x`)
      .catch((e) => e);
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.retryAfter, 3600);
  });

  it("marks a wait it will not sleep through with the vendor's time, at most a day away", async () => {
    const now = Date.parse('2026-11-25T12:00:00.000Z');
    const waitFor = async (retryAfter: string) => {
      handler = (_req, res) => res.writeHead(503, { 'retry-after': retryAfter }).end('{}');
      return (await client({ now: () => now })
        .getJson(`${base}/x`)
        .catch((e) => e)) as TributaryError;
    };
    assert.equal((await waitFor('3600')).waitUntil, '2026-11-25T13:00:00.000Z');
    assert.equal((await waitFor('Wed, 25 Nov 2026 14:30:00 GMT')).waitUntil, '2026-11-25T14:30:00.000Z');
    assert.equal((await waitFor('9999999')).waitUntil, '2026-11-26T12:00:00.000Z', 'capped at 24 hours');
    assert.equal((await waitFor('0')).waitUntil, undefined, 'a short wait is slept through');
  });

  it('refreshes credentials once on 401, then treats 401 as a config error', async () => {
    const refreshes: boolean[] = [];
    let n = 0;
    handler = (req, res) => {
      n++;
      if (req.headers.authorization === 'Bearer fresh') res.end('{"ok":true}');
      else res.writeHead(401).end('{"error":{"message":"expired"}}');
    };
    const authorize = async (h: Headers, refresh: boolean) => {
      refreshes.push(refresh);
      h.set('authorization', refresh ? 'Bearer fresh' : 'Bearer stale');
    };
    const { body } = await client({ authorize }).getJson(`${base}/x`);
    assert.deepEqual(body, { ok: true });
    assert.deepEqual(refreshes, [false, true]);

    const err = await client({ authorize: async (h) => h.set('authorization', 'Bearer bad') })
      .getJson(`${base}/x`)
      .catch((e) => e);
    assert.equal(err.type, 'config');
    assert.equal(err.code, 'unauthorized');
    assert.match(err.action, /credentials/);
    assert.ok(n >= 3);
  });

  it('maps 403 and 404 to config errors and lets the source explain them', async () => {
    handler = (_req, res) => res.writeHead(403).end('{"error":{"message":"no scope"}}');
    const err = await client({
      explain: ({ status }) => (status === 403 ? { code: 'no_scope', action: 'Ask support.' } : undefined),
    })
      .getJson(`${base}/x`)
      .catch((e) => e);
    assert.equal(err.type, 'config');
    assert.equal(err.code, 'no_scope');
    assert.equal(err.action, 'Ask support.');
    assert.equal(err.status, 403);
    handler = (_req, res) => res.writeHead(404).end('nope');
    const e404 = await client()
      .getJson(`${base}/missing?sig=secret`)
      .catch((e) => e);
    assert.equal(e404.code, 'not_found');
    assert.doesNotMatch(e404.message, /secret/);
  });

  it('retries a body cut off mid-stream', async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      if (n === 1) {
        res.writeHead(200, { 'content-length': '100' });
        res.write('{"items":[1,2');
        res.destroy();
      } else res.end('{"items":[1,2,3]}');
    };
    const { body } = await client().getJson(`${base}/x`);
    assert.deepEqual(body, { items: [1, 2, 3] });
    assert.equal(n, 2);
  });

  it('retries a JSON body that arrives whole at the HTTP level but cut short, then reports it as truncated', async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(n === 1 ? '{"items":[1,2' : '{"items":[1,2,3]}');
    };
    assert.deepEqual((await client().getJson(`${base}/x`)).body, { items: [1, 2, 3] });
    assert.equal(n, 2, 'asked again');
    n = 0;
    handler = (_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('[{"id":1},{"id"');
    };
    const err = await client()
      .getJson(`${base}/x`)
      .catch((e) => e);
    assert.equal(n, 4, 'every attempt used');
    assert.ok(err instanceof TributaryError);
    assert.equal(err.type, 'transient');
    assert.equal(err.code, 'truncated_response');
    assert.doesNotMatch(err.action, /DNS/);
  });

  it('an HTML page answered with 200 where JSON was expected is a vendor response error, not a network one', async () => {
    let n = 0;
    const page = `<!DOCTYPE html>\n<html>\n  <head><title>Sign in \u2013 Corporate Proxy</title></head>\n  <body>\u001b[31m\u202e${'x'.repeat(1000)}</body></html>`;
    handler = (_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    };
    const err = await client()
      .getJson(`${base}/api/v1/logs`, { token: 'sekrit' })
      .catch((e) => e);
    assert.equal(n, 1, 'not retried: asking again brings the same page');
    assert.ok(err instanceof TributaryError, String(err));
    assert.equal(err.type, 'config');
    assert.equal(err.code, 'unexpected_response');
    assert.equal(err.status, 200);
    assert.match(
      err.message,
      /^Acme answered 200 with text\/html; charset=utf-8 where JSON was expected at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/logs; the body starts: "<!DOCTYPE html> <html> <head><title>Sign in – Corporate Proxy<\/title>/,
    );
    const head = /the body starts: "(.*)"\.$/.exec(err.message)![1]!;
    assert.equal(head.length, 200, 'at most 200 characters of the body');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
    assert.doesNotMatch(err.message, /[\u0000-\u001f\u007f\u202e]/u, 'no control or bidi characters');
    assert.doesNotMatch(err.message, /sekrit/, 'no query string');
    assert.doesNotMatch(err.action, /DNS/);
    assert.match(err.action, /base URL/);
    // Plain text, or a body without a content type, is no JSON either.
    handler = (_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('Service temporarily moved');
    const text = await client()
      .getJson(`${base}/x`)
      .catch((e) => e);
    assert.equal(text.code, 'unexpected_response');
    assert.match(text.message, /with text\/plain where JSON was expected .*: "Service temporarily moved"\./);
  });

  it('times out and retries a hung request', async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      if (n === 1) return; // never answers
      res.end('{"ok":1}');
    };
    const { body } = await client({ timeoutMs: 200 }).getJson(`${base}/x`);
    assert.deepEqual(body, { ok: 1 });
  });

  it('a streamed body that keeps arriving is read whole, however long it takes in total', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let k = 0;
      const t = setInterval(() => {
        res.write(`chunk-${k}\n`);
        if (++k === 6) {
          clearInterval(t);
          res.end();
        }
      }, 80);
    };
    // 6 chunks 80 ms apart: ≈480 ms in all, never 200 ms without data.
    const text = await client({ timeoutMs: 200, maxAttempts: 1 }).send({ url: `${base}/big` }, async (r) => {
      let all = '';
      for await (const chunk of r.body!) all += Buffer.from(chunk).toString();
      return all;
    });
    assert.equal(text.split('\n').filter(Boolean).length, 6);
  });

  it('a streamed body that stalls for longer than the timeout is cut off and retried', async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      if (n === 1)
        res.write('partial\n'); // then nothing more
      else res.end('whole\n');
    };
    const text = await client({ timeoutMs: 200 }).send({ url: `${base}/stall` }, async (r) => {
      let all = '';
      for await (const chunk of r.body!) all += Buffer.from(chunk).toString();
      return all;
    });
    assert.equal(text, 'whole\n');
    assert.equal(n, 2);
  });

  it('sends the body authorize returns (credentials in the body), recomputed from the request on every attempt', async () => {
    const received: string[] = [];
    let n = 0;
    handler = (req, res) => {
      let data = '';
      req.on('data', (c) => {
        data += c;
      });
      req.on('end', () => {
        received.push(data);
        if (++n === 1) res.writeHead(503).end('{"error":"busy"}');
        else res.end('{"status":"OK"}');
      });
    };
    const seen: Array<string | undefined> = [];
    const authorize = async (_h: Headers, _refresh: boolean, _url: URL, req: { body?: string }) => {
      seen.push(req.body);
      return { body: JSON.stringify({ provhash: 'body-SECRET-1', ...JSON.parse(req.body ?? '{}') }) };
    };
    const request = {
      method: 'POST' as const,
      readOnly: true,
      url: `${base}/api`,
      body: '{"cmd":"reporting"}',
    };
    const { body } = await client({ authorize }).requestJson(request);
    assert.deepEqual(body, { status: 'OK' });
    assert.deepEqual(
      seen,
      ['{"cmd":"reporting"}', '{"cmd":"reporting"}'],
      'the request body, not the one sent',
    );
    assert.deepEqual(
      received.map((b) => JSON.parse(b)),
      [
        { provhash: 'body-SECRET-1', cmd: 'reporting' },
        { provhash: 'body-SECRET-1', cmd: 'reporting' },
      ],
    );
    assert.equal(request.body, '{"cmd":"reporting"}', 'the caller’s request is left without the credentials');

    // Outside the account's origins, authorize is not even asked: nothing is sent, the error has no secret.
    received.length = 0;
    const err = await client({ authorize, credentialOrigins: { set: new OriginSet([other]), account: 'lp' } })
      .requestJson({ ...request })
      .catch((e) => e);
    assert.equal(err.code, 'credential_origin_refused');
    assert.deepEqual(received, []);
    assert.doesNotMatch(`${err.message} ${err.action}`, /body-SECRET/);
  });

  it('follows redirects without sending credentials to another origin', async () => {
    handler = (_req, res) => res.writeHead(307, { location: `${other}/signed?sig=abc` }).end();
    otherSeen.length = 0;
    const { body } = await client({ authorize: async (h) => h.set('authorization', 'Bearer k') }).getJson(
      `${base}/file`,
    );
    assert.deepEqual(body, { signed: true });
    assert.deepEqual(otherSeen, [undefined]);
  });

  it('refuses write methods and undeclared POSTs', async () => {
    await assert.rejects(client().request({ url: `${base}/x`, method: 'POST' }), /read-only/);
    await assert.rejects(client().request({ url: `${base}/x`, method: 'DELETE' as 'GET' }), /only read/);
  });

  it('sends repeated query values and skips undefined ones', async () => {
    let seen = '';
    handler = (req, res) => {
      seen = req.url ?? '';
      res.end('{}');
    };
    await client().getJson(`${base}/logs`, { event_type: ['A', 'B'], after: 'x', none: undefined });
    assert.equal(seen, '/logs?event_type=A&event_type=B&after=x');
  });
});

describe('Http.requestBytes', () => {
  it('reads a whole body, retrying one cut off mid-stream, and refuses one over the limit', async () => {
    const payload = Buffer.alloc(200_000, 7);
    let n = 0;
    handler = (_req, res) => {
      n++;
      res.writeHead(200, { 'content-length': String(payload.byteLength) });
      if (n === 1) res.write(payload.subarray(0, 1000), () => res.socket?.destroy());
      else res.end(payload);
    };
    const { bytes } = await client().requestBytes({ url: `${base}/file`, noAuth: true }, 1_000_000);
    assert.equal(n, 2);
    assert.ok(bytes.equals(payload));
    await assert.rejects(client().requestBytes({ url: `${base}/file` }, 1000), {
      code: 'response_too_large',
    });
  });
});

describe('http helpers', () => {
  it('extracts vendor messages from common error bodies', () => {
    assert.equal(vendorMessage('{"errorSummary":"Invalid token provided"}'), 'Invalid token provided');
    assert.equal(vendorMessage('{"error":{"message":"Incorrect API key"}}'), 'Incorrect API key');
    assert.equal(vendorMessage('<html> oops </html>'), '<html> oops </html>');
    assert.equal(
      vendorMessage('[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]'),
      'Session expired or invalid',
    );
    assert.equal(
      vendorMessage('{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}'),
      'call not properly authenticated',
    );
  });
  it('keeps vendor text short, on one line, and without user info in URLs', () => {
    const long = vendorMessage(`{"message":"${'x'.repeat(5000)}"}`);
    assert.equal(long.length, 200);
    assert.ok(long.endsWith('…'));
    assert.equal(
      vendorMessage('{"message":"see https://admin:hunter2@proxy.example/x\\nand retry"}'),
      'see https://proxy.example/x and retry',
    );
    assert.equal(vendorMessage(`<html>${' a\n'.repeat(300)}</html>`).length, 200);
  });
  it('reads exhausted rate headers as a reset time', () => {
    const h = new Headers({ 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': '2000000000' });
    assert.equal(rateResetAt(h, 0), 2_000_000_000_000);
    assert.equal(
      rateResetAt(new Headers({ 'x-rate-limit-remaining': '5', 'x-rate-limit-reset': '1' }), 0),
      undefined,
    );
    assert.equal(parseRetryAfterForTest('2', 0), 2000);
  });
});
