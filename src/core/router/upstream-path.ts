/**
 * The path the upstream receives: service.path joined with what is left of
 * the request path, per route.strip_path and route.path_handling.
 *
 * Kong Admin API reference, "Path handling algorithms":
 *  - v0 treats service.path, route.path and the request path as *segments*
 *    and joins them with slashes (/s + /re → /s/re);
 *  - v1 treats service.path as a *prefix* and drops the request/route paths'
 *    initial slash (/s + /re → /sre).
 * Both replace the "double slash" met at the join by one slash.
 *
 * The two algorithms are Kong's `get_upstream_uri` (kong/router/utils.lua, v0)
 * and the v1 branch of kong/router/traditional.lua. Note: Kong 3.x's
 * `traditional_compatible` flavour logs that v1 "will not work" and applies
 * v0; we follow the documented table instead, since v1 is still an accepted
 * value of the Route entity and the docs describe what it does.
 *
 * Input is the normalised request path (what the router matched), so the
 * upstream receives the normalised form too — as Kong documents: "any request
 * URI sent over to the upstream services will also be in normalized form that
 * preserves the original URI semantics". Reserved characters stay
 * percent-encoded (normalize.ts never decodes them).
 */

const SLASH = 47;

/**
 * Kong's sanitize_uri_postfix: what follows a stripped prefix never starts
 * with a dot segment.
 */
export function sanitizeUriPostfix(postfix: string): string {
  if (postfix === '') return postfix;
  if (postfix === '.' || postfix === '..') return '';
  if (postfix.startsWith('./')) return postfix.slice(2);
  if (postfix.startsWith('../')) return postfix.slice(3);
  return postfix;
}

/**
 * @param reqPath normalised request path
 * @param strippedPrefix the part of reqPath the route's path matched (prefix or
 *   whole regex match) when strip_path applies, else null
 * @param servicePath service.path (null → "/")
 */
export function upstreamPathFor(
  reqPath: string,
  strippedPrefix: string | null,
  stripPath: boolean,
  pathHandling: 'v0' | 'v1',
  servicePath: string | null,
): string {
  const base = servicePath === null || servicePath === '' ? '/' : servicePath;
  // Without a path match (or without strip_path) the "postfix" is the whole
  // request path without its initial slash, as in Kong.
  const postfix =
    strippedPrefix !== null ? sanitizeUriPostfix(reqPath.slice(strippedPrefix.length)) : reqPath.slice(1);

  if (pathHandling === 'v1') {
    if (stripPath) {
      if (base.charCodeAt(base.length - 1) === SLASH && postfix.charCodeAt(0) === SLASH) {
        return base.slice(0, -1) + postfix;
      }
      return base + postfix;
    }
    return base + reqPath.slice(1);
  }
  return upstreamPathV0(reqPath, postfix, stripPath, base);
}

/** Kong's get_upstream_uri (v0), branch for branch. */
function upstreamPathV0(reqPath: string, postfix: string, stripPath: boolean, base: string): string {
  const reqEndsWithSlash = reqPath.charCodeAt(reqPath.length - 1) === SLASH;
  if (base.charCodeAt(base.length - 1) === SLASH) {
    if (!stripPath) {
      // keep the incoming path, prefixed by the service path, minus the initial slash
      return base + reqPath.slice(1);
    }
    if (postfix === '') {
      if (base === '/') return '/';
      return reqEndsWithSlash ? base : base.slice(0, -1);
    }
    if (postfix.charCodeAt(0) === SLASH) return base.slice(0, -1) + postfix; // double "/": drop one
    return base + postfix;
  }
  if (!stripPath) {
    return reqPath === '/' ? base : base + reqPath;
  }
  if (postfix === '') {
    return reqPath.length > 1 && reqEndsWithSlash ? base + '/' : base;
  }
  if (postfix.charCodeAt(0) === SLASH) return base + postfix;
  return base + '/' + postfix;
}
