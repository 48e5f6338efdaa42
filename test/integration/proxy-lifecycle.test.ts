/**
 * Listener lifecycle and configuration swaps: close() lets in-flight requests
 * finish (then cuts what is left), a request keeps the configuration it
 * started with, and warm upstream connections survive a configuration change.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { plugin, route, service, snapshot, startTestProxy } from '../helpers/proxy.ts';
import { send } from '../helpers/http-client.ts';
import { registerPlugin } from '../../src/plugins/index.ts';
import * as pdk from '../../src/pdk/index.ts';
import type { RequestContext } from '../../src/core/context.ts';
import { ioTurns } from '../helpers/wait.ts';

let gate = Promise.withResolvers<void>();
let entered = Promise.withResolvers<void>();
registerPlugin({
  name: 'test-gate',
  version: '1.0.0',
  priority: 1000,
  schema: Type.Object({}),
  compile: () => Object.freeze({}),
  async access(ctx: RequestContext) {
    if (pdk.request.getHeader(ctx, 'x-gate') === undefined) return;
    entered.resolve();
    await gate.promise;
  },
});

const ups: TestUpstream[] = [];
after(async () => {
  for (const u of ups) await u.close();
});

async function slowUpstream(delayMs: number): Promise<TestUpstream & { arrived: Promise<void> }> {
  const arrived = Promise.withResolvers<void>();
  const up = await startUpstream((_req, res) => {
    arrived.resolve();
    setTimeout(() => res.end('slow done'), delayMs).unref();
  });
  ups.push(up);
  return Object.assign(up, { arrived: arrived.promise });
}

test('close() stops accepting new connections and lets an in-flight request finish', async () => {
  const up = await slowUpstream(300);
  const svc = service({ host: '127.0.0.1', port: up.port });
  const p = await startTestProxy(snapshot({ services: [svc], routes: [route(svc, { paths: ['/'] })] }));
  const inflight = send(`${p.url}/slow`);
  await up.arrived;
  const closed = p.handle.close(5000);
  await ioTurns();
  await assert.rejects(send(`${p.url}/new`), /ECONNREFUSED|ECONNRESET/);
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(res.body, 'slow done');
  await closed;
});

test('close() cuts requests still running when the grace period ends', async () => {
  const up = await slowUpstream(5000);
  const svc = service({ host: '127.0.0.1', port: up.port });
  const p = await startTestProxy(snapshot({ services: [svc], routes: [route(svc, { paths: ['/'] })] }));
  const inflight = send(`${p.url}/slow`);
  await up.arrived;
  const started = Date.now();
  await p.handle.close(200);
  assert.ok(Date.now() - started < 2000, 'close returned after the grace period');
  await assert.rejects(inflight);
});

test('a request keeps the configuration it started with while a new one goes live', async () => {
  const a = await startUpstream();
  const b = await startUpstream();
  ups.push(a, b);
  const svcA = service({ host: '127.0.0.1', port: a.port });
  const rA = route(svcA, { paths: ['/'] });
  const p = await startTestProxy(snapshot({ services: [svcA], routes: [rA], plugins: [plugin('test-gate', {}, { route: rA })] }));
  try {
    gate = Promise.withResolvers<void>();
    entered = Promise.withResolvers<void>();
    const held = send(`${p.url}/held`, { headers: { 'x-gate': '1' } });
    await entered.promise;
    const svcB = service({ host: '127.0.0.1', port: b.port });
    p.apply(snapshot({ services: [svcB], routes: [route(svcB, { paths: ['/'] })] }));
    const fresh = await send(`${p.url}/fresh`);
    assert.equal(fresh.status, 200);
    gate.resolve();
    const res = await held;
    assert.equal(res.status, 200);
    assert.equal(a.requests.at(-1)!.url, '/held', 'the held request went to the old configuration’s service');
    assert.equal(b.requests.at(-1)!.url, '/fresh');
  } finally {
    await p.close();
  }
});

test('warm upstream connections survive a configuration change', async () => {
  const up = await startUpstream();
  ups.push(up);
  const svc = service({ host: '127.0.0.1', port: up.port });
  const p = await startTestProxy(snapshot({ services: [svc], routes: [route(svc, { paths: ['/'] })] }));
  try {
    await send(`${p.url}/one`);
    const before = up.connections();
    const svc2 = service({ host: '127.0.0.1', port: up.port, name: 'renamed' });
    p.apply(snapshot({ services: [svc2], routes: [route(svc2, { paths: ['/'] })] }));
    await send(`${p.url}/two`);
    await send(`${p.url}/three`);
    assert.equal(up.connections(), before, 'no new upstream connection after the swap');
  } finally {
    await p.close();
  }
});
