/**
 * Upstream failures become Kong's answers: 504 on timeouts, 502 when the
 * upstream refuses, resets or answers garbage, 503 when an upstream entity
 * has no target; retries on connection failures only, and never a replay of
 * a request body the upstream may already have acted on.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { closedPort, readRequestHead, startRawUpstream, startUpstream, type RawUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { route, service, snapshot, startTestProxy, target, upstream, type TestProxy } from '../helpers/proxy.ts';
import { send } from '../helpers/http-client.ts';
import type { ServiceEntity } from '../../src/schema/entities/types.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function proxyTo(svc: ServiceEntity, extra: Parameters<typeof snapshot>[0] = {}, settings = {}): Promise<TestProxy> {
  const p = await startTestProxy(snapshot({ services: [svc], routes: [route(svc, { paths: ['/'], strip_path: false })], ...extra }), { settings });
  cleanups.push(() => p.close());
  return p;
}

async function raw(handler: Parameters<typeof startRawUpstream>[0]): Promise<RawUpstream> {
  const r = await startRawUpstream(handler);
  cleanups.push(() => r.close());
  return r;
}

test('an upstream slower than read_timeout gets 504 "The upstream server is timing out"', async () => {
  const silent = await raw(() => undefined); // accepts, never answers
  const p = await proxyTo(service({ host: '127.0.0.1', port: silent.port, read_timeout: 300, retries: 0 }));
  const started = Date.now();
  const res = await send(`${p.url}/slow`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 504);
  assert.equal(res.json.message, 'The upstream server is timing out');
  assert.equal(res.json.request_id, res.headers['x-kong-request-id']);
  assert.ok(Date.now() - started < 5000);
  // Without Accept or Content-Type, nginx error pages default to text/plain (error_default_type).
  const plain = await send(`${p.url}/slow`);
  assert.equal(plain.status, 504);
  assert.equal(plain.headers['content-type'], 'text/plain; charset=utf-8');
  assert.match(plain.body, /^The upstream server is timing out\nrequest_id: [0-9a-f]{32}\n$/);
});

test('a refused connection gets 502 after the configured retries', async () => {
  const port = await closedPort();
  const p = await proxyTo(service({ host: '127.0.0.1', port, retries: 2 }));
  const res = await send(`${p.url}/x`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 502);
  assert.equal(res.json.message, 'An invalid response was received from the upstream server');
  const line = p.logs.access().at(-1)!;
  assert.equal(line.error_code, 'UPSTREAM_INVALID_RESPONSE');
  assert.ok(p.logs.lines.some((l) => l.msg === 'proxy error' && String(l.detail).includes('ECONNREFUSED')));
});

test('a garbage answer from the upstream gets 502', async () => {
  const garbage = await raw((socket) => {
    void readRequestHead(socket).then(() => socket.end('NOT HTTP AT ALL\r\n\r\n'));
  });
  const p = await proxyTo(service({ host: '127.0.0.1', port: garbage.port, retries: 0 }));
  const res = await send(`${p.url}/x`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 502);
  assert.equal(res.json.message, 'An invalid response was received from the upstream server');
});

test('a target that refuses connections is skipped: the retry goes to the next target and succeeds', async () => {
  const good = await startUpstream();
  cleanups.push(() => good.close());
  const dead = await closedPort();
  const lb = upstream('pair.upstream');
  const svc = service({ host: 'pair.upstream', port: 80, retries: 1 });
  const p = await proxyTo(svc, { upstreams: [lb], targets: [target(lb, `127.0.0.1:${dead}`), target(lb, `127.0.0.1:${good.port}`)] });
  for (let i = 0; i < 4; i++) {
    const res = await send(`${p.url}/rr/${i}`);
    assert.equal(res.status, 200, `request ${i}`);
  }
  assert.equal(good.requests.length, 4);
});

test('an idempotent request is retried when the upstream closes without answering', async () => {
  const closing = await raw((socket) => {
    void readRequestHead(socket).then(() => socket.destroy());
  });
  const p = await proxyTo(service({ host: '127.0.0.1', port: closing.port, retries: 2 }));
  const res = await send(`${p.url}/get`);
  assert.equal(res.status, 502);
  assert.equal(closing.connections(), 3, 'one try plus two retries');
});

test('a POST whose body reached the upstream is never retried', async () => {
  const closing = await raw((socket) => {
    void readRequestHead(socket, 11).then(() => socket.destroy());
  });
  const p = await proxyTo(service({ host: '127.0.0.1', port: closing.port, retries: 5 }));
  const res = await send(`${p.url}/post`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello world' });
  assert.equal(res.status, 502);
  assert.equal(closing.connections(), 1);
});

test('an upstream entity without targets answers 503 "failure to get a peer from the ring-balancer"', async () => {
  const lb = upstream('empty.upstream');
  const p = await proxyTo(service({ host: 'empty.upstream', port: 80 }), { upstreams: [lb] });
  const res = await send(`${p.url}/x`);
  assert.equal(res.status, 503);
  assert.equal(res.json.message, 'failure to get a peer from the ring-balancer');
  assert.match(res.json.request_id, /^[0-9a-f]{32}$/);
});

test('a reset in the middle of the response body cuts the client connection (no fake complete response)', async () => {
  const halfway = await raw((socket) => {
    void readRequestHead(socket).then(() => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
      setTimeout(() => socket.destroy(), 50);
    });
  });
  const p = await proxyTo(service({ host: '127.0.0.1', port: halfway.port, retries: 0 }));
  await assert.rejects(send(`${p.url}/x`));
});

test('a declared body over the size limit gets 413 "Payload too large" without reaching the upstream', async () => {
  const up = await startUpstream();
  cleanups.push(() => up.close());
  const p = await proxyTo(service({ host: '127.0.0.1', port: up.port }), {}, { maxRequestBodyBytes: 10 });
  const res = await send(`${p.url}/x`, { method: 'POST', headers: { accept: 'application/json' }, body: 'this body is too long' });
  assert.equal(res.status, 413);
  assert.equal(res.json.message, 'Payload too large');
  assert.equal(up.requests.length, 0);
});

test('request headers over the size limit get 400 "Request header or cookie too large"', async () => {
  const up = await startUpstream();
  cleanups.push(() => up.close());
  const p = await proxyTo(service({ host: '127.0.0.1', port: up.port }), {}, { maxHeaderSize: 4096 });
  const res = await send(`${p.url}/x`, { headers: { cookie: 'a='.padEnd(8000, 'x') } });
  assert.equal(res.status, 400);
  assert.match(res.body, /^Request header or cookie too large\nrequest_id: [0-9a-f]{32}\n$/);
});

test('a path that cannot be normalised gets 400 "Bad request"', async () => {
  const up = await startUpstream();
  cleanups.push(() => up.close());
  const p = await proxyTo(service({ host: '127.0.0.1', port: up.port }));
  const res = await send(`${p.url}/bad%zzpath`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 400);
  assert.equal(res.json.message, 'Bad request');
});

test('an upstream that stops reading the request body gets 504 after write_timeout', async () => {
  const stuck = await raw((socket) => {
    socket.pause(); // never read: the kernel buffers fill up and the gateway cannot write
  });
  const p = await proxyTo(service({ host: '127.0.0.1', port: stuck.port, write_timeout: 300, retries: 0 }));
  const res = await send(`${p.url}/upload`, { method: 'POST', headers: { accept: 'application/json' }, body: Buffer.alloc(32 * 1024 * 1024, 1) }).catch((e: Error) => e);
  // The gateway answers 504 while the client is still sending (or cuts the upload right after answering).
  if (res instanceof Error) assert.match(res.message, /EPIPE|ECONNRESET/);
  else {
    assert.equal(res.status, 504);
    assert.equal(res.json.message, 'The upstream server is timing out');
  }
  const line = p.logs.access().at(-1)!;
  assert.equal(line.status, 504);
  assert.equal(line.error_code, 'UPSTREAM_TIMEOUT');
});

test('a client that stops sending its body gets 408 after write_timeout', async () => {
  const up = await startUpstream();
  cleanups.push(() => up.close());
  const p = await proxyTo(service({ host: '127.0.0.1', port: up.port, write_timeout: 300 }));
  const answer = await new Promise<string>((resolve, reject) => {
    const sock = connect(p.port, '127.0.0.1');
    let data = '';
    sock.on('data', (c) => (data += c.toString()));
    sock.on('close', () => resolve(data));
    sock.on('error', reject);
    sock.write('POST /stall HTTP/1.1\r\nhost: a\r\naccept: application/json\r\ncontent-length: 100\r\n\r\nonly-a-part');
  });
  assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.match(answer, /"message":"Request timeout"/);
});

test('a client that hangs up mid-request is logged as 499 and the upstream request is abandoned', async () => {
  const upstreamClosed = Promise.withResolvers<void>();
  const requestArrived = Promise.withResolvers<void>();
  const slow = await raw((socket) => {
    socket.resume(); // consume the request so the FIN is seen
    socket.once('data', () => requestArrived.resolve());
    socket.on('close', () => upstreamClosed.resolve());
  });
  const p = await proxyTo(service({ host: '127.0.0.1', port: slow.port }));
  const client = connect(p.port, '127.0.0.1');
  client.on('error', () => undefined);
  client.write('GET /hang HTTP/1.1\r\nhost: x\r\n\r\n');
  await requestArrived.promise;
  client.destroy();
  await upstreamClosed.promise;
  await waitFor('the access log line', () => p.logs.access().some((l) => l.path === '/hang'));
  const line = p.logs.access().at(-1)!;
  assert.equal(line.status, 499);
});
