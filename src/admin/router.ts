/**
 * Path routing for the Admin API: `/services/:services/routes` style
 * patterns, static segments winning over parameters (so `/plugins/enabled`
 * beats `/plugins/:plugins`), one trailing slash tolerated as Kong does, and
 * 405 when a path exists but not for the method.
 *
 * Plugins declare their endpoints (PluginModule.adminRoutes, e.g. the
 * openid-connect issuer cache), gathered by withExtensions; the core never
 * names them. `registerAdminRoute` remains for embedders and tests.
 */
import type { AdminHandler, RouteOptions } from './types.ts';

interface Segment {
  static: string | null;
  param: string | null;
}

export interface RouteDef {
  method: string;
  pattern: string;
  segments: Segment[];
  handler: AdminHandler;
  options: RouteOptions;
}

export type MatchResult =
  | { kind: 'ok'; route: RouteDef; params: Record<string, string> }
  | { kind: 'method'; allowed: string[] }
  | { kind: 'none' };

function compile(method: string, pattern: string, handler: AdminHandler, options: RouteOptions): RouteDef {
  const segments = pattern
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (s.startsWith(':') ? { static: null, param: s.slice(1) } : { static: s, param: null }));
  return { method: method.toUpperCase(), pattern, segments, handler, options };
}

export function splitPath(path: string): string[] | null {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const parts = trimmed.split('/').filter((s, i) => !(i === 0 && s === ''));
  if (parts.length === 1 && parts[0] === '') return [];
  try {
    return parts.map((p) => decodeURIComponent(p));
  } catch {
    return null;
  }
}

export class AdminRouter {
  readonly routes: RouteDef[] = [];

  add(method: string, pattern: string, handler: AdminHandler, options: RouteOptions = {}): void {
    this.routes.push(compile(method, pattern, handler, options));
  }

  match(method: string, path: string, extra: readonly RouteDef[] = []): MatchResult {
    const parts = splitPath(path);
    if (parts === null) return { kind: 'none' };
    let best: { route: RouteDef; params: Record<string, string>; score: number } | null = null;
    const allowed = new Set<string>();
    let bestAnyScore = -1;
    const candidates: Array<{ route: RouteDef; params: Record<string, string>; score: number }> = [];
    for (const route of [...this.routes, ...extra]) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let score = 0;
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i]!;
        if (seg.static !== null) {
          if (seg.static !== parts[i]) {
            ok = false;
            break;
          }
          // earlier static segments weigh more: /plugins/enabled beats /:x/enabled
          score += 2 ** (parts.length - i);
        } else {
          params[seg.param!] = parts[i]!;
        }
      }
      if (!ok) continue;
      candidates.push({ route, params, score });
      if (score > bestAnyScore) bestAnyScore = score;
    }
    // only the most specific pattern(s) decide; a less specific one must not answer
    for (const c of candidates) {
      if (c.score !== bestAnyScore) continue;
      allowed.add(c.route.method);
      // every GET route answers HEAD too, so Allow lists it (Kong: `Allow: GET, HEAD, OPTIONS, POST`)
      if (c.route.method === 'GET') allowed.add('HEAD');
      if (c.route.method === method || (method === 'HEAD' && c.route.method === 'GET')) {
        if (best === null) best = c;
      }
    }
    if (best !== null) return { kind: 'ok', route: best.route, params: best.params };
    if (allowed.size > 0) return { kind: 'method', allowed: [...allowed] };
    return { kind: 'none' };
  }
}

const extensions: RouteDef[] = [];

/**
 * Add an Admin API endpoint from outside the core (a plugin's own API).
 * `pattern` uses `:name` parameters; the handler gets parsed params, query
 * and body and returns `{ status, body }`. Registered routes are live at once
 * on every running Admin API. Re-registering the same method and pattern
 * replaces the earlier handler.
 */
export function registerAdminRoute(method: string, pattern: string, handler: AdminHandler, options: RouteOptions = {}): void {
  const def = compile(method, pattern, handler, options);
  const i = extensions.findIndex((r) => r.method === def.method && r.pattern === def.pattern);
  if (i >= 0) extensions[i] = def;
  else extensions.push(def);
}

/** Remove an extension endpoint (tests, plugin unload). */
export function unregisterAdminRoute(method: string, pattern: string): void {
  const i = extensions.findIndex((r) => r.method === method.toUpperCase() && r.pattern === pattern);
  if (i >= 0) extensions.splice(i, 1);
}

const compiledPluginRoutes = new WeakMap<object, RouteDef>();

/**
 * Plugins' declared endpoints (PluginModule.adminRoutes) as routes, then the
 * ones added with registerAdminRoute. Each declaration is compiled once.
 */
export function withExtensions(pluginRoutes: ReadonlyArray<{ method: string; pattern: string; handler: AdminHandler; nodeLocal?: boolean }>): RouteDef[] {
  const out: RouteDef[] = [];
  for (const r of pluginRoutes) {
    let def = compiledPluginRoutes.get(r);
    if (def === undefined) {
      def = compile(r.method, r.pattern, r.handler, r.nodeLocal === true ? { nodeLocal: true } : {});
      compiledPluginRoutes.set(r, def);
    }
    out.push(def);
  }
  out.push(...extensions);
  return out;
}
