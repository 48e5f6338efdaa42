/**
 * cors (Kong's plugin of the same name): answer CORS preflights at the
 * gateway and add the CORS headers to every other response
 * (kong/plugins/cors/handler.lua, Kong Gateway 3.9; Fetch standard §3.2).
 *
 * Preflight = OPTIONS with both `Origin` and `Access-Control-Request-Method`.
 * It is answered here with 200 and no body, unless preflight_continue hands it
 * to the upstream untouched (then no CORS header is added at all, as Kong).
 */
import type { RequestContext } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { PluginModule } from '../types.ts';
import { compileOrigin, matches, normalizeOrigin, type NormalizedOrigin, type OriginMatcher } from './origin.ts';
import { check, schema, type CorsConfig } from './schema.ts';

const NAME = 'cors';
const ACAO = 'access-control-allow-origin';
const ACAC = 'access-control-allow-credentials';
const ALL_METHODS = 'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT';

export interface CompiledCors {
  /** No origins, or the single origin `*`. */
  readonly allowAll: boolean;
  /** One literal origin: sent as is, whatever the request's Origin. */
  readonly single: string | null;
  readonly matchers: readonly OriginMatcher[];
  /** Joined `headers`, or null to echo Access-Control-Request-Headers. */
  readonly allowHeaders: string | null;
  readonly exposeHeaders: string | null;
  readonly allowMethods: string;
  readonly maxAge: string | null;
  readonly credentials: boolean;
  readonly privateNetwork: boolean;
  readonly preflightContinue: boolean;
  readonly allowOriginAbsent: boolean;
}

/** Kong keeps a 10k-entry LRU of parsed request origins; a bounded map does the same job. */
const normalized = new Map<string, NormalizedOrigin>();
const NORMALIZED_MAX = 10_000;

function normalizedRequestOrigin(origin: string): NormalizedOrigin {
  let n = normalized.get(origin);
  if (n === undefined) {
    n = normalizeOrigin(origin);
    if (normalized.size >= NORMALIZED_MAX) normalized.clear();
    normalized.set(origin, n);
  }
  return n;
}

/** Vary: Origin — replaced on a preflight, appended to the upstream's Vary otherwise. */
function addVary(ctx: RequestContext, headerFilter: boolean): void {
  if (!headerFilter) {
    pdk.response.setHeader(ctx, 'vary', 'Origin');
    return;
  }
  const own = ctx.responseHeaders?.['vary'];
  const existing = own !== undefined ? own : ctx.upstreamResponseHeaders?.['vary'];
  if (existing === undefined || existing === '') {
    pdk.response.setHeader(ctx, 'vary', 'Origin');
    return;
  }
  const list = Array.isArray(existing) ? existing : [existing];
  for (const v of list) if (/(^|,)\s*origin\s*(,|$)/i.test(v)) return;
  pdk.response.setHeader(ctx, 'vary', [...list, 'Origin']);
}

/** Returns true when the origin is "*" (allow all). */
function configureOrigin(ctx: RequestContext, conf: CompiledCors, headerFilter: boolean): boolean {
  if (conf.allowAll) {
    pdk.response.setHeader(ctx, ACAO, '*');
    return true;
  }
  // Always vary on Origin: caches must not serve one origin's answer to another.
  addVary(ctx, headerFilter);
  if (conf.single !== null) {
    pdk.response.setHeader(ctx, ACAO, conf.single);
    return false;
  }
  const reqOrigin = pdk.request.getHeader(ctx, 'origin');
  if (reqOrigin !== undefined) {
    const origin = normalizedRequestOrigin(reqOrigin);
    for (const m of conf.matchers) {
      if (matches(m, origin)) {
        pdk.response.setHeader(ctx, ACAO, origin.domain);
        return false;
      }
    }
  }
  pdk.response.clearHeader(ctx, ACAO);
  return false;
}

function configureCredentials(ctx: RequestContext, conf: CompiledCors, allowAll: boolean, headerFilter: boolean): void {
  if (!conf.credentials) return;
  if (!allowAll) {
    pdk.response.setHeader(ctx, ACAC, 'true');
    return;
  }
  // Fetch §3.2.5: credentials are refused with `*`, so echo the request's origin instead.
  const reqOrigin = pdk.request.getHeader(ctx, 'origin');
  if (reqOrigin !== undefined) {
    addVary(ctx, headerFilter);
    pdk.response.setHeader(ctx, ACAO, reqOrigin);
    pdk.response.setHeader(ctx, ACAC, 'true');
  }
}

function access(ctx: RequestContext, conf: CompiledCors): void {
  if (ctx.method !== 'OPTIONS') return;
  if (pdk.request.getHeader(ctx, 'origin') === undefined) return;
  if (pdk.request.getHeader(ctx, 'access-control-request-method') === undefined) return;

  // A preflight: either delegated to the upstream, or answered here with every header.
  pdk.setPluginState(ctx, NAME, true);
  if (conf.preflightContinue) return;

  const allowAll = configureOrigin(ctx, conf, false);
  configureCredentials(ctx, conf, allowAll, false);

  if (conf.allowHeaders !== null) {
    pdk.response.setHeader(ctx, 'access-control-allow-headers', conf.allowHeaders);
  } else {
    const acrh = pdk.request.getHeader(ctx, 'access-control-request-headers');
    if (acrh !== undefined) pdk.response.setHeader(ctx, 'access-control-allow-headers', acrh);
    else pdk.response.clearHeader(ctx, 'access-control-allow-headers');
  }
  pdk.response.setHeader(ctx, 'access-control-allow-methods', conf.allowMethods);
  if (conf.maxAge !== null) pdk.response.setHeader(ctx, 'access-control-max-age', conf.maxAge);
  if (conf.privateNetwork && pdk.request.getHeader(ctx, 'access-control-request-private-network') === 'true') {
    pdk.response.setHeader(ctx, 'access-control-allow-private-network', 'true');
  }
  pdk.response.exit(ctx, 200);
}

function header_filter(ctx: RequestContext, conf: CompiledCors): void {
  if (pdk.pluginState<boolean>(ctx, NAME) === true) return;
  if (!conf.allowOriginAbsent && pdk.request.getHeader(ctx, 'origin') === undefined) return;
  const allowAll = configureOrigin(ctx, conf, true);
  configureCredentials(ctx, conf, allowAll, true);
  if (conf.exposeHeaders !== null) pdk.response.setHeader(ctx, 'access-control-expose-headers', conf.exposeHeaders);
}

export const cors: PluginModule<CorsConfig, CompiledCors> = {
  name: NAME,
  version: VERSION,
  priority: 2000,
  // Kong: consumer = typedefs.no_consumer (cannot be attached to a consumer).
  scopes: { consumer: false, route: true, service: true },
  schema,
  check,
  compile(config) {
    const origins = config.origins ?? [];
    const allowAll = origins.length === 0 || (origins.length === 1 && origins[0] === '*');
    const single = !allowAll && origins.length === 1 && /^[A-Za-z0-9.:/-]+$/.test(origins[0]!) ? origins[0]! : null;
    return Object.freeze({
      allowAll,
      single,
      matchers: Object.freeze(allowAll ? [] : origins.map(compileOrigin)),
      allowHeaders: config.headers !== null && config.headers.length > 0 ? config.headers.join(',') : null,
      exposeHeaders: config.exposed_headers !== null && config.exposed_headers.length > 0 ? config.exposed_headers.join(',') : null,
      allowMethods: config.methods !== null ? config.methods.join(',') : ALL_METHODS,
      maxAge: config.max_age !== null ? String(config.max_age) : null,
      credentials: config.credentials,
      privateNetwork: config.private_network,
      preflightContinue: config.preflight_continue,
      allowOriginAbsent: config.allow_origin_absent,
    });
  },
  access,
  header_filter,
};

export default cors;
