/**
 * The `redis` policy with `sync_rate > 0`: counts kept on the node and pushed
 * to Redis every sync_rate seconds, as Kong does — Kong keeps these counts in
 * the node's `kong_rate_limiting_counters` shared dict, so every worker of a
 * node sees the others' not-yet-synced requests. Here they live in the node's
 * shared database (src/core/node-state), one row per counter:
 *
 *   base     what Redis held at the last sync (every node's count)
 *   sending  counted here and being pushed by a sync in progress
 *   delta    counted here since
 *
 * usage = base + sending + delta. One sync per interval per node: every
 * worker's timer tries, the first to claim the interval's slot (one atomic
 * statement) does it. A sync moves delta to sending, pushes it
 * (RedisStore.syncCounts: SET NX EX + INCRBY; a GET for counters with nothing to send),
 * then sets base to Redis's total and clears sending — or, when Redis cannot
 * be reached, gives sending back to delta. Limits are approximate by up to one
 * interval of the whole node's traffic, as in Kong.
 */
import type { StatementSync } from 'node:sqlite';
import { getRetry, nodeDatabase, runRetry, writeTransaction } from '../../../core/node-state/database.ts';

/** What a sync needs of the Redis store (RedisStore in redis.ts). */
export interface SyncTarget {
  readonly id: string;
  /** Add each delta to its counter and return every counter's shared total. */
  syncCounts(keys: readonly string[], deltas: readonly number[], ttls: readonly number[]): Promise<number[]>;
  succeeded(): void;
  failed(err: unknown): void;
}

interface Statements {
  usage: StatementSync;
  create: StatementSync;
  increment: StatementSync;
  claimSlot: StatementSync;
  expire: StatementSync;
  pending: StatementSync;
  markSending: StatementSync;
  settle: StatementSync;
  giveBack: StatementSync;
}

let statements: Statements | null = null;

function prepared(): Statements {
  if (statements !== null) return statements;
  const db = nodeDatabase();
  db.exec(`CREATE TABLE IF NOT EXISTS rate_limiting_synced (
    store TEXT NOT NULL, key TEXT NOT NULL, base REAL NOT NULL, sending REAL NOT NULL, delta REAL NOT NULL,
    ttl INTEGER NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (store, key)) WITHOUT ROWID`);
  db.exec('CREATE TABLE IF NOT EXISTS rate_limiting_sync_slots (slot TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID');
  statements = {
    usage: db.prepare('SELECT base + sending + delta FROM rate_limiting_synced WHERE store = ? AND key = ?'),
    create: db.prepare('INSERT OR IGNORE INTO rate_limiting_synced (store, key, base, sending, delta, ttl, expires_at) VALUES (?, ?, 0, 0, 0, ?, ?)'),
    increment: db.prepare(
      `INSERT INTO rate_limiting_synced (store, key, base, sending, delta, ttl, expires_at) VALUES (?1, ?2, 0, 0, 1, ?3, ?4)
       ON CONFLICT (store, key) DO UPDATE SET delta = delta + 1`,
    ),
    // ?1 slot, ?2 now, ?3 interval (ms): claimed when the last sync of this slot is at least one interval old.
    claimSlot: db.prepare(
      'INSERT INTO rate_limiting_sync_slots (slot, at) VALUES (?1, ?2) ON CONFLICT (slot) DO UPDATE SET at = ?2 WHERE at <= ?2 - ?3 RETURNING at',
    ),
    expire: db.prepare('DELETE FROM rate_limiting_synced WHERE store = ? AND expires_at <= ?'),
    pending: db.prepare('SELECT key, sending + delta AS amount, ttl FROM rate_limiting_synced WHERE store = ?'),
    markSending: db.prepare('UPDATE rate_limiting_synced SET sending = sending + delta, delta = 0 WHERE store = ?'),
    settle: db.prepare('UPDATE rate_limiting_synced SET base = ?3, sending = sending - ?4 WHERE store = ?1 AND key = ?2'),
    giveBack: db.prepare('UPDATE rate_limiting_synced SET delta = delta + ?3, sending = sending - ?3 WHERE store = ?1 AND key = ?2'),
  };
  statements.usage.setReturnArrays(true);
  return statements;
}

/** Counters kept on the node and synced with Redis every `rate` seconds. */
export class SyncedCounters {
  private readonly store: SyncTarget;
  private readonly intervalMs: number;
  private readonly slot: string;
  private readonly timer: NodeJS.Timeout;
  private flushing = false;

  constructor(store: SyncTarget, rateSeconds: number) {
    this.store = store;
    this.intervalMs = Math.max(20, rateSeconds * 1000);
    this.slot = `${store.id}\n${rateSeconds}`;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** The node's count of `key` (Redis's total at the last sync plus what the node counted since); registers the key. */
  usage(key: string, ttl: number, expiresAt: number): number {
    const s = prepared();
    const row = getRetry(s.usage, this.store.id, key) as [number] | undefined;
    if (row !== undefined) return row[0];
    runRetry(s.create, this.store.id, key, ttl, expiresAt);
    return 0;
  }

  increment(key: string, ttl: number, expiresAt: number): void {
    runRetry(prepared().increment, this.store.id, key, ttl, expiresAt);
  }

  /** Push the node's counts, pull the shared totals (at most once per interval per node unless forced). */
  async flush(force = false): Promise<void> {
    if (this.flushing) return;
    const s = prepared();
    const now = Date.now();
    // One sync per interval for the whole node; a little slack so the claiming worker's own timer is not refused.
    if (!force && getRetry(s.claimSlot, this.slot, now, this.intervalMs - 5) === undefined) return;
    this.flushing = true;
    try {
      const pending = writeTransaction(nodeDatabase(), () => {
        s.expire.run(this.store.id, now);
        s.markSending.run(this.store.id);
        return s.pending.all(this.store.id) as Array<{ key: string; amount: number; ttl: number }>;
      });
      if (pending.length === 0) return;
      // Through the store: one pipeline on a single Redis, one command per key on a cluster.
      let totals: number[];
      try {
        totals = await this.store.syncCounts(
          pending.map((p) => p.key),
          pending.map((p) => p.amount),
          pending.map((p) => p.ttl),
        );
      } catch (err) {
        this.store.failed(err);
        writeTransaction(nodeDatabase(), () => {
          for (const p of pending) if (p.amount > 0) s.giveBack.run(this.store.id, p.key, p.amount);
        });
        return;
      }
      writeTransaction(nodeDatabase(), () => {
        for (let i = 0; i < pending.length; i++) s.settle.run(this.store.id, pending[i]!.key, totals[i]!, pending[i]!.amount);
      });
      this.store.succeeded();
    } finally {
      this.flushing = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
