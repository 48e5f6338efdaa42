/**
 * IP address helpers: normalisation of socket addresses and CIDR allow-lists
 * (Kong's `trusted_ips`). Matching uses node:net's BlockList, which compares
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) against IPv4 subnets.
 */
import { BlockList, isIP } from 'node:net';

/**
 * A socket address as Kong shows it: dual-stack listeners report IPv4 peers as
 * `::ffff:a.b.c.d`; nginx's `$remote_addr` is the plain dotted quad.
 */
export function normalizeIp(address: string | undefined): string {
  if (address === undefined) return '';
  if (address.length > 7 && address.charCodeAt(0) === 58 /* : */ && address.startsWith('::ffff:') && address.indexOf('.') !== -1) {
    return address.slice(7);
  }
  return address;
}

/** A compiled list of addresses / CIDR blocks (`10.0.0.0/8`, `::1`, `0.0.0.0/0`). */
export class IpMatcher {
  readonly size: number;
  private readonly list: BlockList;
  private readonly all: boolean;

  /** Throws a RangeError naming the first entry that is not an IP or CIDR. */
  constructor(entries: readonly string[]) {
    this.list = new BlockList();
    let all = false;
    let size = 0;
    for (const raw of entries) {
      const entry = raw.trim();
      if (entry === '' || entry.startsWith('unix:')) continue; // unix sockets are not served here
      const slash = entry.indexOf('/');
      const addr = slash === -1 ? entry : entry.slice(0, slash);
      const family = isIP(addr);
      if (family === 0) throw new RangeError(`not an IP address or CIDR block: '${entry}'`);
      const max = family === 4 ? 32 : 128;
      const prefix = slash === -1 ? max : Number(entry.slice(slash + 1));
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new RangeError(`invalid CIDR prefix in '${entry}'`);
      if (prefix === 0) all = true;
      this.list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
      size++;
    }
    this.all = all && size > 0;
    this.size = size;
  }

  /** Does `ip` (normalised or not) fall in any block? */
  contains(ip: string): boolean {
    if (this.size === 0) return false;
    if (this.all) return true;
    const family = isIP(ip);
    if (family === 0) return false;
    return this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}
