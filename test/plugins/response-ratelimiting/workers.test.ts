/**
 * response-ratelimiting at the shape users run: `portcullis start --workers 2`,
 * a new connection per request so the primary spreads them over both workers,
 * and the usage the upstream reports counted per node, as Kong's `local`
 * policy counts it in a shared dict (per-worker counters would let each
 * worker admit the whole limit).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';

let gw: ClusterGateway;
let upstream: Server;
/** Remote ports the upstream saw: each worker has its own keep-alive pool. */
const peers = new Set<number>();

before(async () => {
  upstream = createServer((req, res) => {
    peers.add(req.socket.remotePort ?? 0);
    res.writeHead(200, { 'content-type': 'text/plain', 'x-kong-limit': 'videos=1' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  gw = await startClusterGateway({ workers: 2 });
  const port = (upstream.address() as AddressInfo).port;
  assert.equal((await gw.admin('POST', '/services', { name: 'rrw', url: `http://127.0.0.1:${port}` })).status, 201);
  assert.equal((await gw.admin('POST', '/services/rrw/routes', { name: 'rrw', paths: ['/rrw'] })).status, 201);
  // An hour window: a run cannot straddle its end unless it starts in the last seconds of an hour.
  const p = await gw.admin('POST', '/routes/rrw/plugins', { name: 'response-ratelimiting', config: { limits: { videos: { hour: 6 } } } });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  await gw.settle();
});
after(async () => {
  await gw?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

test('hour=6 and 10 responses using 1 each, on new connections over 2 workers: exactly 6 pass, then 429; remaining counts down node-wide', async () => {
  const statuses: number[] = [];
  const remaining: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await gw.get('/rrw');
    statuses.push(r.status);
    remaining.push(String(r.headers['x-ratelimit-remaining-videos-hour']));
    // Usage is added in the log phase, after the response: let it land before the next request.
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  assert.ok(peers.size >= 2, `both workers proxied (upstream connections from ${peers.size} peers)`);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
  assert.deepEqual(remaining.slice(0, 6), ['5', '4', '3', '2', '1', '0']);
});
