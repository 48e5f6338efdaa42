/**
 * kong-pdk's example plugins, unmodified, through the real proxy at
 * `--workers 2`, configured exactly as a Kong user configures its
 * JavaScript plugin server (KONG_PLUGINS, KONG_PLUGINSERVER_NAMES,
 * KONG_PLUGINSERVER_JS_START_CMD): Portcullis reads the plugins directory
 * from the command line and runs the plugins in-process. Also: a plugin that
 * throws (500, logged, the worker keeps serving) and one that blocks the
 * event loop (reported by name).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startClusterGateway, type ClusterGateway } from '../../helpers/cluster-gateway.ts';
import { startEcho, type Echo, type EchoReply } from '../../helpers/echo.ts';
import { examplesDirectory } from '../../helpers/kong-pdk.ts';

let gw: ClusterGateway;
let echo: Echo;

const THROWER = `'use strict';
class KongPlugin {
  async access(kong) {
    await kong.request.getHeader('host')
    throw new Error('boom from js-throw')
  }
}
module.exports = { Plugin: KongPlugin, Schema: [], Version: '1.0.0', Priority: 10 }
`;

const BLOCKER = `'use strict';
class KongPlugin {
  constructor(config) { this.ms = config.ms }
  async access(kong) {
    await kong.request.getMethod()
    const until = Date.now() + this.ms
    while (Date.now() < until) {}
    await kong.response.setHeader('x-blocked', String(this.ms))
  }
}
module.exports = { Plugin: KongPlugin, Schema: [{ ms: { type: 'integer', between: [1, 10000], default: 250 } }], Version: '1.0.0', Priority: 10 }
`;

const UNSUPPORTED = `'use strict';
class KongPlugin {
  async access(kong) {
    try { await kong.nginx.getCtx('x') } catch (e) { return kong.response.exit(501, { error: e.name + ': ' + e.message }) }
  }
}
module.exports = { Plugin: KongPlugin, Version: '1.0.0', Priority: 10 }
`;

before(async () => {
  echo = await startEcho();
  const dir = await examplesDirectory();
  await writeFile(join(dir, 'js-throw.js'), THROWER);
  await writeFile(join(dir, 'js-block.js'), BLOCKER);
  await writeFile(join(dir, 'js-unsupported.js'), UNSUPPORTED);
  gw = await startClusterGateway({
    workers: 2,
    env: {
      KONG_PLUGINS: 'bundled,js-hello,js-status,js-transform,goodbye,js-graphql,js-throw,js-block,js-unsupported',
      KONG_PLUGINSERVER_NAMES: 'js',
      KONG_PLUGINSERVER_JS_START_CMD: `/usr/local/bin/kong-js-pluginserver -v --plugins-directory ${dir}`,
      KONG_PLUGINSERVER_JS_SOCKET: '/usr/local/kong/js_pluginserver.sock',
    },
  });
  const svc = await gw.admin('POST', '/services', { name: 'echo', url: echo.url });
  assert.equal(svc.status, 201, JSON.stringify(svc.body));
  const routes: Array<[string, string, Record<string, unknown>]> = [
    ['hello', 'js-hello', { message: 'test' }],
    ['status', 'js-status', { message: 'test' }],
    ['transform', 'js-transform', {}],
    ['goodbye', 'goodbye', {}],
    ['graphql', 'js-graphql', {}],
    ['throw', 'js-throw', {}],
    ['block', 'js-block', { ms: 300 }],
    ['unsupported', 'js-unsupported', {}],
  ];
  for (const [path, plugin, config] of routes) {
    const r = await gw.admin('POST', '/services/echo/routes', { name: path, paths: [`/${path}`] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const p = await gw.admin('POST', `/routes/${path}/plugins`, { name: plugin, config });
    assert.equal(p.status, 201, `${plugin}: ${JSON.stringify(p.body)}`);
  }
  await gw.admin('POST', '/services/echo/routes', { name: 'plain', paths: ['/plain'] });
  await gw.settle();
});

/** The first log line of the node matching `pred` (workers write their logs asynchronously). */
async function logLine(pred: (line: string) => boolean): Promise<string | undefined> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const line = gw.output().split('\n').find(pred);
    if (line !== undefined || Date.now() > deadline) return line;
    await new Promise((res) => setTimeout(res, 50));
  }
}

after(async () => {
  await gw?.close();
  await echo?.close();
});

test('js-hello: the header it sets names the message and the Host, from both workers', async () => {
  const pids = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const r = await gw.get('/hello', { host: 'example.com' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-hello-from-javascript'], 'Javascript says test to example.com');
    pids.add(String(r.headers['x-javascript-pid']));
  }
  // In-process: the pid is a worker's own, and both workers ran the plugin.
  assert.deepEqual([...pids].sort(), gw.workerPids().map(String).sort());
});

test('js-status: 403 without the userId header, 200 and x-welcome with it', async () => {
  const denied = await gw.get('/status');
  assert.equal(denied.status, 403);
  assert.equal(echo.requestCount() >= 0, true);
  const ok = await gw.get('/status', { userId: 'test-id' });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['x-welcome'], 'Javascript says test to test-id');
});

test('js-transform: upper-cased body and ?js-transform upstream; its response handler rewrites the body, framed by the gateway', async () => {
  const res = await fetch(`${gw.proxyUrl}/transform`, { method: 'POST', body: 'all lower case', headers: { 'content-type': 'text/plain' } });
  const text = await res.text();
  assert.equal(res.status, 200);
  assert.match(text, /^Response body from upstream:\n/);
  const upstream = text.slice('Response body from upstream:\n'.length, text.lastIndexOf('\nBody size: '));
  const echoed = JSON.parse(upstream) as EchoReply;
  assert.equal(echoed.data, 'ALL LOWER CASE');
  assert.deepEqual(echoed.args, { 'js-transform': 'v0.1.0' });
  assert.ok(text.endsWith(`\nBody size: ${upstream.length}\n`), text.slice(-40));
  assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(text)));
  assert.equal(res.headers.get('transfer-encoding'), null);
});

test('goodbye (named by its Name export) and a route without plugins still streams', async () => {
  const r = await gw.get('/goodbye');
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-goodbye-from-javascript'], 'Javascript says goodbye');
  const plain = await gw.get('/plain/x');
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['x-goodbye-from-javascript'], undefined);
});

test('js-graphql: answers the query itself with its own dependency (graphql) resolved from the plugins directory', async () => {
  const res = await fetch(`${gw.proxyUrl}/graphql`, { method: 'POST', body: '{ hello }' });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await res.json(), { data: { hello: 'Hello world!' } });
});

test('a kong-pdk plugin schema is served and validated like a bundled one', async () => {
  const s = await gw.admin('GET', '/schemas/plugins/js-block');
  assert.equal(s.status, 200);
  const config = (s.body.fields as Array<Record<string, any>>).find((f) => 'config' in f)!.config;
  assert.equal(config.fields.length, 1);
  const ms = config.fields[0].ms;
  assert.deepEqual([ms.type, ms.between, ms.default], ['integer', [1, 10000], 250]);
  const bad = await gw.admin('POST', '/plugins', { name: 'js-hello', config: { message: 5 } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.name, 'schema violation');
  assert.ok(JSON.stringify(bad.body.fields).includes('message'), JSON.stringify(bad.body));
  const enabled = await gw.admin('GET', '/plugins/enabled');
  for (const n of ['js-hello', 'goodbye', 'js-graphql']) assert.ok(enabled.body.enabled_plugins.includes(n), n);
});

test('a plugin that throws: Kong\'s 500, logged with its name; the workers keep serving', async () => {
  const r = await gw.get('/throw', { accept: 'application/json' });
  assert.equal(r.status, 500);
  assert.deepEqual(JSON.parse(r.body).message, 'An unexpected error occurred');
  const line = await logLine((l) => l.includes('plugin failed') && l.includes('js-throw'));
  assert.ok(line !== undefined, 'no log line names js-throw');
  assert.ok(line.includes('boom from js-throw'));
  for (let i = 0; i < 6; i++) assert.equal((await gw.get('/hello', { host: 'a' })).status, 200);
});

test('a function Portcullis does not offer rejects with a PDKError naming it', async () => {
  const r = await gw.get('/unsupported');
  assert.equal(r.status, 501);
  assert.deepEqual(JSON.parse(r.body), { error: 'PDKError: PDK method kong.nginx.get_ctx failed: not supported by Portcullis' });
});

test('a plugin that blocks the event loop is reported by name', async () => {
  const r = await gw.get('/block');
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-blocked'], '300');
  const line = await logLine((l) => l.includes("plugin 'js-block' blocked the event loop"));
  assert.ok(line !== undefined, 'no report names js-block');
  const ms = (JSON.parse(line) as { blocked_ms: number }).blocked_ms;
  assert.ok(ms >= 250 && ms < 2000, String(ms));
});
