/**
 * The plugin's named caches (ARCHITECTURE principle 9). Each is a bounded LRU
 * with per-entry TTL, keyed by a SHA-256 of what it caches so that no token
 * is kept as a map key. They live at module level, shared by every compiled
 * instance, so a configuration change elsewhere keeps them warm.
 *
 * Freshness, documented once here:
 * - verified JWTs: until the token's `exp` (+ leeway), at most `cache_ttl`;
 *   entries are keyed by token *and* verification policy, so two plugin
 *   instances with different rules never share a verdict.
 * - introspection / userinfo / token endpoint results: until the token's
 *   `exp` (or `expires_in`), at most `cache_ttl` (and `cache_ttl_max` /
 *   `cache_ttl_min`); negative answers (inactive token, 401 from userinfo,
 *   invalid_grant) for `cache_ttl_neg` (default 30 s).
 * Loaders are single-flight: concurrent requests for one key share one
 * IdP call.
 */
import { hash } from 'node:crypto';

interface Entry<V> {
  value: V;
  expiresAt: number;
}

export class TtlCache<V> {
  readonly name: string;
  private readonly max: number;
  private readonly map = new Map<string, Entry<V>>();
  private readonly inflight = new Map<string, Promise<V>>();

  constructor(name: string, maxEntries: number) {
    this.name = name;
    this.max = maxEntries;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string, now = Date.now()): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.map.delete(key);
      return undefined;
    }
    // LRU: re-insert to mark as most recently used.
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: string, value: V, ttlMs: number, now = Date.now()): void {
    if (!(ttlMs > 0)) return;
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, { value, expiresAt: now + ttlMs });
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /**
   * Cached value, or the loader's result shared by every concurrent caller.
   * The loader decides the TTL (it knows the token's expiry); a thrown error
   * is not cached (an IdP outage must not be remembered as a verdict).
   */
  async load(key: string, loader: () => Promise<{ value: V; ttlMs: number }>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    let p = this.inflight.get(key);
    if (p === undefined) {
      p = (async () => {
        try {
          const { value, ttlMs } = await loader();
          this.set(key, value, ttlMs);
          return value;
        } finally {
          this.inflight.delete(key);
        }
      })();
      this.inflight.set(key, p);
    }
    return p;
  }
}

/**
 * SHA-256 of the parts joined by NUL, base64url: a cache key that does not
 * contain the credential. One-shot `crypto.hash` (no Hash object, one native
 * call): on a verified-token cache hit this is most of the lookup's cost.
 */
export function cacheKey(...parts: string[]): string {
  return hash('sha256', parts.length === 1 ? parts[0]! : parts.join('\0'), 'base64url');
}

/** TTL policy compiled from cache_ttl, cache_ttl_max, cache_ttl_min, cache_ttl_neg (seconds in config, ms here). */
export interface CachePolicy {
  readonly defaultTtlMs: number;
  readonly maxTtlMs: number | null;
  readonly minTtlMs: number | null;
  readonly negativeTtlMs: number;
  readonly tokens: boolean;
  readonly introspection: boolean;
  readonly userinfo: boolean;
  readonly tokensSalt: string;
  readonly includeScopeInTokenKey: boolean;
}

/** Default negative TTL when cache_ttl_neg is unset (Kong leaves it to its cache's default). */
const DEFAULT_NEGATIVE_TTL_MS = 30_000;

export function compileCachePolicy(c: {
  cache_ttl: number;
  cache_ttl_max: number | null;
  cache_ttl_min: number | null;
  cache_ttl_neg: number | null;
  cache_tokens: boolean;
  cache_introspection: boolean;
  cache_user_info: boolean;
  cache_tokens_salt: string | null;
  token_cache_key_include_scope: boolean;
}): CachePolicy {
  const max = c.cache_ttl_max !== null && c.cache_ttl_max > 0 ? c.cache_ttl_max * 1000 : null;
  let min = c.cache_ttl_min !== null && c.cache_ttl_min > 0 ? c.cache_ttl_min * 1000 : null;
  if (max !== null && min !== null && min > max) min = max;
  let dflt = c.cache_ttl * 1000;
  if (max !== null && dflt > max) dflt = max;
  if (min !== null && dflt < min) dflt = min;
  return Object.freeze({
    defaultTtlMs: dflt,
    maxTtlMs: max,
    minTtlMs: min,
    negativeTtlMs: c.cache_ttl_neg !== null ? c.cache_ttl_neg * 1000 : DEFAULT_NEGATIVE_TTL_MS,
    tokens: c.cache_tokens,
    introspection: c.cache_introspection,
    userinfo: c.cache_user_info,
    tokensSalt: c.cache_tokens_salt ?? '',
    includeScopeInTokenKey: c.token_cache_key_include_scope,
  });
}

/**
 * TTL for a positive entry: until `expSeconds` (epoch seconds) when known,
 * else the default; clamped by cache_ttl_max/min, and never past `exp`.
 */
export function positiveTtlMs(policy: CachePolicy, expSeconds: number | null, now = Date.now()): number {
  // Kong: cache_ttl is "the default cache ttl ... in case the cached object does not specify the expiry".
  if (expSeconds === null) return policy.defaultTtlMs;
  let ttl = expSeconds * 1000 - now;
  if (policy.maxTtlMs !== null && ttl > policy.maxTtlMs) ttl = policy.maxTtlMs;
  // cache_ttl_min is not allowed to keep an entry past the token's own expiry (kept stricter than Kong on purpose).
  return ttl;
}

// ------------------------------------------------------------------ the named caches

/** Result of a verification that may be cached: either claims or a refusal reason. */
export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: string; expired: boolean };

export const caches = {
  /** token hash + policy → verified JWT (claims, header, key). Skips signature work for repeat tokens. */
  verifiedJwt: new TtlCache<Verdict<unknown>>('verified-jwt', 50_000),
  /** token hash + endpoint + client → introspection response (or negative). */
  introspection: new TtlCache<Verdict<Record<string, unknown>>>('introspection', 20_000),
  /** token hash + endpoint → userinfo response (or negative). */
  userinfo: new TtlCache<Verdict<Record<string, unknown>>>('userinfo', 20_000),
  /** grant parameters hash + endpoint + client → token endpoint response (or negative). */
  tokens: new TtlCache<Verdict<Record<string, unknown>>>('tokens', 20_000),
};

/** Forget every cached verdict (Admin DELETE /openid-connect/issuers, tests). */
export function clearTokenCaches(): void {
  caches.verifiedJwt.clear();
  caches.introspection.clear();
  caches.userinfo.clear();
  caches.tokens.clear();
}
