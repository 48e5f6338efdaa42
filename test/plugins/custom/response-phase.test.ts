/**
 * The buffered `response` phase for our own plugins (PluginModule.response):
 * the whole upstream body is available, status/headers/body can be replaced,
 * header_filter and body_filter then run over the result, and the gateway
 * frames what it sends. A route without such a plugin keeps streaming.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { Type } from '@sinclair/typebox';
import '../../../src/plugins/index.ts';
import { registerPlugin } from '../../../src/plugins/index.ts';
import * as pdk from '../../../src/pdk/index.ts';
import type { PluginModule } from '../../../src/plugins/types.ts';
import { usePluginRoutes } from '../../helpers/plugin-routes.ts';

interface Conf {
  mode: string;
}

const wrapper: PluginModule<Conf, Conf> = {
  name: 'test-wrap-body',
  version: '1.0.0',
  priority: 100,
  schema: Type.Object({ mode: Type.String({ default: 'wrap' }) }, { additionalProperties: false }),
  compile: (c) => c,
  async response(ctx, conf) {
    const body = pdk.serviceResponse.getRawBody(ctx)!;
    await new Promise((r) => setImmediate(r)); // an asynchronous response phase
    if (conf.mode === 'exit') {
      pdk.response.exit(ctx, 418, { upstream_bytes: body.length }, { 'x-exit': 'yes' });
      return;
    }
    if (conf.mode === 'throw') throw new Error('response phase failed');
    pdk.response.setStatus(ctx, 201);
    pdk.response.setHeader(ctx, 'x-upstream-status', String(pdk.serviceResponse.getStatus(ctx)));
    pdk.response.setHeader(ctx, 'content-length', '1'); // framing is the gateway's: ignored
    pdk.response.setBody(ctx, `<<${body.toString('utf8').length}>>`);
  },
  header_filter(ctx) {
    pdk.response.setHeader(ctx, 'x-status-seen', String(pdk.response.getStatus(ctx)));
  },
  body_filter(_ctx, _conf, chunk, eof) {
    return eof ? Buffer.concat([chunk, Buffer.from('!')]) : chunk;
  },
};
registerPlugin(wrapper);

const routes = usePluginRoutes('test-wrap-body', 'wrap');

function get(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

test('the response phase sees the whole body and replaces status, headers and body; filters run after; the gateway frames it', async () => {
  const url = await routes.route({ mode: 'wrap' });
  const r = await get(`${url}/anything`);
  assert.equal(r.status, 201);
  assert.equal(r.headers['x-upstream-status'], '200');
  assert.equal(r.headers['x-status-seen'], '201');
  assert.match(r.body, /^<<\d+>>!$/);
  assert.ok(Number(/\d+/.exec(r.body)![0]) > 100); // the echo's whole JSON document
  assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)));
  assert.equal(r.headers['transfer-encoding'], undefined);
});

test('kong.response.exit in the response phase replaces the response; upstream headers stay under the exit headers', async () => {
  const url = await routes.route({ mode: 'exit' });
  const r = await get(`${url}/x`);
  assert.equal(r.status, 418);
  assert.equal(r.headers['x-exit'], 'yes');
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const body = JSON.parse(r.body.slice(0, -1)) as { upstream_bytes: number };
  assert.ok(body.upstream_bytes > 100);
  assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)));
});

test("a response phase that throws: Kong's 500, and the next request is served", async () => {
  const url = await routes.route({ mode: 'throw' });
  const r = await get(`${url}/x`);
  assert.equal(r.status, 500);
  const ok = await get(`${await routes.route({ mode: 'wrap' })}/y`);
  assert.equal(ok.status, 201);
});

test('a route without a response phase streams; with one, the same upstream arrives whole', async () => {
  // An upstream that sends one chunk, then the rest a second later.
  const slow = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first ');
    setTimeout(() => res.end('last'), 1000);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  try {
    const port = (slow.address() as { port: number }).port;
    assert.equal((await routes.gw.admin('POST', '/services', { name: 'slow', url: `http://127.0.0.1:${port}` })).status, 201);
    assert.equal((await routes.gw.admin('POST', '/services/slow/routes', { name: 'slow-plain', paths: ['/slow-plain'] })).status, 201);
    assert.equal((await routes.gw.admin('POST', '/services/slow/routes', { name: 'slow-wrapped', paths: ['/slow-wrapped'] })).status, 201);
    assert.equal((await routes.gw.admin('POST', '/routes/slow-wrapped/plugins', { name: 'test-wrap-body', config: {} })).status, 201);
    await routes.gw.settle();
    const firstChunk = (path: string) =>
      new Promise<{ ms: number; chunk: string }>((resolve, reject) => {
        const started = performance.now();
        request(`${routes.gw.proxyUrl}${path}`, (res) => {
          res.setEncoding('utf8');
          res.once('data', (d: string) => resolve({ ms: performance.now() - started, chunk: d }));
          res.resume();
        })
          .on('error', reject)
          .end();
      });
    const streamed = await firstChunk('/slow-plain');
    assert.equal(streamed.chunk, 'first ');
    assert.ok(streamed.ms < 900, `first byte after ${streamed.ms} ms`);
    const whole = await firstChunk('/slow-wrapped');
    assert.equal(whole.chunk, '<<10>>!');
    assert.ok(whole.ms >= 950, `answered after ${whole.ms} ms`);
  } finally {
    await new Promise((r) => slow.close(r));
  }
});
