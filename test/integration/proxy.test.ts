/**
 * The proxy data path against real loopback upstreams: what reaches the
 * upstream (forwarding headers, hop-by-hop removal, Host), what the client
 * gets back (Kong's headers and error bodies), protocol checks, plugin phases,
 * keep-alive and the access log.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { plugin, route, service, snapshot, startTestProxy, target, upstream, type TestProxy } from '../helpers/proxy.ts';
import { send } from '../helpers/http-client.ts';
import { registerPlugin } from '../../src/plugins/index.ts';
import * as pdk from '../../src/pdk/index.ts';
import { Type } from '@sinclair/typebox';
import type { RequestContext } from '../../src/core/context.ts';

// A tiny plugin exercising access (exit), header_filter and body_filter.
registerPlugin({
  name: 'test-phases',
  version: '1.0.0',
  priority: 1000,
  schema: Type.Object({}),
  compile: (config: Record<string, unknown>) => Object.freeze({ ...config }),
  access(ctx: RequestContext) {
    if (pdk.request.getHeader(ctx, 'x-test-exit') !== undefined) {
      pdk.response.exit(ctx, 418, { message: 'short and stout' }, { 'x-exit': 'yes' });
      return;
    }
    if (pdk.request.getHeader(ctx, 'x-test-async') !== undefined) {
      return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        pdk.serviceRequest.setHeader(ctx, 'x-async', 'done');
      });
    }
    if (pdk.request.getHeader(ctx, 'x-test-throw') !== undefined) throw new Error('boom with secret-token-123');
    if (pdk.request.getHeader(ctx, 'x-test-body') !== undefined) {
      return pdk.request.getRawBody(ctx).then((body) => {
        pdk.serviceRequest.setBody(ctx, `${body.toString('utf8').toUpperCase()} (rewritten)`);
      });
    }
    pdk.serviceRequest.setHeader(ctx, 'x-added-by-plugin', '1');
  },
  header_filter(ctx: RequestContext) {
    pdk.response.setHeader(ctx, 'x-header-filter', String(pdk.response.getStatus(ctx)));
    pdk.response.clearHeader(ctx, 'x-remove-me');
  },
});

registerPlugin({
  name: 'test-upper',
  version: '1.0.0',
  priority: 900,
  schema: Type.Object({}),
  compile: () => Object.freeze({}),
  body_filter(_ctx: RequestContext, _conf: unknown, chunk: Buffer, eof: boolean) {
    return eof && chunk.length === 0 ? Buffer.from('!') : Buffer.from(chunk.toString('utf8').toUpperCase());
  },
});

let up: TestUpstream;
let proxy: TestProxy;
let trustedProxy: TestProxy;

before(async () => {
  up = await startUpstream((req, res, seen) => {
    if (req.url?.startsWith('/hop')) {
      res.writeHead(200, { connection: 'x-secret-hop', 'x-secret-hop': 'leak', 'keep-alive': 'timeout=5', 'x-remove-me': '1', 'content-type': 'text/plain' });
      res.end('hop');
      return;
    }
    if (req.url?.startsWith('/text')) {
      res.writeHead(200, { 'content-type': 'text/plain', via: '1.0 upstream-proxy' });
      res.end('hello');
      return;
    }
    // default: echo
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(entry);
      const payload = JSON.stringify(entry);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    });
  });
  const svc = service({ host: '127.0.0.1', port: up.port, name: 'echo-service' });
  const lb = upstream('echo.upstream');
  const lbService = service({ host: 'echo.upstream', port: 80, name: 'balanced' });
  const routes = [
    route(svc, { paths: ['/echo'], name: 'echo-route' }),
    route(svc, { paths: ['/keep'], strip_path: false, name: 'keep' }),
    route(svc, { paths: ['/preserve'], preserve_host: true }),
    route(svc, { paths: ['/secure'], protocols: ['https'] }),
    route(svc, { paths: ['/redirect'], protocols: ['https'], https_redirect_status_code: 301 }),
    route(svc, { paths: ['/hop'], strip_path: false }),
    route(svc, { paths: ['/text'], strip_path: false }),
    route(lbService, { paths: ['/balanced'] }),
    route(null, { paths: ['/serviceless'] }),
  ];
  const phases = route(svc, { paths: ['/phases'], name: 'phases' });
  const upper = route(svc, { paths: ['/upper'] });
  const config = snapshot({
    services: [svc, lbService],
    routes: [...routes, phases, { ...upper, strip_path: false, paths: ['/text'], hosts: ['upper.test'] }],
    plugins: [plugin('test-phases', {}, { route: phases }), plugin('test-upper', {}, { route: { ...upper, paths: ['/text'] } })],
    upstreams: [lb],
    targets: [target(lb, `127.0.0.1:${up.port}`)],
  });
  proxy = await startTestProxy(config);
  trustedProxy = await startTestProxy(config, { settings: { trustedIps: ['127.0.0.1/32'], realIpHeader: 'X-Forwarded-For', realIpRecursive: true } });
});

after(async () => {
  await proxy.close();
  await trustedProxy.close();
  await up.close();
});

test('a matched request reaches the service with the route prefix stripped and query kept', async () => {
  const res = await send(`${proxy.url}/echo/items/7?a=1&b=two`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'payload' });
  assert.equal(res.status, 200);
  assert.equal(res.json.url, '/items/7?a=1&b=two');
  assert.equal(res.json.method, 'POST');
  assert.equal(res.json.body, 'payload');
  assert.equal(res.json.headers.host, `127.0.0.1:${up.port}`, 'Host is the service host:port');
});

test('an empty query string ("?") is kept on the way upstream, as Kong does', async () => {
  const res = await send(`${proxy.url}/keep/x?`);
  assert.equal(res.json.url, '/keep/x?');
});

test('X-Forwarded-* and X-Real-IP from an untrusted client are overwritten (X-Forwarded-For is appended to)', async () => {
  const res = await send(`${proxy.url}/echo/h`, {
    headers: {
      host: 'api.example.com:8000',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-port': '1',
      'x-forwarded-path': '/evil',
      'x-forwarded-prefix': '/evil',
      'x-real-ip': '203.0.113.10',
    },
  });
  const h = res.json.headers;
  assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(h['x-forwarded-host'], 'api.example.com');
  assert.equal(h['x-forwarded-port'], String(proxy.port));
  assert.equal(h['x-forwarded-path'], '/echo/h');
  assert.equal(h['x-forwarded-prefix'], '/echo');
  assert.equal(h['x-real-ip'], '127.0.0.1');
  assert.match(h['via'], /^1\.1 portcullis\//);
  assert.match(h['x-kong-request-id'], /^[0-9a-f]{32}$/);
});

test('X-Forwarded-* from a trusted proxy are passed on and the client address comes from real_ip_header', async () => {
  const res = await send(`${trustedProxy.url}/echo/h`, {
    headers: {
      'x-forwarded-for': '198.51.100.7, 127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'public.example',
      'x-forwarded-port': '443',
      'x-forwarded-path': '/public/echo/h',
      'x-forwarded-prefix': '/public',
    },
  });
  const h = res.json.headers;
  assert.equal(h['x-real-ip'], '198.51.100.7', 'recursive: trusted 127.0.0.1 skipped');
  assert.equal(h['x-forwarded-for'], '198.51.100.7, 127.0.0.1, 127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'https');
  assert.equal(h['x-forwarded-host'], 'public.example');
  assert.equal(h['x-forwarded-port'], '443');
  assert.equal(h['x-forwarded-path'], '/public/echo/h');
  assert.equal(h['x-forwarded-prefix'], '/public');
  const line = trustedProxy.logs.access().at(-1)!;
  assert.equal(line.client_ip, '198.51.100.7');
});

test('hop-by-hop request headers, and the headers Connection names, do not reach the upstream', async () => {
  const res = await send(`${proxy.url}/echo/connection-headers`, {
    headers: { connection: 'keep-alive, x-private', 'x-private': 'secret', 'keep-alive': 'timeout=5', te: 'trailers', 'proxy-authorization': 'Basic eA==', proxy: 'http://evil', 'x-kept': 'yes' },
  });
  const h = res.json.headers;
  assert.equal(h['x-private'], undefined);
  assert.equal(h['keep-alive'], undefined);
  assert.equal(h['te'], undefined);
  assert.equal(h['proxy-authorization'], undefined);
  assert.equal(h['proxy'], undefined);
  assert.equal(h['x-kept'], 'yes');
});

test('hop-by-hop response headers, and those the upstream Connection names, do not reach the client', async () => {
  const res = await send(`${proxy.url}/hop`);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'hop');
  assert.equal(res.headers['x-secret-hop'], undefined);
  assert.equal(res.headers['keep-alive'] === 'timeout=5', false);
  assert.equal(res.headers['x-remove-me'], '1', 'ordinary headers pass');
});

test('preserve_host sends the client Host header upstream', async () => {
  const res = await send(`${proxy.url}/preserve/x`, { headers: { host: 'client.example:9999' } });
  assert.equal(res.json.headers.host, 'client.example:9999');
});

test('a service whose host names an upstream entity is balanced over its targets', async () => {
  const res = await send(`${proxy.url}/balanced/z`);
  assert.equal(res.status, 200);
  assert.equal(res.json.url, '/z');
  assert.equal(res.json.headers.host, `127.0.0.1:${up.port}`, 'Host is the target (no host_header set)');
});

test('proxied responses carry Via, Server, latency headers and X-Kong-Request-Id', async () => {
  const res = await send(`${proxy.url}/text`);
  assert.equal(res.body, 'hello');
  const server = res.headers['server'] as string;
  assert.match(server, /^portcullis\/\d/);
  assert.equal(res.headers['via'], `1.0 upstream-proxy, 1.1 ${server}`, 'the gateway appends itself to Via');
  assert.match(res.headers['x-kong-upstream-latency'] as string, /^\d+$/);
  assert.match(res.headers['x-kong-proxy-latency'] as string, /^\d+$/);
  assert.match(res.headers['x-kong-request-id'] as string, /^[0-9a-f]{32}$/);
  assert.equal(res.headers['x-kong-response-latency'], undefined);
});

test('with server_tokens and latency_tokens off, no Server, Via or latency headers are added', async () => {
  const svc = service({ host: '127.0.0.1', port: up.port });
  const quiet = await startTestProxy(snapshot({ services: [svc], routes: [route(svc, { paths: ['/text'], strip_path: false })] }), { settings: { serverTokens: false, latencyTokens: false } });
  try {
    const proxied = await send(`${quiet.url}/text`);
    assert.equal(proxied.headers['via'], '1.0 upstream-proxy', 'the upstream’s Via passes untouched');
    assert.equal(proxied.headers['server'], undefined);
    assert.equal(proxied.headers['x-kong-upstream-latency'], undefined);
    assert.equal(proxied.headers['x-kong-proxy-latency'], undefined);
    assert.match(proxied.headers['x-kong-request-id'] as string, /^[0-9a-f]{32}$/);
    const generated = await send(`${quiet.url}/nothing`);
    assert.equal(generated.status, 404);
    assert.equal(generated.headers['server'], undefined);
    assert.equal(generated.headers['x-kong-response-latency'], undefined);
  } finally {
    await quiet.close();
  }
});

test('a request no route matches gets 404 with Kong’s message and the request id', async () => {
  const res = await send(`${proxy.url}/nothing-here`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 404);
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  assert.deepEqual(res.json, { message: 'no Route matched with those values', request_id: res.headers['x-kong-request-id'] });
  assert.match(res.headers['x-kong-response-latency'] as string, /^\d+$/);
  assert.match(res.headers['server'] as string, /^portcullis\//);
});

test('error bodies follow the Accept header: JSON by default, text, HTML and XML on request', async () => {
  const none = await send(`${proxy.url}/nothing-here`);
  assert.equal(none.headers['content-type'], 'application/json; charset=utf-8');
  const id = (r: { headers: Record<string, unknown> }): string => r.headers['x-kong-request-id'] as string;

  const text = await send(`${proxy.url}/nothing-here`, { headers: { accept: 'text/plain' } });
  assert.equal(text.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(text.body, `no Route matched with those values\nrequest_id: ${id(text)}\n`);

  const html = await send(`${proxy.url}/nothing-here`, { headers: { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' } });
  assert.equal(html.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(html.body, /<p>no Route matched with those values\.<\/p>/);
  assert.match(html.body, new RegExp(`request_id: ${id(html)}`));

  const xml = await send(`${proxy.url}/nothing-here`, { headers: { accept: 'application/json;q=0.5, application/xml' } });
  assert.equal(xml.headers['content-type'], 'application/xml; charset=utf-8');
  assert.match(xml.body, /<message>no Route matched with those values<\/message>/);
  assert.match(xml.body, new RegExp(`<requestid>${id(xml)}</requestid>`));
});

test('an https-only route answers plain http with 426 and Kong’s Upgrade headers', async () => {
  const res = await send(`${proxy.url}/secure/x`);
  assert.equal(res.status, 426);
  assert.equal(res.json.message, 'Please use HTTPS protocol');
  assert.equal(res.headers['upgrade'], 'TLS/1.2, HTTP/1.1');
  assert.equal(res.headers['connection'], 'Upgrade');
});

test('an https-only route with https_redirect_status_code 301 redirects to https', async () => {
  const res = await send(`${proxy.url}/redirect/x?y=1`, { headers: { host: 'shop.example:8000' } });
  assert.equal(res.status, 301);
  assert.equal(res.headers['location'], 'https://shop.example/redirect/x?y=1');
});

test('a trusted proxy’s X-Forwarded-Proto: https satisfies an https-only route', async () => {
  const res = await send(`${trustedProxy.url}/secure/x`, { headers: { 'x-forwarded-proto': 'https' } });
  assert.equal(res.status, 200);
});

test('a route without a service answers 503 "no Service found with those values"', async () => {
  const res = await send(`${proxy.url}/serviceless`);
  assert.equal(res.status, 503);
  assert.deepEqual(res.json, { message: 'no Service found with those values' });
});

test('a plugin exit answers without contacting the upstream; header_filter runs on it', async () => {
  const before = up.requests.length;
  const res = await send(`${proxy.url}/phases/x`, { headers: { 'x-test-exit': '1' } });
  assert.equal(res.status, 418);
  assert.deepEqual(res.json, { message: 'short and stout' });
  assert.equal(res.headers['x-exit'], 'yes');
  assert.equal(res.headers['x-header-filter'], '418');
  assert.match(res.headers['x-kong-response-latency'] as string, /^\d+$/);
  assert.equal(up.requests.length, before);
});

test('plugins change the upstream request in access (sync and async) and the response in header_filter', async () => {
  const res = await send(`${proxy.url}/phases/x`);
  assert.equal(res.json.headers['x-added-by-plugin'], '1');
  assert.equal(res.headers['x-header-filter'], '200');
  const asyncRes = await send(`${proxy.url}/phases/x`, { headers: { 'x-test-async': '1' } });
  assert.equal(asyncRes.json.headers['x-async'], 'done');
});

test('a body buffered and replaced by a plugin reaches the upstream with a matching Content-Length', async () => {
  const res = await send(`${proxy.url}/phases/x`, { method: 'POST', headers: { 'x-test-body': '1', 'content-type': 'text/plain' }, body: 'small body' });
  assert.equal(res.status, 200);
  assert.equal(res.json.body, 'SMALL BODY (rewritten)');
  assert.equal(res.json.headers['content-length'], String(Buffer.byteLength('SMALL BODY (rewritten)')));
});

test('a plugin that throws gives 500 with Kong’s message; the cause is logged with the plugin name, not sent', async () => {
  const res = await send(`${proxy.url}/phases/x`, { headers: { 'x-test-throw': '1', accept: 'application/json' } });
  assert.equal(res.status, 500);
  assert.equal(res.json.message, 'An unexpected error occurred');
  assert.ok(!res.body.includes('boom'));
  const logged = proxy.logs.lines.find((l) => l.msg === 'plugin failed' && l.request_id === res.json.request_id);
  assert.ok(logged, 'failure logged');
  assert.equal(logged.plugin, 'test-phases');
});

test('body_filter transforms a streamed response (Content-Length dropped, body rewritten)', async () => {
  const res = await send(`${proxy.url}/text`, { headers: { host: 'upper.test' } });
  assert.equal(res.status, 200);
  assert.equal(res.body, 'HELLO!');
  assert.equal(res.headers['content-length'], undefined);
});

test('client keep-alive connections and upstream connections are reused across requests', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const upBefore = up.connections();
  let clientSockets = 0;
  agent.on('free', () => undefined);
  const origCreate = agent.createConnection.bind(agent);
  agent.createConnection = ((...args: Parameters<typeof origCreate>) => {
    clientSockets++;
    return origCreate(...args);
  }) as typeof agent.createConnection;
  for (let i = 0; i < 5; i++) {
    const res = await send(`${proxy.url}/echo/ka/${i}`, { agent });
    assert.equal(res.status, 200);
  }
  agent.destroy();
  assert.equal(clientSockets, 1, 'one client connection for five requests');
  assert.ok(up.connections() - upBefore <= 1, `upstream connections opened: ${up.connections() - upBefore}`);
});

test('one access-log line per request with ids, status and latencies, and no credential values', async () => {
  const res = await send(`${proxy.url}/echo/logged?token=supersecret`, {
    headers: { authorization: 'Bearer abc.def.ghi', cookie: 'session=xyz123', 'x-api-key': 'key-999' },
  });
  const id = res.headers['x-kong-request-id'];
  const lines = proxy.logs.access().filter((l) => l.request_id === id);
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.equal(line.method, 'GET');
  assert.equal(line.path, '/echo/logged');
  assert.equal(line.status, 200);
  assert.deepEqual(line.route, { id: (line.route as { id: string }).id, name: 'echo-route' });
  assert.equal((line.service as { name: string }).name, 'echo-service');
  assert.equal(line.client_ip, '127.0.0.1');
  const lat = line.latencies as { proxy: number; upstream: number; request: number };
  assert.ok(lat.request >= lat.upstream && typeof lat.proxy === 'number');
  const text = proxy.logs.text();
  for (const secret of ['abc.def.ghi', 'xyz123', 'key-999', 'supersecret']) assert.ok(!text.includes(secret), `${secret} leaked into logs`);
});

test('metrics count the listener\'s requests and the configuration version without a prometheus plugin', async () => {
  await send(`${proxy.url}/echo/m`);
  const text = await proxy.metrics.registry.metrics();
  assert.match(text, /portcullis_listener_stats\{state="total"\} [1-9]/);
  assert.match(text, /portcullis_config_version \d+/);
  // Kong counts requests per route only with the prometheus plugin (test/plugins/prometheus).
  assert.doesNotMatch(text, /kong_http_requests_total\{/);
});
