/**
 * Events every node of a cluster must see — the role of Kong's
 * `cluster_events` — for plugins whose per-node state must change on every
 * node at once (openid-connect logouts). A narrow port: a plugin reaches the
 * database only through these two calls, never through the store.
 *
 * Who provides it (set at start, null when there is no cluster to tell):
 * - the process holding a PostgreSQL store (single process, or the cluster
 *   primary): the store itself (src/store/postgres/events.ts — a table of
 *   events kept until they expire, LISTEN/NOTIFY on the store's connection);
 * - a cluster worker: a relay to its primary over the cluster IPC channel
 *   (src/cluster.ts), whose store broadcasts;
 * - SQLite (one node) and DB-less: nobody; the node's shared state is the
 *   whole cluster.
 *
 * Delivery is per node, not per process: handlers run in the process that
 * holds the store (a worker's `subscribe` does nothing), so a handler must
 * write node-wide state (src/core/node-state), which every worker reads.
 * A handler is called for every event still kept when it subscribes and
 * after every reconnection, so it must be idempotent.
 */

export interface ClusterEvents {
  /**
   * Keep `data` on `channel` for `ttlSeconds` and tell every node now.
   * Resolves once the event is stored (and the notification committed);
   * rejects when the database cannot be reached.
   */
  broadcast(channel: string, data: string, ttlSeconds: number): Promise<void>;
  /** Deliver this node's copy of every event on `channel` (kept ones first). Returns the unsubscribe. */
  subscribe(channel: string, handler: (data: string) => void): () => void;
}

let provider: ClusterEvents | null = null;

export function setClusterEvents(p: ClusterEvents | null): void {
  provider = p;
}

/** The node's cluster events, or null when this node is the whole cluster. */
export function clusterEvents(): ClusterEvents | null {
  return provider;
}
