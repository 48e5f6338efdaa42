/** request-size-limiting through the whole gateway: Content-Length checks, chunked bodies measured while read, 411/413/417. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { usePluginRoutes } from '../../helpers/plugin-routes.ts';
import { send } from '../../helpers/http-client.ts';

const fx = usePluginRoutes('request-size-limiting', 'rsl');
const route = (config: Record<string, unknown>): Promise<string> => fx.route(config);

const chunked = (parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

test('defaults are Kong\'s: 128 megabytes, no Content-Length required', async () => {
  const url = await route({});
  const res = await send(url, { method: 'POST', body: 'x'.repeat(1000) });
  assert.equal(res.status, 200);
  const plugins = await fx.gw.admin('GET', `/routes/${new URL(url).pathname.slice(1)}/plugins`);
  assert.deepEqual(plugins.body.data[0].config, { allowed_payload_size: 128, size_unit: 'megabytes', require_content_length: false });
});

test('Content-Length over the limit: 413 "Request size limit exceeded", upstream not called; 417 with Expect: 100-continue', async () => {
  const url = await route({ allowed_payload_size: 1, size_unit: 'kilobytes' });
  const before = fx.echo.requestCount();
  const big = await send(url, { method: 'POST', body: 'x'.repeat(1025) });
  assert.equal(big.status, 413);
  assert.equal(big.json.message, 'Request size limit exceeded');
  assert.equal(fx.echo.requestCount(), before);
  const exact = await send(url, { method: 'POST', body: 'x'.repeat(1024) });
  assert.equal(exact.status, 200);
  assert.equal(exact.json.data.length, 1024);
  const expect = await send(url, { method: 'POST', headers: { expect: '100-continue', 'content-length': '5000' } });
  assert.equal(expect.status, 417);
  assert.equal(expect.json.message, 'Request size limit exceeded');
});

test('chunked bodies are measured while read: over the limit 413, within it proxied whole', async () => {
  const url = await route({ allowed_payload_size: 10, size_unit: 'bytes' });
  const before = fx.echo.requestCount();
  const big = await send(url, { method: 'POST', body: chunked(['12345', '67890', 'X']) });
  assert.equal(big.status, 413);
  assert.equal(big.json.message, 'Request size limit exceeded');
  assert.equal(fx.echo.requestCount(), before);
  const ok = await send(url, { method: 'POST', body: chunked(['12345', '67890']) });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.data, '1234567890');
});

test('require_content_length: 411 without Content-Length unless chunked (Kong: TE ~= "chunked")', async () => {
  const url = await route({ require_content_length: true });
  const res = await send(url, { method: 'GET' });
  assert.equal(res.status, 411);
  assert.equal(res.json.message, 'A valid Content-Length header is required');
  const ok = await send(url, { method: 'POST', body: 'abc' });
  assert.equal(ok.status, 200);
  // a chunked body is measured, not refused for its missing Content-Length
  const chunkedOk = await send(url, { method: 'POST', body: chunked(['abc']) });
  assert.equal(chunkedOk.status, 200);
});

test('size_unit outside Kong\'s list is refused', async () => {
  await fx.gw.admin('POST', '/services/svc/routes', { name: 'bad', paths: ['/bad'] });
  const r = await fx.gw.admin('POST', '/routes/bad/plugins', { name: 'request-size-limiting', config: { size_unit: 'gigabytes' } });
  assert.equal(r.status, 400);
});
