/**
 * The V8 flags a proxy worker runs with (src/cluster.ts `workerExecArgv`),
 * read from the workers' command lines: a bounded young generation
 * (`--max-semi-space-size=8`), no allocation-site pretenuring and an old
 * generation that grows by 10% between full collections (`--heap-growing-percent=10`:
 * the largest bearer-token worker 185–191 → 124–128 MB). With V8's
 * pretenuring, a burst at start-up moved the per-request exchange objects to
 * the old generation, and every young object stored into one afterwards (the
 * upstream request, its headers, the request's head) survived scavenges until
 * the next full collection: 28 MB promoted per 30 scavenges in a bearer-token
 * worker under `npm run bench`, none without it (docs/benchmarks.md, "Issue
 * 13, third pass"). That figure is a benchmark's, not a test's: this checks
 * that the flag reaches every worker, replacements included.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startClusterGateway, type ClusterGateway } from '../helpers/cluster-gateway.ts';

let gw: ClusterGateway | null = null;
after(async () => {
  await gw?.close();
});

async function argv(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'latin1')).split('\0').filter((a) => a !== '');
}

test('every proxy worker, a replacement too, runs without allocation-site pretenuring, with a bounded young generation and a slowly growing old one', async () => {
  gw = await startClusterGateway({ workers: 2 });
  const workers = gw.workerPids();
  assert.equal(workers.length, 2);
  for (const pid of workers) {
    const a = await argv(pid);
    assert.ok(a.includes('--no-allocation-site-pretenuring'), `worker ${pid}: ${a.join(' ')}`);
    assert.ok(a.includes('--max-semi-space-size=8'), `worker ${pid}: ${a.join(' ')}`);
    assert.ok(a.includes('--heap-growing-percent=10'), `worker ${pid}: ${a.join(' ')}`);
  }
  // The primary keeps V8's defaults apart from its own small young generation.
  assert.ok(!(await argv(gw.pid)).includes('--no-allocation-site-pretenuring'));
  assert.ok(!(await argv(gw.pid)).includes('--heap-growing-percent=10'));

  process.kill(workers[0]!, 'SIGKILL');
  await gw.waitExited(workers[0]!);
  await gw.waitWorkers(2);
  const replacement = gw.workerPids().find((p) => !workers.includes(p));
  assert.ok(replacement !== undefined, 'a worker replaced the killed one');
  assert.ok((await argv(replacement)).includes('--no-allocation-site-pretenuring'));
  assert.ok((await argv(replacement)).includes('--heap-growing-percent=10'));
});
