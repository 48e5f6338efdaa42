/**
 * A configuration written through the Admin API while a `--workers 2` node is
 * still starting reaches every worker. It used to be lost: a worker took the
 * first configuration from one IPC message listener and added the next
 * listener only after a promise settled, and several IPC messages read in one
 * chunk are emitted in one synchronous loop — the configuration right behind
 * the first never arrived, and that worker answered 404 until the next change.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho, type Echo } from '../helpers/echo.ts';
import { startClusterGateway, type ClusterGateway } from '../helpers/cluster-gateway.ts';
import { waitFor } from '../helpers/wait.ts';

let gw: ClusterGateway | null = null;
let echo: Echo | null = null;
after(async () => {
  await gw?.close();
  await echo?.close();
});

test('a route created as soon as the Admin API answers is served by every worker of a starting node', async () => {
  echo = await startEcho();
  const g = (gw = await startClusterGateway({ workers: 2, early: true }));
  assert.equal((await gw.admin('POST', '/services', { name: 'early', url: echo.url })).status, 201);
  assert.equal((await gw.admin('POST', '/services/early/routes', { name: 'early', paths: ['/early'] })).status, 201);
  await gw.started();
  // New connections spread over both workers; every one must know the route (no 404 from a worker left behind).
  let streak = 0;
  let last = 0;
  const twelveInARow = async (): Promise<boolean> => {
    last = (await g.get('/early/anything')).status;
    streak = last === 200 ? streak + 1 : 0;
    return streak >= 12;
  };
  await waitFor('twelve 200s in a row', twelveInARow, 15_000, 10).catch(() => undefined);
  assert.equal(streak, 12, `last status ${last}: a worker never received the configuration`);
});
