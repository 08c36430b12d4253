import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { selfSignedCertificate } from '../../src/sim/x509.ts';
import { OktaSimulator } from '../../src/sources/okta/simulator.ts';

/**
 * Outgoing HTTP through an egress proxy (HTTPS_PROXY / HTTP_PROXY / NO_PROXY, docs/deployment.md):
 * bin/tributary runs as a child process with the variables pointing at a small recording forward
 * proxy, against the Okta simulator, and the proxy's log shows which requests went through it.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'tributary-egress-proxy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A forward proxy (RFC 9110 §7.1 absolute-form for http targets, §9.3.6 CONNECT for https ones). */
class RecordingProxy {
  readonly forwarded: { method: string; target: string; proxyAuthorization?: string }[] = [];
  readonly tunnels: { authority: string; proxyAuthorization?: string }[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const target = new URL(req.url ?? '');
      this.forwarded.push({
        method: req.method ?? '',
        target: target.href,
        proxyAuthorization: req.headers['proxy-authorization'],
      });
      const headers = { ...req.headers };
      delete headers['proxy-authorization'];
      delete headers['proxy-connection'];
      const upstream = request(
        {
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: req.method,
          headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    server.on('connect', (req: IncomingMessage, socket, head) => {
      const authority = req.url ?? '';
      this.tunnels.push({ authority, proxyAuthorization: req.headers['proxy-authorization'] });
      const i = authority.lastIndexOf(':');
      const upstream = connect(Number(authority.slice(i + 1)), authority.slice(0, i), () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      const close = () => {
        upstream.destroy();
        socket.destroy();
      };
      upstream.on('error', close);
      socket.on('error', close);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  stop(): Promise<void> {
    return new Promise((ok) => {
      this.server?.close(() => ok());
      this.server?.closeAllConnections();
    });
  }
}

/** The environment without any proxy variable inherited from the machine running the tests. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(https?|no|all)_proxy$/i.test(k)) delete env[k];
  return env;
}

function run(config: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const file = join(dir, `${config.length}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, config);
  const child = spawn(join(ROOT, 'bin/tributary'), ['run', '--config', file, '--once'], {
    env: {
      ...cleanEnv(),
      TRIBUTARY_LOG_LEVEL: 'info',
      TRIBUTARY_DATA_DIR: join(dir, `data-${Math.random()}`),
      ...env,
    },
    cwd: dir,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((ok) => child.on('exit', (code) => ok({ code, out })));
}

const config = (account: string, out: string, siem?: string) =>
  [
    'accounts:',
    `  okta-main: { kind: okta, ${account}, requestsPerMinute: 100000 }`,
    'destinations:',
    `  local: { kind: file, path: ./${out}.ndjson }`,
    ...(siem ? [`  siem: { kind: http, url: "${siem}" }`] : []),
    'collectors:',
    `  okta-prod: { source: okta, account: okta-main, destinations: [${siem ? 'local, siem' : 'local'}], lookback: 1h, lag: 0s, settings: { limit: 100 } }`,
  ].join('\n');

/** An HTTP destination's receiving end: counts the events it is sent. */
class Receiver {
  events = 0;
  requests = 0;
  private server?: Server;
  url = '';
  async start() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        this.requests++;
        this.events += body.trim().split('\n').filter(Boolean).length;
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}/ingest`;
  }
  stop() {
    return new Promise<void>((ok) => {
      this.server?.close(() => ok());
      this.server?.closeAllConnections();
    });
  }
}

const delivered = (out: string) =>
  readFileSync(join(dir, `${out}.ndjson`), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).id);

describe('egress proxy (bin/tributary run --once)', () => {
  const proxy = new RecordingProxy();
  before(() => proxy.start());
  after(() => proxy.stop());

  it('HTTP_PROXY: requests to an http vendor and an http destination go through the proxy in absolute form', async () => {
    const sim = new OktaSimulator({ events: 250, spacingMs: 1000 });
    const siem = new Receiver();
    await sim.start();
    await siem.start();
    try {
      const r = await run(config(`url: "${sim.url}", token: "${sim.token}"`, 'http-proxied', siem.url), {
        HTTP_PROXY: proxy.url,
        HTTPS_PROXY: proxy.url,
      });
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /^okta-prod: 250 events, 3 pages/m);
      assert.deepEqual(delivered('http-proxied'), sim.eventIds());
      assert.equal(siem.events, 250);
      const pages = sim.requests();
      assert.equal(pages.length, 3);
      assert.deepEqual(
        proxy.forwarded.filter((f) => f.method === 'GET').map((f) => f.target),
        pages.map((p) => `${sim.url}${p.path}?${p.query}`),
        'every request the vendor saw came through the proxy',
      );
      assert.deepEqual(
        proxy.forwarded.filter((f) => f.method === 'POST').map((f) => f.target),
        Array(siem.requests).fill(siem.url),
        'every delivery to the destination came through the proxy',
      );
    } finally {
      await sim.stop();
      await siem.stop();
    }
  });

  it('HTTPS_PROXY with credentials: an https vendor is reached through a CONNECT tunnel (token requests too)', async () => {
    const cert = selfSignedCertificate({ commonName: 'localhost' });
    const ca = join(dir, 'sim-ca.pem');
    writeFileSync(ca, cert.certificatePem);
    const sim = new OktaSimulator({
      events: 150,
      spacingMs: 1000,
      tls: { key: cert.privateKeyPem, cert: cert.certificatePem },
      serviceApp: { dpop: true },
    });
    await sim.start();
    const url = sim.url.replace('127.0.0.1', 'localhost');
    const app = sim.serviceApp!;
    writeFileSync(join(dir, 'app.key'), app.privateKeyPem);
    const before = { tunnels: proxy.tunnels.length, forwarded: proxy.forwarded.length };
    const password = 'proxy-pass-S3CRET';
    try {
      const withAuth = proxy.url.replace('http://', `http://tributary:${password}@`);
      const r = await run(
        config(`url: "${url}", clientId: "${app.clientId}", privateKey: "\${file:app.key}"`, 'https-proxied'),
        { HTTPS_PROXY: withAuth, NODE_EXTRA_CA_CERTS: ca },
      );
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /^okta-prod: 150 events, 2 pages/m);
      assert.deepEqual(delivered('https-proxied'), sim.eventIds());
      assert.equal(app.issued.length, 1, 'the token request went through the tunnel as well');
      const tunnels = proxy.tunnels.slice(before.tunnels);
      assert.ok(tunnels.length >= 1);
      for (const t of tunnels) {
        assert.equal(t.authority, new URL(url).host);
        assert.equal(
          t.proxyAuthorization,
          `Basic ${Buffer.from(`tributary:${password}`).toString('base64')}`,
        );
      }
      assert.equal(proxy.forwarded.length, before.forwarded, 'nothing in plain text');
      assert.ok(!r.out.includes(password), 'the proxy password is not in the output');
    } finally {
      await sim.stop();
    }
  });

  it('NO_PROXY covering the vendor host: requests go straight to it, the proxy sees nothing', async () => {
    const sim = new OktaSimulator({ events: 120, spacingMs: 1000 });
    const siem = new Receiver();
    await sim.start();
    await siem.start();
    const before = { tunnels: proxy.tunnels.length, forwarded: proxy.forwarded.length };
    try {
      const r = await run(config(`url: "${sim.url}", token: "${sim.token}"`, 'no-proxy', siem.url), {
        HTTP_PROXY: proxy.url,
        HTTPS_PROXY: proxy.url,
        NO_PROXY: 'localhost,127.0.0.1',
      });
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(delivered('no-proxy'), sim.eventIds());
      assert.equal(siem.events, 120);
      assert.equal(sim.requests().length, 2);
      assert.equal(proxy.forwarded.length, before.forwarded);
      assert.equal(proxy.tunnels.length, before.tunnels);
    } finally {
      await sim.stop();
      await siem.stop();
    }
  });
});
