/**
 * ip-restriction through the whole gateway. The loopback peer is trusted, so
 * X-Real-IP sets the client address the plugin sees (Kong's realip: the
 * plugin uses the resolved client IP, not the connecting peer).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startEcho, type Echo } from '../../helpers/echo.ts';

let gw: TestGateway;
let echo: Echo;
let n = 0;

before(async () => {
  echo = await startEcho();
  gw = await startGateway({ logLevel: 'warn', flags: { 'trusted-ips': '127.0.0.1/32,::1/128' } });
  assert.equal((await gw.admin('POST', '/services', { name: 'svc', url: echo.url })).status, 201);
});

after(async () => {
  await gw.close();
  await echo.close();
});

async function route(config: Record<string, unknown>): Promise<string> {
  const name = `ipr${++n}`;
  assert.equal((await gw.admin('POST', '/services/svc/routes', { name, paths: [`/${name}`] })).status, 201);
  const r = await gw.admin('POST', `/routes/${name}/plugins`, { name: 'ip-restriction', config });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await gw.settle();
  return `${gw.proxyUrl}/${name}`;
}

const from = (url: string, ip: string) => fetch(url, { headers: { 'x-real-ip': ip } });

test('deny list: a denied client gets 403 "IP address not allowed: <ip>", others pass', async () => {
  const url = await route({ deny: ['54.13.21.1', '143.1.0.0/24'] });
  const res = await from(url, '143.1.0.77');
  assert.equal(res.status, 403);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.message, 'IP address not allowed: 143.1.0.77');
  assert.equal(typeof body.request_id, 'string');
  const ok = await from(url, '143.1.1.1');
  assert.equal(ok.status, 200);
  await ok.text();
});

test('allow list with IPv6 CIDRs; deny wins over allow', async () => {
  const url = await route({ allow: ['2001:db8::/32', '10.0.0.0/8'], deny: ['10.9.9.9'] });
  for (const ip of ['2001:db8::1', '10.1.2.3']) {
    const res = await from(url, ip);
    assert.equal(res.status, 200, ip);
    await res.text();
  }
  for (const ip of ['2001:db9::1', '192.168.0.1', '10.9.9.9']) {
    const res = await from(url, ip);
    assert.equal(res.status, 403, ip);
    await res.text();
  }
});

test('status and message override the refusal; the connecting peer is used without a trusted header', async () => {
  const url = await route({ allow: ['127.0.0.1', '::1'], status: 401, message: 'go away' });
  const res = await fetch(url);
  assert.equal(res.status, 200);
  await res.text();
  const refused = await from(url, '8.8.8.8');
  assert.equal(refused.status, 401);
  assert.equal(((await refused.json()) as Record<string, unknown>).message, 'go away');
});

test("Kong's config checks: one of allow/deny required; entries must be IPs or CIDRs", async () => {
  await gw.admin('POST', '/services/svc/routes', { name: 'bad', paths: ['/bad'] });
  const none = await gw.admin('POST', '/routes/bad/plugins', { name: 'ip-restriction', config: {} });
  assert.equal(none.status, 400);
  assert.deepEqual(none.body.fields['@entity'], ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"]);
  const bad = await gw.admin('POST', '/routes/bad/plugins', { name: 'ip-restriction', config: { allow: ['not-an-ip'] } });
  assert.equal(bad.status, 400);
});
