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

test('a new window starts every counter from zero', () => {
  local.resetLocalCounters();
  local.increment(1, 60_000, 's', 'k');
  local.increment(1, 60_000, 's', 'k');
  assert.equal(local.usage(1, 60_000, 's', 'k'), 2);
  assert.equal(local.usage(1, 120_000, 's', 'k'), 0);
  local.increment(1, 120_000, 's', 'k');
  assert.equal(local.usage(1, 120_000, 's', 'k'), 1);
});

test('one window keeps a bounded number of counters, forgetting the oldest first', () => {
  local.resetLocalCounters();
  const start = 1_000;
  for (let i = 0; i < local.MAX_COUNTERS_PER_WINDOW; i++) local.increment(0, start, i % 2 === 0 ? 'a' : 'b', `id${i}`);
  local.increment(0, start, 'a', 'id0'); // an existing counter never evicts
  assert.equal(local.usage(0, start, 'a', 'id0'), 2);
  local.increment(0, start, 'b', 'newcomer');
  assert.equal(local.usage(0, start, 'a', 'id0'), 0, 'the first counter of the window was forgotten');
  assert.equal(local.usage(0, start, 'b', 'newcomer'), 1);
  local.resetLocalCounters();
});
