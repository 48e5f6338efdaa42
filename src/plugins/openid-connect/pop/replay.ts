/**
 * "Seen once" caches for one-time identifiers: DPoP proof `jti`s (RFC 9449
 * §11.1) and logout token `jti`s (Back-Channel Logout §2.6).
 *
 * - Per node: the node's seen-once set (src/core/node-state/seen-once.ts,
 *   held by the primary), so every worker of the node sees every identifier
 *   the others saw.
 * - Across nodes: when the plugin has a Redis (`session_storage = redis`, the
 *   `redis` record), `SET key 1 NX EX ttl` there as well; a replay on any
 *   node is then refused on every node. Redis unreachable → the check cannot
 *   be made → SessionStoreError (a 500, never a silent accept).
 *
 * Keys are SHA-256 of (purpose, scope, identifier): nothing the client sent is
 * stored as is.
 */
import { hash } from 'node:crypto';
import { firstUseOnNode } from '../../../core/node-state/seen-once.ts';
import { createRedisClient, type RedisClient } from '../../../redis/connection.ts';
import { SessionStoreError, type RedisStoreOptions } from '../session/index.ts';
import { connectionOf } from '../session/store.ts';

const redisClients = new Map<string, RedisClient>();

function redisFor(o: RedisStoreOptions): RedisClient {
  const key = JSON.stringify(o);
  let c = redisClients.get(key);
  if (c === undefined) {
    c = createRedisClient(connectionOf(o), { maxRetriesPerRequest: 1, lazyConnect: false });
    c.on('error', () => {});
    redisClients.set(key, c);
  }
  return c;
}

export class ReplayCache {
  readonly #purpose: string;
  readonly #redis: RedisStoreOptions | null;

  constructor(purpose: string, redis: RedisStoreOptions | null) {
    this.#purpose = purpose;
    this.#redis = redis;
  }

  /** Whether the shared (cluster-wide) check is made. */
  get clusterWide(): boolean {
    return this.#redis !== null;
  }

  /** True when (scope, id) was not seen in the last `ttl` seconds (and records it). */
  async firstUse(scope: string, id: string, ttl: number, now: number): Promise<boolean> {
    const key = hash('sha256', `${this.#purpose}\0${scope}\0${id}`, 'base64url');
    const seconds = Math.max(1, Math.ceil(ttl));
    let first: boolean;
    try {
      first = await firstUseOnNode(key, seconds, now);
    } catch (err) {
      throw new SessionStoreError('replay cache: the node-wide check could not be made', { cause: err });
    }
    if (!first) return false;
    if (this.#redis === null) return true;
    try {
      const r = await redisFor(this.#redis).set(`${this.#redis.prefix ?? ''}seen:${key}`, '1', 'EX', seconds, 'NX');
      return r === 'OK';
    } catch (err) {
      throw new SessionStoreError('redis replay cache: the check could not be made', { cause: err });
    }
  }
}
