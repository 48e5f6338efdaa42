/**
 * The `local` policy's counters: per node, shared by every worker, as Kong's
 * (its `kong_rate_limiting_counters` lua_shared_dict, `shm:incr`). They live
 * in the node's shared database (src/core/node-state/database.ts), like
 * rate-limiting's local policy, in a table of their own.
 *
 * An increment is one atomic upsert per period (`count = count + n`), all of
 * a request's periods in one write transaction, so concurrent workers never
 * lose an increment. Counters are keyed like Kong's
 * (`response-ratelimit:<route>:<service>:<identifier>:<window start>:<name>:<period>`)
 * and swept a while after their window is over.
 */
import type { StatementSync } from 'node:sqlite';
import { getRetry, nodeDatabase, runRetry, writeTransaction } from '../../core/node-state/database.ts';

const SWEEP_EVERY_MS = 10_000;
/** A counter is dropped this long after its window ended (a worker may still read the old window). */
const SWEEP_GRACE_MS = 5_000;

interface Statements {
  read: StatementSync;
  add: StatementSync;
  sweep: StatementSync;
}

let statements: Statements | null = null;
let nextSweep = 0;

function prepared(): Statements {
  if (statements !== null) return statements;
  const db = nodeDatabase();
  db.exec('CREATE TABLE IF NOT EXISTS response_ratelimiting_counters (key TEXT PRIMARY KEY, count REAL NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID');
  db.exec('CREATE INDEX IF NOT EXISTS response_ratelimiting_counters_expiry ON response_ratelimiting_counters (expires_at)');
  statements = {
    read: db.prepare('SELECT count FROM response_ratelimiting_counters WHERE key = ?'),
    add: db.prepare(
      'INSERT INTO response_ratelimiting_counters (key, count, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET count = count + ?2',
    ),
    sweep: db.prepare('DELETE FROM response_ratelimiting_counters WHERE expires_at <= ?'),
  };
  statements.read.setReturnArrays(true);
  return statements;
}

/** The node's count of one counter (0 when absent). */
export function usage(key: string): number {
  const row = getRetry(prepared().read, key) as [number] | undefined;
  return row === undefined ? 0 : row[0];
}

/** Add `value` to every counter of `entries` ([key, expires_at]) atomically. */
export function increment(entries: ReadonlyArray<readonly [string, number]>, value: number, now: number): void {
  const s = prepared();
  if (now >= nextSweep) {
    nextSweep = now + SWEEP_EVERY_MS;
    runRetry(s.sweep, now - SWEEP_GRACE_MS);
  }
  writeTransaction(nodeDatabase(), () => {
    for (const [key, expiresAt] of entries) s.add.run(key, value, expiresAt);
  });
}

/** For tests: forget every counter of the node. */
export function resetCounters(): void {
  prepared();
  nodeDatabase().exec('DELETE FROM response_ratelimiting_counters');
  nextSweep = 0;
}
