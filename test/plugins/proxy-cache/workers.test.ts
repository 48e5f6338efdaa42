/**
 * proxy-cache `memory` at the shape users run (issue 10): one cache per
 * node, as Kong's shared dictionary — with 2 workers and a new connection per
 * request, the first request is a Miss and every later one a Hit, whichever
 * worker serves it; an Admin API purge empties it for every worker at once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';

let echo: Echo;
let gw: ClusterGateway;
before(async () => {
  echo = await startEcho();
  gw = await startClusterGateway({ workers: 2 });
  assert.equal((await gw.admin('POST', '/services', { name: 'cached', url: `${echo.url}/anything` })).status, 201);
  assert.equal((await gw.admin('POST', '/services/cached/routes', { name: 'cr', paths: ['/cached'] })).status, 201);
  assert.equal((await gw.admin('POST', '/services/cached/plugins', { name: 'proxy-cache', config: { strategy: 'memory', cache_ttl: 300 } })).status, 201);
  await gw.settle();
});
after(async () => {
  await gw?.close();
  await echo?.close();
});

async function statuses(path: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(String((await gw.get(path)).headers['x-cache-status']));
  return out;
}

test('with 2 workers: Miss, Hit, Hit, Hit on new connections, and the upstream is reached once', async () => {
  const before = echo.requestCount();
  assert.deepEqual(await statuses('/cached/a', 4), ['Miss', 'Hit', 'Hit', 'Hit']);
  assert.equal(echo.requestCount() - before, 1);
});

test('DELETE /proxy-cache on the Admin API purges the node’s cache: the next request is a Miss, then Hits', async () => {
  await statuses('/cached/b', 2);
  assert.equal((await gw.admin('DELETE', '/proxy-cache')).status, 204);
  const before = echo.requestCount();
  assert.deepEqual(await statuses('/cached/b', 4), ['Miss', 'Hit', 'Hit', 'Hit']);
  assert.equal(echo.requestCount() - before, 1);
});

test('DELETE /proxy-cache/{key} purges one entry once, for every worker', async () => {
  const key = String((await gw.get('/cached/c')).headers['x-cache-key']);
  assert.equal((await gw.admin('GET', `/proxy-cache/${key}`)).status, 200, 'the Admin API sees the entry a worker stored');
  assert.equal((await gw.admin('DELETE', `/proxy-cache/${key}`)).status, 204);
  assert.equal((await gw.admin('DELETE', `/proxy-cache/${key}`)).status, 404, 'already gone');
  assert.deepEqual(await statuses('/cached/c', 3), ['Miss', 'Hit', 'Hit']);
});

test('a killed worker does not take the node’s cache with it', async () => {
  await statuses('/cached/d', 1);
  const [victim] = gw.workerPids();
  assert.ok(victim !== undefined);
  process.kill(victim, 'SIGKILL');
  await gw.waitExited(victim);
  await gw.waitWorkers(2);
  const before = echo.requestCount();
  assert.deepEqual(await statuses('/cached/d', 4), ['Hit', 'Hit', 'Hit', 'Hit']);
  assert.equal(echo.requestCount(), before);
});
