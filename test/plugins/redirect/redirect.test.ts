/** redirect through the whole gateway: default 301, status_code, keep_incoming_path, config checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usePluginRoutes } from '../../helpers/plugin-routes.ts';

const fx = usePluginRoutes('redirect', 'rd');

test('defaults: 301 to location, body "redirecting", the upstream is never called', async () => {
  const url = await fx.route({ location: 'https://example.com/new' });
  const before = fx.echo.requestCount();
  const res = await fetch(`${url}/x?a=1`, { redirect: 'manual' });
  assert.equal(res.status, 301);
  assert.equal(res.headers.get('location'), 'https://example.com/new');
  assert.equal(await res.text(), 'redirecting');
  assert.equal(fx.echo.requestCount(), before);
});

test('status_code and keep_incoming_path: the request path and query replace the location\'s', async () => {
  const url = await fx.route({ location: 'https://example.com/ignored?q=0', status_code: 308, keep_incoming_path: true });
  const name = new URL(url).pathname;
  const res = await fetch(`${url}/a/b?x=1&y`, { redirect: 'manual' });
  assert.equal(res.status, 308);
  assert.equal(res.headers.get('location'), `https://example.com${name}/a/b?x=1&y`);
  await res.text();
  const noQuery = await fetch(url, { redirect: 'manual' });
  assert.equal(noQuery.headers.get('location'), `https://example.com${name}`);
  await noQuery.text();
});

test("Kong's config checks: location required and a URL, status range", async () => {
  await fx.gw.admin('POST', '/services/svc/routes', { name: 'bad', paths: ['/bad'] });
  const post = (config: Record<string, unknown>) => fx.gw.admin('POST', '/routes/bad/plugins', { name: 'redirect', config });
  const missing = await post({});
  assert.equal(missing.status, 400);
  assert.equal((missing.body as any).fields.config.location, 'required field missing');
  assert.equal((await post({ location: 'not a url' })).status, 400);
  assert.equal((await post({ location: 'https://example.com', status_code: 600 })).status, 400);
});
