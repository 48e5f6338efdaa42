/**
 * One Redis connection from Kong's `redis` record, for every Redis user
 * (rate-limiting's redis policy, openid-connect sessions): standalone,
 * Sentinel or Cluster, through ioredis's own support for each.
 *
 * The mode follows Kong Enterprise's redis record (kong/enterprise_edition/
 * tools/redis/v2): `cluster_nodes` set → Redis Cluster; `sentinel_master` +
 * `sentinel_nodes` set → Sentinel; otherwise host/port (or a unix socket).
 * In Sentinel and Cluster mode `host`/`port` are not used — they keep their
 * defaults in Kong's schema, so they cannot mean "also connect here".
 * `connection_is_proxied` says host/port is a proxy that speaks for a cluster
 * (e.g. Envoy): one plain connection, no topology discovery.
 */
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';

/**
 * ioredis is loaded on the first client, not with this module: its files require each other in a
 * cycle, so the stepwise plugin loader (src/plugins/load-stepwise.ts) must load it in one piece —
 * 70–90 ms of a serving worker's event loop, and ~9 MB — which every openid-connect worker paid
 * whether or not its configuration uses Redis. Now only a worker that opens a Redis connection does.
 */
const requireHere = createRequire(import.meta.url);
let ioredis: typeof import('ioredis') | null = null;
const lib = (): typeof import('ioredis') => (ioredis ??= requireHere('ioredis') as typeof import('ioredis'));

export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** The connection-relevant fields of Kong's `redis` record, already resolved (ms timeouts). */
export interface RedisConnectionConfig {
  host?: string | null;
  port?: number | null;
  /** Unix socket path (openid-connect's `redis.socket`); wins over host/port. */
  socket?: string | null;
  username?: string | null;
  password?: string | null;
  database?: number | null;
  ssl?: boolean | null;
  ssl_verify?: boolean | null;
  server_name?: string | null;
  connect_timeout?: number | null;
  /** Per command (Kong's read_timeout / timeout). */
  command_timeout?: number | null;
  sentinel_master?: string | null;
  sentinel_role?: 'any' | 'master' | 'slave' | null;
  sentinel_nodes?: readonly RedisNodeAddress[] | null;
  sentinel_username?: string | null;
  sentinel_password?: string | null;
  cluster_nodes?: readonly RedisNodeAddress[] | null;
  cluster_max_redirections?: number | null;
  connection_is_proxied?: boolean | null;
}

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

export type RedisClient = Redis | Cluster;

/** The behaviour every client gets from its user (retry policy, lazy connect …). */
export type ClientBehaviour = Pick<RedisOptions, 'lazyConnect' | 'maxRetriesPerRequest' | 'retryStrategy' | 'enableOfflineQueue'>;

const nonEmpty = (list: readonly unknown[] | null | undefined): boolean => Array.isArray(list) && list.length > 0;

export function redisMode(c: RedisConnectionConfig): RedisMode {
  if (c.connection_is_proxied === true) return 'standalone';
  if (nonEmpty(c.cluster_nodes)) return 'cluster';
  if (typeof c.sentinel_master === 'string' && nonEmpty(c.sentinel_nodes)) return 'sentinel';
  return 'standalone';
}

/**
 * Field errors for combinations that cannot be honoured (relative to the
 * `redis` record). Kong Enterprise's record refuses the same mixes; a
 * configuration that names a Sentinel or a cluster must never quietly fall
 * back to host/port.
 */
export function checkRedisConnection(c: RedisConnectionConfig): Record<string, string> {
  const errors: Record<string, string> = {};
  const sentinel = typeof c.sentinel_master === 'string' || nonEmpty(c.sentinel_nodes);
  const cluster = nonEmpty(c.cluster_nodes);
  if (sentinel && typeof c.sentinel_master !== 'string') errors.sentinel_master = 'required field missing (sentinel_nodes is set)';
  if (sentinel && !nonEmpty(c.sentinel_nodes)) errors.sentinel_nodes = 'required field missing (sentinel_master is set)';
  if (!sentinel && c.sentinel_role != null) errors.sentinel_role = 'can only be set with sentinel_master and sentinel_nodes';
  if (sentinel && cluster) errors.cluster_nodes = 'cannot be combined with sentinel_master / sentinel_nodes';
  if (c.connection_is_proxied === true && (sentinel || cluster)) {
    errors.connection_is_proxied = 'cannot be combined with sentinel or cluster nodes (host and port name the proxy)';
  }
  if (cluster && c.database != null && c.database !== 0) errors.database = 'must be 0 with cluster_nodes (Redis Cluster has one database)';
  if ((sentinel || cluster) && c.socket != null) errors.socket = 'cannot be combined with sentinel or cluster nodes';
  return errors;
}

function tlsOptions(c: RedisConnectionConfig, servername: string | undefined): RedisOptions['tls'] {
  if (c.ssl !== true) return undefined;
  return { rejectUnauthorized: c.ssl_verify === true, ...(servername !== undefined ? { servername } : {}) };
}

/** Options shared by every node connection: credentials, database, TLS, timeouts. */
function nodeOptions(c: RedisConnectionConfig, behaviour: ClientBehaviour, servername: string | undefined): RedisOptions {
  const o: RedisOptions = { ...behaviour };
  if (c.username != null) o.username = c.username;
  if (c.password != null && c.password !== '') o.password = c.password;
  if (c.database != null) o.db = c.database;
  if (c.connect_timeout != null) o.connectTimeout = c.connect_timeout;
  if (c.command_timeout != null) o.commandTimeout = c.command_timeout;
  const tls = tlsOptions(c, servername);
  if (tls !== undefined) o.tls = tls;
  return o;
}

/** A new ioredis client for this record. The caller owns it (error listener, quit). */
export function createRedisClient(c: RedisConnectionConfig, behaviour: ClientBehaviour): RedisClient {
  switch (redisMode(c)) {
    case 'cluster': {
      const o = nodeOptions(c, {}, c.server_name ?? undefined);
      const options: ClusterOptions = {
        redisOptions: o,
        lazyConnect: behaviour.lazyConnect,
        ...(behaviour.enableOfflineQueue !== undefined ? { enableOfflineQueue: behaviour.enableOfflineQueue } : {}),
        maxRedirections: c.cluster_max_redirections ?? 5,
        clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
      };
      if (behaviour.maxRetriesPerRequest !== undefined) options.redisOptions = { ...o, maxRetriesPerRequest: behaviour.maxRetriesPerRequest };
      return new (lib().Cluster)(
        (c.cluster_nodes ?? []).map((n) => ({ host: n.host, port: n.port })),
        options,
      );
    }
    case 'sentinel': {
      const o = nodeOptions(c, behaviour, c.server_name ?? undefined);
      o.sentinels = (c.sentinel_nodes ?? []).map((n) => ({ host: n.host, port: n.port }));
      o.name = c.sentinel_master!;
      // Kong's 'any' lets the client pick; rate counters and sessions are written, so it is the master.
      o.role = c.sentinel_role === 'slave' ? 'slave' : 'master';
      if (c.sentinel_username != null) o.sentinelUsername = c.sentinel_username;
      if (c.sentinel_password != null && c.sentinel_password !== '') o.sentinelPassword = c.sentinel_password;
      if (c.ssl === true) o.enableTLSForSentinelMode = true;
      return new (lib().Redis)(o);
    }
    case 'standalone': {
      // SNI defaults to the host name (never an IP address: RFC 6066 §3).
      const sni = c.server_name ?? (c.host != null && isIP(c.host) === 0 ? c.host : undefined);
      const o = nodeOptions(c, behaviour, sni);
      if (c.socket != null) o.path = c.socket;
      else {
        o.host = c.host ?? '127.0.0.1';
        o.port = c.port ?? 6379;
      }
      return new (lib().Redis)(o);
    }
  }
}

/** A label safe to log (no credentials). */
export function redisLabel(c: RedisConnectionConfig): string {
  const scheme = c.ssl === true ? 'rediss' : 'redis';
  switch (redisMode(c)) {
    case 'cluster':
      return `${scheme} cluster ${(c.cluster_nodes ?? []).map((n) => `${n.host}:${n.port}`).join(',')}`;
    case 'sentinel':
      return `${scheme} sentinel ${c.sentinel_master} via ${(c.sentinel_nodes ?? []).map((n) => `${n.host}:${n.port}`).join(',')}`;
    case 'standalone':
      return c.socket != null ? `${scheme}+unix://${c.socket}/${c.database ?? 0}` : `${scheme}://${c.host ?? '127.0.0.1'}:${c.port ?? 6379}/${c.database ?? 0}`;
  }
}

/**
 * The identity of a connection (clients are shared per identity). Holds the
 * passwords: never log it.
 */
export function redisConnectionKey(c: RedisConnectionConfig): string {
  const nodes = (l: readonly RedisNodeAddress[] | null | undefined) => (l ?? []).map((n) => `${n.host}:${n.port}`);
  return JSON.stringify([
    redisMode(c),
    c.socket ?? null,
    c.host ?? null,
    c.port ?? null,
    c.username ?? null,
    c.password ?? null,
    c.database ?? 0,
    c.ssl ?? false,
    c.ssl_verify ?? false,
    c.server_name ?? null,
    c.connect_timeout ?? null,
    c.command_timeout ?? null,
    c.sentinel_master ?? null,
    c.sentinel_role ?? null,
    nodes(c.sentinel_nodes),
    c.sentinel_username ?? null,
    c.sentinel_password ?? null,
    nodes(c.cluster_nodes),
    c.cluster_max_redirections ?? null,
    c.connection_is_proxied ?? false,
  ]);
}

/** Kong spells a cluster node `{ ip, port }` and a sentinel `{ host, port }`; both become host/port here. */
export function nodeList(value: unknown, hostKey: 'ip' | 'host'): RedisNodeAddress[] | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  return value.map((n: Record<string, unknown>) => ({
    host: typeof n[hostKey] === 'string' ? (n[hostKey] as string) : '127.0.0.1',
    port: typeof n.port === 'number' ? n.port : 6379,
  }));
}
