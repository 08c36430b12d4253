import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * The client's address. Behind a reverse proxy every request comes from the proxy, so sign-in
 * throttling per address (src/api/auth.ts) would lock out every client at once; the addresses or
 * networks of trusted proxies (TRIBUTARY_TRUSTED_PROXIES, e.g. `10.0.0.5,192.168.0.0/16`) are looked
 * through: the client is the rightmost X-Forwarded-For address not itself a trusted proxy (the ones
 * to its left are whatever the client chose to send). Requests from elsewhere keep their socket
 * address, so no one else can choose the address they are counted against.
 */
export class ClientAddress {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  /** `proxies`: addresses or CIDR networks; throws naming the bad entry. */
  constructor(proxies: string[] = []) {
    for (const entry of proxies) {
      const [addr = '', bits] = entry.split('/');
      const family = isIP(addr);
      const prefix = bits === undefined ? undefined : Number(bits);
      const max = family === 6 ? 128 : 32;
      if (!family || (prefix !== undefined && (!Number.isInteger(prefix) || prefix < 0 || prefix > max)))
        throw new Error(
          `TRIBUTARY_TRUSTED_PROXIES: expected IP addresses or networks (10.0.0.5, 10.0.0.0/8, fd00::/8), got "${entry}"`,
        );
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.trusted.addAddress(addr, type);
      else this.trusted.addSubnet(addr, prefix, type);
    }
    this.any = proxies.length > 0;
  }

  private isTrusted(ip: string): boolean {
    const plain = ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
    const family = isIP(plain);
    return family !== 0 && this.trusted.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  }

  of(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? '';
    if (!this.any || !this.isTrusted(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!isIP(hop)) return peer; // not an address: the chain cannot be trusted past here
      if (!this.isTrusted(hop)) return hop;
    }
    return hops[0] ?? peer;
  }
}
