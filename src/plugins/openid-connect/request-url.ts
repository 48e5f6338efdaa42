/**
 * The URL the client used, for the default `redirect_uri` and the
 * post-login return address. Kong builds it from `X-Forwarded-Proto`,
 * `X-Forwarded-Host` and `X-Forwarded-Port` only when the connecting peer is
 * in `trusted_ips`; otherwise from the connection (scheme, Host header
 * without port, listening port). Default ports are omitted.
 */
import type { RequestContext } from '../../core/context.ts';
import { normalizeIp, type IpMatcher } from '../../shared/ip.ts';

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : s.split(',')[0]!.trim();
}

function hostOnly(authority: string): string {
  let h = authority;
  const at = h.indexOf('@');
  if (at !== -1) h = h.slice(at + 1);
  if (h.startsWith('[')) {
    const close = h.indexOf(']');
    return close === -1 ? h.toLowerCase() : h.slice(0, close + 1).toLowerCase();
  }
  const colon = h.indexOf(':');
  return (colon === -1 ? h : h.slice(0, colon)).toLowerCase();
}

export interface Origin {
  scheme: string;
  host: string;
  port: number;
}

/** The scheme/host/port the client addressed (forwarded values from trusted proxies only). */
export function requestOrigin(ctx: RequestContext, trusted: IpMatcher): Origin {
  const headers = ctx.req.headers;
  const peerTrusted = trusted.size > 0 && trusted.contains(normalizeIp(ctx.req.socket?.remoteAddress));
  const listenerPort = ctx.req.socket?.localPort ?? ctx.port;
  let scheme: string = ctx.scheme;
  let host = ctx.host !== '' ? ctx.host : hostOnly(headers.host ?? '');
  let port = listenerPort;
  if (peerTrusted) {
    const proto = first(headers['x-forwarded-proto']);
    if (proto !== undefined && proto !== '') scheme = proto.toLowerCase();
    const fh = first(headers['x-forwarded-host']);
    if (fh !== undefined && fh !== '') host = hostOnly(fh);
    const fp = Number(first(headers['x-forwarded-port']));
    if (Number.isInteger(fp) && fp >= 1 && fp <= 65535) port = fp;
    else if (fh !== undefined) {
      const colon = fh.lastIndexOf(':');
      const hp = colon === -1 ? NaN : Number(fh.slice(colon + 1));
      if (Number.isInteger(hp) && hp >= 1 && hp <= 65535) port = hp;
    }
  }
  return { scheme, host, port };
}

/** Scheme://host[:port]/path (no query): Kong's default redirect_uri. */
export function currentUrl(ctx: RequestContext, trusted: IpMatcher): string {
  const o = requestOrigin(ctx, trusted);
  const defaultPort = (o.scheme === 'http' && o.port === 80) || (o.scheme === 'https' && o.port === 443);
  return `${o.scheme}://${o.host}${defaultPort ? '' : ':' + o.port}${ctx.rawPath}`;
}

/** Was the request made over https (directly or per a trusted X-Forwarded-Proto)? Decides cookie `Secure`. */
export function isHttps(ctx: RequestContext, trusted: IpMatcher): boolean {
  return requestOrigin(ctx, trusted).scheme === 'https';
}
