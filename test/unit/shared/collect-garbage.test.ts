/**
 * The deliberate collection the cluster primary runs after start-up and after
 * configuration changes (src/shared/collect-garbage.ts): it frees what an idle
 * process would otherwise keep, and a burst of changes ends in one collection.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { collectGarbage, collectWhenQuiet } from '../../../src/shared/collect-garbage.ts';

test('collectGarbage frees unreachable old-generation objects that no allocation would have collected', async () => {
  // ~60 MB that survives scavenges (so it sits in the old generation), then is dropped.
  let junk: Array<{ i: number; s: string }> | null = [];
  for (let i = 0; i < 600_000; i++) junk.push({ i, s: `entry ${i} ${'x'.repeat(40)}` });
  await new Promise((resolve) => setImmediate(resolve));
  const before = process.memoryUsage().heapUsed;
  assert.ok(junk.length === 600_000);
  junk = null;
  const ms = await collectGarbage();
  const after = process.memoryUsage().heapUsed;
  assert.ok(ms >= 0, `a collection ran (${ms} ms)`);
  assert.ok(before - after > 40 * 1024 * 1024, `heap used fell by ${((before - after) / 1048576).toFixed(1)} MB`);
});

test('collectWhenQuiet: a burst of changes ends in one collection, quietMs after the last one', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const collected: number[] = [];
    const done = Promise.withResolvers<void>();
    const changed = collectWhenQuiet(3_000, (ms) => {
      collected.push(ms);
      done.resolve();
    });
    for (let i = 0; i < 100; i++) {
      changed();
      mock.timers.tick(100); // a change every 100 ms: never quiet for 3 s
    }
    assert.equal(collected.length, 0);
    mock.timers.tick(2_999);
    assert.equal(collected.length, 0, 'not before 3 s of quiet');
    mock.timers.tick(1);
    await done.promise;
    assert.equal(collected.length, 1);
    assert.ok(collected[0]! >= 0);
  } finally {
    mock.timers.reset();
  }
});
