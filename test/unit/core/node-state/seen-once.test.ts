/**
 * The node's seen-once set (src/core/node-state/seen-once.ts): the table's
 * rules, and the primary answering two real cluster workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { hash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ANSWER_TIMEOUT_MS, SeenOnceTable, firstUseOnNode } from '../../../../src/core/node-state/seen-once.ts';

const key = (): string => hash('sha256', randomUUID(), 'base64url');

test('a key is first once, repeats are refused, 100,000 distinct keys are all first (the table grows)', () => {
  const t = new SeenOnceTable();
  const keys = Array.from({ length: 100_000 }, key);
  assert.equal(keys.filter((k) => t.firstUse(k, 0, 1_000, 10)).length, 100_000);
  assert.equal(keys.filter((k) => t.firstUse(k, 0, 1_000, 10)).length, 0);
  assert.equal(t.live(10), 100_000);
  assert.ok(t.capacity >= 200_000, `capacity ${t.capacity}`);
});

test('a key is held until its expiry second, then it may be used again', () => {
  const t = new SeenOnceTable();
  const k = key();
  assert.equal(t.firstUse(k, 0, 100, 40), true);
  assert.equal(t.firstUse(k, 0, 200, 99), false);
  assert.equal(t.firstUse(k, 0, 200, 100), true, 'expired at its second');
  assert.equal(t.firstUse(k, 0, 300, 150), false, 'held again until 200');
});

test('the first 128 bits name the key: keys that differ there are distinct, the rest is ignored', () => {
  const t = new SeenOnceTable();
  const base = 'A'.repeat(21);
  // Character 22 gives its top 2 bits: 'A' = 000000, 'Q' = 010000 (differs in bit 127), 'B' = 000001 (low bits only).
  assert.equal(t.firstUse(`${base}A`, 0, 100, 1), true);
  assert.equal(t.firstUse(`${base}Q`, 0, 100, 1), true);
  assert.equal(t.firstUse(`${base}B`, 0, 100, 1), false);
  assert.equal(t.firstUse(`xx${base}Q`, 2, 100, 1), false, 'read from an offset');
  assert.equal(t.firstUse(`${base}*`, 0, 100, 1), false, 'not base64url: never first');
});

test('a table whose entries expired is rebuilt small, not grown', () => {
  const t = new SeenOnceTable();
  for (let i = 0; i < 50_000; i++) t.firstUse(key(), 0, 20, 10);
  const big = t.capacity;
  for (let i = 0; i < 200_000; i++) t.firstUse(key(), 0, 30 + (i >> 12), 21 + (i >> 12));
  assert.ok(t.capacity <= big, `capacity ${t.capacity} after expiry, ${big} before`);
  assert.ok(t.live(21 + (200_000 >> 12)) < 50_000);
});

test('outside a cluster the process keeps its own set; a short key is refused', async () => {
  const k = key();
  assert.equal(await firstUseOnNode(k, 60, 1_000), true);
  assert.equal(await firstUseOnNode(k, 60, 1_000), false);
  await assert.rejects(firstUseOnNode('short', 60, 1_000), /digest/);
});

const WORKER = fileURLToPath(new URL('../../../fixtures/seen-once/worker.ts', import.meta.url));

async function workers(n: number): Promise<Worker[]> {
  cluster.setupPrimary({ exec: WORKER, execArgv: process.execArgv.filter((a) => !a.startsWith('--test')) });
  const ws = Array.from({ length: n }, () => cluster.fork());
  await Promise.all(ws.map((w) => once(w, 'message'))); // { up: true }
  return ws;
}

async function ask(w: Worker, keys: string[], now?: number): Promise<Array<boolean | string>> {
  const answered = new Promise<Array<boolean | string>>((resolve) => {
    // The worker's seen-once questions reach this Worker object too: wait for the report.
    const on = (m: { answers?: Array<boolean | string> }): void => {
      if (m.answers === undefined) return;
      w.off('message', on);
      resolve(m.answers);
    };
    w.on('message', on);
  });
  w.send({ ask: keys, now });
  return answered;
}

test('two workers share the primary set: a key used on one worker is refused on the other, batches keep their order', async (t) => {
  const { serveSeenOnce } = await import('../../../../src/core/node-state/seen-once.ts');
  serveSeenOnce();
  const [a, b] = await workers(2);
  t.after(() => {
    a!.kill();
    b!.kill();
  });
  const keys = Array.from({ length: 50 }, key);
  assert.deepEqual(await ask(a!, keys), keys.map(() => true));
  assert.deepEqual(await ask(b!, keys), keys.map(() => false));
  const mixed = [key(), keys[3]!, key(), keys[7]!];
  assert.deepEqual(await ask(b!, mixed), [true, false, true, false]);
  // The same key twice in one batch: the first is first, the second a repeat.
  const twice = key();
  assert.deepEqual(await ask(a!, [twice, twice]), [true, false]);
});

test('a worker whose primary does not answer refuses (fails closed) after the timeout', { timeout: ANSWER_TIMEOUT_MS + 20_000 }, async (t) => {
  // A primary that does not serve: only the handler of the previous test answers, so remove every listener.
  cluster.removeAllListeners('message');
  const [w] = await workers(1);
  t.after(() => w!.kill());
  const started = Date.now();
  const [answer] = await ask(w!, [key()]);
  assert.match(String(answer), /^error: seen-once: the primary did not answer/);
  assert.ok(Date.now() - started >= ANSWER_TIMEOUT_MS - 50);
});
