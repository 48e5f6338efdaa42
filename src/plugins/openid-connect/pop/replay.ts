/**
 * "Seen once" caches for one-time identifiers: DPoP proof `jti`s (RFC 9449
 * §11.1) and logout token `jti`s (Back-Channel Logout §2.6).
 *
 * - Per node: a table in the node's shared database (src/core/node-state),
 *   so every worker of the node sees every identifier the others saw.
 * - Across nodes: when the plugin has a Redis (`session_storage = redis`, the
 *   `redis` record), `SET key 1 NX EX ttl` there as well; a replay on any
 *   node is then refused on every node. Redis unreachable → the check cannot
 *   be made → SessionStoreError (a 500, never a silent accept).
 *
 * Keys are SHA-256 of (purpose, scope, identifier): nothing the client sent is
 * stored as is.
 */
import { hash } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
import { nodeDatabase, runRetry } from '../../../core/node-state/database.ts';
import { createRedisClient, type RedisClient } from '../../../redis/connection.ts';
import { SessionStoreError, type RedisStoreOptions } from '../session/index.ts';
import { connectionOf } from '../session/store.ts';

interface NodeStatements {
  insert: StatementSync;
  sweep: StatementSync;
}

let statements: NodeStatements | null = null;
let inserts = 0;
const SWEEP_EVERY = 1024;

function nodeStatements(): NodeStatements {
  if (statements === null) {
    const db = nodeDatabase();
    db.exec('CREATE TABLE IF NOT EXISTS oidc_seen_once (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID');
    statements = {
      // An expired row is taken over (the identifier may be reused after its window).
      insert: db.prepare('INSERT INTO oidc_seen_once (key, expires_at) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET expires_at = ?2 WHERE expires_at <= ?3'),
      sweep: db.prepare('DELETE FROM oidc_seen_once WHERE expires_at <= ?'),
    };
  }
  return statements;
}

/** True the first time `key` is seen on this node within `ttl` seconds. */
function firstOnNode(key: string, ttl: number, now: number): boolean {
  const s = nodeStatements();
  let changes = 0;
  try {
    const r = s.insert.run(key, now + ttl, now);
    changes = Number(r.changes);
  } catch {
    // Busy database: one retry through the shared helper (it throws when it cannot).
    runRetry(s.insert, key, now + ttl, now);
    changes = 1;
  }
  if (++inserts >= SWEEP_EVERY) {
    inserts = 0;
    try {
      s.sweep.run(now);
    } catch {
      // next time
    }
  }
  return changes > 0;
}

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
    if (!firstOnNode(key, seconds, now)) return false;
    if (this.#redis === null) return true;
    try {
      const r = await redisFor(this.#redis).set(`${this.#redis.prefix ?? ''}seen:${key}`, '1', 'EX', seconds, 'NX');
      return r === 'OK';
    } catch (err) {
      throw new SessionStoreError('redis replay cache: the check could not be made', { cause: err });
    }
  }
}
