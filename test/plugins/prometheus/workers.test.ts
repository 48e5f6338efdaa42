/**
 * prometheus at the shape users run: `portcullis start --workers 2` with a
 * status listener, a new connection per request so the primary spreads them
 * over both workers, and one scrape showing the node's totals (Kong keeps its
 * counters in a shared dict, one per node). The status listener answers
 * /status/ready 200 once both workers serve.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';
import { KONG_NAME_LINT, promtoolAvailable, promtoolCheck } from '../../helpers/promtool.ts';

let gw: ClusterGateway;
let upstream: Server;
let upstreamUrl: string;
let statusUrl: string;
/** Remote ports the upstream saw: each worker has its own keep-alive pool. */
const upstreamPeers = new Set<number>();

async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

before(async () => {
  upstream = createServer((req, res) => {
    upstreamPeers.add(req.socket.remotePort ?? 0);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const statusPort = await freePort();
  statusUrl = `http://127.0.0.1:${statusPort}`;
  gw = await startClusterGateway({ workers: 2, env: { KONG_STATUS_LISTEN: `127.0.0.1:${statusPort}` } });
});
after(async () => {
  await gw?.close();
  await new Promise((r) => upstream?.close(r));
});

function sample(text: string, prefix: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('the status listener is ready once both workers serve', async () => {
  const res = await fetch(`${statusUrl}/status/ready`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { message: 'ready' });
});

test('40 requests on new connections, spread over 2 workers: one scrape counts all 40', async () => {
  assert.equal((await gw.admin('POST', '/services', { name: 'wsvc', url: upstreamUrl })).status, 201);
  assert.equal((await gw.admin('POST', '/services/wsvc/routes', { name: 'wroute', paths: ['/w'] })).status, 201);
  const p = await gw.admin('POST', '/plugins', { name: 'prometheus', config: { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true } });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  await gw.settle();
  for (let i = 0; i < 40; i++) assert.equal((await gw.get('/w')).status, 200);
  assert.ok(upstreamPeers.size >= 2, `both workers proxied (upstream connections from ${upstreamPeers.size} peers)`);

  for (const base of [gw.adminUrl, statusUrl]) {
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.equal(sample(text, 'kong_http_requests_total{service="wsvc",route="wroute",code="200",source="service",workspace="default",consumer=""}'), 40, base);
    assert.equal(sample(text, 'kong_request_latency_ms_count{service="wsvc",route="wroute",workspace="default"}'), 40);
    assert.equal(sample(text, 'kong_upstream_latency_ms_bucket{service="wsvc",route="wroute",workspace="default",le="+Inf"}'), 40);
    // Bodies of 2 bytes ("ok") to each of the 40 requests.
    assert.equal(sample(text, 'kong_bandwidth_bytes{service="wsvc",route="wroute",direction="egress",workspace="default",consumer=""}'), 80);
    assert.ok((sample(text, 'kong_nginx_requests_total{') ?? 0) >= 40);
    // Each worker reports its own heap; both are there.
    assert.equal(text.split('\n').filter((l) => l.startsWith('kong_memory_workers_lua_vms_bytes{')).length, 2);
  }
});

test('the node\'s exposition parses (promtool)', { skip: promtoolAvailable() ? false : 'promtool (Debian package prometheus) is not installed' }, async () => {
  const result = await promtoolCheck(await (await fetch(`${statusUrl}/metrics`)).text());
  assert.ok(result.parsed, result.output);
  for (const finding of result.lint) assert.ok(KONG_NAME_LINT.some((re) => re.test(finding)), `lint finding not explained by Kong's names: ${finding}`);
});
