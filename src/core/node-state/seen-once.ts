/**
 * Node-wide "seen once" sets: one-time identifiers (DPoP proof `jti`s,
 * logout token `jti`s) that must be refused the second time they reach any
 * worker of the node.
 *
 * The set lives in the primary; a worker asks it over the cluster IPC
 * channel, all the identifiers of one event-loop turn in one message
 * (flushed at setImmediate, after the turn's I/O callbacks), and the
 * primary answers in one message. A process that is not a cluster worker
 * (the primary itself, a single-process gateway, a test) uses its own set.
 *
 * Why not the node's SQLite file like the other node-wide state: every
 * identifier is a new row, so every request was a write transaction —
 * write lock, WAL frame, lock release, page cache invalidated for the other
 * worker — 30–60 µs of CPU per request on the 2-core VM, and the workers
 * serialised on the lock. A batched round trip costs the worker one write
 * and one read per turn whatever the batch size; the primary answers from a
 * Map. Measured in docs/ARCHITECTURE.md ("Seen-once identifiers").
 *
 * Fails closed: no answer within ANSWER_TIMEOUT_MS, or no primary, rejects
 * (the caller answers 500), never "first use".
 */
import cluster from 'node:cluster';

/** One set: identifier → expiry (seconds), with expiry buckets so that forgetting costs O(expired). */
export class SeenOnceTable {
  readonly #expiry = new Map<string, number>();
  readonly #buckets = new Map<number, string[]>();
  #swept = 0;

  get size(): number {
    return this.#expiry.size;
  }

  /** True when `key` is not held (or its time is over), and holds it until `expiresAt`. */
  firstUse(key: string, expiresAt: number, now: number): boolean {
    if (now > this.#swept) this.sweep(now);
    const held = this.#expiry.get(key);
    if (held !== undefined && held > now) return false;
    this.#expiry.set(key, expiresAt);
    let bucket = this.#buckets.get(expiresAt);
    if (bucket === undefined) this.#buckets.set(expiresAt, (bucket = []));
    bucket.push(key);
    return true;
  }

  /** Forget what expired at or before `now`. */
  sweep(now: number): void {
    this.#swept = now;
    for (const [at, keys] of this.#buckets) {
      if (at > now) continue;
      for (const k of keys) if (this.#expiry.get(k) === at) this.#expiry.delete(k);
      this.#buckets.delete(at);
    }
  }
}

/** Worker → primary: the identifiers of one event-loop turn. */
interface SeenOnceMessage {
  type: 'portcullis:seen-once';
  id: number;
  /** Set name, key, expiry (seconds) per identifier, flattened. */
  entries: Array<string | number>;
  now: number;
}

/** Primary → worker: '1' (first use) or '0' per identifier, in order. */
interface SeenOnceResultMessage {
  type: 'portcullis:seen-once-result';
  id: number;
  fresh: string;
}

/** How long a worker waits for the primary's answer before refusing the requests. */
export const ANSWER_TIMEOUT_MS = 2_000;

const tables = new Map<string, SeenOnceTable>();

function tableOf(set: string): SeenOnceTable {
  let t = tables.get(set);
  if (t === undefined) tables.set(set, (t = new SeenOnceTable()));
  return t;
}

/** Identifiers held by this process's sets (the primary's, in a cluster). */
export function seenOnceSize(): number {
  let n = 0;
  for (const t of tables.values()) n += t.size;
  return n;
}

interface Waiting {
  resolve: (first: boolean) => void;
  reject: (err: Error) => void;
}

let seq = 0;
let batch: Array<string | number> = [];
let waiting: Waiting[] = [];
let batchNow = 0;
let scheduled = false;
let listening = false;
const inFlight = new Map<number, { waiting: Waiting[]; timer: NodeJS.Timeout }>();

function settle(id: number, fresh: string | null, error: Error | null): void {
  const f = inFlight.get(id);
  if (f === undefined) return;
  inFlight.delete(id);
  clearTimeout(f.timer);
  for (let i = 0; i < f.waiting.length; i++) {
    const w = f.waiting[i]!;
    if (fresh === null || fresh.length !== f.waiting.length) w.reject(error ?? new Error('seen-once: malformed answer from the primary'));
    else w.resolve(fresh.charCodeAt(i) === 49);
  }
}

function listen(): void {
  listening = true;
  process.on('message', (m: unknown) => {
    const msg = m as SeenOnceResultMessage | undefined;
    if (msg?.type === 'portcullis:seen-once-result') settle(msg.id, typeof msg.fresh === 'string' ? msg.fresh : null, null);
  });
  process.on('disconnect', () => {
    for (const id of [...inFlight.keys()]) settle(id, null, new Error('seen-once: the primary is gone'));
  });
}

function flush(): void {
  scheduled = false;
  const id = ++seq;
  const entries = batch;
  const w = waiting;
  batch = [];
  waiting = [];
  const timer = setTimeout(() => settle(id, null, new Error(`seen-once: the primary did not answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
  timer.unref();
  inFlight.set(id, { waiting: w, timer });
  if (process.send === undefined || !process.connected) {
    settle(id, null, new Error('seen-once: no primary'));
    return;
  }
  process.send({ type: 'portcullis:seen-once', id, entries, now: batchNow } satisfies SeenOnceMessage, (err: Error | null) => {
    if (err) settle(id, null, err);
  });
}

/**
 * True the first time `key` is seen in set `set` on this node within `ttl`
 * seconds (from `now`, seconds), and remembers it; false for a repeat.
 * Rejects when the check cannot be made.
 */
export function firstUseOnNode(set: string, key: string, ttl: number, now: number): Promise<boolean> {
  if (!cluster.isWorker) return Promise.resolve(tableOf(set).firstUse(key, now + ttl, now));
  if (!listening) listen();
  return new Promise<boolean>((resolve, reject) => {
    batch.push(set, key, now + ttl);
    waiting.push({ resolve, reject });
    batchNow = Math.max(batchNow, now);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
}

/** Primary: answer the workers' seen-once questions (call once, before forking). */
export function serveSeenOnce(): void {
  cluster.on('message', (w, m: unknown) => {
    const msg = m as SeenOnceMessage | undefined;
    if (msg?.type !== 'portcullis:seen-once' || !Array.isArray(msg.entries)) return;
    const e = msg.entries;
    const now = typeof msg.now === 'number' ? msg.now : Math.floor(Date.now() / 1000);
    let fresh = '';
    for (let i = 0; i + 2 < e.length; i += 3) {
      const set = e[i];
      const key = e[i + 1];
      const at = e[i + 2];
      fresh += typeof set === 'string' && typeof key === 'string' && typeof at === 'number' && tableOf(set).firstUse(key, at, now) ? '1' : '0';
    }
    if (w.isConnected()) w.send({ type: 'portcullis:seen-once-result', id: msg.id, fresh } satisfies SeenOnceResultMessage);
  });
  // Forget expired identifiers when no question comes (a busy set sweeps as it is asked).
  setInterval(() => {
    const now = Math.floor(Date.now() / 1000);
    for (const t of tables.values()) t.sweep(now);
  }, 5_000).unref();
}
