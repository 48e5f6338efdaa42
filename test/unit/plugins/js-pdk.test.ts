/**
 * The in-process `kong` object kong-pdk plugins receive: values shaped as
 * through kong-pdk's MessagePack (null, header tables), Kong's header-name
 * rules, snake_case aliases, and PDKError naming a function we do not offer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kong, PDKError } from '../../../src/plugins/custom/js-pdk.ts';
import { RequestContext } from '../../../src/core/context.ts';
import { createLogger } from '../../../src/shared/log.ts';
import { IpMatcher } from '../../../src/shared/ip.ts';
import type { ProxyRequest, ProxyResponse } from '../../../src/core/context.ts';
import type { ConsumerIndex } from '../../../src/core/consumers.ts';

const env = { plugin: 'js-unit', pluginId: '6f0d7f1c-0000-4000-8000-000000000001', log: createLogger('silent'), trusted: new IpMatcher(['10.0.0.0/8']) };

function kong(): { k: any; ctx: RequestContext } {
  const raw = ['Host', 'example.com', 'X-Custom-Header', 'a', 'x-custom-header', 'b', 'Cookie', 'sid=42'];
  const headers = { host: 'example.com', 'x-custom-header': 'a, b', cookie: 'sid=42' };
  const req = { method: 'GET', url: '/p?a=1&flag&a=2', headers, rawHeaders: raw, httpVersion: '1.1', socket: { remoteAddress: '::ffff:10.1.2.3', remotePort: 5555, localPort: 8000 } } as unknown as ProxyRequest;
  const ctx = new RequestContext(req, {} as ProxyResponse, 'req-1', performance.now(), {} as ConsumerIndex);
  ctx.path = '/p';
  ctx.rawPath = '/p';
  ctx.query = 'a=1&flag&a=2';
  ctx.clientIp = '10.1.2.3';
  return { k: new Kong(ctx, env), ctx };
}

test('request: header tables, Kong name rules (case, _ for -), query with repeats and flags, null for absent', async () => {
  const { k } = kong();
  assert.deepEqual(await k.request.getHeaders(), { host: 'example.com', 'x-custom-header': ['a', 'b'], cookie: 'sid=42' });
  assert.equal(await k.request.getHeader('X_Custom_Header'), 'a, b');
  assert.equal(await k.request.getHeader('missing'), null);
  assert.deepEqual(await k.request.getQuery(), { a: ['1', '2'], flag: true });
  assert.equal(await k.request.getQueryArg('flag'), true);
  assert.equal(await k.request.getPathWithQuery(), '/p?a=1&flag&a=2');
  assert.equal(await k.nginx.getVar('cookie_sid'), '42');
  assert.equal(await k.nginx.getVar('http_x_custom_header'), 'a, b');
  assert.equal(await k.client.getIp(), '10.1.2.3');
  assert.equal(await k.ip.isTrusted('10.9.9.9'), true);
  assert.equal(await k.plugin.getId(), env.pluginId);
});

test('response and service request: values coerced as Kong does, framing headers left to the gateway', async () => {
  const { k, ctx } = kong();
  await k.response.setHeader('X-Pid', 1234);
  await k.response.addHeader('x-multi', 'one');
  await k.response.addHeader('x-multi', 'two');
  assert.deepEqual(ctx.responseHeaders, { 'x-pid': '1234', 'x-multi': ['one', 'two'] });
  assert.equal(await k.response.getHeader('x-pid'), '1234');
  await k.service.request.setQuery({ b: 2, a: true });
  assert.equal(ctx.upstreamQuery, 'a=&b=2');
  await k.service.request.setHeaders({ 'X-Up': 'v', 'Content-Length': '1' });
  assert.equal(ctx.upstreamHeaders['x-up'], 'v');
  assert.equal(ctx.upstreamHeaders['content-length'], undefined);
  await k.response.exit(403, { message: 'no' }, ['X-Why', 'because']);
  assert.equal(ctx.exitStatus, 403);
  assert.equal(ctx.exitBody, '{"message":"no"}');
  assert.equal(ctx.exitHeaders!['x-why'], 'because');
  await assert.rejects(k.response.exit(99), (e: Error) => e instanceof PDKError && /between 100 and 599/.test(e.message));
});

test('ctx.shared is shared by the request; snake_case aliases work; what we do not offer rejects naming it', async () => {
  const { k, ctx } = kong();
  await k.ctx.shared.set('who', { id: 1 });
  assert.deepEqual(ctx.shared.who, { id: 1 });
  assert.deepEqual(await k.ctx.shared.get('who'), { id: 1 });
  assert.equal(await k.request.get_header('host'), 'example.com');
  await assert.rejects(k.vault.get('{vault://env/x}'), { name: 'PDKError', message: 'PDK method kong.vault.get failed: not supported by Portcullis' });
  await assert.rejects(k.client.tls.requestClientCertificate(), { message: 'PDK method kong.client.tls.request_client_certificate failed: not supported by Portcullis' });
  await assert.rejects(k.nginx.getVar('binary_remote_addr_x'), /variable "binary_remote_addr_x" is not supported/);
  assert.equal(typeof k.request.then, 'undefined'); // awaiting a namespace does not hang
});
