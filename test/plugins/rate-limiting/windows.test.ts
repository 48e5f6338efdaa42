/** Fixed windows and the in-memory counters behind the local policy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { periodStarts, WINDOW_SECONDS } from '../../../src/plugins/rate-limiting/periods.ts';
import * as local from '../../../src/plugins/rate-limiting/policies/local.ts';

test('windows start at the UTC second, minute, hour, day, month and year (Kong’s timestamps)', () => {
  const now = Date.UTC(2026, 2, 15, 13, 45, 30);
  assert.deepEqual([...periodStarts(now)], [
    now,
    Date.UTC(2026, 2, 15, 13, 45, 0),
    Date.UTC(2026, 2, 15, 13, 0, 0),
    Date.UTC(2026, 2, 15),
    Date.UTC(2026, 2, 1),
    Date.UTC(2026, 0, 1),
  ]);
  assert.deepEqual(WINDOW_SECONDS, [1, 60, 3600, 86400, 2592000, 31536000]);
});

const MINUTE = (limit: number): local.LocalPeriod => ({ name: 'minute', index: 1, limit, window: 60 });
const SECOND = (limit: number): local.LocalPeriod => ({ name: 'second', index: 0, limit, window: 1 });
/** Window starts by period index, as periodStarts() gives them. */
const at = (second: number, minute: number): number[] => [second, minute, 0, 0, 0, 0];

test('a new window starts every counter from zero', () => {
  local.resetLocalCounters();
  const inst = {};
  const usage = [0];
  const periods = [MINUTE(100)];
  assert.equal(local.acquire(inst, periods, at(60_000, 60_000), 's:', 'k', 60_000, usage), true);
  assert.equal(usage[0], 0);
  assert.equal(local.acquire(inst, periods, at(60_000, 60_000), 's:', 'k', 60_000, usage), true);
  assert.equal(usage[0], 1);
  assert.equal(local.acquire(inst, periods, at(120_000, 120_000), 's:', 'k', 120_000, usage), true);
  assert.equal(usage[0], 0, 'the next minute counts from zero');
});

test('the node count is exact across workers: the limit is shared, a rejected request is not counted', () => {
  local.resetLocalCounters();
  // Two compiled instances stand for the same plugin in two workers: they share the node's counters.
  const workers = [{}, {}];
  const periods = [MINUTE(5)];
  const usage = [0];
  const admitted = [];
  for (let i = 0; i < 8; i++) admitted.push(local.acquire(workers[i % 2]!, periods, at(0, 0), 's:', 'k', 0, usage));
  assert.deepEqual(admitted, [true, true, true, true, true, false, false, false]);
  assert.equal(usage[0], 5);
  assert.equal(local.nodeCount('s:', 'k', 0, 'minute'), 5);
});

test('far from the limit a worker leases units; the node never admits more than the limit', () => {
  local.resetLocalCounters();
  const workers = [{}, {}, {}];
  const periods = [SECOND(1000)];
  const usage = [0];
  local.acquire(workers[0]!, periods, at(0, 0), 's:', 'k', 0, usage);
  assert.equal(local.nodeCount('s:', 'k', 0, 'second'), Math.floor(1000 / local.LEASE_DIVISOR), 'one statement took a lease of 1/32 of what is left');
  let admitted = 1;
  for (let i = 0; i < 3000; i++) if (local.acquire(workers[i % 3]!, periods, at(0, 0), 's:', 'k', 0, usage)) admitted++;
  assert.equal(local.nodeCount('s:', 'k', 0, 'second'), 1000);
  assert.ok(admitted <= 1000 && admitted >= 1000 - 3 * local.LEASE_DIVISOR, `admitted ${admitted}`);
});

test('several periods are counted together: the first one used up stops the request', () => {
  local.resetLocalCounters();
  const inst = {};
  const periods = [SECOND(2), MINUTE(3)];
  const usage = [0, 0];
  assert.equal(local.acquire(inst, periods, at(1000, 0), 's:', 'k', 1000, usage), true);
  assert.equal(local.acquire(inst, periods, at(1000, 0), 's:', 'k', 1000, usage), true);
  assert.equal(local.acquire(inst, periods, at(1000, 0), 's:', 'k', 1000, usage), false, 'second used up');
  assert.deepEqual(usage, [2, 2]);
  assert.equal(local.acquire(inst, periods, at(2000, 0), 's:', 'k', 2000, usage), true, 'a new second');
  assert.equal(local.acquire(inst, periods, at(2000, 0), 's:', 'k', 2000, usage), false, 'minute used up');
  assert.deepEqual(usage, [1, 3]);
  assert.equal(local.nodeCount('s:', 'k', 0, 'minute'), 3);
  local.resetLocalCounters();
});
