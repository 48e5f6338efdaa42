/**
 * Router contract (Kong `traditional_compatible` semantics). compile.ts builds
 * a Router from routes + services once per configuration; match() is the hot
 * path: no I/O, no regex scan over every route.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteEntity, ServiceEntity } from '../../schema/entities/types.ts';

export interface RouterInput {
  method: string;
  /** Host header without port, lower-cased ('' when absent). */
  host: string;
  /** Port the client addressed (from Host, else the listener's port). */
  port: number;
  /** Normalised request path (see normalize.ts). */
  path: string;
  headers: IncomingHttpHeaders;
  /**
   * Optional: each header's values as sent, one entry per header line (Node's
   * `req.headersDistinct`). When given, route `headers` conditions test each
   * value separately, as Kong does; otherwise a comma-joined value is tried
   * whole and then split at commas.
   */
  headersDistinct?: Record<string, string[] | undefined>;
  /** TLS server name, or null on plain http. */
  sni: string | null;
  scheme: 'http' | 'https';
}

export interface RouteMatch {
  route: RouteEntity;
  service: ServiceEntity | null;
  /** Path the upstream receives: strip_path / path_handling applied and joined with service.path. */
  upstreamPath: string;
  /** The route path that matched, as configured (regex paths keep their `~`), or null when the route has no paths. */
  matchedPath: string | null;
  /** Regex captures, numbered ("0","1",…) and named (Kong's uri_captures), or null. */
  uriCaptures: Record<string, string> | null;
  /**
   * The part of the request path that strip_path removed (the matched prefix,
   * or the whole regex match), or null when nothing was stripped. Kong's
   * `match_t.prefix`, used for X-Forwarded-Prefix.
   */
  strippedPrefix: string | null;
}

/**
 * Protocols are NOT checked by match(): a route matches whatever the scheme,
 * and the caller compares `route.protocols` with the request's scheme to
 * answer Kong's 426 / https_redirect_status_code (as Kong's runloop does after
 * the router). SNI conditions only apply to https requests (Kong #6425).
 * Routes whose service has `enabled: false` are not in the router (Kong: "as
 * if any routes attached to it do not exist").
 */
export interface Router {
  readonly size: number;
  match(input: RouterInput): RouteMatch | null;
}
