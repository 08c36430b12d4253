import assert from 'node:assert/strict';
import { createServer as createHttps } from 'node:https';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { TributaryError } from '../core/errors.ts';
import { selfSignedCertificate } from '../sim/x509.ts';
import { Http } from './http.ts';
import { networkProblem } from './network-error.ts';

/**
 * A request that gets no answer says why — refused, name not found, certificate, timeout — and what
 * to do about it, where it used to say "fetch failed" for all of them.
 */

const client = () => new Http({ vendor: 'Okta', maxAttempts: 1, timeoutMs: 5000 });

async function failure(url: string): Promise<TributaryError> {
  const err = await client()
    .getJson(url)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof TributaryError, String(err));
  assert.equal(err.type, 'transient', 'retried: the network may come back');
  assert.doesNotMatch(err.message, /fetch failed/);
  return err;
}

async function listen(t: TestContext, server: Server | ReturnType<typeof createHttps>): Promise<number> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => server.close(() => ok())));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** An error as undici's fetch throws it: "fetch failed" with the real one as its cause. */
const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });
const errno = (code: string, message = code) => Object.assign(new Error(message), { code });
const URL_ = new URL('https://acme.okta.com/api/v1/logs');

describe('network errors keep their cause', () => {
  it('connection refused: names the host and port and says to check them', async () => {
    const port = await closedPort();
    const err = await failure(`http://127.0.0.1:${port}/api/v1/logs?token=sekrit`);
    assert.equal(err.code, 'connection_refused');
    assert.equal(
      err.message,
      `Network error talking to Okta at http://127.0.0.1:${port}/api/v1/logs: connection refused by 127.0.0.1:${port} (nothing listens there).`,
    );
    assert.match(err.action, /^Check the host and port in the URL, and that the service is running/);
  });

  it('a self-signed certificate: a TLS certificate problem, with the CA to give Node', async (t) => {
    const cert = selfSignedCertificate({ commonName: '127.0.0.1' });
    const port = await listen(
      t,
      createHttps({ key: cert.privateKeyPem, cert: cert.certificatePem }, (_req, res) => res.end('{}')),
    );
    const err = await failure(`https://127.0.0.1:${port}/api/v1/logs`);
    assert.equal(err.code, 'tls_certificate');
    assert.match(
      err.message,
      /: TLS certificate problem: the server’s certificate is self-signed \(DEPTH_ZERO_SELF_SIGNED_CERT\)\.$/,
    );
    assert.match(err.action, /NODE_EXTRA_CA_CERTS/);
  });

  it('https to a port that does not speak TLS, and a connection closed before the answer', async (t) => {
    const port = await listen(
      t,
      createServer((socket) => socket.on('data', () => socket.destroy())),
    );
    const tls = await failure(`https://127.0.0.1:${port}/x`);
    assert.equal(tls.code, 'tls_handshake');
    assert.match(tls.action, /speaks HTTPS \(not plain HTTP\)/);
    const closed = await failure(`http://127.0.0.1:${port}/x`);
    assert.equal(closed.code, 'connection_closed');
    assert.match(
      closed.message,
      new RegExp(`: 127\\.0\\.0\\.1:${port} closed the connection before answering\\.$`),
    );
  });

  it('a name not found, a DNS server not answering, timeouts and unreachable networks (from their causes)', () => {
    const cases: Array<[unknown, string, RegExp, RegExp]> = [
      [
        fetchFailed(errno('ENOTFOUND', 'getaddrinfo ENOTFOUND acme.okta.com')),
        'host_not_found',
        /^the host name acme\.okta\.com was not found \(DNS\)$/,
        /a typo, or an organisation, region or tenant that does not exist/,
      ],
      [
        fetchFailed(errno('EAI_AGAIN')),
        'dns_failure',
        /^looking up acme\.okta\.com failed: the DNS server did not answer$/,
        /DNS resolver/,
      ],
      [
        fetchFailed(Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' })),
        'connect_timeout',
        /^connecting to acme\.okta\.com timed out$/,
        /firewall/,
      ],
      [
        fetchFailed(errno('ENETUNREACH')),
        'network_unreachable',
        /^no network route to acme\.okta\.com$/,
        /firewall/,
      ],
      [
        fetchFailed(errno('CERT_HAS_EXPIRED', 'certificate has expired')),
        'tls_certificate',
        /^TLS certificate problem: the server’s certificate has expired \(CERT_HAS_EXPIRED\)$/,
        /renew the certificate/,
      ],
      [
        fetchFailed(errno('ERR_TLS_CERT_ALTNAME_INVALID')),
        'tls_certificate',
        /certificate is for another host name/,
        /host name the certificate is issued for/,
      ],
      // Happy eyeballs: every address of the name refused, in an AggregateError.
      [
        fetchFailed(
          Object.assign(new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED')]), {
            code: 'ECONNREFUSED',
          }),
        ),
        'connection_refused',
        /^connection refused by acme\.okta\.com/,
        /host and port/,
      ],
      [
        fetchFailed(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })),
        'connection_closed',
        /closed the connection before answering/,
        /proxy, load balancer or firewall/,
      ],
    ];
    for (const [err, code, problem, action] of cases) {
      const p = networkProblem(err, URL_);
      assert.ok(p, code);
      assert.equal(p.code, code);
      assert.match(p.problem, problem);
      assert.match(p.action, action);
    }
    assert.equal(networkProblem(new TypeError('fetch failed'), URL_), undefined, 'nothing more to say');
  });
});
