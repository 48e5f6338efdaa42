/**
 * The node adds V8 flags to its own processes only where the operator chose
 * none (src/shared/primary-exec.ts): a young-generation size, allocation-site
 * pretenuring, and no primary re-exec under a CPU profiler.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuProfiled, heapGrowthChosen, pretenuringChosen, youngGenerationChosen } from '../../../src/shared/primary-exec.ts';

const saved = process.env.NODE_OPTIONS;
afterEach(() => {
  if (saved === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = saved;
});

test('pretenuring is the operator\'s when they name it either way, in either spelling V8 reads', () => {
  delete process.env.NODE_OPTIONS;
  for (const a of ['--allocation-site-pretenuring', '--no-allocation-site-pretenuring', '--allocation_site_pretenuring', '--no-allocation_site_pretenuring', '--no_allocation_site_pretenuring', '--allocation-site-pretenuring=false']) {
    assert.equal(pretenuringChosen(['--max-semi-space-size=8', a]), true, a);
  }
  assert.equal(pretenuringChosen([]), false);
  assert.equal(pretenuringChosen(['--allocation-site-pretenuring-extra', '--trace-pretenuring']), false);
});

test('a young-generation size and a CPU profiler count from the command line or NODE_OPTIONS', () => {
  delete process.env.NODE_OPTIONS;
  assert.equal(youngGenerationChosen(['--max-semi-space-size=4']), true);
  assert.equal(youngGenerationChosen(['--cpu-prof']), false);
  assert.equal(cpuProfiled(['--cpu-prof-dir=/tmp']), false);
  assert.equal(cpuProfiled(['--prof']), true);
  process.env.NODE_OPTIONS = '--cpu-prof --semi-space-growth-factor=4';
  assert.equal(cpuProfiled([]), true);
  assert.equal(youngGenerationChosen([]), true);
});

test('the old generation\'s growth is the operator\'s when they set --heap-growing-percent on the command line', () => {
  delete process.env.NODE_OPTIONS;
  assert.equal(heapGrowthChosen(['--heap-growing-percent=50']), true);
  assert.equal(heapGrowthChosen(['--heap_growing_percent=50']), true);
  assert.equal(heapGrowthChosen(['--max-semi-space-size=8', '--heap-growing-percentile']), false);
  assert.equal(heapGrowthChosen([]), false);
});
