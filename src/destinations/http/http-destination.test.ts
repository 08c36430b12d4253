import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { makeEnvelope } from '../../core/envelope.ts';
import { destinationConfigSchema } from '../index.ts';
import { HttpDestination, type HttpDestinationOptions } from './http-destination.ts';

type Seen = { headers: IncomingMessage['headers']; body: Buffer };
let seen: Seen[] = [];
let reply: (n: number, res: ServerResponse) => void = (_n, res) => res.end();
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
    reply(seen.length, res);
  });
});
let url = '';
before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
});
after(() => server.close());

const signal = new AbortController().signal;
const envs = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    makeEnvelope(
      { source: 's', stream: 't', collector: 'c' },
      { i },
      `id${i}`,
      undefined,
      '2026-11-25T10:00:00.000Z',
    ),
  );
const dest = (o: Partial<HttpDestinationOptions> = {}) =>
  new HttpDestination('siem', {
    url,
    format: 'ndjson',
    gzip: false,
    headers: {},
    timeout: 2000,
    maxBatchBytes: 1 << 20,
    maxAttempts: 3,
    backoffBaseMs: 1,
    backoffMaxMs: 2,
    ...o,
  });

describe('http destination', () => {
  it('posts NDJSON and JSON arrays, gzip on request', async () => {
    seen = [];
    reply = (_n, res) => res.end();
    await dest().send(envs(2), signal);
    assert.equal(seen[0].headers['content-type'], 'application/x-ndjson');
    assert.deepEqual(
      seen[0].body
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
      ['id0', 'id1'],
    );
    await dest({ format: 'json', gzip: true }).send(envs(3), signal);
    assert.equal(seen[1].headers['content-encoding'], 'gzip');
    assert.deepEqual(
      JSON.parse(gunzipSync(seen[1].body).toString()).map((e: { id: string }) => e.id),
      ['id0', 'id1', 'id2'],
    );
  });

  it('sends each auth kind', async () => {
    seen = [];
    await dest({ auth: { type: 'bearer', token: 't0k' } }).send(envs(1), signal);
    await dest({ auth: { type: 'basic', username: 'u', password: 'p' } }).send(envs(1), signal);
    await dest({
      auth: { type: 'header', name: 'X-Api-Key', value: 'k1' },
      headers: { 'x-extra': 'y' },
    }).send(envs(1), signal);
    assert.equal(seen[0].headers.authorization, 'Bearer t0k');
    assert.equal(seen[1].headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(seen[2].headers['x-api-key'], 'k1');
    assert.equal(seen[2].headers['x-extra'], 'y');
  });

  it('retries 503 (honouring Retry-After) and acknowledges once', async () => {
    seen = [];
    reply = (n, res) => (n === 1 ? res.writeHead(503, { 'retry-after': '0' }).end() : res.end());
    await dest().send(envs(2), signal);
    assert.equal(seen.length, 2);
  });

  it('rejects a 400 at once as a config error', async () => {
    seen = [];
    reply = (_n, res) => res.writeHead(400).end('bad');
    await assert.rejects(
      dest().send(envs(1), signal),
      (e: Error & { type?: string; code?: string }) =>
        e.type === 'config' && e.code === 'destination_rejected',
    );
    assert.equal(seen.length, 1);
  });

  it('reports an outage as transient after its attempts, without credentials in the message', async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    const d = dest({
      url: `http://127.0.0.1:${port}/x?token=qs-secret`,
      auth: { type: 'bearer', token: 'very-secret' },
    });
    await assert.rejects(
      d.send(envs(1), signal),
      (e: Error & { type?: string }) =>
        e.type === 'transient' && !/secret/.test(e.message) && /siem/.test(e.message),
    );
  });

  it('splits batches above maxBatchBytes', async () => {
    seen = [];
    reply = (_n, res) => res.end();
    await dest({ maxBatchBytes: 400 }).send(envs(10), signal);
    assert.ok(seen.length > 1);
    const ids = seen.flatMap((s) =>
      s.body
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    );
    assert.deepEqual(
      ids,
      envs(10).map((e) => e.id),
    );
  });

  it('refuses plain http to a non-loopback host in its config', () => {
    const r = destinationConfigSchema.safeParse({ kind: 'http', url: 'http://siem.example.com/ingest' });
    assert.equal(r.success, false);
    assert.ok(
      destinationConfigSchema.safeParse({ kind: 'http', url: 'https://siem.example.com/ingest' }).success,
    );
  });
});
