/**
 * Cluster events on PostgreSQL (the port in src/core/cluster-events.ts):
 * Kong's `cluster_events` table (id, at, expire_at, channel, data), but
 * delivered by LISTEN/NOTIFY on the store's one notification connection
 * instead of Kong's polling every `db_update_frequency`.
 *
 * - broadcast: one transaction INSERTs the event and NOTIFYs it; PostgreSQL
 *   delivers the notification on COMMIT to every node's listener (the
 *   sender's included — handlers are idempotent). Expired events are deleted
 *   by the same transaction.
 * - catch-up: the table is the record. On every (re)connection of the
 *   listener, and when a channel is first subscribed, the events not yet
 *   expired are read back and delivered, so a node that was disconnected when
 *   the NOTIFY went out — or started later — applies them too.
 *
 * The store (./index.ts) owns the connections; this module only uses them.
 */
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { logger } from '../../shared/log.ts';

/** NOTIFY payloads are limited to 8000 bytes; a larger event is sent by id and read from the table. */
const MAX_INLINE_BYTES = 7000;

/** Delete expired events at most this often (per process). */
const SWEEP_EVERY_MS = 60_000;

interface Notice {
  c: string;
  d?: string;
  id?: string;
}

export class PgClusterEvents {
  /** The NOTIFY channel (an identifier of at most 63 bytes). */
  readonly notifyChannel: string;
  readonly #pool: pg.Pool;
  readonly #handlers = new Map<string, Set<(data: string) => void>>();
  #listening = false;
  #lastSweep = 0;

  constructor(pool: pg.Pool, notifyChannel: string) {
    this.#pool = pool;
    this.notifyChannel = notifyChannel;
  }

  async broadcast(channel: string, data: string, ttlSeconds: number): Promise<void> {
    const id = randomUUID();
    const payload = JSON.stringify({ c: channel, d: data } satisfies Notice);
    const notice = Buffer.byteLength(payload) <= MAX_INLINE_BYTES ? payload : JSON.stringify({ c: channel, id } satisfies Notice);
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      await c.query("INSERT INTO cluster_events (id, at, expire_at, channel, data) VALUES ($1, now(), now() + make_interval(secs => $2), $3, $4)", [id, Math.max(1, ttlSeconds), channel, data]);
      await c.query('SELECT pg_notify($1, $2)', [this.notifyChannel, notice]);
      if (Date.now() - this.#lastSweep > SWEEP_EVERY_MS) {
        this.#lastSweep = Date.now();
        await c.query('DELETE FROM cluster_events WHERE expire_at < now()');
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  subscribe(channel: string, handler: (data: string) => void): () => void {
    let set = this.#handlers.get(channel);
    if (set === undefined) this.#handlers.set(channel, (set = new Set()));
    set.add(handler);
    // Events kept from before (another node's logout while this one was down); later ones come by NOTIFY.
    if (this.#listening) void this.#replay(this.#pool, [channel], handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.#handlers.delete(channel);
    };
  }

  /** The listener connection is (again) LISTENing: deliver what was sent while it was not. */
  async listening(client: pg.Client): Promise<void> {
    this.#listening = true;
    if (this.#handlers.size > 0) await this.#replay(client, [...this.#handlers.keys()], null);
  }

  /** The listener connection is gone; events are read back when it returns. */
  lost(): void {
    this.#listening = false;
  }

  /** A notification on `notifyChannel`. */
  notified(payload: string | undefined): void {
    let n: Notice;
    try {
      n = JSON.parse(payload ?? '') as Notice;
    } catch {
      return;
    }
    if (typeof n.c !== 'string' || !this.#handlers.has(n.c)) return;
    if (typeof n.d === 'string') this.#deliver(n.c, n.d, null);
    else if (typeof n.id === 'string') {
      const id = n.id;
      this.#pool
        .query<{ data: string }>('SELECT data FROM cluster_events WHERE id = $1', [id])
        .then((r) => {
          if (r.rows[0] !== undefined) this.#deliver(n.c, r.rows[0].data, null);
        })
        .catch((err: Error) => logger().warn({ err: err.message }, 'postgres: cluster event could not be read'));
    }
  }

  async #replay(q: pg.Pool | pg.Client, channels: string[], only: ((data: string) => void) | null): Promise<void> {
    try {
      const r = await q.query<{ channel: string; data: string }>('SELECT channel, data FROM cluster_events WHERE channel = ANY($1) AND expire_at > now() ORDER BY at', [channels]);
      for (const row of r.rows) this.#deliver(row.channel, row.data, only);
    } catch (err) {
      logger().warn({ err: (err as Error).message }, 'postgres: kept cluster events could not be read');
    }
  }

  #deliver(channel: string, data: string, only: ((data: string) => void) | null): void {
    for (const h of only === null ? (this.#handlers.get(channel) ?? []) : [only]) {
      try {
        h(data);
      } catch (err) {
        logger().warn({ err: (err as Error).message, channel }, 'postgres: a cluster event handler failed');
      }
    }
  }
}
