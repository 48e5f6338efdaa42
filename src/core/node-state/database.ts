/**
 * The node's shared state database (ARCHITECTURE principle 14): one SQLite
 * file in the node's state directory (location.ts), opened by every worker
 * of the node, in the role nginx's lua_shared_dict plays for Kong. What
 * plugins keep in it (rate-limit counters, proxy-cache entries, memory
 * sessions) is therefore per node: the same for every worker, and it
 * survives a worker that dies.
 *
 * Settings, and why (measured in bench/micro/node-state.ts, see
 * docs/ARCHITECTURE.md "Decisions"):
 * - the file lives in memory (/dev/shm), so durability buys nothing:
 *   journal_mode=WAL (readers never wait for the writer), synchronous=OFF;
 * - writers of different workers serialise on SQLite's write lock, held for
 *   microseconds. SQLite's own busy handler sleeps at least 1 ms when the
 *   lock is taken — far longer than the lock is held — so the connection has
 *   no busy timeout and a write that meets the lock retries at once for 50 µs,
 *   then sleeps between tries (busyRetry), up to BUSY_DEADLINE_MS (then it
 *   fails, and the caller's error handling applies).
 *
 * Tables are created by their owners (CREATE TABLE IF NOT EXISTS, on first
 * use); the core knows no plugin's schema.
 */
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import cluster from 'node:cluster';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { createNodeStateDir, NODE_STATE_ENV } from './location.ts';

/** Longest a write keeps retrying a busy database before giving up. */
const BUSY_DEADLINE_MS = 2_000;
/** SQLITE_BUSY / SQLITE_LOCKED (primary result codes). */
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

let dir: string | null = null;
let db: DatabaseSync | null = null;

/**
 * This node's state directory. A cluster worker uses its primary's (from the
 * environment); any other process — a cluster primary, a single-process
 * gateway — creates its own on first call, so two nodes started from one
 * shell never share state.
 */
export function nodeStateDir(): string {
  if (dir !== null) return dir;
  const inherited = process.env[NODE_STATE_ENV];
  dir = cluster.isWorker && inherited !== undefined && inherited !== '' ? inherited : createNodeStateDir();
  return dir;
}

function isBusy(err: unknown): boolean {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && ((code & 0xff) === SQLITE_BUSY || (code & 0xff) === SQLITE_LOCKED);
}

/** Open (once per process) the node's shared database. */
export function nodeDatabase(): DatabaseSync {
  if (db !== null) return db;
  const file = join(nodeStateDir(), 'state.db');
  // timeout 0: no sleeping busy handler (see the header comment); busy writes are retried by busyRetry().
  const opened = new DatabaseSync(file, { timeout: 0 });
  busyRetry(() => opened.exec('PRAGMA journal_mode=WAL'));
  opened.exec('PRAGMA synchronous=OFF');
  // Temporary structures in memory; a larger page cache than the default for cached response bodies.
  opened.exec('PRAGMA temp_store=MEMORY');
  opened.exec('PRAGMA cache_size=-16384');
  db = opened;
  return db;
}

/**
 * Waiting for another worker's write lock. The lock is held for microseconds,
 * so the first tries come at once; after SPIN_MS the process sleeps between
 * tries (Atomics.wait: the thread gives its core up, 50 µs doubling to 1 ms).
 * Spinning on alone burned the CPU the lock holder needed whenever more
 * processes than cores were runnable (load generator, upstream and workers on
 * 2 cores): bench/micro/node-state.ts "4 procs", docs/ARCHITECTURE.md.
 */
const SPIN_MS = 0.05;
const FIRST_SLEEP_MS = 0.05;
const MAX_SLEEP_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Run `fn`, retrying while the database is busy (another worker holds the write lock). */
export function busyRetry<T>(fn: () => T): T {
  let started = 0;
  let sleep = 0;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err)) throw err;
      const now = performance.now();
      if (started === 0) started = now;
      else if (now - started > BUSY_DEADLINE_MS) throw err;
      if (now - started >= SPIN_MS) {
        sleep = sleep === 0 ? FIRST_SLEEP_MS : Math.min(MAX_SLEEP_MS, sleep * 2);
        Atomics.wait(sleeper, 0, 0, sleep);
      }
    }
  }
}

/** `stmt.get(...args)` with busy retry (one statement is its own transaction). */
export function getRetry(stmt: StatementSync, ...args: SQLInputValue[]): unknown {
  return busyRetry(() => stmt.get(...args));
}

/** `stmt.run(...args)` with busy retry. */
export function runRetry(stmt: StatementSync, ...args: SQLInputValue[]): void {
  busyRetry(() => stmt.run(...args));
}

/**
 * Run `fn` in one write transaction (BEGIN IMMEDIATE: the write lock is taken
 * up front, so what `fn` reads cannot change before it writes). Retried from
 * the start while another worker holds the lock.
 */
export function writeTransaction<T>(database: DatabaseSync, fn: () => T): T {
  busyRetry(() => database.exec('BEGIN IMMEDIATE'));
  try {
    const out = fn();
    database.exec('COMMIT');
    return out;
  } catch (err) {
    if (database.isTransaction) database.exec('ROLLBACK');
    throw err;
  }
}

/** For tests and benchmarks: open the database of another directory (a second connection). */
export function openNodeDatabaseAt(directory: string): DatabaseSync {
  const opened = new DatabaseSync(join(directory, 'state.db'), { timeout: 0 });
  busyRetry(() => opened.exec('PRAGMA journal_mode=WAL'));
  opened.exec('PRAGMA synchronous=OFF');
  return opened;
}
