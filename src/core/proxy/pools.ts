/**
 * Upstream connection pools (undici), one per origin and TLS setup, shared by
 * every Runtime version: a configuration change does not drop warm
 * keep-alive connections (Kong keeps its upstream keepalive pools across
 * config changes too). Pools nobody used for POOL_IDLE_MS are closed by a
 * background sweep.
 *
 * Defaults follow Kong's: upstream_keepalive_idle_timeout 60 s, HTTP/1.1 only
 * (no h2 upstream), no certificate verification unless the service sets
 * tls_verify (nginx proxy_ssl_verify off).
 */
import { Pool } from 'undici';

export interface PoolSpec {
  readonly protocol: 'http:' | 'https:';
  /** Connect address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** TLS server name; null for plain HTTP or an IP target. */
  readonly servername: string | null;
  readonly connectTimeout: number;
  readonly tlsVerify: boolean;
  /** Trusted CA PEMs for tls_verify; null = the system store. */
  readonly ca: readonly string[] | null;
  /** Stable identity of `ca` (the CA certificate ids), part of the pool key. */
  readonly caKey: string;
}

interface Entry {
  readonly pool: Pool;
  lastUsed: number;
}

const UPSTREAM_KEEPALIVE_MS = 60_000;
const POOL_IDLE_MS = 5 * 60_000;
const SWEEP_MS = 60_000;
/** Upstream response header block limit (nginx proxy_buffer_size is smaller; be lenient). */
const MAX_RESPONSE_HEADER_BYTES = 64 * 1024;

const pools = new Map<string, Entry>();
let sweeper: NodeJS.Timeout | null = null;

export function poolKey(spec: PoolSpec): string {
  return `${spec.protocol}//${spec.host}:${spec.port}|${spec.servername ?? ''}|${spec.connectTimeout}|${spec.tlsVerify ? 1 : 0}|${spec.caKey}`;
}

function originOf(spec: PoolSpec): string {
  const host = spec.host.indexOf(':') !== -1 ? `[${spec.host}]` : spec.host;
  return `${spec.protocol}//${host}:${spec.port}`;
}

function createPool(spec: PoolSpec): Pool {
  const connect: Record<string, unknown> = { timeout: spec.connectTimeout };
  if (spec.protocol === 'https:') {
    connect.rejectUnauthorized = spec.tlsVerify;
    if (spec.servername !== null) connect.servername = spec.servername;
    if (spec.ca !== null) connect.ca = spec.ca as string[];
  }
  return new Pool(originOf(spec), {
    pipelining: 1,
    allowH2: false,
    keepAliveTimeout: UPSTREAM_KEEPALIVE_MS,
    keepAliveMaxTimeout: UPSTREAM_KEEPALIVE_MS,
    maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
    strictContentLength: true,
    autoSelectFamily: true,
    connect,
  });
}

/** The shared pool for `spec` (created on first use). `key` is poolKey(spec), when the caller has it. */
export function poolFor(spec: PoolSpec, key: string = poolKey(spec)): Pool {
  let entry = pools.get(key);
  if (entry === undefined) {
    entry = { pool: createPool(spec), lastUsed: 0 };
    pools.set(key, entry);
    if (sweeper === null) {
      sweeper = setInterval(sweep, SWEEP_MS);
      sweeper.unref();
    }
  }
  entry.lastUsed = performance.now();
  return entry.pool;
}

function sweep(): void {
  const cutoff = performance.now() - POOL_IDLE_MS;
  for (const [key, entry] of pools) {
    if (entry.lastUsed > cutoff) continue;
    const stats = entry.pool.stats;
    if (stats.running > 0 || stats.pending > 0) continue;
    pools.delete(key);
    void entry.pool.close().catch(() => undefined);
  }
  if (pools.size === 0 && sweeper !== null) {
    clearInterval(sweeper);
    sweeper = null;
  }
}

/** Number of live pools (for tests and diagnostics). */
export function poolCount(): number {
  return pools.size;
}

/** Close every pool (process shutdown). In-flight requests are aborted. */
export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  if (sweeper !== null) {
    clearInterval(sweeper);
    sweeper = null;
  }
  await Promise.all(all.map((e) => e.pool.destroy().catch(() => undefined)));
}
