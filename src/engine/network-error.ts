/**
 * Why a request never got an answer, from the error undici's fetch throws: a `TypeError('fetch failed')`
 * whose `cause` is the socket's, the resolver's or the TLS layer's error (an `AggregateError` when
 * several addresses were tried), each with a `code` (Node's errors: ECONNREFUSED, ENOTFOUND, …;
 * OpenSSL's certificate codes, https://nodejs.org/api/tls.html#x509-certificate-error-codes; undici's
 * UND_ERR_*). "fetch failed" alone tells a user nothing: the cause decides the message and what to do.
 */

export interface NetworkProblem {
  /** Stable error code: connection_refused, host_not_found, dns_failure, tls_certificate, … */
  code: string;
  /** What happened, for "Network error talking to Okta at URL: {problem}." */
  problem: string;
  action: string;
}

const RETRY = 'Tributary retries automatically.';

/** TLS certificate codes (OpenSSL's, and Node's host name check) and what each means. */
const CERTIFICATE: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the server’s certificate has expired',
  CERT_NOT_YET_VALID: 'the server’s certificate is not valid yet',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server’s certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN:
    'the server’s certificate chain ends in a self-signed certificate that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT: 'the issuer of the server’s certificate is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the issuer of the server’s certificate is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'the server’s certificate cannot be verified (an incomplete chain or an untrusted issuer)',
  CERT_UNTRUSTED: 'the server’s certificate is not trusted',
  CERT_REVOKED: 'the server’s certificate has been revoked',
  CERT_SIGNATURE_FAILURE: 'the server’s certificate signature is invalid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server’s certificate is for another host name',
};

/** The `code`s along an error's cause chain (and an AggregateError's errors), outermost first. */
function causes(err: unknown): Array<{ code?: string; message: string }> {
  const out: Array<{ code?: string; message: string }> = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown) => {
    if (!e || typeof e !== 'object' || seen.has(e)) return;
    seen.add(e);
    const x = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    out.push({ code: typeof x.code === 'string' ? x.code : undefined, message: String(x.message ?? '') });
    if (Array.isArray(x.errors)) for (const inner of x.errors) visit(inner);
    visit(x.cause);
  };
  visit(err);
  return out;
}

/**
 * The problem behind a failed request to `url`, or undefined when nothing in the error says more
 * than "fetch failed" (the caller falls back to its message).
 */
export function networkProblem(err: unknown, url: URL): NetworkProblem | undefined {
  const chain = causes(err);
  const codes = chain.map((c) => c.code).filter((c): c is string => Boolean(c));
  const has = (...wanted: string[]) => codes.find((c) => wanted.includes(c));
  const host = url.host;
  const certificate = codes.find((c) => Object.hasOwn(CERTIFICATE, c));
  if (certificate) {
    const what = CERTIFICATE[certificate]!;
    const action =
      certificate === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `Use the host name the certificate is issued for in the URL (not an IP address or another alias of ${url.hostname}).`
        : certificate === 'CERT_HAS_EXPIRED' || certificate === 'CERT_NOT_YET_VALID'
          ? `Whoever runs ${url.hostname} (or a TLS-inspecting proxy in between) must renew the certificate; check this machine's clock too.`
          : 'Check that the URL points at the vendor. If a proxy or firewall inspects TLS traffic, give Tributary its CA certificate: NODE_EXTRA_CA_CERTS=/path/to/ca.pem in the environment of the process.';
    return { code: 'tls_certificate', problem: `TLS certificate problem: ${what} (${certificate})`, action };
  }
  if (has('ECONNREFUSED'))
    return {
      code: 'connection_refused',
      problem: `connection refused by ${host} (nothing listens there)`,
      action: `Check the host and port in the URL, and that the service is running. ${RETRY}`,
    };
  if (has('ENOTFOUND'))
    return {
      code: 'host_not_found',
      problem: `the host name ${url.hostname} was not found (DNS)`,
      action: `Check the host name in the URL (a typo, or an organisation, region or tenant that does not exist), and this machine's DNS settings. ${RETRY}`,
    };
  if (has('EAI_AGAIN', 'EAI_FAIL'))
    return {
      code: 'dns_failure',
      problem: `looking up ${url.hostname} failed: the DNS server did not answer`,
      action: `Check this machine's DNS resolver (and HTTPS_PROXY if requests must go through a proxy). ${RETRY}`,
    };
  if (has('ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'))
    return {
      code: 'connect_timeout',
      problem: `connecting to ${host} timed out`,
      action: `A firewall may be dropping the traffic, or the address is wrong: check the URL and that this machine may reach ${url.hostname} (set HTTPS_PROXY if it must go through a proxy). ${RETRY}`,
    };
  if (has('EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'))
    return {
      code: 'network_unreachable',
      problem: `no network route to ${host}`,
      action: `Check this machine's network and firewall, and HTTPS_PROXY if requests must go through a proxy. ${RETRY}`,
    };
  const tlsHandshake = chain.find((c) => /TLS|SSL/.test(c.message) || c.code?.startsWith('ERR_SSL'));
  if (tlsHandshake || has('EPROTO'))
    return {
      code: 'tls_handshake',
      problem: `the TLS handshake with ${host} failed`,
      action:
        'Check that the URL’s port speaks HTTPS (not plain HTTP) and what sits between Tributary and the service (a proxy or firewall may cut TLS). ' +
        RETRY,
    };
  if (chain.some((c) => /proxy/i.test(c.message)))
    return {
      code: 'proxy_failed',
      problem: 'the proxy refused or failed the connection',
      action: `Check HTTPS_PROXY / HTTP_PROXY and NO_PROXY, and the proxy's credentials and allow-list. ${RETRY}`,
    };
  if (has('ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'))
    return {
      code: 'connection_closed',
      problem: `${host} closed the connection before answering`,
      action: `Usually a proxy, load balancer or firewall cutting connections, or the service restarting. ${RETRY} If it persists, check what sits between Tributary and the service.`,
    };
  if (has('UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'))
    return {
      code: 'timeout',
      problem: `${host} accepted the connection but did not answer in time`,
      action: `A slow or overloaded service. ${RETRY}`,
    };
  return undefined;
}
