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
import { Redis, type Cluster } from 'ioredis';
import type { Logger } from 'pino';
import { createRedisClient, redisConnectionKey, redisLabel, redisMode, type ClientBehaviour, type RedisClient } from '../../../redis/connection.ts';
import { connectionOf, type RedisConfig } from '../schema.ts';
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

type ScriptedRedis = RedisClient & {
  portcullisRateLimit(...args: Array<string | number>): Promise<number[]>;
};

/** Fail fast while Redis is away: fault_tolerant decides, nothing waits in a queue. */
const BEHAVIOUR: ClientBehaviour = {
  lazyConnect: true,
  maxRetriesPerRequest: 0,
  retryStrategy: (times) => Math.min(times * 200, 2000),
};

export class RedisStore {
  readonly client: ScriptedRedis;
  readonly id: string;
  refs = 0;
  private failing = false;
  private readonly log: Logger;
  private readonly synced = new Map<number, SyncedCounters>();

  /** Redis Cluster: the keys of one script call must share a hash slot. */
  readonly cluster: boolean;

  constructor(id: string, client: RedisClient, log: Logger) {
    this.id = id;
    this.log = log;
    this.client = client as ScriptedRedis;
    this.cluster = client.isCluster;
    this.client.defineCommand('portcullisRateLimit', { lua: SCRIPT });
    // ioredis emits 'error' on every failed reconnect; the outage is reported by failed().
    this.client.on('error', () => {});
  }

  /** Pre-increment counts per key; all keys are incremented unless one reached its limit. */
  checkAndIncrement(args: Array<string | number>): Promise<number[]> {
    return this.client.portcullisRateLimit(...args);
  }

  /**
   * Add each delta to its counter (a new counter gets its window's expiry) and
   * return every counter's shared total. One pipeline on a single Redis; on a
   * cluster, one command per key (ioredis groups them per node), since a
   * pipeline must stay within one slot.
   */
  async syncCounts(keys: readonly string[], deltas: readonly number[], ttls: readonly number[]): Promise<number[]> {
    if (this.cluster) {
      const c = this.client as unknown as Cluster;
      return Promise.all(
        keys.map(async (key, i) => {
          if (deltas[i]! <= 0) return Number((await c.get(key)) ?? 0) || 0;
          await c.set(key, 0, 'EX', ttls[i]!, 'NX');
          return Number(await c.incrby(key, deltas[i]!)) || 0;
        }),
      );
    }
    const pipeline = this.client.pipeline();
    for (let i = 0; i < keys.length; i++) {
      if (deltas[i]! > 0) {
        // SET NX EX gives a new key its window expiry; INCRBY returns the shared total.
        pipeline.set(keys[i]!, 0, 'EX', ttls[i]!, 'NX');
        pipeline.incrby(keys[i]!, deltas[i]!);
      } else {
        pipeline.get(keys[i]!);
      }
    }
    const results = await pipeline.exec();
    if (results === null) throw new Error('pipeline aborted');
    const out: number[] = [];
    let r = 0;
    for (let i = 0; i < keys.length; i++) {
      if (deltas[i]! > 0) r++;
      const [err, value] = results[r++]!;
      if (err) throw err;
      out.push(Number(value ?? 0) || 0);
    }
    return out;
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

/** Take a reference on the shared client for this config (release with releaseStore). */
export function acquireStore(config: RedisConfig, log: Logger): RedisStore {
  const connection = connectionOf(config);
  const key = redisConnectionKey(connection);
  let store = stores.get(key);
  if (store === undefined) {
    store = new RedisStore(redisLabel(connection), createRedisClient(connection, BEHAVIOUR), log);
    stores.set(key, store);
  }
  store.refs++;
  return store;
}

/** For tests and logs: which kind of Redis a config reaches. */
export function storeMode(config: RedisConfig): 'standalone' | 'sentinel' | 'cluster' {
  return redisMode(connectionOf(config));
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
    store = new RedisStore(safe, new Redis(url, BEHAVIOUR), log);
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
