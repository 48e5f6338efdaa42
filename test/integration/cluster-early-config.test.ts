/**
 * A configuration written through the Admin API while a `--workers 2` node is
 * still starting reaches every worker. It used to be lost: a worker took the
 * first configuration from one IPC message listener and added the next
 * listener only after a promise settled, and several IPC messages read in one
 * chunk are emitted in one synchronous loop — the configuration right behind
 * the first never arrived, and that worker answered 404 until the next change.
 *
 * And a worker whose modules load slowly still gets its first configuration:
 * the primary pushed it at the worker's `online` event, which a worker sends
 * while it is still loading; a message that arrives before a process has a
 * 'message' listener is dropped, so now and then a worker never became ready
 * and the node never started. Workers now ask for it once they listen.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho, type Echo } from '../helpers/echo.ts';
import { startClusterGateway, type ClusterGateway } from '../helpers/cluster-gateway.ts';
import { waitFor } from '../helpers/wait.ts';

const DELAY = new URL('../fixtures/slow-start/delay.mjs', import.meta.url).href;

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

test('a node whose workers load their modules slowly starts and serves on every worker', async () => {
  echo ??= await startEcho();
  const slow = await startClusterGateway({ workers: 2, env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${DELAY}`.trim() } });
  try {
    assert.equal((await slow.admin('POST', '/services', { name: 'slow', url: echo.url })).status, 201);
    assert.equal((await slow.admin('POST', '/services/slow/routes', { name: 'slow', paths: ['/slow'] })).status, 201);
    await slow.settle();
    assert.equal(slow.workerPids().length, 2);
    for (let i = 0; i < 8; i++) assert.equal((await slow.get('/slow/anything')).status, 200);
  } finally {
    await slow.close();
  }
});
