/**
 * response-ratelimiting through the whole gateway: a tiny upstream answers
 * with `X-Kong-Limit: <what the request's x-limit header says>`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { usePluginRoutes } from '../../helpers/plugin-routes.ts';

const rr = usePluginRoutes('response-ratelimiting', 'rrl');
let upstream: Server;
let n = 0;

async function setup(): Promise<void> {
  upstream = createServer((req, res) => {
    const limit = req.headers['x-limit'];
    res.writeHead(200, { 'content-type': 'text/plain', ...(typeof limit === 'string' ? { 'x-kong-limit': limit } : {}) });
    res.end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  assert.equal((await rr.gw.admin('POST', '/services', { name: 'rrl-up', url: `http://127.0.0.1:${port}` })).status, 201);
}

after(async () => {
  await new Promise((resolve) => upstream.close(resolve));
});

async function route(config: Record<string, unknown>): Promise<string> {
  const name = `rrlu${++n}`;
  assert.equal((await rr.gw.admin('POST', '/services/rrl-up/routes', { name, paths: [`/${name}`] })).status, 201);
  const r = await rr.gw.admin('POST', `/routes/${name}/plugins`, { name: 'response-ratelimiting', config });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await rr.gw.settle();
  return `${rr.gw.proxyUrl}/${name}`;
}

const pause = () => new Promise((r) => setTimeout(r, 30)); // counters are added in the log phase

describe('response-ratelimiting (local policy)', () => {
  before(setup);

  test('limits={videos={hour=2}}: two responses pass with headers, the third is 429; the header is stripped', async () => {
    const url = await route({ limits: { videos: { hour: 2 } } });
    const r1 = await fetch(url, { headers: { 'x-limit': 'videos=1' } });
    assert.equal(r1.status, 200);
    assert.equal(await r1.text(), 'ok');
    assert.equal(r1.headers.get('x-kong-limit'), null);
    assert.equal(r1.headers.get('x-ratelimit-limit-videos-hour'), '2');
    assert.equal(r1.headers.get('x-ratelimit-remaining-videos-hour'), '1');
    assert.equal(r1.headers.get('x-ratelimit-remaining-videos'), '2');
    await pause();
    const r2 = await fetch(url, { headers: { 'x-limit': 'videos=1' } });
    assert.equal(r2.status, 200);
    await r2.text();
    assert.equal(r2.headers.get('x-ratelimit-remaining-videos-hour'), '0');
    assert.equal(r2.headers.get('x-ratelimit-remaining-videos'), '1');
    await pause();
    const r3 = await fetch(url, { headers: { 'x-limit': 'videos=1' } });
    assert.equal(r3.status, 429);
    await r3.text();
    assert.equal(r3.headers.get('x-kong-limit'), null);
    assert.equal(r3.headers.get('x-ratelimit-remaining-videos-hour'), '0');
    // A response that consumes nothing of the used-up limit passes.
    const r4 = await fetch(url);
    assert.equal(r4.status, 200);
    await r4.text();
  });

  test('block_on_first_violation answers 429 in access once a limit is used up; hide_client_headers', async () => {
    const url = await route({ limits: { videos: { hour: 1 }, images: { hour: 5 } }, block_on_first_violation: true, hide_client_headers: true });
    const r1 = await fetch(url, { headers: { 'x-limit': 'videos=1, images=2, unknown=3' } });
    assert.equal(r1.status, 200);
    await r1.text();
    assert.equal(r1.headers.get('x-ratelimit-limit-videos-hour'), null);
    assert.equal(r1.headers.get('x-kong-limit'), null);
    await pause();
    const r2 = await fetch(url);
    assert.equal(r2.status, 429);
    assert.deepEqual(((await r2.json()) as { message: string }).message, "API rate limit exceeded for 'videos'");
  });

  test('config errors', async () => {
    const post = (config: Record<string, unknown>) => rr.gw.admin('POST', '/plugins', { name: 'response-ratelimiting', config });
    let r = await post({});
    assert.equal(r.status, 400);
    r = await post({ limits: {} });
    assert.equal(r.status, 400);
    r = await post({ limits: { videos: {} } });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body.fields), /at least one of these fields must be non-empty/);
    r = await post({ limits: { videos: { minute: 10, hour: 5 } } });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body.fields), /the limit for hour\(5\.0\) cannot be lower than the limit for minute\(10\.0\)/);
    r = await post({ limits: { videos: { minute: 0 } } });
    assert.equal(r.status, 400);
    for (const policy of ['redis', 'cluster']) {
      r = await post({ limits: { videos: { minute: 1 } }, policy });
      assert.equal(r.status, 400);
      assert.match(String(r.body.fields.config?.policy ?? r.body.fields.policy), /not supported/);
    }
    r = await post({ limits: { videos: { minute: 1 } }, limit_by: 'header' });
    assert.equal(r.status, 400);
  });

  test('defaults are Kong’s', async () => {
    const r = await rr.gw.admin('POST', '/plugins', { name: 'response-ratelimiting', config: { limits: { videos: { minute: 1 } } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const c = r.body.config;
    assert.equal(c.header_name, 'x-kong-limit');
    assert.equal(c.limit_by, 'consumer');
    assert.equal(c.policy, 'local');
    assert.equal(c.fault_tolerant, true);
    assert.equal(c.block_on_first_violation, false);
    assert.equal(c.hide_client_headers, false);
    assert.equal(c.limits.videos.minute, 1);
    assert.equal(c.limits.videos.hour, null);
    assert.equal((await rr.gw.admin('DELETE', `/plugins/${r.body.id}`)).status, 204);
  });
});
