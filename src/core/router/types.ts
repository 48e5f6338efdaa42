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
  /** TLS server name, or null on plain http. */
  sni: string | null;
  scheme: 'http' | 'https';
}

export interface RouteMatch {
  route: RouteEntity;
  service: ServiceEntity | null;
  /** Path the upstream receives: strip_path / path_handling applied and joined with service.path. */
  upstreamPath: string;
  /** The route path (prefix or regex source) that matched, or null when the route has no paths. */
  matchedPath: string | null;
  /** Regex captures, numbered ("0","1",…) and named (Kong's uri_captures), or null. */
  uriCaptures: Record<string, string> | null;
}

export interface Router {
  readonly size: number;
  match(input: RouterInput): RouteMatch | null;
}
