/**
 * Upstream connection pools (../upstream/h1-pool.ts), one per origin and TLS setup, shared by
 * every Runtime version: a configuration change does not drop warm
 * keep-alive connections (Kong keeps its upstream keepalive pools across
 * config changes too). Pools nobody used for POOL_IDLE_MS are closed by the
 * process's idle sweep (src/shared/clock.ts).
 *
 * Defaults follow Kong's: upstream_keepalive_idle_timeout 60 s, HTTP/1.1 only
 * (no h2 upstream), no certificate verification unless the service sets
 * tls_verify (nginx proxy_ssl_verify off).
 */
import { H1Pool } from '../upstream/h1-pool.ts';
import { idleSweep, SWEEP_MS } from '../../shared/clock.ts';

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

/** A shared pool and its use mark. Callers may keep one (forward.ts caches it per service) and reuse it through usePool(). */
export interface PoolEntry {
  readonly pool: H1Pool;
  /** The idle sweep's tick at the last use: an integer store per request instead of a clock read. */
  used: number;
  /** Closed by the idle sweep: the entry must not be used again. */
  closed: boolean;
}

const UPSTREAM_KEEPALIVE_MS = 60_000;
const POOL_IDLE_MS = 5 * 60_000;
/** Pools are looked at once a minute (every CHECK_TICKS ticks of the idle sweep). */
const CHECK_TICKS = 60_000 / SWEEP_MS;
/** A pool unused for more than this many ticks (≥ POOL_IDLE_MS) is closed. */
const IDLE_TICKS = POOL_IDLE_MS / SWEEP_MS;
/** Upstream response header block limit (nginx proxy_buffer_size is smaller; be lenient). */
const MAX_RESPONSE_HEADER_BYTES = 64 * 1024;

const pools = new Map<string, PoolEntry>();
/** The idle sweep's tick when the pools were last looked at. */
let checkedAt = 0;
const poolSweep = { sweep };
let swept = false;

export function poolKey(spec: PoolSpec): string {
  return `${spec.protocol}//${spec.host}:${spec.port}|${spec.servername ?? ''}|${spec.connectTimeout}|${spec.tlsVerify ? 1 : 0}|${spec.caKey}`;
}

function createPool(spec: PoolSpec): H1Pool {
  return new H1Pool({
    host: spec.host,
    port: spec.port,
    tls: spec.protocol === 'https:' ? { servername: spec.servername, rejectUnauthorized: spec.tlsVerify, ca: spec.ca } : null,
    connectTimeoutMs: spec.connectTimeout,
    keepAliveMs: UPSTREAM_KEEPALIVE_MS,
    maxHeaderBytes: MAX_RESPONSE_HEADER_BYTES,
  });
}

/** The shared pool entry for `spec` (created on first use), marked as used. `key` is poolKey(spec), when the caller has it. */
export function poolEntryFor(spec: PoolSpec, key: string = poolKey(spec)): PoolEntry {
  let entry = pools.get(key);
  if (entry === undefined) {
    entry = { pool: createPool(spec), used: idleSweep.tick, closed: false };
    pools.set(key, entry);
    if (!swept) {
      swept = true;
      checkedAt = idleSweep.tick;
      idleSweep.watch(poolSweep);
    }
  }
  entry.used = idleSweep.tick;
  return entry;
}

/** The shared pool for `spec` (created on first use). `key` is poolKey(spec), when the caller has it. */
export function poolFor(spec: PoolSpec, key: string = poolKey(spec)): H1Pool {
  return poolEntryFor(spec, key).pool;
}

/** The pool of an entry obtained earlier, marked as used; null once the sweep closed it. */
export function usePool(entry: PoolEntry): H1Pool | null {
  if (entry.closed) return null;
  entry.used = idleSweep.tick;
  return entry.pool;
}

function sweep(tick: number): boolean {
  if (tick - checkedAt < CHECK_TICKS) return true;
  checkedAt = tick;
  for (const [key, entry] of pools) {
    if (tick - entry.used <= IDLE_TICKS) continue;
    const stats = entry.pool.stats;
    if (stats.running > 0 || stats.pending > 0) continue;
    pools.delete(key);
    entry.closed = true;
    void entry.pool.close().catch(() => undefined);
  }
  swept = pools.size > 0;
  return swept;
}

/** Number of live pools (for tests and diagnostics). */
export function poolCount(): number {
  return pools.size;
}

/** Close every pool (process shutdown). In-flight requests are aborted. */
export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  for (const e of all) e.closed = true;
  if (swept) {
    swept = false;
    idleSweep.unwatch(poolSweep);
  }
  await Promise.all(all.map((e) => e.pool.destroy().catch(() => undefined)));
}
