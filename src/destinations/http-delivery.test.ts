import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TributaryError } from '../core/errors.ts';
import { chunk, HttpDelivery } from './http-delivery.ts';

let inFlight = 0;
let most = 0;
const held: ServerResponse[] = [];
let hold = false;
let statuses: number[] = [];
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    inFlight++;
    most = Math.max(most, inFlight);
    const answer = () => {
      inFlight--;
      res.writeHead(statuses.shift() ?? 200).end();
    };
    if (hold) held.push(Object.assign(res, { answer }));
    else answer();
  });
});
let url = '';
before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const signal = new AbortController().signal;
const delivery = (o: Partial<ConstructorParameters<typeof HttpDelivery>[2]> = {}) =>
  new HttpDelivery('d', url, { timeout: 5000, maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 2, ...o });
const post = (d: HttpDelivery) =>
  d.exchange(
    () => ({ url, headers: new Headers() }),
    (a) => d.statusVerdict(a),
    signal,
  );

describe('shared HTTP delivery', () => {
  it('keeps at most `concurrency` requests of a destination in flight', async () => {
    const d = delivery({ concurrency: 2 });
    hold = true;
    most = 0;
    const all = Promise.all(Array.from({ length: 6 }, () => post(d)));
    for (let answered = 0; answered < 6; ) {
      await new Promise((r) => setTimeout(r, 5));
      const now = held.splice(0);
      for (const r of now) (r as unknown as { answer(): void }).answer();
      answered += now.length;
    }
    hold = false;
    await all;
    assert.equal(most, 2);
  });

  it('refuses link-local and metadata addresses before sending, without retrying', async () => {
    const d = new HttpDelivery('d', 'http://127.0.0.1/', {
      timeout: 500,
      maxAttempts: 5,
      backoffBaseMs: 1,
      backoffMaxMs: 1,
    });
    let built = 0;
    await assert.rejects(
      d.exchange(
        () => {
          built++;
          return { url: 'https://169.254.169.254/latest', headers: new Headers() };
        },
        (a) => d.statusVerdict(a),
        signal,
      ),
      (e: TributaryError) => e.code === 'egress_refused' && e.type === 'config',
    );
    assert.equal(built, 1);
  });

  it('a 401 the kind calls a stale token gets one fresh token, then the kind rejects', async () => {
    const d = delivery();
    const refresh: boolean[] = [];
    statuses = [401, 200];
    await d.exchange(
      (o) => {
        refresh.push(o.refresh);
        return { url, headers: new Headers() };
      },
      (a, o) => (a.status === 401 && !o.refreshed ? { retry: '401', reauthorize: true } : d.statusVerdict(a)),
      signal,
    );
    assert.deepEqual(refresh, [false, true]);
    statuses = [401, 401];
    await assert.rejects(
      d.exchange(
        () => ({ url, headers: new Headers() }),
        (a, o) =>
          a.status === 401 && !o.refreshed ? { retry: '401', reauthorize: true } : d.statusVerdict(a),
        signal,
      ),
      (e: TributaryError) => e.type === 'config' && e.status === 401,
    );
  });

  it('partial: retryable rounds are attempts with backoff, rounds that only set items aside are not', async () => {
    const waits: number[] = [];
    const d = delivery({ maxAttempts: 2, sleep: async (ms) => void waits.push(ms) });
    let rounds = 0;
    await d.partial(
      [1, 2, 3, 4],
      async (left) => {
        rounds++;
        return { again: left.slice(1), retryable: false }; // one set aside per round
      },
      signal,
    );
    assert.equal(rounds, 4);
    assert.deepEqual(waits, []);
    await assert.rejects(
      d.partial([1, 2], async (left) => ({ again: left, retryable: true, detail: 'both 429' }), signal),
      (e: TributaryError) => e.code === 'destination_unavailable' && /both 429/.test(e.message),
    );
    assert.equal(waits.length, 1, 'two attempts, one wait between them');
  });

  it('chunks by bytes and count, and hands back what no request may carry', () => {
    const sizes = [10, 10, 10, 50, 10, 200];
    const { chunks, oversize } = chunk(sizes, (n) => n, {
      maxBytes: 100,
      maxItems: 3,
      framing: 2,
      separator: 1,
      oversize: true,
    });
    assert.deepEqual(chunks, [
      [10, 10, 10],
      [50, 10],
    ]);
    assert.deepEqual(oversize, [200]);
    assert.deepEqual(chunk([200], (n) => n, { maxBytes: 100, maxItems: 3 }).chunks, [[200]], 'or alone');
  });
});
