/**
 * rate-limiting `local` at the shape users run (issue 10): a node with 2 or
 * 4 workers, a new connection per request so the primary spreads them, and
 * the limit counted per node as Kong's `local` policy does ("stored
 * in-memory on the node").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho, type Echo } from '../../helpers/echo.ts';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';

/** Do not start a minute-window sequence in the last seconds of a minute (it would span two windows). */
async function awayFromMinuteEnd(needMs: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 50));
}

async function limitedRoute(gw: ClusterGateway, echo: Echo, name: string, config: Record<string, unknown>): Promise<void> {
  assert.equal((await gw.admin('POST', '/services', { name, url: `${echo.url}/anything` })).status, 201);
  assert.equal((await gw.admin('POST', `/services/${name}/routes`, { name, paths: [`/${name}`] })).status, 201);
  assert.equal((await gw.admin('POST', `/routes/${name}/plugins`, { name: 'rate-limiting', config: { policy: 'local', ...config } })).status, 201);
  await gw.settle();
}

for (const workers of [2, 4]) {
  describe(`rate-limiting with ${workers} workers`, () => {
    let echo: Echo;
    let gw: ClusterGateway;
    before(async () => {
      echo = await startEcho();
      gw = await startClusterGateway({ workers });
    });
    after(async () => {
      await gw?.close();
      await echo?.close();
    });

    test('minute=5: 8 requests on new connections → exactly 5 × 200 then 3 × 429', async () => {
      await limitedRoute(gw, echo, 'rl8', { minute: 5 });
      await awayFromMinuteEnd(10_000);
      const statuses: number[] = [];
      const remaining: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await gw.get('/rl8');
        statuses.push(r.status);
        remaining.push(String(r.headers['x-ratelimit-remaining-minute']));
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
      assert.deepEqual(remaining, ['4', '3', '2', '1', '0', '0', '0', '0']);
    });

    test('minute=20 and 50 concurrent requests on new connections → exactly 20 admitted', async () => {
      await limitedRoute(gw, echo, 'rl50', { minute: 20 });
      await awayFromMinuteEnd(15_000);
      const before = echo.requestCount();
      const results = await Promise.all(Array.from({ length: 50 }, () => gw.get('/rl50')));
      const ok = results.filter((r) => r.status === 200).length;
      const limited = results.filter((r) => r.status === 429).length;
      assert.equal(ok, 20);
      assert.equal(limited, 30);
      assert.equal(echo.requestCount() - before, 20, 'the upstream saw only the admitted requests');
    });

    if (workers === 2) {
      test('redis with sync_rate: the counts not yet synced are the node’s, not each worker’s (8 requests, minute=5 → 5 × 200)', async () => {
        // A long interval: Redis is not asked during the test, so only node-wide local counts can stop the 6th request.
        await limitedRoute(gw, echo, 'rlsync', { minute: 5, policy: 'redis', sync_rate: 30, redis: { host: '127.0.0.1', port: 6379 } });
        await awayFromMinuteEnd(10_000);
        const statuses: number[] = [];
        for (let i = 0; i < 8; i++) statuses.push((await gw.get('/rlsync', { 'x-test': String(i) })).status);
        assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
      });

      test('a killed worker does not take the node’s counters with it; its replacement counts on', async () => {
        await limitedRoute(gw, echo, 'rlkill', { minute: 10 });
        await awayFromMinuteEnd(25_000);
        for (let i = 0; i < 5; i++) assert.equal((await gw.get('/rlkill')).status, 200);
        const [victim] = gw.workerPids();
        assert.ok(victim !== undefined);
        process.kill(victim, 'SIGKILL');
        await gw.waitExited(victim);
        await gw.waitWorkers(workers);
        assert.ok(!gw.workerPids().includes(victim));
        const statuses: number[] = [];
        for (let i = 0; i < 8; i++) statuses.push((await gw.get('/rlkill')).status);
        assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
      });
    }
  });
}
