/**
 * The request target of a proxied request (Kong's runloop before the
 * router): origin-form or absolute-form (RFC 9112 §3.2) split into the path
 * and query, the authority (absolute-form's, else Host) into host and port,
 * and the path normalised (../router/normalize.ts) as the router matches it.
 * A target that cannot be routed safely is refused (400) by the caller,
 * handle.ts.
 */
import { isValidAuthority } from '../http1/syntax.ts';
import { normalizePath } from '../router/normalize.ts';
import type { Exchange } from './exchange.ts';

/** Split the request target; Host → host/port; normalise the path. False = 400. */
export function parseTarget(ex: Exchange): boolean {
  const ctx = ex.ctx;
  const req = ctx.req;
  let url = req.url ?? '/';
  let authority = req.headers.host;
  if (url.charCodeAt(0) !== 47 /* / */) {
    // absolute-form (RFC 9112 §3.2.2): the target's authority replaces Host.
    const scheme = url.indexOf('://');
    if (scheme < 4 || scheme > 5) return false;
    const rest = url.slice(scheme + 3);
    const slash = rest.indexOf('/');
    authority = slash === -1 ? rest : rest.slice(0, slash);
    // No userinfo (RFC 9112 §3.2.2, RFC 9110 §4.2.4): "evil@good" must not be routed by either name.
    if (!isValidAuthority(authority)) return false;
    url = slash === -1 ? '/' : rest.slice(slash);
  }
  ex.requestUri = url;
  const q = url.indexOf('?');
  if (q === -1) {
    ctx.rawPath = url;
  } else {
    ctx.rawPath = url.slice(0, q);
    ctx.query = url.slice(q + 1);
    ctx.upstreamQuery = ctx.query;
    ex.hasQueryMark = true;
  }
  const path = normalizePath(ctx.rawPath);
  if (path === null) return false;
  ctx.path = path;
  ctx.port = ex.listenerPort;
  if (authority !== undefined && authority !== '') {
    let host = authority;
    let colon = -1;
    if (host.charCodeAt(0) === 91 /* [ */) {
      const close = host.indexOf(']');
      if (close !== -1 && host.charCodeAt(close + 1) === 58) colon = close + 1;
    } else {
      colon = host.lastIndexOf(':');
    }
    if (colon !== -1) {
      const port = Number(host.slice(colon + 1));
      if (Number.isInteger(port) && port > 0 && port < 65536) ctx.port = port;
      host = host.slice(0, colon);
    }
    ctx.host = host.toLowerCase();
  }
  return true;
}
