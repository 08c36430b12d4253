import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import { egressPolicy, proxyConfigured } from './egress.ts';

/**
 * A `lookup` for sockets and agents handed to SDKs and raw clients (S3, Azure Storage, NATS, syslog):
 * it resolves through the process's current egress policy at every connection, so link-local and cloud
 * metadata addresses are refused after DNS (docs/security.md) and a change of the admin's allow-list
 * applies without rebuilding the client. Literal IP addresses skip DNS: check them with
 * `egressPolicy().checkUrl` (or `refuses`) before connecting.
 */
export const egressLookup: LookupFunction = (hostname, options, callback) =>
  egressPolicy().lookup(hostname, options, callback as never);

/**
 * Keep-alive HTTP and HTTPS agents resolving through `egressLookup`; destroy them on close. With
 * `proxy`, they honour `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` as the engine's own HTTP client does
 * (Node's `proxyEnv`); through a proxy, the proxy resolves the names and only its own address is checked.
 */
export function egressAgents(o: { proxy?: boolean } = {}): { http: HttpAgent; https: HttpsAgent } {
  const proxyEnv = o.proxy && proxyConfigured() ? process.env : undefined;
  return {
    http: new HttpAgent({ keepAlive: true, lookup: egressLookup, proxyEnv }),
    https: new HttpsAgent({ keepAlive: true, lookup: egressLookup, proxyEnv }),
  };
}
