import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { egressAgents } from './egress-agents.ts';

/** A plain HTTP proxy (absolute-form requests) that records what it carried. */
function proxyServer(seen: string[]) {
  return http.createServer((req, res) => {
    seen.push(req.url ?? '');
    const out = http.request(new URL(req.url ?? ''), { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(out);
  });
}

const get = (url: string, agent: http.Agent) =>
  new Promise<string>((ok, ko) =>
    http
      .get(url, { agent }, (r) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => ok(body));
      })
      .on('error', ko),
  );

describe('egressAgents', () => {
  const seen: string[] = [];
  const target = http.createServer((_req, res) => res.end('answered'));
  const proxy = proxyServer(seen);
  const saved = process.env.HTTP_PROXY;
  let targetUrl = '';
  before(async () => {
    await new Promise<void>((ok) => target.listen(0, '127.0.0.1', ok));
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    targetUrl = `http://localhost:${(target.address() as AddressInfo).port}/x`;
    process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(() => {
    if (saved === undefined) delete process.env.HTTP_PROXY;
    else process.env.HTTP_PROXY = saved;
    target.closeAllConnections();
    proxy.closeAllConnections();
    target.close();
    proxy.close();
  });

  it('goes through the proxy environment only when asked to (the AWS SDK calls)', async () => {
    const proxied = egressAgents({ proxy: true });
    const direct = egressAgents();
    try {
      assert.equal(await get(targetUrl, proxied.http), 'answered');
      assert.deepEqual(seen, [targetUrl], 'carried by the proxy');
      assert.equal(await get(targetUrl, direct.http), 'answered');
      assert.equal(seen.length, 1, 'the destinations’ agents connect directly');
    } finally {
      for (const a of [proxied, direct]) {
        a.http.destroy();
        a.https.destroy();
      }
    }
  });
});
