/**
 * Per-operation cost of node-wide shared state with several processes
 * contending (issue 10; the decision is recorded in docs/ARCHITECTURE.md):
 *
 * - sqlite upsert:  one SQLite file on /dev/shm (src/core/node-state), the
 *                   rate-limit statement (atomic increment-and-read,
 *                   INSERT … ON CONFLICT DO UPDATE … RETURNING), busy → busyRetry (at once for 50 µs, then sleeping 50 µs–1 ms);
 * - sqlite upsert, sleeping busy handler: the same with SQLite's busy_timeout
 *                   (its handler sleeps ≥ 1 ms when the lock is taken);
 * - sqlite 3-period transaction: BEGIN IMMEDIATE, 3 reads, 3 upserts, COMMIT;
 * - sqlite cache hit: read one 1 KiB cached response (meta + BLOB);
 * - IPC to the primary: the counter lives in the parent; each op is one
 *                   request/answer over the process IPC channel (what
 *                   node:cluster uses), one outstanding per process;
 * - IPC, 32 in flight: the same with 32 outstanding requests per process
 *                   (throughput when requests are concurrent).
 *
 * Each case runs in 1 and in N processes at once for --time ms; reported:
 * wall time per operation as one process sees it, and ops/s of all together.
 *
 *   node bench/micro/node-state.ts [--procs 2] [--time 2000] [--json]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { busyRetry, getRetry, writeTransaction } from '../../src/core/node-state/database.ts';

type Mode = 'upsert' | 'upsert-sleep' | 'txn3' | 'cache-hit' | 'ipc' | 'ipc-32';
const MODES: readonly Mode[] = ['upsert', 'upsert-sleep', 'txn3', 'cache-hit', 'ipc', 'ipc-32'];
const LABEL: Record<Mode, string> = {
  upsert: 'sqlite upsert (busyRetry)',
  'upsert-sleep': 'sqlite upsert (sleeping busy handler)',
  txn3: 'sqlite 3-period transaction',
  'cache-hit': 'sqlite cache hit (1 KiB)',
  ipc: 'IPC to the primary, 1 in flight',
  'ipc-32': 'IPC to the primary, 32 in flight',
};
const KEYS = 100;

interface ChildResult {
  ops: number;
  ms: number;
}

function open(dir: string, sleeping: boolean): DatabaseSync {
  const db = new DatabaseSync(join(dir, 'state.db'), { timeout: sleeping ? 5000 : 0 });
  busyRetry(() => db.exec('PRAGMA journal_mode=WAL'));
  db.exec('PRAGMA synchronous=OFF');
  return db;
}

function setup(dir: string): void {
  const db = open(dir, true);
  db.exec('CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID');
  db.exec('CREATE TABLE IF NOT EXISTS cache (id TEXT PRIMARY KEY, meta TEXT NOT NULL, body BLOB NOT NULL, last_access INTEGER NOT NULL)');
  const put = db.prepare('INSERT OR REPLACE INTO cache (id, meta, body, last_access) VALUES (?, ?, ?, ?)');
  const meta = JSON.stringify({ status: 200, headers: { 'content-type': 'application/json', etag: '"abc"' }, ttl: 300 });
  for (let k = 0; k < KEYS; k++) put.run(`k${k}`, meta, Buffer.alloc(1024, 120), Date.now());
  db.close();
}

/** A child: run one mode for `ms` and report how many operations it did. */
async function child(mode: Mode, dir: string, ms: number): Promise<ChildResult> {
  const end = Date.now() + ms;
  let ops = 0;
  const t0 = performance.now();
  if (mode === 'ipc' || mode === 'ipc-32') {
    const inFlight = mode === 'ipc' ? 1 : 32;
    let seq = 0;
    const waiting = new Map<number, () => void>();
    process.on('message', (m: { id: number }) => {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      w?.();
    });
    const lane = async (): Promise<void> => {
      while (Date.now() < end) {
        const id = ++seq;
        await new Promise<void>((resolve) => {
          waiting.set(id, resolve);
          process.send!({ id, key: `k${id % KEYS}`, limit: 1e12 });
        });
        ops++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return { ops, ms: performance.now() - t0 };
  }
  const db = open(dir, mode === 'upsert-sleep');
  const upsert: StatementSync = db.prepare(
    'INSERT INTO counters (key, count, expires_at) VALUES (?, 1, ?) ON CONFLICT(key) DO UPDATE SET count = count + 1 WHERE count < ? RETURNING count',
  );
  const read = db.prepare('SELECT count FROM counters WHERE key = ?');
  const hit = db.prepare('SELECT meta, body, last_access FROM cache WHERE id = ?');
  const keys = Array.from({ length: KEYS }, (_, k) => `k${k}`);
  while (Date.now() < end) {
    for (let b = 0; b < 64; b++) {
      const key = keys[ops % KEYS]!;
      if (mode === 'upsert') getRetry(upsert, key, 0, 1e12);
      else if (mode === 'upsert-sleep') upsert.get(key, 0, 1e12);
      else if (mode === 'txn3') {
        writeTransaction(db, () => {
          for (let p = 0; p < 3; p++) read.get(`${p}:${key}`);
          for (let p = 0; p < 3; p++) upsert.get(`${p}:${key}`, 0, 1e12);
        });
      } else {
        const row = getRetry(hit, key) as { meta: string; body: Uint8Array };
        JSON.parse(row.meta);
      }
      ops++;
    }
  }
  const out = { ops, ms: performance.now() - t0 };
  db.close();
  return out;
}

/** Parent: start `procs` children on one mode (serving their IPC requests) and collect their counts. */
async function runCase(mode: Mode, dir: string, procs: number, ms: number): Promise<{ nsPerOp: number; opsPerSec: number }> {
  const counters = new Map<string, number>();
  const results = await Promise.all(
    Array.from(
      { length: procs },
      () =>
        new Promise<ChildResult>((resolve, reject) => {
          const c = fork(fileURLToPath(import.meta.url), ['--child', mode, dir, String(ms)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
          c.on('message', (m: { id?: number; key?: string; limit?: number; ops?: number; ms?: number }) => {
            if (m.ops !== undefined) {
              resolve({ ops: m.ops, ms: m.ms! });
              c.kill();
              return;
            }
            // The primary's side of the IPC mechanism: exact increment-and-read in its memory.
            const cur = counters.get(m.key!) ?? 0;
            if (cur < m.limit!) counters.set(m.key!, cur + 1);
            c.send({ id: m.id, count: cur + 1 });
          });
          c.on('error', reject);
        }),
    ),
  );
  const ops = results.reduce((n, r) => n + r.ops, 0);
  const ms2 = Math.max(...results.map((r) => r.ms));
  const perProcNs = results.reduce((n, r) => n + (r.ms * 1e6) / r.ops, 0) / results.length;
  return { nsPerOp: perProcNs, opsPerSec: (ops / ms2) * 1000 };
}

const argv = process.argv;
if (argv[2] === '--child') {
  const r = await child(argv[3] as Mode, argv[4]!, Number(argv[5]));
  process.send!(r);
  // Keep the channel open until the parent has read the answer and kills us.
  setTimeout(() => process.exit(0), 10_000).unref();
} else {
  const flag = (name: string, dflt: number): number => {
    const i = argv.indexOf(name);
    return i === -1 ? dflt : Number(argv[i + 1]);
  };
  const procs = flag('--procs', 2);
  const ms = flag('--time', 2000);
  const json = argv.includes('--json');
  const dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : tmpdir(), 'portcullis-bench-'));
  try {
    setup(dir);
    const rows: Array<{ mode: string; procs: number; nsPerOp: number; opsPerSec: number }> = [];
    for (const mode of MODES) {
      for (const n of [1, procs]) {
        const r = await runCase(mode, dir, n, ms);
        rows.push({ mode: LABEL[mode], procs: n, ...r });
        if (!json) {
          process.stdout.write(
            `  ${LABEL[mode].padEnd(40)} ${String(n).padStart(2)} proc  ${(r.nsPerOp / 1000).toFixed(2).padStart(8)} µs/op per process  ${Math.round(r.opsPerSec).toLocaleString('en').padStart(11)} ops/s total\n`,
          );
        }
      }
    }
    if (json) process.stdout.write(`${JSON.stringify({ node: process.version, procs, ms, rows })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
