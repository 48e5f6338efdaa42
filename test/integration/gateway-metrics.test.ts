/** GET /metrics on the Admin API (issue #2, item 10; issue 16): request counts and latency by service, route and status, config version. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.ts';
import { startEcho } from '../helpers/echo.ts';

test('the Admin API serves Prometheus metrics counting proxied requests by service, route and status', async () => {
  const echo = await startEcho();
  const gw = await startGateway({ logLevel: 'warn' });
  try {
    assert.equal((await gw.admin('POST', '/services', { name: 'metered', url: `${echo.url}/anything` })).status, 201);
    assert.equal((await gw.admin('POST', '/services/metered/routes', { name: 'metered-route', paths: ['/m'] })).status, 201);
    // Kong counts requests with the prometheus plugin (test/plugins/prometheus has the rest).
    assert.equal((await gw.admin('POST', '/plugins', { name: 'prometheus', config: { status_code_metrics: true, latency_metrics: true } })).status, 201);
    await gw.settle();
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${gw.proxyUrl}/m`)).status, 200);
    assert.equal((await fetch(`${gw.proxyUrl}/unrouted`)).status, 404);

    const res = await fetch(`${gw.adminUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    const line = text.split('\n').find((l) => l.startsWith('kong_http_requests_total{') && l.includes('service="metered"') && l.includes('route="metered-route"') && l.includes('code="200"'));
    assert.ok(line, `no request counter for the route in:\n${text.slice(0, 2000)}`);
    assert.equal(Number(line.split(' ').at(-1)), 3);
    assert.match(text, /kong_request_latency_ms_bucket\{[^}]*service="metered"/);
    assert.match(text, /portcullis_config_version \d+/);
  } finally {
    await gw.close();
    await echo.close();
  }
});
