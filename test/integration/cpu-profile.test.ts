/**
 * A node started under Node's CPU profiler (`NODE_OPTIONS=--cpu-prof`, as
 * `npm run bench -- --cpu-prof` does) starts, serves and writes a profile for
 * its primary. The primary normally replaces itself at start (process.execve,
 * for its small young generation); the profiler's sampler signals the thread
 * with SIGPROF, and a signal pending at the exec killed the new image before
 * Node handled it ("exit SIGPROF" in the bench). Under a profiler the primary
 * is therefore not replaced: its command line is the one it was started with.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClusterGateway, type ClusterGateway } from '../helpers/cluster-gateway.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('a two-worker node under --cpu-prof starts, serves and writes its primary profile', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-cpuprof-'));
  dirs.push(dir);
  // Three starts: the SIGPROF race killed about one start in two before the fix.
  for (let round = 0; round < 3; round++) {
    const out = join(dir, String(round));
    let gw: ClusterGateway | null = null;
    try {
      gw = await startClusterGateway({ workers: 2, env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${out}`.trim() } });
      const status = await gw.admin('GET', '/status');
      assert.equal(status.status, 200);
      assert.equal((await gw.get('/nothing-here')).status, 404);
      const cmdline = (await readFile(`/proc/${gw.pid}/cmdline`, 'latin1')).split('\0');
      assert.ok(!cmdline.includes('--max-semi-space-size=2'), `primary was replaced under the profiler: ${cmdline.join(' ')}`);
      const pid = gw.pid;
      await gw.close();
      gw = null;
      const files = await readdir(out);
      assert.ok(files.some((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`)), `no profile of the primary ${pid} in ${files.join(', ')}`);
    } finally {
      await gw?.close();
    }
  }
});
