/**
 * Sessions ended at the IdP (OpenID Connect Back-Channel Logout 1.0): a
 * record per IdP session (`sid`) or user (`sub`) with the time it ended.
 * A gateway session whose `sid` was logged out at or after the second the
 * session was created, or whose `sub` was logged out after that second, is
 * over (OidcSessions.open refuses it), whatever storage holds it — stateless
 * cookies included.
 *
 * - Per node: the records live in the node's shared database
 *   (src/core/node-state), so every worker of the node sees them at once.
 * - Across nodes: with the plugin's Redis (`session_storage = redis`) the
 *   node that received the logout token PUBLISHes the record; every worker
 *   of every node is SUBSCRIBEd and writes it into its node's database
 *   (idempotent), so the session ends everywhere within a round trip.
 *   A node that is down or partitioned at that moment misses the message
 *   (Redis pub/sub does not queue); the record is also kept in Redis
 *   (`SET … EX`) and a node that (re)subscribes reads those back.
 * - Across nodes without the plugin's Redis, when the node's database is
 *   PostgreSQL: a cluster event (src/core/cluster-events.ts — a row kept in
 *   the database until the record expires, NOTIFYed to every node); each
 *   node's store-holding process writes it into its node's database. A node
 *   that was disconnected, or starts later, reads the kept rows back. With
 *   both, Redis is used (the plugin's own choice wins over the node's).
 *
 * Records are kept for `ttl` seconds — the longest a session they could
 * end can live (absolute or remember timeout) — then swept.
 */
import { hash } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
import { getRetry, nodeDatabase, runRetry } from '../../../core/node-state/database.ts';
import { clusterEvents, type ClusterEvents } from '../../../core/cluster-events.ts';
import { createRedisClient, type RedisClient } from '../../../redis/connection.ts';
import { connectionOf, type RedisStoreOptions } from './store.ts';

export interface LogoutRecord {
  issuer: string;
  sid: string | null;
  sub: string | null;
  /** Epoch seconds the logout happened (the logout token's iat, or now). */
  at: number;
  /** Seconds to keep the record. */
  ttl: number;
}

interface Statements {
  put: StatementSync;
  get: StatementSync;
  sweep: StatementSync;
}

let statements: Statements | null = null;

function db(): Statements {
  if (statements === null) {
    const d = nodeDatabase();
    d.exec('CREATE TABLE IF NOT EXISTS oidc_logouts (key TEXT PRIMARY KEY, at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID');
    statements = {
      put: d.prepare('INSERT INTO oidc_logouts (key, at, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET at = MAX(at, ?2), expires_at = MAX(expires_at, ?3)'),
      get: d.prepare('SELECT at FROM oidc_logouts WHERE key = ? AND expires_at > ?'),
      sweep: d.prepare('DELETE FROM oidc_logouts WHERE expires_at <= ?'),
    };
  }
  return statements;
}

function keyOf(issuer: string, kind: 'sid' | 'sub', value: string): string {
  return hash('sha256', `${issuer}\0${kind}\0${value}`, 'base64url');
}

function storeLocally(r: LogoutRecord): void {
  const s = db();
  const expires = r.at + Math.max(1, r.ttl);
  if (r.sid !== null) runRetry(s.put, keyOf(r.issuer, 'sid', r.sid), r.at, expires);
  if (r.sub !== null) runRetry(s.put, keyOf(r.issuer, 'sub', r.sub), r.at, expires);
}

let writes = 0;

function isRecord(v: unknown): v is LogoutRecord {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return typeof r.issuer === 'string' && typeof r.at === 'number' && typeof r.ttl === 'number'
    && (r.sid === null || typeof r.sid === 'string') && (r.sub === null || typeof r.sub === 'string') && (r.sid !== null || r.sub !== null);
}

interface Channel {
  publisher: RedisClient;
  subscriber: RedisClient;
  refs: number;
}

/** One publisher and one subscriber per Redis (and key prefix) per process. */
const channels = new Map<string, Channel>();

/** The cluster-event channel of logout records (every issuer's). */
export const LOGOUT_EVENT_CHANNEL = 'openid-connect:logout';

/** One subscription per process to the node's cluster events, shared by every registry (and runtime). */
const eventSubscriptions = new Map<ClusterEvents, { refs: number; unsubscribe: () => void }>();

function applyMessage(message: string): void {
  try {
    const r: unknown = JSON.parse(message);
    if (isRecord(r)) storeLocally(r);
  } catch {
    // not ours
  }
}

export class LogoutRegistry {
  readonly #redis: RedisStoreOptions | null;
  readonly #events: ClusterEvents | null;
  readonly #channelName: string;
  readonly #channelKey: string;
  #closed = false;

  /** `events`: the node's cluster events (PostgreSQL), used when there is no Redis. */
  constructor(redis: RedisStoreOptions | null, events: ClusterEvents | null = clusterEvents()) {
    this.#redis = redis;
    this.#events = redis === null ? events : null;
    this.#channelName = `${redis?.prefix ?? ''}portcullis:oidc-logout`;
    this.#channelKey = JSON.stringify(redis);
    if (redis !== null) this.#subscribe(redis);
    else if (this.#events !== null) {
      const sub = eventSubscriptions.get(this.#events);
      if (sub !== undefined) sub.refs++;
      else eventSubscriptions.set(this.#events, { refs: 1, unsubscribe: this.#events.subscribe(LOGOUT_EVENT_CHANNEL, applyMessage) });
    }
  }

  /** How records reach the other nodes: the plugin's Redis, the node's PostgreSQL, or not at all. */
  get fanout(): 'redis' | 'postgres' | 'none' {
    return this.#redis !== null ? 'redis' : this.#events !== null ? 'postgres' : 'none';
  }

  /** End the sessions of `sid` / `sub` here and — with Redis or PostgreSQL — on every node. */
  async record(r: LogoutRecord): Promise<void> {
    storeLocally(r);
    if (++writes >= 256) {
      writes = 0;
      runRetry(db().sweep, Math.floor(Date.now() / 1000));
    }
    // Kept in the database until it expires (nodes that were away read it back), and NOTIFYed now.
    if (this.#events !== null) return this.#events.broadcast(LOGOUT_EVENT_CHANNEL, JSON.stringify(r), Math.max(1, r.ttl));
    const ch = this.#redis === null ? undefined : channels.get(this.#channelKey);
    if (ch === undefined) return;
    const message = JSON.stringify(r);
    // Kept in Redis too, for nodes that (re)subscribe later; then fanned out now.
    await ch.publisher.set(`${this.#channelName}:${hash('sha256', message, 'base64url')}`, message, 'EX', Math.max(1, r.ttl));
    await ch.publisher.publish(this.#channelName, message);
  }

  /** Was this session (IdP `sid` / `sub`, created at `createdAt`) logged out since? */
  ended(issuer: string, sid: string | null, sub: string | null, createdAt: number): boolean {
    const s = db();
    const now = Math.floor(Date.now() / 1000);
    for (const [kind, v] of [['sid', sid], ['sub', sub]] as const) {
      if (v === null) continue;
      const row = getRetry(s.get, keyOf(issuer, kind, v), now) as { at: number } | undefined;
      if (row === undefined) continue;
      // Times are whole seconds (a session's creation time is the cookie's). A logged-out `sid` ends the session
      // that carries it even when both fall in one second (a new login gets a new sid). A logged-out `sub` ends
      // the user's sessions created strictly before that second: one created in the same second is taken as a
      // login after the logout (signing out and straight back in must not end the new session).
      if (kind === 'sid' ? row.at >= createdAt : row.at > createdAt) return true;
    }
    return false;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#events !== null) {
      const sub = eventSubscriptions.get(this.#events);
      if (sub !== undefined && --sub.refs === 0) {
        eventSubscriptions.delete(this.#events);
        sub.unsubscribe();
      }
      return;
    }
    if (this.#redis === null) return;
    const ch = channels.get(this.#channelKey);
    if (ch === undefined || --ch.refs > 0) return;
    channels.delete(this.#channelKey);
    ch.subscriber.disconnect();
    try {
      await ch.publisher.quit();
    } catch {
      ch.publisher.disconnect();
    }
  }

  #subscribe(redis: RedisStoreOptions): void {
    const found = channels.get(this.#channelKey);
    if (found !== undefined) {
      found.refs++;
      return;
    }
    const cfg = connectionOf(redis);
    const publisher = createRedisClient(cfg, { maxRetriesPerRequest: 1, lazyConnect: false });
    const subscriber = createRedisClient(cfg, { maxRetriesPerRequest: null, lazyConnect: false });
    publisher.on('error', () => {});
    subscriber.on('error', () => {});
    const name = this.#channelName;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === name) applyMessage(message);
    });
    // On every (re)connection: subscribe, then read back what was published meanwhile.
    subscriber.on('ready', () => {
      void subscriber.subscribe(name).then(() => catchUp(publisher, name)).catch(() => {});
    });
    channels.set(this.#channelKey, { publisher, subscriber, refs: 1 });
  }
}

async function catchUp(redis: RedisClient, name: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${name}:*`, 'COUNT', 200);
    cursor = next;
    if (keys.length === 0) continue;
    const values = await redis.mget(...keys);
    for (const v of values) {
      if (v === null) continue;
      try {
        const r: unknown = JSON.parse(v);
        if (isRecord(r)) storeLocally(r);
      } catch {
        // skip
      }
    }
  } while (cursor !== '0');
}
