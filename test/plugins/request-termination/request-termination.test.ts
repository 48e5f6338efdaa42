/** request-termination through the whole gateway: fixed answers, raw bodies, echo with trigger, config checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usePluginRoutes } from '../../helpers/plugin-routes.ts';

const fx = usePluginRoutes('request-termination', 'rt');
const route = (config: Record<string, unknown>): Promise<string> => fx.route(config);

test('defaults: 503 {"message":"Service unavailable"} and the upstream is never called', async () => {
  const url = await route({});
  const before = fx.echo.requestCount();
  const res = await fetch(url);
  assert.equal(res.status, 503);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await res.json(), { message: 'Service unavailable' });
  assert.equal(fx.echo.requestCount(), before);
});

test('status_code and message (the documented example: 403 "So long and thanks for all the fish!")', async () => {
  const url = await route({ status_code: 403, message: 'So long and thanks for all the fish!' });
  const res = await fetch(url);
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { message: 'So long and thanks for all the fish!' });
  // A status without a default message: no body.
  const none = await fetch(await route({ status_code: 418 }));
  assert.equal(none.status, 418);
  assert.equal(await none.text(), '');
});

test('body with content_type is sent raw', async () => {
  const url = await route({ status_code: 200, body: '<html>maintenance</html>', content_type: 'text/html' });
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html');
  assert.equal(await res.text(), '<html>maintenance</html>');
});

test('echo returns the request; trigger gates it by header or query argument', async () => {
  const url = await route({ status_code: 404, echo: true, trigger: 'X-Echo' });
  const pass = await fetch(url);
  assert.equal(pass.status, 200, 'no trigger: proxied');
  await pass.text();

  const res = await fetch(`${url}/x?a=1&flag&a=2`, { method: 'POST', headers: { 'x-echo': 'yes', 'content-type': 'application/json' }, body: '{"k":"v"}' });
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const doc = (await res.json()) as Record<string, any>;
  assert.equal(doc.message, 'Not found');
  assert.equal(doc.request.method, 'POST');
  const name = new URL(url).pathname.slice(1);
  assert.equal(doc.request.path, `/${name}/x`);
  assert.deepEqual(doc.request.query, { a: ['1', '2'], flag: true });
  assert.equal(doc.request.headers['x-echo'], 'yes');
  assert.deepEqual(doc.request.body, { k: 'v' });
  assert.equal(doc.request.raw_body, '{"k":"v"}');
  assert.equal(doc.matched_route.name, name);
  assert.equal(doc.matched_service.name, 'svc');
  // handler.lua's `kong` section: the node (GET / node_id), the worker's pid, the host name.
  const info = await fx.gw.admin('GET', '/');
  assert.deepEqual(doc.kong, { node_id: info.body.node_id, worker_pid: process.pid, hostname: info.body.hostname });
  // A plain path: no captures, Kong's empty shapes.
  assert.deepEqual(doc.request.uri_captures, { unnamed: [], named: {} });

  const byQuery = await fetch(`${url}?X-Echo`);
  assert.equal(byQuery.status, 404);
  await byQuery.text();
});

test('echo on a regex route carries kong.request.get_uri_captures(): unnamed from group 1, named by name, a group that took no part false', async () => {
  const name = 'rtcap';
  const created = await fx.gw.admin('POST', '/services/svc/routes', { name, paths: ['~/rtcap/(?<kind>[a-z]+)(/x)?/(\\d+)$'] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await fx.gw.admin('POST', `/routes/${name}/plugins`, { name: 'request-termination', config: { status_code: 200, echo: true } })).status, 201);
  await fx.gw.settle();
  const doc = (await (await fetch(`${fx.gw.proxyUrl}/rtcap/books/42`)).json()) as Record<string, any>;
  // The optional group took no part: false, as ngx.re.match reports it.
  assert.deepEqual(doc.request.uri_captures, { unnamed: ['books', false, '42'], named: { kind: 'books' } });
});

test('trigger gates a plain termination too (Kong: `if conf.trigger or conf.echo`)', async () => {
  const url = await route({ status_code: 403, message: 'closed', trigger: 'X-Close' });
  const pass = await fetch(url);
  assert.equal(pass.status, 200, 'no trigger: proxied');
  await pass.text();
  const res = await fetch(url, { headers: { 'x-close': '1' } });
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { message: 'closed' });
});

test("Kong's config checks: message vs body, content_type without body, echo with body, status range", async () => {
  await fx.gw.admin('POST', '/services/svc/routes', { name: 'bad', paths: ['/bad'] });
  const cases: [Record<string, unknown>, string][] = [
    [{ message: 'm', body: 'b' }, 'message cannot be used with content_type or body'],
    [{ content_type: 'text/plain' }, 'content_type requires a body'],
    [{ echo: true, body: 'b' }, 'echo cannot be used with content_type and body'],
  ];
  for (const [config, message] of cases) {
    const r = await fx.gw.admin('POST', '/routes/bad/plugins', { name: 'request-termination', config });
    assert.equal(r.status, 400);
    assert.equal((r.body as any).fields.config, message);
  }
  const r = await fx.gw.admin('POST', '/routes/bad/plugins', { name: 'request-termination', config: { status_code: 600 } });
  assert.equal(r.status, 400);
});
