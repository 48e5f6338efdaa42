/**
 * busyRetry (src/core/node-state/database.ts): a write that meets another
 * worker's write lock waits for it without burning the CPU the lock holder
 * needs, and gives up after its deadline. The lock holder is another thread
 * with its own connection, as another worker process would be.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { busyRetry } from '../../../../src/core/node-state/database.ts';

const HOLDER = `
const { workerData, parentPort } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.file, { timeout: 0 });
db.exec('BEGIN IMMEDIATE');
db.exec("INSERT INTO t (k) VALUES ('holder')");
parentPort.postMessage('locked');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
db.exec('COMMIT');
db.close();
`;

function setup(): { file: string; db: DatabaseSync; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'busy-retry-'));
  const file = join(dir, 'state.db');
  const db = new DatabaseSync(file, { timeout: 0 });
  db.exec('PRAGMA journal_mode=WAL');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  return { file, db, done: () => { db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

async function holdLock(file: string, holdMs: number): Promise<Worker> {
  const w = new Worker(HOLDER, { eval: true, workerData: { file, holdMs } });
  await once(w, 'message');
  return w;
}

test('a write waits for the lock holder and then succeeds, sleeping rather than spinning', async () => {
  const { file, db, done } = setup();
  try {
    const w = await holdLock(file, 300);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    busyRetry(() => db.exec("INSERT INTO t (k) VALUES ('writer')"));
    const waited = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await once(w, 'exit');
    assert.ok(waited >= 200, `waited ${waited.toFixed(0)} ms for a lock held 300 ms`);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    // Spinning would use about as much CPU as the wait took; sleeping between tries uses a small part of it.
    assert.ok(cpuMs < waited / 2, `${cpuMs.toFixed(0)} ms of CPU during a ${waited.toFixed(0)} ms wait`);
    assert.deepEqual(db.prepare('SELECT k FROM t ORDER BY k').all().map((r) => r.k), ['holder', 'writer']);
  } finally {
    done();
  }
});

test('a write that cannot get the lock within 2 s fails with the busy error (the caller decides)', async () => {
  const { file, db, done } = setup();
  try {
    const w = await holdLock(file, 2_600);
    const t0 = performance.now();
    assert.throws(() => busyRetry(() => db.exec("INSERT INTO t (k) VALUES ('writer')")), (err: Error & { errcode?: number }) => (err.errcode! & 0xff) === 5);
    const waited = performance.now() - t0;
    assert.ok(waited >= 1_900 && waited < 2_600, `gave up after ${waited.toFixed(0)} ms`);
    await once(w, 'exit');
  } finally {
    done();
  }
});
