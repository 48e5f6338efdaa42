/**
 * Server-side session storage: the cookie then carries only the authenticated
 * header (with the session id), the encrypted data lives in the store under
 * base64url(SHA-256(session id)), with a TTL of the rolling timeout.
 *
 * - `memory`: one store per node, shared by every worker (NodeSessionStore);
 *   entries expire by the clock the caller passes, so tests can drive time.
 * - `redis`: shared by every node (Kong's `session_storage=redis`), ioredis;
 *   a single Redis, a Sentinel-managed master or a Redis Cluster (../../../redis/connection.ts).
 *
 * A store that cannot be reached raises SessionStoreError: "could not check"
 * is not "no session" (ARCHITECTURE principle 4) — the caller answers 5xx.
 */
import type { StatementSync } from 'node:sqlite';
import { createRedisClient, redisConnectionKey, type RedisClient, type RedisConnectionConfig, type RedisNodeAddress } from '../../../redis/connection.ts';
import { getRetry, nodeDatabase, runRetry } from '../../../core/node-state/database.ts';

export interface SessionStore {
  get(key: string, now: number): Promise<string | null>;
  /** ttl in seconds (≥ 1). */
  set(key: string, value: string, ttl: number, now: number): Promise<void>;
  /** Shortens an entry's remaining life (a replaced session stays readable for `stale_ttl`). */
  expire(key: string, ttl: number, now: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export class SessionStoreError extends Error {
  readonly code = 'SESSION_STORE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SessionStoreError';
  }
}

/**
 * The `memory` store: one per node, shared by every worker (ARCHITECTURE
 * principle 14), in the node's shared database (src/core/node-state) — so a
 * browser whose next connection lands on another worker keeps its session,
 * and a worker that dies takes no session with it. Entries expire by the
 * clock the caller passes (epoch seconds), so tests can drive time; expired
 * rows are swept every SWEEP_EVERY writes.
 */
export class NodeSessionStore implements SessionStore {
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  readonly #expire: StatementSync;
  readonly #delete: StatementSync;
  readonly #sweep: StatementSync;
  readonly #count: StatementSync;
  #writes = 0;

  constructor() {
    const db = nodeDatabase();
    db.exec('CREATE TABLE IF NOT EXISTS oidc_sessions (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID');
    this.#get = db.prepare('SELECT value, expires_at FROM oidc_sessions WHERE key = ?');
    this.#set = db.prepare('INSERT INTO oidc_sessions (key, value, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET value = ?2, expires_at = ?3');
    this.#expire = db.prepare('UPDATE oidc_sessions SET expires_at = MIN(expires_at, ?2) WHERE key = ?1');
    this.#delete = db.prepare('DELETE FROM oidc_sessions WHERE key = ?');
    this.#sweep = db.prepare('DELETE FROM oidc_sessions WHERE expires_at <= ?');
    this.#count = db.prepare('SELECT count(*) AS n FROM oidc_sessions');
  }

  async get(key: string, now: number): Promise<string | null> {
    const row = this.#run(() => getRetry(this.#get, key)) as { value: string; expires_at: number } | undefined;
    if (row === undefined) return null;
    if (row.expires_at <= now) {
      this.#run(() => runRetry(this.#delete, key));
      return null;
    }
    return row.value;
  }

  async set(key: string, value: string, ttl: number, now: number): Promise<void> {
    this.#run(() => runRetry(this.#set, key, value, now + Math.max(1, ttl)));
    if (++this.#writes >= SWEEP_EVERY) {
      this.#writes = 0;
      this.#run(() => runRetry(this.#sweep, now));
    }
  }

  async expire(key: string, ttl: number, now: number): Promise<void> {
    this.#run(() => runRetry(this.#expire, key, now + Math.max(1, ttl)));
  }

  async delete(key: string): Promise<void> {
    this.#run(() => runRetry(this.#delete, key));
  }

  async close(): Promise<void> {
    // Shared by every manager of the node: nothing to release.
  }

  /** Sessions stored on this node (expired ones not yet swept included). */
  get size(): number {
    return (this.#count.get() as { n: number }).n;
  }

  #run<T>(op: () => T): T {
    try {
      return op();
    } catch (err) {
      throw new SessionStoreError('memory session store: the node\'s shared state failed', { cause: err });
    }
  }
}

const SWEEP_EVERY = 512;

let memory: NodeSessionStore | null = null;

/** The node's memory store (sessions survive plugin recompiles and are shared by every worker). */
export function sharedMemoryStore(): NodeSessionStore {
  memory ??= new NodeSessionStore();
  return memory;
}

/** Kong's `redis` record fields used for session storage (snake_case, as configured). */
export interface RedisStoreOptions {
  host?: string;
  port?: number;
  /** Unix socket path (Kong's `redis.socket`); wins over host/port. */
  socket?: string;
  username?: string;
  password?: string;
  database?: number;
  ssl?: boolean;
  ssl_verify?: boolean;
  server_name?: string;
  /** ms */
  connect_timeout?: number;
  /** ms, per command */
  read_timeout?: number;
  /** Key prefix (Kong's `redis.prefix`). */
  prefix?: string;
  /** Redis Sentinel (Kong's redis record; `host` and `port` are then not used). */
  sentinel_master?: string;
  sentinel_role?: 'any' | 'master' | 'slave';
  sentinel_nodes?: RedisNodeAddress[];
  sentinel_username?: string;
  sentinel_password?: string;
  /** Redis Cluster (Kong's `cluster_nodes`, `{ ip, port }` there, host/port here). */
  cluster_nodes?: RedisNodeAddress[];
  cluster_max_redirections?: number;
  connection_is_proxied?: boolean;
}

interface SharedClient {
  client: RedisClient;
  refs: number;
}

const clients = new Map<string, SharedClient>();

/** The plugin's `redis_*` fields as a connection (shared by the session store, the DPoP replay cache and logouts). */
export function connectionOf(o: RedisStoreOptions): RedisConnectionConfig {
  return {
    ...o,
    ssl_verify: o.ssl_verify !== false,
    connect_timeout: o.connect_timeout ?? 2000,
    command_timeout: o.read_timeout ?? 2000,
    database: o.database ?? 0,
  };
}

function connectionKey(o: RedisStoreOptions): string {
  return redisConnectionKey(connectionOf(o));
}

function acquire(o: RedisStoreOptions): RedisClient {
  const key = connectionKey(o);
  const found = clients.get(key);
  if (found !== undefined) {
    found.refs++;
    return found.client;
  }
  // Fail a command quickly while Redis is away instead of queueing forever.
  const client = createRedisClient(connectionOf(o), { maxRetriesPerRequest: 1, lazyConnect: false });
  // Errors surface on the commands; without a listener ioredis would crash the process.
  client.on('error', () => {});
  clients.set(key, { client, refs: 1 });
  return client;
}

async function release(o: RedisStoreOptions, client: RedisClient): Promise<void> {
  const key = connectionKey(o);
  const found = clients.get(key);
  if (found === undefined || found.client !== client) return;
  if (--found.refs > 0) return;
  clients.delete(key);
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

export class RedisSessionStore implements SessionStore {
  readonly #options: RedisStoreOptions;
  readonly #prefix: string;
  #client: RedisClient | null;

  constructor(options: RedisStoreOptions, namespace: string) {
    this.#options = options;
    this.#prefix = `${options.prefix ?? ''}${namespace}:`;
    this.#client = acquire(options);
  }

  #redis(): RedisClient {
    if (this.#client === null) throw new SessionStoreError('session store closed');
    return this.#client;
  }

  async #run<T>(what: string, op: (r: RedisClient) => Promise<T>): Promise<T> {
    try {
      return await op(this.#redis());
    } catch (err) {
      if (err instanceof SessionStoreError) throw err;
      throw new SessionStoreError(`redis session store: ${what} failed`, { cause: err });
    }
  }

  get(key: string): Promise<string | null> {
    return this.#run('get', (r) => r.get(this.#prefix + key));
  }

  async set(key: string, value: string, ttl: number): Promise<void> {
    await this.#run('set', (r) => r.set(this.#prefix + key, value, 'EX', Math.max(1, Math.floor(ttl))));
  }

  async expire(key: string, ttl: number): Promise<void> {
    // Only ever shortens the remaining life (EXPIRE … LT needs Redis 7; TTL + EXPIRE works everywhere).
    await this.#run('expire', async (r) => {
      const k = this.#prefix + key;
      const left = await r.ttl(k);
      if (left < 0 || left > ttl) await r.expire(k, Math.max(1, Math.floor(ttl)));
    });
  }

  async delete(key: string): Promise<void> {
    await this.#run('delete', (r) => r.del(this.#prefix + key));
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = null;
    if (c !== null) await release(this.#options, c);
  }
}
