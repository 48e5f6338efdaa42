/**
 * The `local` policy: counters per node, shared by every worker of the node,
 * as Kong's (its `kong_rate_limiting_counters` lua_shared_dict; Kong's docs:
 * "local: Counters are stored in-memory on the node"). They live in the
 * node's shared database (src/core/node-state), so they are exact across
 * workers and survive a worker that dies.
 *
 * Counting is atomic: one statement (one period) or one write transaction
 * (several) reads every counter and, unless one has reached its limit, adds
 * to all of them — concurrent requests on any worker cannot overshoot, and
 * a rejected request is not counted (as Kong). Counters are keyed like
 * Kong's (`ratelimit:<route>:<service>:<identifier>:<window start>:<period>`)
 * and dropped once their window is over.
 *
 * Leases keep the database off most requests when a limit is far away: a
 * worker may take up to LEASE_MAX units in one statement, 1/LEASE_DIVISOR of
 * what is left, and admit that many requests from its memory. Once fewer
 * than LEASE_DIVISOR units are left, every request takes exactly one unit,
 * so the last units of a window go to requests in arrival order on any
 * worker and the total never exceeds the limit. Leased units a worker has
 * not used when the window ends (or when it dies) are not given to others:
 * a node can admit slightly less than the limit, never more. Once a window
 * is used up, a worker remembers it and rejects without asking again
 * (rejections are not counted, so a used-up window stays used up).
 */
import type { StatementSync } from 'node:sqlite';
import { getRetry, nodeDatabase, runRetry, writeTransaction } from '../../../core/node-state/database.ts';

/** Most units one lease takes. */
export const LEASE_MAX = 64;
/** A lease takes 1/LEASE_DIVISOR of what is left (so with < LEASE_DIVISOR left, one unit). */
export const LEASE_DIVISOR = 32;
/** Kong's dictionary is bounded too (LRU); past this many counters, those whose windows end first go. */
export const MAX_COUNTERS = 500_000;
const SWEEP_EVERY_MS = 10_000;
/**
 * A counter is dropped this long after its window ended, not at once: a
 * worker that read the clock just before the turn may still count in the
 * old window, and a counter deleted under it would start again from zero.
 */
const SWEEP_GRACE_MS = 5_000;

/** One period of a plugin instance, as the policy needs it. */
export interface LocalPeriod {
  readonly name: string;
  readonly index: number;
  readonly limit: number;
  readonly window: number;
}

/** What this worker holds for one identifier of one plugin instance. */
interface Lease {
  /** Window start per period (in the instance's period order) the lease is for. */
  readonly starts: number[];
  /** Count per period before the lease's first unit. */
  readonly base: number[];
  units: number;
  used: number;
  /** Index (in period order) of a period found used up in these windows, or -1. */
  exhausted: number;
}

interface Statements {
  lease: StatementSync;
  read: StatementSync;
  add: StatementSync;
  sweep: StatementSync;
  count: StatementSync;
  trim: StatementSync;
}

let statements: Statements | null = null;

function prepared(): Statements {
  if (statements !== null) return statements;
  const db = nodeDatabase();
  db.exec(
    'CREATE TABLE IF NOT EXISTS rate_limiting_counters (key TEXT PRIMARY KEY, count REAL NOT NULL, taken INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID',
  );
  db.exec('CREATE INDEX IF NOT EXISTS rate_limiting_counters_expiry ON rate_limiting_counters (expires_at)');
  // ?1 key, ?2 limit, ?3 expires_at, ?4 lease cap. `taken` = units granted by this statement
  // (SET expressions read the row as it was), so RETURNING gives the new count and the grant.
  const take = `MAX(1, MIN(?4, CAST((?2 - count) / ${LEASE_DIVISOR} AS INTEGER)))`;
  statements = {
    lease: db.prepare(
      `INSERT INTO rate_limiting_counters (key, count, taken, expires_at) VALUES (?1, MAX(1, MIN(?4, CAST(?2 / ${LEASE_DIVISOR} AS INTEGER))), MAX(1, MIN(?4, CAST(?2 / ${LEASE_DIVISOR} AS INTEGER))), ?3)
       ON CONFLICT (key) DO UPDATE SET count = count + ${take}, taken = ${take} WHERE count < ?2
       RETURNING count, taken`,
    ),
    read: db.prepare('SELECT count FROM rate_limiting_counters WHERE key = ?'),
    add: db.prepare(
      'INSERT INTO rate_limiting_counters (key, count, taken, expires_at) VALUES (?1, ?2, ?2, ?3) ON CONFLICT (key) DO UPDATE SET count = count + ?2, taken = ?2',
    ),
    sweep: db.prepare('DELETE FROM rate_limiting_counters WHERE expires_at <= ?'),
    count: db.prepare('SELECT count(*) AS n FROM rate_limiting_counters'),
    trim: db.prepare(
      'DELETE FROM rate_limiting_counters WHERE key IN (SELECT key FROM rate_limiting_counters ORDER BY expires_at LIMIT ?)',
    ),
  };
  for (const s of [statements.lease, statements.read]) s.setReturnArrays(true);
  return statements;
}

function counterKey(scope: string, id: string, start: number, period: string): string {
  return `${scope}${id}:${start}:${period}`;
}

/** Per-worker leases: compiled plugin instance → identifier → lease. Dropped with the instance. */
let leases = new WeakMap<object, Map<string, Lease>>();
let leaseCount = 0;
let nextSweep = 0;

function sweep(now: number): void {
  nextSweep = now + SWEEP_EVERY_MS;
  const s = prepared();
  runRetry(s.sweep, now - SWEEP_GRACE_MS);
  const n = (s.count.get() as { n: number }).n;
  if (n > MAX_COUNTERS) runRetry(s.trim, n - MAX_COUNTERS);
}

function sameWindows(lease: Lease, periods: readonly LocalPeriod[], starts: readonly number[]): boolean {
  for (let i = 0; i < periods.length; i++) if (lease.starts[i] !== starts[periods[i]!.index]) return false;
  return true;
}

/**
 * Count one request of `id` against every period, unless one is used up.
 * `usage[i]` receives the count of periods[i] before this request (for a
 * used-up period: its limit or more). Returns true when the request was
 * counted (admitted).
 */
export function acquire(
  instance: object,
  periods: readonly LocalPeriod[],
  starts: readonly number[],
  scope: string,
  id: string,
  now: number,
  usage: number[],
): boolean {
  let byId = leases.get(instance);
  if (byId === undefined) leases.set(instance, (byId = new Map()));
  let lease = byId.get(id);
  if (lease !== undefined && !sameWindows(lease, periods, starts)) lease = undefined;
  if (lease !== undefined) {
    if (lease.exhausted !== -1) {
      for (let i = 0; i < periods.length; i++) usage[i] = lease.base[i]! + lease.used;
      return false;
    }
    if (lease.used < lease.units) {
      for (let i = 0; i < periods.length; i++) usage[i] = lease.base[i]! + lease.used;
      lease.used++;
      return true;
    }
  }
  if (now >= nextSweep) sweep(now);
  const next = periods.length === 1 ? takeOne(periods[0]!, starts, scope, id) : takeAll(periods, starts, scope, id);
  if (lease === undefined) {
    if (++leaseCount > MAX_COUNTERS) {
      // A flood of identifiers: forget every lease (unused units are lost, nothing is over-admitted).
      leaseCount = 0;
      leases.delete(instance);
      leases.set(instance, (byId = new Map()));
    }
  }
  byId.set(id, next);
  for (let i = 0; i < periods.length; i++) usage[i] = next.base[i]!;
  if (next.exhausted !== -1) return false;
  next.used = 1;
  return true;
}

function windowStarts(periods: readonly LocalPeriod[], starts: readonly number[]): number[] {
  const out = new Array<number>(periods.length);
  for (let i = 0; i < periods.length; i++) out[i] = starts[periods[i]!.index]!;
  return out;
}

/** One period: a single atomic statement. */
function takeOne(p: LocalPeriod, starts: readonly number[], scope: string, id: string): Lease {
  const start = starts[p.index]!;
  const row = getRetry(prepared().lease, counterKey(scope, id, start, p.name), p.limit, start + p.window * 1000, LEASE_MAX) as
    | [number, number]
    | undefined;
  if (row === undefined) return { starts: [start], base: [p.limit], units: 0, used: 0, exhausted: 0 };
  return { starts: [start], base: [row[0] - row[1]], units: row[1], used: 0, exhausted: -1 };
}

/** Several periods: read them all and add to all of them in one write transaction. */
function takeAll(periods: readonly LocalPeriod[], starts: readonly number[], scope: string, id: string): Lease {
  const s = prepared();
  const keys = new Array<string>(periods.length);
  const base = new Array<number>(periods.length);
  return writeTransaction(nodeDatabase(), () => {
    let units = LEASE_MAX;
    let exhausted = -1;
    for (let i = 0; i < periods.length; i++) {
      const p = periods[i]!;
      keys[i] = counterKey(scope, id, starts[p.index]!, p.name);
      const row = s.read.get(keys[i]!) as [number] | undefined;
      const count = row === undefined ? 0 : row[0];
      base[i] = count;
      if (count >= p.limit) exhausted = i;
      else units = Math.min(units, Math.max(1, Math.floor((p.limit - count) / LEASE_DIVISOR)));
    }
    if (exhausted === -1) {
      for (let i = 0; i < periods.length; i++) {
        const p = periods[i]!;
        s.add.run(keys[i]!, units, starts[p.index]! + p.window * 1000);
      }
    } else units = 0;
    return { starts: windowStarts(periods, starts), base, units, used: 0, exhausted };
  });
}

/** For tests: forget every counter of the node and this worker's leases. */
export function resetLocalCounters(): void {
  const db = nodeDatabase();
  prepared();
  db.exec('DELETE FROM rate_limiting_counters');
  leases = new WeakMap();
  leaseCount = 0;
  nextSweep = 0;
}

/** For tests: the node's count of one counter. */
export function nodeCount(scope: string, id: string, start: number, period: string): number {
  const row = prepared().read.get(counterKey(scope, id, start, period)) as [number] | undefined;
  return row === undefined ? 0 : row[0];
}
