import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { MemoryDestination } from '../../test/support/memory-destination.ts';
import { duoLogRateLimit } from '../accounts/cisco-duo.ts';
import { defineAccountKind, defineSource } from '../core/source.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { Http } from './http.ts';
import { silentLogger } from './log.ts';
import { RateLimits, TokenBucket } from './rate-limit.ts';
import { runCollector } from './runner.ts';

/** A bucket that records what the client asked of it instead of waiting. */
class RecordingBucket extends TokenBucket {
  readonly takes: number[] = [];
  readonly pauses: number[] = [];
  override async take(): Promise<number> {
    this.takes.push(Date.now());
    return 0;
  }
  override pauseUntil(epochMs: number): void {
    this.pauses.push(epochMs);
  }
}

let answers: Array<{ status: number; headers?: Record<string, string> }> = [];
const paths: string[] = [];
const server = createServer((req, res) => {
  paths.push(new URL(req.url ?? '/', 'http://x').pathname);
  const a = answers.shift() ?? { status: 200 };
  res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end('{"items":[]}');
});
let base = '';
const dirs: string[] = [];
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('per-endpoint rate limits', () => {
  it('RateLimits keeps one bucket per account and endpoint; none without a limit or with limits off', () => {
    const limits = new RateLimits();
    const a = limits.forEndpoint('acc', { key: '/logs/a', perSecond: 1 / 60, burst: 1 });
    assert.ok(a);
    assert.equal(limits.forEndpoint('acc', { key: '/logs/a', perSecond: 1 / 60, burst: 1 }), a);
    assert.notEqual(limits.forEndpoint('acc', { key: '/logs/b', perSecond: 1 / 60, burst: 1 }), a);
    assert.notEqual(limits.forEndpoint('other', { key: '/logs/a', perSecond: 1 / 60, burst: 1 }), a);
    assert.notEqual(limits.for('acc', { perSecond: 1, burst: 1 }), a, 'the account bucket is apart');
    assert.equal(limits.forEndpoint('acc', undefined), undefined);
    assert.equal(new RateLimits(null).forEndpoint('acc', { key: '/x', perSecond: 1, burst: 1 }), undefined);
  });

  it("Duo's log endpoints get a bucket of one request a minute each; other endpoints none", () => {
    const u = (p: string) => new URL(`https://api-1a2b3c4d.duosecurity.com${p}?mintime=1`);
    assert.deepEqual(duoLogRateLimit(u('/admin/v2/logs/authentication')), {
      key: '/admin/v2/logs/authentication',
      perSecond: 1 / 60,
      burst: 1,
    });
    assert.equal(duoLogRateLimit(u('/admin/v1/logs/administrator'))?.key, '/admin/v1/logs/administrator');
    assert.equal(duoLogRateLimit(u('/admin/v2/logs/telephony'))?.key, '/admin/v2/logs/telephony');
    assert.equal(duoLogRateLimit(u('/admin/v1/users')), undefined);
  });

  it('the client takes from the endpoint bucket before each attempt; a 429 without a wait pauses it one refill', async () => {
    const bucket = new RecordingBucket(1 / 60, 1);
    const seen: string[] = [];
    const http = new Http({
      vendor: 'V',
      backoffBaseMs: 1,
      endpointLimiter: (url) => {
        seen.push(url.pathname);
        return url.pathname === '/logs/a' ? bucket : undefined;
      },
    });
    answers = [{ status: 429 }, { status: 200 }];
    const before = Date.now();
    await http.getJson(`${base}/logs/a`, { mintime: 1 });
    assert.deepEqual(seen, ['/logs/a', '/logs/a']);
    assert.equal(bucket.takes.length, 2, 'the request and its retry');
    assert.equal(bucket.pauses.length, 1);
    assert.ok(bucket.pauses[0] >= before + 59_000, 'paused for a minute (1 / perSecond)');
    answers = [{ status: 429, headers: { 'retry-after': '1' } }, { status: 200 }];
    const b2 = Date.now();
    await http.getJson(`${base}/logs/a`);
    assert.ok(bucket.pauses[1] < b2 + 5_000, 'a Retry-After is believed instead');
    await http.getJson(`${base}/other`);
    assert.equal(bucket.takes.length, 4, 'another endpoint does not draw from it');
  });

  it("the runner gives every request its account kind's endpoint bucket", async () => {
    const kind = defineAccountKind<Record<string, never>>({
      id: 'limited',
      title: 'Limited',
      fields: z.object({}) as never,
      async authorize() {},
      endpointRateLimit: (url) =>
        url.pathname.startsWith('/logs/') ? { key: url.pathname, perSecond: 2, burst: 3 } : undefined,
    });
    const source = defineSource({
      id: 'limited-source',
      title: 'Limited source',
      account: 'limited',
      stability: 'ga',
      family: 'rest-cursor',
      description: 'test',
      setupGuide: '',
      settings: { safeParse: (v: unknown) => ({ success: true, data: v }) } as never,
      async test() {},
      streams: {
        main: {
          title: 'main',
          async *read(ctx) {
            await ctx.http.getJson(`${base}/logs/a`);
            await ctx.http.getJson(`${base}/plain`);
            yield { events: [{ raw: { n: 1 }, id: 'x' }], checkpoint: 1, pages: 1 };
          },
        },
      },
    });
    const asked: Array<[string, string | undefined]> = [];
    const bucket = new RecordingBucket(2, 3);
    class Recording extends RateLimits {
      override forEndpoint(
        key: string,
        limit: { key: string; perSecond: number; burst: number } | undefined,
      ) {
        asked.push([key, limit?.key]);
        return limit ? bucket : undefined;
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'tributary-endpoint-'));
    dirs.push(dir);
    const store = await SqliteStore.open(dir);
    await store.migrate();
    const now = new Date().toISOString();
    await store.putCollector({
      id: 'c',
      name: 'c',
      source: source.id,
      config: {},
      enabled: true,
      secrets: {},
      createdAt: now,
      updatedAt: now,
    });
    const res = await runCollector(
      {
        id: 'c',
        name: 'c',
        source,
        accountKind: kind,
        account: {},
        accountKey: 'acc-1',
        settings: {},
        streams: ['main'],
        destinations: [new MemoryDestination()],
        window: { lookbackMs: 0 },
      },
      { store, log: silentLogger, rateLimits: new Recording() },
    );
    await store.close();
    assert.equal(res.status, 'succeeded', JSON.stringify(res.error));
    assert.deepEqual(asked, [
      ['acc-1', '/logs/a'],
      ['acc-1', undefined],
    ]);
    assert.equal(bucket.takes.length, 1);
  });
});
