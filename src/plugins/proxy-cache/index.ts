/**
 * proxy-cache (Kong's plugin of the same name): a reverse-proxy cache in
 * front of the upstream (kong/plugins/proxy-cache/handler.lua, Kong Gateway 3.9).
 *
 *   access         not cacheable (method, or request Cache-Control with
 *                  cache_control) → X-Cache-Status: Bypass. Otherwise compute
 *                  the cache key (X-Cache-Key) and look it up: a fresh entry is
 *                  answered here (Hit, with Age); none → Miss, stale → Refresh,
 *                  and the request goes upstream marked for storing.
 *   header_filter  the upstream's status / Content-Type / Cache-Control decide
 *                  whether the response is stored; if not → Bypass.
 *   body_filter    chunks pass through untouched while a copy is collected;
 *                  the entry is stored at the last chunk.
 *
 * Nothing is buffered unless the response is being stored, and streaming to
 * the client is never delayed. Entries live in one cache per node, shared by
 * every worker (memory-store.ts), one partition per plugin instance.
 */
import { Buffer } from 'node:buffer';
import type { Logger } from 'pino';
import type { RequestContext, HeaderBag } from '../../core/context.ts';
import * as pdk from '../../pdk/index.ts';
import { VERSION } from '../../version.ts';
import type { CompileEnv, PluginModule } from '../types.ts';
import { PROXY_CACHE_ADMIN_ROUTES } from './admin.ts';
import { parseDirectives, resourceTtl, seconds } from './cache-control.ts';
import { buildCacheKey, headersDigest, paramsDigest, prefix, queryArgs } from './cache-key.ts';
import { mediaTypeMatches, parseMediaType, type MediaType } from './content-type.ts';
import * as memory from './memory-store.ts';
import { schema, type ProxyCacheConfig } from './schema.ts';
import { clock } from '../../shared/clock.ts';

const NAME = 'proxy-cache';
/** Kong's CACHE_VERSION: the shape of a stored entry. */
export const CACHE_VERSION = 1;

const X_CACHE_STATUS = 'x-cache-status';
const X_CACHE_KEY = 'x-cache-key';
const AGE = 'age';

/**
 * Not replayed from the cache: hop-by-hop fields (RFC 9110 §7.6.1) and
 * Content-Length, which the answer recomputes (Kong's hop_by_hop_headers),
 * plus the plugin's own diagnostics, which are written afresh.
 */
const NOT_STORED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'content-length',
  X_CACHE_STATUS,
  X_CACHE_KEY,
  AGE,
]);

export interface CompiledProxyCache {
  readonly pluginId: string;
  /** The node-wide dictionary entries go to (memory.dictionary_name) and its byte budget. */
  readonly dictionary: memory.CacheDictionary;
  readonly log: Logger;
  readonly methods: ReadonlySet<string>;
  readonly statuses: ReadonlySet<number>;
  readonly contentTypes: readonly MediaType[];
  readonly cacheTtl: number;
  readonly cacheControl: boolean;
  readonly ignoreUriCase: boolean;
  readonly storageTtl: number | null;
  readonly varyQueryParams: readonly string[] | null;
  readonly varyHeaders: readonly string[] | null;
  readonly showAge: boolean;
  readonly showStatus: boolean;
  readonly showKey: boolean;
}

/** Per-request state while a response is on its way into the cache. */
interface Pending {
  readonly key: string;
  /** Set by header_filter once the response turned out cacheable. */
  headers: Record<string, string | string[]> | null;
  ttl: number;
  chunks: Buffer[];
  size: number;
  /** The body outgrew what the store could hold: stop collecting. */
  tooBig: boolean;
}

type Diagnostic = typeof X_CACHE_STATUS | typeof X_CACHE_KEY | typeof AGE;

/** Kong's set_header: a diagnostic header is sent when enabled, or always when the request carries Kong-Debug. */
function shows(ctx: RequestContext, conf: CompiledProxyCache, name: Diagnostic): boolean {
  if (ctx.req.headers['kong-debug'] !== undefined) return true;
  return name === X_CACHE_STATUS ? conf.showStatus : name === X_CACHE_KEY ? conf.showKey : conf.showAge;
}

function diagnostic(ctx: RequestContext, conf: CompiledProxyCache, name: Diagnostic, value: string): void {
  if (shows(ctx, conf, name)) pdk.response.setHeader(ctx, name, value);
}

/** Kong's cacheable_request. */
function cacheableRequest(ctx: RequestContext, conf: CompiledProxyCache, cc: ReturnType<typeof parseDirectives>): boolean {
  if (!conf.methods.has(ctx.method)) return false;
  // RFC 9111 §5.2.1.5 no-store / §5.2.1.4 no-cache, and §3.5: a shared cache
  // does not answer requests carrying Authorization from storage.
  if (conf.cacheControl && (cc.has('no-store') || cc.has('no-cache') || ctx.req.headers.authorization !== undefined)) return false;
  return true;
}

/** The request line as nginx's $request, minus the query (see cache-key.ts). */
function requestUri(ctx: RequestContext, conf: CompiledProxyCache): string {
  const req = ctx.req;
  let uri = `${ctx.method} ${req.url ?? '/'} HTTP/${req.httpVersion}`;
  const q = uri.indexOf('?');
  if (q !== -1) uri = uri.slice(0, q);
  return conf.ignoreUriCase ? uri.toLowerCase() : uri;
}

export function cacheKeyFor(ctx: RequestContext, conf: CompiledProxyCache): string {
  return buildCacheKey(
    prefix(ctx.consumer?.id ?? null, ctx.route?.id ?? null),
    ctx.method,
    requestUri(ctx, conf),
    paramsDigest(queryArgs(ctx.query), conf.varyQueryParams),
    headersDigest((name) => pdk.request.getHeaderValues(ctx, name), conf.varyHeaders),
  );
}

/** Mark the request for storing (Kong's signal_cache_req). */
function pending(ctx: RequestContext, conf: CompiledProxyCache, key: string, status: 'Miss' | 'Refresh'): void {
  const p: Pending = { key, headers: null, ttl: 0, chunks: [], size: 0, tooBig: false };
  pdk.setPluginState(ctx, NAME, p);
  diagnostic(ctx, conf, X_CACHE_STATUS, status);
}

/** Why a stored entry cannot answer this request (→ Refresh), or null when it can. */
function unusable(conf: CompiledProxyCache, cc: ReturnType<typeof parseDirectives>, entry: memory.CachedResponse, ageS: number): boolean {
  if (!conf.cacheControl) return ageS > conf.cacheTtl;
  // RFC 9111 §5.2.1.1 max-age, §5.2.1.2 max-stale, §5.2.1.3 min-fresh.
  const maxAge = seconds(cc, 'max-age');
  if (maxAge !== null && ageS > maxAge) return true;
  const maxStale = cc.get('max-stale');
  if (typeof maxStale === 'number' && ageS - entry.ttl > maxStale) return true;
  const minFresh = seconds(cc, 'min-fresh');
  if (minFresh !== null && entry.ttl - ageS < minFresh) return true;
  // §4.2.4: a stale entry (kept on by storage_ttl) is only served when the client accepts staleness.
  if (ageS > entry.ttl && maxStale === undefined) return true;
  return false;
}

function access(ctx: RequestContext, conf: CompiledProxyCache): void {
  const cc = parseDirectives(ctx.req.headers['cache-control']);
  if (!cacheableRequest(ctx, conf, cc)) {
    diagnostic(ctx, conf, X_CACHE_STATUS, 'Bypass');
    return;
  }
  const key = cacheKeyFor(ctx, conf);
  diagnostic(ctx, conf, X_CACHE_KEY, key);

  const now = clock.now();
  const entry = lookup(conf, key, now);
  if (entry === null) {
    // RFC 9111 §5.2.1.7: only-if-cached and nothing stored → 504.
    if (conf.cacheControl && cc.has('only-if-cached')) {
      pdk.response.exit(ctx, 504);
      return;
    }
    pending(ctx, conf, key, 'Miss');
    return;
  }
  const ageS = (now - entry.storedAt) / 1000;
  if (unusable(conf, cc, entry, ageS)) {
    pending(ctx, conf, key, 'Refresh');
    return;
  }

  // Hit: answer from the cache (Kong: kong.response.exit(res.status, res.body, res.headers)).
  const headers: HeaderBag = { ...entry.headers };
  if (shows(ctx, conf, AGE)) headers[AGE] = String(Math.floor(ageS));
  if (shows(ctx, conf, X_CACHE_STATUS)) headers[X_CACHE_STATUS] = 'Hit';
  if (shows(ctx, conf, X_CACHE_KEY)) headers[X_CACHE_KEY] = key;
  // Exposed to logging plugins as Kong's kong.ctx.shared.proxy_cache_hit.
  ctx.shared.proxy_cache_hit = { res: entry, req: { body: entry.reqBody } };
  pdk.response.exit(ctx, entry.status, entry.body, headers);
}

/** A response header as it will be sent: a plugin's value over the upstream's. */
function sent(ctx: RequestContext, name: string): string | string[] | undefined {
  const own = ctx.responseHeaders;
  if (own !== null && Object.hasOwn(own, name)) return own[name];
  return ctx.upstreamResponseHeaders?.[name];
}

/** Kong's cacheable_response. */
function cacheableResponse(ctx: RequestContext, conf: CompiledProxyCache, cc: ReturnType<typeof parseDirectives>, now: number): boolean {
  if (!conf.statuses.has(ctx.upstreamStatus)) return false;
  const type = sent(ctx, 'content-type');
  // Kong bails out when the type is absent, empty or repeated.
  if (type === undefined || Array.isArray(type) || type === '') return false;
  const actual = parseMediaType(type);
  if (actual === null || !conf.contentTypes.some((t) => mediaTypeMatches(t, actual))) return false;
  if (conf.cacheControl) {
    // RFC 9111 §5.2.2.7 private, §5.2.2.5 no-store, §5.2.2.4 no-cache.
    if (cc.has('private') || cc.has('no-store') || cc.has('no-cache')) return false;
    if (resourceTtl(cc, sent(ctx, 'expires'), now) <= 0) return false;
    // §4.1: "Vary: *" never matches a later request.
    const vary = sent(ctx, 'vary');
    if (vary !== undefined && (Array.isArray(vary) ? vary : [vary]).some((v) => v.split(',').some((f) => f.trim() === '*'))) return false;
  }
  return true;
}

/** The response headers to replay on a hit: the upstream's, with what earlier plugins changed. */
function headersToStore(ctx: RequestContext): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const up = ctx.upstreamResponseHeaders;
  if (up !== null) {
    for (const name in up) {
      const v = up[name];
      if (v !== undefined && !NOT_STORED.has(name)) out[name] = Array.isArray(v) ? [...v] : v;
    }
  }
  const own = ctx.responseHeaders;
  if (own !== null) {
    for (const name in own) {
      const key = name.toLowerCase();
      if (NOT_STORED.has(key)) continue;
      const v = own[name];
      if (v === undefined) delete out[key];
      else out[key] = Array.isArray(v) ? [...v] : v;
    }
  }
  // Kong never replays a rate-limiting plugin's remaining-count headers.
  for (const name in out) if (name.includes('ratelimit-remaining')) delete out[name];
  return out;
}

function header_filter(ctx: RequestContext, conf: CompiledProxyCache): void {
  const p = pdk.pluginState<Pending | null>(ctx, NAME);
  // Not cacheable, or answered from the cache.
  if (p === undefined || p === null) return;
  const now = clock.now();
  const cc = parseDirectives(sent(ctx, 'cache-control'));
  // An answer made by the gateway (a later plugin's exit, an upstream error) is not the upstream's response.
  if (ctx.exitStatus !== 0 || ctx.upstreamStatus === 0 || !cacheableResponse(ctx, conf, cc, now)) {
    diagnostic(ctx, conf, X_CACHE_STATUS, 'Bypass');
    pdk.setPluginState(ctx, NAME, null);
    return;
  }
  p.headers = headersToStore(ctx);
  p.ttl = conf.cacheControl ? resourceTtl(cc, sent(ctx, 'expires'), now) : conf.cacheTtl;
}

function body_filter(ctx: RequestContext, conf: CompiledProxyCache, chunk: Buffer, eof: boolean): Buffer {
  const p = pdk.pluginState<Pending | null>(ctx, NAME);
  if (p === undefined || p === null || p.headers === null) return chunk;
  if (!p.tooBig && chunk.length > 0) {
    p.size += chunk.length;
    if (p.size > conf.dictionary.maxBytes) {
      p.tooBig = true;
      p.chunks = [];
    } else {
      p.chunks.push(chunk);
    }
  }
  if (eof) {
    pdk.setPluginState(ctx, NAME, null);
    if (!p.tooBig) store(ctx, conf, p);
  }
  return chunk;
}

function store(ctx: RequestContext, conf: CompiledProxyCache, p: Pending): void {
  // Kong: storage_ttl, else the resource TTL with cache_control, else cache_ttl (0 = kept until evicted).
  const storageTtl = conf.storageTtl ?? p.ttl;
  if (storageTtl < 0) return;
  const storedAt = clock.now();
  const body = p.chunks.length === 1 ? p.chunks[0]! : Buffer.concat(p.chunks, p.size);
  try {
    storeEntry(conf, ctx, p, storedAt, storageTtl, body);
  } catch (err) {
    // The cache is an optimisation: a node-wide store that fails (e.g. /dev/shm full) costs a Miss later, not this response.
    warnStoreFailure(conf, err);
  }
}

function storeEntry(conf: CompiledProxyCache, ctx: RequestContext, p: Pending, storedAt: number, storageTtl: number, body: Buffer): void {
  memory.store(conf.dictionary, conf.pluginId, p.key, {
    status: ctx.upstreamStatus,
    headers: p.headers!,
    body,
    storedAt,
    ttl: p.ttl,
    expiresAt: storageTtl === 0 ? Number.POSITIVE_INFINITY : storedAt + storageTtl * 1000,
    version: CACHE_VERSION,
    reqBody: ctx.requestBody !== null ? ctx.requestBody.toString('utf8') : null,
  });
}

/** The stored entry, or null; a node-wide store that cannot be read counts as a miss (logged once a minute). */
function lookup(conf: CompiledProxyCache, key: string, now: number): memory.CachedResponse | null {
  try {
    return memory.fetch(conf.pluginId, key, now);
  } catch (err) {
    warnStoreFailure(conf, err);
    return null;
  }
}

let lastStoreWarning = 0;
function warnStoreFailure(conf: CompiledProxyCache, err: unknown): void {
  const now = clock.now();
  if (now - lastStoreWarning < 60_000) return;
  lastStoreWarning = now;
  conf.log.error({ err: (err as Error).message }, 'proxy-cache: the node-wide cache failed; requests go to the upstream meanwhile');
}


const warnedDictionaries = new Set<string>();

/**
 * Byte budget of a dictionary: its declared size (`lua_shared_dict`, Kong's
 * `nginx_http_lua_shared_dict` injection), `mem_cache_size` for Kong's
 * `kong_db_cache`. Kong refuses a dictionary nginx does not declare; here an
 * undeclared one gets `mem_cache_size`, with a warning once.
 */
function dictionarySize(name: string, env: CompileEnv): number {
  const declared = env.settings.sharedDicts?.[name];
  if (declared !== undefined) return declared;
  const size = env.settings.memCacheSize ?? memory.DEFAULT_MAX_BYTES;
  if (name !== memory.DEFAULT_DICTIONARY && !warnedDictionaries.has(name)) {
    warnedDictionaries.add(name);
    env.log.warn({ dictionary: name, bytes: size }, 'proxy-cache: memory.dictionary_name is not declared (lua_shared_dict); it gets mem_cache_size');
  }
  return size;
}

export const proxyCache: PluginModule<ProxyCacheConfig, CompiledProxyCache> = {
  name: NAME,
  adminRoutes: PROXY_CACHE_ADMIN_ROUTES,
  version: VERSION,
  // Kong's PRIORITY: after authentication (so the consumer is part of the key) and rate limiting.
  priority: 100,
  // Kong Enterprise lists this plugin among those that can be scoped to a consumer group.
  scopes: { consumer: true, route: true, service: true, consumer_group: true },
  schema,
  compile(config, env) {
    const types: MediaType[] = [];
    for (const t of config.content_type) {
      const m = parseMediaType(t);
      if (m !== null) types.push(m);
    }
    const name = config.memory.dictionary_name;
    return Object.freeze({
      pluginId: env.pluginId,
      dictionary: memory.dictionary(name, dictionarySize(name, env)),
      log: env.log,
      methods: new Set<string>(config.request_method),
      statuses: new Set(config.response_code),
      contentTypes: Object.freeze(types),
      cacheTtl: config.cache_ttl,
      cacheControl: config.cache_control,
      ignoreUriCase: config.ignore_uri_case === true,
      storageTtl: config.storage_ttl ?? null,
      varyQueryParams: config.vary_query_params ?? null,
      varyHeaders: config.vary_headers ?? null,
      showAge: config.response_headers?.age !== false,
      showStatus: config.response_headers?.['X-Cache-Status'] !== false,
      showKey: config.response_headers?.['X-Cache-Key'] !== false,
    });
  },
  access,
  header_filter,
  body_filter,
};

export default proxyCache;
