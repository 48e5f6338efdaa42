/**
 * Session options and their defaults — Kong's `openid-connect` session
 * parameters (Kong 3.x, lua-resty-session 4) in camelCase, plus the mapping
 * from a plugin configuration (`sessionOptionsFromKong`), including the
 * pre-3.0 names `session_cookie_lifetime` (→ rolling timeout),
 * `session_cookie_idletime` (→ idling timeout), `session_cookie_samesite` and
 * `session_cookie_httponly`.
 */
import { nodeList } from '../../../redis/connection.ts';
import type { SameSite } from './cookies.ts';
import type { RedisStoreOptions, SessionStore } from './store.ts';

/**
 * Storage back-ends this implementation supports. Kong's `memcache` /
 * `memcached` are not supported (the schema rejects them); `memory` is ours,
 * for a single node.
 */
export const SUPPORTED_SESSION_STORAGES = ['cookie', 'redis', 'memory'] as const;
export type SessionStorage = (typeof SUPPORTED_SESSION_STORAGES)[number];

export interface SessionOptions {
  /** Secret the cookie keys are derived from (Kong's `session_secret`). Required. */
  secret: string;
  /** Previous secrets still accepted when opening (rotation); new cookies use `secret`. */
  secretFallbacks?: readonly string[];
  /** `session_cookie_name`, default "session". */
  cookieName?: string;
  /** `session_cookie_path`, default "/". */
  cookiePath?: string;
  /** `session_cookie_domain`, default none (host-only cookie). */
  cookieDomain?: string;
  /** `session_cookie_same_site`, default "Lax"; "Default" omits the attribute. */
  cookieSameSite?: SameSite;
  /** `session_cookie_http_only`, default true. */
  cookieHttpOnly?: boolean;
  /** `session_cookie_secure`; unset = Secure when the request came over https. */
  cookieSecure?: boolean;
  /** `session_idling_timeout` seconds, default 900; 0 disables. */
  idlingTimeout?: number;
  /** `session_rolling_timeout` seconds, default 3600; 0 disables. */
  rollingTimeout?: number;
  /** `session_absolute_timeout` seconds, default 86400; 0 disables. */
  absoluteTimeout?: number;
  /** `session_remember`: also keep a persistent cookie that restores the session. Default false. */
  remember?: boolean;
  /** `session_remember_cookie_name`, default "remember". */
  rememberCookieName?: string;
  /** `session_remember_rolling_timeout`, default 604800 (1 week). */
  rememberRollingTimeout?: number;
  /** `session_remember_absolute_timeout`, default 2592000 (30 days). */
  rememberAbsoluteTimeout?: number;
  /** `session_storage`: cookie (default), redis or memory. */
  storage?: SessionStorage;
  /** Redis connection (Kong's `redis` record) when storage is redis. */
  redis?: RedisStoreOptions;
  /** A store to use instead of the built-in ones (tests, embedding). */
  store?: SessionStore;
  /** Seconds a replaced server-side session stays readable (concurrent requests). Default 10. */
  staleTtl?: number;
  /** Seconds of inactivity before a request re-sends the cookie to move the idle deadline. Default 60. */
  touchThreshold?: number;
  /** Deflate session data larger than this many bytes before encryption; 0 = never. Default 0. */
  compressAbove?: number;
}

export interface ResolvedSessionOptions {
  secret: string;
  secretFallbacks: readonly string[];
  cookieName: string;
  cookiePath: string;
  cookieDomain: string | undefined;
  cookieSameSite: SameSite;
  cookieHttpOnly: boolean;
  cookieSecure: boolean | undefined;
  idlingTimeout: number;
  rollingTimeout: number;
  absoluteTimeout: number;
  remember: boolean;
  rememberCookieName: string;
  rememberRollingTimeout: number;
  rememberAbsoluteTimeout: number;
  storage: SessionStorage;
  redis: RedisStoreOptions;
  store: SessionStore | undefined;
  staleTtl: number;
  touchThreshold: number;
  compressAbove: number;
}

export const SESSION_DEFAULTS = {
  cookieName: 'session',
  cookiePath: '/',
  cookieSameSite: 'Lax',
  cookieHttpOnly: true,
  idlingTimeout: 900,
  rollingTimeout: 3600,
  absoluteTimeout: 86400,
  remember: false,
  rememberCookieName: 'remember',
  rememberRollingTimeout: 604800,
  rememberAbsoluteTimeout: 2592000,
  storage: 'cookie',
  staleTtl: 10,
  touchThreshold: 60,
  compressAbove: 0,
} as const;

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function nonNegative(name: string, v: number | undefined, d: number): number {
  const n = v ?? d;
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`session option ${name} must be a number ≥ 0`);
  return Math.floor(n);
}

export function resolveSessionOptions(o: SessionOptions): ResolvedSessionOptions {
  if (typeof o.secret !== 'string' || o.secret === '') throw new TypeError('session option secret is required');
  const cookieName = o.cookieName ?? SESSION_DEFAULTS.cookieName;
  const rememberCookieName = o.rememberCookieName ?? SESSION_DEFAULTS.rememberCookieName;
  for (const [k, v] of [['cookieName', cookieName], ['rememberCookieName', rememberCookieName]] as const) {
    if (!COOKIE_NAME.test(v)) throw new TypeError(`session option ${k} is not a valid cookie name`);
  }
  const storage = o.storage ?? SESSION_DEFAULTS.storage;
  if (!(SUPPORTED_SESSION_STORAGES as readonly string[]).includes(storage)) {
    throw new TypeError(`session storage ${String(storage)} is not supported (use ${SUPPORTED_SESSION_STORAGES.join(', ')})`);
  }
  return {
    secret: o.secret,
    secretFallbacks: o.secretFallbacks ?? [],
    cookieName,
    cookiePath: o.cookiePath ?? SESSION_DEFAULTS.cookiePath,
    cookieDomain: o.cookieDomain,
    cookieSameSite: o.cookieSameSite ?? SESSION_DEFAULTS.cookieSameSite,
    cookieHttpOnly: o.cookieHttpOnly ?? SESSION_DEFAULTS.cookieHttpOnly,
    cookieSecure: o.cookieSecure,
    idlingTimeout: nonNegative('idlingTimeout', o.idlingTimeout, SESSION_DEFAULTS.idlingTimeout),
    rollingTimeout: nonNegative('rollingTimeout', o.rollingTimeout, SESSION_DEFAULTS.rollingTimeout),
    absoluteTimeout: nonNegative('absoluteTimeout', o.absoluteTimeout, SESSION_DEFAULTS.absoluteTimeout),
    remember: o.remember ?? SESSION_DEFAULTS.remember,
    rememberCookieName,
    rememberRollingTimeout: nonNegative('rememberRollingTimeout', o.rememberRollingTimeout, SESSION_DEFAULTS.rememberRollingTimeout),
    rememberAbsoluteTimeout: nonNegative('rememberAbsoluteTimeout', o.rememberAbsoluteTimeout, SESSION_DEFAULTS.rememberAbsoluteTimeout),
    storage,
    redis: o.redis ?? {},
    store: o.store,
    staleTtl: nonNegative('staleTtl', o.staleTtl, SESSION_DEFAULTS.staleTtl),
    touchThreshold: nonNegative('touchThreshold', o.touchThreshold, SESSION_DEFAULTS.touchThreshold),
    compressAbove: nonNegative('compressAbove', o.compressAbove, SESSION_DEFAULTS.compressAbove),
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

/**
 * SessionOptions from an `openid-connect` plugin config (Kong's names).
 * New names win over legacy ones when both are set explicitly; since the
 * schema fills defaults for the new names, a legacy value is used only when
 * the new one still holds its default. `secret` is `session_secret` or, when
 * unset, the gateway-wide generated secret passed by the caller.
 */
export function sessionOptionsFromKong(config: Record<string, unknown>, fallbackSecret: string): SessionOptions {
  const pick = (current: number | undefined, legacy: number | undefined, dflt: number): number =>
    current !== undefined && current !== dflt ? current : legacy ?? current ?? dflt;
  const sameSite = str(config.session_cookie_same_site) ?? str(config.session_cookie_samesite);
  const storage = str(config.session_storage);
  const redis = config.redis !== null && typeof config.redis === 'object' ? (config.redis as Record<string, unknown>) : {};
  return {
    secret: str(config.session_secret) ?? fallbackSecret,
    cookieName: str(config.session_cookie_name),
    cookiePath: str(config.session_cookie_path),
    cookieDomain: str(config.session_cookie_domain),
    // Legacy 'off' meant "do not send SameSite" — today's 'Default'.
    cookieSameSite: sameSite === 'off' ? 'Default' : (sameSite as SameSite | undefined),
    cookieHttpOnly: bool(config.session_cookie_http_only) ?? bool(config.session_cookie_httponly),
    cookieSecure: bool(config.session_cookie_secure),
    idlingTimeout: pick(num(config.session_idling_timeout), num(config.session_cookie_idletime), SESSION_DEFAULTS.idlingTimeout),
    rollingTimeout: pick(num(config.session_rolling_timeout), num(config.session_cookie_lifetime), SESSION_DEFAULTS.rollingTimeout),
    absoluteTimeout: num(config.session_absolute_timeout),
    remember: bool(config.session_remember),
    rememberCookieName: str(config.session_remember_cookie_name),
    rememberRollingTimeout: num(config.session_remember_rolling_timeout),
    rememberAbsoluteTimeout: num(config.session_remember_absolute_timeout),
    storage: storage === undefined ? undefined : (storage as SessionStorage),
    redis: sessionRedisOptions(config, redis),
  };
}

/**
 * The session `redis` record. A deprecated `session_redis_*` shorthand that is
 * set wins over the record (Kong's shorthand translation writes it into the
 * record): the record's fields always hold defaults, so "new field unless
 * default" would silently drop a legacy `session_redis_host`.
 */
function sessionRedisOptions(config: Record<string, unknown>, redis: Record<string, unknown>): RedisStoreOptions {
  const sentinelRole = str(redis.sentinel_role);
  return {
    host: str(config.session_redis_host) ?? str(redis.host),
    port: num(config.session_redis_port) ?? num(redis.port),
    socket: str(config.session_redis_socket) ?? str(redis.socket),
    username: str(config.session_redis_username) ?? str(redis.username),
    password: str(config.session_redis_password) ?? str(config.session_redis_auth) ?? str(redis.password),
    database: num(redis.database),
    ssl: bool(config.session_redis_ssl) ?? bool(redis.ssl),
    ssl_verify: bool(config.session_redis_ssl_verify) ?? bool(redis.ssl_verify),
    server_name: str(config.session_redis_server_name) ?? str(redis.server_name),
    connect_timeout: num(config.session_redis_connect_timeout) ?? num(redis.connect_timeout),
    read_timeout: num(config.session_redis_read_timeout) ?? num(redis.read_timeout),
    prefix: str(config.session_redis_prefix) ?? str(redis.prefix),
    sentinel_master: str(redis.sentinel_master),
    sentinel_role: sentinelRole === 'any' || sentinelRole === 'master' || sentinelRole === 'slave' ? sentinelRole : undefined,
    sentinel_nodes: nodeList(redis.sentinel_nodes, 'host') ?? undefined,
    sentinel_username: str(redis.sentinel_username),
    sentinel_password: str(redis.sentinel_password),
    cluster_nodes: nodeList(config.session_redis_cluster_nodes, 'ip') ?? nodeList(redis.cluster_nodes, 'ip') ?? undefined,
    cluster_max_redirections: num(config.session_redis_cluster_max_redirections) ?? num(redis.cluster_max_redirections),
    connection_is_proxied: bool(redis.connection_is_proxied),
  };
}
