import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, type Dispatcher, EnvHttpProxyAgent } from 'undici';
import { configError } from '../core/errors.ts';

/**
 * Where Tributary's outgoing requests may connect (docs/security.md, "Where secrets travel"). Vendor
 * URLs, redirects and destinations can be chosen by an editor, so every connection is checked against
 * the address it actually reaches, after DNS, at every redirect hop:
 *
 * - link-local addresses (169.254.0.0/16, fe80::/10) and cloud metadata endpoints (169.254.169.254,
 *   fd00:ec2::254, 100.100.100.200) are refused unless an admin allow-lists them (Settings → egress
 *   allow-list, `PUT /api/settings`): they hand out the host's own cloud credentials;
 * - private ranges are allowed (on-premises vendors are real); the control plane notes them in the
 *   audit log when a URL that points there is saved;
 * - `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` send requests through a proxy (then the proxy resolves
 *   names, and only literal addresses and the proxy's own address are checked here).
 */

const refusedRanges = new BlockList();
refusedRanges.addSubnet('169.254.0.0', 16, 'ipv4');
refusedRanges.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
refusedRanges.addSubnet('fe80::', 10, 'ipv6');
refusedRanges.addAddress('fd00:ec2::254', 'ipv6'); // AWS instance metadata over IPv6

const privateRanges = new BlockList();
for (const [net, bits] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10],
] as const)
  privateRanges.addSubnet(net, bits, 'ipv4');
privateRanges.addSubnet('fc00::', 7, 'ipv6');

/** An IPv4-mapped IPv6 address (::ffff:169.254.169.254) as the IPv4 address it is. */
function unmap(ip: string): { ip: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return { ip: m[1]!, family: 'ipv4' };
  return { ip, family: isIP(ip) === 6 ? 'ipv6' : 'ipv4' };
}

export type AddressClass = 'refused' | 'private' | 'loopback' | 'public';

export function classifyAddress(address: string): AddressClass {
  const { ip, family } = unmap(address.replace(/^\[|\]$/g, ''));
  if (refusedRanges.check(ip, family)) return 'refused';
  if (family === 'ipv4' ? ip.startsWith('127.') : ip === '::1') return 'loopback';
  if (privateRanges.check(ip, family)) return 'private';
  return 'public';
}

/** Parses an allow-list entry: an address or a CIDR range. Undefined when it is neither. */
export function parseAllowEntry(
  entry: string,
): { net: string; bits: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [net, bitsText] = entry.trim().split('/');
  const v = isIP(net ?? '');
  if (!v) return undefined;
  const max = v === 4 ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  return { net: net!, bits, family: v === 4 ? 'ipv4' : 'ipv6' };
}

export class EgressPolicy {
  readonly allowList: readonly string[];
  private readonly allowed = new BlockList();
  private agent?: Dispatcher;

  constructor(allowList: readonly string[] = []) {
    this.allowList = allowList;
    for (const e of allowList) {
      const p = parseAllowEntry(e);
      if (p) this.allowed.addSubnet(p.net, p.bits, p.family);
    }
  }

  /** Whether a connection to `address` is refused. */
  refuses(address: string): boolean {
    if (classifyAddress(address) !== 'refused') return false;
    const { ip, family } = unmap(address.replace(/^\[|\]$/g, ''));
    return !this.allowed.check(ip, family);
  }

  /** Refuses a URL whose host is a refused literal address (names are checked when they resolve). */
  checkUrl(url: URL, what = 'the request'): void {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && this.refuses(host)) throw refusedError(url.host, what);
  }

  /**
   * A `lookup` for `net.connect`, `tls.connect` and `http(s).Agent` (SDKs that bring their own HTTP
   * stack, syslog over TCP): resolves like `dns.lookup` and drops refused addresses, failing with
   * `egress_refused` when none is left.
   */
  readonly lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, options.all ? [] : '', 0);
      const ok = addresses.filter((a) => !this.refuses(a.address));
      if (!ok.length) {
        const e = refusedError(hostname, 'the connection') as unknown as NodeJS.ErrnoException;
        return callback(e, options.all ? [] : '', 0);
      }
      if (options.all) return callback(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  };

  /** The undici dispatcher whose connections obey this policy (and the proxy environment variables). */
  dispatcher(): Dispatcher {
    if (this.agent) return this.agent;
    const connect = { lookup: this.lookup as never };
    this.agent = proxyConfigured() ? new EnvHttpProxyAgent({ connect }) : new Agent({ connect });
    return this.agent;
  }
}

/** Whether the environment names a proxy (`HTTPS_PROXY`, `HTTP_PROXY`, lower case too). */
export const proxyConfigured = (): boolean =>
  Boolean(
    process.env.HTTPS_PROXY || process.env.https_proxy || process.env.HTTP_PROXY || process.env.http_proxy,
  );

export function refusedError(host: string, what: string) {
  return configError(
    'egress_refused',
    `Tributary refused ${what} to ${host}: it is a link-local or cloud metadata address.`,
    'Use the service’s real address. If this address is intended (an on-premises service on a link-local network), an admin can allow it in Settings (egress allow-list).',
  );
}

let current = new EgressPolicy();

/** The process's policy: set from the instance settings when they are loaded or changed. */
export const egressPolicy = (): EgressPolicy => current;

export function setEgressAllowList(allowList: readonly string[]): void {
  if (allowList.join('\n') === current.allowList.join('\n')) return;
  const old = current;
  current = new EgressPolicy(allowList);
  void (old as unknown as { agent?: Dispatcher }).agent?.close();
}
