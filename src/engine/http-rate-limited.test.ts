import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { Http } from './http.ts';
import { TokenBucket } from './rate-limit.ts';

/** The `rateLimited` hook: a vendor's 403 (GitHub) that means "slow down" is retried like a 429. */

let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('{}');
const server = createServer((req, res) => handler(req, res));
let base = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const secondary = (ctx: { status: number; message: string }) =>
  ctx.status === 403 && /secondary rate limit/.test(ctx.message) ? { defaultWaitMs: 60_000 } : undefined;

describe('Http rateLimited hook', () => {
  it('retries a recognised 403 after its Retry-After, without a credential refresh', async () => {
    const seen: number[] = [];
    let n = 0;
    handler = (_req, res) => {
      seen.push(Date.now());
      if (++n === 1) {
        res.writeHead(403, { 'retry-after': '1', 'content-type': 'application/json' });
        res.end('{"message":"You have exceeded a secondary rate limit."}');
      } else res.end('{"ok":true}');
    };
    let refreshes = 0;
    const http = new Http({
      vendor: 'GitHub',
      backoffBaseMs: 1,
      rateLimited: secondary,
      authorize: async (_h, refresh) => {
        if (refresh) refreshes++;
      },
    });
    const { body } = await http.getJson(`${base}/x`);
    assert.deepEqual(body, { ok: true });
    assert.equal(n, 2);
    assert.ok(seen[1] - seen[0] >= 950, `waited ${seen[1] - seen[0]} ms for Retry-After: 1`);
    assert.equal(refreshes, 0);
  });

  it('waits for the reset of an exhausted budget and pauses the account bucket', async () => {
    let clock = 1_000_000_000_000;
    let n = 0;
    handler = (_req, res) => {
      if (++n === 1) {
        res.writeHead(403, {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.floor(clock / 1000) + 3600),
        });
        res.end('{"message":"API rate limit exceeded for user ID 1."}');
      } else res.end('{}');
    };
    const limiter = new TokenBucket(100, 100, () => clock);
    const http = new Http({
      vendor: 'GitHub',
      now: () => clock,
      limiter,
      maxRetryAfterMs: 60_000,
      rateLimited: (ctx, h) =>
        ctx.status === 403 && h.get('x-ratelimit-remaining') === '0' ? { defaultWaitMs: 60_000 } : undefined,
    });
    // An hour away is beyond maxRetryAfterMs: the run stops with a transient rate_limited error (not "forbidden").
    const err = await http.getJson(`${base}/x`).catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.type, 'transient');
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.status, 403);
    assert.ok(Math.abs((err.retryAfter ?? 0) - 3600) < 2, `retryAfter ${err.retryAfter}`);
    clock += 1;
    await assert.rejects(
      limiter.take(AbortSignal.timeout(50)),
      /abort|timeout/i,
      'the whole account waits for the reset',
    );
  });

  it('uses the hook default when the answer names no wait; other 403s stay config errors', async () => {
    handler = (req, res) => {
      res.writeHead(403);
      res.end(
        req.url === '/limited' ? '{"message":"secondary rate limit"}' : '{"message":"Must be an owner"}',
      );
    };
    const http = new Http({
      vendor: 'GitHub',
      maxRetryAfterMs: 1000,
      rateLimited: (ctx) => (/rate limit/.test(ctx.message) ? { defaultWaitMs: 60_000 } : undefined),
    });
    const limited = await http.getJson(`${base}/limited`).catch((e) => e);
    assert.equal(limited.code, 'rate_limited');
    assert.equal(limited.retryAfter, 60);
    const denied = await http.getJson(`${base}/denied`).catch((e) => e);
    assert.equal(denied.type, 'config');
    assert.equal(denied.code, 'forbidden');
  });
});

describe('Http 429 without Retry-After', () => {
  it('waits for the reset the rate headers give when the budget is spent (ends the run past the longest wait)', async () => {
    handler = (_req, res) => {
      res.writeHead(429, {
        'x-ratelimit-limit': '3000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '1800',
      });
      res.end('{"errors":[{"error_code":429}]}');
    };
    const http = new Http({ vendor: 'Cisco', backoffBaseMs: 1, maxRetryAfterMs: 2000, now: () => 1_000_000 });
    const err = await http.getJson(`${base}/v1/events`).catch((e) => e);
    assert.ok(err instanceof TributaryError);
    assert.equal(err.retryAfter, 1800);
    assert.equal(err.waitUntil, new Date(1_000_000 + 1_800_000).toISOString());
  });
});

describe('Http rateLimitedBody hook', () => {
  const graphqlLimit = (body: unknown) => {
    const m = (body as { errors?: Array<{ message?: string }> })?.errors?.[0]?.message;
    return m?.startsWith('rate limit for operation') ? { waitMs: 300, message: m } : undefined;
  };

  it('retries a 200 whose body says it was rate limited, pausing the account, then returns the answer', async () => {
    let n = 0;
    const seen: number[] = [];
    handler = (_req, res) => {
      seen.push(Date.now());
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        ++n === 1
          ? '{"errors":[{"message":"rate limit for operation: eventsFeed"}]}'
          : '{"data":{"ok":true}}',
      );
    };
    const limiter = new TokenBucket(1000, 1000);
    const http = new Http({ vendor: 'Cato', backoffBaseMs: 1, rateLimitedBody: graphqlLimit, limiter });
    const { body } = await http.requestJson({
      method: 'POST',
      readOnly: true,
      url: `${base}/graphql`,
      body: '{}',
    });
    assert.deepEqual(body, { data: { ok: true } });
    assert.equal(n, 2);
    assert.ok(seen[1] - seen[0] >= 280, `waited ${seen[1] - seen[0]} ms`);
  });

  it('gives up after its attempts with a transient rate_limited error naming the vendor message', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"errors":[{"message":"rate limit for operation: auditFeed"}]}');
    };
    const http = new Http({
      vendor: 'Cato',
      backoffBaseMs: 1,
      maxAttempts: 2,
      rateLimitedBody: (b) => {
        const r = graphqlLimit(b);
        return r && { ...r, waitMs: 1 };
      },
    });
    await assert.rejects(http.getJson(`${base}/graphql`), (err: unknown) => {
      assert.ok(err instanceof TributaryError);
      assert.equal(err.type, 'transient');
      assert.equal(err.code, 'rate_limited');
      assert.match(err.message, /auditFeed/);
      return true;
    });
  });
});
