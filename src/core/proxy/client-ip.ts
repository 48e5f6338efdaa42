/**
 * Client address resolution, as Kong configures nginx's realip module
 * (kong.conf `trusted_ips`, `real_ip_header`, `real_ip_recursive`):
 *
 * - The connecting peer (`$realip_remote_addr`) is the client unless it is
 *   trusted; only then is the address taken from `real_ip_header`
 *   (default `X-Real-IP`).
 * - With `X-Forwarded-For`, non-recursive mode takes the right-most address;
 *   recursive mode walks from the right, skipping trusted addresses, and takes
 *   the first untrusted one (the left-most if all are trusted), as
 *   ngx_http_realip_module does.
 * - A header value that is not an IP address is ignored.
 */
import { isIP, type Socket } from 'node:net';
import type { ProxyRequest } from '../context.ts';
import { IpMatcher, normalizeIp } from '../../shared/ip.ts';

export class RealIpResolver {
  readonly trusted: IpMatcher;
  /** Lower-case header name, or null when `proxy_protocol` / unset. */
  private readonly header: string | null;
  private readonly recursive: boolean;
  private readonly isXff: boolean;

  constructor(trustedIps: readonly string[], realIpHeader = 'X-Real-IP', recursive = false) {
    this.trusted = new IpMatcher(trustedIps);
    const h = realIpHeader.trim().toLowerCase();
    // PROXY protocol is not offered by these listeners; such a setting trusts nothing.
    this.header = h === '' || h === 'proxy_protocol' ? null : h;
    this.recursive = recursive;
    this.isXff = this.header === 'x-forwarded-for';
  }

  /** The connecting peer's address (nginx `$realip_remote_addr`). */
  static peer(socket: Socket | null): string {
    return normalizeIp(socket?.remoteAddress);
  }

  isTrusted(ip: string): boolean {
    return this.trusted.contains(ip);
  }

  /** The client address (nginx `$remote_addr` after realip) for a request from `peer`. */
  resolve(req: ProxyRequest, peer: string, peerTrusted: boolean): string {
    if (!peerTrusted || this.header === null) return peer;
    const value = req.headers[this.header];
    if (value === undefined) return peer;
    const raw = Array.isArray(value) ? value.join(',') : value;
    if (!this.isXff && raw.indexOf(',') === -1) {
      const ip = raw.trim();
      return isIP(ip) !== 0 ? normalizeIp(ip) : peer;
    }
    // A list: right-most first.
    const parts = raw.split(',');
    let chosen: string | null = null;
    for (let i = parts.length - 1; i >= 0; i--) {
      const ip = normalizeIp(parts[i]!.trim());
      if (isIP(ip) === 0) break;
      chosen = ip;
      if (!this.recursive || !this.trusted.contains(ip)) break;
    }
    return chosen ?? peer;
  }
}
