/**
 * The `redis` policy: counters shared by every worker and node through Redis
 * (Kong's redis policy, kong/plugins/rate-limiting/policies/init.lua).
 *
 * One ioredis client per distinct connection config, shared by every plugin
 * instance using it and reference-counted (closed by the last close()), so a
 * configuration reload never reconnects.
 *
 * sync_rate = -1 (Kong's realtime): one round trip per request, a Lua script
 * that reads every period's counter and, unless one has reached its limit,
 * increments them all (setting the window's expiry on creation). Atomic, so
 * concurrent requests cannot overshoot the limit, and — as in Kong — a
 * rejected request is not counted.
 *
 * sync_rate > 0: counts are kept on the node (shared by its workers, as
 * Kong's shared dict) and pushed to Redis every sync_rate seconds (INCRBY +
 * EXPIRE, pipelined), which also refreshes what the other nodes counted
 * (synced.ts). Limits are then approximate by up to one sync interval of
 * traffic, as in Kong.
 *
 * Failures: commands fail fast (no retry queue), and the caller decides
 * (fault_tolerant). An outage is logged once when it starts and once when
 * Redis is back, never once per request.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../schema.ts';
import { SyncedCounters } from './synced.ts';

export { SyncedCounters };

const SCRIPT = `
local n = #KEYS
local usage = {}
local stop = false
for i = 1, n do
  local v = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  usage[i] = v
  if v >= tonumber(ARGV[i]) then stop = true end
end
if not stop then
  for i = 1, n do
    if redis.call('INCR', KEYS[i]) == 1 then
      redis.call('EXPIRE', KEYS[i], ARGV[n + i])
    end
  end
end
return usage
`;

interface ScriptedRedis extends Redis {
  portcullisRateLimit(...args: Array<string | number>): Promise<number[]>;
}

export class RedisStore {
  readonly client: ScriptedRedis;
  readonly id: string;
  refs = 0;
  private failing = false;
  private readonly log: Logger;
  private readonly synced = new Map<number, SyncedCounters>();

  constructor(id: string, options: RedisOptions | string, log: Logger) {
    this.id = id;
    this.log = log;
    const base: RedisOptions = {
      lazyConnect: true,
      // Fail fast while Redis is away: fault_tolerant decides, nothing waits in a queue.
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    };
    this.client = (typeof options === 'string' ? new Redis(options, base) : new Redis({ ...options, ...base })) as ScriptedRedis;
    this.client.defineCommand('portcullisRateLimit', { lua: SCRIPT });
    // ioredis emits 'error' on every failed reconnect; the outage is reported by failed().
    this.client.on('error', () => {});
  }

  /** Pre-increment counts per key; all keys are incremented unless one reached its limit. */
  checkAndIncrement(args: Array<string | number>): Promise<number[]> {
    return this.client.portcullisRateLimit(...args);
  }

  syncedCounters(rateSeconds: number): SyncedCounters {
    let s = this.synced.get(rateSeconds);
    if (s === undefined) {
      s = new SyncedCounters(this, rateSeconds);
      this.synced.set(rateSeconds, s);
    }
    return s;
  }

  succeeded(): void {
    if (this.failing) {
      this.failing = false;
      const log = this.log as Logger & { notice?: Logger['info'] };
      (log.notice ?? log.info).call(log, { redis: this.id }, 'rate-limiting: Redis reachable again');
    }
  }

  failed(err: unknown): void {
    if (!this.failing) {
      this.failing = true;
      this.log.error({ redis: this.id, err: err instanceof Error ? err.message : String(err) }, 'rate-limiting: Redis unreachable, counters unavailable');
    }
  }

  async close(): Promise<void> {
    for (const s of this.synced.values()) {
      s.close();
      await s.flush(true);
    }
    this.synced.clear();
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}

const stores = new Map<string, RedisStore>();

/** The identity of a connection config (never logged: it holds the password). */
function storeKey(config: RedisConfig): string {
  return JSON.stringify([config.host, config.port, config.database, config.username, config.password, config.ssl, config.ssl_verify, config.server_name, config.timeout]);
}

function label(config: RedisConfig): string {
  return `${config.ssl ? 'rediss' : 'redis'}://${config.host}:${config.port}/${config.database}`;
}

/** Take a reference on the shared client for this config (release with releaseStore). */
export function acquireStore(config: RedisConfig, log: Logger): RedisStore {
  const key = storeKey(config);
  let store = stores.get(key);
  if (store === undefined) {
    const options: RedisOptions = {
      host: config.host ?? '127.0.0.1',
      port: config.port,
      db: config.database,
      connectTimeout: config.timeout,
      commandTimeout: config.timeout,
    };
    if (config.username !== null) options.username = config.username;
    if (config.password !== null && config.password !== '') options.password = config.password;
    if (config.ssl) options.tls = { rejectUnauthorized: config.ssl_verify, servername: config.server_name ?? config.host ?? undefined };
    store = new RedisStore(label(config), options, log);
    stores.set(key, store);
  }
  store.refs++;
  return store;
}

/** Take a reference on the gateway-wide Redis (settings.redisUrl). */
export function acquireUrlStore(url: string, log: Logger): RedisStore {
  const key = `url:${url}`;
  let store = stores.get(key);
  if (store === undefined) {
    let safe = 'redis (gateway setting)';
    try {
      const u = new URL(url);
      safe = `${u.protocol}//${u.host}${u.pathname}`;
    } catch {
      /* keep the generic label */
    }
    store = new RedisStore(safe, url, log);
    stores.set(key, store);
  }
  store.refs++;
  return store;
}

export async function releaseStore(store: RedisStore): Promise<void> {
  if (--store.refs > 0) return;
  for (const [k, s] of stores) if (s === store) stores.delete(k);
  await store.close();
}
